//! `master-bridge demo-target`: a small shop for trying the fleet locally. `GET /` (a page),
//! `POST /login` (`{"token": ...}`), `POST /orders` (201 `{"id": n}` with a valid
//! `Authorization: Bearer <token>`, else 401), `GET /orders/{id}`, `GET /health`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

#[derive(Debug, Default)]
struct Shop {
    next: AtomicU64,
    tokens: Mutex<HashSet<String>>,
}

/// The demo shop's routes.
pub fn app() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "<html><body><h1>locust-http demo shop</h1></body></html>" }),
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
