//! `POST /api/code`: code for a plan (saved or a draft): `curl` for one step, with the chosen
//! environment's values filled in, or `locust` (a locustfile) for the whole plan.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::plans::{check_draft, plan_document};
use crate::convert;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/code", post(code))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    /// A stored plan's id...
    plan: Option<String>,
    /// ...or a plan document.
    plan_json: Option<Value>,
    /// `curl` or `locust`.
    language: String,
    /// For curl: the transaction's name (absent: a setup step)...
    transaction: Option<String>,
    /// ...and the step's index in it.
    step: Option<usize>,
    /// For curl: the environment whose values fill the templates.
    environment: Option<String>,
}

async fn code(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<CodeBody>,
) -> ApiResult<Json<Value>> {
    let doc = plan_document(&s, body.plan.as_deref(), body.plan_json.as_ref()).await?;
    let values: BTreeMap<String, String> = s
        .pusher
        .environment_vars(body.environment.as_deref())
        .await?
        .into_iter()
        .collect();
    let (plan, _) = check_draft(&doc, values.keys())?;
    let code = match body.language.as_str() {
        "locust" => convert::locustfile(&plan),
        "curl" => {
            let index = body.step.unwrap_or(0);
            let (txn, step) = match &body.transaction {
                Some(name) => {
                    let (ti, t) = plan
                        .transactions
                        .iter()
                        .enumerate()
                        .find(|(_, t)| t.name == *name)
                        .ok_or_else(|| ApiError::NotFound(format!("transaction {name:?}")))?;
                    (Some(ti), t.steps.get(index))
                }
                None => (None, plan.setup.get(index)),
            };
            let step =
                step.ok_or_else(|| ApiError::NotFound(format!("step {index} of that list")))?;
            convert::curl(&plan, txn, step, &values)
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown language {other:?} (expected curl or locust)"
            )));
        }
    };
    Ok(Json(json!({ "language": body.language, "code": code })))
}
