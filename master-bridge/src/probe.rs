//! Trying a step or transaction once through a worker (the UI's Send): the first selected
//! worker that answers runs it and returns every request and response.

use std::sync::Arc;

use contract::pb;

use crate::fleet::{Fleet, Selection};

/// Why a try did not come back.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no worker available to send through")]
    NoWorker,
    /// The worker refused the request itself (bad plan, a host outside its allow-list).
    #[error("{0}")]
    Refused(String),
    #[error("no worker could send it: {0}")]
    Unreachable(String),
}

/// Sends tries through the fleet.
#[derive(Debug, Clone)]
pub struct Prober {
    fleet: Arc<Fleet>,
}

impl Prober {
    pub fn new(fleet: Arc<Fleet>) -> Prober {
        Prober { fleet }
    }

    /// Runs `req` through the first selected worker that answers.
    pub async fn try_run(
        &self,
        req: pb::TryRequest,
        sel: &Selection,
    ) -> Result<pb::TryResponse, ProbeError> {
        let workers = self.fleet.select(sel);
        if workers.is_empty() {
            return Err(ProbeError::NoWorker);
        }
        let mut last = String::new();
        for w in workers {
            let mut client = match self.fleet.client(&w.record) {
                Ok(c) => c,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let call = self.fleet.sealed_request(&w.record, "Try", req.clone());
            match client.r#try(call).await {
                Ok(r) => {
                    return self
                        .fleet
                        .open(&w.record, "Try", r.into_inner())
                        .map_err(|e| {
                            ProbeError::Unreachable(format!("{}: {e}", w.record.address))
                        });
                }
                Err(s)
                    if s.code() == tonic::Code::InvalidArgument
                        || s.code() == tonic::Code::PermissionDenied =>
                {
                    return Err(ProbeError::Refused(s.message().to_string()));
                }
                Err(s) => last = format!("{}: {}", w.record.address, s.message()),
            }
        }
        Err(ProbeError::Unreachable(last))
    }
}
