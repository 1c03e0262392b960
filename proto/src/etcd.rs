//! The etcd schema of the fleet: one key per worker under a prefix, its value a JSON record,
//! bound to the worker's lease (gone within the TTL when the worker dies).
//!
//! Key: `<prefix><host>:<port>`, default prefix `/locust-http/workers/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where workers register by default.
pub const DEFAULT_PREFIX: &str = "/locust-http/workers/";

/// Default lease TTL in seconds; the lease is kept alive every TTL/3.
pub const DEFAULT_TTL_SECS: i64 = 10;

/// The prefix with exactly one trailing `/`.
pub fn normalize_prefix(prefix: &str) -> String {
    format!("{}/", prefix.trim_end_matches('/'))
}

/// The key of the worker serving gRPC on `host:port`.
pub fn worker_key(prefix: &str, host: &str, port: u16) -> String {
    format!("{}{}", normalize_prefix(prefix), address(host, port))
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
            worker_key("/locust-http/workers", "10.0.0.7", 3000),
            "/locust-http/workers/10.0.0.7:3000"
        );
        assert_eq!(worker_key("/x/", "::1", 1), "/x/[::1]:1");
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
}
