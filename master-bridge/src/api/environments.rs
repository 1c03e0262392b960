//! `/api/environments`: named variable sets, versioned like plans (`ETag` on a read, `If-Match`
//! on a write, `409` with `current_version` when stale; see [`super::plans::if_match`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::plans::{etag, if_match};
use crate::state::AppState;
use crate::store::Write;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/environments", get(list))
        .route("/api/environments/{name}", get(one).put(put).delete(delete))
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.store.environments().await?)))
}

async fn one(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<impl IntoResponse> {
    let e = s
        .store
        .environment(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("environment {name}")))?;
    Ok((etag(e.version), Json(json!(e))))
}

#[derive(Debug, Deserialize)]
struct EnvironmentBody {
    variables: BTreeMap<String, String>,
}

async fn put(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<EnvironmentBody>,
) -> ApiResult<impl IntoResponse> {
    let expected = if_match(&headers)?;
    match s
        .store
        .put_environment(&name, &body.variables, expected)
        .await?
    {
        Write::Done(e) => Ok((etag(e.version), Json(json!(e)))),
        Write::NotFound => Err(ApiError::NotFound(format!("environment {name}"))),
        Write::Stale { current } => Err(ApiError::Stale {
            what: format!("environment {name}"),
            current,
        }),
    }
}

async fn delete(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    if s.store.delete_environment(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("environment {name}")))
    }
}
