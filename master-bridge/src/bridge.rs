//! The bridge's operations, shared by the REST API and the one-shot commands: pushing plans to
//! workers (and to workers that join later), trying steps, and runs on the master.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contract::etcd::WorkerRecord;
use contract::{FieldError, Plan, pb};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::fleet::{Fleet, FleetEvent, WorkerView};
use crate::master::LocustWeb;
use crate::runs::{self, RunSpec};
use crate::store::{RunRecord, Store, StoreError};

/// Errors of bridge operations; the API maps them to HTTP once.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("invalid plan")]
    InvalidPlan(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Upstream(String),
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

/// Which workers an operation targets.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Selection {
    /// Worker ids, addresses or etcd keys; empty = every worker matching `labels`.
    #[serde(default)]
    pub workers: Vec<String>,
    /// Label selector (`{"team": "checkout"}`); empty = every worker.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Selection {
    pub fn matches(&self, w: &WorkerRecord, key: &str) -> bool {
        let named = self.workers.is_empty()
            || self
                .workers
                .iter()
                .any(|x| x == &w.id || x == &w.address || x == key);
        named && w.matches(&self.labels)
    }
}

/// Static settings of the bridge.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Where workers reach the master's ZeroMQ port.
    pub master_host: String,
    pub master_port: u16,
    /// etcd endpoints (shown to people adding workers).
    pub etcd: Vec<String>,
}

/// Everything the bridge operates on.
#[derive(Debug)]
pub struct Bridge {
    pub store: Store,
    pub fleet: Arc<Fleet>,
    pub master: LocustWeb,
    pub cfg: BridgeConfig,
    /// The run in progress: its id and how to stop it.
    current_run: Mutex<Option<(String, CancellationToken)>>,
}

/// Validates a plan document with the workers' own rules.
pub fn validate(plan: &serde_json::Value) -> Result<Plan, BridgeError> {
    Plan::from_value(plan).map_err(|e| BridgeError::InvalidPlan(e.field_errors()))
}

impl Bridge {
    pub fn new(
        store: Store,
        fleet: Arc<Fleet>,
        master: LocustWeb,
        cfg: BridgeConfig,
    ) -> Arc<Bridge> {
        Arc::new(Bridge {
            store,
            fleet,
            master,
            cfg,
            current_run: Mutex::new(None),
        })
    }

    /// The variables of a named environment (none without a name).
    pub fn environment_vars(
        &self,
        name: Option<&str>,
    ) -> Result<BTreeMap<String, String>, BridgeError> {
        match name {
            Some(name) => Ok(self
                .store
                .environment(name)?
                .ok_or_else(|| BridgeError::NotFound(format!("environment {name}")))?
                .variables),
            None => Ok(BTreeMap::new()),
        }
    }

    /// The workers a selection names.
    pub fn select(&self, sel: &Selection) -> Vec<WorkerView> {
        self.fleet
            .workers()
            .into_iter()
            .filter(|w| sel.matches(&w.record, &w.key))
            .collect()
    }

    /// Applies plan `id` (latest version) to the selected workers; with no explicit worker
    /// list it also becomes the active plan of that pool, which later joiners receive.
    pub async fn push(
        &self,
        id: &str,
        sel: &Selection,
        variables: &BTreeMap<String, String>,
    ) -> Result<Vec<PushResult>, BridgeError> {
        let plan = self
            .store
            .plan(id, None)?
            .ok_or_else(|| BridgeError::NotFound(format!("plan {id}")))?;
        if sel.workers.is_empty() {
            self.store.assign(&sel.labels, id, plan.version)?;
        }
        let targets = self.select(sel);
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
                result.error = Some(e);
                return result;
            }
        };
        let req = self.fleet.request(pb::ApplyRequest {
            plan_json: plan.to_string(),
            master_host: self.cfg.master_host.clone(),
            master_port: u32::from(self.cfg.master_port),
            variables: variables.clone().into_iter().collect(),
        });
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

    /// Gives every joining worker the active plan of its pool (the most specific selector).
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
            let assignment = match self.store.assignments() {
                Ok(a) => a.into_iter().find(|a| record.matches(&a.selector)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the active plans");
                    continue;
                }
            };
            let Some(a) = assignment else { continue };
            let plan = match self.store.plan(&a.plan, Some(a.plan_version)) {
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

    /// Runs one step or transaction once through a worker (the first selected one that answers).
    pub async fn try_run(
        &self,
        req: pb::TryRequest,
        sel: &Selection,
    ) -> Result<pb::TryResponse, BridgeError> {
        let workers = self.select(sel);
        if workers.is_empty() {
            return Err(BridgeError::Conflict(
                "no worker available to send through".into(),
            ));
        }
        let mut last = String::new();
        for w in workers {
            let mut client = match self.fleet.client(&w.record) {
                Ok(c) => c,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            match client.r#try(self.fleet.request(req.clone())).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s)
                    if s.code() == tonic::Code::InvalidArgument
                        || s.code() == tonic::Code::PermissionDenied =>
                {
                    return Err(BridgeError::BadRequest(s.message().to_string()));
                }
                Err(s) => last = format!("{}: {}", w.record.address, s.message()),
            }
        }
        Err(BridgeError::Upstream(format!(
            "no worker could send it: {last}"
        )))
    }

    /// Starts a run in the background; one run at a time.
    pub async fn start_run(self: &Arc<Self>, spec: RunSpec) -> Result<RunRecord, BridgeError> {
        let plan = self
            .store
            .plan(&spec.plan, None)?
            .ok_or_else(|| BridgeError::NotFound(format!("plan {}", spec.plan)))?;
        let mut current = self.current_run.lock().await;
        if let Some((id, _)) = current.as_ref()
            && matches!(self.store.run(id)?.map(|r| r.state), Some(s) if s == "starting" || s == "running")
        {
            return Err(BridgeError::Conflict(format!(
                "run {id} is still going; stop it first"
            )));
        }
        let request = serde_json::to_value(&spec).unwrap_or_default();
        let run = self.store.create_run(&plan.id, plan.version, &request)?;
        let stop = CancellationToken::new();
        *current = Some((run.id.clone(), stop.clone()));
        let bridge = self.clone();
        let id = run.id.clone();
        tokio::spawn(async move {
            runs::execute(&bridge, &id, &spec, stop).await;
        });
        Ok(run)
    }

    /// Asks the run to stop; it ends `stopped` with the statistics so far.
    pub async fn stop_run(&self, id: &str) -> Result<RunRecord, BridgeError> {
        let run = self
            .store
            .run(id)?
            .ok_or_else(|| BridgeError::NotFound(format!("run {id}")))?;
        if let Some((cur, stop)) = self.current_run.lock().await.as_ref()
            && cur == id
        {
            stop.cancel();
        }
        Ok(run)
    }

    /// Waits for a run to end (for the one-shot `run`).
    pub async fn wait_run(&self, id: &str) -> Result<RunRecord, BridgeError> {
        loop {
            let run = self
                .store
                .run(id)?
                .ok_or_else(|| BridgeError::NotFound(format!("run {id}")))?;
            if !matches!(run.state.as_str(), "starting" | "running") {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
