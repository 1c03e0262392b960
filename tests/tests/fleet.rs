//! The fleet with the real parts: workers registering in a real etcd, taking plans over gRPC,
//! and running them against a real Locust master and HTTP target.

use std::time::{Duration, Instant};

use contract::pb;
use integration_tests::*;
use serde_json::json;

const PREFIX: &str = "/locust-http/workers/";

fn ping_plan(think: &str) -> serde_json::Value {
    json!({"name": "ping", "host": "http://127.0.0.1:1", "think_time": {"constant": think},
        "transactions": [{"name": "t", "steps": [{"name": "ping", "method": "GET", "url": "/ping"}]}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_register_and_leave_etcd() {
    let cluster = Cluster::start(
        "fleet_registration",
        ClusterSpec {
            etcd: true,
            ..ClusterSpec::default()
        },
    )
    .await;
    let (dir, etcd) = (&cluster.dir, cluster.etcd());
    let endpoint = etcd.endpoint();
    let (w1, mut w2, w3) = tokio::join!(
        FleetWorker::start(dir, "w1", &endpoint, &["--label", "team=a"]),
        FleetWorker::start(dir, "w2", &endpoint, &[]),
        FleetWorker::start(dir, "w3", &endpoint, &[]),
    );
    // From the moment all three listen: they register at start, not after a first heartbeat.
    let started = Instant::now();
    let keys = eventually(Duration::from_secs(10), "three keys", || async {
        etcd.keys(PREFIX).await.filter(|k| k.len() == 3)
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2) + Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    let (k1, k2, k3) = (w1.key().await, w2.key().await, w3.key().await);
    assert!(k1 != k2 && k2 != k3 && k1 != k3, "one key per worker");
    let (record, _) = contract::etcd::decode_record(&k1, keys[&k1].as_bytes(), None).unwrap();
    assert_eq!(record.address, format!("127.0.0.1:{}", w1.port));
    assert_eq!(record.labels.get("team").map(String::as_str), Some("a"));
    assert_eq!(
        record.cpus,
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        "cpus: this machine's"
    );

    // SIGKILL: gone when the lease (10 s) expires.
    let killed = Instant::now();
    w1.proc.signal("KILL");
    eventually(
        Duration::from_secs(14),
        "the killed worker's key to expire",
        || async { etcd.keys(PREFIX).await.filter(|k| !k.contains_key(&k1)) },
    )
    .await;
    assert!(
        killed.elapsed() <= Duration::from_secs(12),
        "{:?}",
        killed.elapsed()
    );

    // SIGTERM: the worker deletes its key as it stops, long before the 10 s lease could expire.
    let termed = Instant::now();
    w2.proc.signal("TERM");
    eventually(
        Duration::from_secs(5),
        "the stopped worker's key to go",
        || async { etcd.keys(PREFIX).await.filter(|k| !k.contains_key(&k2)) },
    )
    .await;
    assert!(
        termed.elapsed() <= Duration::from_secs(5),
        "{:?}: as slow as a lease expiry",
        termed.elapsed()
    );
    assert!(w2.proc.wait(Duration::from_secs(5)).await.success());
    assert!(etcd.keys(PREFIX).await.unwrap().contains_key(&k3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_refusals_try_and_idempotent_apply() {
    let mut cluster = Cluster::start(
        "fleet_grpc",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            ..ClusterSpec::default()
        },
    )
    .await;
    let i = cluster
        .add_worker("w", &["--allow-target", "127.0.0.1"])
        .await;
    let (target, w) = (cluster.target(), &cluster.workers[i]);
    let mut c = w.client().await;

    // Unsigned; the token itself as a bearer header; signed with another fleet's key; a signed
    // call replayed: all refused.
    let e = c
        .status(authed(pb::StatusRequest {}, None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let e = c
        .status(authed(pb::StatusRequest {}, Some(FLEET_TOKEN)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let other = contract::auth::FleetKey::from_secret(b"another-fleet-token-0123456789").unwrap();
    let mut forged = tonic::Request::new(pb::StatusRequest {});
    contract::auth::grpc::sign(&other, &w.id().await, "Status", &mut forged);
    let e = c.status(forged).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    let once = w.signed("Status", pb::StatusRequest {}).await;
    let replay = {
        let mut r = tonic::Request::new(pb::StatusRequest {});
        *r.metadata_mut() = once.metadata().clone();
        r
    };
    c.status(once).await.unwrap();
    let e = c.status(replay).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    assert!(e.message().contains("already used"), "{}", e.message());
    let s = c
        .status(w.signed("Status", pb::StatusRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), pb::WorkerState::Idle);

    // A bad plan names every wrong field.
    let bad = json!({"name": "x", "transactions": [{"name": "t", "weight": 0,
        "steps": [{"name": "s", "method": "FETCH"}]}]});
    let e = c
        .apply(w.sealed("Apply", apply_request(&bad, 5557)).await)
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    for field in [
        "transactions[0].weight",
        "transactions[0].steps[0].method",
        "transactions[0].steps[0].url",
    ] {
        assert!(
            e.message().contains(field),
            "{field} not in {}",
            e.message()
        );
    }
    // A target outside --allow-target.
    let victim = json!({"name": "x", "host": "http://10.9.9.9",
        "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]});
    let e = c
        .apply(w.sealed("Apply", apply_request(&victim, 5557)).await)
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{}", e.message());
    assert!(e.message().contains("10.9.9.9"), "{}", e.message());
    let e = c
        .r#try(
            w.sealed(
                "Try",
                pb::TryRequest {
                    plan_json: victim.to_string(),
                    transaction: "t".into(),
                    ..Default::default()
                },
            )
            .await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    // Still idle: nothing was applied.
    let s = c
        .status(w.signed("Status", pb::StatusRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), pb::WorkerState::Idle);

    // Try one step: the full response comes back, nothing reaches a master.
    let shop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("examples/shop.json")).unwrap())
            .unwrap();
    let mut shop_here = shop.clone();
    shop_here["host"] = json!(target.url());
    let r = c
        .r#try(
            w.sealed(
                "Try",
                pb::TryRequest {
                    plan_json: shop_here.to_string(),
                    transaction: "checkout".into(),
                    ..Default::default()
                },
            )
            .await,
        )
        .await
        .unwrap()
        .into_inner();
    let r = w.open("Try", r).await;
    assert!(r.passed, "{r:?}");
    assert_eq!(r.steps.len(), 2);
    assert_eq!(r.steps[0].status, 200);
    assert!(r.steps[0].response_body.contains("token"));
    assert!(r.steps[0].extracted.contains_key("token"));
    assert_eq!(r.steps[1].status, 201);
    assert!(r.steps[1].assertions.iter().all(|a| a.passed));
    let r = c
        .r#try(
            w.sealed(
                "Try",
                pb::TryRequest {
                    plan_json: shop_here.to_string(),
                    transaction: "browse".into(),
                    step: Some(0),
                    ..Default::default()
                },
            )
            .await,
        )
        .await
        .unwrap()
        .into_inner();
    let r = w.open("Try", r).await;
    assert_eq!(r.steps[0].response_body, "<html><body>shop</body></html>");

    // Apply (no master listening yet): connecting; the same again changes nothing. A port nothing
    // listens on (were it taken meanwhile, the state would still be `Connecting` for a while).
    let master_port = free_port();
    let first = c
        .apply(
            w.sealed("Apply", apply_request(&shop_here, master_port))
                .await,
        )
        .await
        .unwrap()
        .into_inner();
    assert!(first.changed);
    let again = c
        .apply(
            w.sealed("Apply", apply_request(&shop_here, master_port))
                .await,
        )
        .await
        .unwrap()
        .into_inner();
    assert!(!again.changed);
    assert_eq!(again.plan_version, first.plan_version);
    let s = c
        .status(w.signed("Status", pb::StatusRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), pb::WorkerState::Connecting);
    assert_eq!(s.plan_name, "shop");
    assert_eq!(s.master, format!("127.0.0.1:{master_port}"));
    let rel = c
        .release(w.signed("Release", pb::ReleaseRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert!(rel.was_applied);
    let s = c
        .status(w.signed("Status", pb::StatusRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), pb::WorkerState::Idle);

    // The token never reaches the logs.
    assert!(!w.proc.log_text().contains(FLEET_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_plans_run_exactly_and_switch_without_loss() {
    let cluster = Cluster::start(
        "fleet_apply_run",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(MasterOpts::web()),
            workers: 2,
            ..ClusterSpec::default()
        },
    )
    .await;
    let (target, master, workers) = (cluster.target(), cluster.master(), &cluster.workers);
    let mut shop: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("examples/shop.json")).unwrap())
            .unwrap();
    shop["host"] = json!(target.url());
    let mut clients = Vec::new();
    for w in workers {
        let mut c = w.client().await;
        c.apply(
            w.sealed("Apply", apply_request(&shop, master.opts.bind_port))
                .await,
        )
        .await
        .unwrap();
        clients.push(c);
    }
    eventually(
        Duration::from_secs(15),
        "both workers at the master",
        || async { (master.worker_count().await? == 2).then_some(()) },
    )
    .await;
    master.swarm(8, 8.0, None).await;
    eventually(Duration::from_secs(15), "8 users running", || async {
        let s = master.get_json("/stats/requests").await?;
        (s["user_count"].as_u64()? == 8).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // A bad plan is refused and the running one goes on.
    let bad = json!({"name": "x", "transactions": []});
    let e = clients[0]
        .apply(
            workers[0]
                .sealed("Apply", apply_request(&bad, master.opts.bind_port))
                .await,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("transactions"), "{}", e.message());
    // The running plan goes on after the refusal: 20 more requests.
    let refused = target.total();
    eventually(
        Duration::from_secs(10),
        "the previous plan to go on",
        || async { (target.total() >= refused + 20).then_some(()) },
    )
    .await;
    let s = clients[0]
        .status(workers[0].signed("Status", pb::StatusRequest {}).await)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.plan_name, "shop");
    assert_eq!(s.state(), pb::WorkerState::Running);
    assert!(s.master_acknowledged);

    // A new plan while running: users switch, nothing lost or counted twice.
    let mut ping = ping_plan("10ms");
    ping["host"] = json!(target.url());
    for (c, w) in clients.iter_mut().zip(workers.iter()) {
        let r = c
            .apply(
                w.sealed("Apply", apply_request(&ping, master.opts.bind_port))
                    .await,
            )
            .await
            .unwrap();
        assert!(r.into_inner().changed);
    }
    eventually(
        Duration::from_secs(10),
        "the new plan's requests",
        || async { (target.count("GET /ping") > 20).then_some(()) },
    )
    .await;
    // The worker's status counts what it reported to the master (every 3 s).
    let (client, w1) = (&clients[1], &workers[1]);
    let s = eventually(
        Duration::from_secs(10),
        "the status to count the new plan's requests",
        || {
            let mut c = client.clone();
            async move {
                let s = c
                    .status(w1.signed("Status", pb::StatusRequest {}).await)
                    .await
                    .ok()?
                    .into_inner();
                (s.requests_total > 0).then_some(s)
            }
        },
    )
    .await;
    assert_eq!(s.plan_name, "ping");

    master.stop().await;
    eventually(Duration::from_secs(15), "the master to stop", || async {
        let s = master.get_json("/stats/requests").await?;
        (s["state"] == "stopped").then_some(())
    })
    .await;
    let counts = target.counts();
    let rows = eventually(
        Duration::from_secs(10),
        "the master's table to settle",
        || async {
            let rows = master.stats_rows().await;
            let agg = rows.iter().find(|r| r.name == "Aggregated")?;
            (agg.requests == counts.values().sum::<u64>()).then_some(rows)
        },
    )
    .await;
    assert_eq!(row(&rows, "home").requests, counts["GET /"]);
    assert_eq!(row(&rows, "login").requests, counts["POST /login"]);
    assert_eq!(row(&rows, "order").requests, counts["POST /orders"]);
    assert_eq!(row(&rows, "ping").requests, counts["GET /ping"]);
    assert_eq!(row(&rows, "Aggregated").failures, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_etcd_outage_neither_stops_load_nor_loses_workers() {
    let mut opts = MasterOpts::headless(4, 4.0, "22s");
    opts.expect_workers = 2;
    let Cluster {
        etcd,
        target,
        master,
        workers,
        ..
    } = Cluster::start(
        "fleet_etcd_outage",
        ClusterSpec {
            etcd: true,
            target: Some(TargetConfig::default()),
            master: Some(opts),
            workers: 2,
            ..ClusterSpec::default()
        },
    )
    .await;
    let (mut etcd, target, mut master) = (
        etcd.expect("etcd"),
        target.expect("target"),
        master.expect("master"),
    );
    let mut plan = ping_plan("20ms");
    plan["host"] = json!(target.url());
    for w in &workers {
        w.client()
            .await
            .apply(
                w.sealed("Apply", apply_request(&plan, master.opts.bind_port))
                    .await,
            )
            .await
            .unwrap();
    }
    eventually(Duration::from_secs(20), "load to start", || async {
        (target.total() > 50).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    etcd.kill().await;
    let served_before = target.total();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        target.total() > served_before + 100,
        "load stopped while etcd was down"
    );
    let mut wkeys = Vec::new();
    for w in &workers {
        wkeys.push(w.key().await);
    }
    etcd.restart().await;
    let back = Instant::now();
    eventually(Duration::from_secs(10), "both keys again", || async {
        let keys = etcd.keys(PREFIX).await?;
        wkeys.iter().all(|k| keys.contains_key(k)).then_some(())
    })
    .await;
    assert!(
        back.elapsed() <= Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );

    let status = master.proc.wait(Duration::from_secs(60)).await;
    assert!(status.success(), "master: {}", master.proc.log_text());
    let rows = master.stats_csv();
    assert_eq!(row(&rows, "ping").requests, target.count("GET /ping"));
    // No gap: from the first second with traffic to the end, every second has requests.
    let history = history_rps(&master);
    let first = history
        .iter()
        .position(|(_, _, rps)| *rps > 0.0)
        .expect("traffic in the history");
    let last = history
        .iter()
        .rposition(|(_, users, _)| *users > 0)
        .unwrap_or(history.len() - 1);
    let gaps: Vec<_> = history[first..=last]
        .iter()
        .filter(|(_, _, rps)| *rps <= 0.0)
        .collect();
    assert!(gaps.is_empty(), "seconds without requests: {gaps:?}");
    for w in &workers {
        let log = w.proc.log_text();
        assert!(log.contains("registered in etcd"), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_tls_with_client_certificates() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

    let dir = test_dir("fleet_tls");
    let etcd = Etcd::start(&dir).await;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["bridge".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let write = |name: &str, pem: String| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let ca_pem = write("ca.pem", ca.pem());
    let cert = write("server.pem", server_cert.pem());
    let key = write("server.key", server_key.serialize_pem());
    let w = FleetWorker::start(
        &dir,
        "w",
        &etcd.endpoint(),
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca_pem,
        ],
    )
    .await;
    let wkey = w.key().await;
    let record = eventually(Duration::from_secs(10), "the TLS worker's key", || async {
        etcd.keys(PREFIX).await?.get(&wkey).cloned()
    })
    .await;
    let (record, _) = contract::etcd::decode_record(&wkey, record.as_bytes(), None).unwrap();
    assert!(record.tls);

    let endpoint = |tls: ClientTlsConfig| {
        Endpoint::from_shared(format!("https://127.0.0.1:{}", w.port))
            .unwrap()
            .tls_config(tls)
            .unwrap()
    };
    let base = ClientTlsConfig::new()
        .domain_name("localhost")
        .ca_certificate(Certificate::from_pem(ca.pem()));
    // With a client certificate signed by the CA: served.
    let with_cert = base.clone().identity(Identity::from_pem(
        client_cert.pem(),
        client_key.serialize_pem(),
    ));
    let channel = eventually(Duration::from_secs(10), "a TLS connection", || {
        let e = endpoint(with_cert.clone());
        async move { e.connect().await.ok() }
    })
    .await;
    let s = pb::worker_client::WorkerClient::new(channel)
        .status(pb::StatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s.state(), pb::WorkerState::Idle);
    // Without one: refused.
    let refused = match endpoint(base).connect().await {
        Err(_) => true,
        Ok(ch) => pb::worker_client::WorkerClient::new(ch)
            .status(pb::StatusRequest {})
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    // Plain text: refused.
    let plain =
        pb::worker_client::WorkerClient::connect(format!("http://127.0.0.1:{}", w.port)).await;
    let refused = match plain {
        Err(_) => true,
        Ok(mut c) => c.status(pb::StatusRequest {}).await.is_err(),
    };
    assert!(refused, "a plain-text client was served");

    // The bridge reaches the TLS worker with the CA and its own client certificate.
    let client_pem = write("bridge.pem", client_cert.pem());
    let client_key_pem = write("bridge.key", client_key.serialize_pem());
    let master = Master::start(&dir, "master", MasterOpts::web()).await;
    let bridge = BridgeProc::start(
        &dir,
        "bridge",
        &etcd,
        &master,
        &[
            "--worker-tls-ca",
            &ca_pem,
            "--worker-tls-cert",
            &client_pem,
            "--worker-tls-key",
            &client_key_pem,
            "--worker-tls-domain",
            "localhost",
        ],
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the bridge to reach the TLS worker",
        || async {
            let ws = bridge.workers().await;
            (ws.len() == 1 && ws[0]["state"] == "idle").then_some(())
        },
    )
    .await;
}
