//! Membership in etcd: the only module of the worker that talks to etcd.
//!
//! The worker's record is put under its key bound to a lease (default TTL 10 s) that is kept
//! alive every TTL/3. If etcd goes away, nothing else stops: load generation never waits on
//! etcd. When it comes back, the keep-alive stream is re-opened on the same lease (etcd renews
//! leases when it starts); the key is put again if it is missing, and the lease is re-granted
//! only when etcd says it expired. On shutdown the lease is revoked, which deletes the key at
//! once; a killed worker's key disappears when its lease expires.

use std::time::Duration;

use contract::etcd::WorkerRecord;
use etcd_client::{Client, ConnectOptions, PutOptions};
use tokio_util::sync::CancellationToken;

/// Where and how to register.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub endpoints: Vec<String>,
    pub key: String,
    pub record: WorkerRecord,
    pub ttl_secs: i64,
}

#[derive(Debug, thiserror::Error)]
enum RegistryError {
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    #[error("the lease expired")]
    LeaseExpired,
    #[error("the keep-alive stream ended")]
    StreamEnded,
}

/// Keeps the worker registered until `shutdown`, then deregisters.
pub async fn run(cfg: RegistryConfig, shutdown: CancellationToken) {
    let value = match serde_json::to_string(&cfg.record) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the worker record");
            return;
        }
    };
    let mut lease: Option<i64> = None;
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
            r = keep_registered(c, &cfg, &value, &mut lease, &mut announced) => r,
        };
        match result {
            Err(RegistryError::LeaseExpired) => {
                tracing::warn!(key = %cfg.key, "the lease expired; registering again");
                lease = None;
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
    if let (Some(mut c), Some(id)) = (client, lease) {
        match tokio::time::timeout(Duration::from_secs(2), c.lease_revoke(id)).await {
            Ok(Ok(_)) => tracing::info!(key = %cfg.key, "deregistered from etcd"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not deregister from etcd"),
            Err(_) => tracing::warn!("deregistering from etcd timed out"),
        }
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(d) => false,
    }
}

/// Makes sure the key exists under a live lease, then keeps the lease alive. Returns only on
/// an error.
async fn keep_registered(
    mut c: Client,
    cfg: &RegistryConfig,
    value: &str,
    lease: &mut Option<i64>,
    announced: &mut bool,
) -> Result<(), RegistryError> {
    let id = match *lease {
        Some(id) => id,
        None => {
            let id = c.lease_grant(cfg.ttl_secs, None).await?.id();
            *lease = Some(id);
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
    let present = c.get(cfg.key.as_str(), None).await?;
    let ours = present
        .kvs()
        .first()
        .is_some_and(|kv| kv.lease() == id && kv.value() == value.as_bytes());
    if !ours {
        c.put(
            cfg.key.as_str(),
            value,
            Some(PutOptions::new().with_lease(id)),
        )
        .await?;
    }
    tracing::info!(key = %cfg.key, lease = id, "registered in etcd");
    *announced = false;
    let period = Duration::from_secs_f64((cfg.ttl_secs as f64 / 3.0).max(0.5));
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tick.tick().await;
        keeper.keep_alive().await?;
        match tokio::time::timeout(period, stream.message()).await {
            Ok(Ok(Some(r))) if r.ttl() > 0 => {}
            Ok(Ok(Some(_))) => return Err(RegistryError::LeaseExpired),
            Ok(Ok(None)) => return Err(RegistryError::StreamEnded),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(RegistryError::StreamEnded),
        }
    }
}
