//! The session's settings (Locust's timings by default) and the status it publishes.

use std::time::Duration;

/// Timing of the session. The defaults are Locust's.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `host:port` of the master, for logs.
    pub master: String,
    /// `hostname_uuidhex`; also the ZeroMQ identity.
    pub node_id: String,
    pub heartbeat_interval: Duration,
    pub report_interval: Duration,
    /// No heartbeat reply for this long while registered: the master is gone. Shorter silences
    /// are stalls (a GC pause, a frozen host): users, statistics and the connection are kept.
    /// Python's worker gives its master 60 s too (`MASTER_HEARTBEAT_TIMEOUT`).
    pub master_timeout: Duration,
    /// Resend `client_ready` this often until an `ack` arrives.
    pub ready_retry: Duration,
    /// After this many unanswered `client_ready`s the connection is rebuilt under a new
    /// identity: a master's ROUTER ignores a connection whose identity it still holds.
    pub rejoin_after: u32,
    /// Makes a fresh node id for a rejoin.
    pub new_identity: fn() -> String,
    /// Reset the statistics when the master says spawning is complete (`--reset-stats`), also
    /// done when the master's own options say so.
    pub reset_stats: bool,
    /// On `quit`, in-flight requests get this long before being abandoned (the master only
    /// waits 0.5 s for the final stats).
    pub quit_grace: Duration,
}

impl SessionConfig {
    pub fn new(master: String, node_id: String) -> SessionConfig {
        SessionConfig {
            master,
            node_id,
            heartbeat_interval: Duration::from_secs(1),
            report_interval: Duration::from_secs(3),
            master_timeout: Duration::from_secs(60),
            ready_retry: Duration::from_secs(2),
            rejoin_after: 3,
            new_identity: crate::locust::node::node_id,
            reset_stats: false,
            quit_grace: Duration::from_millis(300),
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
