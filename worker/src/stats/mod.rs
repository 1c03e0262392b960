//! Request statistics, kept exactly the way a Locust master expects them.
//!
//! [`Stats`] is created from a compiled plan's row table ([`StatRow`]s) and follows later plans
//! ([`Stats::adopt`]). Each simulated user owns a [`Recorder`] with its own [`shard`] of
//! counters. Every 3 s [`Stats::take_report`] drains all shards into one *delta* [`Report`] (per
//! row, the "Aggregated" total and the distinct failures), so each sample is reported exactly
//! once: none lost, none twice. Shards of users that have ended are dropped after their last
//! drain. The Locust wire shape of a report is built in `locust::codec`, not here.
//!
//! - [`python`]: what must match Python exactly (buckets, error keys).
//! - [`histogram`]: the small sorted vectors counters are made of.
//! - [`report`]: a delta as plain data.
//! - [`shard`]: one user's counters and its [`Recorder`].

pub mod histogram;
pub mod python;
pub mod report;
pub mod shard;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

pub use crate::engine::outcome::{Failure, unix_now};
pub use crate::engine::{RowId, StatRow};
pub use python::bucket_response_time;
pub use report::{ErrorDelta, Report, RowDelta};
pub use shard::Recorder;

use shard::{Acc, ErrorCounts, Shard, lock};

#[derive(Debug)]
struct Window {
    /// Start of the current delta (previous report, or the start of the test).
    start: f64,
    /// Rows already reported in this test (their later deltas start at the window start).
    reported: HashSet<RowId>,
}

/// The worker's statistics: the row table, user shards and the delta window.
#[derive(Debug)]
pub struct Stats {
    rows: Mutex<Vec<StatRow>>,
    shards: Mutex<Vec<Arc<Shard>>>,
    window: Mutex<Window>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            rows: Mutex::default(),
            shards: Mutex::default(),
            window: Mutex::new(Window {
                start: unix_now(),
                reported: HashSet::new(),
            }),
        }
    }
}

impl Stats {
    /// Statistics for a plan whose rows are `rows` (`CompiledPlan::stat_rows`).
    pub fn new(rows: &[StatRow]) -> Arc<Stats> {
        let stats = Stats::default();
        *lock(&stats.rows) = rows.to_vec();
        Arc::new(stats)
    }

    /// The row table, to compile the next plan after (so row ids keep their meaning).
    pub fn rows(&self) -> Vec<StatRow> {
        lock(&self.rows).clone()
    }

    /// Follows a new plan whose table `rows` extends the current one (it was compiled after
    /// [`Stats::rows`]). A table that does not start with the current rows would give recorded
    /// ids another meaning: it is refused (false) and the current table kept.
    pub fn adopt(&self, rows: &[StatRow]) -> bool {
        let mut current = lock(&self.rows);
        if rows.len() < current.len() || rows[..current.len()] != current[..] {
            tracing::error!("statistics rows of a new plan do not extend the current ones");
            return false;
        }
        let known = current.len();
        current.extend_from_slice(&rows[known..]);
        true
    }

    /// A new recorder for one user.
    pub fn recorder(&self) -> Recorder {
        let shard = Arc::new(Shard::default());
        lock(&self.shards).push(shard.clone());
        Recorder::new(shard)
    }

    fn drain(&self) -> (Vec<Option<Acc>>, ErrorCounts) {
        let mut shards = lock(&self.shards);
        let mut entries: Vec<Option<Acc>> = Vec::new();
        let mut errors = ErrorCounts::new();
        for shard in shards.iter() {
            let data = shard.drain();
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
                errors.entry(k).and_modify(|x| x.merge(&e)).or_insert(e);
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
        let rows = lock(&self.rows);
        let mut window = lock(&self.window);
        let window_start = window.start;
        let mut total = Acc::default();
        let mut out = Vec::new();
        for (i, acc) in entries.iter().enumerate() {
            let Some(acc) = acc.as_ref().filter(|a| a.num_requests > 0) else {
                continue;
            };
            let Some(row) = rows.get(i) else {
                continue;
            };
            let key = RowId(u32::try_from(i).unwrap_or(u32::MAX));
            // Python creates an entry at its first request and resets it at every report.
            let start = if window.reported.insert(key) {
                acc.first_request_timestamp.max(window_start)
            } else {
                window_start
            };
            out.push(acc.to_delta(&row.method, &row.name, start));
            total.merge(acc);
        }
        let errors = errors
            .into_iter()
            .filter_map(|((key, failure), e)| {
                let row = rows.get(key.index())?;
                Some(ErrorDelta {
                    method: row.method.clone(),
                    name: row.name.clone(),
                    error: failure.to_string(),
                    occurrences: e.occurrences,
                    first_seen: e.first_seen,
                    last_seen: e.last_seen,
                })
            })
            .collect();
        window.start = now;
        Report {
            entries: out,
            total: total.to_delta("", "Aggregated", window_start),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn row(method: &str, name: &str) -> StatRow {
        StatRow {
            method: method.into(),
            name: name.into(),
        }
    }

    #[test]
    fn reports_are_deltas_with_every_sample_once() {
        let stats = Stats::new(&[row("GET", "home"), row("POST", "login")]);
        let (home, login) = (RowId(0), RowId(1));
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
        let err = &r.errors[0];
        assert_eq!(
            (err.error.as_str(), err.occurrences, err.name.as_str()),
            ("HTTP 500 Internal Server Error", 1, "login")
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
        let stats = Stats::new(&[row("GET", "x")]);
        let users: Vec<_> = (0..3).map(|_| stats.recorder()).collect();
        for u in &users {
            u.record(
                RowId(0),
                1.0,
                0,
                Some(&Failure::message("connect error: connection refused")),
                unix_now(),
            );
        }
        let r = stats.take_report();
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].occurrences, 3);
    }

    #[test]
    fn clear_drops_unreported_samples() {
        let stats = Stats::new(&[row("GET", "x")]);
        let u = stats.recorder();
        u.record(RowId(0), 1.0, 0, None, unix_now());
        assert_eq!(stats.clear(), 1);
        assert!(stats.take_report().entries.is_empty());
    }

    #[test]
    fn a_new_plan_extends_the_rows_and_old_ids_keep_their_row() {
        let stats = Stats::new(&[row("GET", "a")]);
        let u = stats.recorder();
        assert!(
            !stats.adopt(&[row("GET", "b")]),
            "a table that reorders rows"
        );
        assert!(stats.adopt(&[row("GET", "a"), row("GET", "b")]));
        assert_eq!(stats.rows(), [row("GET", "a"), row("GET", "b")]);
        // a request of the old plan, in flight across the switch, and one of the new plan
        u.record(RowId(0), 1.0, 0, None, unix_now());
        u.record(RowId(1), 1.0, 0, None, unix_now());
        // a row id outside the table (never handed out) is not reported, and does not panic
        u.record(RowId(7), 1.0, 0, None, unix_now());
        let names: Vec<String> = stats
            .take_report()
            .entries
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a", "b"]);
    }
}
