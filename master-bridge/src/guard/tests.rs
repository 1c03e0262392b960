//! The guard on a small router, without a socket (`Router` + `oneshot`).

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tower::ServiceExt;

use super::*;

fn router(loopback_only: bool) -> Router {
    Router::new()
        .route("/api/plans/{id}/push", post(|| async { "pushed" }))
        .route("/api/plans", get(|| async { "[]" }))
        .layer(axum::middleware::from_fn_with_state(
            Guard { loopback_only },
            enforce,
        ))
}

async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
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
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

const PUSH: &str = "/api/plans/p/push";
const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn a_cross_origin_push_is_refused_with_json() {
    let app = router(true);
    let (s, body) = send(
        &app,
        "POST",
        PUSH,
        &[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
            JSON,
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "cross-origin requests are refused");
    // Another port of the same host is another origin.
    let (s, _) = send(
        &app,
        "POST",
        PUSH,
        &[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:9999"),
            JSON,
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_push_without_the_json_content_type_is_refused() {
    let app = router(true);
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut headers = vec![("host", "localhost:8080")];
        if let Some(ct) = ct {
            headers.push(("content-type", ct));
        }
        let (s, body) = send(&app, "POST", PUSH, &headers).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert!(body.contains("application/json"), "{body}");
    }
}

#[tokio::test]
async fn the_uis_own_requests_pass() {
    let app = router(true);
    for host in [
        "127.0.0.1:8080",
        "localhost:8080",
        "[::1]:8080",
        "LOCALHOST",
        "127.0.0.1",
    ] {
        let origin = format!("http://{host}");
        let (s, body) = send(
            &app,
            "POST",
            PUSH,
            &[
                ("host", host),
                ("origin", &origin),
                ("content-type", "application/json; charset=utf-8"),
            ],
        )
        .await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, "pushed"), "{host}");
        // Without an Origin (curl, the test harness) too.
        let (s, _) = send(&app, "POST", PUSH, &[("host", host), JSON]).await;
        assert_eq!(s, StatusCode::OK, "{host}");
        let (s, _) = send(&app, "GET", "/api/plans", &[("host", host)]).await;
        assert_eq!(s, StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn a_foreign_host_on_loopback_is_refused() {
    let app = router(true);
    for host in [
        "evil.example",
        "evil.example:8080",
        "127.0.0.1.evil.example",
        "localhost.evil:80",
        "127.0.0.2:8080",
        "[::1]x",
        "localhost:",
        "localhost:80x",
    ] {
        let (s, body) = send(&app, "GET", "/api/plans", &[("host", host)]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{host}");
        assert!(body.contains("loopback"), "{body}");
    }
    // No Host at all: refused as well.
    let (s, _) = send(&app, "GET", "/api/plans", &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bound to the network (behind a login), a real name is fine, and its own origin too.
    let app = router(false);
    let (s, _) = send(
        &app,
        "POST",
        PUSH,
        &[
            ("host", "bridge.corp:8080"),
            ("origin", "https://bridge.corp:8080"),
            JSON,
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(
        &app,
        "POST",
        PUSH,
        &[
            ("host", "bridge.corp:8080"),
            ("origin", "http://evil.example"),
            JSON,
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
