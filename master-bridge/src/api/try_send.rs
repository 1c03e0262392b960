//! `/api/try`: one step or transaction sent once through a worker (the UI's Send). Named
//! `try_send` because `try` is a Rust keyword.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use contract::pb;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::JsonBody;
use super::plans::{check_defined_where, plan_document};
use crate::fleet::Selection;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/try", post(try_request))
}

#[derive(Debug, Deserialize)]
struct TryBody {
    /// A stored plan's id...
    plan: Option<String>,
    /// ...or a plan document.
    plan_json: Option<Value>,
    transaction: String,
    step: Option<u32>,
    #[serde(default)]
    run_setup: bool,
    environment: Option<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(flatten)]
    selection: Selection,
}

async fn try_request(
    State(s): State<AppState>,
    JsonBody(body): JsonBody<TryBody>,
) -> ApiResult<Json<Value>> {
    let plan = plan_document(&s, body.plan.as_deref(), body.plan_json.as_ref()).await?;
    let mut variables = s
        .pusher
        .environment_vars(body.environment.as_deref())
        .await?;
    variables.extend(body.variables);
    let txn = plan["transactions"].as_array().and_then(|ts| {
        ts.iter()
            .position(|t| t["name"] == body.transaction.as_str())
    });
    let sent = |path: &str| is_sent(path, txn, body.step, body.run_setup);
    check_defined_where(&plan, variables.keys(), sent)?;
    let resp = s
        .prober
        .try_run(
            pb::TryRequest {
                plan_json: plan.to_string(),
                transaction: body.transaction,
                step: body.step,
                run_setup: body.run_setup,
                variables: variables.into_iter().collect(),
                body_limit: 0,
                sealed: Vec::new(),
            },
            &body.selection,
        )
        .await?;
    let steps: Vec<Value> = resp.steps.into_iter().map(step_json).collect();
    Ok(Json(json!({"passed": resp.passed, "steps": steps})))
}

/// Whether the template at `path` is part of what a Send of transaction `txn` (its step `step`,
/// or all of it) uses: plan-level fields always, setup only when it runs, no other transaction.
fn is_sent(path: &str, txn: Option<usize>, step: Option<u32>, run_setup: bool) -> bool {
    if path.starts_with("setup") {
        return run_setup;
    }
    let Some(rest) = path.strip_prefix("transactions[") else {
        return true;
    };
    let (index, rest) = rest.split_once(']').unwrap_or((rest, ""));
    if txn.is_none_or(|t| index != t.to_string()) {
        return false;
    }
    match step {
        Some(s) => !rest.starts_with(".steps[") || rest.starts_with(&format!(".steps[{s}]")),
        None => true,
    }
}

#[cfg(test)]
#[test]
fn a_send_counts_only_the_variables_of_what_it_sends() {
    assert!(is_sent("auth.token", Some(1), Some(0), false));
    assert!(is_sent(
        "transactions[1].auth.token",
        Some(1),
        Some(0),
        false
    ));
    assert!(is_sent(
        "transactions[1].steps[0].url",
        Some(1),
        Some(0),
        false
    ));
    assert!(!is_sent(
        "transactions[1].steps[2].url",
        Some(1),
        Some(0),
        false
    ));
    assert!(is_sent("transactions[1].steps[2].url", Some(1), None, true));
    assert!(!is_sent(
        "transactions[10].steps[0].url",
        Some(1),
        None,
        true
    ));
    assert!(!is_sent("setup[0].url", Some(1), Some(0), false));
    assert!(is_sent("setup[0].url", Some(1), None, true));
}

fn step_json(s: pb::StepTrace) -> Value {
    let headers = |h: Vec<pb::Header>| {
        h.into_iter()
            .map(|h| json!([h.name, h.value]))
            .collect::<Vec<_>>()
    };
    json!({
        "step": s.step, "method": s.method, "url": s.url,
        "request_headers": headers(s.request_headers), "request_body": s.request_body,
        "status": s.status, "reason": s.reason, "response_headers": headers(s.response_headers),
        "response_body": s.response_body, "response_body_truncated": s.response_body_truncated,
        "response_time_ms": s.response_time_ms, "content_length": s.content_length,
        "extracted": s.extracted,
        "assertions": s.assertions.into_iter().map(|a| json!({"assertion": a.assertion, "passed": a.passed, "message": a.message})).collect::<Vec<_>>(),
        "error": s.error,
    })
}
