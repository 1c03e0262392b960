//! `/api/runs`: start a run (one at a time, its plan checked against the chosen environment
//! first), stop it, the run history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::plans::check_defined;
use crate::runs::RunSpec;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/runs", get(list).post(start))
        .route("/api/runs/{id}", get(one))
        .route("/api/runs/{id}/stop", post(stop))
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.store.runs().await?)))
}

async fn start(
    State(s): State<AppState>,
    JsonBody(spec): JsonBody<RunSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // A plan that is not there is the run service's to report.
    if let Some(plan) = s.store.plan(&spec.plan, None).await? {
        let variables = s
            .pusher
            .environment_vars(spec.environment.as_deref())
            .await?;
        check_defined(&plan.plan, variables.keys())?;
    }
    let run = s.runs.start(spec).await?;
    Ok((StatusCode::CREATED, Json(json!(run))))
}

async fn one(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let r = s
        .store
        .run(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("run {id}")))?;
    Ok(Json(json!(r)))
}

async fn stop(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.runs.stop(&id).await?)))
}
