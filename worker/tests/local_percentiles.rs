//! The one-process mode computes percentiles and medians exactly as Locust does: the same
//! histograms go through Locust's own functions (the pinned Locust in `.venv`, run by Python) and
//! through ours, and every figure must be equal.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use worker::local::aggregate::{Entry, percentile};

const PERCENTS: [f64; 11] = [
    0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0,
];

/// A reproducible pseudo-random generator (no dependency needed for a test).
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

#[test]
fn percentiles_and_medians_equal_locusts_for_the_same_samples() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: scripts/setup.sh installs it",
        python.display()
    );
    let mut seed = 42u64;
    let mut cases = Vec::new();
    for case in 0..200 {
        // Bucketed response times as a worker reports them (Locust's rounding: 1 ms below 100,
        // then 10 ms, then 100 ms), with a min and max inside the extreme buckets.
        let buckets = 1 + lcg(&mut seed) % 12;
        let mut rt = BTreeMap::new();
        for _ in 0..buckets {
            let raw = lcg(&mut seed) % if case % 3 == 0 { 100 } else { 5_000 };
            let b = if raw < 100 {
                raw
            } else if raw < 1000 {
                raw / 10 * 10
            } else {
                raw / 100 * 100
            };
            *rt.entry(b).or_insert(0u64) += 1 + lcg(&mut seed) % 50;
        }
        let n: u64 = rt.values().sum();
        let min = *rt.keys().next().unwrap() as f64 + 0.37;
        let max = *rt.keys().last().unwrap() as f64 - 0.21;
        cases.push((rt, n, min, max.max(min)));
    }
    let json: Vec<serde_json::Value> = cases
        .iter()
        .map(|(rt, n, min, max)| {
            serde_json::json!({"rt": rt.iter().map(|(k, v)| [*k, *v]).collect::<Vec<_>>(),
                               "n": n, "min": min, "max": max})
        })
        .collect();
    let script = r#"
import json, sys
from locust.stats import StatsEntry, RequestStats, calculate_response_time_percentile
cases = json.load(sys.stdin)
out = []
for c in cases:
    e = StatsEntry(RequestStats(), "x", "GET")
    e.response_times = {k: v for k, v in c["rt"]}
    e.num_requests = c["n"]
    e.min_response_time = c["min"]
    e.max_response_time = c["max"]
    ps = [e.get_response_time_percentile(p) for p in [0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]]
    out.append({"p": ps, "median": e.median_response_time})
print(json.dumps(out))
"#;
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&json).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python failed");
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    for ((rt, n, min, max), t) in cases.iter().zip(&theirs) {
        let ours: Vec<u64> = PERCENTS.iter().map(|p| percentile(rt, *n, *p)).collect();
        let locust: Vec<u64> = t["p"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(ours, locust, "percentiles of {rt:?}");
        let e = Entry {
            num_requests: *n,
            response_times: rt.clone(),
            min_response_time: Some(*min),
            max_response_time: *max,
            ..Entry::default()
        };
        assert_eq!(
            e.median(),
            t["median"].as_f64().unwrap(),
            "median of {rt:?}"
        );
    }
}
