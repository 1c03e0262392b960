//! The shared contract of locust-http, used by both the worker and the master-bridge.
//!
//! # Layout
//! - [`plan`]: the plan model (transactions, steps) and its validation. A plan that passes
//!   [`plan::Plan::from_json`] is runnable by every worker; one that fails lists every wrong field.
//! - [`template`]: `{{variable}}` and `{{$builtin}}` templates, parsed once.
//! - [`threshold`]: pass/fail thresholds (`p95<300ms`) on a run's final statistics.
//! - [`summary`]: a finished run's outcome, exit code, JSON, JUnit and text summary.
//! - [`pb`]: the gRPC messages and the `Worker` service (`worker.proto`), client and server.
//! - [`etcd`]: the etcd key schema and the worker record.
//! - [`process`]: plumbing both binaries' `main` share (flag errors, logging, signals).
//! - [`auth`]: the fleet's keys: signed etcd records, signed gRPC calls, sealed payloads.

pub mod auth;
pub mod etcd;
pub mod plan;
pub mod process;
pub mod summary;
pub mod template;
pub mod threshold;

pub use plan::{CheckOptions, FieldError, Plan, PlanError, UndefinedVar, Validated};

/// Generated from `proto/worker.proto`.
#[allow(missing_debug_implementations, clippy::all)]
pub mod pb {
    tonic::include_proto!("locust_http.v1");

    /// The encoded descriptors of `worker.proto`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("worker_descriptor");
}
