//! The web UI: static files compiled into the binary (`master-bridge/ui/`, plain ES modules, no
//! build step), plus the few routes only the UI needs: bridge info, the master's live statistics,
//! and the worker binary to download.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::api::ApiError;
use crate::state::AppState;

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/style.css");

/// The UI's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route("/ui/app.js", get(|| async { js(APP_JS) }))
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

async fn info(State(b): State<AppState>) -> impl IntoResponse {
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "etcd": b.info.etcd,
        "master_host": b.info.master.host,
        "master_port": b.info.master.port,
        "master_web": b.master.url(),
        "platform": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
    }))
}

/// The master's `/stats/requests` (live rows, user count, current percentiles).
async fn master_stats(State(b): State<AppState>) -> Response {
    match b.master.live().await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The `worker` binary that sits next to this `master-bridge` (same build, same platform).
async fn download_worker() -> Response {
    let path = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("worker")));
    let bytes = match path {
        Some(p) => tokio::fs::read(p).await.ok(),
        None => None,
    };
    match bytes {
        Some(bytes) => (
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
        None => ApiError::Status {
            status: axum::http::StatusCode::NOT_FOUND,
            message: "no worker binary next to this bridge".into(),
        }
        .into_response(),
    }
}
