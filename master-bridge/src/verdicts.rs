//! Thresholds judged on the master's final statistics as the bridge stores them (one object per
//! row, Locust's field names, `Aggregated` last): the rows as [`RowStats`], the failures table
//! as [`FailureRow`]s, the verdicts and the sentence a breach is recorded with. Pure functions,
//! shared by the run service (verdicts stored on the run) and `master-bridge run`.

use contract::summary::FailureRow;
use contract::threshold::{PERCENTILES, RowStats, Threshold, Verdict};
use serde_json::Value;

/// The master's rows as threshold rows, and the Aggregated row.
pub fn row_stats(stats: &[Value]) -> (Vec<RowStats>, RowStats) {
    let mut rows: Vec<RowStats> = stats
        .iter()
        .map(|r| {
            let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
            let percentile = |fraction: f64| {
                r.as_object()
                    .into_iter()
                    .flatten()
                    .find_map(|(k, v)| {
                        let p: f64 = k.strip_prefix("response_time_percentile_")?.parse().ok()?;
                        ((p - fraction).abs() < 1e-9).then(|| v.as_f64().unwrap_or(0.0))
                    })
                    .unwrap_or(0.0)
            };
            RowStats {
                method: r["method"].as_str().unwrap_or("").to_string(),
                name: r["name"].as_str().unwrap_or("").to_string(),
                requests: r["num_requests"].as_u64().unwrap_or(0),
                failures: r["num_failures"].as_u64().unwrap_or(0),
                median_ms: f("median_response_time"),
                avg_ms: f("avg_response_time"),
                min_ms: f("min_response_time"),
                max_ms: f("max_response_time"),
                rps: f("total_rps"),
                fail_rps: f("total_fail_per_sec"),
                percentiles_ms: PERCENTILES.iter().map(|(_, p)| percentile(*p)).collect(),
            }
        })
        .collect();
    let aggregated = match rows.last() {
        Some(r) if r.name == "Aggregated" => rows.pop().unwrap_or_default(),
        _ => RowStats::default(),
    };
    (rows, aggregated)
}

/// The failures table as rows.
pub fn failure_rows(failures: &[Value]) -> Vec<FailureRow> {
    failures
        .iter()
        .map(|f| FailureRow {
            method: f["method"].as_str().unwrap_or("").to_string(),
            name: f["name"].as_str().unwrap_or("").to_string(),
            error: f["error"].as_str().unwrap_or("").to_string(),
            occurrences: f["occurrences"].as_u64().unwrap_or(0),
        })
        .collect()
}

/// Every threshold's verdict on the final statistics.
pub fn judge(thresholds: &[Threshold], stats: &[Value]) -> Vec<Verdict> {
    let (rows, aggregated) = row_stats(stats);
    thresholds
        .iter()
        .map(|t| t.evaluate(&rows, &aggregated))
        .collect()
}

/// `thresholds breached: ...` naming each breached threshold and by how much, or `None`.
pub fn breached(verdicts: &[Verdict]) -> Option<String> {
    let missed: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(|v| v.message.as_str())
        .collect();
    (!missed.is_empty()).then(|| format!("thresholds breached: {}", missed.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masters_rows_become_threshold_rows() {
        let csv = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n\
                   GET,slow,10,1,5,5.5,1,900,15.0,2.5,0.1,5,6,7,7,8,450,600,800,900,900,900\n\
                   ,Aggregated,10,1,5,5.5,1,900,15.0,2.5,0.1,5,6,7,7,8,450,600,800,900,900,900\n";
        let stats = crate::master::stats_rows(csv);
        let (rows, agg) = row_stats(&stats);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (agg.name.as_str(), agg.requests, agg.failures),
            ("Aggregated", 10, 1)
        );
        assert_eq!(agg.percentiles_ms[5], 450.0, "p95");
        assert_eq!(agg.percentiles_ms[8], 900.0, "p99.9");
        assert_eq!(agg.percentiles_ms[10], 900.0, "p100");
        let t: Threshold = "p95{name=slow}<50ms".parse().unwrap();
        let ok: Threshold = "p95<5s".parse().unwrap();
        let v = judge(&[t, ok], &stats);
        assert!(
            !v[0].passed && v[0].message.contains("by 400ms"),
            "{}",
            v[0].message
        );
        assert!(v[1].passed);
        let why = breached(&v).unwrap();
        assert!(
            why.starts_with("thresholds breached: ") && why.contains("by 400ms"),
            "{why}"
        );
        assert_eq!(breached(&v[1..]), None);
    }
}
