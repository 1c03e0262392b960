//! ZeroMQ transport to the Locust master: the only module that touches the `zeromq` crate.
//!
//! A DEALER socket whose routing identity is the node id, connected to the master's ROUTER.
//! The socket is split: a reader task forwards every inbound frame to a channel (so the session
//! can `select!` on it while sending), the session owns the send half. The crate does not
//! reconnect by itself, so a lost master means dropping this [`Transport`] and connecting a new
//! one; [`Transport::connect`] retries until it succeeds or the caller gives up.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use zeromq::{Socket, SocketOptions, SocketRecv, SocketSend, ZmqMessage};

/// How long one send may wait for the socket before the master counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("invalid node id for a ZeroMQ identity: {0}")]
    Identity(String),
    #[error("cannot connect to tcp://{endpoint}: {reason}")]
    Connect { endpoint: String, reason: String },
    #[error("send failed: {0}")]
    Send(String),
    #[error("send timed out after {0:?}")]
    SendTimeout(Duration),
}

/// One live connection to a master.
pub struct Transport {
    tx: zeromq::DealerSendHalf,
    inbox: mpsc::Receiver<Bytes>,
    _reader: DropGuard,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// One connection attempt to `host:port` with identity `node_id`.
    pub async fn connect(endpoint: &str, node_id: &str) -> Result<Transport, TransportError> {
        let identity = zeromq::util::PeerIdentity::try_from(node_id.as_bytes().to_vec())
            .map_err(|e| TransportError::Identity(e.to_string()))?;
        let mut options = SocketOptions::default();
        options
            .peer_identity(identity)
            .connect_timeout(CONNECT_TIMEOUT);
        let mut socket = zeromq::DealerSocket::with_options(options);
        socket
            .connect(&format!("tcp://{endpoint}"))
            .await
            .map_err(|e| TransportError::Connect {
                endpoint: endpoint.to_string(),
                reason: e.to_string(),
            })?;
        let (tx, mut rx) = socket.split();
        let (frames, inbox) = mpsc::channel(1024);
        let stop = CancellationToken::new();
        let reader_stop = stop.clone();
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    () = reader_stop.cancelled() => break,
                    msg = rx.recv() => msg,
                };
                match msg {
                    Ok(msg) => {
                        // A DEALER receives just the payload; extra frames are ignored like the
                        // master ignores them.
                        let Some(frame) = msg.into_vec().into_iter().next() else {
                            continue;
                        };
                        if frames.send(frame).await.is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "master connection closed");
                        break;
                    }
                }
            }
        });
        Ok(Transport {
            tx,
            inbox,
            _reader: stop.drop_guard(),
        })
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: Vec<u8>) -> Result<(), TransportError> {
        match tokio::time::timeout(SEND_TIMEOUT, self.tx.send(ZmqMessage::from(frame))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(TransportError::Send(e.to_string())),
            Err(_) => Err(TransportError::SendTimeout(SEND_TIMEOUT)),
        }
    }

    /// The next frame from the master; `None` when the connection is gone. Cancel-safe.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.inbox.recv().await
    }
}
