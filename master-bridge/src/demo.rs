//! `master-bridge demo-target`: a small shop for trying the fleet locally. `GET /` (a page whose
//! script, on Buy, logs in, orders and reads the order: a session to record as HAR),
//! `POST /login` (`{"token": ...}`), `POST /orders` (201 `{"id": n}` with a valid
//! `Authorization: Bearer <token>`, else 401), `GET /orders/{id}`, `GET /health`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

/// The shop's page: its script logs in, orders and reads the order back when Buy is clicked,
/// as a browser session to record (HAR) and replay.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
<link rel="stylesheet" href="/static/shop.css"><script src="/static/shop.js" defer></script></head>
<body><h1>locust-http demo shop</h1><button id="buy">Buy item 1</button><p id="order" role="status"></p></body></html>
"#;

const SCRIPT: &str = r#"document.getElementById("buy").addEventListener("click", async () => {
  const json = { "content-type": "application/json" };
  const login = await (await fetch("/login", { method: "POST", headers: json, body: JSON.stringify({ user: "demo" }) })).json();
  const auth = { ...json, authorization: `Bearer ${login.token}` };
  const order = await (await fetch("/orders", { method: "POST", headers: auth, body: JSON.stringify({ item: 1 }) })).json();
  const seen = await (await fetch(`/orders/${order.id}`, { headers: auth })).json();
  document.getElementById("order").textContent = `Order ${seen.id}: ${seen.status}`;
});
"#;

const STYLE: &str =
    "body { font-family: sans-serif; margin: 2rem; } #order { font-weight: bold; }\n";

#[derive(Debug, Default)]
struct Shop {
    next: AtomicU64,
    tokens: Mutex<HashSet<String>>,
}

/// The demo shop's routes.
pub fn app() -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/static/shop.js",
            get(|| async { ([(CONTENT_TYPE, "text/javascript")], SCRIPT) }),
        )
        .route(
            "/static/shop.css",
            get(|| async { ([(CONTENT_TYPE, "text/css")], STYLE) }),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/login", post(login))
        .route("/orders", post(order))
        .route(
            "/orders/{id}",
            get(|Path(id): Path<u64>| async move { Json(json!({"id": id, "status": "paid"})) }),
        )
        .with_state(Arc::new(Shop::default()))
}

async fn login(State(shop): State<Arc<Shop>>) -> impl IntoResponse {
    let token = format!("tok{}", shop.next.fetch_add(1, Ordering::Relaxed));
    shop.tokens
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(token.clone());
    Json(json!({"token": token}))
}

async fn order(State(shop): State<Arc<Shop>>, headers: HeaderMap) -> impl IntoResponse {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = token.is_some_and(|t| {
        shop.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(t)
    });
    if known {
        let id = shop.next.fetch_add(1, Ordering::Relaxed);
        (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "log in first"})),
        )
            .into_response()
    }
}

/// Serves the shop on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, app())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
