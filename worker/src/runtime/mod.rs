//! The worker's running load: simulated users (and, as the reshaping of issue 9 proceeds, the one
//! owner of the compiled plan, the host override, the allow-list and the statistics).
//!
//! - [`users`]: simulated users as tokio tasks, started and stopped exactly.
//! - [`node_id`]: this process's Locust node id (used by `worker run` and the fleet alike).

pub mod users;

/// A fresh node id per process start, shaped like Python's `hostname_uuidhex`.
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
