//! The shared contract of locust-http, used by both the worker and the master-bridge.
//!
//! # Layout
//! - [`plan`]: the plan model (transactions, steps) and its validation. A plan that passes
//!   [`plan::Plan::from_json`] is runnable by every worker; one that fails lists every wrong field.
//! - [`template`]: `{{variable}}` and `{{$builtin}}` templates, parsed once.

pub mod plan;
pub mod template;

pub use plan::{FieldError, Plan, PlanError};
