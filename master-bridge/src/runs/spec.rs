//! What a run is asked to do: [`RunSpec`] (the body of `POST /api/runs`), checked and laid out
//! as [`Phase`]s before anything starts.
//!
//! Stages are step load (like locust-http's `--step-load` with Locust 1.x): with `stages`, the
//! top-level `users`/`spawn_rate` for `run_time` (when given) come first, then each stage's
//! `users` at its `spawn_rate` for its `duration`. Without stages, `users` at `spawn_rate` for
//! `run_time` (or until stopped).

use std::collections::BTreeMap;
use std::time::Duration;

use contract::plan::parse_duration;
use serde::{Deserialize, Serialize};

/// What is wrong with a run request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("spawn_rate must be above 0")]
    SpawnRate,
    #[error("users must be at least 1")]
    Users,
    #[error("stages[{0}].spawn_rate must be above 0")]
    StageSpawnRate(usize),
    #[error("thresholds: {0}")]
    Thresholds(String),
    #[error("{field}: {value:?} is not a duration such as \"30s\" or \"2m\"")]
    Duration { field: String, value: String },
}

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
    /// Thresholds judged on the master's final statistics (`p95<300ms`, ...); a breach marks
    /// the run failed, with the verdicts stored on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
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
    pub fn phases(&self) -> Result<Vec<Phase>, SpecError> {
        let dur = |field: &str, s: &str| {
            parse_duration(s)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| SpecError::Duration {
                    field: field.to_string(),
                    value: s.to_string(),
                })
        };
        if !(self.spawn_rate > 0.0 && self.spawn_rate.is_finite()) {
            return Err(SpecError::SpawnRate);
        }
        self.parsed_thresholds()?;
        let run_time = self
            .run_time
            .as_deref()
            .map(|s| dur("run_time", s))
            .transpose()?;
        let mut phases = Vec::new();
        if self.stages.is_empty() {
            if self.users == 0 {
                return Err(SpecError::Users);
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
                return Err(SpecError::StageSpawnRate(i));
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

impl RunSpec {
    /// The thresholds, parsed (every bad one named at once).
    pub fn parsed_thresholds(&self) -> Result<Vec<contract::threshold::Threshold>, SpecError> {
        contract::threshold::parse_all(&self.thresholds).map_err(|errors| {
            SpecError::Thresholds(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
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
            thresholds: Vec::new(),
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
        assert_eq!(
            spec(Some("soon"), vec![]).phases().unwrap_err().to_string(),
            "run_time: \"soon\" is not a duration such as \"30s\" or \"2m\""
        );
        assert!(matches!(
            spec(Some("0s"), vec![]).phases(),
            Err(SpecError::Duration { .. })
        ));
        let mut bad = spec(None, vec![]);
        bad.spawn_rate = 0.0;
        assert_eq!(bad.phases(), Err(SpecError::SpawnRate));
        bad.spawn_rate = f64::NAN;
        assert_eq!(bad.phases(), Err(SpecError::SpawnRate));
        let mut none = spec(None, vec![]);
        none.users = 0;
        assert_eq!(none.phases(), Err(SpecError::Users));
        let zero_stage = Stage {
            duration: "1s".into(),
            users: 0,
            spawn_rate: 1.0,
        };
        assert_eq!(
            spec(None, vec![zero_stage.clone()]).phases().unwrap()[0].users,
            0,
            "a stage may scale down to zero users"
        );
        let bad_stage = Stage {
            spawn_rate: 0.0,
            ..zero_stage
        };
        assert_eq!(
            spec(None, vec![bad_stage]).phases(),
            Err(SpecError::StageSpawnRate(0))
        );
    }
}
