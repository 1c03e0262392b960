//! The REST API (JSON) and `/metrics`. Errors are mapped to HTTP once, here: a JSON body with
//! `error` and, for an invalid plan, `errors` (each wrong field's `path` and `message`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use contract::pb;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bridge::{Bridge, BridgeError, Selection, validate};
use crate::runs::RunSpec;

/// An API error.
#[derive(Debug)]
pub struct ApiError(BridgeError);

impl From<BridgeError> for ApiError {
    fn from(e: BridgeError) -> Self {
        ApiError(e)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError(BridgeError::Store(e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self.0 {
            BridgeError::InvalidPlan(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": format!("invalid plan: {} problem(s)", errors.len()), "errors": errors}),
            ),
            BridgeError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"error": m})),
            BridgeError::NotFound(m) => (
                StatusCode::NOT_FOUND,
                json!({"error": format!("{m} not found")}),
            ),
            BridgeError::Conflict(m) => (StatusCode::CONFLICT, json!({"error": m})),
            BridgeError::Upstream(m) => (StatusCode::BAD_GATEWAY, json!({"error": m})),
            BridgeError::Store(e) => {
                tracing::error!(error = %e, "store error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal storage error"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// `user:pass` for HTTP basic auth on every route.
#[derive(Clone)]
pub struct WebAuth {
    pub user: String,
    pub pass: String,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebAuth({}:<redacted>)", self.user)
    }
}

/// The bridge's HTTP application.
pub fn app(bridge: Arc<Bridge>, auth: Option<WebAuth>) -> Router {
    let api = Router::new()
        .route("/api/plans", get(list_plans).post(create_plan))
        .route(
            "/api/plans/{id}",
            get(get_plan).put(update_plan).delete(delete_plan),
        )
        .route("/api/plans/{id}/versions", get(plan_versions))
        .route("/api/plans/{id}/versions/{version}", get(plan_version))
        .route("/api/plans/{id}/push", post(push_plan))
        .route("/api/workers", get(workers))
        .route("/api/environments", get(list_environments))
        .route(
            "/api/environments/{name}",
            get(get_environment)
                .put(put_environment)
                .delete(delete_environment),
        )
        .route("/api/runs", get(list_runs).post(start_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/runs/{id}/stop", post(stop_run))
        .route("/api/try", post(try_request))
        .route("/metrics", get(metrics))
        .merge(crate::ui::routes())
        .with_state(bridge);
    match auth {
        Some(a) => api.layer(middleware::from_fn_with_state(Arc::new(a), require_auth)),
        None => api,
    }
}

async fn require_auth(
    State(auth): State<Arc<WebAuth>>,
    headers: HeaderMap,
    req: Request,
    next: Next,
) -> Response {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|s| s == format!("{}:{}", auth.user, auth.pass));
    if ok {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"locust-http\"")],
            Json(json!({"error": "login required"})),
        )
            .into_response()
    }
}

fn plan_json(p: &crate::store::PlanRecord) -> Value {
    json!({"id": p.id, "name": p.name, "version": p.version, "created_at": p.created_at,
           "updated_at": p.updated_at, "plan": p.plan})
}

async fn list_plans(State(b): State<Arc<Bridge>>) -> ApiResult<Json<Value>> {
    let plans: Vec<Value> = b.store.plans()?.iter().map(plan_json).collect();
    Ok(Json(Value::Array(plans)))
}

async fn create_plan(
    State(b): State<Arc<Bridge>>,
    Json(plan): Json<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let valid = validate(&plan)?;
    let rec = b.store.create_plan(&valid.name, &plan)?;
    Ok((StatusCode::CREATED, Json(plan_json(&rec))))
}

async fn get_plan(State(b): State<Arc<Bridge>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let p = b
        .store
        .plan(&id, None)?
        .ok_or_else(|| BridgeError::NotFound(format!("plan {id}")))?;
    Ok(Json(plan_json(&p)))
}

async fn update_plan(
    State(b): State<Arc<Bridge>>,
    Path(id): Path<String>,
    Json(plan): Json<Value>,
) -> ApiResult<Json<Value>> {
    let valid = validate(&plan)?;
    let p = b
        .store
        .update_plan(&id, &valid.name, &plan)?
        .ok_or_else(|| BridgeError::NotFound(format!("plan {id}")))?;
    Ok(Json(plan_json(&p)))
}

async fn delete_plan(
    State(b): State<Arc<Bridge>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if b.store.delete_plan(&id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(BridgeError::NotFound(format!("plan {id}")).into())
    }
}

async fn plan_versions(
    State(b): State<Arc<Bridge>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    b.store
        .plan(&id, None)?
        .ok_or_else(|| BridgeError::NotFound(format!("plan {id}")))?;
    Ok(Json(json!(b.store.plan_versions(&id)?)))
}

async fn plan_version(
    State(b): State<Arc<Bridge>>,
    Path((id, version)): Path<(String, i64)>,
) -> ApiResult<Json<Value>> {
    let p = b
        .store
        .plan(&id, Some(version))?
        .ok_or_else(|| BridgeError::NotFound(format!("plan {id} version {version}")))?;
    Ok(Json(plan_json(&p)))
}

#[derive(Debug, Deserialize, Default)]
struct PushBody {
    #[serde(flatten)]
    selection: Selection,
    /// Environment name whose variables go with the plan.
    environment: Option<String>,
}

async fn push_plan(
    State(b): State<Arc<Bridge>>,
    Path(id): Path<String>,
    body: Option<Json<PushBody>>,
) -> ApiResult<Json<Value>> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let variables = b.environment_vars(body.environment.as_deref())?;
    let results = b.push(&id, &body.selection, &variables).await?;
    Ok(Json(json!({"results": results})))
}

async fn workers(State(b): State<Arc<Bridge>>) -> Json<Value> {
    Json(json!(b.fleet.workers()))
}

async fn list_environments(State(b): State<Arc<Bridge>>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(b.store.environments()?)))
}

async fn get_environment(
    State(b): State<Arc<Bridge>>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = b
        .store
        .environment(&name)?
        .ok_or_else(|| BridgeError::NotFound(format!("environment {name}")))?;
    Ok(Json(json!(e)))
}

#[derive(Debug, Deserialize)]
struct EnvironmentBody {
    variables: BTreeMap<String, String>,
}

async fn put_environment(
    State(b): State<Arc<Bridge>>,
    Path(name): Path<String>,
    Json(body): Json<EnvironmentBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(
        b.store.put_environment(&name, &body.variables)?
    )))
}

async fn delete_environment(
    State(b): State<Arc<Bridge>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    if b.store.delete_environment(&name)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(BridgeError::NotFound(format!("environment {name}")).into())
    }
}

async fn list_runs(State(b): State<Arc<Bridge>>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(b.store.runs()?)))
}

async fn start_run(
    State(b): State<Arc<Bridge>>,
    Json(spec): Json<RunSpec>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    spec.phases().map_err(BridgeError::BadRequest)?;
    let run = b.start_run(spec).await?;
    Ok((StatusCode::CREATED, Json(json!(run))))
}

async fn get_run(State(b): State<Arc<Bridge>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let r = b
        .store
        .run(&id)?
        .ok_or_else(|| BridgeError::NotFound(format!("run {id}")))?;
    Ok(Json(json!(r)))
}

async fn stop_run(State(b): State<Arc<Bridge>>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(json!(b.stop_run(&id).await?)))
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
    State(b): State<Arc<Bridge>>,
    Json(body): Json<TryBody>,
) -> ApiResult<Json<Value>> {
    let plan = match (&body.plan, &body.plan_json) {
        (Some(id), None) => {
            b.store
                .plan(id, None)?
                .ok_or_else(|| BridgeError::NotFound(format!("plan {id}")))?
                .plan
        }
        (None, Some(p)) => p.clone(),
        _ => {
            return Err(BridgeError::BadRequest(
                "give either \"plan\" (an id) or \"plan_json\"".into(),
            )
            .into());
        }
    };
    validate(&plan)?;
    let mut variables = b.environment_vars(body.environment.as_deref())?;
    variables.extend(body.variables);
    let resp = b
        .try_run(
            pb::TryRequest {
                plan_json: plan.to_string(),
                transaction: body.transaction,
                step: body.step,
                run_setup: body.run_setup,
                variables: variables.into_iter().collect(),
                body_limit: 0,
            },
            &body.selection,
        )
        .await?;
    let steps: Vec<Value> = resp
        .steps
        .into_iter()
        .map(|s| {
            let headers = |h: Vec<pb::Header>| h.into_iter().map(|h| json!([h.name, h.value])).collect::<Vec<_>>();
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
        })
        .collect();
    Ok(Json(json!({"passed": resp.passed, "steps": steps})))
}

/// Prometheus text format.
async fn metrics(State(b): State<Arc<Bridge>>) -> impl IntoResponse {
    use std::fmt::Write;
    let workers = b.fleet.workers();
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "locust_http_workers",
        "Workers registered in etcd.",
        workers.len() as f64,
    );
    gauge(
        "locust_http_workers_reachable",
        "Workers answering their status call.",
        workers.iter().filter(|w| w.unreachable.is_none()).count() as f64,
    );
    gauge(
        "locust_http_users",
        "Simulated users running on all workers.",
        workers.iter().map(|w| f64::from(w.users)).sum(),
    );
    gauge(
        "locust_http_requests_per_second",
        "Requests per second of all workers (last report).",
        workers.iter().map(|w| w.requests_per_second).sum(),
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_requests_total Requests sent by the current sessions of all workers.\n# TYPE locust_http_requests_total counter\nlocust_http_requests_total {}",
        workers.iter().map(|w| w.requests_total).sum::<u64>()
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_failures_total Failed requests of the current sessions of all workers.\n# TYPE locust_http_failures_total counter\nlocust_http_failures_total {}",
        workers.iter().map(|w| w.failures_total).sum::<u64>()
    );
    let _ = writeln!(
        out,
        "# HELP locust_http_worker_users Users per worker.\n# TYPE locust_http_worker_users gauge"
    );
    for w in &workers {
        let _ = writeln!(
            out,
            "locust_http_worker_users{{address=\"{}\"}} {}",
            w.record.address, w.users
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::BridgeConfig;
    use crate::fleet::{Fleet, WorkerAuth};
    use crate::master::LocustWeb;
    use crate::store::Store;
    use axum::body::Body;
    use tower::ServiceExt;

    fn bridge(dir: &std::path::Path) -> Arc<Bridge> {
        Bridge::new(
            Store::open(dir).unwrap(),
            Fleet::new(WorkerAuth::default()),
            LocustWeb::new("http://127.0.0.1:1", None),
            BridgeConfig {
                master_host: "127.0.0.1".into(),
                master_port: 5557,
                etcd: vec!["http://127.0.0.1:2379".into()],
            },
        )
    }

    async fn call(
        app: &Router,
        method: &str,
        uri: &str,
        body: Option<Value>,
        auth: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = axum::http::Request::builder().method(method).uri(uri);
        if let Some(a) = auth {
            req = req.header(
                header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(a)
                ),
            );
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn plan_crud_and_validation() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(bridge(dir.path()), None);
        let plan = json!({"name": "a", "host": "http://h", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]});
        let (s, created) = call(&app, "POST", "/api/plans", Some(plan.clone()), None).await;
        assert_eq!(s, StatusCode::CREATED);
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(created["version"], 1);

        let bad = json!({"name": "", "transactions": [{"name": "t", "weight": 0, "steps": [{"name": "s", "method": "FETCH"}]}]});
        let (s, err) = call(&app, "POST", "/api/plans", Some(bad.clone()), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let paths: Vec<&str> = err["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        for p in [
            "name",
            "transactions[0].weight",
            "transactions[0].steps[0].method",
            "transactions[0].steps[0].url",
        ] {
            assert!(paths.contains(&p), "{p} not in {paths:?}");
        }
        let (_, list) = call(&app, "GET", "/api/plans", None, None).await;
        assert_eq!(
            list.as_array().unwrap().len(),
            1,
            "a bad plan must not be stored"
        );

        let mut v2 = plan.clone();
        v2["name"] = json!("a2");
        let (s, updated) = call(&app, "PUT", &format!("/api/plans/{id}"), Some(v2), None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(updated["version"], 2);
        let (s, _) = call(&app, "PUT", &format!("/api/plans/{id}"), Some(bad), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, versions) = call(
            &app,
            "GET",
            &format!("/api/plans/{id}/versions"),
            None,
            None,
        )
        .await;
        assert_eq!(versions, json!([1, 2]));
        let (_, v1) = call(
            &app,
            "GET",
            &format!("/api/plans/{id}/versions/1"),
            None,
            None,
        )
        .await;
        assert_eq!(v1["plan"]["name"], "a");
        let (s, _) = call(&app, "DELETE", &format!("/api/plans/{id}"), None, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, e) = call(&app, "GET", &format!("/api/plans/{id}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(e["error"].as_str().unwrap().contains("not found"));
        let (s, _) = call(
            &app,
            "POST",
            "/api/runs",
            Some(json!({"plan": "nope", "users": 1, "spawn_rate": 1})),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = call(
            &app,
            "PUT",
            "/api/environments/staging",
            Some(json!({"variables": {"a": "1"}})),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (_, envs) = call(&app, "GET", "/api/environments", None, None).await;
        assert_eq!(envs[0]["variables"]["a"], "1");
    }

    #[tokio::test]
    async fn web_auth_guards_every_route() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(
            bridge(dir.path()),
            Some(WebAuth {
                user: "u".into(),
                pass: "p".into(),
            }),
        );
        let (s, _) = call(&app, "GET", "/api/plans", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = call(&app, "GET", "/metrics", None, Some("u:wrong")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = call(&app, "GET", "/api/plans", None, Some("u:p")).await;
        assert_eq!(s, StatusCode::OK);
    }
}
