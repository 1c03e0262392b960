//! One run's course: push the plan, wait until the master sees the workers, start the swarm
//! through the master's web API, follow the phases, then stop the master whatever happened and
//! store its final statistics. At shutdown the closing steps get a shorter, bounded time.

use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{RunSpec, Runs, SpecError};
use crate::fleet::Selection;
use crate::master::{LocustWeb, MasterError};
use crate::pusher::PushError;
use crate::run_state::{IllegalTransition, RunState};
use crate::store::StoreError;

/// How long the master gets to see the workers that took the plan.
const WORKERS_WAIT: Duration = Duration::from_secs(30);
/// How long closing (stop, final statistics) may take after a run.
const SETTLE: Duration = Duration::from_secs(20);
/// ... and when the bridge is shutting down.
const SHUTDOWN_SETTLE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(250);
/// How long each of the master's files may take when a run ends.
const FILES: Duration = Duration::from_secs(10);

/// Why a run failed (stored as its `error`).
#[derive(Debug, thiserror::Error)]
enum DriveError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Variables(PushError),
    #[error("push: {0}")]
    Push(PushError),
    #[error("no worker took the plan ({0})")]
    NoWorker(String),
    #[error("the master did not see the {0} workers within 30 s")]
    MasterDidNotSeeWorkers(usize),
    #[error(transparent)]
    Master(#[from] MasterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
}

/// Runs `spec` as run `id` and stores how it ended.
pub(super) async fn execute(runs: &Runs, id: &str, spec: &RunSpec, stop: &CancellationToken) {
    let mut state = RunState::Starting;
    // The master is sampled while the run is driven (the sampler never ends on its own).
    let outcome = tokio::select! {
        outcome = drive(runs, id, spec, stop, &mut state) => outcome,
        () = super::record::sample(&runs.master, &runs.store, id) => Ok(()),
    };
    let (end, error) = match outcome {
        Ok(()) if stop.is_cancelled() => (RunState::Stopped, None),
        Ok(()) => (RunState::Finished, None),
        Err(e) => (RunState::Failed, Some(e.to_string())),
    };
    let (end, error) = match state.advance(end) {
        Ok(s) => (s, error),
        Err(e) => (RunState::Failed, Some(e.to_string())),
    };
    let budget = if runs.shutdown.is_cancelled() {
        SHUTDOWN_SETTLE
    } else {
        SETTLE
    };
    let (stats, failures) = close(&runs.master, budget).await;
    super::record::keep_files(&runs.master, &runs.store, id, budget.min(FILES)).await;
    let (end, error) = judge(runs, id, spec, &stats, end, error).await;
    match &error {
        Some(e) => tracing::error!(run = %id, error = %e, "run failed"),
        None => tracing::info!(run = %id, state = %end, "run ended"),
    }
    runs.finish(id, end, Value::Array(stats), Value::Array(failures), error)
        .await;
}

/// Judges the run's thresholds on its final statistics and stores the verdicts; a breach makes
/// a run that ended normally `failed`, its error naming each breached threshold and by how much.
async fn judge(
    runs: &Runs,
    id: &str,
    spec: &RunSpec,
    stats: &[Value],
    end: RunState,
    error: Option<String>,
) -> (RunState, Option<String>) {
    let Ok(mut thresholds) = spec.parsed_thresholds() else {
        return (end, error);
    };
    // The plan's own thresholds count too (checked when the plan was saved).
    if let Ok(Some(plan)) = runs.store.plan(&spec.plan, None).await {
        let own: Vec<String> = plan.plan["thresholds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        for t in contract::threshold::parse_all(&own).unwrap_or_default() {
            if !thresholds.iter().any(|have| have.source == t.source) {
                thresholds.push(t);
            }
        }
    }
    if thresholds.is_empty() || end == RunState::Failed {
        return (end, error);
    }
    let verdicts = crate::verdicts::judge(&thresholds, stats);
    let stored = serde_json::to_value(&verdicts).unwrap_or_default();
    if let Err(e) = runs.store.set_run_thresholds(id, stored).await {
        tracing::error!(run = %id, error = %e, "cannot store the threshold verdicts");
    }
    match crate::verdicts::breached(&verdicts) {
        Some(why) => (RunState::Failed, Some(why)),
        None => (end, error),
    }
}

async fn drive(
    runs: &Runs,
    id: &str,
    spec: &RunSpec,
    stop: &CancellationToken,
    state: &mut RunState,
) -> Result<(), DriveError> {
    let phases = spec.phases()?;
    let variables = runs
        .pusher
        .environment_vars(spec.environment.as_deref())
        .await
        .map_err(DriveError::Variables)?;
    let sel = Selection::pool(spec.labels.clone());
    let pushed = runs
        .pusher
        .push(&spec.plan, &sel, &variables)
        .await
        .map_err(DriveError::Push)?;
    let ok = pushed.iter().filter(|p| p.ok).count();
    if ok == 0 {
        let why: Vec<String> = pushed
            .iter()
            .map(|p| format!("{}: {}", p.address, p.error.clone().unwrap_or_default()))
            .collect();
        return Err(DriveError::NoWorker(if why.is_empty() {
            "no workers".into()
        } else {
            why.join("; ")
        }));
    }
    // The workers connect to the master on their own; wait until it sees them.
    let deadline = tokio::time::Instant::now() + WORKERS_WAIT;
    loop {
        match runs.master.worker_count().await {
            Ok(n) if n as usize >= ok => break,
            Ok(_) | Err(_) if tokio::time::Instant::now() > deadline => {
                return Err(DriveError::MasterDidNotSeeWorkers(ok));
            }
            _ => {}
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(POLL) => {}
        }
    }
    *state = state.advance(RunState::Running)?;
    runs.enter(id, *state).await?;
    for (i, phase) in phases.iter().enumerate() {
        tracing::info!(run = %id, phase = i, users = phase.users, spawn_rate = phase.spawn_rate, "phase");
        runs.master
            .swarm(phase.users, phase.spawn_rate, None)
            .await?;
        match phase.duration {
            Some(d) => {
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = tokio::time::sleep(d) => {}
                }
            }
            None => {
                stop.cancelled().await;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Stops the master and collects its final table, within `budget`.
async fn close(master: &LocustWeb, budget: Duration) -> (Vec<Value>, Vec<Value>) {
    let deadline = tokio::time::Instant::now() + budget;
    match tokio::time::timeout_at(deadline, master.stop()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not stop the master"),
        Err(_) => tracing::warn!("the master did not answer the stop in time"),
    }
    settle(master, deadline).await
}

/// The master's final table, once it stopped and the workers' last reports arrived (the
/// numbers stop changing), or whatever it has at `deadline`.
async fn settle(master: &LocustWeb, deadline: tokio::time::Instant) -> (Vec<Value>, Vec<Value>) {
    let before = |d: tokio::time::Instant| tokio::time::Instant::now() < d;
    while before(deadline) {
        let stopped = tokio::time::timeout_at(deadline, master.live())
            .await
            .ok()
            .and_then(Result::ok)
            .is_some_and(|s| s["state"] == "stopped" || s["state"] == "ready");
        if stopped {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let total = |rows: &[Value]| {
        rows.last().map(|r| {
            (
                r["num_requests"].as_u64().unwrap_or(0),
                r["num_failures"].as_u64().unwrap_or(0),
            )
        })
    };
    // Collecting the numbers gets a little time of its own even when the deadline has passed.
    let grace = tokio::time::Instant::now() + Duration::from_secs(2);
    let fetch = |until| async move {
        tokio::time::timeout_at(until, master.stats())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    };
    let mut last = fetch(deadline.max(grace)).await;
    for _ in 0..20 {
        if !before(deadline) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = fetch(deadline.max(grace)).await;
        let same = total(&now) == total(&last);
        last = now;
        if same {
            break;
        }
    }
    let failures = tokio::time::timeout_at(deadline.max(grace), master.failures())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    (last, failures)
}
