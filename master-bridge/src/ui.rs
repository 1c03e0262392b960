//! The web UI: static files compiled into the binary (`master-bridge/ui/`, plain ES modules, no
//! build step), plus the few routes only the UI needs: bridge info, the master's live statistics,
//! and the worker binary to download (streamed from disk, never read whole).

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::io::ReaderStream;

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
    match path {
        Some(p) => stream_file(&p, "worker").await,
        None => no_worker(),
    }
}

/// How much of a download is read at a time.
const CHUNK: usize = 64 * 1024;

/// Streams the file at `path` as an attachment named `name`, `CHUNK` bytes at a time, with its
/// `Content-Length`: a request never holds more than one chunk of it in memory.
pub async fn stream_file(path: &std::path::Path, name: &str) -> Response {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(_) => return no_worker(),
    };
    let len = match file.metadata().await {
        Ok(m) if m.is_file() => m.len(),
        _ => return no_worker(),
    };
    let body = Body::from_stream(ReaderStream::with_capacity(file, CHUNK));
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response()
}

fn no_worker() -> Response {
    ApiError::Status {
        status: axum::http::StatusCode::NOT_FOUND,
        message: "no worker binary next to this bridge".into(),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_download_is_streamed_in_chunks_and_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("worker");
        let data: Vec<u8> = (0..(CHUNK * 5 + 123))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let resp = stream_file(&path, "worker").await;
        assert_eq!(resp.status(), axum::http::StatusCode::OK);
        assert_eq!(
            resp.headers()[header::CONTENT_LENGTH],
            data.len().to_string().as_str()
        );
        // Nothing is buffered up front: the body's size is not known to it, only to the header.
        let body = resp.into_body();
        assert_eq!(axum::body::HttpBody::size_hint(&body).exact(), None);
        let mut stream = body.into_data_stream();
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.len() <= CHUNK, "a chunk of {} bytes", chunk.len());
            got.extend_from_slice(&chunk);
            chunks += 1;
        }
        assert!(chunks >= 6, "{chunks} chunk(s)");
        assert!(got == data, "the download differs from the file");
    }

    #[tokio::test]
    async fn a_missing_binary_is_a_json_404() {
        let dir = tempfile::tempdir().unwrap();
        let resp = stream_file(&dir.path().join("nope"), "worker").await;
        assert_eq!(resp.status(), axum::http::StatusCode::NOT_FOUND);
        let resp = stream_file(dir.path(), "worker").await;
        assert_eq!(resp.status(), axum::http::StatusCode::NOT_FOUND);
    }
}
