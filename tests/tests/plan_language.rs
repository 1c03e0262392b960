//! The plan language end to end: templates, correlation, assertions, sessions, setup, data,
//! transaction rows, the rate cap and `--once`, checked against a real master and target.

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::*;
use serde_json::json;

fn shop() -> std::path::PathBuf {
    root().join("examples/shop.json")
}

/// Runs a headless master with `workers` workers on `plan` against `target`; returns the
/// master once it exited cleanly (exit code checked by the caller).
async fn headless(
    dir: &std::path::Path,
    plan: &std::path::Path,
    target: &Target,
    users: u32,
    run_time: &str,
) -> (Master, std::process::ExitStatus) {
    let mut opts = MasterOpts::headless(users, f64::from(users), run_time);
    opts.host = Some(target.url());
    let mut master = Master::start(dir, "master", opts).await;
    let mut worker = run_worker(dir, "worker", plan, master.opts.bind_port, &[]);
    let status = master.proc.wait(Duration::from_secs(60)).await;
    let w = worker.wait(Duration::from_secs(10)).await;
    assert!(w.success(), "worker exit {w:?}: {}", worker.log_text());
    (master, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correlated_token_flow_has_zero_failures_and_exact_counts() {
    let dir = test_dir("correlated_token_flow");
    let target = Target::start(TargetConfig {
        require_token: true,
        ..TargetConfig::default()
    })
    .await;
    let (master, status) = headless(&dir, &shop(), &target, 10, "6s").await;
    assert!(status.success(), "master: {}", master.proc.log_text());
    let rows = master.stats_csv();
    let counts = target.counts();
    assert!(counts["POST /orders"] > 0, "{counts:?}");
    assert_eq!(row(&rows, "home").requests, counts["GET /"]);
    assert_eq!(row(&rows, "login").requests, counts["POST /login"]);
    assert_eq!(row(&rows, "order").requests, counts["POST /orders"]);
    assert_eq!(row(&rows, "Aggregated").requests, target.total());
    assert_eq!(row(&rows, "Aggregated").failures, 0);
    // The target agrees: every order carried a token it had issued.
    assert!(target.failures().is_empty(), "{:?}", target.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fourth_request_failing_shows_exactly_that_many_failures() {
    let dir = test_dir("every_fourth_fails");
    let target = Target::start(TargetConfig {
        fail_every: Some(4),
        ..TargetConfig::default()
    })
    .await;
    let plan = write_plan(
        &dir,
        "ping.json",
        &json!({"name": "ping", "host": "http://127.0.0.1:1",
            "transactions": [{"name": "t", "steps": [{"name": "ping", "method": "GET", "url": "/ping"}]}]}),
    );
    let (master, status) = headless(&dir, &plan, &target, 5, "5s").await;
    assert_eq!(
        status.code(),
        Some(1),
        "failures make a headless master exit 1"
    );
    let rows = master.stats_csv();
    let served = target.count("GET /ping");
    let failed = target.failures().get("GET /ping").copied().unwrap_or(0);
    assert!(failed > 0);
    assert_eq!(served / 4, failed);
    assert_eq!(row(&rows, "ping").requests, served);
    assert_eq!(row(&rows, "ping").failures, failed);
    let failures = master.failures_csv();
    assert!(
        failures.contains(&format!("GET,ping,HTTP 500 Internal Server Error,{failed}")),
        "{failures}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_session_data_and_transaction_rows() {
    let dir = test_dir("setup_session_data");
    let target = Target::start(TargetConfig::default()).await;
    let plan = write_plan(
        &dir,
        "journey.json",
        &json!({
            "name": "journey", "session": true, "report_transactions": true,
            "think_time": {"constant": "100ms"},
            "data": {"csv": "user\nann\nbob\ncat\n", "order": "sequential", "per": "user"},
            "setup": [{"name": "login", "method": "POST", "url": "/login", "json": {"user": "{{user}}"},
                       "extract": [{"var": "token", "json": "$.token"}]}],
            "transactions": [{"name": "me", "steps": [
                {"name": "whoami", "method": "GET", "url": "/whoami", "assert": [{"status": 200}]},
                {"name": "order", "method": "POST", "url": "/orders", "headers": {"Authorization": "Bearer {{token}}"},
                 "assert": [{"status": 201}]}]}]
        }),
    );
    let (master, status) = headless(&dir, &plan, &target, 5, "4s").await;
    assert!(status.success(), "master: {}", master.proc.log_text());
    let rows = master.stats_csv();
    // Setup ran exactly once per user, with rows handed out in order.
    let mut logins: BTreeMap<String, u32> = BTreeMap::new();
    for u in target.logins() {
        *logins.entry(u).or_default() += 1;
    }
    assert_eq!(
        logins,
        BTreeMap::from([("ann".into(), 2), ("bob".into(), 2), ("cat".into(), 1)])
    );
    assert_eq!(row(&rows, "login").requests, 5);
    // The cookie from login came back on every whoami (401 otherwise).
    assert_eq!(row(&rows, "whoami").failures, 0);
    assert_eq!(row(&rows, "whoami").requests, target.count("GET /whoami"));
    // One TXN row per completed transaction.
    let txn = rows
        .iter()
        .find(|r| r.method == "TXN" && r.name == "me")
        .expect("TXN row");
    assert_eq!(txn.requests, target.count("POST /orders"));
    assert_eq!(txn.failures, 0);
    assert_eq!(
        row(&rows, "Aggregated").requests,
        target.total() + txn.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_cap_holds_across_users() {
    let dir = test_dir("rate_cap");
    let target = Target::start(TargetConfig::default()).await;
    let plan = write_plan(
        &dir,
        "capped.json",
        &json!({"name": "capped", "max_rps": 20,
            "transactions": [{"name": "t", "steps": [{"name": "ping", "method": "GET", "url": "/ping"}]}]}),
    );
    let (master, status) = headless(&dir, &plan, &target, 20, "5s").await;
    assert!(status.success(), "master: {}", master.proc.log_text());
    let served = target.count("GET /ping");
    // 20 users without a cap would send thousands; with it, about 20/s for about 5 s.
    assert!((50..=140).contains(&served), "served {served}");
    assert_eq!(row(&master.stats_csv(), "ping").requests, served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_prints_every_step_and_its_exit_code_tells() {
    let target = Target::start(TargetConfig {
        require_token: true,
        ..TargetConfig::default()
    })
    .await;
    let out = tokio::process::Command::new(bin("worker"))
        .arg("run")
        .arg(shop())
        .args(["--once", "--host", &target.url()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "PASS home",
        "PASS login",
        "PASS order",
        "= token = \"t",
        "ok   assert status 201",
        "Bearer <redacted>",
        "3 steps, 0 failed",
    ] {
        assert!(stdout.contains(want), "{want:?} not in\n{stdout}");
    }
    assert_eq!(target.count("POST /orders"), 1);

    // A port nothing listens on (if another process took it meanwhile, the run would not fail).
    let dead = format!("http://127.0.0.1:{}", free_port());
    let out = tokio::process::Command::new(bin("worker"))
        .arg("run")
        .arg(shop())
        .args(["--once", "--host", &dead])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("connect error: connection refused"),
        "{stdout}"
    );
}

#[tokio::test]
async fn examples_match_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("proto/plan.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut seen = 0;
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let plan: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&plan)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 2);
    let bad = json!({"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "FETCH", "url": "/"}]}]});
    assert!(!validator.is_valid(&bad));
}
