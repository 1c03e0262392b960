//! Keeping the fleet's view current: [`discover`] (list the workers' prefix, then watch it from
//! the list's revision + 1, listing again on a broken stream or a compacted revision) and
//! [`poll_status`] (every known, trusted worker's live status, every second).

use super::*;

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
    let key = fleet.auth.key.clone();
    fleet.replace(listing(
        resp.kvs().iter().map(|kv| (kv.key(), kv.value())),
        key.as_deref(),
    ));
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

/// The workers of an etcd listing, by key, with their trust; values that are not worker
/// records (or are over the size limit) are skipped.
pub(super) fn listing<'a>(
    kvs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    key: Option<&FleetKey>,
) -> BTreeMap<String, (WorkerRecord, Trust)> {
    kvs.into_iter()
        .filter_map(|(k, v)| {
            let etcd_key = String::from_utf8_lossy(k).into_owned();
            match contract::etcd::decode_record(&etcd_key, v, key) {
                Ok(rt) => Some((etcd_key, rt)),
                Err(e) => {
                    tracing::warn!(key = %etcd_key, error = %e, "ignoring a record that is not a worker");
                    None
                }
            }
        })
        .collect()
}

/// What a watch event did to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Put,
    Delete,
}

/// Applies one watch event to the fleet.
pub(super) fn apply(fleet: &Fleet, change: Change, key: &[u8], value: &[u8]) {
    let key = String::from_utf8_lossy(key).into_owned();
    match change {
        Change::Put => {
            match contract::etcd::decode_record(&key, value, fleet.auth.key.as_deref()) {
                Ok((r, t)) => fleet.upsert(key, r, t),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "ignoring a record that is not a worker")
                }
            }
        }
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
        let workers = fleet.select(&Selection::default());
        let calls = workers.into_iter().map(|w| {
            let fleet = fleet.clone();
            async move {
                let result = match fleet.client(&w.record) {
                    Ok(mut c) => {
                        let req = fleet.request(&w.record, "Status", pb::StatusRequest {});
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
