//! A run: push the plan, start the swarm on the master through its web API, follow the stages,
//! stop, and store the master's final statistics.
//!
//! Stages are step load (like locust-http's `--step-load` with Locust 1.x): with `stages`, the
//! top-level `users`/`spawn_rate` for `run_time` (when given) come first, then each stage's
//! `users` at its `spawn_rate` for its `duration`. Without stages, `users` at `spawn_rate` for
//! `run_time` (or until stopped).

use std::collections::BTreeMap;
use std::time::Duration;

use contract::plan::parse_duration;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::bridge::{Bridge, Selection};

/// One step of load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stage {
    /// `"30s"`, `"2m"`, ...
    pub duration: String,
    pub users: u32,
    pub spawn_rate: f64,
}

/// What `POST /api/runs` takes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSpec {
    /// Plan id.
    pub plan: String,
    pub users: u32,
    pub spawn_rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<Stage>,
    /// Workers to run on (default: every worker).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Name of an environment whose variables the workers get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A phase of a run: `users` at `spawn_rate` for `duration` (`None` = until stopped).
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub users: u32,
    pub spawn_rate: f64,
    pub duration: Option<Duration>,
}

impl RunSpec {
    /// Checks the request and lays out its phases.
    pub fn phases(&self) -> Result<Vec<Phase>, String> {
        let dur = |field: &str, s: &str| {
            parse_duration(s).filter(|d| !d.is_zero()).ok_or_else(|| {
                format!("{field}: {s:?} is not a duration such as \"30s\" or \"2m\"")
            })
        };
        if !(self.spawn_rate > 0.0 && self.spawn_rate.is_finite()) {
            return Err("spawn_rate must be above 0".into());
        }
        let run_time = self
            .run_time
            .as_deref()
            .map(|s| dur("run_time", s))
            .transpose()?;
        let mut phases = Vec::new();
        if self.stages.is_empty() {
            if self.users == 0 {
                return Err("users must be at least 1".into());
            }
            phases.push(Phase {
                users: self.users,
                spawn_rate: self.spawn_rate,
                duration: run_time,
            });
            return Ok(phases);
        }
        if let Some(d) = run_time {
            phases.push(Phase {
                users: self.users,
                spawn_rate: self.spawn_rate,
                duration: Some(d),
            });
        }
        for (i, s) in self.stages.iter().enumerate() {
            if !(s.spawn_rate > 0.0 && s.spawn_rate.is_finite()) {
                return Err(format!("stages[{i}].spawn_rate must be above 0"));
            }
            phases.push(Phase {
                users: s.users,
                spawn_rate: s.spawn_rate,
                duration: Some(dur(&format!("stages[{i}].duration"), &s.duration)?),
            });
        }
        Ok(phases)
    }
}

/// Runs `spec` as run `id` and stores how it ended.
pub async fn execute(bridge: &Bridge, id: &str, spec: &RunSpec, stop: CancellationToken) {
    let (state, error) = match drive(bridge, id, spec, &stop).await {
        Ok(()) if stop.is_cancelled() => ("stopped", None),
        Ok(()) => ("finished", None),
        Err(e) => ("failed", Some(e)),
    };
    // Stop the master whatever happened, then collect its final numbers.
    if let Err(e) = bridge.master.stop().await {
        tracing::warn!(error = %e, "could not stop the master");
    }
    let (stats, failures) = settle(bridge).await;
    if let Some(e) = &error {
        tracing::error!(run = %id, error = %e, "run failed");
    } else {
        tracing::info!(run = %id, state, "run ended");
    }
    let stats = serde_json::Value::Array(stats);
    let failures = serde_json::Value::Array(failures);
    if let Err(e) = bridge
        .store
        .finish_run(id, state, &stats, &failures, error.as_deref())
    {
        tracing::error!(run = %id, error = %e, "cannot store the run's result");
    }
}

async fn drive(
    bridge: &Bridge,
    id: &str,
    spec: &RunSpec,
    stop: &CancellationToken,
) -> Result<(), String> {
    let phases = spec.phases()?;
    let variables = bridge
        .environment_vars(spec.environment.as_deref())
        .map_err(|e| e.to_string())?;
    let sel = Selection {
        workers: Vec::new(),
        labels: spec.labels.clone(),
    };
    let pushed = bridge
        .push(&spec.plan, &sel, &variables)
        .await
        .map_err(|e| format!("push: {e}"))?;
    let ok = pushed.iter().filter(|p| p.ok).count();
    if ok == 0 {
        let why: Vec<String> = pushed
            .iter()
            .map(|p| format!("{}: {}", p.address, p.error.clone().unwrap_or_default()))
            .collect();
        return Err(format!(
            "no worker took the plan ({})",
            if why.is_empty() {
                "no workers".into()
            } else {
                why.join("; ")
            }
        ));
    }
    // The workers connect to the master on their own; wait until it sees them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match bridge.master.worker_count().await {
            Ok(n) if n as usize >= ok => break,
            Ok(_) | Err(_) if tokio::time::Instant::now() > deadline => {
                return Err(format!(
                    "the master did not see the {ok} workers within 30 s"
                ));
            }
            _ => {}
        }
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    bridge
        .store
        .set_run_state(id, "running")
        .map_err(|e| e.to_string())?;
    for (i, phase) in phases.iter().enumerate() {
        tracing::info!(run = %id, phase = i, users = phase.users, spawn_rate = phase.spawn_rate, "phase");
        bridge
            .master
            .swarm(phase.users, phase.spawn_rate, None)
            .await
            .map_err(|e| e.to_string())?;
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

/// The master's final table, once it stopped and the workers' last reports arrived (the
/// numbers stop changing).
async fn settle(bridge: &Bridge) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stopped = bridge
            .master
            .live()
            .await
            .map(|s| s["state"] == "stopped" || s["state"] == "ready")
            .unwrap_or(false);
        if stopped || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let total = |rows: &[serde_json::Value]| {
        rows.last().map(|r| {
            (
                r["num_requests"].as_u64().unwrap_or(0),
                r["num_failures"].as_u64().unwrap_or(0),
            )
        })
    };
    let mut last = bridge.master.stats().await.unwrap_or_default();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = bridge.master.stats().await.unwrap_or_default();
        let same = total(&now) == total(&last);
        last = now;
        if same {
            break;
        }
    }
    let failures = bridge.master.failures().await.unwrap_or_default();
    (last, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(run_time: Option<&str>, stages: Vec<Stage>) -> RunSpec {
        RunSpec {
            plan: "p".into(),
            users: 10,
            spawn_rate: 10.0,
            run_time: run_time.map(str::to_string),
            stages,
            labels: BTreeMap::new(),
            environment: None,
        }
    }

    #[test]
    fn phases_follow_run_time_and_stages() {
        let p = spec(Some("15s"), vec![]).phases().unwrap();
        assert_eq!(
            p,
            [Phase {
                users: 10,
                spawn_rate: 10.0,
                duration: Some(Duration::from_secs(15))
            }]
        );
        assert_eq!(spec(None, vec![]).phases().unwrap()[0].duration, None);
        let stage = Stage {
            duration: "30s".into(),
            users: 50,
            spawn_rate: 5.0,
        };
        let p = spec(Some("15s"), vec![stage.clone()]).phases().unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].users, 50);
        assert_eq!(spec(None, vec![stage]).phases().unwrap().len(), 1);
        assert!(spec(Some("soon"), vec![]).phases().is_err());
        let mut bad = spec(None, vec![]);
        bad.spawn_rate = 0.0;
        assert!(bad.phases().is_err());
    }
}
