//! Structured auth, end to end with the real parts: a Postman v2.0 collection with
//! collection-level bearer auth, a folder with basic auth made of variables, a request with an
//! API key in the query and one with no auth, imported with its environment through the
//! bridge, run by a real worker for a real master, against a target that records the
//! credentials every request really carried. Then the environment changes and the same saved
//! plan sends the new token: auth is rendered at send time, not baked at import.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use integration_tests::*;
use serde_json::json;

const V20: &str = "https://schema.getpostman.com/json/collection/v2.0.0/collection.json";

fn collection(base: &str) -> serde_json::Value {
    let get = |name: &str, path: &str| json!({"name": name, "request": {"method": "GET", "url": format!("{base}{path}")}});
    let mut key = get("key", "/key");
    key["request"]["auth"] = json!({"type": "apikey", "apikey": {"key": "api_key", "value": "{{api_key}}", "in": "query"}});
    let mut public = get("public", "/public");
    public["request"]["auth"] = json!({"type": "noauth"});
    json!({
        "info": {"name": "auth", "schema": V20},
        "variable": [{"key": "user", "value": "ann"}],
        "auth": {"type": "bearer", "bearer": {"token": "{{token}}"}},
        "item": [
            get("bearer", "/bearer"),
            key,
            public,
            {"name": "admin", "auth": {"type": "basic", "basic": {"username": "{{user}}", "password": "{{pass}}"}},
             "item": [get("basic", "/basic"), {"name": "deeper", "item": [get("deep", "/deep")]}]}
        ]
    })
}

/// What the target saw, by request line and credentials, for paths other than `/`.
fn seen(target: &Target) -> BTreeMap<String, u64> {
    target.credentials()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_auth_is_inherited_rendered_at_send_time_and_follows_the_environment() {
    let dir = test_dir("auth_e2e");
    let etcd = Etcd::start(&dir).await;
    let target = Target::start(TargetConfig::default()).await;
    let master = Master::start(&dir, "master", MasterOpts::web()).await;
    let bridge = BridgeProc::start(&dir, "bridge", &etcd, &master, &[]).await;
    let _w = FleetWorker::start(&dir, "w1", &etcd.endpoint(), &[]).await;
    eventually(Duration::from_secs(10), "a worker", || async {
        (bridge.workers().await.len() == 1).then_some(())
    })
    .await;
    master.wait_web().await;

    let environment = json!({"name": "auth-env", "values": [
        {"key": "token", "value": "env-tok-1", "enabled": true},
        {"key": "pass", "value": "s3cret", "enabled": true},
        {"key": "api_key", "value": "k1", "enabled": true}]});
    let (status, imported) = bridge
        .post(
            "/api/import",
            &json!({"format": "postman", "content": collection(&target.url()).to_string(),
                    "environment": environment.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported["notes"], json!([]), "nothing left out");
    let plan = &imported["plan"];
    assert_eq!(
        plan["auth"],
        json!({"type": "bearer", "token": "{{token}}"})
    );
    let env_url = bridge.url("/api/environments/auth-env");
    let put_env = |variables: serde_json::Value| {
        let url = env_url.clone();
        async move {
            reqwest::Client::new()
                .put(url)
                .json(&json!({ "variables": variables }))
                .send()
                .await
                .expect("PUT environment")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        put_env(imported["environment"]["variables"].clone()).await,
        200
    );
    let (status, saved) = bridge.post("/api/plans?environment=auth-env", plan).await;
    assert_eq!((status, &saved["warnings"]), (201, &json!([])), "{saved}");
    let id = saved["id"].as_str().unwrap().to_string();

    let run = |label: &'static str| {
        let bridge = &bridge;
        let id = id.clone();
        async move {
            let body = json!({"plan": id, "users": 2, "spawn_rate": 2, "run_time": "3s", "environment": "auth-env"});
            let (status, started) = bridge.post("/api/runs", &body).await;
            assert_eq!(status, 201, "{label}: {started}");
            let done = bridge
                .wait_run(started["id"].as_str().unwrap(), Duration::from_secs(60))
                .await;
            assert_eq!(done["state"], "finished", "{label}: {done}");
            let total = run_row(&done, "Aggregated");
            assert_eq!(total["num_failures"], 0, "{label}: {done}");
            total["num_requests"].as_u64().unwrap()
        }
    };

    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ann:s3cret")
    );
    let expect = |token: &str, key: &str| -> Vec<String> {
        vec![
            format!("GET /basic auth={basic} key=-"),
            format!("GET /bearer auth=Bearer {token} key=-"),
            format!("GET /deep auth={basic} key=-"),
            format!("GET /key?api_key={key} auth=- key=-"),
            "GET /public auth=- key=-".to_string(),
        ]
    };

    let counted = run("first run").await;
    let first = seen(&target);
    let lines: Vec<&String> = first.keys().collect();
    assert_eq!(
        lines,
        expect("env-tok-1", "k1").iter().collect::<Vec<_>>(),
        "every request carried exactly its level's credentials: {first:?}"
    );
    assert_eq!(
        first.values().sum::<u64>(),
        counted,
        "the master counted what the target saw"
    );

    // A new token and key in the environment: the same saved plan sends them.
    let mut vars = imported["environment"]["variables"].clone();
    vars["token"] = json!("env-tok-2");
    vars["api_key"] = json!("k2");
    assert_eq!(put_env(vars).await, 200);
    let counted_again = run("second run").await;
    let second: BTreeMap<String, u64> = seen(&target)
        .into_iter()
        .filter_map(|(k, n)| {
            let before = first.get(&k).copied().unwrap_or(0);
            (n > before).then_some((k, n - before))
        })
        .collect();
    let lines: Vec<&String> = second.keys().collect();
    assert_eq!(
        lines,
        expect("env-tok-2", "k2").iter().collect::<Vec<_>>(),
        "{second:?}"
    );
    assert_eq!(second.values().sum::<u64>(), counted_again);
}
