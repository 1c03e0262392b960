//! The web UI: static files compiled into the binary (`master-bridge/ui/`, plain ES modules, no
//! build step), plus the few routes only the UI needs: bridge info, the master's live statistics,
//! and the worker binary to download.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::bridge::Bridge;

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const CONVERT_JS: &str = include_str!("../ui/convert.js");
const STYLE: &str = include_str!("../ui/style.css");

/// The UI's routes.
pub fn routes() -> Router<Arc<Bridge>> {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route("/ui/app.js", get(|| async { js(APP_JS) }))
        .route("/ui/convert.js", get(|| async { js(CONVERT_JS) }))
        .route(
            "/ui/style.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], STYLE) }),
        )
        .route("/api/info", get(info))
        .route("/api/master/stats", get(master_stats))
        .route("/download/worker", get(download_worker))
}

fn js(body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn info(State(b): State<Arc<Bridge>>) -> impl IntoResponse {
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "etcd": b.cfg.etcd,
        "master_host": b.cfg.master_host,
        "master_port": b.cfg.master_port,
        "master_web": b.master.url(),
        "platform": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// The master's `/stats/requests` (live rows, user count, current percentiles).
async fn master_stats(State(b): State<Arc<Bridge>>) -> Response {
    match b.master.live().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// The `worker` binary that sits next to this `master-bridge` (same build, same platform).
async fn download_worker() -> Response {
    let path = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("worker")));
    match path.map(std::fs::read) {
        Some(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"worker\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no worker binary next to this bridge"})),
        )
            .into_response(),
    }
}
