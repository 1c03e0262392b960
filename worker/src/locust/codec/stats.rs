//! The wire shape of the `stats` message (Locust 2.47 `StatsEntryDict` and `StatsErrorDict`) and
//! its construction from a [`stats::Report`](crate::stats::Report): the errors keyed as Python
//! keys them, the user counts alongside. Serialised by the parent codec like every message.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ClassCounts;
use crate::stats::{ErrorDelta, Report, RowDelta, python};

/// One `StatsEntry` delta exactly as Locust serialises it (`StatsEntryDict`, stats.py).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsEntry {
    pub name: String,
    pub method: String,
    /// Newest sample in this delta; `None` only when there were no requests.
    pub last_request_timestamp: Option<f64>,
    pub start_time: f64,
    pub num_requests: u64,
    pub num_none_requests: u64,
    pub num_failures: u64,
    pub total_response_time: f64,
    pub max_response_time: f64,
    /// `None` when no timed samples: never 0 as a placeholder.
    pub min_response_time: Option<f64>,
    pub total_content_length: u64,
    /// Bucketed milliseconds -> count. Counts sum to `num_requests - num_none_requests`.
    pub response_times: BTreeMap<u64, u64>,
    pub num_reqs_per_sec: BTreeMap<i64, u64>,
    pub num_fail_per_sec: BTreeMap<i64, u64>,
}

/// One `StatsError` as the master merges it (by key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsError {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
    pub first_seen: f64,
    pub last_seen: f64,
}

/// The `stats` message body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsPayload {
    pub stats: Vec<StatsEntry>,
    pub stats_total: StatsEntry,
    pub errors: BTreeMap<String, StatsError>,
    pub user_classes_count: ClassCounts,
    pub user_count: u32,
}

/// The `stats` message body for `report`, with the users now running per class.
pub fn stats_payload(report: Report, user_classes_count: ClassCounts) -> StatsPayload {
    StatsPayload {
        stats: report.entries.into_iter().map(StatsEntry::from).collect(),
        stats_total: StatsEntry::from(report.total),
        errors: report
            .errors
            .into_iter()
            .map(|e| {
                (
                    python::error_key(&e.method, &e.name, &e.error),
                    StatsError::from(e),
                )
            })
            .collect(),
        user_count: user_classes_count.values().sum(),
        user_classes_count,
    }
}

impl From<RowDelta> for StatsEntry {
    fn from(d: RowDelta) -> StatsEntry {
        StatsEntry {
            name: d.name,
            method: d.method,
            last_request_timestamp: d.last_request_timestamp,
            start_time: d.start_time,
            num_requests: d.num_requests,
            num_none_requests: 0,
            num_failures: d.num_failures,
            total_response_time: d.total_response_time,
            max_response_time: d.max_response_time,
            min_response_time: d.min_response_time,
            total_content_length: d.total_content_length,
            response_times: d.response_times,
            num_reqs_per_sec: d.num_reqs_per_sec,
            num_fail_per_sec: d.num_fail_per_sec,
        }
    }
}

impl From<ErrorDelta> for StatsError {
    fn from(e: ErrorDelta) -> StatsError {
        StatsError {
            method: e.method,
            name: e.name,
            error: e.error,
            occurrences: e.occurrences,
            first_seen: e.first_seen,
            last_seen: e.last_seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Outbound, encode, map_get};
    use super::*;
    use crate::engine::{Failure, RowId, StatRow};
    use crate::stats::{Stats, unix_now};

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn stats_histogram_keys_are_integers_and_min_is_nil_when_empty() {
        let empty = StatsEntry {
            name: "Aggregated".into(),
            method: String::new(),
            last_request_timestamp: None,
            start_time: 1.5,
            num_requests: 0,
            num_none_requests: 0,
            num_failures: 0,
            total_response_time: 0.0,
            max_response_time: 0.0,
            min_response_time: None,
            total_content_length: 0,
            response_times: BTreeMap::new(),
            num_reqs_per_sec: BTreeMap::new(),
            num_fail_per_sec: BTreeMap::new(),
        };
        let mut entry = empty.clone();
        entry.response_times.insert(150, 2);
        let payload = StatsPayload {
            stats: vec![entry],
            stats_total: empty,
            errors: BTreeMap::new(),
            user_classes_count: ClassCounts::from([("Dummy".to_string(), 5)]),
            user_count: 5,
        };
        let bytes = encode(&Outbound::Stats(Box::new(payload)), "w1").unwrap();
        let v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
        let data = &v.as_array().unwrap()[1];
        let stats = map_get(data, "stats").unwrap().as_array().unwrap();
        let rt = map_get(&stats[0], "response_times")
            .unwrap()
            .as_map()
            .unwrap();
        assert_eq!(rt[0].0, rmpv::Value::from(150u64));
        let total = map_get(data, "stats_total").unwrap();
        assert_eq!(map_get(total, "min_response_time"), Some(&rmpv::Value::Nil));
        assert!(matches!(
            map_get(total, "start_time"),
            Some(rmpv::Value::F64(_))
        ));
        // The fixture of §1.4: {"response_times": {10: 1, 150: 2}} uses uint keys too.
        let fixture = rmp_serde::to_vec_named(&BTreeMap::from([(
            "response_times",
            BTreeMap::from([(10u64, 1u64), (150, 2)]),
        )]))
        .unwrap();
        assert_eq!(
            fixture,
            hex("81 ae 726573706f6e73655f74696d6573 82 0a 01 cc96 02")
        );
    }

    #[test]
    fn a_report_becomes_a_payload_with_python_error_keys() {
        let rows = [StatRow {
            method: "GET".into(),
            name: "/fake/flaky".into(),
        }];
        let stats = Stats::new(&rows);
        let user = stats.recorder();
        let error = "HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: /fake/flaky')";
        for _ in 0..2 {
            user.record(
                RowId(0),
                150.0,
                7,
                Some(&Failure::message(error)),
                unix_now(),
            );
        }
        let counts = ClassCounts::from([("A".to_string(), 2), ("B".to_string(), 3)]);
        let p = stats_payload(stats.take_report(), counts);
        assert_eq!(p.user_count, 5);
        assert_eq!(p.stats.len(), 1);
        assert_eq!(p.stats[0].num_none_requests, 0);
        assert_eq!(p.stats[0].response_times, BTreeMap::from([(150, 2)]));
        assert_eq!(
            (p.stats_total.name.as_str(), p.stats_total.method.as_str()),
            ("Aggregated", "")
        );
        assert_eq!(p.stats_total.num_failures, 2);
        // the key a Python worker computes for the same failure (see stats::python)
        let e = &p.errors["4e1102af69596b51d4ee56e3e39ceb36409ac8c0f8f58840503fcc4565078909"];
        assert_eq!((e.error.as_str(), e.occurrences), (error, 2));
    }
}
