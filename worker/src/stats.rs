//! Request statistics, kept exactly the way a Locust master expects them.
//!
//! Each simulated user owns a [`Recorder`] with its own shard of counters: recording a sample
//! locks only that shard (uncontended: the reporter takes it once every 3 s) and bumps a small
//! sorted histogram (it allocates only when a new bucket or row appears in a window). Every 3 s [`Stats::take_report`] drains all shards
//! into one *delta* report (per `(method, name)` entry, the `stats_total` "Aggregated" entry and the
//! errors keyed like Python's), so each sample is reported exactly once: none lost, none twice.
//! Shards of users that have ended are dropped after their last drain.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub use crate::engine::outcome::Failure;
use crate::locust::codec::{StatsEntry, StatsError};

/// Wall-clock seconds since the Unix epoch, as Python's `time.time()`.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Locust's `bucket_response_time` (stats.py, 2.47): round half to even at 1, 10, 100 or 1000 ms.
pub fn bucket_response_time(rt_ms: f64) -> u64 {
    let scale = if rt_ms < 100.0 {
        1.0
    } else if rt_ms < 1000.0 {
        10.0
    } else if rt_ms < 10000.0 {
        100.0
    } else {
        1000.0
    };
    ((rt_ms / scale).round_ties_even() * scale).max(0.0) as u64
}

/// Index of a `(method, name)` row, handed out when a plan is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatKey(u32);

/// Bucketed response times -> counts, sorted by bucket. Latencies fall into few distinct buckets,
/// so a short sorted vector is smaller and faster than a map or a fixed table per user.
#[derive(Debug, Clone, Default)]
struct Histogram(Vec<(u64, u64)>);

impl Histogram {
    fn add(&mut self, bucket: u64, n: u64) {
        match self.0.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (bucket, n)),
        }
    }

    fn merge(&mut self, other: &Histogram) {
        for (bucket, n) in &other.0 {
            self.add(*bucket, *n);
        }
    }

    fn to_map(&self) -> BTreeMap<u64, u64> {
        self.0.iter().copied().collect()
    }
}

/// Per-second counters; a delta spans ~3 s, so a short vector beats a map.
#[derive(Debug, Clone, Default)]
struct PerSecond(Vec<(i64, u64)>);

impl PerSecond {
    fn add(&mut self, sec: i64, n: u64) {
        if let Some(last) = self.0.last_mut().filter(|(s, _)| *s == sec) {
            last.1 += n;
        } else if let Some(slot) = self.0.iter_mut().find(|(s, _)| *s == sec) {
            slot.1 += n;
        } else {
            self.0.push((sec, n));
        }
    }
    fn merge(&mut self, other: &PerSecond) {
        for (s, n) in &other.0 {
            self.add(*s, *n);
        }
    }
    fn to_map(&self) -> BTreeMap<i64, u64> {
        let mut out = BTreeMap::new();
        for (s, n) in &self.0 {
            *out.entry(*s).or_default() += n;
        }
        out
    }
}

/// Counters of one `(method, name)` row within one delta.
#[derive(Debug, Clone)]
struct Acc {
    num_requests: u64,
    num_failures: u64,
    total_response_time: f64,
    min_response_time: f64,
    max_response_time: f64,
    total_content_length: u64,
    response_times: Histogram,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
    first_request_timestamp: f64,
    last_request_timestamp: f64,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            num_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            min_response_time: f64::INFINITY,
            max_response_time: 0.0,
            total_content_length: 0,
            response_times: Histogram::default(),
            reqs_per_sec: PerSecond::default(),
            fails_per_sec: PerSecond::default(),
            first_request_timestamp: f64::INFINITY,
            last_request_timestamp: f64::NEG_INFINITY,
        }
    }
}

impl Acc {
    fn record(&mut self, rt_ms: f64, content_length: u64, failed: bool, ts: f64) {
        let sec = ts.floor() as i64;
        self.num_requests += 1;
        self.reqs_per_sec.add(sec, 1);
        self.total_response_time += rt_ms;
        self.min_response_time = self.min_response_time.min(rt_ms);
        self.max_response_time = self.max_response_time.max(rt_ms);
        self.response_times.add(bucket_response_time(rt_ms), 1);
        self.total_content_length += content_length;
        self.first_request_timestamp = self.first_request_timestamp.min(ts);
        self.last_request_timestamp = self.last_request_timestamp.max(ts);
        if failed {
            self.num_failures += 1;
            self.fails_per_sec.add(sec, 1);
        }
    }

    fn merge(&mut self, o: &Acc) {
        self.num_requests += o.num_requests;
        self.num_failures += o.num_failures;
        self.total_response_time += o.total_response_time;
        self.min_response_time = self.min_response_time.min(o.min_response_time);
        self.max_response_time = self.max_response_time.max(o.max_response_time);
        self.total_content_length += o.total_content_length;
        self.response_times.merge(&o.response_times);
        self.reqs_per_sec.merge(&o.reqs_per_sec);
        self.fails_per_sec.merge(&o.fails_per_sec);
        self.first_request_timestamp = self.first_request_timestamp.min(o.first_request_timestamp);
        self.last_request_timestamp = self.last_request_timestamp.max(o.last_request_timestamp);
    }

    fn to_wire(&self, method: &str, name: &str, start_time: f64) -> StatsEntry {
        let any = self.num_requests > 0;
        StatsEntry {
            name: name.to_string(),
            method: method.to_string(),
            last_request_timestamp: any.then_some(self.last_request_timestamp),
            start_time,
            num_requests: self.num_requests,
            num_none_requests: 0,
            num_failures: self.num_failures,
            total_response_time: self.total_response_time,
            max_response_time: self.max_response_time,
            min_response_time: any.then_some(self.min_response_time),
            total_content_length: self.total_content_length,
            response_times: self.response_times.to_map(),
            num_reqs_per_sec: self.reqs_per_sec.to_map(),
            num_fail_per_sec: self.fails_per_sec.to_map(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct ErrAcc {
    occurrences: u64,
    first_seen: f64,
    last_seen: f64,
}

type ErrorCounts = HashMap<(StatKey, Failure), ErrAcc>;

#[derive(Debug, Default)]
struct ShardData {
    /// Indexed by [`StatKey`].
    entries: Vec<Option<Acc>>,
    errors: ErrorCounts,
}

#[derive(Debug, Default)]
struct Shard {
    data: Mutex<ShardData>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One user's handle for recording samples.
#[derive(Debug)]
pub struct Recorder {
    shard: Arc<Shard>,
}

impl Recorder {
    /// Records one completed (or failed) request. `ts` is its completion time (unix seconds).
    pub fn record(
        &self,
        key: StatKey,
        rt_ms: f64,
        content_length: u64,
        failure: Option<&Failure>,
        ts: f64,
    ) {
        let mut data = lock(&self.shard.data);
        let i = key.0 as usize;
        if data.entries.len() <= i {
            data.entries.resize_with(i + 1, || None);
        }
        data.entries[i].get_or_insert_with(Acc::default).record(
            rt_ms,
            content_length,
            failure.is_some(),
            ts,
        );
        if let Some(f) = failure {
            match data.errors.get_mut(&(key, f.clone())) {
                Some(e) => {
                    e.occurrences += 1;
                    e.last_seen = e.last_seen.max(ts);
                    e.first_seen = e.first_seen.min(ts);
                }
                None => {
                    data.errors.insert(
                        (key, f.clone()),
                        ErrAcc {
                            occurrences: 1,
                            first_seen: ts,
                            last_seen: ts,
                        },
                    );
                }
            }
        }
    }
}

/// One delta: what happened since the previous report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub entries: Vec<StatsEntry>,
    pub total: StatsEntry,
    pub errors: BTreeMap<String, StatsError>,
}

#[derive(Debug, Default)]
struct Keys {
    names: Vec<(String, String)>,
    index: HashMap<(String, String), StatKey>,
}

#[derive(Debug)]
struct Window {
    /// Start of the current delta (previous report, or the start of the test).
    start: f64,
    /// Rows already reported in this test (their later deltas start at the window start).
    reported: HashSet<StatKey>,
}

/// The worker's statistics: key registry, user shards and the delta window.
#[derive(Debug)]
pub struct Stats {
    keys: Mutex<Keys>,
    shards: Mutex<Vec<Arc<Shard>>>,
    window: Mutex<Window>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            keys: Mutex::default(),
            shards: Mutex::default(),
            window: Mutex::new(Window {
                start: unix_now(),
                reported: HashSet::new(),
            }),
        }
    }
}

impl Stats {
    pub fn new() -> Arc<Stats> {
        Arc::new(Stats::default())
    }

    /// The key of a `(method, name)` row; the same pair always gets the same key.
    pub fn key(&self, method: &str, name: &str) -> StatKey {
        let mut keys = lock(&self.keys);
        let pair = (method.to_string(), name.to_string());
        if let Some(k) = keys.index.get(&pair) {
            return *k;
        }
        let k = StatKey(u32::try_from(keys.names.len()).unwrap_or(u32::MAX));
        keys.names.push(pair.clone());
        keys.index.insert(pair, k);
        k
    }

    /// A new recorder for one user.
    pub fn recorder(&self) -> Recorder {
        let shard = Arc::new(Shard::default());
        lock(&self.shards).push(shard.clone());
        Recorder { shard }
    }

    fn drain(&self) -> (Vec<Option<Acc>>, ErrorCounts) {
        let mut shards = lock(&self.shards);
        let mut entries: Vec<Option<Acc>> = Vec::new();
        let mut errors = ErrorCounts::new();
        for shard in shards.iter() {
            let data = std::mem::take(&mut *lock(&shard.data));
            if entries.len() < data.entries.len() {
                entries.resize_with(data.entries.len(), || None);
            }
            for (i, acc) in data.entries.into_iter().enumerate() {
                if let Some(acc) = acc {
                    match &mut entries[i] {
                        Some(e) => e.merge(&acc),
                        slot @ None => *slot = Some(acc),
                    }
                }
            }
            for (k, e) in data.errors {
                errors
                    .entry(k)
                    .and_modify(|x| {
                        x.occurrences += e.occurrences;
                        x.first_seen = x.first_seen.min(e.first_seen);
                        x.last_seen = x.last_seen.max(e.last_seen);
                    })
                    .or_insert(e);
            }
        }
        // A shard whose user has ended (we hold the only reference) has just been drained for
        // the last time.
        shards.retain(|s| Arc::strong_count(s) > 1);
        (entries, errors)
    }

    /// Drains every shard into one delta report and starts the next window.
    pub fn take_report(&self) -> Report {
        let (entries, errors) = self.drain();
        let now = unix_now();
        let keys = lock(&self.keys);
        let mut window = lock(&self.window);
        let window_start = window.start;
        let mut total = Acc::default();
        let mut out = Vec::new();
        for (i, acc) in entries.iter().enumerate() {
            let Some(acc) = acc.as_ref().filter(|a| a.num_requests > 0) else {
                continue;
            };
            let key = StatKey(i as u32);
            let Some((method, name)) = keys.names.get(i) else {
                continue;
            };
            // Python creates an entry at its first request and resets it at every report.
            let start = if window.reported.insert(key) {
                acc.first_request_timestamp.max(window_start)
            } else {
                window_start
            };
            out.push(acc.to_wire(method, name, start));
            total.merge(acc);
        }
        let errors = errors
            .into_iter()
            .filter_map(|((key, failure), e)| {
                let (method, name) = keys.names.get(key.0 as usize)?;
                let error = failure.to_string();
                Some((
                    python_error_key(method, name, &error),
                    StatsError {
                        method: method.clone(),
                        name: name.clone(),
                        error,
                        occurrences: e.occurrences,
                        first_seen: e.first_seen,
                        last_seen: e.last_seen,
                    },
                ))
            })
            .collect();
        window.start = now;
        Report {
            entries: out,
            total: total.to_wire("", "Aggregated", window_start),
            errors,
        }
    }

    /// Forgets everything not yet reported and starts a new test (a spawn after idle, or a lost
    /// master whose successor must not receive the old run's numbers). Returns how many samples
    /// were dropped.
    pub fn clear(&self) -> u64 {
        let (entries, _) = self.drain();
        let mut window = lock(&self.window);
        window.start = unix_now();
        window.reported.clear();
        entries.iter().flatten().map(|a| a.num_requests).sum()
    }
}

/// Python's error key: `sha256(f"{method}.{name}.{error!r}")`, so a Rust and a Python worker
/// reporting the same failure to one master merge into one row.
pub fn python_error_key(method: &str, name: &str, error: &str) -> String {
    let text = format!("{method}.{name}.{}", python_repr(error));
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Python's `repr()` of a `str`.
fn python_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_half_to_even_like_python() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (99.4, 99),
            (99.5, 100),
            (145.0, 140),
            (147.3, 150),
            (155.0, 160),
            (999.6, 1000),
            (1050.0, 1000),
            (1150.0, 1200),
            (3432.0, 3400),
            (10500.0, 10000),
            (58760.0, 59000),
        ];
        for (rt, want) in cases {
            assert_eq!(bucket_response_time(rt), want, "bucket({rt})");
        }
    }

    #[test]
    fn histograms_stay_sorted_and_merge() {
        let mut a = Histogram::default();
        for b in [30, 10, 30, 20, 10000] {
            a.add(b, 1);
        }
        let mut b = Histogram::default();
        b.add(20, 5);
        b.add(5, 1);
        a.merge(&b);
        assert_eq!(a.0, [(5, 1), (10, 1), (20, 6), (30, 2), (10000, 1)]);
    }

    #[test]
    fn python_error_keys_match_hashlib() {
        // hashlib.sha256(f"GET./fake/flaky.{e!r}".encode()).hexdigest() with the error of the
        // protocol document's run1, computed with CPython 3.11.
        let e = "HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: /fake/flaky')";
        assert_eq!(
            python_error_key("GET", "/fake/flaky", e),
            "4e1102af69596b51d4ee56e3e39ceb36409ac8c0f8f58840503fcc4565078909"
        );
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("a\nb'\""), "'a\\nb\\'\"'");
    }

    #[test]
    fn reports_are_deltas_with_every_sample_once() {
        let stats = Stats::new();
        let home = stats.key("GET", "home");
        let login = stats.key("POST", "login");
        assert_eq!(stats.key("GET", "home"), home);
        let a = stats.recorder();
        let b = stats.recorder();
        let t = unix_now();
        a.record(home, 10.0, 100, None, t);
        b.record(home, 30.0, 100, None, t);
        b.record(login, 145.0, 5, Some(&Failure::Status(500)), t);
        drop(b); // a user that ended still has its samples reported
        let r = stats.take_report();
        assert_eq!(r.entries.len(), 2);
        let h = r.entries.iter().find(|e| e.name == "home").unwrap();
        assert_eq!((h.num_requests, h.num_failures), (2, 0));
        assert_eq!(h.min_response_time, Some(10.0));
        assert_eq!(h.max_response_time, 30.0);
        assert_eq!(h.total_response_time, 40.0);
        assert_eq!(h.response_times, BTreeMap::from([(10, 1), (30, 1)]));
        assert_eq!(r.total.num_requests, 3);
        assert_eq!(r.total.num_failures, 1);
        assert_eq!(r.total.response_times.values().sum::<u64>(), 3);
        assert_eq!(r.total.num_fail_per_sec.values().sum::<u64>(), 1);
        let err = r.errors.values().next().unwrap();
        assert_eq!(
            (err.error.as_str(), err.occurrences),
            ("HTTP 500 Internal Server Error", 1)
        );
        // the next delta is empty, with a nil min and no timestamp
        let r2 = stats.take_report();
        assert!(r2.entries.is_empty() && r2.errors.is_empty());
        assert_eq!(r2.total.min_response_time, None);
        assert_eq!(r2.total.last_request_timestamp, None);
        assert!(r2.total.start_time >= r.total.start_time);
        // the ended user's shard is gone, the living one stays
        assert_eq!(lock(&stats.shards).len(), 1);
    }

    #[test]
    fn identical_failures_merge_across_users() {
        let stats = Stats::new();
        let k = stats.key("GET", "x");
        let users: Vec<_> = (0..3).map(|_| stats.recorder()).collect();
        for u in &users {
            u.record(
                k,
                1.0,
                0,
                Some(&Failure::message("connect error: connection refused")),
                unix_now(),
            );
        }
        let r = stats.take_report();
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors.values().next().unwrap().occurrences, 3);
    }

    #[test]
    fn clear_drops_unreported_samples() {
        let stats = Stats::new();
        let k = stats.key("GET", "x");
        let u = stats.recorder();
        u.record(k, 1.0, 0, None, unix_now());
        assert_eq!(stats.clear(), 1);
        assert!(stats.take_report().entries.is_empty());
    }
}
