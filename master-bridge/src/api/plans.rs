//! `/api/plans`: plans and their versions (validated with the workers' own rules before anything
//! is stored), and pushing a plan to workers.
//!
//! Optimistic concurrency, the HTTP way: a plan's version is its `ETag`; a `PUT` with
//! `If-Match` saves only over that version, else `409` with `current_version` ([`if_match`],
//! [`etag`], shared with the environments). A `PUT` without `If-Match` always saves.
//!
//! Saving a plan that uses variables nobody defines yet is allowed (as in Postman): the answer
//! lists them as `warnings` (`?environment=NAME` counts that environment's variables as
//! defined). A push, like a Send or a run, is checked against the chosen environment and
//! refused with every missing name at once ([`check_defined`]).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use contract::{CheckOptions, Plan, UndefinedVar};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use crate::fleet::Selection;
use crate::state::AppState;
use crate::store::{PlanRecord, Write};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/plans", get(list).post(create))
        .route("/api/plans/{id}", get(one).put(update).delete(delete))
        .route("/api/plans/{id}/versions", get(versions))
        .route("/api/plans/{id}/versions/{version}", get(version))
        .route("/api/plans/{id}/push", post(push))
}

/// Checks a plan for a Send, push or run: every variable must be defined by the plan or by
/// `defined` (the chosen environment, a Send's values); otherwise `422` naming every missing
/// variable and every use.
pub fn check_defined<'a>(
    plan: &Value,
    defined: impl IntoIterator<Item = &'a String>,
) -> Result<Plan, ApiError> {
    check_defined_where(plan, defined, |_| true)
}

/// [`check_defined`] counting only the uses at paths `sent` keeps (a Send of one request
/// is not refused for a variable another request uses).
pub fn check_defined_where<'a>(
    plan: &Value,
    defined: impl IntoIterator<Item = &'a String>,
    sent: impl Fn(&str) -> bool,
) -> Result<Plan, ApiError> {
    let mut v = Plan::from_value_with(plan, &CheckOptions::lenient(defined.into_iter().cloned()))
        .map_err(|e| ApiError::InvalidPlan(e.field_errors()))?;
    v.undefined.retain(|u| sent(&u.path));
    if v.undefined.is_empty() {
        Ok(v.plan)
    } else {
        Err(ApiError::UndefinedVariables {
            missing: UndefinedVar::names(&v.undefined),
            errors: v.undefined.iter().map(UndefinedVar::field_error).collect(),
        })
    }
}

/// The plan a request names: a stored plan's id (`plan`) or a plan document (`plan_json`),
/// exactly one of them.
pub async fn plan_document(
    s: &AppState,
    id: Option<&str>,
    doc: Option<&Value>,
) -> ApiResult<Value> {
    match (id, doc) {
        (Some(id), None) => Ok(s
            .store
            .plan(id, None)
            .await?
            .ok_or_else(|| not_found(id))?
            .plan),
        (None, Some(p)) => Ok(p.clone()),
        _ => Err(ApiError::BadRequest(
            "give either \"plan\" (an id) or \"plan_json\"".into(),
        )),
    }
}

/// Validates a plan to be saved: a wrong field refuses it, a variable nobody defines (plan,
/// data, extractors, the environment `defined`) is a warning.
pub fn check_draft<'a>(
    plan: &Value,
    defined: impl IntoIterator<Item = &'a String>,
) -> Result<(Plan, Vec<Value>), ApiError> {
    let v = Plan::from_value_with(plan, &CheckOptions::lenient(defined.into_iter().cloned()))
        .map_err(|e| ApiError::InvalidPlan(e.field_errors()))?;
    Ok((v.plan, warnings(&v.undefined)))
}

/// Undefined variable uses as `[{variable, path, message}]`.
pub fn warnings(undefined: &[UndefinedVar]) -> Vec<Value> {
    undefined
        .iter()
        .map(|u| json!({"variable": u.name, "path": u.path, "message": u.field_error().message}))
        .collect()
}

/// The `If-Match` of a write as a version: none (or `*`) writes over any version; a value that
/// is not one of our `ETag`s is a `400`.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(tag)
        .parse::<i64>()
        .map(Some)
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "If-Match must be a version's ETag, e.g. \"3\" (got {:?})",
                text.chars().take(40).collect::<String>()
            ))
        })
}

/// The `ETag` header of a version.
pub fn etag(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    [(header::ETAG, value)]
}

fn plan_json(p: &PlanRecord) -> Value {
    json!({"id": p.id, "name": p.name, "version": p.version, "created_at": p.created_at,
           "updated_at": p.updated_at, "plan": p.plan})
}

/// `?environment=NAME` on a save.
#[derive(Debug, Deserialize, Default)]
struct SaveQuery {
    environment: Option<String>,
}

async fn save_query(
    s: &AppState,
    q: Result<Query<SaveQuery>, QueryRejection>,
) -> ApiResult<Vec<String>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let vars = s
        .pusher
        .environment_vars(q.environment.as_deref().filter(|n| !n.is_empty()))
        .await?;
    Ok(vars.into_keys().collect())
}

fn with_warnings(p: &PlanRecord, warnings: Vec<Value>) -> Value {
    let mut v = plan_json(p);
    v["warnings"] = Value::Array(warnings);
    v
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("plan {id}"))
}

async fn list(State(s): State<AppState>) -> ApiResult<Json<Value>> {
    let plans: Vec<Value> = s.store.plans().await?.iter().map(plan_json).collect();
    Ok(Json(Value::Array(plans)))
}

type Versioned = (
    StatusCode,
    [(header::HeaderName, HeaderValue); 1],
    Json<Value>,
);

async fn create(
    State(s): State<AppState>,
    q: Result<Query<SaveQuery>, QueryRejection>,
    JsonBody(plan): JsonBody<Value>,
) -> ApiResult<Versioned> {
    let defined = save_query(&s, q).await?;
    let (valid, warnings) = check_draft(&plan, &defined)?;
    let rec = s.store.create_plan(&valid.name, &plan).await?;
    Ok((
        StatusCode::CREATED,
        etag(rec.version),
        Json(with_warnings(&rec, warnings)),
    ))
}

async fn one(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Versioned> {
    let p = s
        .store
        .plan(&id, None)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok((StatusCode::OK, etag(p.version), Json(plan_json(&p))))
}

async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    q: Result<Query<SaveQuery>, QueryRejection>,
    JsonBody(plan): JsonBody<Value>,
) -> ApiResult<Versioned> {
    let expected = if_match(&headers)?;
    let defined = save_query(&s, q).await?;
    let (valid, warnings) = check_draft(&plan, &defined)?;
    match s
        .store
        .update_plan(&id, &valid.name, &plan, expected)
        .await?
    {
        Write::Done(p) => Ok((
            StatusCode::OK,
            etag(p.version),
            Json(with_warnings(&p, warnings)),
        )),
        Write::NotFound => Err(not_found(&id)),
        Write::Stale { current } => Err(ApiError::Stale {
            what: format!("plan {id}"),
            current,
        }),
    }
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
    let plan = s
        .store
        .plan(&id, None)
        .await?
        .ok_or_else(|| not_found(&id))?;
    check_defined(&plan.plan, variables.keys())?;
    let results = s.pusher.push(&id, &body.selection, &variables).await?;
    Ok(Json(json!({"results": results})))
}
