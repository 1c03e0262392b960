//! The statistics of a run without a master, merged from the worker's own reports exactly as a
//! Locust master merges its workers' (`StatsEntry.extend`), with Locust's arithmetic for
//! percentiles (`calculate_response_time_percentile`), the median (clamped to min and max),
//! averages and rates, so a local run's numbers are the numbers a master would show.

use std::collections::{BTreeMap, VecDeque};

use contract::summary::FailureRow;
use contract::threshold::{PERCENTILES, RowStats};

use crate::locust::codec::{StatsEntry, StatsError, StatsPayload};

/// Locust's `calculate_response_time_percentile`: the bucketed response time that `percent` of
/// `num_requests` finished within (walking the buckets from the slowest down).
pub fn percentile(response_times: &BTreeMap<u64, u64>, num_requests: u64, percent: f64) -> u64 {
    // Python: int(num_requests * percent), a truncation of the same double.
    let wanted = (num_requests as f64 * percent) as u64;
    let mut processed = 0u64;
    for (&rt, &count) in response_times.iter().rev() {
        processed = processed.saturating_add(count);
        if num_requests.saturating_sub(processed) <= wanted {
            return rt;
        }
    }
    0
}

/// One row (a request name, or the aggregate), as a master keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub method: String,
    pub name: String,
    pub num_requests: u64,
    pub num_none_requests: u64,
    pub num_failures: u64,
    pub total_response_time: f64,
    pub max_response_time: f64,
    pub min_response_time: Option<f64>,
    pub total_content_length: u64,
    pub response_times: BTreeMap<u64, u64>,
    pub num_reqs_per_sec: BTreeMap<i64, u64>,
    pub num_fail_per_sec: BTreeMap<i64, u64>,
}

impl Entry {
    fn new(method: &str, name: &str) -> Entry {
        Entry {
            method: method.to_string(),
            name: name.to_string(),
            ..Entry::default()
        }
    }

    /// Locust's `StatsEntry.extend`.
    pub fn extend(&mut self, d: &StatsEntry) {
        self.num_requests += d.num_requests;
        self.num_none_requests += d.num_none_requests;
        self.num_failures += d.num_failures;
        self.total_response_time += d.total_response_time;
        self.max_response_time = self.max_response_time.max(d.max_response_time);
        self.min_response_time = match (self.min_response_time, d.min_response_time) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.total_content_length += d.total_content_length;
        for (&k, &v) in &d.response_times {
            *self.response_times.entry(k).or_default() += v;
        }
        for (&k, &v) in &d.num_reqs_per_sec {
            *self.num_reqs_per_sec.entry(k).or_default() += v;
        }
        for (&k, &v) in &d.num_fail_per_sec {
            *self.num_fail_per_sec.entry(k).or_default() += v;
        }
    }

    /// Requests with a response time (Locust excludes `None` samples from averages).
    fn timed(&self) -> u64 {
        self.num_requests.saturating_sub(self.num_none_requests)
    }

    pub fn percentile(&self, percent: f64) -> u64 {
        percentile(&self.response_times, self.timed(), percent)
    }

    /// Locust's `median_response_time`: the 50th percentile clamped to [min, max].
    pub fn median(&self) -> f64 {
        if self.response_times.is_empty() {
            return 0.0;
        }
        let median = self.percentile(0.5) as f64;
        if median > self.max_response_time {
            self.max_response_time
        } else {
            match self.min_response_time {
                Some(min) if median < min => min,
                _ => median,
            }
        }
    }

    pub fn avg(&self) -> f64 {
        match self.timed() {
            0 => 0.0,
            n => self.total_response_time / n as f64,
        }
    }

    pub fn avg_content_length(&self) -> f64 {
        match self.num_requests {
            0 => 0.0,
            n => self.total_content_length as f64 / n as f64,
        }
    }

    /// The row for thresholds and summaries, rates over `seconds` of run time.
    pub fn row(&self, seconds: f64) -> RowStats {
        let per_sec = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        RowStats {
            method: self.method.clone(),
            name: self.name.clone(),
            requests: self.num_requests,
            failures: self.num_failures,
            median_ms: self.median(),
            avg_ms: self.avg(),
            min_ms: self.min_response_time.unwrap_or(0.0),
            max_ms: self.max_response_time,
            rps: per_sec(self.num_requests),
            fail_rps: per_sec(self.num_failures),
            percentiles_ms: PERCENTILES
                .iter()
                .map(|(_, p)| self.percentile(*p) as f64)
                .collect(),
        }
    }
}

/// Every row, the aggregate, the errors and what the history needs.
#[derive(Debug, Default)]
pub struct Totals {
    /// By (name, method): Locust's sort order.
    pub entries: BTreeMap<(String, String), Entry>,
    pub total: Entry,
    pub errors: BTreeMap<String, StatsError>,
    pub start_time: Option<f64>,
    pub last_request_timestamp: Option<f64>,
    /// (second, the aggregate's response times up to then), for "current" percentiles.
    cache: VecDeque<(i64, BTreeMap<u64, u64>)>,
}

/// Locust's `CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`.
const CURRENT_WINDOW: i64 = 10;

impl Totals {
    pub fn new() -> Totals {
        Totals {
            total: Entry::new("", "Aggregated"),
            ..Totals::default()
        }
    }

    /// Merges one report.
    pub fn merge(&mut self, p: &StatsPayload) {
        for e in &p.stats {
            self.entries
                .entry((e.name.clone(), e.method.clone()))
                .or_insert_with(|| Entry::new(&e.method, &e.name))
                .extend(e);
            self.note_times(e);
        }
        self.total.extend(&p.stats_total);
        self.note_times(&p.stats_total);
        for (key, err) in &p.errors {
            match self.errors.get_mut(key) {
                Some(have) => {
                    have.occurrences += err.occurrences;
                    have.first_seen = have.first_seen.min(err.first_seen);
                    have.last_seen = have.last_seen.max(err.last_seen);
                }
                None => {
                    self.errors.insert(key.clone(), err.clone());
                }
            }
        }
    }

    fn note_times(&mut self, e: &StatsEntry) {
        if e.num_requests == 0 {
            return;
        }
        self.start_time = Some(
            self.start_time
                .map_or(e.start_time, |s| s.min(e.start_time)),
        );
        if let Some(t) = e.last_request_timestamp {
            self.last_request_timestamp = Some(self.last_request_timestamp.map_or(t, |l| l.max(t)));
        }
    }

    /// Seconds from the first to the last request (Locust's `total_rps` denominator).
    pub fn duration(&self) -> f64 {
        match (self.start_time, self.last_request_timestamp) {
            (Some(s), Some(l)) if l > s => l - s,
            _ => 0.0,
        }
    }

    pub fn rows(&self) -> Vec<RowStats> {
        let secs = self.duration();
        self.entries.values().map(|e| e.row(secs)).collect()
    }

    pub fn aggregated(&self) -> RowStats {
        self.total.row(self.duration())
    }

    pub fn failures(&self) -> Vec<FailureRow> {
        self.errors
            .values()
            .map(|e| FailureRow {
                method: e.method.clone(),
                name: e.name.clone(),
                error: e.error.clone(),
                occurrences: e.occurrences,
            })
            .collect()
    }

    /// Remembers the aggregate's response times at second `now` (called once per second).
    pub fn snapshot(&mut self, now: i64) {
        self.cache
            .push_back((now, self.total.response_times.clone()));
        while self
            .cache
            .front()
            .is_some_and(|(t, _)| *t < now - CURRENT_WINDOW - 10)
        {
            self.cache.pop_front();
        }
    }

    /// The aggregate's requests per second over the last ~10 s (Locust's `current_rps`).
    pub fn current_rps(&self, failures: bool) -> f64 {
        let Some(last) = self.last_request_timestamp else {
            return 0.0;
        };
        let last = last as i64;
        let start = (last - 12).max(self.start_time.unwrap_or(0.0) as i64);
        let per_sec = if failures {
            &self.total.num_fail_per_sec
        } else {
            &self.total.num_reqs_per_sec
        };
        let seconds: Vec<u64> = (start..last - 2)
            .map(|t| per_sec.get(&t).copied().unwrap_or(0))
            .collect();
        if seconds.is_empty() {
            0.0
        } else {
            seconds.iter().sum::<u64>() as f64 / seconds.len() as f64
        }
    }

    /// The aggregate's percentiles over the last 10 s, from the snapshot taken then.
    pub fn current_percentile(&self, now: i64, percent: f64) -> u64 {
        let old = self
            .cache
            .iter()
            .rev()
            .find(|(t, _)| *t <= now - CURRENT_WINDOW)
            .map(|(_, rt)| rt);
        let mut window = self.total.response_times.clone();
        if let Some(old) = old {
            for (k, v) in old {
                if let Some(n) = window.get_mut(k) {
                    *n = n.saturating_sub(*v);
                }
            }
            window.retain(|_, n| *n > 0);
        }
        let count = window.values().sum();
        percentile(&window, count, percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_walk_the_buckets_as_locust_does() {
        let rt: BTreeMap<u64, u64> = [(10, 5), (20, 3), (100, 2)].into();
        // Locust counts from the slowest bucket down: with 5 of 10 at 10 ms, the median is 20.
        assert_eq!(percentile(&rt, 10, 0.3), 10);
        assert_eq!(percentile(&rt, 10, 0.5), 20);
        assert_eq!(percentile(&rt, 10, 0.8), 100);
        assert_eq!(percentile(&rt, 10, 0.95), 100);
        assert_eq!(percentile(&rt, 10, 1.0), 100);
        assert_eq!(percentile(&BTreeMap::new(), 0, 0.5), 0);
    }

    #[test]
    fn the_median_is_clamped_to_min_and_max() {
        let e = Entry {
            num_requests: 1,
            response_times: [(150, 1)].into(),
            max_response_time: 147.3,
            min_response_time: Some(147.3),
            ..Entry::default()
        };
        assert_eq!(e.median(), 147.3);
    }
}
