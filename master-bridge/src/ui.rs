//! The web UI: static files compiled into the binary (`master-bridge/ui/`, plain ES modules, no
//! build step: [`FILES`] lists every one), plus the few routes only the UI needs: bridge info,
//! the master's live statistics, and the worker binary to download (streamed from disk, never
//! read whole).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio_util::io::ReaderStream;

use crate::api::ApiError;
use crate::state::AppState;

const INDEX: &str = include_str!("../ui/index.html");

/// Every file under `/ui/`: its path there and its text. `app.js` is the router; each page is
/// a module under `pages/`, the shared code under `lib/`.
pub const FILES: &[(&str, &str)] = &[
    ("app.js", include_str!("../ui/app.js")),
    ("style.css", include_str!("../ui/style.css")),
    ("lib/api.js", include_str!("../ui/lib/api.js")),
    ("lib/dom.js", include_str!("../ui/lib/dom.js")),
    ("lib/scope.js", include_str!("../ui/lib/scope.js")),
    ("lib/shared.js", include_str!("../ui/lib/shared.js")),
    ("lib/widgets.js", include_str!("../ui/lib/widgets.js")),
    // uPlot, pinned by ui/vendor/package.json (MIT, ui/vendor/uPlot.LICENSE).
    (
        "vendor/uPlot.esm.js",
        include_str!("../ui/vendor/uPlot.esm.js"),
    ),
    // jsdiff, pinned by ui/vendor/package.json (BSD-3-Clause, ui/vendor/diff.LICENSE).
    (
        "vendor/diff.min.js",
        include_str!("../ui/vendor/diff.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        include_str!("../ui/vendor/uPlot.min.css"),
    ),
    (
        "pages/environments.js",
        include_str!("../ui/pages/environments.js"),
    ),
    ("pages/fleet.js", include_str!("../ui/pages/fleet.js")),
    ("pages/runs.js", include_str!("../ui/pages/runs.js")),
    (
        "pages/runs/compare.js",
        include_str!("../ui/pages/runs/compare.js"),
    ),
    (
        "pages/collections/index.js",
        include_str!("../ui/pages/collections/index.js"),
    ),
    (
        "pages/collections/auth.js",
        include_str!("../ui/pages/collections/auth.js"),
    ),
    (
        "pages/collections/versions.js",
        include_str!("../ui/pages/collections/versions.js"),
    ),
    (
        "pages/collections/editor.js",
        include_str!("../ui/pages/collections/editor.js"),
    ),
    (
        "pages/collections/importer.js",
        include_str!("../ui/pages/collections/importer.js"),
    ),
    (
        "pages/collections/send.js",
        include_str!("../ui/pages/collections/send.js"),
    ),
    (
        "pages/collections/state.js",
        include_str!("../ui/pages/collections/state.js"),
    ),
    (
        "pages/collections/tree.js",
        include_str!("../ui/pages/collections/tree.js"),
    ),
];

/// The UI's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route("/ui/{*file}", get(ui_file))
        .route("/api/info", get(info))
        .route("/api/master/stats", get(master_stats))
        .route("/download/worker", get(download_worker))
}

/// One of [`FILES`], with its content type; anything else is a JSON 404.
async fn ui_file(Path(file): Path<String>) -> Response {
    let Some((name, body)) = FILES.iter().find(|(name, _)| *name == file) else {
        return ApiError::NotFound(format!(
            "/ui/{}",
            file.chars().take(100).collect::<String>()
        ))
        .into_response();
    };
    let ct = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    ([(header::CONTENT_TYPE, ct)], *body).into_response()
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

    #[test]
    fn every_ui_module_imported_is_served() {
        // Each `import ... from "./x.js"` of a served file names another served file.
        let served: Vec<&str> = FILES.iter().map(|(n, _)| *n).collect();
        let mut on_disk = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    if !p.ends_with("node_modules") {
                        dirs.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "js" || x == "css") {
                    let rel = p
                        .strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    on_disk.push(rel);
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = served.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "FILES lists every file of ui/");
        for (name, text) in FILES {
            let dir = std::path::Path::new(name).parent().unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(spec) = line.split('"').nth(1) else {
                    continue;
                };
                let mut parts: Vec<&str> = dir
                    .to_str()
                    .unwrap()
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .collect();
                for seg in spec.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let target = parts.join("/");
                assert!(served.contains(&target.as_str()), "{name} imports {target}");
            }
        }
    }

    #[test]
    fn the_embedded_chart_library_is_the_pinned_version() {
        let pkg: serde_json::Value =
            serde_json::from_str(include_str!("../ui/vendor/package.json"))
                .expect("vendor/package.json");
        let pinned = pkg["dependencies"]["uplot"].as_str().expect("uplot pinned");
        let (_, js) = FILES
            .iter()
            .find(|(n, _)| *n == "vendor/uPlot.esm.js")
            .expect("served");
        let banner: String = js.chars().take(400).collect();
        assert!(
            banner.contains(&format!("(v{pinned})")),
            "vendor/uPlot.esm.js is not uPlot {pinned}: copy it again (npm ci && npm run copy)"
        );
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
