//! The bridge's `/healthz` and `/readyz` answer without a login (Kubernetes probes, load
//! balancers) and reveal nothing else; everything else still needs the login.

use integration_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_answer_without_a_login_and_nothing_else_does() {
    let cluster = Cluster::start(
        "bridge_probes",
        ClusterSpec {
            etcd: true,
            master: Some(MasterOpts::web()),
            bridge: Some(vec!["--web-auth".into(), "ops:s3cret-pass".into()]),
            ..ClusterSpec::default()
        },
    )
    .await;
    let b = cluster.bridge();
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(b.url(path)).send();
    let r = get("/healthz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = get("/readyz").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"ready": true})
    );
    for path in ["/api/plans", "/api/workers", "/metrics", "/"] {
        assert_eq!(get(path).await.unwrap().status(), 401, "{path}");
    }
}
