//! One user's shard of the statistics: the counters of each row it touched ([`Acc`]) and its
//! distinct failures, behind a mutex that only the user and the 3-second drain ever take (so it
//! is uncontended). A [`Recorder`] is the user's handle; recording allocates only when a new
//! bucket, second, row or failure appears within a delta.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::histogram::{Histogram, PerSecond};
use super::python::bucket_response_time;
use super::report::RowDelta;
use crate::engine::{Failure, RowId};

/// Counters of one row within one delta.
#[derive(Debug, Clone)]
pub struct Acc {
    pub num_requests: u64,
    pub num_failures: u64,
    total_response_time: f64,
    min_response_time: f64,
    max_response_time: f64,
    total_content_length: u64,
    response_times: Histogram,
    reqs_per_sec: PerSecond,
    fails_per_sec: PerSecond,
    pub first_request_timestamp: f64,
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
        self.num_requests = self.num_requests.saturating_add(1);
        self.reqs_per_sec.add(sec, 1);
        self.total_response_time += rt_ms;
        self.min_response_time = self.min_response_time.min(rt_ms);
        self.max_response_time = self.max_response_time.max(rt_ms);
        self.response_times.add(bucket_response_time(rt_ms), 1);
        self.total_content_length = self.total_content_length.saturating_add(content_length);
        self.first_request_timestamp = self.first_request_timestamp.min(ts);
        self.last_request_timestamp = self.last_request_timestamp.max(ts);
        if failed {
            self.num_failures = self.num_failures.saturating_add(1);
            self.fails_per_sec.add(sec, 1);
        }
    }

    pub fn merge(&mut self, o: &Acc) {
        self.num_requests = self.num_requests.saturating_add(o.num_requests);
        self.num_failures = self.num_failures.saturating_add(o.num_failures);
        self.total_response_time += o.total_response_time;
        self.min_response_time = self.min_response_time.min(o.min_response_time);
        self.max_response_time = self.max_response_time.max(o.max_response_time);
        self.total_content_length = self
            .total_content_length
            .saturating_add(o.total_content_length);
        self.response_times.merge(&o.response_times);
        self.reqs_per_sec.merge(&o.reqs_per_sec);
        self.fails_per_sec.merge(&o.fails_per_sec);
        self.first_request_timestamp = self.first_request_timestamp.min(o.first_request_timestamp);
        self.last_request_timestamp = self.last_request_timestamp.max(o.last_request_timestamp);
    }

    /// The row's delta, starting at `start_time`.
    pub fn to_delta(&self, method: &str, name: &str, start_time: f64) -> RowDelta {
        let any = self.num_requests > 0;
        RowDelta {
            name: name.to_string(),
            method: method.to_string(),
            last_request_timestamp: any.then_some(self.last_request_timestamp),
            start_time,
            num_requests: self.num_requests,
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

/// Occurrences of one distinct failure of one row.
#[derive(Debug, Clone, Copy)]
pub struct ErrAcc {
    pub occurrences: u64,
    pub first_seen: f64,
    pub last_seen: f64,
}

impl ErrAcc {
    pub fn merge(&mut self, o: &ErrAcc) {
        self.occurrences = self.occurrences.saturating_add(o.occurrences);
        self.first_seen = self.first_seen.min(o.first_seen);
        self.last_seen = self.last_seen.max(o.last_seen);
    }
}

pub type ErrorCounts = HashMap<(RowId, Failure), ErrAcc>;

/// What a shard holds between two drains.
#[derive(Debug, Default)]
pub struct ShardData {
    /// Indexed by [`RowId`].
    pub entries: Vec<Option<Acc>>,
    pub errors: ErrorCounts,
}

#[derive(Debug, Default)]
pub struct Shard {
    data: Mutex<ShardData>,
}

impl Shard {
    /// Everything recorded since the last drain; the shard starts empty again.
    pub fn drain(&self) -> ShardData {
        std::mem::take(&mut *lock(&self.data))
    }
}

pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One user's handle for recording samples.
#[derive(Debug)]
pub struct Recorder {
    shard: Arc<Shard>,
}

impl Recorder {
    pub fn new(shard: Arc<Shard>) -> Recorder {
        Recorder { shard }
    }

    /// Records one completed (or failed) request in row `key`. `ts` is its completion time
    /// (unix seconds).
    pub fn record(
        &self,
        key: RowId,
        rt_ms: f64,
        content_length: u64,
        failure: Option<&Failure>,
        ts: f64,
    ) {
        let mut data = lock(&self.shard.data);
        let i = key.index();
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
            let sample = ErrAcc {
                occurrences: 1,
                first_seen: ts,
                last_seen: ts,
            };
            match data.errors.get_mut(&(key, f.clone())) {
                Some(e) => e.merge(&sample),
                None => {
                    data.errors.insert((key, f.clone()), sample);
                }
            }
        }
    }
}
