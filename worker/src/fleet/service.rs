//! The gRPC `Worker` service: maps requests to the [`Controller`] and its errors to
//! `tonic::Status`, once, here. Every call first passes the [`CallGuard`] (signature, sealed
//! payloads).

use std::collections::BTreeMap;
use std::sync::Arc;

use contract::pb;
use tonic::{Request, Response, Status};

use super::auth::CallGuard;
use super::controller::{ApplySpec, ControlError, Controller};
use crate::engine::http::TRACE_BODY_LIMIT;
use crate::locust::session::Phase;

/// The service, sharing the controller with the rest of the worker.
#[derive(Debug, Clone)]
pub struct WorkerService {
    pub controller: Arc<Controller>,
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub guard: CallGuard,
}

impl From<ControlError> for Status {
    fn from(e: ControlError) -> Status {
        match &e {
            ControlError::InvalidPlan(_) | ControlError::BadRequest(_) => {
                Status::invalid_argument(e.to_string())
            }
            ControlError::Forbidden(_) => Status::permission_denied(e.to_string()),
            ControlError::Internal(_) => Status::internal(e.to_string()),
        }
    }
}

#[tonic::async_trait]
impl pb::worker_server::Worker for WorkerService {
    async fn apply(
        &self,
        request: Request<pb::ApplyRequest>,
    ) -> Result<Response<pb::ApplyResponse>, Status> {
        let r = self.guard.open("Apply", request)?;
        let master_port = u16::try_from(r.master_port).map_err(|_| {
            Status::invalid_argument(format!("master_port {} is not a port", r.master_port))
        })?;
        let (changed, plan_version) = self
            .controller
            .apply(ApplySpec {
                plan_json: r.plan_json,
                master_host: r.master_host,
                master_port,
                variables: r.variables.into_iter().collect(),
            })
            .await?;
        Ok(Response::new(pb::ApplyResponse {
            changed,
            plan_version,
        }))
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        self.guard.check("Release", &request)?;
        let was_applied = self.controller.release().await;
        Ok(Response::new(pb::ReleaseResponse { was_applied }))
    }

    async fn status(
        &self,
        request: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::WorkerStatus>, Status> {
        self.guard.check("Status", &request)?;
        let s = self.controller.status().await;
        let state = if !s.applied {
            pb::WorkerState::Idle
        } else {
            match s.session.phase {
                Phase::Connecting => pb::WorkerState::Connecting,
                Phase::Ready => pb::WorkerState::Ready,
                Phase::Spawning => pb::WorkerState::Spawning,
                Phase::Running => pb::WorkerState::Running,
                Phase::Stopping => pb::WorkerState::Stopping,
            }
        };
        Ok(Response::new(pb::WorkerStatus {
            id: self.id.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            state: state.into(),
            plan_name: s.plan_name,
            plan_version: s.plan_version,
            master: s.master,
            master_acknowledged: s.session.acknowledged,
            users: s.session.users,
            requests_per_second: s.session.requests_per_second,
            requests_total: s.session.requests_total,
            failures_total: s.session.failures_total,
            cpu_percent: s.cpu_percent,
            memory_bytes: s.memory_bytes,
            last_error: s.last_error.unwrap_or_default(),
            labels: self.labels.clone().into_iter().collect(),
        }))
    }

    async fn r#try(
        &self,
        request: Request<pb::TryRequest>,
    ) -> Result<Response<pb::TryResponse>, Status> {
        let r = self.guard.open("Try", request)?;
        let limit = if r.body_limit == 0 {
            TRACE_BODY_LIMIT
        } else {
            (r.body_limit as usize).min(TRACE_BODY_LIMIT)
        };
        let variables = r.variables.into_iter().collect();
        let traces = self
            .controller
            .try_run(
                &r.plan_json,
                &variables,
                &r.transaction,
                r.step.map(|s| s as usize),
                r.run_setup,
            )
            .await?;
        let passed = traces.iter().all(|(_, ok)| *ok);
        let steps = traces
            .into_iter()
            .map(|(t, _)| {
                let mut body = t.response_body.unwrap_or_default();
                let mut truncated = t.response_body_truncated;
                if body.len() > limit {
                    let mut end = limit;
                    while !body.is_char_boundary(end) {
                        end -= 1;
                    }
                    body.truncate(end);
                    truncated = true;
                }
                let headers = |h: Vec<(String, String)>| {
                    h.into_iter()
                        .map(|(name, value)| pb::Header { name, value })
                        .collect()
                };
                pb::StepTrace {
                    step: t.step,
                    method: t.method,
                    url: t.url,
                    request_headers: headers(t.request_headers),
                    request_body: t.request_body,
                    status: t.status.map_or(0, u32::from),
                    reason: t.reason.unwrap_or_default(),
                    response_headers: headers(t.response_headers),
                    response_body: body,
                    response_body_truncated: truncated,
                    response_time_ms: t.response_time_ms,
                    content_length: t.content_length,
                    extracted: t.extracted.into_iter().collect(),
                    assertions: t
                        .assertions
                        .into_iter()
                        .map(|a| pb::AssertionResult {
                            assertion: a.assertion,
                            passed: a.passed,
                            message: a.message.unwrap_or_default(),
                        })
                        .collect(),
                    error: t.error.unwrap_or_default(),
                }
            })
            .collect();
        Ok(Response::new(self.guard.seal(
            "Try",
            pb::TryResponse {
                steps,
                passed,
                sealed: Vec::new(),
            },
        )))
    }
}
