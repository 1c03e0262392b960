//! Locust node ids (`hostname_uuidhex`): the worker's name at the master and its ZeroMQ identity.

/// A fresh node id per call, shaped like Python's `hostname_uuidhex`.
pub fn node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    // The master takes everything before the first '_' as the host name.
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{host}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    #[test]
    fn node_ids_are_unique_and_have_one_separator_after_the_host() {
        let (a, b) = (super::node_id(), super::node_id());
        assert_ne!(a, b);
        let (host, hex) = a.rsplit_once('_').unwrap();
        assert!(!host.contains('_'));
        assert_eq!(hex.len(), 32);
    }
}
