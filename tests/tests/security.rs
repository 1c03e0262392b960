//! Attacks from issue 10 against real processes, each asserting the safe outcome. Rows covered
//! elsewhere, against the same real processes: the fake etcd record, unauthenticated calls and
//! TLS (`fleet.rs`), a hijacked or deleted key (`registry.rs`), the frame bomb (`worker/tests/
//! zmq_bounds.rs`), the endless body and huge headers (`worker/tests/h1_corners.rs`), the
//! browser guard (`bridge.rs`, `ui.rs`).

use std::time::Duration;

use integration_tests::*;

/// A master that asks one worker for 1,000,000 users gets `--max-users` of them, is told so in
/// its Exceptions tab, and keeps hearing the worker's heartbeats throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_user_spawn_is_capped_and_heartbeats_keep_flowing() {
    let dir = test_dir("million_users");
    let target = Target::start(TargetConfig::default()).await;
    let master = Master::start(&dir, "master", MasterOpts::web()).await;
    let plan = write_plan(
        &dir,
        "idle.json",
        &serde_json::json!({
            "name": "idle", "host": target.url(),
            "transactions": [{"name": "t", "think_time": {"constant": "60s"},
                              "steps": [{"name": "home", "method": "GET", "url": "/"}]}]
        }),
    );
    let mut worker = run_worker(
        &dir,
        "worker",
        &plan,
        master.opts.bind_port,
        &["--max-users", "20000"],
    );
    eventually(
        Duration::from_secs(15),
        "the worker to register",
        || async { (master.worker_count().await? == 1).then_some(()) },
    )
    .await;
    master.swarm(1_000_000, 1_000_000.0, None).await;
    // The worker is never `missing` (no heartbeat for 3 s) while it spawns.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = master.get_json("/stats/requests").await.expect("stats");
        let states: Vec<String> = s["workers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| w["state"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(
            !states.iter().any(|s| s == "missing"),
            "the worker went missing: {states:?}"
        );
        if s["user_count"].as_u64() == Some(20_000) && states == ["running"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not capped at 20000: {} users, {states:?}",
            s["user_count"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let exceptions = master.get_json("/exceptions").await.expect("exceptions");
    assert!(
        exceptions.to_string().contains("--max-users"),
        "the master's operator is told: {exceptions}"
    );
    master.stop().await;
    assert!(worker.exited().is_none(), "the worker died");
}
