//! Pushing plans to workers: a stored plan to a selection (which, without named workers, also
//! becomes that pool's active plan), and the pool's active plan to every worker that joins later.

use std::collections::BTreeMap;
use std::sync::Arc;

use contract::etcd::WorkerRecord;
use contract::pb;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::fleet::{Fleet, FleetEvent, Selection};
use crate::store::{Store, StoreError};

/// Why a push could not be made (a worker refusing is a [`PushResult`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("plan {0} not found")]
    PlanNotFound(String),
    #[error("environment {0} not found")]
    EnvironmentNotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome of pushing a plan to one worker.
#[derive(Debug, Clone, Serialize)]
pub struct PushResult {
    pub worker: String,
    pub address: String,
    pub ok: bool,
    pub changed: bool,
    pub plan_version: String,
    pub error: Option<String>,
}

/// Where workers reach the master's ZeroMQ port (sent with every plan).
#[derive(Debug, Clone, PartialEq)]
pub struct MasterAddress {
    pub host: String,
    pub port: u16,
}

/// Pushes plans to workers.
#[derive(Debug)]
pub struct Pusher {
    store: Store,
    fleet: Arc<Fleet>,
    master: MasterAddress,
}

impl Pusher {
    pub fn new(store: Store, fleet: Arc<Fleet>, master: MasterAddress) -> Pusher {
        Pusher {
            store,
            fleet,
            master,
        }
    }

    /// The variables of a named environment (none without a name).
    pub async fn environment_vars(
        &self,
        name: Option<&str>,
    ) -> Result<BTreeMap<String, String>, PushError> {
        match name {
            Some(name) => Ok(self
                .store
                .environment(name)
                .await?
                .ok_or_else(|| PushError::EnvironmentNotFound(name.to_string()))?
                .variables),
            None => Ok(BTreeMap::new()),
        }
    }

    /// Applies plan `id` (latest version) to the selected workers; with no explicit worker
    /// list it also becomes the active plan of that pool, which later joiners receive.
    pub async fn push(
        &self,
        id: &str,
        sel: &Selection,
        variables: &BTreeMap<String, String>,
    ) -> Result<Vec<PushResult>, PushError> {
        let plan = self
            .store
            .plan(id, None)
            .await?
            .ok_or_else(|| PushError::PlanNotFound(id.to_string()))?;
        if sel.workers.is_empty() {
            self.store.assign(&sel.labels, id, plan.version).await?;
        }
        let targets = self.fleet.select(sel);
        let calls = targets
            .iter()
            .map(|w| self.apply_to(&w.record, &plan.plan, variables));
        Ok(futures::future::join_all(calls).await)
    }

    async fn apply_to(
        &self,
        record: &WorkerRecord,
        plan: &serde_json::Value,
        variables: &BTreeMap<String, String>,
    ) -> PushResult {
        let mut result = PushResult {
            worker: record.id.clone(),
            address: record.address.clone(),
            ok: false,
            changed: false,
            plan_version: String::new(),
            error: None,
        };
        let mut client = match self.fleet.client(record) {
            Ok(c) => c,
            Err(e) => {
                result.error = Some(e.to_string());
                return result;
            }
        };
        let req = self.fleet.sealed_request(
            record,
            "Apply",
            pb::ApplyRequest {
                plan_json: plan.to_string(),
                master_host: self.master.host.clone(),
                master_port: u32::from(self.master.port),
                variables: variables.clone().into_iter().collect(),
                sealed: Vec::new(),
            },
        );
        match client.apply(req).await {
            Ok(r) => {
                let r = r.into_inner();
                result.ok = true;
                result.changed = r.changed;
                result.plan_version = r.plan_version;
            }
            Err(s) => result.error = Some(format!("{:?}: {}", s.code(), s.message())),
        }
        result
    }

    /// Gives every joining worker the active plan of its pool (the most specific selector),
    /// until `shutdown`.
    pub async fn auto_push(self: Arc<Self>, shutdown: CancellationToken) {
        let mut events = self.fleet.subscribe();
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                e = events.recv() => e,
            };
            let record = match event {
                Ok(FleetEvent::Joined(r)) => r,
                Ok(FleetEvent::Left(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "fleet events lagged");
                    continue;
                }
                Err(_) => return,
            };
            let assignment = match self.store.assignments().await {
                Ok(a) => a.into_iter().find(|a| record.matches(&a.selector)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the active plans");
                    continue;
                }
            };
            let Some(a) = assignment else { continue };
            let plan = match self.store.plan(&a.plan, Some(a.plan_version)).await {
                Ok(Some(p)) => p,
                _ => continue,
            };
            let r = self.apply_to(&record, &plan.plan, &BTreeMap::new()).await;
            if r.ok {
                tracing::info!(worker = %record.address, plan = %plan.name, "pushed the pool's active plan to a new worker");
            } else {
                tracing::warn!(worker = %record.address, error = ?r.error, "could not push the active plan to a new worker");
            }
        }
    }
}
