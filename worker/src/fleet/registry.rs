//! Membership in etcd: the only module of the worker that talks to etcd.
//!
//! The worker's record (signed with the fleet's record key when the fleet has a token, see
//! `contract::auth`) is created under its key bound to a lease (default TTL 10 s) that is kept
//! alive every TTL/3. Creation is create-if-absent in one transaction: a key that someone else
//! already holds is never overwritten (two workers can never share a key); the clash is logged as
//! an error and retried, in case the other holder goes away.
//!
//! Once registered, the worker watches its own key: if anyone changes or deletes it, the worker
//! puts its record back at once (a hijacked key does not stay hijacked), and the key always lives
//! under the worker's lease, so it disappears with the worker.
//!
//! If etcd goes away, nothing else stops: load generation never waits on etcd. When it comes
//! back, the keep-alive stream is re-opened on the same lease (etcd renews leases when it
//! starts); the key is put again if it is missing, and the lease is re-granted only when etcd says
//! it expired. On shutdown the lease is revoked, which deletes the key at once.

use std::sync::Arc;
use std::time::Duration;

use contract::auth::FleetKey;
use contract::etcd::WorkerRecord;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, PutOptions, Txn, TxnOp, WatchOptions,
};
use tokio_util::sync::CancellationToken;

/// Where and how to register.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub endpoints: Vec<String>,
    pub key: String,
    pub record: WorkerRecord,
    pub ttl_secs: i64,
    /// Signs the record (None only in an explicitly insecure fleet).
    pub fleet_key: Option<Arc<FleetKey>>,
}

#[derive(Debug, thiserror::Error)]
enum RegistryError {
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    #[error("the lease expired")]
    LeaseExpired,
    #[error("the keep-alive stream ended")]
    StreamEnded,
    #[error("the watch on our key ended")]
    WatchEnded,
    #[error("the key is held by someone else")]
    Clash,
}

/// Keeps the worker registered until `shutdown`, then deregisters.
pub async fn run(cfg: RegistryConfig, shutdown: CancellationToken) {
    let value = contract::etcd::encode_record(&cfg.key, &cfg.record, cfg.fleet_key.as_deref());
    let mut state = State::default();
    let mut client: Option<Client> = None;
    let mut announced = false;
    let mut delay = Duration::from_millis(200);
    loop {
        let c = match &client {
            Some(c) => c.clone(),
            None => {
                let connect = Client::connect(
                    &cfg.endpoints,
                    Some(
                        ConnectOptions::new()
                            .with_connect_timeout(Duration::from_secs(2))
                            .with_timeout(Duration::from_secs(3)),
                    ),
                );
                let result = tokio::select! {
                    () = shutdown.cancelled() => return,
                    r = connect => r,
                };
                match result {
                    Ok(c) => {
                        client = Some(c.clone());
                        c
                    }
                    Err(e) => {
                        if !announced {
                            tracing::warn!(error = %e, endpoints = ?cfg.endpoints, "cannot reach etcd yet; retrying");
                            announced = true;
                        }
                        if sleep_or_shutdown(delay, &shutdown).await {
                            return;
                        }
                        delay = (delay * 2).min(Duration::from_secs(2));
                        continue;
                    }
                }
            }
        };
        let result = tokio::select! {
            () = shutdown.cancelled() => break,
            r = keep_registered(c, &cfg, &value, &mut state, &mut announced) => r,
        };
        match result {
            Err(RegistryError::LeaseExpired) => {
                tracing::warn!(key = %cfg.key, "the lease expired; registering again");
                state.lease = None;
            }
            Err(RegistryError::Clash) => {
                tracing::error!(
                    key = %cfg.key,
                    "another worker holds this key in etcd; not overwriting it (give each worker its own id/address); retrying in 5 s"
                );
                if sleep_or_shutdown(Duration::from_secs(5), &shutdown).await {
                    break;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "etcd connection interrupted");
                if !announced {
                    tracing::warn!(error = %e, "lost etcd; load generation goes on, re-registering when it is back");
                    announced = true;
                }
                if sleep_or_shutdown(delay, &shutdown).await {
                    break;
                }
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Ok(()) => {}
        }
    }
    // Deregister: revoking the lease deletes the key at once.
    if let (Some(mut c), Some(id)) = (client, state.lease) {
        match tokio::time::timeout(Duration::from_secs(2), c.lease_revoke(id)).await {
            Ok(Ok(_)) => tracing::info!(key = %cfg.key, "deregistered from etcd"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not deregister from etcd"),
            Err(_) => tracing::warn!("deregistering from etcd timed out"),
        }
    }
}

/// What survives a broken etcd connection.
#[derive(Debug, Default)]
struct State {
    lease: Option<i64>,
    /// Whether we created the key once: from then on it is ours, and anything else found there
    /// is a tampering to undo, not a clash to respect.
    claimed: bool,
}

async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(d) => false,
    }
}

/// Puts our record under our lease: create-if-absent the first time; afterwards (the key is
/// ours) overwrite whatever is there. Returns the revision of the write (or of the read that
/// found the key already right).
async fn claim(
    c: &mut Client,
    cfg: &RegistryConfig,
    value: &str,
    lease: i64,
    state: &mut State,
) -> Result<i64, RegistryError> {
    let put = TxnOp::put(
        cfg.key.as_str(),
        value,
        Some(PutOptions::new().with_lease(lease)),
    );
    let txn = if state.claimed {
        // Ours already: rewrite unless it is exactly our record under our lease.
        Txn::new()
            .when([
                Compare::value(cfg.key.as_str(), CompareOp::Equal, value),
                Compare::lease(cfg.key.as_str(), CompareOp::Equal, lease),
            ])
            .or_else([put])
    } else {
        Txn::new()
            .when([Compare::create_revision(
                cfg.key.as_str(),
                CompareOp::Equal,
                0,
            )])
            .and_then([put])
    };
    let resp = c.txn(txn).await?;
    let revision = resp.header().map_or(0, |h| h.revision());
    if !state.claimed {
        if !resp.succeeded() {
            // Someone holds the key. It may be our own record from before a lost connection,
            // under our lease: then it is ours.
            let got = c.get(cfg.key.as_str(), None).await?;
            let ours = got
                .kvs()
                .first()
                .is_some_and(|kv| kv.lease() == lease && kv.value() == value.as_bytes());
            if !ours {
                return Err(RegistryError::Clash);
            }
        }
        state.claimed = true;
    }
    Ok(revision)
}

/// Makes sure the key holds our record under a live lease, then keeps the lease alive and the
/// key ours. Returns only on an error.
async fn keep_registered(
    mut c: Client,
    cfg: &RegistryConfig,
    value: &str,
    state: &mut State,
    announced: &mut bool,
) -> Result<(), RegistryError> {
    let id = match state.lease {
        Some(id) => id,
        None => {
            let id = c.lease_grant(cfg.ttl_secs, None).await?.id();
            state.lease = Some(id);
            id
        }
    };
    let (mut keeper, mut stream) = c.lease_keep_alive(id).await?;
    // The first answer tells whether the lease is still alive.
    keeper.keep_alive().await?;
    match stream.message().await? {
        Some(r) if r.ttl() > 0 => {}
        Some(_) => return Err(RegistryError::LeaseExpired),
        None => return Err(RegistryError::StreamEnded),
    }
    let revision = claim(&mut c, cfg, value, id, state).await?;
    let mut watch = c
        .watch(
            cfg.key.as_str(),
            Some(WatchOptions::new().with_start_revision(revision + 1)),
        )
        .await?;
    tracing::info!(key = %cfg.key, lease = id, "registered in etcd");
    *announced = false;
    let period = Duration::from_secs_f64((cfg.ttl_secs as f64 / 3.0).max(0.5));
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                keeper.keep_alive().await?;
                match tokio::time::timeout(period, stream.message()).await {
                    Ok(Ok(Some(r))) if r.ttl() > 0 => {}
                    Ok(Ok(Some(_))) => return Err(RegistryError::LeaseExpired),
                    Ok(Ok(None)) => return Err(RegistryError::StreamEnded),
                    Ok(Err(e)) => return Err(e.into()),
                    Err(_) => return Err(RegistryError::StreamEnded),
                }
            }
            msg = watch.message() => {
                let Some(resp) = msg? else { return Err(RegistryError::WatchEnded) };
                if resp.canceled() || resp.compact_revision() > 0 {
                    return Err(RegistryError::WatchEnded);
                }
                let tampered = resp.events().iter().any(|ev| match ev.event_type() {
                    EventType::Delete => true,
                    EventType::Put => ev
                        .kv()
                        .is_some_and(|kv| kv.lease() != id || kv.value() != value.as_bytes()),
                });
                if tampered {
                    tracing::warn!(key = %cfg.key, "our etcd key was changed or deleted by someone else; restoring it");
                    claim(&mut c, cfg, value, id, state).await?;
                }
            }
        }
    }
}
