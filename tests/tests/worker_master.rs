//! The worker against a real Locust 2.47 master and a real HTTP target: the numbers the master
//! shows must equal what the target served, to the last request.

use std::time::Duration;

use integration_tests::*;

fn shop() -> std::path::PathBuf {
    root().join("examples/shop.json")
}

/// Asserts the master's rows for the shop plan equal the target's own counts.
fn assert_shop_counts(rows: &[StatsRow], target: &Target) {
    let counts = target.counts();
    let served = |k: &str| counts.get(k).copied().unwrap_or(0);
    assert!(served("GET /") > 0, "the target served nothing: {counts:?}");
    assert_eq!(
        row(rows, "home").requests,
        served("GET /"),
        "home vs target {counts:?}"
    );
    assert_eq!(
        row(rows, "login").requests,
        served("POST /login"),
        "login vs target {counts:?}"
    );
    assert_eq!(
        row(rows, "order").requests,
        served("POST /orders"),
        "order vs target {counts:?}"
    );
    assert_eq!(
        row(rows, "Aggregated").requests,
        target.total(),
        "Aggregated vs target {counts:?}"
    );
    assert_eq!(row(rows, "Aggregated").failures, 0, "unexpected failures");
    assert_eq!(rows.len(), 4, "unexpected rows: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_one_worker_counts_equal_the_target() {
    let dir = test_dir("headless_one_worker");
    let target = Target::start(TargetConfig::default()).await;
    let mut opts = MasterOpts::headless(20, 20.0, "8s");
    opts.host = Some(target.url());
    let mut master = Master::start(&dir, "master", opts).await;
    let mut worker = run_worker(&dir, "worker", &shop(), master.opts.bind_port, &[]);

    let master_status = master.proc.wait(Duration::from_secs(60)).await;
    let worker_status = worker.wait(Duration::from_secs(10)).await;
    assert!(
        worker_status.success(),
        "worker exit {worker_status:?}: {}",
        worker.log_text()
    );
    assert!(
        master_status.success(),
        "master exit {master_status:?}: {}",
        master.proc.log_text()
    );

    assert_shop_counts(&master.stats_csv(), &target);
    assert_eq!(
        master.max_history_users(),
        20,
        "the master never saw 20 users"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_with_a_ramp_stay_exact() {
    let dir = test_dir("two_workers_ramp");
    let target = Target::start(TargetConfig::default()).await;
    let mut opts = MasterOpts::headless(20, 4.0, "10s");
    opts.host = Some(target.url());
    opts.expect_workers = 2;
    let mut master = Master::start(&dir, "master", opts).await;
    let mut w1 = run_worker(&dir, "worker1", &shop(), master.opts.bind_port, &[]);
    let mut w2 = run_worker(&dir, "worker2", &shop(), master.opts.bind_port, &[]);

    let master_status = master.proc.wait(Duration::from_secs(60)).await;
    for w in [&mut w1, &mut w2] {
        let status = w.wait(Duration::from_secs(10)).await;
        assert!(status.success(), "{} exit {status:?}", w.name);
    }
    assert!(
        master_status.success(),
        "master exit {master_status:?}: {}",
        master.proc.log_text()
    );
    assert_shop_counts(&master.stats_csv(), &target);
    assert_eq!(
        master.max_history_users(),
        20,
        "the master never saw 20 users"
    );
    // Both workers took part: the master split its 20 users evenly, 10 to each.
    let shares: Vec<u64> = [&w1, &w2]
        .iter()
        .map(|w| last_spawned_users(&w.log_text()))
        .collect();
    assert_eq!(shares, [10, 10], "users per worker");
}

/// The total user count of the last `spawned users={...}` line a worker logged (what the
/// master's last spawn message gave it).
fn last_spawned_users(log: &str) -> u64 {
    let line = log
        .lines()
        .rfind(|l| l.contains("spawned") && l.contains("users="))
        .unwrap_or_else(|| panic!("no spawn in {log}"));
    let counts = &line[line.find("users=").expect("users=")..];
    counts
        .split(':')
        .skip(1)
        .filter_map(|part| {
            let digits: String = part
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u64>().ok()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ui_stop_and_start_again_keeps_numbers_exact() {
    let dir = test_dir("ui_stop_start");
    let target = Target::start(TargetConfig::default()).await;
    let master = Master::start(&dir, "master", MasterOpts::web()).await;
    let _worker = run_worker(&dir, "worker", &shop(), master.opts.bind_port, &[]);
    eventually(
        Duration::from_secs(15),
        "the worker to register",
        || async { (master.worker_count().await? == 1).then_some(()) },
    )
    .await;

    for round in 0..2 {
        let before = target.counts();
        master.swarm(6, 6.0, Some(&target.url())).await;
        eventually(Duration::from_secs(15), "6 users running", || async {
            let s = master.get_json("/stats/requests").await?;
            (s["user_count"].as_u64()? == 6 && s["state"] == "running").then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        master.stop().await;
        eventually(Duration::from_secs(15), "the master to stop", || async {
            let s = master.get_json("/stats/requests").await?;
            (s["state"] == "stopped").then_some(())
        })
        .await;
        // The worker flushed its last numbers before client_stopped: nothing is still in flight.
        let after = target.counts();
        let served =
            |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        let rows = eventually(
            Duration::from_secs(10),
            "the master's table to settle",
            || async {
                let rows = master.stats_rows().await;
                let agg = rows.iter().find(|r| r.name == "Aggregated")?;
                (agg.requests == after.values().sum::<u64>() - before.values().sum::<u64>())
                    .then_some(rows)
            },
        )
        .await;
        assert!(served("GET /") > 0, "round {round}: nothing served");
        assert_eq!(
            row(&rows, "home").requests,
            served("GET /"),
            "round {round}"
        );
        assert_eq!(
            row(&rows, "login").requests,
            served("POST /login"),
            "round {round}"
        );
        assert_eq!(
            row(&rows, "order").requests,
            served("POST /orders"),
            "round {round}"
        );
        // And the worker is ready for the next round.
        eventually(
            Duration::from_secs(10),
            "the worker to be ready again",
            || async { (master.worker_count().await? == 1).then_some(()) },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_master_gets_the_worker_back() {
    let dir = test_dir("master_restart");
    let target = Target::start(TargetConfig::default()).await;
    let mut master = Master::start(&dir, "master1", MasterOpts::web()).await;
    let mut worker = run_worker(&dir, "worker", &shop(), master.opts.bind_port, &[]);
    eventually(
        Duration::from_secs(15),
        "the worker to register",
        || async { (master.worker_count().await? == 1).then_some(()) },
    )
    .await;
    master.swarm(4, 4.0, Some(&target.url())).await;
    eventually(Duration::from_secs(10), "requests to flow", || async {
        (target.total() > 20).then_some(())
    })
    .await;

    master.proc.signal("KILL");
    master.proc.wait(Duration::from_secs(10)).await;
    // The worker stops its users once it notices the master is gone: no request for 1 s.
    let mut last = (target.total(), std::time::Instant::now());
    eventually(
        Duration::from_secs(30),
        "the worker to stop its users",
        || {
            let total = target.total();
            if total != last.0 {
                last = (total, std::time::Instant::now());
            }
            let quiet = last.1.elapsed() >= Duration::from_secs(1);
            async move { quiet.then_some(()) }
        },
    )
    .await;
    // The same ports: the worker knows only the old master's address.
    let started = std::time::Instant::now();
    let master2 = Master::restart(&dir, "master2", master.opts.clone()).await;
    eventually(
        Duration::from_secs(10),
        "the worker to join the new master",
        || async { (master2.worker_count().await? == 1).then_some(()) },
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "rejoin took {:?}",
        started.elapsed()
    );

    let before = target.total();
    master2.swarm(4, 4.0, Some(&target.url())).await;
    eventually(Duration::from_secs(15), "a new swarm to run", || async {
        let rows = master2.stats_rows().await;
        let agg = rows.iter().find(|r| r.name == "Aggregated")?;
        (agg.requests > 0 && target.total() > before).then_some(())
    })
    .await;
    master2.stop().await;
    assert!(
        worker.exited().is_none(),
        "the worker died: {}",
        worker.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_target_gives_failures_not_a_crash() {
    let dir = test_dir("dead_target");
    // A port nothing listens on (if another process took it meanwhile, requests would not fail).
    let dead = format!("http://127.0.0.1:{}", free_port());
    let plan = write_plan(
        &dir,
        "dead.json",
        &serde_json::json!({"name": "dead", "host": dead, "timeout": "2s",
            "transactions": [{"name": "t", "steps": [{"name": "ping", "method": "GET", "url": "/ping"}]}]}),
    );
    let opts = MasterOpts::headless(3, 3.0, "4s");
    let mut master = Master::start(&dir, "master", opts).await;
    let mut worker = run_worker(&dir, "worker", &plan, master.opts.bind_port, &[]);
    let master_status = master.proc.wait(Duration::from_secs(60)).await;
    let worker_status = worker.wait(Duration::from_secs(10)).await;
    assert!(
        worker_status.success(),
        "worker exit {worker_status:?}: {}",
        worker.log_text()
    );
    // A headless master exits 1 when failures were reported.
    assert_eq!(
        master_status.code(),
        Some(1),
        "master: {}",
        master.proc.log_text()
    );
    let rows = master.stats_csv();
    let ping = row(&rows, "ping");
    assert!(ping.requests > 0);
    assert_eq!(ping.failures, ping.requests);
    let failures = master.failures_csv();
    assert!(
        failures.contains("connect error: connection refused"),
        "{failures}"
    );
}

#[tokio::test]
async fn malformed_plans_are_rejected_naming_each_problem() {
    let dir = test_dir("malformed_plans");
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "unknown_method.json",
            r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "FETCH", "url": "/"}]}]}"#,
            &["transactions[0].steps[0].method", "FETCH"],
        ),
        (
            "missing_url.json",
            r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET"}]}]}"#,
            &["transactions[0].steps[0].url: is required"],
        ),
        (
            "weight_zero.json",
            r#"{"name": "x", "transactions": [{"name": "t", "weight": 0, "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#,
            &["transactions[0].weight"],
        ),
        (
            "bad_json.json",
            r#"{"name": "x", "transactions": [}"#,
            &["not valid JSON", "line 1"],
        ),
    ];
    for (file, text, wants) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let out = std::process::Command::new(bin("worker"))
            .arg("run")
            .arg(&path)
            .args(["--master-port", &free_port().to_string()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{file} was accepted");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for want in wants {
            assert!(stderr.contains(want), "{file}: {want:?} not in {stderr}");
        }
    }
    // All problems at once.
    let path = dir.join("many.json");
    std::fs::write(
        &path,
        r#"{"name": "x", "transactions": [{"name": "t", "weight": 0, "steps": [{"name": "s", "method": "FETCH"}]}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(bin("worker"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 problems"), "{stderr}");
}

#[tokio::test]
async fn a_bad_flag_prints_one_line_and_fails() {
    let out = std::process::Command::new(bin("worker"))
        .args(["run", "x.json", "--master-port", "notaport"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--master-port"), "{stderr}");
}
