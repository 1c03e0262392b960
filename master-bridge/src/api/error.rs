//! Errors of the HTTP surface, mapped to responses once, here: a JSON body with `error` and, for
//! an invalid plan, `errors` (each wrong field's `path` and `message`); for a stale write,
//! `current_version`. Every service error and
//! every extractor rejection (bad JSON, wrong content type, bad path) converts into [`ApiError`].

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use contract::FieldError;
use serde_json::json;

use crate::master::MasterError;
use crate::probe::ProbeError;
use crate::pusher::PushError;
use crate::runs::RunError;
use crate::store::StoreError;

/// An error an HTTP client sees.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `422` with every wrong field.
    #[error("invalid plan: {} problem(s)", .0.len())]
    InvalidPlan(Vec<FieldError>),
    /// `422`: variables nothing defines for a Send, push or run (the chosen environment
    /// included), every name at once and every use with its path.
    #[error("undefined variables: {}", .missing.join(", "))]
    UndefinedVariables {
        missing: Vec<String>,
        errors: Vec<FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    /// `404`; the text names the thing (`plan abc`).
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// `409`: a write's `If-Match` is not the current version (`None`: nothing exists yet);
    /// the body carries `current_version` so the client can reload or overwrite.
    #[error("{what} was changed by someone else: it is at version {}", .current.map_or("none".to_string(), |v| v.to_string()))]
    Stale { what: String, current: Option<i64> },
    #[error("{0}")]
    Upstream(String),
    /// `500`; the cause is logged, the client sees a generic text.
    #[error("internal storage error")]
    Storage(#[source] StoreError),
    /// A request axum refused before a handler ran, or a status with its own text.
    #[error("{message}")]
    Status { status: StatusCode, message: String },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidPlan(_) | ApiError::UndefinedVariables { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Stale { .. } => StatusCode::CONFLICT,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status { status, .. } => *status,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::InvalidPlan(errors) => json!({"error": self.to_string(), "errors": errors}),
            ApiError::UndefinedVariables { missing, errors } => {
                json!({"error": self.to_string(), "missing": missing, "errors": errors})
            }
            ApiError::Stale { current, .. } => {
                json!({"error": self.to_string(), "current_version": current})
            }
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "store error");
                json!({"error": self.to_string()})
            }
            _ => json!({"error": self.to_string()}),
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Storage(e)
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        match e {
            PushError::PlanNotFound(id) => ApiError::NotFound(format!("plan {id}")),
            PushError::EnvironmentNotFound(n) => ApiError::NotFound(format!("environment {n}")),
            PushError::Store(e) => ApiError::Storage(e),
        }
    }
}

impl From<RunError> for ApiError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::InvalidSpec(e) => ApiError::BadRequest(e.to_string()),
            RunError::PlanNotFound(id) => ApiError::NotFound(format!("plan {id}")),
            RunError::NotFound(id) => ApiError::NotFound(format!("run {id}")),
            e @ RunError::Busy(_) => ApiError::Conflict(e.to_string()),
            RunError::Store(e) => ApiError::Storage(e),
        }
    }
}

impl From<ProbeError> for ApiError {
    fn from(e: ProbeError) -> Self {
        match e {
            e @ ProbeError::NoWorker => ApiError::Conflict(e.to_string()),
            ProbeError::Refused(m) => ApiError::BadRequest(m),
            e @ ProbeError::Unreachable(_) => ApiError::Upstream(e.to_string()),
        }
    }
}

impl From<MasterError> for ApiError {
    fn from(e: MasterError) -> Self {
        ApiError::Upstream(e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::Status {
            status: r.status(),
            message: r.body_text(),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        ApiError::Status {
            status: r.status(),
            message: r.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::Status {
            status: r.status(),
            message: r.body_text(),
        }
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
