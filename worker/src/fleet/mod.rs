//! Fleet mode: `worker --etcd-addr E [--advertise H] [--port 3000]`.
//!
//! The worker serves the gRPC `Worker` service (plus health and reflection) on `H:port`,
//! registers `<prefix><H>:<port>` in etcd under a lease, and runs whatever plan it is applied
//! against the master it is told. One shutdown tree: on SIGINT/SIGTERM the session leaves the
//! master (last stats, `quit`), the lease is revoked (the key disappears at once), and the
//! server stops.
//!
//! - [`controller`]: plan, master and session state (apply / release / status / try).
//! - [`service`]: the gRPC service and the token check; errors become `Status` there.
//! - [`registry`]: etcd membership.

pub mod auth;
pub mod controller;
pub mod registry;
pub mod service;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use contract::etcd::{self, WorkerRecord};
use contract::pb;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::cli::FleetArgs;
use crate::engine::{self, AllowList};
use controller::Controller;
use service::WorkerService;

/// Fleet configuration, parsed and checked completely before anything binds.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub endpoints: Vec<String>,
    pub host: String,
    pub listen: SocketAddr,
    pub prefix: String,
    pub ttl_secs: i64,
    pub labels: BTreeMap<String, String>,
    /// From the fleet token; `None` on mutual TLS only, or with --insecure-no-fleet-auth.
    pub fleet_key: Option<Arc<contract::auth::FleetKey>>,
    pub tls: Option<TlsFiles>,
    /// `--allow-target`, and what is refused without it.
    pub allow: AllowList,
    /// `--max-users`.
    pub max_users: u32,
    /// `--metrics-addr`.
    pub metrics_addr: Option<SocketAddr>,
    /// `--id`, or a fresh node id.
    pub id: String,
}

/// PEM contents for the gRPC server's TLS.
#[derive(Clone)]
pub struct TlsFiles {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("client_ca", &self.client_ca.is_some())
            .finish_non_exhaustive()
    }
}

impl FleetConfig {
    /// Checks the flags and reads the files they name.
    pub fn from_args(args: &FleetArgs) -> anyhow::Result<FleetConfig> {
        let etcd_addr = args
            .etcd_addr
            .as_deref()
            .context("--etcd-addr is required")?;
        let endpoints = etcd::parse_endpoints(etcd_addr);
        anyhow::ensure!(!endpoints.is_empty(), "--etcd-addr names no endpoint");
        let host = match &args.advertise {
            Some(h) => h.clone(),
            None => route_to(&endpoints[0]).with_context(|| {
                format!(
                    "cannot find this host's address towards etcd ({}); give it with --advertise",
                    endpoints[0]
                )
            })?,
        };
        let listen_host = match &args.listen {
            Some(l) => l.clone(),
            None if host.parse::<std::net::IpAddr>().is_ok() => host.clone(),
            None => "0.0.0.0".into(),
        };
        let listen: SocketAddr = etcd::address(&listen_host, args.port)
            .parse()
            .with_context(|| {
                format!("cannot listen on {listen_host:?} (use --listen with an IP address)")
            })?;
        let read = |what: &str, p: &std::path::Path| {
            std::fs::read(p).with_context(|| format!("cannot read {what} {}", p.display()))
        };
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(c), Some(k)) => Some(TlsFiles {
                cert: read("--tls-cert", c)?,
                key: read("--tls-key", k)?,
                client_ca: args
                    .tls_client_ca
                    .as_deref()
                    .map(|p| read("--tls-client-ca", p))
                    .transpose()?,
            }),
            (None, None) => {
                anyhow::ensure!(
                    args.tls_client_ca.is_none(),
                    "--tls-client-ca needs --tls-cert and --tls-key"
                );
                None
            }
            _ => anyhow::bail!("--tls-cert and --tls-key go together"),
        };
        // The worker's own infrastructure is refused unless named (its gRPC port is added by
        // `run`, once bound).
        let mut allow = AllowList::parse(&args.allow_target).map_err(anyhow::Error::msg)?;
        for e in &endpoints {
            if let Ok(u) = url::Url::parse(e)
                && let (Some(h), Some(p)) = (u.host_str(), u.port_or_known_default())
            {
                allow = allow.deny(h, p);
            }
        }
        anyhow::ensure!(args.ttl >= 2, "--ttl must be at least 2 seconds");
        let fleet_key = auth::load_key(&auth::CredentialSources {
            token: args.token.clone(),
            token_file: args.token_file.clone(),
            mutual_tls: tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
            insecure: args.insecure_no_fleet_auth,
        })?;
        if fleet_key.is_none() && args.insecure_no_fleet_auth {
            tracing::warn!(
                "--insecure-no-fleet-auth: calls to this worker are not authenticated; anyone who reaches its port controls it"
            );
        }
        Ok(FleetConfig {
            endpoints,
            host,
            listen,
            prefix: etcd::normalize_prefix(&args.etcd_prefix),
            ttl_secs: args.ttl,
            labels: args.labels.iter().cloned().collect(),
            fleet_key,
            tls,
            allow,
            max_users: args.max_users,
            metrics_addr: args.metrics_addr,
            id: match &args.id {
                Some(id) => {
                    anyhow::ensure!(
                        !id.is_empty()
                            && id.len() <= 128
                            && id
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                        "--id must be 1-128 characters of letters, digits, '.', '_' and '-'"
                    );
                    id.clone()
                }
                None => crate::locust::node::node_id(),
            },
        })
    }
}

/// The local address this host uses to reach `endpoint` (an etcd URL): what the bridge, which
/// also reaches etcd, most likely reaches this worker at. No packet is sent (a UDP "connect"
/// only picks the route).
fn route_to(endpoint: &str) -> anyhow::Result<String> {
    use std::net::ToSocketAddrs;
    let url = url::Url::parse(endpoint)?;
    let host = url.host_str().context("no host")?;
    let port = url.port_or_known_default().unwrap_or(2379);
    let remote = (host.trim_matches(|c| c == '[' || c == ']'), port)
        .to_socket_addrs()?
        .next()
        .context("the name resolves to nothing")?;
    let local: SocketAddr = if remote.is_ipv4() {
        "0.0.0.0:0".parse()?
    } else {
        "[::]:0".parse()?
    };
    let socket = std::net::UdpSocket::bind(local)?;
    socket.connect(remote)?;
    Ok(socket.local_addr()?.ip().to_string())
}

/// Runs the fleet worker on a bound listener until `shutdown`.
pub async fn run(
    cfg: FleetConfig,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let port = listener.local_addr()?.port();
    tracing::info!(what = "grpc", addr = %listener.local_addr()?, "listening");
    let mut allow = cfg.allow.clone();
    for own in ["127.0.0.1", "localhost", "::1", cfg.host.as_str()] {
        allow = allow.deny(own, port);
    }
    if !listener.local_addr()?.ip().is_unspecified() {
        allow = allow.deny(&listener.local_addr()?.ip().to_string(), port);
    }
    let allow = Some(Arc::new(allow));
    let id = cfg.id.clone();
    let tracker = TaskTracker::new();
    let sessions = shutdown.child_token();
    let client = engine::http_client(allow.clone()).context("cannot build the HTTP client")?;
    let metrics = match cfg.metrics_addr {
        Some(addr) => Some(
            crate::metrics::start(addr, &tracker, shutdown.child_token())
                .await
                .with_context(|| format!("cannot serve metrics on {addr}"))?,
        ),
        None => None,
    };
    let controller = Arc::new(Controller::new(
        client,
        allow,
        cfg.max_users,
        metrics,
        tracker.clone(),
        sessions.clone(),
    ));

    let key = etcd::worker_key(&cfg.prefix, &id);
    let record = WorkerRecord {
        id: id.clone(),
        address: etcd::address(&cfg.host, port),
        version: env!("CARGO_PKG_VERSION").into(),
        labels: cfg.labels.clone(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        started_at: crate::stats::unix_now(),
        tls: cfg.tls.is_some(),
    };
    let registry_stop = CancellationToken::new();
    let registry = tokio::spawn(registry::run(
        registry::RegistryConfig {
            endpoints: cfg.endpoints.clone(),
            key,
            record,
            ttl_secs: cfg.ttl_secs,
            fleet_key: cfg.fleet_key.clone(),
        },
        registry_stop.clone(),
    ));

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::worker_server::WorkerServer<WorkerService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("gRPC reflection")?;
    let service = WorkerService {
        controller: controller.clone(),
        id: id.clone(),
        labels: cfg.labels.clone(),
        guard: auth::CallGuard::new(cfg.fleet_key.clone(), &id),
    };
    let mut server = Server::builder();
    if let Some(tls) = &cfg.tls {
        let mut tls_config =
            ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert, &tls.key));
        if let Some(ca) = &tls.client_ca {
            tls_config = tls_config.client_ca_root(Certificate::from_pem(ca));
        }
        server = server.tls_config(tls_config).context("TLS configuration")?;
    }
    tracing::info!(
        listen = %cfg.listen,
        port,
        %id,
        tls = cfg.tls.is_some(),
        signed_calls = cfg.fleet_key.is_some(),
        allow = ?cfg.allow,
        "fleet worker serving gRPC"
    );
    let server_stop = CancellationToken::new();
    // The health service answers without credentials (probes); it tells nothing but SERVING.
    let router = server
        .add_service(pb::worker_server::WorkerServer::new(service))
        .add_service(health)
        .add_service(reflection);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let stop = server_stop.clone();
    let server_task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        stop.cancelled().await;
    }));

    shutdown.cancelled().await;
    tracing::info!("shutting down");
    // Leave the master first (last stats and quit), then etcd, then stop serving.
    controller.release().await;
    sessions.cancel();
    registry_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(3), registry).await;
    server_stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), server_task).await;
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), tracker.wait()).await;
    Ok(())
}
