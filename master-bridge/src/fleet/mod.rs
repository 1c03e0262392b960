//! The bridge's view of the fleet: discovery in etcd and gRPC calls to workers.
//!
//! [`discover`] lists the workers' prefix, then watches it from the list's revision + 1, so no
//! registration is missed or seen twice; on a broken stream or a compacted revision it lists
//! again. [`poll_status`] asks every known worker for its live status every second. Workers that
//! join are announced on a broadcast channel (the pusher gives them their pool's active plan).
//! A [`Selection`] names the workers an operation targets.
//!
//! Trust: with a fleet key, a record whose signature does not verify (written by someone who
//! does not hold the fleet's token) is listed as `untrusted` and never called: no status poll, no
//! plan, no try. Every call to a worker is signed for that worker (`contract::auth`), payloads
//! that can carry secrets are sealed, and whether a worker is called over TLS is decided by the
//! bridge's own configuration, never by what a record says.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use contract::auth::FleetKey;
use contract::auth::grpc::{self as auth_grpc, Sealable};
use contract::etcd::{Trust, WorkerRecord};
use contract::pb;
use contract::pb::worker_client::WorkerClient;
use etcd_client::{Client, ConnectOptions, EventType, GetOptions, WatchOptions};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

mod watch;
#[cfg(test)]
use watch::{Change, apply, listing};
pub use watch::{discover, poll_status};

/// One worker as the bridge sees it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    pub key: String,
    #[serde(flatten)]
    pub record: WorkerRecord,
    /// Whether the record verified against the fleet key.
    pub trust: Trust,
    /// Live status; `None` until the first answer.
    pub state: String,
    pub plan: String,
    pub plan_version: String,
    pub master_acknowledged: bool,
    pub users: u32,
    pub requests_per_second: f64,
    pub requests_total: u64,
    pub failures_total: u64,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    pub last_error: String,
    /// Why the last status call failed, if it did.
    pub unreachable: Option<String>,
}

impl WorkerView {
    fn new(key: String, record: WorkerRecord, trust: Trust) -> WorkerView {
        let state = if trust == Trust::Untrusted {
            "untrusted"
        } else {
            "unknown"
        };
        WorkerView {
            key,
            record,
            trust,
            state: state.into(),
            plan: String::new(),
            plan_version: String::new(),
            master_acknowledged: false,
            users: 0,
            requests_per_second: 0.0,
            requests_total: 0,
            failures_total: 0,
            cpu_percent: 0.0,
            memory_bytes: 0,
            last_error: String::new(),
            unreachable: None,
        }
    }
}

/// Which workers an operation targets.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct Selection {
    /// Worker ids, addresses or etcd keys; empty = every worker matching `labels`.
    #[serde(default)]
    pub workers: Vec<String>,
    /// Label selector (`{"team": "checkout"}`); empty = every worker.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Selection {
    /// Every worker carrying `labels`.
    pub fn pool(labels: BTreeMap<String, String>) -> Selection {
        Selection {
            workers: Vec::new(),
            labels,
        }
    }

    pub fn matches(&self, w: &WorkerRecord, key: &str) -> bool {
        let named = self.workers.is_empty()
            || self
                .workers
                .iter()
                .any(|x| x == &w.id || x == &w.address || x == key);
        named && w.matches(&self.labels)
    }
}

/// Why no gRPC client could be made for a worker.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("bad worker address {address}: {source}")]
    Address {
        address: String,
        source: tonic::transport::Error,
    },
    #[error("TLS settings for {address}: {source}")]
    Tls {
        address: String,
        source: tonic::transport::Error,
    },
}

/// Why a worker's status call failed (shown as the view's `unreachable`).
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Refused(String),
    #[error("status timed out")]
    Timeout,
}

/// Something happened to the fleet.
#[derive(Debug, Clone)]
pub enum FleetEvent {
    Joined(WorkerRecord),
    Left(String),
}

/// Credentials for calling workers.
#[derive(Clone, Default)]
pub struct WorkerAuth {
    /// Derived from the fleet token; `None` only for an explicitly insecure fleet.
    pub key: Option<Arc<FleetKey>>,
    /// When set, every worker is called over TLS with it.
    pub tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for WorkerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerAuth")
            .field("key", &self.key.is_some())
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl WorkerAuth {
    /// TLS from PEM files: the CA that signed the workers' certificates, and optionally this
    /// bridge's client certificate and key.
    pub fn tls_from_pem(
        ca: &[u8],
        identity: Option<(Vec<u8>, Vec<u8>)>,
        domain: Option<String>,
    ) -> ClientTlsConfig {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        if let Some(d) = domain {
            tls = tls.domain_name(d);
        }
        tls
    }
}

/// The fleet: known workers, and how to call them.
#[derive(Debug)]
pub struct Fleet {
    workers: RwLock<BTreeMap<String, WorkerView>>,
    events: broadcast::Sender<FleetEvent>,
    auth: WorkerAuth,
    /// One HTTP/2 channel per worker address, reused by every call.
    channels: std::sync::Mutex<BTreeMap<String, Channel>>,
}

impl Fleet {
    pub fn new(auth: WorkerAuth) -> Arc<Fleet> {
        Arc::new(Fleet {
            workers: RwLock::new(BTreeMap::new()),
            events: broadcast::channel(256).0,
            auth,
            channels: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, WorkerView>> {
        self.workers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, WorkerView>> {
        self.workers.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FleetEvent> {
        self.events.subscribe()
    }

    /// Every known worker, by key.
    pub fn workers(&self) -> Vec<WorkerView> {
        self.read().values().cloned().collect()
    }

    /// The trusted workers a selection names (untrusted records are never called).
    pub fn select(&self, sel: &Selection) -> Vec<WorkerView> {
        self.read()
            .values()
            .filter(|w| w.trust != Trust::Untrusted && sel.matches(&w.record, &w.key))
            .cloned()
            .collect()
    }

    pub(crate) fn upsert(&self, key: String, record: WorkerRecord, trust: Trust) {
        let joined = {
            let mut w = self.write();
            match w.get_mut(&key) {
                Some(v) if v.record == record && v.trust == trust => false,
                Some(v) => {
                    // Same key, new process or new trust: a new channel and a fresh view.
                    self.channels
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&v.record.address);
                    *v = WorkerView::new(key.clone(), record.clone(), trust);
                    true
                }
                None => {
                    w.insert(
                        key.clone(),
                        WorkerView::new(key.clone(), record.clone(), trust),
                    );
                    true
                }
            }
        };
        if trust == Trust::Untrusted {
            if joined {
                tracing::warn!(%key, address = %record.address, "a worker record that does not verify against the fleet key: listed as untrusted, never contacted");
            }
            return;
        }
        if joined {
            tracing::info!(address = %record.address, "worker joined");
            let _ = self.events.send(FleetEvent::Joined(record));
        }
    }

    pub(crate) fn remove(&self, key: &str) {
        let removed = self.write().remove(key);
        if let Some(w) = removed {
            self.channels
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&w.record.address);
            tracing::info!(%key, "worker left");
            let _ = self.events.send(FleetEvent::Left(key.to_string()));
        }
    }

    pub(crate) fn replace(&self, listed: BTreeMap<String, (WorkerRecord, Trust)>) {
        let gone: Vec<String> = self
            .read()
            .keys()
            .filter(|k| !listed.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            self.remove(&k);
        }
        for (k, (r, t)) in listed {
            self.upsert(k, r, t);
        }
    }

    /// A gRPC client for a worker (its channel is created once and reused).
    pub fn client(&self, record: &WorkerRecord) -> Result<WorkerClient<Channel>, ClientError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ch) = channels.get(&record.address) {
            return Ok(WorkerClient::new(ch.clone()));
        }
        // TLS is the bridge's decision, never the record's.
        let tls = self.auth.tls.is_some();
        let scheme = if tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", record.address))
            .map_err(|source| ClientError::Address {
                address: record.address.clone(),
                source,
            })?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30));
        if let Some(tls) = self.auth.tls.clone() {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|source| ClientError::Tls {
                    address: record.address.clone(),
                    source,
                })?;
        }
        let channel = endpoint.connect_lazy();
        channels.insert(record.address.clone(), channel.clone());
        Ok(WorkerClient::new(channel))
    }

    /// A call of `rpc` to the worker of `record`, signed for it when the fleet has a key.
    pub fn request<T: prost::Message>(
        &self,
        record: &WorkerRecord,
        rpc: &str,
        msg: T,
    ) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(k) = &self.auth.key {
            auth_grpc::sign(k, &record.id, rpc, &mut req);
        }
        req
    }

    /// [`Fleet::request`] for a message that can carry secrets: sealed for that worker first.
    pub fn sealed_request<T: Sealable>(
        &self,
        record: &WorkerRecord,
        rpc: &str,
        msg: T,
    ) -> tonic::Request<T> {
        let msg = auth_grpc::seal_msg(self.auth.key.as_deref(), &record.id, rpc, msg);
        self.request(record, rpc, msg)
    }

    /// A sealed answer of `record`'s worker, opened.
    pub fn open<T: Sealable>(
        &self,
        record: &WorkerRecord,
        rpc: &str,
        msg: T,
    ) -> Result<T, contract::auth::AuthError> {
        auth_grpc::open_msg(self.auth.key.as_deref(), &record.id, rpc, msg)
    }

    pub(crate) fn set_status(&self, key: &str, status: Result<pb::WorkerStatus, StatusError>) {
        let mut w = self.write();
        let Some(v) = w.get_mut(key) else { return };
        match status {
            Ok(s) => {
                v.state = match s.state() {
                    pb::WorkerState::Idle => "idle",
                    pb::WorkerState::Connecting => "connecting",
                    pb::WorkerState::Ready => "ready",
                    pb::WorkerState::Spawning => "spawning",
                    pb::WorkerState::Running => "running",
                    pb::WorkerState::Stopping => "stopping",
                    pb::WorkerState::Unspecified => "unknown",
                }
                .into();
                v.plan = s.plan_name;
                v.plan_version = s.plan_version;
                v.master_acknowledged = s.master_acknowledged;
                v.users = s.users;
                v.requests_per_second = s.requests_per_second;
                v.requests_total = s.requests_total;
                v.failures_total = s.failures_total;
                v.cpu_percent = s.cpu_percent;
                v.memory_bytes = s.memory_bytes;
                v.last_error = s.last_error;
                v.unreachable = None;
            }
            Err(e) => {
                v.state = "unreachable".into();
                v.unreachable = Some(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests;
