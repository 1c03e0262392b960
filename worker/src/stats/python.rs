//! The parts of Locust's statistics that must match Python bit for bit: response-time buckets
//! (`bucket_response_time`, with Python's round-half-to-even) and error keys (a SHA-256 of
//! Python's `repr()` of the error), so a Rust and a Python worker reporting to one master merge.

use sha2::{Digest, Sha256};

/// Locust's `bucket_response_time` (stats.py, 2.47): round half to even at 1, 10, 100 or 1000 ms.
pub fn bucket_response_time(rt_ms: f64) -> u64 {
    let scale = if rt_ms < 100.0 {
        1.0
    } else if rt_ms < 1000.0 {
        10.0
    } else if rt_ms < 10000.0 {
        100.0
    } else {
        1000.0
    };
    ((rt_ms / scale).round_ties_even() * scale).max(0.0) as u64
}

/// Python's error key: `sha256(f"{method}.{name}.{error!r}")`, so a Rust and a Python worker
/// reporting the same failure to one master merge into one row.
pub fn error_key(method: &str, name: &str, error: &str) -> String {
    let text = format!("{method}.{name}.{}", repr(error));
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Python's `repr()` of a `str`.
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_half_to_even_like_python() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (99.4, 99),
            (99.5, 100),
            (145.0, 140),
            (147.3, 150),
            (155.0, 160),
            (999.6, 1000),
            (1050.0, 1000),
            (1150.0, 1200),
            (3432.0, 3400),
            (10500.0, 10000),
            (58760.0, 59000),
        ];
        for (rt, want) in cases {
            assert_eq!(bucket_response_time(rt), want, "bucket({rt})");
        }
    }

    #[test]
    fn error_keys_match_hashlib() {
        // hashlib.sha256(f"GET./fake/flaky.{e!r}".encode()).hexdigest() with the error of the
        // protocol document's run1, computed with CPython 3.11.
        let e = "HTTPError('500 Server Error: INTERNAL SERVER ERROR for url: /fake/flaky')";
        assert_eq!(
            error_key("GET", "/fake/flaky", e),
            "4e1102af69596b51d4ee56e3e39ceb36409ac8c0f8f58840503fcc4565078909"
        );
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a\nb'\""), "'a\\nb\\'\"'");
    }
}
