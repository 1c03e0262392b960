//! `/metrics`: the fleet's numbers in the Prometheus text format. Label values come from etcd
//! (anyone who can write there chooses them), so they are escaped as the format says.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus text format.
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    use std::fmt::Write;
    let workers = s.fleet.workers();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "locust_http_workers",
        "Workers registered in etcd.",
        workers.len() as f64,
    );
    gauge(
        "locust_http_workers_reachable",
        "Workers answering their status call.",
        workers.iter().filter(|w| w.unreachable.is_none()).count() as f64,
    );
    gauge(
        "locust_http_users",
        "Simulated users running on all workers.",
        workers.iter().map(|w| f64::from(w.users)).sum(),
    );
    gauge(
        "locust_http_requests_per_second",
        "Requests per second of all workers (last report).",
        workers.iter().map(|w| w.requests_per_second).sum(),
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_requests_total Requests sent by the current sessions of all workers.\n# TYPE locust_http_requests_total counter\nlocust_http_requests_total {}",
        workers.iter().map(|w| w.requests_total).sum::<u64>()
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_failures_total Failed requests of the current sessions of all workers.\n# TYPE locust_http_failures_total counter\nlocust_http_failures_total {}",
        workers.iter().map(|w| w.failures_total).sum::<u64>()
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_worker_users Users per worker.\n# TYPE locust_http_worker_users gauge"
    );
    for w in &workers {
        let _ = writeln!(
            out,
            "locust_http_worker_users{{address=\"{}\"}} {}",
            escape_label(&w.record.address),
            w.users
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
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
