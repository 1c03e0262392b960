//! The one-shot commands for CI: `push` (a plan file to the fleet, each worker's result printed)
//! and `run` (push, run on the master, print the master's summary with p50/p95/p99, judge the
//! thresholds, write the JSON and JUnit summaries). Their settings are checked before they are
//! called (see [`crate::config`]). `run`'s exit code says how it went
//! ([`contract::summary::Outcome`]): 0 passed, 1 failures (no threshold says otherwise), 3 could
//! not run (etcd, master, workers), 99 a threshold breached.

use anyhow::Context;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use contract::summary::{FailureRow, Outcome, RunSummary};
use contract::threshold::{PERCENTILES, RowStats};

use crate::Services;
use crate::config::{PushConfig, RunConfig};
use crate::fleet::Selection;
use crate::run_state::RunState;
use crate::store::RunRecord;

/// Stores the plan and waits (up to `--wait`) for at least one selected worker.
async fn store_and_wait(
    services: &Services,
    cfg: &PushConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<(String, Selection)> {
    let s = &services.state;
    let rec = s
        .store
        .create_plan(&cfg.plan.name, &cfg.plan.document)
        .await?;
    let sel = Selection::pool(cfg.labels.clone());
    let mut events = s.fleet.subscribe();
    let deadline = tokio::time::Instant::now() + cfg.wait;
    while s.fleet.select(&sel).is_empty() {
        let event = tokio::select! {
            () = shutdown.cancelled() => anyhow::bail!("interrupted while waiting for a worker"),
            e = tokio::time::timeout_at(deadline, events.recv()) => e,
        };
        match event {
            Err(_) => anyhow::bail!("no worker appeared in etcd within {}", cfg.wait_text),
            Ok(Err(broadcast::error::RecvError::Closed)) => anyhow::bail!("the fleet stopped"),
            Ok(_) => {}
        }
    }
    Ok((rec.id, sel))
}

/// `master-bridge push PLAN.json`: pushes and prints each worker's result.
pub async fn push(cfg: PushConfig, shutdown: CancellationToken) -> anyhow::Result<bool> {
    let services = crate::start(&cfg.fleet, &shutdown).await?;
    let pushed = async {
        let (id, sel) = store_and_wait(&services, &cfg, &shutdown).await?;
        let results = services
            .state
            .pusher
            .push(&id, &sel, &Default::default())
            .await?;
        anyhow::Ok(results)
    }
    .await;
    services.shutdown().await;
    let results = pushed?;
    for r in &results {
        match &r.error {
            None => println!(
                "{}  ok  plan version {}{}",
                r.address,
                r.plan_version,
                if r.changed { "" } else { " (unchanged)" }
            ),
            Some(e) => println!("{}  FAILED  {e}", r.address),
        }
    }
    Ok(results.iter().all(|r| r.ok))
}

/// `master-bridge run PLAN.json -u N -r R -t T`: pushes, runs, prints the master's summary,
/// judges the thresholds and returns the exit code. A signal stops the run (recorded `stopped`)
/// and the summary so far is printed.
pub async fn run(cfg: RunConfig, shutdown: CancellationToken) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let plan_name = cfg.push.plan.name.clone();
    let done = async {
        let services = crate::start(&cfg.push.fleet, &shutdown).await?;
        let done = async {
            let (id, _) = store_and_wait(&services, &cfg.push, &shutdown).await?;
            let mut spec = cfg.spec.clone();
            spec.plan = id;
            let runs = &services.state.runs;
            let run = runs.start(spec).await.context("cannot start the run")?;
            anyhow::Ok(runs.wait(&run.id).await?)
        }
        .await;
        services.shutdown().await;
        done
    }
    .await;
    let duration = started.elapsed().as_secs_f64();
    let summary = match done {
        Ok(done) if done.state != RunState::Failed => {
            print_summary(&done);
            let (rows, aggregated) = row_stats(&done.stats);
            let verdicts = cfg
                .thresholds
                .iter()
                .map(|t| t.evaluate(&rows, &aggregated))
                .collect();
            let failures = failure_rows(&done.failures);
            RunSummary::completed(plan_name, duration, rows, aggregated, failures, verdicts)
        }
        Ok(done) => {
            print_summary(&done);
            could_not_run(
                plan_name,
                duration,
                done.error.unwrap_or_else(|| "the run failed".into()),
            )
        }
        Err(e) => could_not_run(plan_name, duration, format!("{e:#}")),
    };
    println!("{}", summary.to_text());
    if let Some(path) = &cfg.summary_json {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &cfg.junit {
        std::fs::write(path, summary.to_junit())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(summary.exit_code)
}

fn could_not_run(plan: String, duration: f64, error: String) -> RunSummary {
    let outcome = Outcome::CouldNotRun;
    RunSummary {
        plan,
        outcome,
        exit_code: outcome.exit_code(),
        duration_secs: duration,
        rows: Vec::new(),
        aggregated: RowStats::default(),
        failures: Vec::new(),
        thresholds: Vec::new(),
        error: Some(error),
    }
}

/// The master's rows (Locust's field names, as stored with the run) as threshold rows; the last
/// one is "Aggregated".
fn row_stats(stats: &serde_json::Value) -> (Vec<RowStats>, RowStats) {
    let mut rows: Vec<RowStats> = stats
        .as_array()
        .into_iter()
        .flatten()
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

fn failure_rows(failures: &serde_json::Value) -> Vec<FailureRow> {
    failures
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| FailureRow {
            method: f["method"].as_str().unwrap_or("").to_string(),
            name: f["name"].as_str().unwrap_or("").to_string(),
            error: f["error"].as_str().unwrap_or("").to_string(),
            occurrences: f["occurrences"].as_u64().unwrap_or(0),
        })
        .collect()
}

fn print_summary(run: &RunRecord) {
    println!("run {}: {}", run.id, run.state);
    if let Some(e) = &run.error {
        println!("error: {e}");
    }
    println!(
        "{:<8} {:<40} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s"
    );
    for r in run.stats.as_array().into_iter().flatten() {
        let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
        println!(
            "{:<8} {:<40} {:>9} {:>8} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>9.2}",
            r["method"].as_str().unwrap_or(""),
            r["name"].as_str().unwrap_or(""),
            num("num_requests"),
            num("num_failures"),
            num("avg_response_time"),
            num("min_response_time"),
            num("max_response_time"),
            num("median_response_time"),
            num("total_rps"),
        );
    }
    for f in run.failures.as_array().into_iter().flatten() {
        println!(
            "failure: {} {}: {} x{}",
            f["method"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or(""),
            f["error"].as_str().unwrap_or(""),
            f["occurrences"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_masters_rows_become_threshold_rows() {
        let csv = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n\
                   GET,slow,10,1,5,5.5,1,900,15.0,2.5,0.1,5,6,7,7,8,450,600,800,900,900,900\n\
                   ,Aggregated,10,1,5,5.5,1,900,15.0,2.5,0.1,5,6,7,7,8,450,600,800,900,900,900\n";
        let stats = serde_json::Value::Array(crate::master::stats_rows(csv));
        let (rows, agg) = row_stats(&stats);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (agg.name.as_str(), agg.requests, agg.failures),
            ("Aggregated", 10, 1)
        );
        assert_eq!(agg.percentiles_ms[5], 450.0, "p95");
        assert_eq!(agg.percentiles_ms[8], 900.0, "p99.9");
        assert_eq!(agg.percentiles_ms[10], 900.0, "p100");
        let t: contract::threshold::Threshold = "p95{name=slow}<50ms".parse().unwrap();
        let v = t.evaluate(&rows, &agg);
        assert!(!v.passed && v.message.contains("by 400ms"), "{}", v.message);
    }
}
