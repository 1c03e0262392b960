//! locust-http worker: runs HTTP plans as simulated users and reports to a Locust master exactly
//! as a Python Locust worker does.
//!
//! # Layout
//! - [`cli`]: command-line parsing into typed options (parsed fully before anything starts).
//! - [`locust`]: the Locust protocol (codec, ZeroMQ transport, session state machine).
//! - [`fleet`]: fleet mode: the gRPC service, the controller and etcd membership.
//! - [`engine`]: compiles a plan into executable steps and sends HTTP requests.
//! - [`runtime`]: the running load; [`runtime::users`]: simulated users as tokio tasks, started
//!   and stopped exactly.
//! - [`stats`]: per-user sharded statistics, drained into Locust delta reports.
//! - [`procinfo`]: CPU and memory of this process for heartbeats.
//! - [`once`]: `worker run --once`, every transaction once with a readable trace.
//! - [`run`]: `worker run PLAN.json`, the wiring of all of the above.

pub mod cli;
pub mod engine;
pub mod fleet;
pub mod h1;
pub mod local;
pub mod locust;
pub mod metrics;
pub mod once;
pub mod procinfo;
pub mod run;
pub mod runtime;
pub mod stats;
