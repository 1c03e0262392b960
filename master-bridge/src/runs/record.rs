//! What the bridge keeps of a run besides its final table: the master's numbers sampled every
//! second while it runs, and the master's files when it ends (see [`crate::store::run_data`]).
//! Both are best effort: a master that does not answer leaves a gap, never fails the run.

use std::time::Duration;

use serde_json::{Value, json};

use crate::master::LocustWeb;
use crate::store::Store;

/// How often the master's numbers are sampled while a run goes.
const EVERY: Duration = Duration::from_secs(1);
/// The largest file taken from the master.
const FILE_LIMIT: usize = 32 << 20;

/// The files a run keeps: name, where the master serves it, content type.
pub const RUN_FILES: &[(&str, &str, &str)] = &[
    (
        "stats.csv",
        "/stats/requests/csv",
        "text/csv; charset=utf-8",
    ),
    (
        "failures.csv",
        "/stats/failures/csv",
        "text/csv; charset=utf-8",
    ),
    (
        "exceptions.csv",
        "/exceptions/csv",
        "text/csv; charset=utf-8",
    ),
    ("exceptions.json", "/exceptions", "application/json"),
    (
        "report.html",
        "/stats/report?download=1",
        "text/html; charset=utf-8",
    ),
];

/// Samples the master into the store every second until dropped (it never returns).
pub(super) async fn sample(master: &LocustWeb, store: &Store, run: &str) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Ok(Ok(live)) = tokio::time::timeout(EVERY, master.live()).await else {
            continue;
        };
        if let Some(s) = sample_of(&live)
            && let Err(e) = store.add_sample(run, s).await
        {
            tracing::warn!(run, error = %e, "could not store a sample");
        }
    }
}

/// One sample of the master's `/stats/requests`, while users run.
fn sample_of(live: &Value) -> Option<Value> {
    let state = live["state"].as_str().unwrap_or("");
    if !matches!(state, "running" | "spawning") {
        return None;
    }
    let total = live["stats"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "Aggregated"))
        .cloned()
        .unwrap_or(Value::Null);
    let p = &live["current_response_time_percentiles"];
    let at = crate::store::now();
    Some(json!({
        "at": (at * 1000.0).round() / 1000.0,
        "users": live["user_count"],
        "rps": live["current_rps"],
        "fails": live["current_fail_per_sec"],
        "p50": p["response_time_percentile_0.5"],
        "p95": p["response_time_percentile_0.95"],
        "p99": p["response_time_percentile_0.99"],
        "requests": total["num_requests"],
        "failures": total["num_failures"],
    }))
}

/// Takes the master's files of the run that just ended into the store.
pub(super) async fn keep_files(master: &LocustWeb, store: &Store, run: &str, budget: Duration) {
    for &(name, path, _) in RUN_FILES {
        match tokio::time::timeout(budget, master.file(path, FILE_LIMIT)).await {
            Ok(Ok(body)) => {
                if let Err(e) = store.put_run_file(run, name, body).await {
                    tracing::warn!(run, file = name, error = %e, "could not store a run file");
                }
            }
            Ok(Err(e)) => tracing::warn!(run, file = name, error = %e, "could not take a run file"),
            Err(_) => tracing::warn!(
                run,
                file = name,
                "the master did not send a run file in time"
            ),
        }
    }
}

/// Samples as Locust's `stats_history.csv` columns for the Aggregated row.
pub fn history_csv(samples: &[Value]) -> String {
    let mut out = String::from(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,Total Request Count,Total Failure Count\n",
    );
    let num = |v: &Value| match v {
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    for s in samples {
        let at = s["at"].as_f64().unwrap_or(0.0) as i64;
        out.push_str(&format!(
            "{at},{},,Aggregated,{},{},{},{},{},{},{}\n",
            num(&s["users"]),
            num(&s["rps"]),
            num(&s["fails"]),
            num(&s["p50"]),
            num(&s["p95"]),
            num(&s["p99"]),
            num(&s["requests"]),
            num(&s["failures"]),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_states_are_sampled_and_the_csv_has_a_row_each() {
        let live = json!({"state": "running", "user_count": 4, "current_rps": 12.5, "current_fail_per_sec": 0.0,
            "current_response_time_percentiles": {"response_time_percentile_0.5": 3, "response_time_percentile_0.95": 9, "response_time_percentile_0.99": 11},
            "stats": [{"name": "/", "num_requests": 5}, {"name": "Aggregated", "num_requests": 50, "num_failures": 1}]});
        let s = sample_of(&live).unwrap();
        assert_eq!(s["users"], 4);
        assert_eq!(s["requests"], 50);
        assert_eq!(s["p95"], 9);
        assert!(sample_of(&json!({"state": "stopped"})).is_none());
        let csv = history_csv(&[s]);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[1].ends_with(",4,,Aggregated,12.5,0.0,3,9,11,50,1"),
            "{}",
            lines[1]
        );
    }
}
