//! locust-http master-bridge: the process people talk to.
//!
//! # Layout
//! Each module uses only modules above it in this list (no cycles).
//! - [`convert`]: Postman (v2.0/v2.1, environments, test scripts), curl and HAR into plans,
//!   and plans into Postman collections (pure functions, no I/O).
//! - [`verdicts`]: thresholds judged on the master's final statistics (pure functions).
//! - [`run_state`]: the run state machine (states, allowed transitions).
//! - [`store`]: SQLite store by resource (`plans`, `environments`, `runs`, `assignments`);
//!   async code reaches it through the blocking pool.
//! - [`fleet`]: discovery of workers in etcd (list, then watch), their live status, gRPC
//!   clients, worker selections.
//! - [`master`]: the Locust master's web API.
//! - [`tally`]: the master's and the workers' counts turned into totals that never go back.
//! - [`pusher`]: pushing plans to workers, and a pool's active plan to workers that join.
//! - [`probe`]: trying a step or transaction once through a worker.
//! - [`runs`]: the run service (one run at a time, its state on a watch channel, run tasks under
//!   the shutdown tree), the run request and one run's course.
//! - [`offline`]: `import`, `export` and `validate`, for CI (no etcd, master or store).
//! - [`cli`]: flags and subcommands (`serve` by default, `push`, `run`, `demo-target`, and the
//!   offline ones).
//! - [`config`]: the flags checked and typed before anything happens (exit 2 on a bad one).
//! - [`state`]: what the HTTP handlers share (handles, no logic).
//! - [`api`]: the REST API and `/metrics` by resource; errors become HTTP responses there.
//! - [`ui`]: the web UI (static files in `ui/`, compiled in) and its helper routes.
//! - [`guard`]: the browser guard (JSON content type and same origin on state changes, loopback
//!   `Host` on a loopback bind).
//! - [`http`]: the HTTP application (API + UI, basic auth, the guard, JSON fallbacks).
//! - [`remote`]: a client of a running bridge's REST API (`master-bridge run --bridge-url`).
//! - [`oneshot`]: the `push` and `run` commands for CI.
//! - [`demo`]: a small shop to aim plans at.
//!
//! This file wires the services together under one shutdown tree and serves them.

pub mod api;
pub mod cli;
pub mod config;
pub mod convert;
pub mod demo;
pub mod fleet;
pub mod guard;
pub mod http;
pub mod master;
pub mod offline;
pub mod oneshot;
pub mod probe;
pub mod pusher;
pub mod remote;
pub mod run_state;
pub mod runs;
pub mod state;
pub mod store;
pub mod tally;
pub mod ui;
pub mod verdicts;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use config::{FleetConfig, ServeConfig};
use fleet::Fleet;
use master::LocustWeb;
use probe::Prober;
use pusher::Pusher;
use runs::Runs;
use state::{AppState, BridgeInfo};
use store::Store;

/// How long runs get to stop the swarm and record themselves at shutdown.
const RUN_GRACE: Duration = Duration::from_secs(15);
/// How long the background tasks get to end at shutdown.
const TASK_GRACE: Duration = Duration::from_secs(2);

/// The bridge's services, running under one token (a child of the process's shutdown token).
#[derive(Debug)]
pub struct Services {
    pub state: AppState,
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// Opens the store and starts discovery, status polling and auto-push.
pub async fn start(cfg: &FleetConfig, shutdown: &CancellationToken) -> anyhow::Result<Services> {
    let store = Store::open(&cfg.data_dir)
        .await
        .with_context(|| format!("cannot open the store in {}", cfg.data_dir.display()))?;
    let stop = shutdown.child_token();
    let fleet = Fleet::new(cfg.worker_auth.clone());
    let master = LocustWeb::new(&cfg.locust_web, None);
    let pusher = Arc::new(Pusher::new(
        store.clone(),
        fleet.clone(),
        cfg.master.clone(),
    ));
    let runs = Runs::new(store.clone(), pusher.clone(), master.clone(), stop.clone());
    let tasks = TaskTracker::new();
    tasks.spawn(fleet::discover(
        cfg.etcd.clone(),
        cfg.etcd_prefix.clone(),
        fleet.clone(),
        stop.clone(),
    ));
    tasks.spawn(fleet::poll_status(fleet.clone(), stop.clone()));
    tasks.spawn(pusher.clone().auto_push(stop.clone()));
    let tally = tally::Tally::new();
    tasks.spawn(tally::collect(
        tally.clone(),
        master.clone(),
        fleet.clone(),
        stop.clone(),
    ));
    tasks.close();
    let state = AppState {
        store,
        prober: Prober::new(fleet.clone()),
        fleet,
        master,
        pusher,
        runs,
        info: Arc::new(BridgeInfo {
            master: cfg.master.clone(),
            etcd: cfg.etcd.clone(),
        }),
        tally,
    };
    Ok(Services { state, stop, tasks })
}

impl Services {
    /// Stops everything: a run in progress stops the swarm and is recorded `stopped` (within a
    /// bounded grace), then the background tasks end.
    pub async fn shutdown(self) {
        self.stop.cancel();
        if !self.state.runs.shutdown(RUN_GRACE).await {
            tracing::warn!(
                "a run did not end within the grace; it is marked failed on the next start"
            );
        }
        let _ = tokio::time::timeout(TASK_GRACE, self.tasks.wait()).await;
    }
}

/// Serves the REST API on `listener` until `shutdown`.
pub async fn serve(
    cfg: ServeConfig,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let loopback_only = addr.ip().is_loopback();
    if !loopback_only && cfg.web_auth.is_none() {
        if !cfg.insecure_web_no_auth {
            anyhow::bail!(
                "refusing to serve on {addr} (not loopback) without a login; set LOCUST_HTTP_WEB_AUTH or --web-auth-file, or pass --insecure-web-no-auth"
            );
        }
        tracing::warn!(
            %addr,
            "--insecure-web-no-auth: serving the web UI and API to the network WITHOUT any login; anyone who reaches this port controls the fleet"
        );
    }
    let services = start(&cfg.fleet, &shutdown).await?;
    tracing::info!(what = "http", %addr, "listening");
    tracing::info!(
        master = %services.state.master.url(),
        data_dir = %cfg.fleet.data_dir.display(),
        web_auth = cfg.web_auth.is_some(),
        "master-bridge serving"
    );
    let app = http::app(
        services.state.clone(),
        cfg.web_auth.clone(),
        guard::Guard { loopback_only },
    );
    let stop = shutdown.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .context("HTTP server");
    services.shutdown().await;
    served
}
