//! `master-bridge run --bridge-url` for CI pipelines: the run goes through a running bridge
//! (with its web login), so it is stored in the bridge's history; thresholds give the documented
//! exit codes (0 passed, 99 breached), a breach is recorded on the run (which threshold, by how
//! much), and the JUnit file names it; `--html` saves the master's report.

use std::time::Duration;

use integration_tests::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_through_the_bridge_is_in_its_history_and_thresholds_decide_the_exit_code() {
    let cluster = Cluster::start(
        "ci_bridge_url",
        ClusterSpec {
            etcd: true,
            // Every answer takes at least 30 ms: p95 < 1 ms cannot hold.
            target: Some(TargetConfig {
                delay: Some(Duration::from_millis(30)),
                ..TargetConfig::default()
            }),
            master: Some(MasterOpts::web()),
            workers: 1,
            ..ClusterSpec::default()
        },
    )
    .await;
    // The bridge with a web login (the cluster's own readiness checks do not log in); the
    // one-shot waits for the worker through it.
    let bridge = BridgeProc::start(
        &cluster.dir,
        "bridge",
        cluster.etcd(),
        cluster.master(),
        &["--web-auth", "ci:s3cret"],
    )
    .await;
    let (dir, bridge, target) = (&cluster.dir, &bridge, cluster.target());
    let auth_file = dir.join("bridge-auth");
    std::fs::write(&auth_file, "ci:s3cret\n").unwrap();
    let plan_file = write_plan(dir, "shop-ci.json", &shop_plan(target));
    let one_shot = |name: &str, threshold: &str| {
        let mut cmd = tokio::process::Command::new(bin("master-bridge"));
        cmd.arg("run")
            .arg(&plan_file)
            .args(["-u", "2", "-r", "2", "-t", "3s", "--threshold", threshold])
            .args(["--bridge-url", &bridge.url("")])
            .arg("--web-auth-file")
            .arg(&auth_file)
            .arg("--junit")
            .arg(dir.join(format!("{name}.junit.xml")))
            .arg("--summary-json")
            .arg(dir.join(format!("{name}.summary.json")))
            .arg("--html")
            .arg(dir.join(format!("{name}.html")))
            .env_remove("LOCUST_HTTP_ETCD")
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        cmd.output()
    };
    let limit = Duration::from_secs(90);
    let out = tokio::time::timeout(limit, one_shot("pass", "p95<5s"))
        .await
        .expect("the run ended within 90 s")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("PASS p95<5s"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("pass.html")).unwrap();
    assert!(
        html.contains("<html") && html.contains("home"),
        "{html:.500}"
    );

    let out = tokio::time::timeout(limit, one_shot("breach", "p95<1ms"))
        .await
        .expect("the run ended within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(99),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("FAIL p95<1ms"), "{stdout}");
    let junit = std::fs::read_to_string(dir.join("breach.junit.xml")).unwrap();
    assert!(
        junit.contains("name=\"p95&lt;1ms\"") && junit.contains("<failure message=\"p95&lt;1ms"),
        "{junit}"
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("breach.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["outcome"], "thresholds_breached", "{summary}");

    // Both runs are in the bridge's history (newest first); the breach is recorded on its run.
    let http = reqwest::Client::new();
    let runs: Value = http
        .get(bridge.url("/api/runs"))
        .basic_auth("ci", Some("s3cret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{runs:?}");
    let (breach, pass) = (&runs[0], &runs[1]);
    assert_eq!(pass["state"], "finished", "{pass}");
    assert_eq!(pass["thresholds"][0]["passed"], true, "{pass}");
    assert_eq!(pass["request"]["thresholds"][0], "p95<5s", "{pass}");
    assert_eq!(breach["state"], "failed", "{breach}");
    let verdict = &breach["thresholds"][0];
    assert_eq!(
        (&verdict["threshold"], &verdict["passed"]),
        (&Value::from("p95<1ms"), &Value::from(false)),
        "{breach}"
    );
    assert!(verdict["actual"].as_f64().unwrap() >= 30.0, "{breach}");
    let error = breach["error"].as_str().unwrap();
    assert!(
        error.starts_with("thresholds breached: ")
            && error.contains("p95")
            && error.contains("by "),
        "{error}"
    );
    assert!(
        run_row(breach, "Aggregated")["num_requests"]
            .as_u64()
            .unwrap()
            > 0
    );

    // A bridge that refuses the login: could not run (exit 3), the reason printed.
    std::fs::write(&auth_file, "ci:wrong\n").unwrap();
    let out = tokio::time::timeout(limit, one_shot("denied", "p95<5s"))
        .await
        .expect("the run ended within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("401"), "{stdout}");

    // Interrupted (SIGINT, as CI cancels a job): the run on the bridge is stopped and recorded
    // `stopped` with its statistics so far, and the one-shot reports it.
    std::fs::write(&auth_file, "ci:s3cret\n").unwrap();
    let child = tokio::process::Command::new(bin("master-bridge"))
        .arg("run")
        .arg(&plan_file)
        .args(["-u", "2", "-r", "2", "-t", "5m"])
        .args(["--bridge-url", &bridge.url("")])
        .arg("--web-auth-file")
        .arg(&auth_file)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let runs_now = || async {
        http.get(bridge.url("/api/runs"))
            .basic_auth("ci", Some("s3cret"))
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()
    };
    let id = eventually(Duration::from_secs(30), "the third run going", || async {
        let runs = runs_now().await?;
        let newest = runs.as_array()?.first()?.clone();
        (runs.as_array()?.len() == 3 && newest["state"] == "running")
            .then(|| newest["id"].as_str().map(str::to_string))
            .flatten()
    })
    .await;
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .expect("the interrupted one-shot ended within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("run {id}: stopped")), "{stdout}");
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let runs = runs_now().await.unwrap();
    assert_eq!(runs[0]["state"], "stopped", "{runs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_can_be_json() {
    let dir = test_dir("ci_json_logs");
    let mut cmd = std::process::Command::new(bin("master-bridge"));
    cmd.args(["demo-target", "--port", "0"])
        .env("LOCUST_HTTP_LOG_FORMAT", "json");
    let mut demo = Proc::spawn(cmd, &dir, "demo");
    let line = eventually(Duration::from_secs(20), "a log line", || async {
        let text = demo.log_text();
        text.lines().next().map(str::to_string)
    })
    .await;
    let entry: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(entry["level"], "INFO", "{entry}");
    assert!(entry["fields"]["message"].is_string(), "{entry}");
    demo.signal("TERM");
    demo.wait(Duration::from_secs(10)).await;
}

/// A run started from the UI or the API is judged by the thresholds written in its plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_run_is_judged_by_the_thresholds_in_its_plan() {
    let cluster = Cluster::start(
        "ci_plan_thresholds",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig {
                delay: Some(Duration::from_millis(30)),
                ..TargetConfig::default()
            }),
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            workers: 1,
            ..ClusterSpec::default()
        },
    )
    .await;
    let bridge = cluster.bridge();
    let mut plan = shop_plan(cluster.target());
    plan["thresholds"] = serde_json::json!(["p95<1ms"]);
    let (status, saved) = bridge.post("/api/plans", &plan).await;
    assert_eq!(status, 201, "{saved}");
    let (status, run) = bridge
        .post(
            "/api/runs",
            &serde_json::json!({"plan": saved["id"], "users": 2, "spawn_rate": 2, "run_time": "3s"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let run = bridge
        .wait_run(run["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(run["state"], "failed", "{run}");
    assert_eq!(run["thresholds"][0]["threshold"], "p95<1ms", "{run}");
    assert_eq!(run["thresholds"][0]["passed"], false, "{run}");
}
