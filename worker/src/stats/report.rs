//! What one statistics delta says, as plain data: a [`Report`] of [`RowDelta`]s (one per
//! `(method, name)` row with requests, and the "Aggregated" total) and [`ErrorDelta`]s. The
//! Locust wire shape is built from it by `locust::codec`; this module knows nothing of it.

use std::collections::BTreeMap;

/// One delta: what happened since the previous report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Rows with at least one request in this delta, in row order.
    pub entries: Vec<RowDelta>,
    /// Every row together (Locust's "Aggregated", with an empty method).
    pub total: RowDelta,
    pub errors: Vec<ErrorDelta>,
}

/// The counters of one row within one delta.
#[derive(Debug, Clone, PartialEq)]
pub struct RowDelta {
    pub method: String,
    pub name: String,
    /// When this delta of the row starts (Python resets an entry at every report).
    pub start_time: f64,
    /// Newest sample; `None` only when there were no requests.
    pub last_request_timestamp: Option<f64>,
    pub num_requests: u64,
    pub num_failures: u64,
    pub total_response_time: f64,
    pub max_response_time: f64,
    /// `None` when there were no requests: never 0 as a placeholder.
    pub min_response_time: Option<f64>,
    pub total_content_length: u64,
    /// Bucketed milliseconds -> count; the counts sum to `num_requests`.
    pub response_times: BTreeMap<u64, u64>,
    pub num_reqs_per_sec: BTreeMap<i64, u64>,
    pub num_fail_per_sec: BTreeMap<i64, u64>,
}

/// One distinct failure of one row within one delta.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDelta {
    pub method: String,
    pub name: String,
    /// The failure's stable text.
    pub error: String,
    pub occurrences: u64,
    pub first_seen: f64,
    pub last_seen: f64,
}
