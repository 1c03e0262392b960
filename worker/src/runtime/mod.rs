//! The worker's running load. One [`Runtime`] owns the plan, the master's host override, the
//! `--allow-target` list, the statistics and the simulated users, and is the only caller of the
//! engine's compiler (through `compile`). The Locust session drives it through the
//! [`Load`] trait and never sees a plan; the fleet hands it new
//! plans through a watch channel ([`Runtime::follow`]).
//!
//! - [`users`]: simulated users as tokio tasks, started and stopped exactly.
//! - [`lanes`]: the threads users run on (`--threads`), one single-threaded runtime each.
//! - [`probe`]: one user running steps once, traced (`worker run --once` and the fleet's `Try`).

pub mod lanes;
pub mod probe;
pub mod users;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use contract::Plan;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio_util::task::TaskTracker;

use crate::engine::{self, AllowList, CompiledPlan};
use crate::locust::codec::{self, ClassCounts, StatsPayload};
use crate::locust::session::{Load, LoadEvent};
use crate::stats::Stats;

use users::{StopPolicy, Users};

pub use crate::engine::CompileError;

/// Compiles `plan` for `host` (`None`: the plan's own) under `allow`. The one place the engine's
/// compiler is called from.
fn compile(
    plan: &Plan,
    host: Option<&str>,
    allow: Option<Arc<AllowList>>,
    stats: &Stats,
) -> Result<CompiledPlan, CompileError> {
    let compiled = engine::compile_with(plan, host, allow, &stats.rows())?;
    stats.adopt(&compiled.stat_rows);
    Ok(compiled)
}

/// Compiles `plan` (with its own host) for a [`probe`]: nothing is counted.
pub fn compile_for_probe(
    plan: &Plan,
    allow: Option<Arc<AllowList>>,
) -> Result<CompiledPlan, CompileError> {
    engine::compile_with(plan, None, allow, &[])
}

/// The running load of one worker (see the module doc).
#[derive(Debug)]
pub struct Runtime {
    plan: Arc<Plan>,
    host: Option<String>,
    allow: Option<Arc<AllowList>>,
    stats: Arc<Stats>,
    users: Users,
    user_errors: mpsc::UnboundedReceiver<String>,
    updates: Option<watch::Receiver<Arc<Plan>>>,
    /// The master's last `stop_timeout` (seconds).
    stop_timeout: f64,
    policy: StopPolicy,
    /// At most this many users run at once (`--max-users`).
    max_users: u32,
    /// The last target that had to be capped (warned about once).
    capped: Option<ClassCounts>,
    /// Messages for the master's operator, returned by [`Runtime::next_event`].
    notices: std::collections::VecDeque<String>,
    /// `--metrics-addr`: every report is counted there too.
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// The default of `--max-users`: what one worker can hold (about 100 KiB per idle user).
pub const DEFAULT_MAX_USERS: u32 = 100_000;

/// On a stop without the master's `stop_timeout`, in-flight requests get their own timeout and
/// this much more, so that they complete (as a response or a timeout) and are counted as what
/// they were.
const IN_FLIGHT_MARGIN: Duration = Duration::from_millis(500);

impl Runtime {
    /// Compiles `plan` (with its own host) and prepares users for it; none runs yet.
    pub fn new(
        plan: Arc<Plan>,
        client: reqwest::Client,
        allow: Option<Arc<AllowList>>,
        tracker: TaskTracker,
    ) -> Result<Runtime, CompileError> {
        let compiled = engine::compile_with(&plan, None, allow.clone(), &[])?;
        let stats = Stats::new(&compiled.stat_rows);
        let in_flight_grace = compiled.timeout + IN_FLIGHT_MARGIN;
        let (users, user_errors) = Users::new(client, stats.clone(), Arc::new(compiled), tracker);
        Ok(Runtime {
            plan,
            host: None,
            allow,
            stats,
            users,
            user_errors,
            updates: None,
            stop_timeout: 0.0,
            policy: StopPolicy::from_stop_timeout(0.0, in_flight_grace),
            max_users: DEFAULT_MAX_USERS,
            capped: None,
            notices: Default::default(),
            metrics: None,
        })
    }

    /// Takes later plans from `updates` (the value in it now counts as seen); each is compiled
    /// for the host in use and taken by users at their next transaction.
    pub fn follow(&mut self, mut updates: watch::Receiver<Arc<Plan>>) {
        updates.borrow_and_update();
        self.updates = Some(updates);
    }

    /// Caps the users running at once; a larger target is scaled down (see [`Runtime::apply`]).
    pub fn set_max_users(&mut self, max_users: u32) {
        self.max_users = max_users;
    }

    /// Also counts every report in `metrics` (the worker's `/metrics`).
    pub fn set_metrics(&mut self, metrics: Arc<crate::metrics::Metrics>) {
        self.metrics = Some(metrics);
    }

    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// Switches to `plan`: users take it at their next transaction; in-flight requests finish
    /// and are recorded once. On error nothing changes.
    pub fn set_plan(&mut self, plan: Arc<Plan>) -> Result<(), CompileError> {
        let compiled = compile(&plan, self.host.as_deref(), self.allow.clone(), &self.stats)?;
        self.users.set_plan(Arc::new(compiled));
        self.plan = plan;
        self.set_stop_timeout(self.stop_timeout);
        Ok(())
    }

    /// Uses `host` instead of the plan's own (`None`: the plan's). On error nothing changes.
    pub fn set_host(&mut self, host: Option<&str>) -> Result<(), CompileError> {
        if host == self.host.as_deref() {
            return Ok(());
        }
        let compiled = compile(&self.plan, host, self.allow.clone(), &self.stats)?;
        self.users.set_plan(Arc::new(compiled));
        self.host = host.map(str::to_string);
        Ok(())
    }

    /// The master's `stop_timeout` (seconds) for later stops and ramp-downs.
    pub fn set_stop_timeout(&mut self, stop_timeout: f64) {
        self.stop_timeout = stop_timeout;
        let in_flight_grace = self.users.plan().timeout + IN_FLIGHT_MARGIN;
        self.policy = StopPolicy::from_stop_timeout(stop_timeout, in_flight_grace);
        self.users.set_stop_policy(self.policy);
    }

    /// Moves towards `target` (absolute, per class), starting at most `budget` users; true once
    /// there. A target above `--max-users` is scaled down, each class in proportion, and the
    /// master's operator is told once (a Locust `exception`).
    pub fn apply(&mut self, target: &ClassCounts, budget: usize) -> bool {
        let total: u64 = target.values().map(|&n| u64::from(n)).sum();
        if total <= u64::from(self.max_users) {
            return self.users.apply(target, budget);
        }
        let capped = cap(target, self.max_users);
        if self.capped.as_ref() != Some(&capped) {
            let msg = format!(
                "the master asked this worker for {total} users; running {} (--max-users)",
                self.max_users
            );
            tracing::warn!(%msg);
            self.notices.push_back(msg);
            self.capped = Some(capped.clone());
        }
        self.users.apply(&capped, budget)
    }

    pub fn counts(&self) -> ClassCounts {
        self.users.counts()
    }

    /// Stops every user; `None` uses the stop policy, `Some(grace)` stops at the next step and
    /// abandons in-flight requests after `grace`. The future ends when every user has ended.
    pub fn stop(&mut self, grace: Option<Duration>) -> BoxFuture<'static, ()> {
        let policy = match grace {
            None => self.policy,
            Some(grace) => StopPolicy {
                finish_transaction: false,
                grace,
            },
        };
        let stopping = self.users.stop_all(policy);
        let abandoned = self.users.abandoned();
        Box::pin(async move {
            let before = abandoned.load(Ordering::Relaxed);
            stopping.finish().await;
            let cut = abandoned.load(Ordering::Relaxed).saturating_sub(before);
            if cut > 0 {
                tracing::warn!(
                    requests = cut,
                    "abandoned in-flight requests at stop; they are not counted"
                );
            }
        })
    }

    /// The statistics since the last report, with the user counts, in Locust's wire shape.
    pub fn take_report(&mut self) -> StatsPayload {
        let payload = codec::stats_payload(self.stats.take_report(), self.users.counts());
        if let Some(m) = &self.metrics {
            m.observe(&payload);
        }
        payload
    }

    /// Forgets unreported statistics; returns how many requests were dropped.
    pub fn clear_stats(&mut self) -> u64 {
        self.stats.clear()
    }

    /// The next thing to tell the session: a crashed user, or a plan update that could not be
    /// used. Plan updates that compile are applied here and produce no event.
    pub async fn next_event(&mut self) -> LoadEvent {
        if let Some(msg) = self.notices.pop_front() {
            return LoadEvent::Exception(msg);
        }
        loop {
            let updates = &mut self.updates;
            let errors = &mut self.user_errors;
            let update = async move {
                if let Some(rx) = updates.as_mut()
                    && rx.changed().await.is_ok()
                {
                    return rx.borrow_and_update().clone();
                }
                std::future::pending().await
            };
            let plan = tokio::select! {
                Some(msg) = errors.recv() => return LoadEvent::Exception(msg),
                plan = update => plan,
            };
            let name = plan.name.clone();
            match self.set_plan(plan) {
                Ok(()) => tracing::info!(plan = %name, "switched to a new plan"),
                Err(e) => {
                    return LoadEvent::Refused(format!("cannot switch to plan {name:?}: {e}"));
                }
            }
        }
    }
}

impl Load for Runtime {
    fn set_host(&mut self, host: Option<&str>) -> Result<(), String> {
        Runtime::set_host(self, host).map_err(|e| {
            format!(
                "cannot use the master's host {:?}: {e}",
                host.unwrap_or_default()
            )
        })
    }

    fn set_stop_timeout(&mut self, stop_timeout: f64) {
        Runtime::set_stop_timeout(self, stop_timeout);
    }

    fn apply(&mut self, target: &ClassCounts, budget: usize) -> bool {
        Runtime::apply(self, target, budget)
    }

    fn counts(&self) -> ClassCounts {
        Runtime::counts(self)
    }

    fn stop(&mut self, grace: Option<Duration>) -> BoxFuture<'static, ()> {
        Runtime::stop(self, grace)
    }

    fn take_report(&mut self) -> StatsPayload {
        Runtime::take_report(self)
    }

    fn clear_stats(&mut self) -> u64 {
        Runtime::clear_stats(self)
    }

    fn next_event(&mut self) -> impl Future<Output = LoadEvent> + Send {
        Runtime::next_event(self)
    }
}

/// `target` scaled down to `max` users in total, each class in proportion (largest remainders
/// first, so the total is exactly `max`).
fn cap(target: &ClassCounts, max: u32) -> ClassCounts {
    let total: u64 = target.values().map(|&n| u64::from(n)).sum();
    let mut out = ClassCounts::new();
    let mut rest = Vec::new();
    let mut given = 0u64;
    for (class, &n) in target {
        let exact = u128::from(n) * u128::from(max);
        let share = u64::try_from(exact / u128::from(total.max(1))).unwrap_or(u64::MAX);
        given += share;
        rest.push((exact % u128::from(total.max(1)), class.clone()));
        out.insert(class.clone(), u32::try_from(share).unwrap_or(u32::MAX));
    }
    rest.sort_by_key(|r| std::cmp::Reverse(r.0));
    for (_, class) in rest
        .into_iter()
        .take(usize::try_from(u64::from(max).saturating_sub(given)).unwrap_or(0))
    {
        if let Some(n) = out.get_mut(&class) {
            *n = n.saturating_add(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_target_keeps_the_mix_and_the_total() {
        let target: ClassCounts = [("a".to_string(), 750_000), ("b".to_string(), 250_001)].into();
        let capped = cap(&target, 100_000);
        assert_eq!(capped.values().map(|&n| u64::from(n)).sum::<u64>(), 100_000);
        assert!((capped["a"] as i64 - 75_000).abs() <= 1, "{capped:?}");
        let one: ClassCounts = [("a".to_string(), u32::MAX), ("b".to_string(), u32::MAX)].into();
        assert_eq!(cap(&one, 3).values().sum::<u32>(), 3);
    }
}
