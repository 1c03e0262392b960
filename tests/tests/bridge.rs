//! The master-bridge with the real parts: etcd, a Locust master, workers and a target.

use std::time::{Duration, Instant};

use integration_tests::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stores_exact_totals_and_a_late_worker_joins_it() {
    let cluster = Cluster::start(
        "bridge_run",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            workers: 2,
            ..ClusterSpec::default()
        },
    )
    .await;
    let (dir, etcd, target) = (&cluster.dir, cluster.etcd(), cluster.target());
    let (master, bridge) = (cluster.master(), cluster.bridge());
    assert_eq!(bridge.workers().await.len(), 2);

    // A bad plan: 422, every wrong field named, nothing stored or pushed.
    let (status, err) = bridge
        .post("/api/plans", &json!({"name": "x", "transactions": [{"name": "t", "weight": 0, "steps": [{"name": "s", "method": "FETCH", "url": "/"}]}]}))
        .await;
    assert_eq!(status, 422);
    let paths: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["transactions[0].weight", "transactions[0].steps[0].method"]
    );
    assert_eq!(bridge.get("/api/plans").await.1, json!([]));

    let (status, plan) = bridge.post("/api/plans", &shop_plan(target)).await;
    assert_eq!(status, 201, "{plan}");
    let (status, run) = bridge
        .post(
            "/api/runs",
            &json!({"plan": plan["id"], "users": 10, "spawn_rate": 10, "run_time": "15s"}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(20), "10 users running", || async {
        let s = master.get_json("/stats/requests").await?;
        (s["user_count"].as_u64()? == 10).then_some(())
    })
    .await;

    // A third worker joins mid-run: listed within 2 s, gets the plan with no call, takes users.
    // (Timed from the moment it listens, which it logs just before registering.)
    let w3 = FleetWorker::start(dir, "w3", &etcd.endpoint(), &[]).await;
    let joined = Instant::now();
    eventually(
        Duration::from_secs(5),
        "the third worker in /api/workers",
        || async { (bridge.workers().await.len() == 3).then_some(()) },
    )
    .await;
    assert!(
        joined.elapsed() < Duration::from_secs(2) + Duration::from_millis(800),
        "{:?}",
        joined.elapsed()
    );
    eventually(
        Duration::from_secs(10),
        "users spread over three workers",
        || async {
            let s = master.get_json("/stats/requests").await?;
            let workers = s["workers"].as_array()?;
            (workers.len() == 3
                && workers
                    .iter()
                    .all(|w| w["user_count"].as_u64().unwrap_or(0) > 0))
            .then_some(())
        },
    )
    .await;
    // The bridge polls each worker's status every second: the late worker's plan shows there.
    let w3_address = format!("127.0.0.1:{}", w3.port);
    eventually(
        Duration::from_secs(10),
        "the bridge to show the late worker's plan",
        || async {
            let w = bridge
                .workers()
                .await
                .into_iter()
                .find(|w| w["address"] == w3_address.as_str())?;
            (w["plan"] == "shop").then_some(())
        },
    )
    .await;

    let run = bridge.wait_run(&run_id, Duration::from_secs(60)).await;
    assert_eq!(run["state"], "finished", "{run}");
    let counts = target.counts();
    assert_eq!(run_row(&run, "home")["num_requests"], counts["GET /"]);
    assert_eq!(
        run_row(&run, "login")["num_requests"],
        counts["POST /login"]
    );
    assert_eq!(
        run_row(&run, "order")["num_requests"],
        counts["POST /orders"]
    );
    let agg = run_row(&run, "Aggregated");
    assert_eq!(agg["num_requests"], target.total());
    assert_eq!(agg["num_failures"], 0);
    assert!(run_row(&run, "home")["response_time_percentile_0.99"].is_number());
    // The same totals as the master's own CSV (written every second or so).
    let csv = eventually(
        Duration::from_secs(15),
        "the master's CSV with the final totals",
        || async {
            let path = format!("{}_stats.csv", master.csv_prefix.display());
            let rows = parse_stats_csv(&std::fs::read_to_string(path).ok()?);
            let agg = rows.iter().find(|r| r.name == "Aggregated")?;
            (agg.requests == target.total()).then_some(rows)
        },
    )
    .await;
    assert_eq!(row(&csv, "Aggregated").requests, target.total());
    assert_eq!(row(&csv, "home").requests, counts["GET /"]);
    // Metrics.
    let metrics = reqwest::get(bridge.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("locust_http_workers 3"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pools_stages_one_shots_and_a_killed_bridge() {
    // Workers that require a token; the bridge has it.
    let token = ["--worker-token", "a-fleet-secret-of-thirty-two-chars"];
    let mut cluster = Cluster::start(
        "bridge_pools_stages",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(MasterOpts::web()),
            bridge: Some(token.iter().map(|s| s.to_string()).collect()),
            ..ClusterSpec::default()
        },
    )
    .await;
    let a = cluster
        .add_worker(
            "a",
            &[
                "--label",
                "team=a",
                "--token",
                "a-fleet-secret-of-thirty-two-chars",
            ],
        )
        .await;
    let b = cluster
        .add_worker(
            "b",
            &[
                "--label",
                "team=b",
                "--token",
                "a-fleet-secret-of-thirty-two-chars",
            ],
        )
        .await;
    let (a, b) = (cluster.workers[a].port, cluster.workers[b].port);
    let Cluster {
        dir,
        etcd,
        target,
        master,
        bridge,
        workers: _workers,
    } = cluster;
    let (etcd, target, master) = (
        etcd.expect("etcd"),
        target.expect("target"),
        master.expect("master"),
    );
    let mut bridge = bridge.expect("bridge");
    assert_eq!(bridge.workers().await.len(), 2);
    let (_, plan) = bridge.post("/api/plans", &shop_plan(&target)).await;
    let id = plan["id"].as_str().unwrap().to_string();

    // Push to a pool: only team=a gets it.
    let (status, pushed) = bridge
        .post(
            &format!("/api/plans/{id}/push"),
            &json!({"labels": {"team": "a"}}),
        )
        .await;
    assert_eq!(status, 200, "{pushed}");
    let results = pushed["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["address"], format!("127.0.0.1:{}", a));
    assert_eq!(results[0]["ok"], true);
    eventually(Duration::from_secs(5), "statuses", || async {
        let ws = bridge.workers().await;
        let plan_of = |port: u16| {
            ws.iter()
                .find(|w| w["address"] == format!("127.0.0.1:{port}"))
                .map(|w| w["plan"].as_str().unwrap_or("").to_string())
        };
        (plan_of(a)? == "shop" && plan_of(b)?.is_empty()).then_some(())
    })
    .await;

    // The store survives SIGKILL of the bridge.
    bridge.proc.signal("KILL");
    bridge.proc.wait(Duration::from_secs(5)).await;
    let bridge = BridgeProc::start(&dir, "bridge2", &etcd, &master, &token).await;
    // The restarted bridge finds both workers again.
    eventually(Duration::from_secs(15), "two workers", || async {
        (bridge.workers().await.len() == 2).then_some(())
    })
    .await;
    let (status, again) = bridge.get(&format!("/api/plans/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(again["plan"], plan["plan"]);

    // Two stages on team=a: 2 users for 4 s, then 6 users for 4 s.
    let (status, run) = bridge
        .post(
            "/api/runs",
            &json!({"plan": id, "users": 2, "spawn_rate": 10, "run_time": "4s", "labels": {"team": "a"},
                    "stages": [{"duration": "4s", "users": 6, "spawn_rate": 10}]}),
        )
        .await;
    assert_eq!(status, 201, "{run}");
    let run_id = run["id"].as_str().unwrap().to_string();
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(s) = master.get_json("/stats/requests").await
            && let Some(u) = s["user_count"].as_u64()
        {
            seen.insert(u);
        }
        let (_, r) = bridge.get(&format!("/api/runs/{run_id}")).await;
        if r["state"] == "finished" || r["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        seen.contains(&2) && seen.contains(&6),
        "user counts seen: {seen:?}"
    );
    let run = bridge.wait_run(&run_id, Duration::from_secs(30)).await;
    assert_eq!(run["state"], "finished", "{run}");
    assert_eq!(run_row(&run, "Aggregated")["num_requests"], target.total());
    let (_, runs) = bridge.get("/api/runs").await;
    assert_eq!(runs.as_array().unwrap().len(), 1);

    // The one-shot `run` for CI pipelines: thresholds judged on the master's final numbers,
    // the summary printed with percentiles, JSON and JUnit written, a documented exit code.
    let plan_file = write_plan(&dir, "shop-here.json", &shop_plan(&target));
    let one_shot = |name: &str, thresholds: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin("master-bridge"));
        cmd.arg("run")
            .arg(&plan_file)
            .args(["-u", "3", "-r", "3", "-t", "3s", "--label", "team=a"])
            .args([
                "--etcd-addr",
                &etcd.endpoint(),
                "--master-host",
                "127.0.0.1",
            ])
            .args(["--master-port", &master.opts.bind_port.to_string()])
            .args([
                "--locust-web",
                &format!("http://127.0.0.1:{}", master.opts.web_port),
            ])
            .args(token)
            .arg("--data-dir")
            .arg(dir.join("oneshot-data"))
            .arg("--junit")
            .arg(dir.join(format!("{name}.junit.xml")))
            .arg("--summary-json")
            .arg(dir.join(format!("{name}.summary.json")))
            .arg("--html")
            .arg(dir.join(format!("{name}.html")))
            .kill_on_drop(true);
        for t in thresholds {
            cmd.args(["--threshold", t]);
        }
        cmd.output()
    };
    // Bounded: a one-shot that never ends must fail the test, not hang it.
    let limit = Duration::from_secs(90);
    let out = tokio::time::timeout(limit, one_shot("pass", &["p95<5s", "fail_ratio<0.5"]))
        .await
        .expect("the one-shot run ended within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("finished") && stdout.contains("Aggregated"),
        "{stdout}"
    );
    assert!(
        stdout.contains("PASS p95<5s") && stdout.contains("p95"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("pass.summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["outcome"], "passed");
    // The master's HTML report, saved by the local one-shot too.
    let html = std::fs::read_to_string(dir.join("pass.html")).unwrap();
    assert!(
        html.contains("<html") && html.contains("home"),
        "{html:.300}"
    );
    assert!(
        summary["aggregated"]["requests"].as_u64().unwrap() > 0,
        "{summary}"
    );
    // A threshold no run here can meet: exit 99, and the JUnit report names it.
    let out = tokio::time::timeout(limit, one_shot("breach", &["rps>1000000"]))
        .await
        .expect("the one-shot run ended within 90 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("FAIL rps>1000000"), "{stdout}");
    let junit = std::fs::read_to_string(dir.join("breach.junit.xml")).unwrap();
    assert!(
        junit.contains("name=\"rps&gt;1000000\"")
            && junit.contains("<failure message=\"rps&gt;1000000: rps = "),
        "{junit}"
    );
}
