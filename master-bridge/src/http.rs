//! The bridge's HTTP application: the REST API, the web UI, HTTP basic auth on every route
//! (`--web-auth`, compared in constant time), the [browser guard](crate::guard) in front of
//! everything, and JSON answers for unknown routes and methods.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::api::ApiError;
use crate::config::WebAuth;
use crate::guard::{self, Guard};
use crate::state::AppState;

/// The bridge's HTTP application. The guard runs first (outermost), so a foreign page never
/// even gets a login prompt. `/healthz` and `/readyz` answer without a login (for probes; they
/// reveal nothing but up and ready).
pub fn app(state: AppState, auth: Option<WebAuth>, guard: Guard) -> Router {
    let probes = Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .with_state(state.clone());
    let app = Router::new()
        .merge(crate::api::routes())
        .merge(crate::ui::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    let app = match auth {
        Some(a) => app.layer(middleware::from_fn_with_state(Arc::new(a), require_auth)),
        None => app,
    };
    let app = probes.merge(app);
    app.layer(middleware::from_fn_with_state(guard, guard::enforce))
}

/// Liveness: the process answers.
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the store answers (a lookup of a plan that cannot exist).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.plan("", None).await {
        Ok(_) => axum::Json(serde_json::json!({"ready": true})).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"ready": false})),
        )
            .into_response(),
    }
}

async fn not_found() -> ApiError {
    ApiError::Status {
        status: StatusCode::NOT_FOUND,
        message: "no such route".into(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::Status {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "method not allowed on this route".into(),
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
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .is_some_and(|presented| {
            let expected = format!("{}:{}", auth.user, auth.pass);
            contract::auth::constant_time_eq(&presented, expected.as_bytes())
        });
    if ok {
        next.run(req).await
    } else {
        let mut resp = ApiError::Status {
            status: StatusCode::UNAUTHORIZED,
            message: "login required".into(),
        }
        .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"locust-http\""),
        );
        resp
    }
}
