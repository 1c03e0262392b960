//! The worker's own `/metrics` (Prometheus text format, `--metrics-addr`): per request row
//! counters of requests and failures, response times as a histogram in seconds, running users,
//! build info. Fed from the statistics reports the runtime takes, so they agree with what the
//! master shows; counters start at zero with the process (Prometheus' `rate()` handles that).

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::locust::codec::StatsPayload;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Row {
    method: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Build {
    version: String,
}

/// Response time buckets in seconds (1 ms to 60 s).
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// The worker's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<Row, Counter>,
    failures: Family<Row, Counter>,
    response_time: Family<Row, Histogram>,
    users: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("locust_http_worker");
        let requests = Family::<Row, Counter>::default();
        let failures = Family::<Row, Counter>::default();
        let response_time =
            Family::<Row, Histogram>::new_with_constructor(|| Histogram::new(BUCKETS));
        let users = Gauge::default();
        let build = Family::<Build, Gauge>::default();
        build
            .get_or_create(&Build {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("sent_requests", "Requests sent, by step", requests.clone());
        registry.register(
            "failed_requests",
            "Failed requests, by step",
            failures.clone(),
        );
        registry.register(
            "response_time_seconds",
            "Response times (bucketed as Locust reports them), by step",
            response_time.clone(),
        );
        registry.register("running_users", "Simulated users running", users.clone());
        registry.register("build_info", "The worker's version", build);
        Arc::new(Metrics {
            registry,
            requests,
            failures,
            response_time,
            users,
        })
    }

    /// Counts one statistics report (a delta).
    pub fn observe(&self, report: &StatsPayload) {
        for e in &report.stats {
            let row = Row {
                method: e.method.clone(),
                name: e.name.clone(),
            };
            self.requests.get_or_create(&row).inc_by(e.num_requests);
            self.failures.get_or_create(&row).inc_by(e.num_failures);
            let h = self.response_time.get_or_create(&row);
            for (&ms, &count) in &e.response_times {
                let secs = ms as f64 / 1000.0;
                for _ in 0..count {
                    h.observe(secs);
                }
            }
        }
        self.users.set(i64::from(report.user_count));
    }

    pub fn set_users(&self, users: u64) {
        self.users.set(i64::try_from(users).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut open_metrics = String::new();
        if prometheus_client::encoding::text::encode(&mut open_metrics, &self.registry).is_err() {
            return String::new();
        }
        to_prometheus_text(&open_metrics)
    }
}

/// OpenMetrics (what the encoder writes) as the Prometheus text format scrapers and `promtool`
/// read: a counter's `HELP` and `TYPE` name its `_total` series, and no `# EOF`.
fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Binds `addr`, logs the address (`listening what="metrics"`) and serves `/metrics` in
/// `tracker` until `shutdown`.
pub async fn start(
    addr: std::net::SocketAddr,
    tracker: &tokio_util::task::TaskTracker,
    shutdown: CancellationToken,
) -> std::io::Result<Arc<Metrics>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(what = "metrics", addr = %listener.local_addr()?, "listening");
    let metrics = Metrics::new();
    let served = metrics.clone();
    tracker.spawn(async move {
        if let Err(e) = serve(listener, served, shutdown).await {
            tracing::warn!(error = %e, "the metrics server stopped");
        }
    });
    Ok(metrics)
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    use axum::http::header;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let m = metrics.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    m.encode(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_histograms_and_build_info_are_exposed() {
        let m = Metrics::new();
        let entry = crate::locust::codec::StatsEntry {
            name: "home".into(),
            method: "GET".into(),
            last_request_timestamp: Some(1.0),
            start_time: 0.0,
            num_requests: 3,
            num_none_requests: 0,
            num_failures: 1,
            total_response_time: 30.0,
            max_response_time: 20.0,
            min_response_time: Some(5.0),
            total_content_length: 0,
            response_times: [(5, 2), (20, 1)].into(),
            num_reqs_per_sec: Default::default(),
            num_fail_per_sec: Default::default(),
        };
        let report = StatsPayload {
            stats: vec![entry.clone()],
            stats_total: entry,
            errors: Default::default(),
            user_classes_count: Default::default(),
            user_count: 7,
        };
        m.observe(&report);
        m.observe(&report);
        let text = m.encode();
        assert!(
            text.contains(r#"locust_http_worker_sent_requests_total{method="GET",name="home"} 6"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"locust_http_worker_failed_requests_total{method="GET",name="home"} 2"#
            )
        );
        assert!(text.contains(
            r#"locust_http_worker_response_time_seconds_bucket{le="0.005",method="GET",name="home"} 4"#
        ));
        assert!(text.contains(
            r#"locust_http_worker_response_time_seconds_count{method="GET",name="home"} 6"#
        ));
        assert!(text.contains("locust_http_worker_running_users 7"));
        assert!(text.contains("locust_http_worker_build_info{version="));
    }
}
