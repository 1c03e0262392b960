//! CPU and memory of this process, for heartbeats and status (Linux `/proc`; zeros elsewhere).

use std::time::Instant;

/// Samples this process's CPU use (percent of one core since the previous sample, like psutil's
/// `cpu_percent()`) and resident memory.
#[derive(Debug)]
pub struct ProcInfo {
    last: Option<(Instant, f64)>,
    cpu_percent: f64,
}

/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, fixed at 100 by the Linux ABI).
const TICKS_PER_SEC: f64 = 100.0;

impl Default for ProcInfo {
    fn default() -> Self {
        ProcInfo::new()
    }
}

impl ProcInfo {
    pub fn new() -> ProcInfo {
        ProcInfo {
            last: cpu_seconds().map(|c| (Instant::now(), c)),
            cpu_percent: 0.0,
        }
    }

    /// Updates and returns `(cpu_percent, rss_bytes)`.
    pub fn sample(&mut self) -> (f64, u64) {
        let now = Instant::now();
        if let (Some((then, before)), Some(cpu)) = (self.last, cpu_seconds()) {
            let wall = now.duration_since(then).as_secs_f64();
            if wall >= 0.5 {
                self.cpu_percent = ((cpu - before) / wall * 100.0).max(0.0);
                self.last = Some((now, cpu));
            }
        }
        (self.cpu_percent, rss_bytes().unwrap_or(0))
    }
}

/// User + system CPU seconds used by this process.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after it are space separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// Resident set size in bytes.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_real_numbers_on_linux() {
        assert!(cpu_seconds().is_some());
        assert!(rss_bytes().unwrap() > 1024 * 1024);
        let mut p = ProcInfo::new();
        let (cpu, rss) = p.sample();
        assert!(cpu >= 0.0 && rss > 0);
    }
}
