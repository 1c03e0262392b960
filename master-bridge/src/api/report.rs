//! `/api/report`: the Locust master's HTML report of the current or last run, passed through
//! (for `master-bridge run --bridge-url ... --html FILE` and for people).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::error::ApiResult;
use crate::state::AppState;

/// The largest report passed through.
pub const REPORT_LIMIT: usize = 32 << 20;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/report", get(report))
}

async fn report(State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    let html = s.master.report(REPORT_LIMIT).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"report.html\"",
            ),
        ],
        html,
    ))
}
