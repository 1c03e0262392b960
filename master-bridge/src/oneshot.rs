//! The one-shot commands for CI: `push` (a plan file to the fleet, each worker's result printed)
//! and `run` (push, run on the master, or through a running bridge with `--bridge-url`; print
//! the master's summary with p50/p95/p99, judge the thresholds, write the JSON and JUnit
//! summaries and the master's HTML report). Their settings are checked before they are
//! called (see [`crate::config`]). `run`'s exit code says how it went
//! ([`contract::summary::Outcome`]): 0 passed, 1 failures (no threshold says otherwise), 3 could
//! not run (etcd, master, workers), 99 a threshold breached.

use anyhow::Context;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use contract::summary::{Outcome, RunSummary};
use contract::threshold::RowStats;

use crate::Services;
use crate::config::{FleetConfig, PushConfig, RunConfig, RunTarget};
use crate::fleet::Selection;
use crate::remote::Bridge;
use crate::store::RunRecord;
use crate::verdicts;

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

/// How a run ended, as the store (local) or the bridge's API (remote) records it.
#[derive(Debug, Clone, Default)]
struct Ended {
    id: String,
    state: String,
    error: Option<String>,
    stats: Vec<serde_json::Value>,
    failures: Vec<serde_json::Value>,
    /// Whether the run's thresholds were judged (a breach makes it `failed` with statistics).
    judged: bool,
}

impl Ended {
    fn from_json(run: &serde_json::Value) -> Ended {
        let rows = |k: &str| run[k].as_array().cloned().unwrap_or_default();
        Ended {
            id: run["id"].as_str().unwrap_or("").to_string(),
            state: run["state"].as_str().unwrap_or("").to_string(),
            error: run["error"].as_str().map(str::to_string),
            stats: rows("stats"),
            failures: rows("failures"),
            judged: run["thresholds"].as_array().is_some_and(|v| !v.is_empty()),
        }
    }

    fn from_record(run: &RunRecord) -> Ended {
        Ended::from_json(&serde_json::to_value(run).unwrap_or_default())
    }

    /// Whether the run carried out its load (it may still have failed its thresholds).
    fn completed(&self) -> bool {
        self.state != "failed" || self.judged
    }
}

/// `master-bridge run PLAN.json -u N -r R -t T`: runs the plan on the fleet (or on a running
/// bridge), prints the master's summary, judges the thresholds, writes the summaries and the
/// HTML report, and returns the exit code. A signal stops the run (recorded `stopped`) and the
/// summary so far is printed.
pub async fn run(cfg: RunConfig, shutdown: CancellationToken) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    let plan_name = cfg.plan.name.clone();
    let done = match &cfg.target {
        RunTarget::Fleet(fleet) => on_fleet(&cfg, fleet, &shutdown).await,
        RunTarget::Bridge { url, auth } => on_bridge(&cfg, url, auth.clone(), &shutdown).await,
    };
    let duration = started.elapsed().as_secs_f64();
    let (summary, html) = match done {
        Ok((done, html)) if done.completed() => {
            print_summary(&done);
            let (rows, aggregated) = verdicts::row_stats(&done.stats);
            let verdicts = cfg
                .thresholds
                .iter()
                .map(|t| t.evaluate(&rows, &aggregated))
                .collect();
            let failures = verdicts::failure_rows(&done.failures);
            let summary =
                RunSummary::completed(plan_name, duration, rows, aggregated, failures, verdicts);
            (summary, html)
        }
        Ok((done, html)) => {
            print_summary(&done);
            let error = done.error.unwrap_or_else(|| "the run failed".into());
            (could_not_run(plan_name, duration, error), html)
        }
        Err(e) => (could_not_run(plan_name, duration, format!("{e:#}")), None),
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
    if let (Some(path), Some(html)) = (&cfg.html, html) {
        std::fs::write(path, html).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(summary.exit_code)
}

/// The HTML report when `--html` asks for it; a report that cannot be had is a warning.
async fn report<F, E>(cfg: &RunConfig, fetch: F) -> Option<Vec<u8>>
where
    F: std::future::Future<Output = Result<Vec<u8>, E>>,
    E: std::fmt::Display,
{
    cfg.html.as_ref()?;
    match fetch.await {
        Ok(html) => Some(html),
        Err(e) => {
            tracing::warn!(error = %e, "cannot fetch the master's HTML report");
            None
        }
    }
}

/// Runs with this process's own services (etcd, the workers, the master, a local store).
async fn on_fleet(
    cfg: &RunConfig,
    fleet: &FleetConfig,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Ended, Option<Vec<u8>>)> {
    let services = crate::start(fleet, shutdown).await?;
    let done = async {
        let (id, _) = store_and_wait(&services, &cfg.push_config(fleet), shutdown).await?;
        let mut spec = cfg.spec.clone();
        spec.plan = id;
        let runs = &services.state.runs;
        let run = runs.start(spec).await.context("cannot start the run")?;
        let done = Ended::from_record(&runs.wait(&run.id).await?);
        let html = report(
            cfg,
            services
                .state
                .master
                .report(crate::api::report::REPORT_LIMIT),
        )
        .await;
        anyhow::Ok((done, html))
    }
    .await;
    services.shutdown().await;
    done
}

/// Runs through a running bridge's API, so the run is in its history.
async fn on_bridge(
    cfg: &RunConfig,
    url: &str,
    auth: Option<crate::config::WebAuth>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Ended, Option<Vec<u8>>)> {
    let bridge = Bridge::new(url, auth);
    let plan = bridge.create_plan(&cfg.plan.document).await?;
    bridge
        .wait_for_worker(&cfg.labels, cfg.wait, &cfg.wait_text, shutdown)
        .await?;
    let mut spec = cfg.spec.clone();
    spec.plan = plan;
    let id = bridge
        .start_run(&serde_json::to_value(&spec)?)
        .await
        .context("cannot start the run")?;
    tracing::info!(run = %id, bridge = %url, "run started on the bridge");
    let done = Ended::from_json(&bridge.follow(&id, shutdown).await?);
    let html = report(cfg, bridge.report()).await;
    Ok((done, html))
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

fn print_summary(run: &Ended) {
    println!("run {}: {}", run.id, run.state);
    if let Some(e) = &run.error {
        println!("error: {e}");
    }
    println!(
        "{:<8} {:<40} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s"
    );
    for r in &run.stats {
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
    for f in &run.failures {
        println!(
            "failure: {} {}: {} x{}",
            f["method"].as_str().unwrap_or(""),
            f["name"].as_str().unwrap_or(""),
            f["error"].as_str().unwrap_or(""),
            f["occurrences"]
        );
    }
}
