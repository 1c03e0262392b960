//! `/api/import` and the exports: the one converter ([`crate::convert`]) behind the API, so the
//! UI, CI pipelines and the CLI convert the same way. An import stores nothing: it answers the
//! plan, the environment that came with it and every thing not carried over, item by item.
//!
//! - `POST /api/import` `{"format", "content", "environment"?}` → `{"plan", "environment":
//!   {"name", "variables"} | null, "notes": [{"item", "what"}], "warnings"}` (`warnings`: the
//!   plan's variables that neither it nor the environment define, as a save would list them).
//! - `GET /api/plans/{id}/export?format=postman|plan` → a Postman v2.1 collection or the plan.
//! - `GET /api/environments/{name}/export?format=postman|ours` → a Postman environment file or
//!   `{"name", "variables"}`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::plans::check_draft;
use crate::convert::{self, Format, ImportOptions, Imported};
use crate::state::AppState;

/// Largest import request (collections and HAR recordings are large; this bounds memory).
pub const IMPORT_LIMIT: usize = 16 << 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/import",
            post(import).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
        .route("/api/plans/{id}/export", get(export_plan))
        .route("/api/environments/{name}/export", get(export_environment))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportBody {
    format: Format,
    /// The file's text.
    content: String,
    /// A Postman environment (or ours) to read along with a collection.
    #[serde(default)]
    environment: Option<String>,
}

/// The name a JSON document gives itself (`"name"`), if any.
fn doc_name(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).ok()?;
    v.get("name").and_then(Value::as_str).map(str::to_string)
}

/// The environment that came with an import as `{"name", "variables"}`; `null` when none came
/// (no environment document and no variables).
pub fn environment_json(imported: &Imported, name: Option<String>, had_document: bool) -> Value {
    if imported.environment.is_empty() && !had_document {
        return Value::Null;
    }
    json!({"name": name, "variables": imported.environment})
}

async fn import(JsonBody(body): JsonBody<ImportBody>) -> ApiResult<Json<Value>> {
    let format = body.format;
    let env_doc = match format {
        Format::PostmanEnvironment => Some(body.content.as_str()),
        _ => body.environment.as_deref(),
    };
    let env_name = env_doc.and_then(doc_name);
    let had_env = env_doc.is_some();
    let options = ImportOptions {
        environment: body.environment,
    };
    let content = body.content;
    let imported = tokio::task::spawn_blocking(move || convert::import(format, &content, &options))
        .await
        .map_err(|e| ApiError::Status {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the import stopped: {e}"),
        })?
        .map_err(|e| ApiError::Status {
            status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            message: e.to_string(),
        })?;
    let warnings = if imported.plan.is_null() {
        Vec::new()
    } else {
        let defined: Vec<String> = imported.environment.keys().cloned().collect();
        check_draft(&imported.plan, &defined)?.1
    };
    Ok(Json(json!({
        "plan": imported.plan,
        "environment": environment_json(&imported, env_name, had_env),
        "notes": imported.notes,
        "warnings": warnings,
    })))
}

#[derive(Debug, Deserialize, Default)]
struct ExportQuery {
    format: Option<String>,
}

fn export_format(q: Result<Query<ExportQuery>, QueryRejection>) -> ApiResult<String> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    Ok(q.format.unwrap_or_else(|| "postman".into()))
}

async fn export_plan(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let format = export_format(q)?;
    let p = s
        .store
        .plan(&id, None)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("plan {id}")))?;
    match format.as_str() {
        "postman" => convert::export_postman(&p.plan)
            .map(Json)
            .map_err(|e| ApiError::Status {
                status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                message: e.to_string(),
            }),
        "plan" => Ok(Json(p.plan)),
        other => Err(ApiError::BadRequest(format!(
            "unknown export format {other:?} (expected postman or plan)"
        ))),
    }
}

async fn export_environment(
    State(s): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<ExportQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let format = export_format(q)?;
    let env = s
        .store
        .environment(&name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("environment {name}")))?;
    let variables: Map<String, Value> = env
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    match format.as_str() {
        "postman" => Ok(Json(convert::export_postman_environment(
            &env.name, &variables,
        ))),
        "ours" | "plan" => Ok(Json(json!({"name": env.name, "variables": variables}))),
        other => Err(ApiError::BadRequest(format!(
            "unknown export format {other:?} (expected postman or ours)"
        ))),
    }
}
