//! locust-http master-bridge: the process people talk to.
//!
//! # Layout
//! - [`cli`]: flags and subcommands (`serve` by default, `push`, `run`, `demo-target`).
//! - [`fleet`]: discovery of workers in etcd (list, then watch), their live status, gRPC clients.
//! - [`store`]: SQLite store of plans (every version), environments, runs and active plans.
//! - [`master`]: the Locust master's web API.
//! - [`bridge`]: operations shared by the API and the one-shot commands (push, try, runs).
//! - [`runs`]: driving one run through its stages and storing its final statistics.
//! - [`api`]: the REST API and `/metrics` (axum); errors become HTTP responses there.
//! - [`demo`]: a small shop to aim plans at.
//! - [`ui`]: the web UI (static files in `ui/`, compiled in) and its helper routes.

pub mod api;
pub mod bridge;
pub mod cli;
pub mod convert;
pub mod demo;
pub mod fleet;
pub mod master;
pub mod runs;
pub mod store;
pub mod ui;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use bridge::{Bridge, BridgeConfig, Selection};
use cli::{FleetArgs, PushArgs, RunArgs, ServeArgs};
use fleet::{Fleet, WorkerAuth};
use master::LocustWeb;
use store::Store;

/// Everything that runs in the background for a bridge.
struct Running {
    bridge: Arc<Bridge>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: CancellationToken,
}

fn endpoints(args: &FleetArgs) -> anyhow::Result<Vec<String>> {
    let raw = args
        .etcd_addr
        .as_deref()
        .context("--etcd-addr is required")?;
    let eps = contract::etcd::parse_endpoints(raw);
    anyhow::ensure!(!eps.is_empty(), "--etcd-addr names no endpoint");
    Ok(eps)
}

fn worker_auth(args: &FleetArgs) -> anyhow::Result<WorkerAuth> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let tls = match &args.worker_tls_ca {
        Some(ca) => {
            let identity = match (&args.worker_tls_cert, &args.worker_tls_key) {
                (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
                _ => None,
            };
            Some(WorkerAuth::tls_from_pem(
                &read(ca)?,
                identity,
                args.worker_tls_domain.clone(),
            ))
        }
        None => None,
    };
    Ok(WorkerAuth {
        token: args.worker_token.clone().filter(|t| !t.is_empty()),
        tls,
    })
}

/// Opens the store and starts discovery, status polling and auto-push.
fn start(args: &FleetArgs, shutdown: &CancellationToken) -> anyhow::Result<Running> {
    let master_host = args
        .master_host
        .clone()
        .context("--master-host is required")?;
    let web = args
        .locust_web
        .clone()
        .unwrap_or_else(|| format!("http://{}", contract::etcd::address(&master_host, 8089)));
    let store = Store::open(&args.data_dir)
        .with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let fleet = Fleet::new(worker_auth(args)?);
    let bridge = Bridge::new(
        store,
        fleet.clone(),
        LocustWeb::new(&web, None),
        BridgeConfig {
            master_host,
            master_port: args.master_port,
            etcd: endpoints(args)?,
        },
    );
    let stop = shutdown.child_token();
    let tasks = vec![
        tokio::spawn(fleet::discover(
            endpoints(args)?,
            contract::etcd::normalize_prefix(&args.etcd_prefix),
            fleet.clone(),
            stop.clone(),
        )),
        tokio::spawn(fleet::poll_status(fleet, stop.clone())),
        tokio::spawn(bridge.clone().auto_push(stop.clone())),
    ];
    Ok(Running {
        bridge,
        tasks,
        stop,
    })
}

impl Running {
    async fn shutdown(self) {
        self.stop.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
        }
    }
}

/// Serves the REST API on `listener` until `shutdown`.
pub async fn serve(
    args: ServeArgs,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let auth = match &args.web_auth {
        Some(s) => {
            let (user, pass) = s.split_once(':').context("--web-auth must be user:pass")?;
            Some(api::WebAuth {
                user: user.into(),
                pass: pass.into(),
            })
        }
        None => None,
    };
    let running = start(&args.fleet, &shutdown)?;
    tracing::info!(
        addr = %listener.local_addr()?,
        master = %running.bridge.master.url(),
        data_dir = %args.fleet.data_dir.display(),
        web_auth = auth.is_some(),
        "master-bridge serving"
    );
    let app = api::app(running.bridge.clone(), auth);
    let stop = shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("HTTP server")?;
    running.shutdown().await;
    Ok(())
}

async fn load_and_wait(running: &Running, args: &PushArgs) -> anyhow::Result<(String, Selection)> {
    let plan = contract::Plan::from_file(&args.plan, &[]).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}",
            args.plan.display(),
            e.field_errors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&plan.to_json())?;
    let rec = running.bridge.store.create_plan(&plan.name, &value)?;
    let sel = Selection {
        workers: Vec::new(),
        labels: args.labels.iter().cloned().collect(),
    };
    let wait = contract::plan::parse_duration(&args.wait).context("--wait is not a duration")?;
    let deadline = tokio::time::Instant::now() + wait;
    while running.bridge.select(&sel).is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no worker appeared in etcd within {}",
            args.wait
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok((rec.id, sel))
}

/// `master-bridge push PLAN.json`: pushes and prints each worker's result.
pub async fn push(
    fleet_args: FleetArgs,
    args: PushArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<bool> {
    let running = start(&fleet_args, &shutdown)?;
    let (id, sel) = load_and_wait(&running, &args).await?;
    let results = running.bridge.push(&id, &sel, &Default::default()).await?;
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
    running.shutdown().await;
    Ok(results.iter().all(|r| r.ok))
}

/// `master-bridge run PLAN.json -u N -r R -t T`: pushes, runs, prints the master's summary.
pub async fn run(
    fleet_args: FleetArgs,
    args: RunArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<bool> {
    let running = start(&fleet_args, &shutdown)?;
    let (id, sel) = load_and_wait(&running, &args.push).await?;
    let spec = runs::RunSpec {
        plan: id,
        users: args.users,
        spawn_rate: args.spawn_rate,
        run_time: args.run_time.clone(),
        stages: args.stages.clone(),
        labels: sel.labels,
        environment: None,
    };
    spec.phases().map_err(anyhow::Error::msg)?;
    let run = running.bridge.start_run(spec).await?;
    let stopper = {
        let bridge = running.bridge.clone();
        let id = run.id.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            let _ = bridge.stop_run(&id).await;
        })
    };
    let done = running.bridge.wait_run(&run.id).await?;
    stopper.abort();
    print_summary(&done);
    running.shutdown().await;
    let failures = done
        .stats
        .as_array()
        .and_then(|rows| rows.last())
        .and_then(|agg| agg["num_failures"].as_u64())
        .unwrap_or(0);
    Ok(done.state != "failed" && failures == 0)
}

fn print_summary(run: &store::RunRecord) {
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
