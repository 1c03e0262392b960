//! The fleet worker's state: which plan it runs against which master, and the session doing it.
//!
//! [`Controller::apply`] is atomic: the plan is validated and compiled completely (and checked
//! against `--allow-target`) before anything changes; a bad plan leaves the worker as it was.
//! The same plan and master again is a no-op; a new plan for the same master is handed to the
//! running session, whose users switch at their next transaction; a new master gets a new
//! session. The session is restarted whenever the master ends it with `quit` (a headless run
//! ending, a master restart), so a fleet worker stays available until released.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contract::{FieldError, Plan};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::{AllowList, Trace};
use crate::locust::session::{Phase, Session, SessionConfig, SessionStatus, Zmq};
use crate::procinfo::ProcInfo;
use crate::runtime::{self, CompileError, Runtime, probe};

/// Why an apply or try was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("invalid plan: {}", join(.0))]
    InvalidPlan(Vec<FieldError>),
    #[error("target not allowed: {}", join(.0))]
    Forbidden(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<CompileError> for ControlError {
    fn from(e: CompileError) -> ControlError {
        match e {
            CompileError::Invalid(errors) => ControlError::InvalidPlan(errors),
            CompileError::NotAllowed(errors) => ControlError::Forbidden(errors),
        }
    }
}

/// What `apply` asks for.
#[derive(Debug, Clone)]
pub struct ApplySpec {
    pub plan_json: String,
    pub master_host: String,
    pub master_port: u16,
    pub variables: BTreeMap<String, String>,
}

/// A snapshot for `Status`.
#[derive(Debug, Clone, Default)]
pub struct StatusSnapshot {
    pub applied: bool,
    pub plan_name: String,
    pub plan_version: String,
    pub master: String,
    pub session: SessionStatus,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub last_error: Option<String>,
}

struct Applied {
    version: String,
    plan_name: String,
    master: String,
    plan_tx: watch::Sender<Arc<Plan>>,
    status: Arc<watch::Sender<SessionStatus>>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

#[derive(Default)]
struct Inner {
    applied: Option<Applied>,
    last_error: Option<String>,
}

/// The fleet worker's control state.
pub struct Controller {
    inner: Mutex<Inner>,
    client: reqwest::Client,
    allow: Option<Arc<AllowList>>,
    max_users: u32,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    proc: std::sync::Mutex<ProcInfo>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller").finish_non_exhaustive()
    }
}

/// Parses and validates a plan with variable overrides.
fn parse_plan(plan_json: &str, variables: &BTreeMap<String, String>) -> Result<Plan, ControlError> {
    let mut value: serde_json::Value = serde_json::from_str(plan_json).map_err(|e| {
        ControlError::InvalidPlan(vec![FieldError {
            path: String::new(),
            message: format!("plan is not valid JSON: {e}"),
        }])
    })?;
    if !variables.is_empty()
        && let Some(obj) = value.as_object_mut()
    {
        let vars = obj
            .entry("variables")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if let Some(vars) = vars.as_object_mut() {
            for (k, v) in variables {
                vars.insert(k.clone(), serde_json::Value::String(v.clone()));
            }
        }
    }
    Plan::from_value(&value).map_err(|e| ControlError::InvalidPlan(e.field_errors()))
}

impl Controller {
    pub fn new(
        client: reqwest::Client,
        allow: Option<Arc<AllowList>>,
        max_users: u32,
        metrics: Option<Arc<crate::metrics::Metrics>>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Controller {
        Controller {
            inner: Mutex::new(Inner::default()),
            client,
            allow,
            max_users,
            metrics,
            tracker,
            shutdown,
            proc: std::sync::Mutex::new(ProcInfo::new()),
        }
    }

    /// Validates and compiles everything, then applies it (see the module doc).
    pub async fn apply(&self, spec: ApplySpec) -> Result<(bool, String), ControlError> {
        if spec.master_host.trim().is_empty() || spec.master_port == 0 {
            return Err(ControlError::BadRequest(
                "master_host and master_port are required".into(),
            ));
        }
        let plan = parse_plan(&spec.plan_json, &spec.variables)?;
        let master = contract::etcd::address(spec.master_host.trim(), spec.master_port);
        let version = {
            let mut h = Sha256::new();
            h.update(plan.to_json().as_bytes());
            hex::encode(&h.finalize()[..8])
        };
        let plan = Arc::new(plan);
        let mut inner = self.inner.lock().await;
        if let Some(a) = inner.applied.as_mut()
            && a.master == master
            && !a.task.is_finished()
        {
            if a.version == version {
                return Ok((false, version));
            }
            // Refuse a plan that cannot run before anything changes; the runtime compiles it
            // again for the host it uses.
            runtime::compile_for_probe(&plan, self.allow.clone())?;
            tracing::info!(plan = %plan.name, %version, "applying a new plan to the running session");
            a.plan_tx.send_replace(plan.clone());
            a.version = version.clone();
            a.plan_name = plan.name.clone();
            return Ok((true, version));
        }
        let mut load = Runtime::new(
            plan.clone(),
            self.client.clone(),
            self.allow.clone(),
            self.tracker.clone(),
        )?;
        load.set_max_users(self.max_users);
        if let Some(m) = &self.metrics {
            load.set_metrics(m.clone());
        }
        if let Some(old) = inner.applied.take() {
            stop(old).await;
        }
        tracing::info!(plan = %plan.name, %version, %master, "applying a plan");
        inner.applied = Some(self.start(load, master, version.clone()));
        inner.last_error = None;
        Ok((true, version))
    }

    fn start(&self, mut load: Runtime, master: String, version: String) -> Applied {
        let (plan_tx, plan_rx) = watch::channel(load.plan().clone());
        load.follow(plan_rx);
        let plan_name = load.plan().name.clone();
        let status = Arc::new(watch::channel(SessionStatus::default()).0);
        let cancel = self.shutdown.child_token();
        let task = self.tracker.spawn(session_loop(
            load,
            status.clone(),
            master.clone(),
            cancel.clone(),
        ));
        Applied {
            version,
            plan_name,
            master,
            plan_tx,
            status,
            cancel,
            task,
        }
    }

    /// Stops the users, leaves the master, goes idle.
    pub async fn release(&self) -> bool {
        let applied = self.inner.lock().await.applied.take();
        match applied {
            Some(a) => {
                tracing::info!(plan = %a.plan_name, "released");
                stop(a).await;
                true
            }
            None => false,
        }
    }

    pub async fn status(&self) -> StatusSnapshot {
        let (cpu_percent, memory_bytes) =
            self.proc.lock().map(|mut p| p.sample()).unwrap_or((0.0, 0));
        let inner = self.inner.lock().await;
        let mut s = StatusSnapshot {
            cpu_percent,
            memory_bytes,
            last_error: inner.last_error.clone(),
            ..StatusSnapshot::default()
        };
        if let Some(a) = &inner.applied {
            s.applied = true;
            s.plan_name = a.plan_name.clone();
            s.plan_version = a.version.clone();
            s.master = a.master.clone();
            s.session = a.status.borrow().clone();
            if s.session.last_error.is_some() {
                s.last_error = s.session.last_error.clone();
            }
        }
        s
    }

    /// Runs one step or transaction once with full traces.
    pub async fn try_run(
        &self,
        plan_json: &str,
        variables: &BTreeMap<String, String>,
        transaction: &str,
        step: Option<usize>,
        run_setup: bool,
    ) -> Result<Vec<(Trace, bool)>, ControlError> {
        let plan = parse_plan(plan_json, variables)?;
        let compiled = runtime::compile_for_probe(&plan, self.allow.clone())?;
        let Some(txn) = compiled.transactions.iter().find(|t| t.name == transaction) else {
            return Err(ControlError::BadRequest(format!(
                "no transaction named {transaction:?}"
            )));
        };
        let group = format!("transaction {}", txn.name);
        let steps: Vec<_> = match step {
            Some(i) => vec![txn.steps.get(i).ok_or_else(|| {
                ControlError::BadRequest(format!("transaction {transaction:?} has no step {i}"))
            })?],
            None => txn.steps.iter().collect(),
        };
        let setup = compiled.setup.iter().filter(|_| run_setup);
        let steps = setup
            .map(|s| ("setup".to_string(), s))
            .chain(steps.into_iter().map(|s| (group.clone(), s)))
            .collect();
        let probed = probe::run(&compiled, &self.client, steps).await;
        let mut traces: Vec<_> = probed
            .into_iter()
            .map(|p| {
                let ok = p.passed();
                (p.trace, ok)
            })
            .collect();
        cap_traces(&mut traces, TRY_BODY_BUDGET);
        Ok(traces)
    }
}

/// Bodies a `Try` answer carries at most, in all: well below gRPC's 4 MiB message limit, so a
/// transaction of many large responses still comes back (cut, and marked so).
const TRY_BODY_BUDGET: usize = 1024 * 1024;

/// Cuts request and response bodies once `budget` bytes of them were kept, step by step.
fn cap_traces(traces: &mut [(Trace, bool)], mut budget: usize) {
    let mut cut = |body: &mut Option<String>| -> bool {
        let Some(b) = body.as_mut() else { return false };
        if b.len() <= budget {
            budget -= b.len();
            return false;
        }
        let mut end = budget;
        while !b.is_char_boundary(end) {
            end -= 1;
        }
        b.truncate(end);
        budget = 0;
        true
    };
    for (t, _) in traces.iter_mut() {
        cut(&mut t.request_body);
        if cut(&mut t.response_body) {
            t.response_body_truncated = true;
        }
    }
}

async fn stop(a: Applied) {
    a.cancel.cancel();
    if tokio::time::timeout(Duration::from_secs(5), a.task)
        .await
        .is_err()
    {
        tracing::warn!("the session did not end within 5 s");
    }
}

/// Runs sessions for one plan and master until cancelled, starting a new one (with a new
/// node id) whenever the master ends the previous one with `quit`.
async fn session_loop(
    mut load: Runtime,
    status: Arc<watch::Sender<SessionStatus>>,
    master: String,
    cancel: CancellationToken,
) {
    loop {
        let cfg = SessionConfig::new(master.clone(), crate::locust::node::node_id());
        let connector = Zmq {
            master: master.clone(),
        };
        status.send_replace(SessionStatus {
            phase: Phase::Connecting,
            ..SessionStatus::default()
        });
        let mut session = Session::new(cfg, connector, load, status.clone());
        session.run(cancel.clone()).await;
        load = session.into_load();
        if cancel.is_cancelled() {
            return;
        }
        tracing::info!("the master ended the session; waiting for it again");
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn try_bodies_are_capped_in_all() {
        let big = "é".repeat(300_000); // 600,000 bytes
        let mut traces: Vec<(Trace, bool)> = (0..5)
            .map(|_| {
                (
                    Trace {
                        response_body: Some(big.clone()),
                        ..Trace::default()
                    },
                    true,
                )
            })
            .collect();
        cap_traces(&mut traces, TRY_BODY_BUDGET);
        let total: usize = traces
            .iter()
            .map(|(t, _)| t.response_body.as_ref().map_or(0, String::len))
            .sum();
        assert!(total <= TRY_BODY_BUDGET);
        assert!(!traces[0].0.response_body_truncated);
        assert!(traces[1].0.response_body_truncated && traces[4].0.response_body_truncated);
    }
}
