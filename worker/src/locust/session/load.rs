//! What the session drives: the worker's running load, seen only through the protocol's eyes
//! (user counts in, statistics out). `runtime::Runtime` implements it; the session's tests use a
//! scripted one.

use std::future::Future;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::locust::codec::{ClassCounts, StatsPayload};

/// Something the load has to tell the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadEvent {
    /// Something the master's operator must see (a crashed user, a capped spawn): reported to
    /// the master as a Locust `exception`.
    Exception(String),
    /// A change that could not be used (a new plan that does not compile): kept as the last error.
    Refused(String),
}

pub trait Load: Send {
    /// Uses the master's host (`None`: the plan's own). `Err` says why it cannot; nothing changed.
    fn set_host(&mut self, host: Option<&str>) -> Result<(), String>;
    /// The master's `stop_timeout` (seconds) for later stops and ramp-downs.
    fn set_stop_timeout(&mut self, stop_timeout: f64);
    /// Moves towards `target` (absolute users per class), starting at most `budget` users;
    /// true once there. The session calls it again between other work until then.
    fn apply(&mut self, target: &ClassCounts, budget: usize) -> bool;
    /// Running users per class.
    fn counts(&self) -> ClassCounts;
    /// Stops every user: `None` by the stop policy, `Some(grace)` at the next step with in-flight
    /// requests abandoned after `grace`. The future ends when every user has ended.
    fn stop(&mut self, grace: Option<Duration>) -> BoxFuture<'static, ()>;
    /// The statistics since the last report, with the user counts.
    fn take_report(&mut self) -> StatsPayload;
    /// Forgets unreported statistics; returns how many requests were dropped.
    fn clear_stats(&mut self) -> u64;
    /// The next event; pending while there is none. Must be cancel-safe.
    fn next_event(&mut self) -> impl Future<Output = LoadEvent> + Send;
}
