//! The run service: [`Runs`] owns the current run (one at a time), its stop token and its state.
//! Every run task lives in a [`TaskTracker`] under the root shutdown token, so shutting the
//! bridge down stops the swarm on the master and records the run as `stopped`. Every state
//! change is written to the store first, then published on a `watch` channel, which is what
//! [`Runs::wait`] waits on.
//!
//! - [`spec`]: what a run is asked to do, checked before anything starts.
//! - [`driver`]: one run's course (push, wait for the master, phases, stop, final statistics).
//! - [`record`]: the master's numbers sampled every second, and its files kept when a run ends.

pub mod driver;
pub mod record;
pub mod spec;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::master::LocustWeb;
use crate::pusher::Pusher;
use crate::run_state::RunState;
use crate::store::{RunRecord, Store, StoreError};
pub use spec::{Phase, RunSpec, SpecError, Stage};

/// Why a run could not be started, stopped or found.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    InvalidSpec(#[from] SpecError),
    #[error("plan {0} not found")]
    PlanNotFound(String),
    #[error("run {0} not found")]
    NotFound(String),
    #[error("run {0} is still going; stop it first")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The latest state change: which run, and its state.
pub type Latest = Option<(String, RunState)>;

/// The run service.
#[derive(Debug)]
pub struct Runs {
    store: Store,
    pusher: Arc<Pusher>,
    master: LocustWeb,
    /// The root shutdown token; every run's stop token is its child.
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// The current run's id and stop token (taken for the whole of a start, so two starts
    /// cannot race).
    current: Mutex<Option<(String, CancellationToken)>>,
    latest: watch::Sender<Latest>,
}

impl Runs {
    pub fn new(
        store: Store,
        pusher: Arc<Pusher>,
        master: LocustWeb,
        shutdown: CancellationToken,
    ) -> Arc<Runs> {
        Arc::new(Runs {
            store,
            pusher,
            master,
            shutdown,
            tasks: TaskTracker::new(),
            current: Mutex::new(None),
            latest: watch::channel(None).0,
        })
    }

    /// State changes as they happen (the store already has them).
    pub fn subscribe(&self) -> watch::Receiver<Latest> {
        self.latest.subscribe()
    }

    /// The run in progress, if any.
    pub fn live(&self) -> Option<(String, RunState)> {
        self.latest.borrow().clone().filter(|(_, s)| s.is_live())
    }

    /// Checks `spec` and starts it in the background; one run at a time.
    pub async fn start(self: &Arc<Self>, spec: RunSpec) -> Result<RunRecord, RunError> {
        spec.phases()?;
        let plan = self
            .store
            .plan(&spec.plan, None)
            .await?
            .ok_or_else(|| RunError::PlanNotFound(spec.plan.clone()))?;
        let mut current = self.current.lock().await;
        if let Some((id, _)) = current.as_ref()
            && self.live().is_some_and(|(live, _)| &live == id)
        {
            return Err(RunError::Busy(id.clone()));
        }
        if self.shutdown.is_cancelled() {
            return Err(RunError::Busy("none: the bridge is shutting down".into()));
        }
        let request = serde_json::to_value(&spec).unwrap_or_default();
        let run = self
            .store
            .create_run(&plan.id, plan.version, &request)
            .await?;
        let stop = self.shutdown.child_token();
        *current = Some((run.id.clone(), stop.clone()));
        self.latest
            .send_replace(Some((run.id.clone(), RunState::Starting)));
        let runs = self.clone();
        let id = run.id.clone();
        self.tasks.spawn(async move {
            driver::execute(&runs, &id, &spec, &stop).await;
        });
        Ok(run)
    }

    /// Asks the run to stop; it ends `stopped` with the statistics so far.
    pub async fn stop(&self, id: &str) -> Result<RunRecord, RunError> {
        let run = self
            .store
            .run(id)
            .await?
            .ok_or_else(|| RunError::NotFound(id.to_string()))?;
        if let Some((cur, stop)) = self.current.lock().await.as_ref()
            && cur == id
        {
            stop.cancel();
        }
        Ok(run)
    }

    /// Waits for a run to end and returns its record.
    pub async fn wait(&self, id: &str) -> Result<RunRecord, RunError> {
        let mut changes = self.latest.subscribe();
        loop {
            changes.borrow_and_update();
            let run = self
                .store
                .run(id)
                .await?
                .ok_or_else(|| RunError::NotFound(id.to_string()))?;
            if !run.state.is_live() || changes.changed().await.is_err() {
                return Ok(run);
            }
        }
    }

    /// Stops taking runs and waits up to `grace` for the run tasks (the root token, cancelled,
    /// has asked them to stop). False if they did not end in time.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }

    /// Writes a state change, then publishes it.
    async fn enter(&self, id: &str, state: RunState) -> Result<(), StoreError> {
        self.store.set_run_state(id, state).await?;
        self.latest.send_replace(Some((id.to_string(), state)));
        Ok(())
    }

    /// Writes how a run ended, then publishes it.
    async fn finish(
        &self,
        id: &str,
        state: RunState,
        stats: serde_json::Value,
        failures: serde_json::Value,
        error: Option<String>,
    ) {
        if let Err(e) = self
            .store
            .finish_run(id, state, stats, failures, error)
            .await
        {
            tracing::error!(run = %id, error = %e, "cannot store the run's result");
        }
        self.latest.send_replace(Some((id.to_string(), state)));
    }
}

#[cfg(test)]
mod tests;
