//! The bridge's view of the fleet: discovery in etcd and gRPC calls to workers.
//!
//! [`discover`] lists the workers' prefix, then watches it from the list's revision + 1, so no
//! registration is missed or seen twice; on a broken stream or a compacted revision it lists
//! again. [`poll_status`] asks every known worker for its live status every second. Workers that
//! join are announced on a broadcast channel (the pusher gives them their pool's active plan).
//! A [`Selection`] names the workers an operation targets.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use contract::etcd::WorkerRecord;
use contract::pb;
use contract::pb::worker_client::WorkerClient;
use etcd_client::{Client, ConnectOptions, EventType, GetOptions, WatchOptions};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// One worker as the bridge sees it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerView {
    pub key: String,
    #[serde(flatten)]
    pub record: WorkerRecord,
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
    fn new(key: String, record: WorkerRecord) -> WorkerView {
        WorkerView {
            key,
            record,
            state: "unknown".into(),
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
    pub token: Option<String>,
    pub tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for WorkerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerAuth")
            .field("token", &self.token.is_some())
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

    /// The workers a selection names.
    pub fn select(&self, sel: &Selection) -> Vec<WorkerView> {
        self.read()
            .values()
            .filter(|w| sel.matches(&w.record, &w.key))
            .cloned()
            .collect()
    }

    pub(crate) fn upsert(&self, key: String, record: WorkerRecord) {
        let joined = {
            let mut w = self.write();
            match w.get_mut(&key) {
                Some(v) if v.record == record => false,
                Some(v) => {
                    // Same address, new process (maybe with other TLS settings): new channel.
                    self.channels
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&v.record.address);
                    v.record = record.clone();
                    true
                }
                None => {
                    w.insert(key.clone(), WorkerView::new(key, record.clone()));
                    true
                }
            }
        };
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

    pub(crate) fn replace(&self, listed: BTreeMap<String, WorkerRecord>) {
        let gone: Vec<String> = self
            .read()
            .keys()
            .filter(|k| !listed.contains_key(*k))
            .cloned()
            .collect();
        for k in gone {
            self.remove(&k);
        }
        for (k, r) in listed {
            self.upsert(k, r);
        }
    }

    /// A gRPC client for a worker (its channel is created once and reused).
    pub fn client(&self, record: &WorkerRecord) -> Result<WorkerClient<Channel>, ClientError> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(ch) = channels.get(&record.address) {
            return Ok(WorkerClient::new(ch.clone()));
        }
        let scheme = if record.tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", record.address))
            .map_err(|source| ClientError::Address {
                address: record.address.clone(),
                source,
            })?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30));
        if record.tls {
            let tls = self.auth.tls.clone().unwrap_or_default();
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

    /// A request carrying the fleet token.
    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        if let Some(t) = &self.auth.token
            && let Ok(v) = format!("Bearer {t}").parse()
        {
            req.metadata_mut().insert("authorization", v);
        }
        req
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

/// Keeps `fleet` in line with etcd until `shutdown`.
pub async fn discover(
    endpoints: Vec<String>,
    prefix: String,
    fleet: Arc<Fleet>,
    shutdown: CancellationToken,
) {
    let mut announced = false;
    loop {
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = discover_once(&endpoints, &prefix, &fleet) => r,
        };
        if let Err(e) = result {
            if !announced {
                tracing::warn!(error = %e, "etcd discovery interrupted; retrying");
                announced = true;
            } else {
                tracing::debug!(error = %e, "etcd discovery still failing");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn discover_once(
    endpoints: &[String],
    prefix: &str,
    fleet: &Fleet,
) -> Result<(), etcd_client::Error> {
    let mut client = Client::connect(
        endpoints,
        Some(ConnectOptions::new().with_connect_timeout(Duration::from_secs(2))),
    )
    .await?;
    let resp = client
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await?;
    let revision = resp.header().map_or(0, |h| h.revision());
    fleet.replace(listing(resp.kvs().iter().map(|kv| (kv.key(), kv.value()))));
    let mut stream = client
        .watch(
            prefix,
            Some(
                WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(revision + 1),
            ),
        )
        .await?;
    while let Some(resp) = stream.message().await? {
        if resp.compact_revision() > 0 || resp.canceled() {
            tracing::info!("watch compacted or canceled; listing again");
            return Ok(());
        }
        for ev in resp.events() {
            let Some(kv) = ev.kv() else { continue };
            let change = match ev.event_type() {
                EventType::Put => Change::Put,
                EventType::Delete => Change::Delete,
            };
            apply(fleet, change, kv.key(), kv.value());
        }
    }
    Ok(())
}

/// The workers of an etcd listing, by key; values that are not worker records are skipped.
fn listing<'a>(
    kvs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> BTreeMap<String, WorkerRecord> {
    kvs.into_iter()
        .filter_map(|(k, v)| {
            let key = String::from_utf8_lossy(k).into_owned();
            match parse_record(v) {
                Ok(r) => Some((key, r)),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "ignoring a record that is not a worker");
                    None
                }
            }
        })
        .collect()
}

/// A value under the workers' prefix as a record; one over
/// [`MAX_RECORD_BYTES`](contract::etcd::MAX_RECORD_BYTES) is refused before it is parsed.
fn parse_record(value: &[u8]) -> Result<WorkerRecord, String> {
    if value.len() > contract::etcd::MAX_RECORD_BYTES {
        return Err(format!(
            "{} bytes, over the {}-byte limit",
            value.len(),
            contract::etcd::MAX_RECORD_BYTES
        ));
    }
    serde_json::from_slice(value).map_err(|e| e.to_string())
}

/// What a watch event did to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Put,
    Delete,
}

/// Applies one watch event to the fleet.
fn apply(fleet: &Fleet, change: Change, key: &[u8], value: &[u8]) {
    let key = String::from_utf8_lossy(key).into_owned();
    match change {
        Change::Put => match parse_record(value) {
            Ok(r) => fleet.upsert(key, r),
            Err(e) => tracing::warn!(%key, error = %e, "ignoring a record that is not a worker"),
        },
        Change::Delete => fleet.remove(&key),
    }
}

/// Refreshes every worker's live status every second until `shutdown`.
pub async fn poll_status(fleet: Arc<Fleet>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let workers = fleet.workers();
        let calls = workers.into_iter().map(|w| {
            let fleet = fleet.clone();
            async move {
                let result = match fleet.client(&w.record) {
                    Ok(mut c) => {
                        let req = fleet.request(pb::StatusRequest {});
                        match tokio::time::timeout(Duration::from_secs(2), c.status(req)).await {
                            Ok(Ok(r)) => Ok(r.into_inner()),
                            Ok(Err(s)) => Err(StatusError::Refused(s.message().to_string())),
                            Err(_) => Err(StatusError::Timeout),
                        }
                    }
                    Err(e) => Err(StatusError::Client(e)),
                };
                fleet.set_status(&w.key, result);
            }
        });
        futures::future::join_all(calls).await;
    }
}

#[cfg(test)]
mod tests;
