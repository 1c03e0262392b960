//! Simulated users: one lightweight tokio task each, started and stopped exactly on demand.
//!
//! [`Users::apply`] takes the master's absolute per-class target and starts or stops users at
//! once (the master paces the ramp). A user loops over the plan's transactions, picked by weight.
//! Stopping is two-phase: `stop` asks a user to end at the next step boundary (or, when the
//! master gave a `stop_timeout`, after its current transaction, as Locust does); `kill`, fired
//! after the grace period, abandons an in-flight request. A request that completes is recorded
//! as what it was; an abandoned one is not recorded at all (the tool cut it off, the server did
//! not fail it, and it may never have reached the server), only counted in
//! [`Users::abandoned`] and logged.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use contract::plan::{DataPer, ThinkTime};
use rand::Rng;
use std::time::Instant;

use crate::engine::template::Vars;
use crate::engine::{self, CompiledPlan, CompiledStep, Outcome, StepContext};
use crate::locust::codec::ClassCounts;
use crate::stats::{Failure, Recorder, Stats, unix_now};

/// How users that are asked to stop should end.
#[derive(Debug, Clone, Copy)]
pub struct StopPolicy {
    /// Finish the current transaction (true) or only the in-flight request (false).
    pub finish_transaction: bool,
    /// After this, in-flight requests are abandoned.
    pub grace: Duration,
}

impl StopPolicy {
    /// Locust's semantics for a master `stop_timeout` (seconds): 0 = stop at once (we still let
    /// the in-flight request finish within `in_flight_grace`); > 0 = finish the transaction.
    pub fn from_stop_timeout(stop_timeout: f64, in_flight_grace: Duration) -> StopPolicy {
        if stop_timeout > 0.0 {
            StopPolicy {
                finish_transaction: true,
                grace: Duration::from_secs_f64(stop_timeout.min(86_400.0)),
            }
        } else {
            StopPolicy {
                finish_transaction: false,
                grace: in_flight_grace,
            }
        }
    }
}

/// The stop signals of one user, from gentlest to hardest.
#[derive(Debug, Clone, Default)]
struct Signals {
    /// End after the current transaction.
    at_transaction: CancellationToken,
    /// End after the in-flight request.
    at_step: CancellationToken,
    /// Abandon the in-flight request now.
    kill: CancellationToken,
}

#[derive(Debug)]
struct User {
    signals: Signals,
    handle: JoinHandle<()>,
}

/// Users that were asked to stop; await [`Stopping::finish`] to know they are gone.
#[derive(Debug)]
pub struct Stopping {
    users: Vec<User>,
    grace: Duration,
}

impl Stopping {
    /// Waits until every user has ended, abandoning in-flight requests after the grace period.
    pub async fn finish(self) {
        let Stopping { users, grace } = self;
        let mut handles = Vec::with_capacity(users.len());
        let mut kills = Vec::with_capacity(users.len());
        for u in users {
            handles.push(u.handle);
            kills.push(u.signals.kill);
        }
        let mut all = futures::future::join_all(handles);
        if tokio::time::timeout(grace, &mut all).await.is_err() {
            for k in &kills {
                k.cancel();
            }
            all.await;
        }
    }
}

/// Everything a user task needs, shared by all users.
#[derive(Debug, Clone)]
struct Shared {
    client: reqwest::Client,
    stats: Arc<Stats>,
    plan: watch::Receiver<Arc<CompiledPlan>>,
    /// Internal errors (a panicking user) for the session to report as Locust `exception`s.
    errors: mpsc::UnboundedSender<String>,
    /// Requests abandoned by `kill` since the start.
    abandoned: Arc<AtomicU64>,
}

/// The set of running users, by class.
#[derive(Debug)]
pub struct Users {
    shared: Shared,
    plan_tx: watch::Sender<Arc<CompiledPlan>>,
    classes: BTreeMap<String, Vec<User>>,
    tracker: TaskTracker,
    policy: StopPolicy,
    next_seed: u64,
}

impl Users {
    /// Returns the users and the receiver of internal errors.
    pub fn new(
        client: reqwest::Client,
        stats: Arc<Stats>,
        plan: Arc<CompiledPlan>,
        tracker: TaskTracker,
    ) -> (Users, mpsc::UnboundedReceiver<String>) {
        let (plan_tx, plan_rx) = watch::channel(plan);
        let (errors, errors_rx) = mpsc::unbounded_channel();
        let users = Users {
            shared: Shared {
                client,
                stats,
                plan: plan_rx,
                errors,
                abandoned: Arc::default(),
            },
            plan_tx,
            classes: BTreeMap::new(),
            tracker,
            policy: StopPolicy::from_stop_timeout(0.0, Duration::from_secs(1)),
            next_seed: rand::random(),
        };
        (users, errors_rx)
    }

    /// Replaces the plan; users switch at their next transaction.
    pub fn set_plan(&self, plan: Arc<CompiledPlan>) {
        self.plan_tx.send_replace(plan);
    }

    /// The current plan.
    pub fn plan(&self) -> Arc<CompiledPlan> {
        self.plan_tx.borrow().clone()
    }

    /// Sets how users stopped by later calls end.
    pub fn set_stop_policy(&mut self, policy: StopPolicy) {
        self.policy = policy;
    }

    /// The number of running users per class.
    pub fn counts(&self) -> ClassCounts {
        self.classes
            .iter()
            .map(|(k, v)| (k.clone(), u32::try_from(v.len()).unwrap_or(u32::MAX)))
            .collect()
    }

    /// Counts requests abandoned (not recorded) because a user was killed mid-request.
    pub fn abandoned(&self) -> Arc<AtomicU64> {
        self.shared.abandoned.clone()
    }

    pub fn total(&self) -> usize {
        self.classes.values().map(Vec::len).sum()
    }

    /// Starts or stops users to reach `target` (absolute, per class), starting at most `budget`
    /// new users per call; returns true once `target` is reached (call again until then, so a
    /// large spawn never blocks its caller). The users removed are the most recently started
    /// ones, as Locust removes them; they end in the background.
    pub fn apply(&mut self, target: &ClassCounts, budget: usize) -> bool {
        let mut retired = Vec::new();
        for (class, users) in &mut self.classes {
            let want = target.get(class).copied().unwrap_or(0) as usize;
            if users.len() > want {
                retired.extend(users.drain(want..).rev());
            }
        }
        if !retired.is_empty() {
            let stopping = retire(retired, self.policy);
            self.tracker.spawn(stopping.finish());
        }
        let mut left = budget;
        for (class, want) in target {
            let have = self.classes.get(class).map_or(0, Vec::len);
            let add = (*want as usize).saturating_sub(have);
            for _ in 0..add.min(left) {
                let user = self.spawn_user();
                self.classes.entry(class.clone()).or_default().push(user);
            }
            if add > left {
                return false;
            }
            left -= add;
        }
        self.classes.retain(|_, v| !v.is_empty());
        true
    }

    /// Asks every user to stop; await the result to know they have ended.
    pub fn stop_all(&mut self, policy: StopPolicy) -> Stopping {
        let users: Vec<User> = std::mem::take(&mut self.classes)
            .into_values()
            .flatten()
            .collect();
        retire(users, policy)
    }

    fn spawn_user(&mut self) -> User {
        let signals = Signals::default();
        self.next_seed = self.next_seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let ctx = UserCtx {
            shared: self.shared.clone(),
            signals: signals.clone(),
            rng: SmallRng::seed_from_u64(self.next_seed),
        };
        let errors = self.shared.errors.clone();
        let user = async move {
            if let Err(panic) = AssertUnwindSafe(ctx.run()).catch_unwind().await {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown panic".into());
                let _ = errors.send(format!("a simulated user crashed: {msg}"));
            }
        };
        let handle = match super::lanes::next() {
            Some(lane) => self.tracker.spawn_on(user, lane),
            None => self.tracker.spawn(user),
        };
        User { signals, handle }
    }
}

fn retire(users: Vec<User>, policy: StopPolicy) -> Stopping {
    for u in &users {
        u.signals.at_transaction.cancel();
        if !policy.finish_transaction {
            u.signals.at_step.cancel();
        }
    }
    Stopping {
        users,
        grace: policy.grace,
    }
}

struct UserCtx {
    shared: Shared,
    signals: Signals,
    rng: SmallRng,
}

/// One user's state for the plan it runs.
struct UserState {
    plan: Arc<CompiledPlan>,
    vars: Vars,
    jar: Option<reqwest::cookie::Jar>,
    /// The user's own connections (closed when the user or its plan goes).
    conns: Option<engine::Conns>,
    setup_done: bool,
}

impl UserState {
    fn new(plan: Arc<CompiledPlan>, rng: &mut SmallRng) -> UserState {
        let mut vars = plan.vars.vars();
        if let Some(feed) = plan.data.as_ref().filter(|d| d.per == DataPer::User) {
            feed.next_into(&mut vars, rng);
        }
        UserState {
            jar: plan.session.then(reqwest::cookie::Jar::default),
            conns: plan.h1.clone().map(engine::Conns::new),
            plan,
            vars,
            setup_done: false,
        }
    }
}

impl UserCtx {
    async fn run(mut self) {
        let recorder = self.shared.stats.recorder();
        let plan = self.shared.plan.borrow().clone();
        let mut state = UserState::new(plan, &mut self.rng);
        while !self.signals.at_transaction.is_cancelled() {
            // A new plan (pushed while running) takes over at a transaction boundary.
            let latest = self.shared.plan.borrow().clone();
            if !Arc::ptr_eq(&latest, &state.plan) {
                state = UserState::new(latest, &mut self.rng);
            }
            let plan = state.plan.clone();
            if !state.setup_done {
                state.setup_done = true;
                for step in &plan.setup {
                    match self.step(step, &mut state, &recorder).await {
                        None => return,
                        Some(failed) if failed => break,
                        Some(_) => {}
                    }
                }
                continue;
            }
            if let Some(feed) = plan.data.as_ref().filter(|d| d.per == DataPer::Iteration) {
                feed.next_into(&mut state.vars, &mut self.rng);
            }
            let txn = plan.pick(&mut self.rng);
            let started = Instant::now();
            let mut failed_step = None;
            let mut content_length = 0;
            for step in &txn.steps {
                if self.signals.at_step.is_cancelled() || self.signals.kill.is_cancelled() {
                    return;
                }
                match self.step_outcome(step, &mut state, &recorder).await {
                    None => return,
                    Some(outcome) => {
                        content_length += outcome.content_length;
                        if outcome.failure.is_some() && failed_step.is_none() {
                            failed_step = Some(step.name.as_str());
                        }
                    }
                }
            }
            let took = started.elapsed();
            if let Some(stat) = txn.stat {
                let failure = failed_step.map(|s| Failure::message(format!("step {s:?} failed")));
                recorder.record(
                    stat,
                    took.as_secs_f64() * 1000.0,
                    content_length,
                    failure.as_ref(),
                    unix_now(),
                );
            }
            let wait = match txn.think_time {
                None => Duration::ZERO,
                Some(ThinkTime::Constant(d)) => d,
                Some(ThinkTime::Between(a, b)) => {
                    if b > a {
                        Duration::from_secs_f64(
                            self.rng.random_range(a.as_secs_f64()..=b.as_secs_f64()),
                        )
                    } else {
                        a
                    }
                }
                Some(ThinkTime::ConstantPacing(d)) => d.saturating_sub(took),
            };
            if wait >= Duration::from_millis(100)
                && let Some(conns) = state.conns.as_mut()
            {
                // An idle user keeps its connections, not their buffers.
                conns.release_buffers();
            }
            if wait.is_zero() {
                // A user that never waits (instant failures) must not starve the runtime.
                tokio::task::yield_now().await;
            } else {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = self.signals.at_transaction.cancelled() => return,
                }
            }
        }
    }

    /// Runs one step and records it; `None` when the user was killed meanwhile, else whether
    /// the step failed.
    async fn step(
        &mut self,
        step: &CompiledStep,
        state: &mut UserState,
        recorder: &Recorder,
    ) -> Option<bool> {
        self.step_outcome(step, state, recorder)
            .await
            .map(|o| o.failure.is_some())
    }

    async fn step_outcome(
        &mut self,
        step: &CompiledStep,
        state: &mut UserState,
        recorder: &Recorder,
    ) -> Option<Outcome> {
        if let Some(limiter) = &state.plan.limiter {
            let slot = limiter.reserve();
            tokio::select! {
                biased;
                () = self.signals.at_step.cancelled() => return None,
                () = self.signals.kill.cancelled() => return None,
                () = tokio::time::sleep_until(slot.into()) => {}
            }
        }
        let ctx = StepContext {
            client: &self.shared.client,
            vars: &mut state.vars,
            jar: state.jar.as_ref(),
            conns: state.conns.as_mut(),
            rng: &mut self.rng,
            timeout: state.plan.timeout,
            max_body: state.plan.max_body,
            capture: false,
            allow: state.plan.allow.as_deref(),
        };
        // Boxed: the request's state lives on the heap only while a request is in flight, so
        // a user idling in think time is a small task (3.8 KB smaller; see bench/run.sh).
        let request = Box::pin(engine::run_step(step, ctx));
        tokio::select! {
            biased;
            () = self.signals.kill.cancelled() => {
                self.shared.abandoned.fetch_add(1, Ordering::Relaxed);
                None
            }
            (outcome, _) = request => {
                recorder.record(
                    step.stat,
                    outcome.response_time_ms,
                    outcome.content_length,
                    outcome.failure.as_ref(),
                    unix_now(),
                );
                Some(outcome)
            }
        }
    }
}
