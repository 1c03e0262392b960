//! `/api/plans`: plans and their versions (validated with the workers' own rules before anything
//! is stored), and pushing a plan to workers.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::Plan;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use crate::fleet::Selection;
use crate::state::AppState;
use crate::store::PlanRecord;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/plans", get(list).post(create))
        .route("/api/plans/{id}", get(one).put(update).delete(delete))
        .route("/api/plans/{id}/versions", get(versions))
        .route("/api/plans/{id}/versions/{version}", get(version))
        .route("/api/plans/{id}/push", post(push))
}

/// Validates a plan document with the workers' own rules.
pub fn validate(plan: &Value) -> Result<Plan, ApiError> {
    Plan::from_value(plan).map_err(|e| ApiError::InvalidPlan(e.field_errors()))
}

fn plan_json(p: &PlanRecord) -> Value {
    json!({"id": p.id, "name": p.name, "version": p.version, "created_at": p.created_at,
           "updated_at": p.updated_at, "plan": p.plan})
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("plan {id}"))
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let plans: Vec<Value> = s.store.plans().await?.iter().map(plan_json).collect();
    Ok(Json(Value::Array(plans)))
}

async fn create(
    State(s): State<AppState>,
    JsonBody(plan): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let valid = validate(&plan)?;
    let rec = s.store.create_plan(&valid.name, &plan).await?;
    Ok((StatusCode::CREATED, Json(plan_json(&rec))))
}

async fn one(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let p = s
        .store
        .plan(&id, None)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(plan_json(&p)))
}

async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(plan): JsonBody<Value>,
) -> ApiResult<Json<Value>> {
    let valid = validate(&plan)?;
    let p = s
        .store
        .update_plan(&id, &valid.name, &plan)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(plan_json(&p)))
}

async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if s.store.delete_plan(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

async fn versions(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    s.store
        .plan(&id, None)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(json!(s.store.plan_versions(&id).await?)))
}

async fn version(
    State(s): State<AppState>,
    Path((id, version)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let p = s
        .store
        .plan(&id, Some(version))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id} version {version}")))?;
    Ok(Json(plan_json(&p)))
}

#[derive(Debug, Deserialize, Default)]
struct PushBody {
    #[serde(flatten)]
    selection: Selection,
    /// Environment name whose variables go with the plan.
    environment: Option<String>,
}

async fn push(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Option<JsonBody<PushBody>>,
) -> ApiResult<Json<Value>> {
    let body = body.map(|JsonBody(b)| b).unwrap_or_default();
    let variables = s
        .pusher
        .environment_vars(body.environment.as_deref())
        .await?;
    let results = s.pusher.push(&id, &body.selection, &variables).await?;
    Ok(Json(json!({"results": results})))
}
