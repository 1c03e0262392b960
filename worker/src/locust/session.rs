//! The worker side of the Locust protocol as a state machine (Locust 2.47 `WorkerRunner`).
//!
//! ```text
//!  connect ──client_ready (resent until ack)──> READY ──spawn──> SPAWNING ──> RUNNING
//!  RUNNING/SPAWNING ──stop──> STOPPING ──users gone──> stats, client_stopped, client_ready ──> (ack) READY
//!  any ──quit──> users stopped (≤ quit grace), final stats, quit, exit
//!  any ──reconnect──> new socket, same registration
//!  no heartbeat reply / send error ──> users stopped, unreported stats dropped, reconnect, client_ready
//! ```
//! Heartbeats go out every second in every state with real CPU and RSS, and only the states the
//! master accepts. Stats go out every 3 s while registered, and once more before `client_stopped`
//! and `quit`, so the master's final numbers include the last requests.

use std::sync::Arc;
use std::time::Duration;

use contract::{FieldError, Plan};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};
use tokio_util::sync::CancellationToken;

use super::codec::{self, HeartbeatState, Inbound, Outbound, Spawn, StatsPayload};
use super::transport::Transport;
use crate::engine;
use crate::procinfo::ProcInfo;
use crate::runtime::users::{StopPolicy, Users};
use crate::stats::Stats;

/// Timing of the session. The defaults are Locust's.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `host:port` of the master's ZeroMQ ROUTER.
    pub master: String,
    /// `hostname_uuidhex`; also the ZeroMQ identity.
    pub node_id: String,
    pub heartbeat_interval: Duration,
    pub report_interval: Duration,
    /// No heartbeat reply for this long while registered: the master is gone or restarted.
    pub master_timeout: Duration,
    /// Resend `client_ready` this often until an `ack` arrives.
    pub ready_retry: Duration,
    /// On `quit`, in-flight requests get this long before being abandoned (the master only
    /// waits 0.5 s for the final stats).
    pub quit_grace: Duration,
    /// On `stop` without a `stop_timeout`, in-flight requests get this long.
    pub stop_grace: Duration,
    /// Hosts the worker may target (`--allow-target`), also applied to the master's `-H`.
    pub allow: Option<Arc<crate::engine::AllowList>>,
}

impl SessionConfig {
    pub fn new(master: String, node_id: String) -> SessionConfig {
        SessionConfig {
            master,
            node_id,
            heartbeat_interval: Duration::from_secs(1),
            report_interval: Duration::from_secs(3),
            master_timeout: Duration::from_secs(5),
            ready_retry: Duration::from_secs(2),
            quit_grace: Duration::from_millis(300),
            stop_grace: Duration::from_secs(1),
            allow: None,
        }
    }
}

/// What the session is doing, published for the worker's status (fleet mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// Connecting, or waiting for the master's ack.
    #[default]
    Connecting,
    Ready,
    Spawning,
    Running,
    Stopping,
}

/// A snapshot of the session, updated as it goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionStatus {
    pub phase: Phase,
    /// The master acknowledged us and has not been lost since.
    pub acknowledged: bool,
    pub users: u32,
    /// Requests per second in the last report window.
    pub requests_per_second: f64,
    pub requests_total: u64,
    pub failures_total: u64,
    pub last_error: Option<String>,
}

/// How the outside talks to a running session: plan updates in, status out.
#[derive(Debug, Clone)]
pub struct SessionIo {
    /// A new value switches users to that plan at their next transaction.
    pub plan: watch::Receiver<Arc<Plan>>,
    pub status: Arc<watch::Sender<SessionStatus>>,
}

impl SessionIo {
    /// Channels for a session; send a plan on the returned sender to switch plans.
    pub fn new(plan: Arc<Plan>) -> (SessionIo, watch::Sender<Arc<Plan>>) {
        let (tx, rx) = watch::channel(plan);
        let io = SessionIo {
            plan: rx,
            status: Arc::new(watch::channel(SessionStatus::default()).0),
        };
        (io, tx)
    }
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The master sent `quit`.
    Quit,
    /// Local shutdown (signal or caller).
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for an `ack`.
    Unregistered,
    Ready,
    Spawning,
    Running,
    Stopping,
}

/// What a connection's life ended with.
enum Flow {
    Exit(Exit),
    /// Build a new socket; `registered` says whether the master still knows us.
    Reconnect {
        registered: bool,
    },
}

enum Event {
    Shutdown,
    Frame(Option<bytes::Bytes>),
    Heartbeat,
    Report,
    RetryReady,
    Stopped,
    UserError(String),
    NewPlan,
}

/// The master went away (send failed or no heartbeat reply).
struct Lost(String);

/// One worker's conversation with a Locust master.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    plan: Arc<Plan>,
    io: SessionIo,
    stats: Arc<Stats>,
    users: Users,
    user_errors: mpsc::UnboundedReceiver<String>,
    proc: ProcInfo,
    state: State,
    last_spawn_timestamp: f64,
    /// The host the current compiled plan uses from the master (`None` = the plan's own).
    master_host: Option<String>,
    stop_policy: StopPolicy,
    stopping: Option<JoinHandle<()>>,
    last_reply: Instant,
    last_report: Instant,
    status: SessionStatus,
}

impl Session {
    pub fn new(
        cfg: SessionConfig,
        mut io: SessionIo,
        stats: Arc<Stats>,
        users: Users,
        user_errors: mpsc::UnboundedReceiver<String>,
    ) -> Session {
        let stop_policy = StopPolicy::from_stop_timeout(0.0, cfg.stop_grace);
        let plan = io.plan.borrow_and_update().clone();
        Session {
            cfg,
            plan,
            io,
            stats,
            users,
            user_errors,
            proc: ProcInfo::new(),
            state: State::Unregistered,
            last_spawn_timestamp: f64::NEG_INFINITY,
            master_host: None,
            stop_policy,
            stopping: None,
            last_reply: Instant::now(),
            last_report: Instant::now(),
            status: SessionStatus::default(),
        }
    }

    /// Publishes the current status when it changed.
    fn publish(&mut self) {
        self.status.phase = match self.state {
            State::Unregistered => Phase::Connecting,
            State::Ready => Phase::Ready,
            State::Spawning => Phase::Spawning,
            State::Running => Phase::Running,
            State::Stopping => Phase::Stopping,
        };
        self.status.acknowledged = self.state != State::Unregistered;
        self.status.users = u32::try_from(self.users.total()).unwrap_or(u32::MAX);
        let status = self.status.clone();
        self.io.status.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    /// Talks to the master until it says `quit` or `shutdown` is cancelled, reconnecting
    /// whenever the master goes away.
    pub async fn run(mut self, shutdown: CancellationToken) -> Exit {
        let mut registered = false;
        let mut announced = false;
        loop {
            let mut transport = tokio::select! {
                () = shutdown.cancelled() => {
                    self.stop_users(self.cfg.quit_grace).await;
                    return Exit::Shutdown;
                }
                t = self.connect(&mut announced) => t,
            };
            match self.serve(&mut transport, registered, &shutdown).await {
                Flow::Exit(exit) => return exit,
                Flow::Reconnect { registered: r } => {
                    registered = r;
                    drop(transport);
                    // Let the old connection close before the same identity connects again:
                    // the master's ROUTER ignores a duplicate identity that is still connected.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn connect(&mut self, announced: &mut bool) -> Transport {
        let mut delay = Duration::from_millis(100);
        loop {
            match Transport::connect(&self.cfg.master, &self.cfg.node_id).await {
                Ok(t) => {
                    *announced = false;
                    tracing::info!(master = %self.cfg.master, node_id = %self.cfg.node_id, "connected to the Locust master");
                    return t;
                }
                Err(e) => {
                    if !*announced {
                        tracing::warn!(error = %e, "cannot reach the Locust master yet; retrying");
                        *announced = true;
                    } else {
                        tracing::debug!(error = %e, "master still unreachable");
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn serve(
        &mut self,
        t: &mut Transport,
        registered: bool,
        shutdown: &CancellationToken,
    ) -> Flow {
        let now = Instant::now();
        self.last_reply = now;
        if !registered {
            self.state = State::Unregistered;
            if let Err(lost) = self.send(t, Outbound::ClientReady).await {
                return self.lose_master(lost).await;
            }
        }
        let mut heartbeat = interval(self.cfg.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut report = interval_at(now + self.cfg.report_interval, self.cfg.report_interval);
        report.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut ready_retry = interval_at(now + self.cfg.ready_retry, self.cfg.ready_retry);
        loop {
            let unregistered = self.state == State::Unregistered;
            let stopping = self.stopping.is_some();
            let event = tokio::select! {
                () = shutdown.cancelled() => Event::Shutdown,
                frame = t.recv() => Event::Frame(frame),
                _ = heartbeat.tick() => Event::Heartbeat,
                _ = report.tick() => Event::Report,
                _ = ready_retry.tick(), if unregistered => Event::RetryReady,
                _ = async { self.stopping.as_mut().expect("guarded").await }, if stopping => Event::Stopped,
                Some(msg) = self.user_errors.recv() => Event::UserError(msg),
                Ok(()) = self.io.plan.changed() => Event::NewPlan,
            };
            let result = match event {
                Event::Shutdown => {
                    tracing::info!("shutting down: leaving the master");
                    return Flow::Exit(self.leave(t, Exit::Shutdown).await);
                }
                Event::Frame(None) => Err(Lost("the connection to the master closed".into())),
                Event::Frame(Some(frame)) => match self.on_frame(t, &frame).await {
                    Ok(Some(flow)) => return flow,
                    Ok(None) => Ok(()),
                    Err(lost) => Err(lost),
                },
                Event::Heartbeat => self.heartbeat(t).await,
                Event::Report => {
                    if unregistered {
                        Ok(())
                    } else {
                        self.report(t).await
                    }
                }
                Event::RetryReady => {
                    tracing::debug!("no ack yet; sending client_ready again");
                    self.send(t, Outbound::ClientReady).await
                }
                Event::Stopped => {
                    self.stopping = None;
                    self.stopped(t).await
                }
                Event::NewPlan => {
                    self.switch_plan();
                    Ok(())
                }
                Event::UserError(msg) => self.exception(t, msg).await,
            };
            if let Err(lost) = result {
                return self.lose_master(lost).await;
            }
            self.publish();
        }
    }

    /// A new plan: compile it for the host in use and hand it to the users, who switch at
    /// their next transaction (in-flight requests finish and are recorded once).
    fn switch_plan(&mut self) {
        let plan = self.io.plan.borrow_and_update().clone();
        match engine::compile_with(
            &plan,
            self.master_host.as_deref(),
            &self.stats,
            self.cfg.allow.clone(),
        ) {
            Ok(compiled) => {
                tracing::info!(plan = %plan.name, "switching to a new plan");
                self.users.set_plan(Arc::new(compiled));
                self.plan = plan;
            }
            Err(errors) => {
                let msg = format!(
                    "cannot switch to plan {:?}: {}",
                    plan.name,
                    FieldError::join(&errors)
                );
                tracing::error!(%msg);
                self.status.last_error = Some(msg);
            }
        }
    }

    async fn on_frame(&mut self, t: &mut Transport, frame: &[u8]) -> Result<Option<Flow>, Lost> {
        let envelope = match codec::decode(frame) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a message from the master that cannot be decoded");
                return Ok(None);
            }
        };
        if envelope.node_id != self.cfg.node_id {
            tracing::warn!(to = %envelope.node_id, "ignoring a message addressed to another worker");
            return Ok(None);
        }
        match envelope.message {
            Inbound::Ack { index } => {
                self.last_reply = Instant::now();
                if self.state == State::Unregistered {
                    tracing::info!(index = ?index, "registered with the master");
                    self.state = State::Ready;
                }
            }
            Inbound::Heartbeat => self.last_reply = Instant::now(),
            Inbound::Spawn(spawn) => self.spawn(t, spawn).await?,
            Inbound::SpawningComplete => {}
            Inbound::Stop => self.stop(),
            Inbound::Quit => {
                tracing::info!("the master says quit");
                return Ok(Some(Flow::Exit(self.leave(t, Exit::Quit).await)));
            }
            Inbound::Reconnect => {
                tracing::warn!("the master asked us to reconnect");
                return Ok(Some(Flow::Reconnect { registered: true }));
            }
            Inbound::Other { kind } => tracing::debug!(%kind, "ignoring message"),
        }
        Ok(None)
    }

    async fn spawn(&mut self, t: &mut Transport, spawn: Spawn) -> Result<(), Lost> {
        self.send(t, Outbound::Spawning).await?;
        if spawn.timestamp <= self.last_spawn_timestamp {
            tracing::debug!(timestamp = spawn.timestamp, "discarding a stale spawn");
            return Ok(());
        }
        self.last_spawn_timestamp = spawn.timestamp;
        self.stop_policy = StopPolicy::from_stop_timeout(spawn.stop_timeout, self.cfg.stop_grace);
        self.users.set_stop_policy(self.stop_policy);
        if !matches!(self.state, State::Spawning | State::Running) {
            // A new test: the master cleared its statistics, so do we.
            self.stats.clear();
        }
        if spawn.host != self.master_host {
            match engine::compile_with(
                &self.plan,
                spawn.host.as_deref(),
                &self.stats,
                self.cfg.allow.clone(),
            ) {
                Ok(compiled) => {
                    self.users.set_plan(Arc::new(compiled));
                    self.master_host = spawn.host.clone();
                }
                Err(errors) => {
                    let msg = format!(
                        "cannot use the master's host {:?}: {}",
                        spawn.host.as_deref().unwrap_or(""),
                        FieldError::join(&errors)
                    );
                    self.exception(t, msg).await?;
                }
            }
        }
        self.state = State::Spawning;
        let counts = self.users.apply(&spawn.user_classes_count);
        tracing::info!(users = ?counts, "spawned");
        self.send(
            t,
            Outbound::SpawningComplete {
                user_classes_count: counts,
            },
        )
        .await?;
        self.state = State::Running;
        Ok(())
    }

    fn stop(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        tracing::info!(users = self.users.total(), "the master says stop");
        self.state = State::Stopping;
        let stopping = self.users.stop_all(self.stop_policy);
        self.stopping = Some(tokio::spawn(stopping.finish()));
    }

    /// All users have ended after a `stop`: flush their last numbers, then re-register.
    async fn stopped(&mut self, t: &mut Transport) -> Result<(), Lost> {
        self.report(t).await?;
        self.send(t, Outbound::ClientStopped).await?;
        self.state = State::Unregistered;
        self.send(t, Outbound::ClientReady).await
    }

    /// Ends the conversation: users stopped within the quit grace, final stats, `quit`.
    async fn leave(&mut self, t: &mut Transport, exit: Exit) -> Exit {
        self.stop_users(self.cfg.quit_grace).await;
        if self.state != State::Unregistered {
            let result = async {
                self.report(t).await?;
                self.send(t, Outbound::Quit).await
            }
            .await;
            if let Err(Lost(why)) = result {
                tracing::warn!(%why, "could not say goodbye to the master");
            }
            // The socket has no linger: give the frames a moment to leave.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        exit
    }

    async fn stop_users(&mut self, grace: Duration) {
        let policy = StopPolicy {
            finish_transaction: false,
            grace,
        };
        let stopping = self.users.stop_all(policy);
        stopping.finish().await;
        if let Some(handle) = self.stopping.take() {
            let _ = tokio::time::timeout(grace, handle).await;
        }
    }

    async fn lose_master(&mut self, Lost(why): Lost) -> Flow {
        let users = self.users.total();
        self.stop_users(Duration::ZERO).await;
        let dropped = self.stats.clear();
        tracing::warn!(
            %why,
            stopped_users = users,
            dropped_requests = dropped,
            "lost the Locust master; reconnecting (unreported requests are not sent to a new master)"
        );
        self.state = State::Unregistered;
        self.master_host = None;
        self.status.last_error = Some(format!("lost the master: {why}"));
        self.publish();
        Flow::Reconnect { registered: false }
    }

    async fn heartbeat(&mut self, t: &mut Transport) -> Result<(), Lost> {
        if self.state != State::Unregistered && self.last_reply.elapsed() > self.cfg.master_timeout
        {
            return Err(Lost(format!(
                "no heartbeat reply for {:.1} s",
                self.last_reply.elapsed().as_secs_f64()
            )));
        }
        let (cpu_percent, memory_bytes) = self.proc.sample();
        let state = match self.state {
            State::Unregistered | State::Ready => HeartbeatState::Ready,
            State::Spawning => HeartbeatState::Spawning,
            State::Running | State::Stopping => HeartbeatState::Running,
        };
        self.send(
            t,
            Outbound::Heartbeat {
                state,
                cpu_percent,
                memory_bytes,
            },
        )
        .await
    }

    async fn report(&mut self, t: &mut Transport) -> Result<(), Lost> {
        let report = self.stats.take_report();
        let window = self.last_report.elapsed().as_secs_f64();
        self.last_report = Instant::now();
        if window > 0.0 {
            self.status.requests_per_second = report.total.num_requests as f64 / window;
        }
        self.status.requests_total += report.total.num_requests;
        self.status.failures_total += report.total.num_failures;
        let user_classes_count = self.users.counts();
        let payload = StatsPayload {
            stats: report.entries,
            stats_total: report.total,
            errors: report.errors,
            user_count: user_classes_count.values().sum(),
            user_classes_count,
        };
        self.send(t, Outbound::Stats(Box::new(payload))).await
    }

    /// An internal error: logged, kept as the last error, and reported to the master as a
    /// Locust `exception` (shown in its Exceptions tab).
    async fn exception(&mut self, t: &mut Transport, msg: String) -> Result<(), Lost> {
        tracing::error!(%msg, "internal error");
        self.status.last_error = Some(msg.clone());
        self.send(
            t,
            Outbound::Exception {
                traceback: msg.clone(),
                msg,
            },
        )
        .await
    }

    async fn send(&mut self, t: &mut Transport, msg: Outbound) -> Result<(), Lost> {
        let frame = match codec::encode(&msg, &self.cfg.node_id) {
            Ok(f) => f,
            Err(e) => {
                // Never put a payload on the wire that the master might not parse.
                tracing::error!(error = %e, "not sending a message that failed to encode");
                return Ok(());
            }
        };
        t.send(frame)
            .await
            .map_err(|e| Lost(format!("sending {} failed: {e}", msg.kind())))
    }
}
