//! `/api/environments`: named variable sets.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/environments", get(list))
        .route("/api/environments/{name}", get(one).put(put).delete(delete))
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.store.environments().await?)))
}

async fn one(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    let e = s
        .store
        .environment(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("environment {name}")))?;
    Ok(Json(json!(e)))
}

#[derive(Debug, Deserialize)]
struct EnvironmentBody {
    variables: BTreeMap<String, String>,
}

async fn put(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<EnvironmentBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        s.store.put_environment(&name, &body.variables).await?
    )))
}

async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    if s.store.delete_environment(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("environment {name}")))
    }
}
