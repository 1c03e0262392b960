//! The bridge's `/metrics` with the real parts: `promtool check metrics` accepts it, a real
//! Prometheus (Debian's package) scrapes a running fleet and every query of the Grafana
//! dashboard in `deploy/grafana/` returns data, and the request counters do not go backwards when
//! the master's statistics are reset.

use std::process::Stdio;
use std::time::Duration;

use integration_tests::*;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// The samples of one metric family as `(labels, value)`.
fn samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let labels = match series.split_once('{') {
                Some((n, rest)) if n == name => rest.trim_end_matches('}').to_string(),
                None if series == name => String::new(),
                _ => return None,
            };
            Some((labels, value.parse().ok()?))
        })
        .collect()
}

fn total(text: &str, name: &str) -> f64 {
    samples(text, name).iter().map(|(_, v)| v).sum()
}

async fn metrics_text(bridge: &BridgeProc) -> String {
    reqwest::get(bridge.url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("body")
}

/// `promtool check metrics` on `text`: its exit status and output.
async fn promtool_check(text: &str) -> (bool, String) {
    let mut child = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("promtool (Debian package prometheus; run scripts/setup.sh)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("promtool ended within 30 s")
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A Prometheus scraping `target` every second, on a free port (it cannot report port 0).
async fn prometheus(dir: &std::path::Path, target: &str) -> (Proc, String) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: bridge\n    static_configs:\n      - targets: [\"{target}\"]\n"
        ),
    )
    .unwrap();
    let http = reqwest::Client::new();
    for attempt in 0..5 {
        let port = free_port();
        let mut cmd = tokio::process::Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join(format!("prom-data-{attempt}")).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let mut proc = Proc::spawn(cmd.into_std(), dir, &format!("prometheus-{attempt}"));
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http
                .get(format!("{base}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return (proc, base);
            }
            if proc.exited().is_some() || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            proc.log_text().contains("address already in use"),
            "prometheus did not start: {}",
            proc.log_text()
        );
    }
    panic!("prometheus could not bind a port in 5 attempts");
}

/// Every PromQL expression of the dashboard, `$__rate_interval` made concrete.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("deploy/grafana/locust-http.json"))
        .expect("deploy/grafana/locust-http.json");
    let dash: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let queries: Vec<String> = dash["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| {
            t["expr"]
                .as_str()
                .expect("every target has an expr")
                .replace("$__rate_interval", "30s")
        })
        .collect();
    assert!(queries.len() >= 10, "{queries:?}");
    queries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_bridge_and_every_dashboard_query_has_data() {
    let cluster = Cluster::start(
        "metrics_prometheus",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig {
                fail_every: Some(10),
                ..TargetConfig::default()
            }),
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            workers: 2,
            ..ClusterSpec::default()
        },
    )
    .await;
    let (bridge, master, target) = (cluster.bridge(), cluster.master(), cluster.target());

    // Before any run: well-formed, build info, no request series yet.
    let idle = metrics_text(bridge).await;
    let (ok, said) = promtool_check(&idle).await;
    assert!(ok, "promtool check metrics: {said}\n{idle}");
    assert_eq!(
        samples(&idle, "locust_http_build_info"),
        [(format!("version=\"{}\"", env!("CARGO_PKG_VERSION")), 1.0)]
    );
    assert!(
        idle.contains("locust_http_run_state{state=\"idle\"} 1"),
        "{idle}"
    );
    assert!(
        !idle.contains("requests_per_second"),
        "the rate gauge is gone"
    );

    let (_, plan) = bridge.post("/api/plans", &shop_plan(target)).await;
    let (status, run) = bridge
        .post(
            "/api/runs",
            &json!({"plan": plan["id"], "users": 4, "spawn_rate": 4, "run_time": "8s"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let text = eventually(
        Duration::from_secs(30),
        "per-endpoint counters and percentiles in /metrics",
        || async {
            let t = metrics_text(bridge).await;
            (total(&t, "locust_http_requests_total") > 0.0
                && total(&t, "locust_http_failures_total") > 0.0
                && t.contains("locust_http_response_time_seconds{method=\"GET\",name=\"home\",quantile=\"0.95\"}")
                && t.contains("locust_http_run_state{state=\"running\"} 1"))
            .then_some(t)
        },
    )
    .await;
    let (ok, said) = promtool_check(&text).await;
    assert!(ok, "promtool check metrics: {said}\n{text}");
    assert!(
        !samples(&text, "locust_http_workers_by_state").is_empty(),
        "{text}"
    );

    let (_prom, prom) = prometheus(&cluster.dir, &format!("127.0.0.1:{}", bridge.port)).await;
    let http = reqwest::Client::new();
    let queries = dashboard_queries();
    for q in &queries {
        eventually(
            Duration::from_secs(40),
            &format!("data for {q}"),
            || async {
                let r: Value = http
                    .get(format!("{prom}/api/v1/query"))
                    .query(&[("query", q.as_str())])
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                assert_eq!(r["status"], "success", "{q}: {r}");
                (!r["data"]["result"].as_array()?.is_empty()).then_some(())
            },
        )
        .await;
    }

    // The run ends; the totals are the master's final numbers, accumulated. (They can exceed
    // what the target served by the requests that failed before they were sent, such as an
    // order whose token a failed login never extracted: the master counts those failures.)
    let run = bridge
        .wait_run(run["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(run["state"], "finished", "{run}");
    let master_total = master
        .get_json("/stats/requests")
        .await
        .and_then(|s| s["stats"].as_array()?.last()?["num_requests"].as_u64())
        .expect("the master's final total");
    assert!(master_total >= target.total() && master_total > 0);
    let settled = eventually(
        Duration::from_secs(15),
        "the counters to reach the master's final totals",
        || async {
            let t = metrics_text(bridge).await;
            (total(&t, "locust_http_requests_total") as u64 == master_total).then_some(t)
        },
    )
    .await;
    let before = total(&settled, "locust_http_requests_total");
    // The master's statistics reset to zero: the counters do not go backwards.
    let reset = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/stats/reset",
            master.opts.web_port
        ))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "{reset:?}");
    eventually(
        Duration::from_secs(15),
        "the master's statistics to be reset",
        || async {
            let s = master.get_json("/stats/requests").await?;
            (s["stats"].as_array()?.last()?["num_requests"].as_u64()? == 0).then_some(())
        },
    )
    .await;
    // Two readings of the bridge later (it reads every 2 s), the totals are the same.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = metrics_text(bridge).await;
    assert_eq!(
        total(&after, "locust_http_requests_total"),
        before,
        "{after}"
    );
    for (labels, value) in samples(&settled, "locust_http_requests_total") {
        let now = samples(&after, "locust_http_requests_total")
            .into_iter()
            .find(|(l, _)| *l == labels)
            .map(|(_, v)| v);
        assert_eq!(now, Some(value), "{labels}");
    }
}

/// A worker killed and started again at the same address mid-run: its counter on the bridge's
/// `/metrics` never goes backwards (the new process counts from zero; the bridge adds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_worker_counters_survive_a_worker_restart() {
    let cluster = Cluster::start(
        "metrics_worker_restart",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            ..ClusterSpec::default()
        },
    )
    .await;
    let bridge = cluster.bridge();
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let start = |name: &str| {
        let mut cmd = std::process::Command::new(bin("worker"));
        cmd.args(["--etcd-addr", &cluster.etcd().endpoint()])
            .args(["--advertise", "127.0.0.1", "--port", &port.to_string()])
            .env("LOCUST_HTTP_TOKEN", FLEET_TOKEN)
            .env("NO_COLOR", "1");
        Proc::spawn(cmd, &cluster.dir, name)
    };
    let mut first = start("w-first");
    let series = format!("locust_http_worker_requests_total{{address=\"{address}\"}}");
    let value = |text: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(&series))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    eventually(
        Duration::from_secs(20),
        "the bridge to list the worker",
        || async {
            let w = bridge.workers().await;
            w.iter()
                .any(|w| w["address"] == address.as_str())
                .then_some(())
        },
    )
    .await;
    let (_, plan) = bridge
        .post("/api/plans", &shop_plan(cluster.target()))
        .await;
    let (status, run) = bridge
        .post(
            "/api/runs",
            &json!({"plan": plan["id"], "users": 2, "spawn_rate": 2, "run_time": "40s"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let before = eventually(
        Duration::from_secs(20),
        "requests counted for the worker",
        || async { value(&metrics_text(bridge).await).filter(|v| *v > 0.0) },
    )
    .await;
    first.signal("KILL");
    first.wait(Duration::from_secs(10)).await;
    let _second = start("w-second");
    // Until the new process has counted more than the old one did, every reading is at least
    // the old total.
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    let mut highest = before;
    loop {
        let now = value(&metrics_text(bridge).await).unwrap_or(0.0);
        assert!(now >= highest, "the counter went back: {highest} -> {now}");
        highest = now;
        if now > before * 2.0 + 10.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no new requests counted after the restart ({now})"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = bridge
        .post(
            &format!("/api/runs/{}/stop", run["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
}
