//! What the session sends on its own schedule or on behalf of the load: heartbeats (with real
//! CPU and RSS, and only the states the master accepts), statistics reports, exceptions, and
//! the one place frames are encoded and sent.

use tokio::time::Instant;

use super::{Connector, Link, Lost, Session, State};
use crate::locust::codec::{self, HeartbeatState, Outbound};
use crate::locust::session::Load;

impl<L: Load, C: Connector> Session<L, C> {
    pub(super) async fn heartbeat(&mut self, t: &mut C::Link) -> Result<(), Lost> {
        // While users stop, replies wait unread (see the module doc).
        if self.state != State::Unregistered
            && self.stopping.is_none()
            && self.last_reply.elapsed() > self.cfg.master_timeout
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

    pub(super) async fn report(&mut self, t: &mut C::Link) -> Result<(), Lost> {
        let payload = self.load.take_report();
        let window = self.last_report.elapsed().as_secs_f64();
        self.last_report = Instant::now();
        if window > 0.0 {
            self.status.requests_per_second = payload.stats_total.num_requests as f64 / window;
        }
        self.status.requests_total += payload.stats_total.num_requests;
        self.status.failures_total += payload.stats_total.num_failures;
        self.send(t, Outbound::Stats(Box::new(payload))).await
    }

    /// An internal error: logged, kept as the last error, and reported to the master as a
    /// Locust `exception` (shown in its Exceptions tab).
    pub(super) async fn exception(&mut self, t: &mut C::Link, msg: String) -> Result<(), Lost> {
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

    pub(super) async fn send(&mut self, t: &mut C::Link, msg: Outbound) -> Result<(), Lost> {
        let frame = match codec::encode(&msg, &self.node_id) {
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
