//! The HTTP surface without a socket (`Router` + `oneshot`): routes, validation, and every
//! rejection and service error as a JSON `{"error": ...}` with the right status.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use base64::Engine;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::ApiError;
use crate::config::WebAuth;
use crate::fleet::{Fleet, WorkerAuth};
use crate::guard::Guard;
use crate::master::LocustWeb;
use crate::probe::{ProbeError, Prober};
use crate::pusher::{MasterAddress, PushError, Pusher};
use crate::runs::{RunError, Runs, SpecError};
use crate::state::{AppState, BridgeInfo};
use crate::store::{Db, Store, StoreError};

/// The app as served on loopback; requests below carry `Host: 127.0.0.1:8080` like a browser's.
pub(super) fn app(dir: &std::path::Path, auth: Option<WebAuth>) -> Router {
    let (state, _) = state(dir);
    crate::http::app(
        state,
        auth,
        Guard {
            loopback_only: true,
        },
    )
}

fn state(dir: &std::path::Path) -> (AppState, Arc<Fleet>) {
    let store = Store::from_db(Db::open(dir).unwrap());
    let fleet = Fleet::new(WorkerAuth::default());
    let master = LocustWeb::new("http://127.0.0.1:1", None);
    let address = MasterAddress {
        host: "127.0.0.1".into(),
        port: 5557,
    };
    let pusher = Arc::new(Pusher::new(store.clone(), fleet.clone(), address.clone()));
    let runs = Runs::new(
        store.clone(),
        pusher.clone(),
        master.clone(),
        CancellationToken::new(),
    );
    let state = AppState {
        store,
        prober: Prober::new(fleet.clone()),
        fleet: fleet.clone(),
        master,
        pusher,
        runs,
        info: Arc::new(BridgeInfo {
            master: address,
            etcd: vec!["http://127.0.0.1:2379".into()],
        }),
        tally: crate::tally::Tally::new(),
    };
    (state, fleet)
}

const HOST: &str = "127.0.0.1:8080";

/// Sends a request; returns the status, the content type and the body as JSON.
async fn raw(
    app: &Router,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, String, Value) {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        ct,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(super) async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    auth: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if let Some(a) = auth {
        req = req.header(
            header::AUTHORIZATION,
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(a)
            ),
        );
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        // A state change without a body still says JSON, as the UI does.
        None if method != "GET" => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::empty()),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn plan() -> Value {
    json!({"name": "a", "host": "http://h", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]})
}

#[tokio::test]
async fn every_rejection_is_json_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let json_ct = Some("application/json");
    let cases: Vec<(&str, &str, Option<&str>, &str, StatusCode)> = vec![
        // Not JSON at all.
        (
            "POST",
            "/api/plans",
            json_ct,
            "{not json",
            StatusCode::BAD_REQUEST,
        ),
        // No content type, and the wrong one.
        (
            "POST",
            "/api/plans",
            None,
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "POST",
            "/api/plans",
            Some("text/plain"),
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // JSON of the wrong shape.
        (
            "PUT",
            "/api/environments/x",
            json_ct,
            "{\"variables\": 3}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/runs",
            json_ct,
            "{\"plan\": \"p\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/api/try",
            json_ct,
            "[]",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A push body that is there but broken.
        (
            "POST",
            "/api/plans/x/push",
            json_ct,
            "{",
            StatusCode::BAD_REQUEST,
        ),
        // A path parameter of the wrong type.
        (
            "GET",
            "/api/plans/x/versions/abc",
            None,
            "",
            StatusCode::BAD_REQUEST,
        ),
        // No such route, no such method.
        ("GET", "/api/nothing", None, "", StatusCode::NOT_FOUND),
        (
            "DELETE",
            "/api/runs",
            json_ct,
            "",
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        // Service errors.
        ("GET", "/api/plans/nope", None, "", StatusCode::NOT_FOUND),
        (
            "POST",
            "/api/runs",
            json_ct,
            "{\"plan\": \"nope\", \"users\": 1, \"spawn_rate\": 0}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/api/runs",
            json_ct,
            "{\"plan\": \"nope\", \"users\": 1, \"spawn_rate\": 1}",
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/api/runs/nope/stop",
            json_ct,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/api/plans/nope/push",
            json_ct,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/api/try",
            json_ct,
            "{\"transaction\": \"t\"}",
            StatusCode::BAD_REQUEST,
        ),
        (
            "DELETE",
            "/api/environments/none",
            json_ct,
            "",
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/api/master/stats",
            None,
            "",
            StatusCode::BAD_GATEWAY,
        ),
    ];
    for (method, uri, ct, body, want) in cases {
        let (status, content_type, json) = raw(&app, method, uri, ct, body).await;
        assert_eq!(status, want, "{method} {uri} {body}: {json}");
        assert!(
            content_type.starts_with("application/json"),
            "{method} {uri}: content type {content_type:?}"
        );
        assert!(
            json["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{method} {uri}: {json}"
        );
    }
}

#[tokio::test]
async fn try_and_push_errors_name_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let (_, created) = call(&app, "POST", "/api/plans", Some(plan()), None).await;
    let id = created["id"].as_str().unwrap().to_string();
    // No worker to send through: 409.
    let (s, e) = call(
        &app,
        "POST",
        "/api/try",
        Some(json!({"plan": id, "transaction": "t"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(e["error"], "no worker available to send through");
    // An unknown environment: 404 naming it, for a push and a try.
    let (s, e) = call(
        &app,
        "POST",
        &format!("/api/plans/{id}/push"),
        Some(json!({"environment": "prod"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(e["error"], "environment prod not found");
    // An invalid plan_json: 422 with the fields.
    let (s, e) = call(
        &app,
        "POST",
        "/api/try",
        Some(json!({"plan_json": {"name": ""}, "transaction": "t"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["errors"].as_array().is_some_and(|a| !a.is_empty()), "{e}");
    // A push with no body and no workers: every (zero) worker answered.
    let (s, e) = call(&app, "POST", &format!("/api/plans/{id}/push"), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e, json!({"results": []}));
}

#[test]
fn service_errors_map_to_their_statuses() {
    let cases: Vec<(ApiError, StatusCode, &str)> = vec![
        (
            PushError::PlanNotFound("p".into()).into(),
            StatusCode::NOT_FOUND,
            "plan p not found",
        ),
        (
            RunError::Busy("r".into()).into(),
            StatusCode::CONFLICT,
            "run r is still going; stop it first",
        ),
        (
            RunError::InvalidSpec(SpecError::Users).into(),
            StatusCode::BAD_REQUEST,
            "users must be at least 1",
        ),
        (
            RunError::NotFound("r".into()).into(),
            StatusCode::NOT_FOUND,
            "run r not found",
        ),
        (
            ProbeError::Refused("host not allowed".into()).into(),
            StatusCode::BAD_REQUEST,
            "host not allowed",
        ),
        (
            ProbeError::Unreachable("x".into()).into(),
            StatusCode::BAD_GATEWAY,
            "no worker could send it: x",
        ),
        (
            StoreError::Corrupt("secret detail".into()).into(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal storage error",
        ),
    ];
    for (err, status, text) in cases {
        assert_eq!(err.status(), status, "{err:?}");
        assert_eq!(err.to_string(), text);
    }
}

#[tokio::test]
async fn plan_crud_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let plan = json!({"name": "a", "host": "http://h", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]});
    let (s, created) = call(&app, "POST", "/api/plans", Some(plan.clone()), None).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["version"], 1);

    let bad = json!({"name": "", "transactions": [{"name": "t", "weight": 0, "steps": [{"name": "s", "method": "FETCH"}]}]});
    let (s, err) = call(&app, "POST", "/api/plans", Some(bad.clone()), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let paths: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for p in [
        "name",
        "transactions[0].weight",
        "transactions[0].steps[0].method",
        "transactions[0].steps[0].url",
    ] {
        assert!(paths.contains(&p), "{p} not in {paths:?}");
    }
    let (_, list) = call(&app, "GET", "/api/plans", None, None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "a bad plan must not be stored"
    );

    let mut v2 = plan.clone();
    v2["name"] = json!("a2");
    let (s, updated) = call(&app, "PUT", &format!("/api/plans/{id}"), Some(v2), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(updated["version"], 2);
    let (s, _) = call(&app, "PUT", &format!("/api/plans/{id}"), Some(bad), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, versions) = call(
        &app,
        "GET",
        &format!("/api/plans/{id}/versions"),
        None,
        None,
    )
    .await;
    assert_eq!(versions, json!([1, 2]));
    let (_, v1) = call(
        &app,
        "GET",
        &format!("/api/plans/{id}/versions/1"),
        None,
        None,
    )
    .await;
    assert_eq!(v1["plan"]["name"], "a");
    let (s, _) = call(&app, "DELETE", &format!("/api/plans/{id}"), None, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = call(&app, "GET", &format!("/api/plans/{id}"), None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(e["error"].as_str().unwrap().contains("not found"));
    let (s, _) = call(
        &app,
        "POST",
        "/api/runs",
        Some(json!({"plan": "nope", "users": 1, "spawn_rate": 1})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &app,
        "PUT",
        "/api/environments/staging",
        Some(json!({"variables": {"a": "1"}})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, envs) = call(&app, "GET", "/api/environments", None, None).await;
    assert_eq!(envs[0]["variables"]["a"], "1");
}

#[tokio::test]
async fn web_auth_guards_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(
        dir.path(),
        Some(WebAuth {
            user: "u".into(),
            pass: "p".into(),
        }),
    );
    let (s, _) = call(&app, "GET", "/api/plans", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app, "GET", "/metrics", None, Some("u:wrong")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app, "GET", "/api/plans", None, Some("u:p")).await;
    assert_eq!(s, StatusCode::OK);
}

/// Sends `method uri` with exactly these headers (no body); returns the status and JSON body.
async fn with_headers(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_browser_cannot_be_used_against_the_bridge() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let (_, created) = call(&app, "POST", "/api/plans", Some(plan()), None).await;
    let push = format!("/api/plans/{}/push", created["id"].as_str().unwrap());
    let json_ct = ("content-type", "application/json");
    // The attack of the issue: a cross-origin push with no body and no content type.
    let (s, e) = with_headers(
        &app,
        "POST",
        &push,
        &[("host", HOST), ("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");
    // With the JSON type (a preflighted fetch the browser would not even send): still refused.
    let (s, e) = with_headers(
        &app,
        "POST",
        &push,
        &[("host", HOST), ("origin", "http://evil.example"), json_ct],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"], "cross-origin requests are refused");
    // No content type, same origin: refused too.
    let (s, e) = with_headers(
        &app,
        "POST",
        &push,
        &[("host", HOST), ("origin", "http://127.0.0.1:8080")],
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("application/json"),
        "{e}"
    );
    // The UI's own push: same origin, JSON type, no body.
    let (s, e) = with_headers(
        &app,
        "POST",
        &push,
        &[("host", HOST), ("origin", "http://127.0.0.1:8080"), json_ct],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e, json!({"results": []}));
    // DNS rebinding: a foreign name reaching the loopback port, for reads too.
    for (method, uri) in [
        ("GET", "/api/plans"),
        ("GET", "/metrics"),
        ("POST", push.as_str()),
    ] {
        let (s, e) = with_headers(
            &app,
            method,
            uri,
            &[
                ("host", "evil.example:8080"),
                ("origin", "http://evil.example:8080"),
                json_ct,
            ],
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {uri}: {e}");
        assert!(e["error"].as_str().unwrap().contains("loopback"), "{e}");
    }
    // A cross-origin delete leaves the plan where it was.
    let del = format!("/api/plans/{}", created["id"].as_str().unwrap());
    let (s, _) = with_headers(
        &app,
        "DELETE",
        &del,
        &[("host", HOST), ("origin", "null"), json_ct],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&app, "GET", &del, None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn metrics_stay_well_formed_whatever_etcd_says() {
    let dir = tempfile::tempdir().unwrap();
    let (state, fleet) = state(dir.path());
    let app = crate::http::app(
        state,
        None,
        Guard {
            loopback_only: true,
        },
    );
    fleet.upsert(
        "/w/evil".into(),
        contract::etcd::WorkerRecord {
            id: "evil".into(),
            address: "127.0.0.1:1\"} 7\nlocust_http_users 1e9\n# \\".into(),
            version: "0".into(),
            labels: Default::default(),
            cpus: 1,
            started_at: 0.0,
            tls: false,
        },
        contract::etcd::Trust::Unchecked,
    );
    let resp = app
        .oneshot(
            axum::http::Request::get("/metrics")
                .header(header::HOST, HOST)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let users: Vec<&&str> = samples
        .iter()
        .filter(|l| l.starts_with("locust_http_users"))
        .collect();
    assert_eq!(users, [&"locust_http_users 0"], "{text}");
    let per_worker: Vec<&&str> = samples
        .iter()
        .filter(|l| l.starts_with("locust_http_worker_users"))
        .collect();
    assert_eq!(
        per_worker,
        [&r#"locust_http_worker_users{address="127.0.0.1:1\"} 7\nlocust_http_users 1e9\n# \\"} 0"#],
        "{text}"
    );
    for l in &samples {
        let value = l.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "{l:?} in {text}");
    }
}

/// Sends JSON with an optional `If-Match`; returns the status, the `ETag` and the JSON body.
async fn versioned(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if let Some(m) = if_match {
        req = req.header(header::IF_MATCH, m);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get(header::ETAG)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        etag,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn named(name: &str) -> Value {
    let mut p = plan();
    p["name"] = json!(name);
    p
}

#[tokio::test]
async fn versions_are_etags_and_a_stale_if_match_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let (s, tag, created) = versioned(&app, "POST", "/api/plans", Some(plan()), None).await;
    assert_eq!((s, tag.as_deref()), (StatusCode::CREATED, Some("\"1\"")));
    let uri = format!("/api/plans/{}", created["id"].as_str().unwrap());
    let (s, tag, _) = versioned(&app, "GET", &uri, None, None).await;
    assert_eq!((s, tag.as_deref()), (StatusCode::OK, Some("\"1\"")));

    // The version read is the one matched: saved once, then that version is stale.
    let (s, tag, v2) = versioned(&app, "PUT", &uri, Some(named("b")), Some("\"1\"")).await;
    assert_eq!((s, tag.as_deref()), (StatusCode::OK, Some("\"2\"")));
    assert_eq!(v2["version"], 2);
    let (s, tag, stale) = versioned(&app, "PUT", &uri, Some(named("c")), Some("\"1\"")).await;
    assert_eq!((s, tag), (StatusCode::CONFLICT, None));
    assert_eq!(stale["current_version"], 2);
    assert!(
        stale["error"].as_str().unwrap().contains("version 2"),
        "{stale}"
    );
    let (_, _, now) = versioned(&app, "GET", &uri, None, None).await;
    assert_eq!(now["name"], "b", "the stale write changed nothing");
    // A weak tag or a bare number matches too; `*` and no If-Match write over anything.
    for (m, v) in [("W/\"2\"", 3), ("3", 4), ("*", 5)] {
        let (s, _, r) = versioned(&app, "PUT", &uri, Some(plan()), Some(m)).await;
        assert_eq!((s, r["version"].as_i64()), (StatusCode::OK, Some(v)), "{m}");
    }
    let (s, _, r) = versioned(&app, "PUT", &uri, Some(plan()), None).await;
    assert_eq!((s, r["version"].as_i64()), (StatusCode::OK, Some(6)));
    let (s, _, r) = versioned(&app, "PUT", &uri, Some(plan()), Some("\"abc\"")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    // A stale write to a plan that is gone is a 404, not a conflict.
    let (s, _, _) = versioned(&app, "PUT", "/api/plans/nope", Some(plan()), Some("1")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Environments: the same rules; If-Match on one that does not exist yet is stale too.
    let env = "/api/environments/staging";
    let vars = |v: &str| Some(json!({"variables": {"k": v}}));
    let (s, _, r) = versioned(&app, "PUT", env, vars("0"), Some("\"1\"")).await;
    assert_eq!(
        (s, &r["current_version"]),
        (StatusCode::CONFLICT, &Value::Null)
    );
    let (s, tag, r) = versioned(&app, "PUT", env, vars("1"), None).await;
    assert_eq!((s, tag.as_deref()), (StatusCode::OK, Some("\"1\"")));
    assert_eq!(r["version"], 1);
    let (_, tag, _) = versioned(&app, "GET", env, None, None).await;
    assert_eq!(tag.as_deref(), Some("\"1\""));
    let (s, tag, _) = versioned(&app, "PUT", env, vars("2"), tag.as_deref()).await;
    assert_eq!((s, tag.as_deref()), (StatusCode::OK, Some("\"2\"")));
    let (s, _, r) = versioned(&app, "PUT", env, vars("3"), Some("\"1\"")).await;
    assert_eq!(
        (s, &r["current_version"]),
        (StatusCode::CONFLICT, &json!(2))
    );
    let (_, _, e) = versioned(&app, "GET", env, None, None).await;
    assert_eq!(e["variables"]["k"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_writers_without_if_match_each_get_their_own_version() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let (_, _, created) = versioned(&app, "POST", "/api/plans", Some(plan()), None).await;
    let uri = format!("/api/plans/{}", created["id"].as_str().unwrap());
    let writers: Vec<_> = (0..50)
        .map(|i| {
            let (app, uri) = (app.clone(), uri.clone());
            tokio::spawn(async move {
                let name = format!("writer {i}");
                let r = versioned(&app, "PUT", &uri, Some(named(&name)), None).await;
                (name, r)
            })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for w in writers {
        let (name, (s, tag, body)) = w.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
        let v = body["version"].as_i64().unwrap();
        assert_eq!(tag, Some(format!("\"{v}\"")));
        assert_eq!(
            body["name"], name,
            "the answer is this writer's own version"
        );
        // What is stored at that version is what this writer sent.
        let (_, _, stored) =
            versioned(&app, "GET", &format!("{uri}/versions/{v}"), None, None).await;
        assert_eq!(stored["plan"]["name"], name);
        assert!(seen.insert(v), "version {v} acknowledged twice");
    }
    assert_eq!(
        seen,
        (2..=51).collect(),
        "50 distinct versions, none skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_writers_with_the_same_if_match_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path(), None);
    let (_, _, created) = versioned(&app, "POST", "/api/plans", Some(plan()), None).await;
    let uri = format!("/api/plans/{}", created["id"].as_str().unwrap());
    let env = "/api/environments/shared";
    versioned(&app, "PUT", env, Some(json!({"variables": {}})), None).await;
    for target in [uri.as_str(), env] {
        let writers: Vec<_> = (0..50)
            .map(|i| {
                let (app, target) = (app.clone(), target.to_string());
                let body = if target.contains("plans") {
                    named(&format!("writer {i}"))
                } else {
                    json!({"variables": {"writer": i.to_string()}})
                };
                tokio::spawn(async move {
                    versioned(&app, "PUT", &target, Some(body), Some("\"1\"")).await
                })
            })
            .collect();
        let (mut won, mut lost) = (0, 0);
        for w in writers {
            let (s, _, body) = w.await.unwrap();
            match s {
                StatusCode::OK => {
                    won += 1;
                    assert_eq!(body["version"], 2);
                }
                StatusCode::CONFLICT => {
                    lost += 1;
                    assert_eq!(body["current_version"], 2, "{body}");
                }
                other => panic!("{other}: {body}"),
            }
        }
        assert_eq!((won, lost), (1, 49), "{target}");
        let (_, tag, _) = versioned(&app, "GET", target, None, None).await;
        assert_eq!(tag.as_deref(), Some("\"2\""), "{target}");
    }
}
