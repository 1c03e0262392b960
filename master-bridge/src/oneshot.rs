//! The one-shot commands for CI: `push` (a plan file to the fleet, each worker's result printed)
//! and `run` (push, run on the master, print the master's summary; success only without
//! failures). Their settings are checked before they are called (see [`crate::config`]).

use anyhow::Context;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

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

/// `master-bridge run PLAN.json -u N -r R -t T`: pushes, runs, prints the master's summary.
/// A signal stops the run (recorded `stopped`) and the summary so far is printed.
pub async fn run(cfg: RunConfig, shutdown: CancellationToken) -> anyhow::Result<bool> {
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
    let done = done?;
    print_summary(&done);
    let failures = done
        .stats
        .as_array()
        .and_then(|rows| rows.last())
        .and_then(|agg| agg["num_failures"].as_u64())
        .unwrap_or(0);
    Ok(done.state != RunState::Failed && failures == 0)
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
