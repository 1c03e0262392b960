//! The etcd schema of the fleet: one key per worker under a prefix, its value a JSON record,
//! bound to the worker's lease (gone within the TTL when the worker dies).
//!
//! Key: `<prefix><host>:<port>`, default prefix `/locust-http/workers/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::FleetKey;

/// Where workers register by default.
pub const DEFAULT_PREFIX: &str = "/locust-http/workers/";

/// Default lease TTL in seconds; the lease is kept alive every TTL/3.
pub const DEFAULT_TTL_SECS: i64 = 10;

/// The prefix with exactly one trailing `/`.
pub fn normalize_prefix(prefix: &str) -> String {
    format!("{}/", prefix.trim_end_matches('/'))
}

/// The key of the worker whose id is `id` (unique per process start: two workers never share
/// a key, whatever their addresses).
pub fn worker_key(prefix: &str, id: &str) -> String {
    format!("{}{id}", normalize_prefix(prefix))
}

/// `host:port`, with brackets around an IPv6 host.
pub fn address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `--etcd-addr` (`host:port,host:port`, or full URLs) as endpoint URLs.
pub fn parse_endpoints(addrs: &str) -> Vec<String> {
    addrs
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            if e.contains("://") {
                e.to_string()
            } else {
                format!("http://{e}")
            }
        })
        .collect()
}

/// The value stored under a worker's key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// Unique per process start.
    pub id: String,
    /// `host:port` of the worker's gRPC service.
    pub address: String,
    /// The worker's version.
    pub version: String,
    /// Pool labels (`--label KEY=VALUE`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// CPU cores of the host.
    pub cpus: u32,
    /// Unix seconds when the worker started.
    pub started_at: f64,
    /// Whether the gRPC service uses TLS.
    #[serde(default)]
    pub tls: bool,
}

/// Records larger than this are ignored (a hostile writer must not make the bridge hold
/// megabytes per key).
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

/// How far a record read from etcd can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    /// Signed with the fleet's record key, under this very key.
    Verified,
    /// No fleet key is configured on the reader (an explicitly insecure bridge): contacted, but
    /// nothing proves who wrote it.
    Unchecked,
    /// Unsigned, or the signature does not verify: listed, never contacted.
    Untrusted,
}

/// Why a value under the workers' prefix is not a record at all.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("record of {0} bytes is over the {MAX_RECORD_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("not a worker record: {0}")]
    Malformed(#[from] serde_json::Error),
}

#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    record: &'a serde_json::value::RawValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
}

/// The value to store under `etcd_key`: the record, signed when the fleet has a key.
pub fn encode_record(etcd_key: &str, record: &WorkerRecord, key: Option<&FleetKey>) -> String {
    let raw = serde_json::value::to_raw_value(record).expect("a record serialises");
    let sig = key.map(|k| k.sign_record(etcd_key, raw.get().as_bytes()));
    serde_json::to_string(&Envelope { record: &raw, sig }).expect("an envelope serialises")
}

/// Reads the value under `etcd_key`, checking its signature when the reader has a fleet key.
pub fn decode_record(
    etcd_key: &str,
    value: &[u8],
    key: Option<&FleetKey>,
) -> Result<(WorkerRecord, Trust), RecordError> {
    if value.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge(value.len()));
    }
    let env: Envelope<'_> = serde_json::from_slice(value)?;
    let record: WorkerRecord = serde_json::from_str(env.record.get())?;
    let trust = match (key, env.sig.as_deref()) {
        (None, _) => Trust::Unchecked,
        (Some(k), Some(sig)) if k.verify_record(etcd_key, env.record.get().as_bytes(), sig) => {
            Trust::Verified
        }
        (Some(_), _) => Trust::Untrusted,
    };
    Ok((record, trust))
}

impl WorkerRecord {
    /// Whether the worker carries every `key=value` of `selector`.
    pub fn matches(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| self.labels.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_records() {
        assert_eq!(
            worker_key("/locust-http/workers", "vm_0123"),
            "/locust-http/workers/vm_0123"
        );
        assert_eq!(worker_key("/x", "w"), "/x/w");
        assert_eq!(
            parse_endpoints("a:1, https://b:2,"),
            ["http://a:1", "https://b:2"]
        );
        let r = WorkerRecord {
            id: "w".into(),
            address: "h:1".into(),
            version: "0.1.0".into(),
            labels: BTreeMap::from([("team".into(), "a".into())]),
            cpus: 2,
            started_at: 1.5,
            tls: false,
        };
        let back: WorkerRecord = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(r.matches(&BTreeMap::from([("team".into(), "a".into())])));
        assert!(!r.matches(&BTreeMap::from([("team".into(), "b".into())])));
    }

    fn record() -> WorkerRecord {
        WorkerRecord {
            id: "w".into(),
            address: "h:1".into(),
            version: "0.1.0".into(),
            labels: BTreeMap::new(),
            cpus: 2,
            started_at: 1.25,
            tls: false,
        }
    }

    #[test]
    fn signed_records_verify_only_where_written() {
        let k = FleetKey::from_secret(b"0123456789abcdef-secret").unwrap();
        let v = encode_record("/w/a", &record(), Some(&k));
        let (r, t) = decode_record("/w/a", v.as_bytes(), Some(&k)).unwrap();
        assert_eq!((r, t), (record(), Trust::Verified));
        assert_eq!(
            decode_record("/w/b", v.as_bytes(), Some(&k)).unwrap().1,
            Trust::Untrusted
        );
        let forged = v.replace("h:1", "evil:1");
        assert_eq!(
            decode_record("/w/a", forged.as_bytes(), Some(&k))
                .unwrap()
                .1,
            Trust::Untrusted
        );
        let unsigned = encode_record("/w/a", &record(), None);
        assert_eq!(
            decode_record("/w/a", unsigned.as_bytes(), Some(&k))
                .unwrap()
                .1,
            Trust::Untrusted
        );
        assert_eq!(
            decode_record("/w/a", unsigned.as_bytes(), None).unwrap().1,
            Trust::Unchecked
        );
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert!(matches!(
            decode_record("/w/a", &big, None),
            Err(RecordError::TooLarge(_))
        ));
        assert!(decode_record("/w/a", b"{\"id\":1}", None).is_err());
    }
}
