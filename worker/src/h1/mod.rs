//! A purpose-built HTTP/1.1 client path for simulated users (issue 12, item 2).
//!
//! Owns: per-user connections ([`Conn`]) on tokio `TcpStream` or `tokio-rustls` over one shared
//! rustls `ClientConfig` ([`Connector`]), requests pre-serialised at compile time ([`Prepared`]),
//! and response parsing with `httparse` ([`Response`]). It knows nothing of plans, stats or users:
//! the engine compiles a step into a [`Prepared`] and keeps one [`Conn`] per user and host.
//!
//! # Semantics
//! - One write per request; bodies by Content-Length, chunked (trailers skipped) or read-to-close.
//! - HEAD, 1xx (skipped before the final response), 204 and 304 carry no body.
//! - `Connection: close` from the server (or HTTP/1.0 without keep-alive) closes after the response.
//! - A reused connection the server closed while idle is retried once, only when nothing of the
//!   request was accepted (the write failed or EOF came before any response byte); the response
//!   says so in [`Response::retried`]. A fresh connection is never retried.
//! - Header bytes and count are capped; a kept body is capped by [`Limits::max_body`].

mod conn;
mod parse;
mod request;

pub use conn::{Conn, Connector, Target};
pub use parse::{Header, Response, Want};
pub use request::{Prepared, PreparedBuilder};

use std::time::Duration;

/// Bounds that protect the client from a slow or hostile server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest response body kept in memory (bodies not kept are only counted).
    pub max_body: usize,
    /// Largest response head (status line and headers, also trailers) in bytes.
    pub max_header_bytes: usize,
    /// Largest number of response headers.
    pub max_headers: usize,
    /// Time to establish TCP (and TLS).
    pub connect_timeout: Duration,
    /// Time from the start of the write to the end of the response.
    pub response_timeout: Duration,
    /// Initial read buffer size; it shrinks back to this after a large body.
    pub read_buf: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 10 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
            max_headers: 100,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(60),
            read_buf: 8 * 1024,
        }
    }
}

/// Everything that can go wrong on this path.
#[derive(Debug, thiserror::Error)]
pub enum H1Error {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("connect to {0} timed out")]
    ConnectTimeout(String),
    #[error("TLS handshake with {host} failed: {source}")]
    Tls {
        host: String,
        source: std::io::Error,
    },
    #[error("invalid TLS server name {0:?}")]
    ServerName(String),
    #[error("TLS requested but no TLS configuration could be built: {0}")]
    TlsConfig(String),
    #[error("writing the request failed: {0}")]
    Write(std::io::Error),
    #[error("reading the response failed: {0}")]
    Read(std::io::Error),
    #[error("connection closed before a complete response")]
    UnexpectedEof,
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("malformed response: {0}")]
    Malformed(&'static str),
    #[error("response head larger than {0} bytes")]
    HeaderTooLarge(usize),
    #[error("more than {0} response headers")]
    TooManyHeaders(usize),
    #[error("response body larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("protocol upgrade (101) is not supported on this path")]
    Upgrade,
    #[error("request template has {expected} slots but {given} values were given")]
    Slots { expected: usize, given: usize },
}

impl H1Error {
    /// Whether the request may have reached the server (so it counts as a sent request).
    pub fn was_sent(&self) -> bool {
        !matches!(
            self,
            H1Error::Connect { .. }
                | H1Error::ConnectTimeout(_)
                | H1Error::Tls { .. }
                | H1Error::ServerName(_)
                | H1Error::TlsConfig(_)
                | H1Error::Slots { .. }
        )
    }
}
