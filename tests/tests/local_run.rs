//! `worker run PLAN --headless`: a load test without a master. Its CSV files have Locust's
//! columns (compared with a real master's files) and counts equal to what the target served;
//! thresholds decide the exit code.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use integration_tests::*;

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn headless(dir: &Path, name: &str, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut cmd = Command::new(bin("worker"));
    cmd.arg("run").args(args).env("NO_COLOR", "1");
    let mut p = Proc::spawn(cmd, dir, name);
    let status = p.wait(Duration::from_secs(60)).await;
    (status, p.log_text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_csvs_have_locusts_columns_and_the_targets_counts() {
    let dir = test_dir("local_headless");
    let target = Target::start(TargetConfig::default()).await;
    let shop = root().join("examples/shop.json");
    let prefix = dir.join("local");
    let (status, log) = headless(
        &dir,
        "local",
        &[
            shop.to_str().unwrap(),
            "--host",
            &target.url(),
            "--headless",
            "-u",
            "10",
            "-r",
            "20",
            "-t",
            "4s",
            "--csv",
            prefix.to_str().unwrap(),
        ],
    )
    .await;
    assert!(status.success(), "exit {status:?}: {log}");
    assert!(log.contains("Response time percentiles"), "{log}");
    let rows = parse_stats_csv(&std::fs::read_to_string(dir.join("local_stats.csv")).unwrap());
    let counts = target.counts();
    let served = |k: &str| counts.get(k).copied().unwrap_or(0);
    assert!(served("GET /") > 0);
    assert_eq!(row(&rows, "home").requests, served("GET /"));
    assert_eq!(row(&rows, "login").requests, served("POST /login"));
    assert_eq!(row(&rows, "order").requests, served("POST /orders"));
    assert_eq!(row(&rows, "Aggregated").requests, target.total());
    assert_eq!(row(&rows, "Aggregated").failures, 0);

    // The same files from a real master: the same columns.
    let master_target = Target::start(TargetConfig::default()).await;
    let mut master = Master::start(&dir, "master", MasterOpts::headless(2, 2.0, "2s")).await;
    let mut worker = run_worker(
        &dir,
        "worker",
        &shop,
        master.opts.bind_port,
        &["--host", &master_target.url()],
    );
    master.proc.wait(Duration::from_secs(40)).await;
    worker.wait(Duration::from_secs(10)).await;
    for suffix in [
        "_stats.csv",
        "_stats_history.csv",
        "_failures.csv",
        "_exceptions.csv",
    ] {
        let ours = first_line(&dir.join(format!("local{suffix}")));
        let theirs = first_line(&dir.join(format!("master-res{suffix}")));
        assert_eq!(ours, theirs, "{suffix} header");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_thresholds_decide_the_exit_code() {
    let dir = test_dir("local_thresholds");
    let target = Target::start(TargetConfig {
        delay: Some(Duration::from_millis(30)),
        ..TargetConfig::default()
    })
    .await;
    let shop = root().join("examples/shop.json");
    let junit = dir.join("junit.xml");
    let summary = dir.join("summary.json");
    let base = [
        shop.to_str().unwrap().to_string(),
        "--host".into(),
        target.url(),
        "--headless".into(),
        "-u".into(),
        "4".into(),
        "-t".into(),
        "2s".into(),
    ];
    let mut breach: Vec<&str> = base.iter().map(String::as_str).collect();
    breach.extend([
        "--threshold",
        "p95<5ms",
        "--junit",
        junit.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let (status, log) = headless(&dir, "breach", &breach).await;
    assert_eq!(status.code(), Some(99), "{log}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("p95&lt;5ms"), "{xml}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["exit_code"], 99);
    let mut pass: Vec<&str> = base.iter().map(String::as_str).collect();
    pass.extend(["--threshold", "p95<5s"]);
    let (status, log) = headless(&dir, "pass", &pass).await;
    assert_eq!(status.code(), Some(0), "{log}");
    // A bad flag: one line, exit 2; a missing -u: a clear error, non-zero.
    let (status, log) = headless(&dir, "badflag", &["x.json", "-u", "3"]).await;
    assert_eq!(status.code(), Some(2), "{log}");
    let (status, log) = headless(&dir, "nousers", &[shop.to_str().unwrap(), "--headless"]).await;
    assert!(!status.success());
    assert!(log.contains("--users"), "{log}");
}

/// `--metrics-addr`: the worker's `/metrics` in the Prometheus text format (checked by
/// `promtool` when it is installed, as scripts/setup.sh does), counters that only grow, and a
/// users gauge equal to the users running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_metrics_count_requests_and_users() {
    let dir = test_dir("worker_metrics");
    let target = Target::start(TargetConfig::default()).await;
    let shop = root().join("examples/shop.json");
    let mut cmd = Command::new(bin("worker"));
    cmd.arg("run")
        .arg(&shop)
        .args([
            "--host",
            &target.url(),
            "--headless",
            "-u",
            "3",
            "-t",
            "12s",
        ])
        .args(["--metrics-addr", "127.0.0.1:0"])
        .env("NO_COLOR", "1");
    let mut p = Proc::spawn(cmd, &dir, "worker");
    let addr = p.listening("metrics").await;
    let http = reqwest::Client::new();
    let scrape = || async {
        http.get(format!("http://{addr}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    };
    let value = |text: &str, series: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    let home = r#"locust_http_worker_sent_requests_total{method="GET",name="home"}"#;
    let first = eventually(Duration::from_secs(10), "requests in /metrics", || async {
        let text = scrape().await?;
        (value(&text, home)? > 0.0).then_some(text)
    })
    .await;
    assert_eq!(
        value(&first, "locust_http_worker_running_users"),
        Some(3.0),
        "{first}"
    );
    assert!(first.contains("locust_http_worker_response_time_seconds_bucket{"));
    assert!(first.contains("locust_http_worker_build_info{"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let second = scrape().await.expect("second scrape");
    assert!(value(&second, home) > value(&first, home), "counters grow");
    if let Ok(out) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        let mut child = out;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(second.as_bytes())
            .unwrap();
        let r = child.wait_with_output().unwrap();
        assert!(
            r.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        );
    } else {
        eprintln!("promtool not installed: the format check was skipped");
    }
    let status = p.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
}

/// Thresholds written in the plan are judged like `--threshold`s, and a bad one is a plan error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_in_the_plan_decide_the_exit_code_too() {
    let dir = test_dir("plan_thresholds");
    let target = Target::start(TargetConfig {
        delay: Some(Duration::from_millis(30)),
        ..TargetConfig::default()
    })
    .await;
    let plan = |thresholds: serde_json::Value| {
        write_plan(
            &dir,
            "t.json",
            &serde_json::json!({"name": "t", "host": target.url(), "thresholds": thresholds,
                "transactions": [{"name": "t",
                    "steps": [{"name": "home", "method": "GET", "url": "/"}]}]}),
        )
    };
    let p = plan(serde_json::json!(["p95<5ms"]));
    let args = [p.to_str().unwrap(), "--headless", "-u", "2", "-t", "2s"];
    let (status, log) = headless(&dir, "breach", &args).await;
    assert_eq!(status.code(), Some(99), "{log}");
    assert!(log.contains("p95<5ms"), "{log}");
    let p = plan(serde_json::json!(["p95<5s", "fail_ratio<1%"]));
    let args = [p.to_str().unwrap(), "--headless", "-u", "2", "-t", "2s"];
    let (status, log) = headless(&dir, "pass", &args).await;
    assert_eq!(status.code(), Some(0), "{log}");
    let p = plan(serde_json::json!(["p95 less than 5"]));
    let args = [p.to_str().unwrap(), "--headless", "-u", "2", "-t", "2s"];
    let (status, log) = headless(&dir, "bad", &args).await;
    assert!(!status.success());
    assert!(log.contains("thresholds[0]"), "{log}");
}

/// `--stage`: after `-u 3 -t 2s`, a stage ramps to 6 users; the history file shows both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_stages_change_the_users() {
    let dir = test_dir("local_stages");
    let target = Target::start(TargetConfig::default()).await;
    let shop = root().join("examples/shop.json");
    let prefix = dir.join("staged");
    let args = [
        shop.to_str().unwrap(),
        "--target",
        &target.url(),
        "--headless",
        "-u",
        "3",
        "-t",
        "3s",
        "--stage",
        "3s:6:10",
        "--csv",
        prefix.to_str().unwrap(),
    ];
    let (status, log) = headless(&dir, "staged", &args).await;
    assert!(status.success(), "{log}");
    let history = std::fs::read_to_string(dir.join("staged_stats_history.csv")).unwrap();
    let users: Vec<u64> = history
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.parse().ok())
        .collect();
    assert!(users.contains(&3), "{users:?}");
    assert!(users.contains(&6), "{users:?}");
    assert_eq!(users.iter().max(), Some(&6), "{users:?}");
}
