//! What the session needs from a connection to the master, and its ZeroMQ implementation. The
//! seam lets the session's tests script a master in memory under paused time.

use std::future::Future;

use bytes::Bytes;

use crate::locust::transport::Transport;

/// One live connection to a master.
pub trait Link: Send {
    /// Sends one frame; an error means the master is gone.
    fn send(&mut self, frame: Vec<u8>) -> impl Future<Output = Result<(), String>> + Send;
    /// The next frame; `None` when the connection is gone. Must be cancel-safe.
    fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + Send;
}

/// Makes connections to the master (one attempt per call).
pub trait Connector: Send {
    type Link: Link;
    /// Connects with `node_id` as the identity.
    fn connect(&mut self, node_id: &str)
    -> impl Future<Output = Result<Self::Link, String>> + Send;
}

/// Connects a ZeroMQ DEALER with the node id as identity to the master's ROUTER.
#[derive(Debug, Clone)]
pub struct Zmq {
    /// `host:port` of the master's ROUTER.
    pub master: String,
}

impl Connector for Zmq {
    type Link = Transport;

    async fn connect(&mut self, node_id: &str) -> Result<Transport, String> {
        Transport::connect(&self.master, node_id)
            .await
            .map_err(|e| e.to_string())
    }
}

impl Link for Transport {
    async fn send(&mut self, frame: Vec<u8>) -> Result<(), String> {
        Transport::send(self, frame)
            .await
            .map_err(|e| e.to_string())
    }

    async fn recv(&mut self) -> Option<Bytes> {
        Transport::recv(self).await
    }
}
