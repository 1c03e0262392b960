//! The REST API (JSON) and `/metrics`, one module per resource. Handlers take the shared
//! [`AppState`](crate::state::AppState), call a service and return JSON; every error goes
//! through [`error::ApiError`], the one place where errors become HTTP responses.
//!
//! - [`plans`], [`environments`], [`runs`], [`workers`], [`try_send`], [`metrics`], [`report`]:
//!   the routes.
//! - [`imports`]: `/api/import` and the Postman exports (the [`crate::convert`] converter);
//!   [`code`]: `/api/code`, a step as curl or the plan as a locustfile.
//! - [`extract`]: extractors whose rejections are JSON too.
//! - [`error`]: errors to HTTP.

pub mod code;
pub mod environments;
pub mod error;
pub mod extract;
pub mod imports;
pub mod metrics;
pub mod plans;
pub mod report;
pub mod runs;
pub mod try_send;
pub mod workers;

use axum::Router;

pub use error::{ApiError, ApiResult};

use crate::state::AppState;

/// Every API route.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(plans::routes())
        .merge(environments::routes())
        .merge(runs::routes())
        .merge(workers::routes())
        .merge(try_send::routes())
        .merge(metrics::routes())
        .merge(report::routes())
        .merge(imports::routes())
        .merge(code::routes())
}

#[cfg(test)]
mod imports_tests;
#[cfg(test)]
mod tests;
