//! `/api/runs`: start a run (one at a time, its plan checked against the chosen environment
//! first), stop it, the run history; each run's sampled statistics (`history`), its exceptions
//! and its files (the master's CSVs and HTML report, kept in the store when it ended).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::plans::check_defined;
use crate::runs::RunSpec;
use crate::runs::record::{RUN_FILES, history_csv};
use crate::state::AppState;
use crate::store::RunRecord;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/runs", get(list).post(start))
        .route("/api/runs/{id}", get(one))
        .route("/api/runs/{id}/stop", post(stop))
        .route("/api/runs/{id}/history", get(history))
        .route("/api/runs/{id}/exceptions", get(exceptions))
        .route("/api/runs/{id}/files", get(files))
        .route("/api/runs/{id}/files/{name}", get(file))
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

async fn record(s: &AppState, id: &str) -> ApiResult<RunRecord> {
    s.store
        .run(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("run {id}")))
}

#[derive(Debug, serde::Deserialize)]
struct After {
    /// Only the samples taken after this time (seconds since the epoch), for live charts.
    after: Option<f64>,
}

/// The master's numbers sampled every second while the run went.
async fn history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<After>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    record(&s, &id).await?;
    let mut samples = s.store.samples(&id).await?;
    if let Some(after) = q.after {
        samples.retain(|x| x["at"].as_f64().is_some_and(|at| at > after));
    }
    Ok(Json(json!(samples)))
}

/// The exceptions table: live from the master while the run goes, then as kept.
async fn exceptions(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let run = record(&s, &id).await?;
    if run.state.is_live() {
        return Ok(Json(s.master.exceptions().await?));
    }
    let kept = s.store.run_file(&id, "exceptions.json").await?;
    Ok(Json(
        kept.and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| json!({"exceptions": []})),
    ))
}

/// The files kept with the run (`history.csv` is made from the samples).
async fn files(State(s): State<AppState>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    record(&s, &id).await?;
    let mut names = s.store.run_file_names(&id).await?;
    names.push("history.csv".into());
    names.sort();
    Ok(Json(json!(names)))
}

async fn file(
    State(s): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    record(&s, &id).await?;
    let (body, content_type) = if name == "history.csv" {
        let samples = s.store.samples(&id).await?;
        (
            history_csv(&samples).into_bytes(),
            "text/csv; charset=utf-8",
        )
    } else {
        let Some((_, _, content_type)) = RUN_FILES.iter().find(|(n, _, _)| *n == name) else {
            let known: Vec<&str> = RUN_FILES.iter().map(|(n, _, _)| *n).collect();
            return Err(ApiError::NotFound(format!(
                "file {name:?} (a run keeps history.csv, {})",
                known.join(", ")
            )));
        };
        let body = s.store.run_file(&id, &name).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "{name} of run {id} (kept when a run ends, if the master answered)"
            ))
        })?;
        (body, *content_type)
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"run-{id}-{name}\""),
            ),
        ],
        body,
    ))
}
