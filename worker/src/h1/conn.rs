//! Per-user connections: opened on first use, kept alive, closed when dropped.
//!
//! A [`Connector`] is built once per run and shared (cheap `Clone`): it holds the [`Limits`] and
//! the one rustls `ClientConfig` (its session cache gives TLS resumption across users). Each user
//! holds one [`Conn`] per target host.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::parse::{Reader, Response, Want};
use super::{H1Error, Limits, Prepared};

/// Where a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: Arc<str>,
    pub port: u16,
}

impl Target {
    pub fn http(host: &str, port: u16) -> Self {
        Self {
            tls: false,
            host: host.into(),
            port,
        }
    }

    pub fn https(host: &str, port: u16) -> Self {
        Self {
            tls: true,
            host: host.into(),
            port,
        }
    }
}

struct Shared {
    limits: Limits,
    tls: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
}

/// Shared by all users of a run: limits and the TLS configuration (built once, on first use).
#[derive(Clone)]
pub struct Connector {
    shared: Arc<Shared>,
}

impl Connector {
    pub fn new(limits: Limits) -> Self {
        Self {
            shared: Arc::new(Shared {
                limits,
                tls: OnceLock::new(),
            }),
        }
    }

    /// With a given TLS configuration (e.g. a test CA), instead of the system roots.
    pub fn with_tls_config(limits: Limits, config: Arc<rustls::ClientConfig>) -> Self {
        let tls = OnceLock::new();
        let _ = tls.set(Ok(config));
        Self {
            shared: Arc::new(Shared { limits, tls }),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// A connection to `target`, not yet opened.
    pub fn conn(&self, target: Target) -> Conn {
        Conn {
            connector: self.clone(),
            target,
            stream: None,
            buf: BytesMut::new(),
            wbuf: Vec::new(),
            opened: 0,
        }
    }

    fn tls_config(&self) -> Result<Arc<rustls::ClientConfig>, H1Error> {
        self.shared
            .tls
            .get_or_init(system_tls_config)
            .clone()
            .map_err(H1Error::TlsConfig)
    }
}

fn system_tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("limits", &self.shared.limits)
            .finish()
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("target", &self.target)
            .field("open", &self.stream.is_some())
            .field("opened", &self.opened)
            .finish()
    }
}

/// One user's connection to one target.
pub struct Conn {
    connector: Connector,
    target: Target,
    stream: Option<Stream>,
    buf: BytesMut,
    wbuf: Vec<u8>,
    opened: u64,
}

impl Conn {
    /// Whether a kept-alive connection is open.
    pub fn is_open(&self) -> bool {
        self.stream.is_some()
    }

    /// How many TCP connections this `Conn` has opened so far.
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// Closes the connection (the next request opens a new one).
    pub fn close(&mut self) {
        self.stream = None;
        self.buf = BytesMut::new();
    }

    /// Frees the read and write buffers while idle (e.g. before think time); the connection stays.
    pub fn release_buffers(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        self.wbuf = Vec::new();
    }

    /// Sends a request with no slots, keeping neither headers nor body.
    pub async fn send(&mut self, req: &Prepared) -> Result<Response, H1Error> {
        self.send_with(req, &[], Want::default()).await
    }

    /// Sends `req` with `values` in its slots (one write) and reads the response.
    pub async fn send_with(
        &mut self,
        req: &Prepared,
        values: &[&[u8]],
        want: Want,
    ) -> Result<Response, H1Error> {
        self.wbuf.clear();
        req.write_into(values, &mut self.wbuf)?;
        let limit = self.connector.limits().response_timeout;
        let result = match tokio::time::timeout(limit, self.exchange(req.is_head(), want)).await {
            Ok(result) => result,
            Err(_) => Err(H1Error::Timeout(limit)),
        };
        if result.is_err() {
            self.close();
        }
        let read_buf = self.connector.limits().read_buf;
        if self.buf.capacity() > 4 * read_buf.max(1024) {
            self.buf = BytesMut::new();
        }
        if self.wbuf.capacity() > 4 * read_buf.max(1024) {
            self.wbuf = Vec::new();
        }
        result
    }

    async fn exchange(&mut self, head_req: bool, want: Want) -> Result<Response, H1Error> {
        let mut retried = false;
        loop {
            let reused = self.stream.is_some();
            if !reused {
                let fresh = self.connect().await?;
                self.stream = Some(fresh);
            }
            let Some(stream) = self.stream.as_mut() else {
                return Err(H1Error::UnexpectedEof);
            };
            let written = async {
                stream.write_all(&self.wbuf).await?;
                stream.flush().await
            };
            if let Err(e) = written.await {
                self.close();
                if reused && !retried {
                    retried = true;
                    continue;
                }
                return Err(H1Error::Write(e));
            }
            if self.buf.capacity() == 0 {
                self.buf.reserve(self.connector.limits().read_buf);
            }
            let mut reader = Reader {
                io: stream,
                buf: &mut self.buf,
                limits: &self.connector.shared.limits,
                received: false,
            };
            match reader.response(head_req, want).await {
                Ok((mut resp, keep_alive)) => {
                    resp.retried = retried;
                    resp.reused = reused;
                    if !keep_alive {
                        self.close();
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    let nothing = !reader.received && is_closed(&e);
                    self.close();
                    if reused && !retried && nothing {
                        retried = true;
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    async fn connect(&mut self) -> Result<Stream, H1Error> {
        let limits = *self.connector.limits();
        let addr = format!("{}:{}", self.target.host, self.target.port);
        let tcp =
            match tokio::time::timeout(limits.connect_timeout, TcpStream::connect(&addr)).await {
                Ok(Ok(tcp)) => tcp,
                Ok(Err(source)) => return Err(H1Error::Connect { addr, source }),
                Err(_) => return Err(H1Error::ConnectTimeout(addr)),
            };
        let _ = tcp.set_nodelay(true);
        self.opened += 1;
        if !self.target.tls {
            return Ok(Stream::Plain(tcp));
        }
        let config = self.connector.tls_config()?;
        let name = rustls::pki_types::ServerName::try_from(self.target.host.to_string())
            .map_err(|_| H1Error::ServerName(self.target.host.to_string()))?;
        let handshake = tokio_rustls::TlsConnector::from(config).connect(name, tcp);
        match tokio::time::timeout(limits.connect_timeout, handshake).await {
            Ok(Ok(tls)) => Ok(Stream::Tls(Box::new(tls))),
            Ok(Err(source)) => Err(H1Error::Tls {
                host: self.target.host.to_string(),
                source,
            }),
            Err(_) => Err(H1Error::ConnectTimeout(addr)),
        }
    }
}

/// The peer closed the connection (as a server closing an idle keep-alive connection does).
fn is_closed(e: &H1Error) -> bool {
    match e {
        H1Error::UnexpectedEof => true,
        H1Error::Read(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}
