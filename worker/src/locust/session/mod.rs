//! The worker side of the Locust protocol as a state machine (Locust 2.47 `WorkerRunner`; the
//! wire protocol is described in `docs/locust-protocol.md`). It speaks only the protocol: the
//! running load is behind [`Load`], the connection behind [`Connector`].
//!
//! ```text
//!  connect ──client_ready (resent until ack)──> READY ──spawn──> SPAWNING ──> RUNNING
//!  RUNNING/SPAWNING ──stop──> STOPPING ──users gone──> stats, client_stopped, client_ready ──> (ack) READY
//!  any ──quit──> users stopped (≤ quit grace), final stats, quit, exit
//!  any ──reconnect──> new socket, same registration
//!  connection closed / send error / no heartbeat reply for 60 s
//!      ──> users stopped, unreported stats dropped, reconnect, client_ready
//!  client_ready unanswered 3 times ──> new socket under a new node id, client_ready
//! ```
//! Heartbeats go out every second in every state with real CPU and RSS, and only the states the
//! master accepts. Stats go out every 3 s while registered, and once more before `client_stopped`
//! and `quit`, so the master's final numbers include the last requests.
//!
//! As in Python's `WorkerRunner`, messages are handled one at a time and in order: while users
//! stop after a `stop`, later messages (a new `spawn`, `quit`) wait until `client_stopped` and
//! `client_ready` are sent, so the master always sees the state it asked for last. A master
//! that stalls (no heartbeat reply, connection open) is waited for up to `master_timeout`
//! with users, statistics and connection kept; one that restarted closes the connection and
//! gets the worker back at once.

mod link;
mod load;
mod outbound;
mod status;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};
use tokio_util::sync::CancellationToken;

use super::codec::{self, ClassCounts, Inbound, Outbound, Spawn};
use crate::procinfo::ProcInfo;

pub use link::{Connector, Link, Zmq};
pub use load::{Load, LoadEvent};
pub use status::{Phase, SessionConfig, SessionStatus};

/// Users started per turn of the loop: a 100k-user spawn never holds up heartbeats.
const SPAWN_BATCH: usize = 2_000;

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
    /// The master does not answer this identity: build a new socket under a new one.
    Rejoin,
}

enum Event {
    Shutdown,
    Frame(Option<bytes::Bytes>),
    Heartbeat,
    Report,
    RetryReady,
    SpawnMore,
    Stopped,
    Load(LoadEvent),
}

/// The master went away (send failed or no heartbeat reply).
struct Lost(String);

/// One worker's conversation with a Locust master.
#[derive(Debug)]
pub struct Session<L, C> {
    cfg: SessionConfig,
    /// The identity in use (a rejoin replaces it).
    node_id: String,
    connector: C,
    load: L,
    status_tx: Arc<watch::Sender<SessionStatus>>,
    proc: ProcInfo,
    state: State,
    last_spawn_timestamp: f64,
    /// `client_ready`s sent on this connection without an `ack`.
    unanswered_ready: u32,
    /// When to resend `client_ready` if no `ack` came.
    ready_due: Instant,
    /// The current test resets its statistics when the master says spawning is complete.
    reset_stats: bool,
    /// The target of a spawn still being carried out, [`SPAWN_BATCH`] users at a time.
    spawning: Option<ClassCounts>,
    stopping: Option<JoinHandle<()>>,
    last_reply: Instant,
    last_report: Instant,
    status: SessionStatus,
}

impl<L: Load, C: Connector> Session<L, C> {
    /// A session that publishes its status on `status_tx`.
    pub fn new(
        cfg: SessionConfig,
        connector: C,
        load: L,
        status_tx: Arc<watch::Sender<SessionStatus>>,
    ) -> Session<L, C> {
        Session {
            node_id: cfg.node_id.clone(),
            cfg,
            connector,
            load,
            status_tx,
            proc: ProcInfo::new(),
            state: State::Unregistered,
            last_spawn_timestamp: f64::NEG_INFINITY,
            unanswered_ready: 0,
            ready_due: Instant::now(),
            reset_stats: false,
            spawning: None,
            stopping: None,
            last_reply: Instant::now(),
            last_report: Instant::now(),
            status: SessionStatus::default(),
        }
    }

    /// The load, back from a session that has ended.
    pub fn into_load(self) -> L {
        self.load
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
        self.status.users = u32::try_from(
            self.load
                .counts()
                .values()
                .map(|&n| u64::from(n))
                .sum::<u64>(),
        )
        .unwrap_or(u32::MAX);
        let status = self.status.clone();
        self.status_tx.send_if_modified(|s| {
            let changed = *s != status;
            *s = status;
            changed
        });
    }

    /// Talks to the master until it says `quit` or `shutdown` is cancelled, reconnecting
    /// whenever the master goes away.
    pub async fn run(&mut self, shutdown: CancellationToken) -> Exit {
        let mut registered = false;
        let mut announced = false;
        loop {
            let mut link = tokio::select! {
                () = shutdown.cancelled() => {
                    self.stop_users(self.cfg.quit_grace).await;
                    return Exit::Shutdown;
                }
                l = self.connect(&mut announced) => l,
            };
            match self.serve(&mut link, registered, &shutdown).await {
                Flow::Exit(exit) => return exit,
                Flow::Rejoin => {
                    registered = false;
                    drop(link);
                    let old = std::mem::replace(&mut self.node_id, (self.cfg.new_identity)());
                    tracing::warn!(
                        old = %old,
                        new = %self.node_id,
                        "the master does not answer; joining again under a new node id"
                    );
                }
                Flow::Reconnect { registered: r } => {
                    registered = r;
                    drop(link);
                    // Let the old connection close before the same identity connects again:
                    // the master's ROUTER ignores a duplicate identity that is still connected.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    async fn connect(&mut self, announced: &mut bool) -> C::Link {
        let mut delay = Duration::from_millis(100);
        loop {
            match self.connector.connect(&self.node_id).await {
                Ok(link) => {
                    *announced = false;
                    tracing::info!(master = %self.cfg.master, node_id = %self.node_id, "connected to the Locust master");
                    return link;
                }
                Err(e) => {
                    if !*announced {
                        tracing::warn!(error = %e, "cannot reach the Locust master yet; retrying");
                        *announced = true;
                    } else {
                        tracing::debug!(error = %e, "master still unreachable");
                    }
                    // An attempt that timed out may have left a half-open connection that the
                    // master's ROUTER still holds under this identity, and a ROUTER ignores a
                    // second connection with an identity it holds: the next attempt is made
                    // under a new one (seen in the deploy test: one worker of three never got in).
                    if e.contains("timed out") {
                        let old = std::mem::replace(&mut self.node_id, (self.cfg.new_identity)());
                        tracing::info!(old = %old, new = %self.node_id, "retrying under a new identity after a connect timeout");
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn serve(
        &mut self,
        t: &mut C::Link,
        registered: bool,
        shutdown: &CancellationToken,
    ) -> Flow {
        let now = Instant::now();
        self.last_reply = now;
        self.unanswered_ready = 0;
        if !registered {
            self.state = State::Unregistered;
            if let Err(lost) = self.send_ready(t).await {
                return self.lose_master(lost).await;
            }
        }
        let mut heartbeat = interval(self.cfg.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut report = interval_at(now + self.cfg.report_interval, self.cfg.report_interval);
        report.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let unregistered = self.state == State::Unregistered;
            let stopping = self.stopping.is_some();
            let event = tokio::select! {
                () = shutdown.cancelled() => Event::Shutdown,
                // While users stop, later messages wait (see the module doc).
                frame = t.recv(), if !stopping => Event::Frame(frame),
                _ = heartbeat.tick() => Event::Heartbeat,
                _ = report.tick() => Event::Report,
                () = tokio::time::sleep_until(self.ready_due), if unregistered => Event::RetryReady,
                () = std::future::ready(()), if self.spawning.is_some() => Event::SpawnMore,
                _ = async { self.stopping.as_mut().expect("guarded").await }, if stopping => Event::Stopped,
                e = self.load.next_event() => Event::Load(e),
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
                    if self.unanswered_ready >= self.cfg.rejoin_after {
                        return Flow::Rejoin;
                    }
                    tracing::debug!("no ack yet; sending client_ready again");
                    self.send_ready(t).await
                }
                Event::SpawnMore => self.spawn_step(t).await,
                Event::Stopped => {
                    self.stopping = None;
                    // Replies waited unread while users stopped.
                    self.last_reply = Instant::now();
                    self.stopped(t).await
                }
                Event::Load(LoadEvent::Exception(msg)) => self.exception(t, msg).await,
                Event::Load(LoadEvent::Refused(msg)) => {
                    tracing::error!(%msg);
                    self.status.last_error = Some(msg);
                    Ok(())
                }
            };
            if let Err(lost) = result {
                return self.lose_master(lost).await;
            }
            self.publish();
        }
    }

    async fn on_frame(&mut self, t: &mut C::Link, frame: &[u8]) -> Result<Option<Flow>, Lost> {
        let envelope = match codec::decode(frame) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a message from the master that cannot be decoded");
                return Ok(None);
            }
        };
        if envelope.node_id != self.node_id {
            tracing::warn!(to = %envelope.node_id, "ignoring a message addressed to another worker");
            return Ok(None);
        }
        match envelope.message {
            Inbound::Ack { index } => {
                self.last_reply = Instant::now();
                self.unanswered_ready = 0;
                if self.state == State::Unregistered {
                    tracing::info!(index = ?index, "registered with the master");
                    self.state = State::Ready;
                }
            }
            Inbound::Heartbeat => self.last_reply = Instant::now(),
            Inbound::Spawn(spawn) => self.spawn(t, spawn).await?,
            Inbound::SpawningComplete => {
                if self.reset_stats {
                    let dropped = self.load.clear_stats();
                    tracing::info!(
                        dropped_requests = dropped,
                        "resetting statistics (--reset-stats)"
                    );
                }
            }
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

    async fn spawn(&mut self, t: &mut C::Link, spawn: Spawn) -> Result<(), Lost> {
        self.send(t, Outbound::Spawning).await?;
        if spawn.timestamp <= self.last_spawn_timestamp {
            tracing::debug!(timestamp = spawn.timestamp, "discarding a stale spawn");
            return Ok(());
        }
        self.last_spawn_timestamp = spawn.timestamp;
        self.reset_stats = self.cfg.reset_stats || spawn.reset_stats;
        self.load.set_stop_timeout(spawn.stop_timeout);
        if !matches!(self.state, State::Spawning | State::Running) {
            // A new test: the master cleared its statistics, so do we.
            self.load.clear_stats();
        }
        if let Err(msg) = self.load.set_host(spawn.host.as_deref()) {
            self.exception(t, msg).await?;
        }
        self.state = State::Spawning;
        // A spawn still in progress is replaced by this one, as Python's worker does.
        self.spawning = Some(spawn.user_classes_count);
        self.spawn_step(t).await
    }

    /// Starts the next batch of the spawn in progress; once done, `spawning_complete`.
    async fn spawn_step(&mut self, t: &mut C::Link) -> Result<(), Lost> {
        let Some(target) = &self.spawning else {
            return Ok(());
        };
        if !self.load.apply(target, SPAWN_BATCH) {
            return Ok(());
        }
        let target = self.spawning.take().unwrap_or_default();
        let mut counts = self.load.counts();
        for class in target.into_keys() {
            counts.entry(class).or_insert(0);
        }
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
        tracing::info!("the master says stop");
        self.state = State::Stopping;
        self.spawning = None;
        self.stopping = Some(tokio::spawn(self.load.stop(None)));
    }

    /// All users have ended after a `stop`: flush their last numbers, then re-register.
    async fn stopped(&mut self, t: &mut C::Link) -> Result<(), Lost> {
        self.report(t).await?;
        self.send(t, Outbound::ClientStopped).await?;
        self.state = State::Unregistered;
        self.send_ready(t).await
    }

    async fn send_ready(&mut self, t: &mut C::Link) -> Result<(), Lost> {
        self.unanswered_ready = self.unanswered_ready.saturating_add(1);
        self.ready_due = Instant::now() + self.cfg.ready_retry;
        self.send(t, Outbound::ClientReady).await
    }

    /// Ends the conversation: users stopped within the quit grace, final stats, `quit`.
    async fn leave(&mut self, t: &mut C::Link, exit: Exit) -> Exit {
        self.stop_users(self.cfg.quit_grace).await;
        // A master that says quit knows us (even between client_ready and its ack).
        if exit == Exit::Quit || self.state != State::Unregistered {
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
        self.spawning = None;
        self.load.stop(Some(grace)).await;
        if let Some(handle) = self.stopping.take() {
            let _ = tokio::time::timeout(grace, handle).await;
        }
    }

    async fn lose_master(&mut self, Lost(why): Lost) -> Flow {
        let users: u64 = self.load.counts().values().map(|&n| u64::from(n)).sum();
        self.stop_users(Duration::ZERO).await;
        let dropped = self.load.clear_stats();
        tracing::warn!(
            %why,
            stopped_users = users,
            dropped_requests = dropped,
            "lost the Locust master; reconnecting (unreported requests are not sent to a new master)"
        );
        self.state = State::Unregistered;
        // Whoever answers next may be a new master with its own clock.
        self.last_spawn_timestamp = f64::NEG_INFINITY;
        if let Err(msg) = self.load.set_host(None) {
            tracing::warn!(%msg, "cannot go back to the plan's own host");
        }
        self.status.last_error = Some(format!("lost the master: {why}"));
        self.publish();
        Flow::Reconnect { registered: false }
    }
}
