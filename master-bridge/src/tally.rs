//! The numbers `/metrics` shows, kept so that counters never go backwards: every couple of
//! seconds the master's statistics (`/stats/requests`) and the workers' status counts are read,
//! and the increase since the last reading is added to the bridge's own totals. A number that
//! dropped (a worker restarted, the master's statistics were reset for a new run) counts from
//! zero again, so `rate()` and `increase()` stay right across restarts. Counts made between a
//! reset and the next reading that exceed the count before the reset are not lost either; only
//! a reset followed by less traffic than before within one interval is undercounted.
//!
//! Series are bounded ([`MAX_SERIES`]): label values come from the master and etcd.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::fleet::Fleet;
use crate::master::LocustWeb;

/// How often the master and the fleet are read.
pub const INTERVAL: Duration = Duration::from_secs(2);
/// At most this many (method, name) rows and this many workers are tracked.
pub const MAX_SERIES: usize = 1000;

/// Requests and failures of one series (and, for the master's rows, the sum of their response
/// times), monotonic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    pub requests: u64,
    pub failures: u64,
    /// Seconds spent answering `requests` (the master's average times its count).
    pub seconds: f64,
    last_seconds: f64,
    /// The source's numbers at the last reading.
    last_requests: u64,
    last_failures: u64,
}

impl Counts {
    /// Adds the increase since the last reading; a number that dropped restarted from zero.
    pub fn observe(&mut self, requests: u64, failures: u64) {
        let grown = |last: u64, now: u64| if now >= last { now - last } else { now };
        self.requests = self
            .requests
            .saturating_add(grown(self.last_requests, requests));
        self.failures = self
            .failures
            .saturating_add(grown(self.last_failures, failures));
        self.last_requests = requests;
        self.last_failures = failures;
    }

    /// Adds the growth of a response-time sum, like [`Counts::observe`].
    pub fn observe_seconds(&mut self, seconds: f64) {
        if !(seconds.is_finite() && seconds >= 0.0) {
            return;
        }
        self.seconds += if seconds >= self.last_seconds {
            seconds - self.last_seconds
        } else {
            seconds
        };
        self.last_seconds = seconds;
    }
}

/// A row's latest response-time percentiles (seconds), as the master computes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Percentiles {
    /// `(quantile, seconds)`.
    pub values: Vec<(&'static str, f64)>,
}

/// What the last reading of the master said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterView {
    pub up: bool,
    /// `ready`, `spawning`, `running`, `stopped`, ... as the master says.
    pub state: String,
    pub users: u64,
    /// Per (method, name): the latest percentiles.
    pub percentiles: BTreeMap<(String, String), Percentiles>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: BTreeMap<(String, String), Counts>,
    workers: BTreeMap<String, Counts>,
    master: MasterView,
}

/// The bridge's totals (cheap to share).
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Inner>,
}

/// The master's quantile fields and the label they get.
const QUANTILES: [(&str, &str); 3] = [
    ("median_response_time", "0.5"),
    ("response_time_percentile_0.95", "0.95"),
    ("response_time_percentile_0.99", "0.99"),
];

/// The series of `key`, unless it is new and [`MAX_SERIES`] are tracked already.
fn series<K: Ord>(map: &mut BTreeMap<K, Counts>, key: K) -> Option<&mut Counts> {
    let room = map.len() < MAX_SERIES;
    match map.entry(key) {
        std::collections::btree_map::Entry::Occupied(e) => Some(e.into_mut()),
        std::collections::btree_map::Entry::Vacant(e) if room => Some(e.insert(Counts::default())),
        std::collections::btree_map::Entry::Vacant(_) => None,
    }
}

impl Tally {
    pub fn new() -> Arc<Tally> {
        Arc::new(Tally::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A reading of the master's `/stats/requests` (`None`: the master did not answer).
    pub fn observe_master(&self, live: Option<&Value>) {
        let mut inner = self.lock();
        let Some(live) = live else {
            inner.master = MasterView::default();
            return;
        };
        let mut percentiles = BTreeMap::new();
        for row in live["stats"].as_array().into_iter().flatten() {
            let (Some(method), Some(name)) = (row["method"].as_str(), row["name"].as_str()) else {
                continue;
            };
            if name == "Aggregated" && method.is_empty() {
                continue;
            }
            let key = (method.to_string(), name.to_string());
            let count = |k: &str| row[k].as_u64().unwrap_or(0);
            if let Some(c) = series(&mut inner.rows, key.clone()) {
                c.observe(count("num_requests"), count("num_failures"));
                let avg_ms = row["avg_response_time"].as_f64().unwrap_or(0.0);
                c.observe_seconds(avg_ms * count("num_requests") as f64 / 1000.0);
            }
            if percentiles.len() < MAX_SERIES {
                let values = QUANTILES
                    .iter()
                    .filter_map(|(field, q)| {
                        let ms = row[*field].as_f64()?;
                        ms.is_finite().then_some((*q, ms / 1000.0))
                    })
                    .collect();
                percentiles.insert(key, Percentiles { values });
            }
        }
        inner.master = MasterView {
            up: true,
            state: live["state"].as_str().unwrap_or("").to_string(),
            users: live["user_count"].as_u64().unwrap_or(0),
            percentiles,
        };
    }

    /// A worker's session counts (by address).
    pub fn observe_worker(&self, address: &str, requests: u64, failures: u64) {
        if let Some(c) = series(&mut self.lock().workers, address.to_string()) {
            c.observe(requests, failures);
        }
    }

    /// The per (method, name) totals.
    pub fn rows(&self) -> Vec<((String, String), Counts)> {
        self.lock()
            .rows
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// The per-worker totals.
    pub fn workers(&self) -> Vec<(String, Counts)> {
        self.lock()
            .workers
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub fn master(&self) -> MasterView {
        self.lock().master.clone()
    }
}

/// Reads the master and the fleet every [`INTERVAL`] until `stop`.
pub async fn collect(
    tally: Arc<Tally>,
    master: LocustWeb,
    fleet: Arc<Fleet>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        for w in fleet.workers() {
            tally.observe_worker(&w.record.address, w.requests_total, w.failures_total);
        }
        let live = tokio::select! {
            () = stop.cancelled() => return,
            r = master.live() => r.ok(),
        };
        tally.observe_master(live.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(rows: &[(&str, u64, u64)]) -> Value {
        let mut stats: Vec<Value> = rows
            .iter()
            .map(|(n, r, f)| json!({"method": "GET", "name": n, "num_requests": r, "num_failures": f, "avg_response_time": 100,
                                    "median_response_time": 12, "response_time_percentile_0.95": 250,
                                    "response_time_percentile_0.99": null}))
            .collect();
        stats.push(
            json!({"method": "", "name": "Aggregated", "num_requests": 999, "num_failures": 0}),
        );
        json!({"stats": stats, "state": "running", "user_count": 4})
    }

    #[test]
    fn counters_never_go_backwards_across_resets_and_restarts() {
        let t = Tally::default();
        t.observe_master(Some(&live(&[("/a", 10, 1)])));
        t.observe_master(Some(&live(&[("/a", 25, 2)])));
        // The master's statistics were reset (a new run): 4 since then.
        t.observe_master(Some(&live(&[("/a", 4, 0)])));
        let rows = t.rows();
        assert_eq!(rows.len(), 1, "Aggregated is not a series");
        assert_eq!((rows[0].1.requests, rows[0].1.failures), (29, 2));
        assert!((rows[0].1.seconds - 2.9).abs() < 1e-9, "{:?}", rows[0].1);
        t.observe_worker("w:1", 100, 3);
        t.observe_worker("w:1", 7, 0); // restarted
        t.observe_worker("w:1", 9, 1);
        let w = t.workers();
        assert_eq!((w[0].1.requests, w[0].1.failures), (109, 4));
        let m = t.master();
        assert!(m.up);
        assert_eq!((m.state.as_str(), m.users), ("running", 4));
        let p = &m.percentiles[&("GET".to_string(), "/a".to_string())];
        assert_eq!(
            p.values,
            [("0.5", 0.012), ("0.95", 0.25)],
            "a null percentile is left out"
        );
        t.observe_master(None);
        assert!(!t.master().up);
        assert_eq!(t.rows()[0].1.requests, 29, "totals outlive the master");
    }

    #[test]
    fn series_are_bounded() {
        let t = Tally::default();
        for i in 0..MAX_SERIES + 10 {
            t.observe_worker(&format!("w:{i}"), 1, 0);
        }
        assert_eq!(t.workers().len(), MAX_SERIES);
    }
}
