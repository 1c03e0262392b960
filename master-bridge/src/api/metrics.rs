//! `/metrics`: the fleet's numbers in the Prometheus text format, in its conventions (base
//! units, `_total` counters that never go backwards, `_seconds`). Counters come from
//! [`crate::tally`]; gauges from the fleet's live view and the last reading of the master.
//! Response times are a summary: the master's percentiles of the current run as its quantiles
//! (its web API gives percentiles, not the buckets a histogram needs), with `_sum` and `_count`
//! accumulated like the counters. Label values come from etcd and
//! the master (anyone who can write there chooses them), so they are escaped as the format says.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Every run state, and `idle` before the first run.
const RUN_STATES: [&str; 6] = [
    "idle", "starting", "running", "finished", "stopped", "failed",
];

/// One metric family being written.
struct Family<'a> {
    out: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    fn start<'a>(out: &'a mut String, name: &'static str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        Family { out, name }
    }

    fn sample(&mut self, labels: &[(&str, &str)], value: f64) {
        self.sample_of("", labels, value);
    }

    /// A sample of the family's `name` + `suffix` series (`_sum`, `_count`).
    fn sample_of(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.out, "{}{suffix}", self.name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                .collect();
            let _ = write!(self.out, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// Prometheus text format.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let workers = s.fleet.workers();
    let master = s.tally.master();
    let mut out = String::new();
    let o = &mut out;

    Family::start(
        o,
        "locust_http_build_info",
        "gauge",
        "The bridge's version.",
    )
    .sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);

    Family::start(
        o,
        "locust_http_workers",
        "gauge",
        "Workers registered in etcd.",
    )
    .sample(&[], workers.len() as f64);
    let mut by_state: BTreeMap<String, u64> = BTreeMap::new();
    for w in &workers {
        let state = match (&w.unreachable, w.state.as_str()) {
            (Some(_), _) => "unreachable",
            (None, "") => "unknown",
            (None, state) => state,
        };
        *by_state.entry(state.to_string()).or_default() += 1;
    }
    let mut f = Family::start(
        o,
        "locust_http_workers_by_state",
        "gauge",
        "Workers per state (as they report it; unreachable when they do not answer).",
    );
    for (state, n) in &by_state {
        f.sample(&[("state", state)], *n as f64);
    }

    Family::start(
        o,
        "locust_http_users",
        "gauge",
        "Simulated users running on all workers.",
    )
    .sample(&[], workers.iter().map(|w| f64::from(w.users)).sum());
    let mut f = Family::start(o, "locust_http_worker_users", "gauge", "Users per worker.");
    for w in &workers {
        f.sample(&[("address", &w.record.address)], f64::from(w.users));
    }

    let rows = s.tally.rows();
    let mut f = Family::start(
        o,
        "locust_http_requests_total",
        "counter",
        "Requests per method and name (the master's counts, accumulated by the bridge).",
    );
    for ((method, name), c) in &rows {
        f.sample(&[("method", method), ("name", name)], c.requests as f64);
    }
    let mut f = Family::start(
        o,
        "locust_http_failures_total",
        "counter",
        "Failed requests per method and name (the master's counts, accumulated by the bridge).",
    );
    for ((method, name), c) in &rows {
        f.sample(&[("method", method), ("name", name)], c.failures as f64);
    }
    let per_worker = s.tally.workers();
    let mut f = Family::start(
        o,
        "locust_http_worker_requests_total",
        "counter",
        "Requests per worker (accumulated across worker restarts).",
    );
    for (address, c) in &per_worker {
        f.sample(&[("address", address)], c.requests as f64);
    }
    let mut f = Family::start(
        o,
        "locust_http_worker_failures_total",
        "counter",
        "Failed requests per worker (accumulated across worker restarts).",
    );
    for (address, c) in &per_worker {
        f.sample(&[("address", address)], c.failures as f64);
    }

    let mut f = Family::start(
        o,
        "locust_http_response_time_seconds",
        "summary",
        "Response times per method and name: the Locust master's percentiles of the current run, sum and count accumulated by the bridge.",
    );
    for ((method, name), c) in &rows {
        let labels = [("method", method.as_str()), ("name", name.as_str())];
        let key = (method.clone(), name.clone());
        for (q, seconds) in master.percentiles.get(&key).map_or(&[][..], |p| &p.values) {
            f.sample(&[labels[0], labels[1], ("quantile", q)], *seconds);
        }
        f.sample_of("_sum", &labels, c.seconds);
        f.sample_of("_count", &labels, c.requests as f64);
    }

    let latest = s.runs.subscribe().borrow().clone();
    let current = match &latest {
        None => "idle",
        Some((_, state)) => crate::store::runs::state_text(*state),
    };
    let mut f = Family::start(
        o,
        "locust_http_run_state",
        "gauge",
        "The latest run's state (1 for the current one).",
    );
    for state in RUN_STATES {
        f.sample(
            &[("state", state)],
            if state == current { 1.0 } else { 0.0 },
        );
    }
    Family::start(
        o,
        "locust_http_run_active",
        "gauge",
        "Whether a run is going.",
    )
    .sample(
        &[],
        if latest.is_some_and(|(_, st)| st.is_live()) {
            1.0
        } else {
            0.0
        },
    );
    Family::start(
        o,
        "locust_http_master_up",
        "gauge",
        "Whether the Locust master's web API answered the last reading.",
    )
    .sample(&[], if master.up { 1.0 } else { 0.0 });
    Family::start(
        o,
        "locust_http_master_users",
        "gauge",
        "Users as the Locust master counts them.",
    )
    .sample(&[], master.users as f64);

    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}

/// A label value escaped for the text format: backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_label;

    #[test]
    fn label_values_cannot_inject_lines_or_labels() {
        let hostile = "1.2.3.4:1\"} 99\nlocust_http_users 1e9\n# x\\";
        let line = format!(
            "locust_http_worker_users{{address=\"{}\"}} 3",
            escape_label(hostile)
        );
        assert_eq!(line.lines().count(), 1, "{line}");
        assert_eq!(
            line,
            r#"locust_http_worker_users{address="1.2.3.4:1\"} 99\nlocust_http_users 1e9\n# x\\"} 3"#
        );
        // The value ends at the first unescaped quote: the one we wrote.
        let value = line
            .strip_prefix("locust_http_worker_users{address=\"")
            .unwrap();
        let mut escaped = false;
        let end = value
            .char_indices()
            .find(|&(_, c)| {
                let stop = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                stop
            })
            .map(|(i, _)| i)
            .unwrap();
        assert_eq!(&value[end..], "\"} 3");
        assert_eq!(escape_label("plain:80"), "plain:80");
    }
}
