//! Attacks from issue 10 against real processes, each asserting the safe outcome. The other rows
//! of that issue's table are tested, also against real processes, where their machinery lives:
//! - unauthenticated, forged and replayed calls, TLS decided by the bridge: `fleet.rs`;
//! - a hijacked or deleted etcd key restored, a held key never overwritten: `registry.rs`;
//! - the ZeroMQ frame bomb: `worker/tests/zmq_bounds.rs`;
//! - an endless body stopped at `max_body`, redirects refused under the target policy:
//!   `worker/tests/engine_h1.rs` (and the allow-list's unit tests);
//! - huge response heads: `worker/tests/h1_corners.rs`;
//! - cross-origin and no-content-type pushes, DNS rebinding: `bridge.rs`, `ui.rs` and the API's
//!   unit tests; `/metrics` well-formed with hostile labels: `metrics.rs` and its unit tests;
//! - `data.file` outside the plan's directory: `proto/tests/data_file.rs`; `max_rps` range and
//!   non-finite spawn timestamps: the validator's and the codec's unit tests.

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

/// A worker without `--allow-target` refuses its own etcd (the JSON gateway would chain into a
/// forged record), its own gRPC port and link-local metadata addresses, for Apply and Try alike;
/// the plan's other targets stay reachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_worker_is_not_a_proxy_to_its_own_infrastructure() {
    use contract::pb;
    let mut cluster = Cluster::start(
        "default_target_policy",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            ..ClusterSpec::default()
        },
    )
    .await;
    let i = cluster.add_worker("w", &[]).await;
    let w = &cluster.workers[i];
    let mut c = w.client().await;
    let etcd = format!("http://{}", cluster.etcd().endpoint());
    let plan = |host: &str| {
        serde_json::json!({"name": "x", "host": host,
            "transactions": [{"name": "t", "steps": [
                {"name": "s", "method": "POST", "url": "/v3/kv/put", "json": {"key": "eA=="}}]}]})
    };
    let own_grpc = format!("http://127.0.0.1:{}", w.port);
    for host in [
        etcd.as_str(),
        own_grpc.as_str(),
        "http://169.254.169.254",
        "http://[fe80::1]",
    ] {
        let e = c
            .r#try(
                w.sealed(
                    "Try",
                    pb::TryRequest {
                        plan_json: plan(host).to_string(),
                        transaction: "t".into(),
                        ..Default::default()
                    },
                )
                .await,
            )
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "{host}: {}",
            e.message()
        );
        let e = c
            .apply(w.sealed("Apply", apply_request(&plan(host), 5557)).await)
            .await
            .unwrap_err();
        assert_eq!(
            e.code(),
            tonic::Code::PermissionDenied,
            "{host}: {}",
            e.message()
        );
    }
    // A templated host is checked before the request is sent.
    let templated = serde_json::json!({"name": "x", "variables": {"to": etcd},
        "transactions": [{"name": "t", "steps": [
            {"name": "s", "method": "GET", "url": "{{to}}/version"}]}]});
    let r = c
        .r#try(
            w.sealed(
                "Try",
                pb::TryRequest {
                    plan_json: templated.to_string(),
                    transaction: "t".into(),
                    ..Default::default()
                },
            )
            .await,
        )
        .await
        .unwrap()
        .into_inner();
    let r = w.open("Try", r).await;
    let text = format!("{r:?}");
    assert!(text.contains("own etcd or gRPC endpoint"), "{text}");
    // The target itself is fine.
    let ok = serde_json::json!({"name": "x", "host": cluster.target().url(),
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]});
    c.r#try(
        w.sealed(
            "Try",
            pb::TryRequest {
                plan_json: ok.to_string(),
                transaction: "t".into(),
                ..Default::default()
            },
        )
        .await,
    )
    .await
    .unwrap();
}

/// A record written into etcd by someone without the fleet token (pointing at a port this test
/// listens on) is listed as untrusted and never contacted: no status poll, no token, no plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_etcd_record_is_untrusted_and_never_contacted() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let cluster = Cluster::start(
        "forged_record",
        ClusterSpec {
            etcd: true,
            master: Some(MasterOpts::web()),
            bridge: Some(Vec::new()),
            ..ClusterSpec::default()
        },
    )
    .await;
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap_port = trap.local_addr().unwrap().port();
    let contacted = Arc::new(AtomicUsize::new(0));
    let count = contacted.clone();
    tokio::spawn(async move {
        while let Ok((_sock, _)) = trap.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let record = format!(
        r#"{{"record":{{"id":"evil","address":"127.0.0.1:{trap_port}","version":"0","cpus":1,"started_at":0.0,"tls":false}},"sig":"00"}}"#
    );
    etcd_client::Client::connect([cluster.etcd().endpoint()], None)
        .await
        .unwrap()
        .put("/locust-http/workers/evil", record, None)
        .await
        .unwrap();
    let bridge = cluster.bridge();
    eventually(
        Duration::from_secs(15),
        "the forged record listed",
        || async {
            let workers = bridge.workers().await;
            let w = workers.iter().find(|w| w["id"] == "evil")?;
            assert_eq!(w["trust"], "untrusted", "{w}");
            Some(())
        },
    )
    .await;
    // Several status-poll periods (1 s each) later, nobody has connected to it.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        contacted.load(Ordering::SeqCst),
        0,
        "the bridge contacted a forged record"
    );
}

/// A fleet worker with no token and no mutual TLS refuses to start: one line, non-zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_credentials_refuses_to_start() {
    let dir = test_dir("no_credentials");
    let mut cmd = std::process::Command::new(bin("worker"));
    cmd.args(["--etcd-addr", "127.0.0.1:1", "--port", "0"])
        .env_remove("LOCUST_HTTP_TOKEN")
        .env_remove("LOCUST_HTTP_TOKEN_FILE")
        .env("NO_COLOR", "1");
    let mut p = Proc::spawn(cmd, &dir, "worker");
    let status = p.wait(Duration::from_secs(10)).await;
    assert!(!status.success());
    let log = p.log_text();
    assert!(log.contains("fleet mode needs credentials"), "{log}");
    assert_eq!(log.trim().lines().count(), 1, "one line: {log}");
}
