//! The run state machine: the states a run goes through and which changes are allowed. A leaf
//! module (no dependencies), shared by the store (which maps states to and from its text column)
//! and the run service (which drives them).
//!
//! ```text
//! starting --> running --> finished
//!    |            |------> stopped
//!    |            '------> failed
//!    |-------------------> stopped
//!    '-------------------> failed
//! ```

use serde::{Deserialize, Serialize};

/// Where a run is. The JSON shape (`"starting"`, `"running"`, ...) is the REST API's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Pushing the plan and waiting for the master to see the workers.
    Starting,
    /// The swarm is going.
    Running,
    /// Every phase ran to its end.
    Finished,
    /// Ended early on request (or because the bridge shut down).
    Stopped,
    /// Could not start or broke off.
    Failed,
}

/// A change the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a run cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: RunState,
    pub to: RunState,
}

impl RunState {
    /// Whether the run is still going (not yet ended).
    pub fn is_live(self) -> bool {
        matches!(self, RunState::Starting | RunState::Running)
    }

    /// Whether a run in this state may move to `next`.
    pub fn can_become(self, next: RunState) -> bool {
        use RunState::{Failed, Finished, Running, Starting, Stopped};
        matches!(
            (self, next),
            (Starting, Running | Stopped | Failed) | (Running, Finished | Stopped | Failed)
        )
    }

    /// `next` when the machine allows it.
    pub fn advance(self, next: RunState) -> Result<RunState, IllegalTransition> {
        if self.can_become(next) {
            Ok(next)
        } else {
            Err(IllegalTransition {
                from: self,
                to: next,
            })
        }
    }
}

impl std::fmt::Display for RunState {
    /// For people (logs, the one-shot `run`'s summary); the same words as the API's JSON.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunState::Starting => "starting",
            RunState::Running => "running",
            RunState::Finished => "finished",
            RunState::Stopped => "stopped",
            RunState::Failed => "failed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RunState::{self, *};

    const ALL: [RunState; 5] = [Starting, Running, Finished, Stopped, Failed];

    #[test]
    fn only_the_drawn_transitions_are_allowed() {
        let allowed = [
            (Starting, Running),
            (Starting, Stopped),
            (Starting, Failed),
            (Running, Finished),
            (Running, Stopped),
            (Running, Failed),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
                assert_eq!(from.advance(to).is_ok(), allowed.contains(&(from, to)));
            }
        }
    }

    #[test]
    fn live_states_and_json_names() {
        let live: Vec<RunState> = ALL.into_iter().filter(|s| s.is_live()).collect();
        assert_eq!(live, [Starting, Running]);
        for s in ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.to_string());
            let back: RunState = serde_json::from_value(serde_json::json!(s.to_string())).unwrap();
            assert_eq!(back, s);
        }
    }
}
