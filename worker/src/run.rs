//! `worker run PLAN.json`: load and compile the plan, then serve one Locust master until it
//! says `quit` or the process is told to stop (or, with `--once`, run each transaction once).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use contract::Plan;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::RunArgs;
use crate::engine;
use crate::locust::session::{Session, SessionConfig, SessionStatus, Zmq};
use crate::runtime::{self, Runtime};

/// A plan file that cannot be used; the message names every problem.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {}", describe(.errors))]
pub struct LoadError {
    pub path: String,
    pub errors: Vec<String>,
}

fn describe(errors: &[String]) -> String {
    if errors.len() == 1 {
        errors[0].clone()
    } else {
        format!("{} problems:\n  - {}", errors.len(), errors.join("\n  - "))
    }
}

/// Reads and validates a plan file (`--var` overrides applied, data files inlined).
pub fn load_plan(path: &Path, overrides: &[(String, String)]) -> Result<Plan, LoadError> {
    Plan::from_file(path, overrides).map_err(|e| LoadError {
        path: path.display().to_string(),
        errors: e.field_errors().iter().map(ToString::to_string).collect(),
    })
}

/// Runs the plan against the master until `quit` or `shutdown`; with `--once`, runs every
/// transaction once and prints what happened; with `--headless`, runs the load test without a
/// master. Returns the exit code (`--once`: 1 if a step failed; `--headless`: the run's outcome).
pub async fn run(args: RunArgs, shutdown: CancellationToken) -> anyhow::Result<u8> {
    let local = if args.headless {
        Some(
            crate::local::LocalRun::from_args(&args).map_err(|errors| LoadError {
                path: "--headless".into(),
                errors,
            })?,
        )
    } else {
        None
    };
    let mut plan = load_plan(&args.plan, &args.vars)?;
    if let Some(host) = &args.target {
        contract::plan::check_base_url(host).map_err(|e| LoadError {
            path: "--target".into(),
            errors: vec![e],
        })?;
        plan.host = Some(host.clone());
    }
    let plan = Arc::new(plan);
    let client = engine::http_client(None).context("cannot build the HTTP client")?;
    let not_usable = |e: runtime::CompileError| LoadError {
        path: args.plan.display().to_string(),
        errors: e.field_errors().iter().map(ToString::to_string).collect(),
    };
    if args.once {
        let compiled = runtime::compile_for_probe(&plan, None).map_err(not_usable)?;
        let mut out = std::io::stdout().lock();
        return Ok(u8::from(
            !crate::once::run_once(&compiled, &client, &mut out).await?,
        ));
    }
    let tracker = TaskTracker::new();
    let mut load = Runtime::new(plan.clone(), client, None, tracker.clone()).map_err(not_usable)?;
    load.set_max_users(args.max_users);
    // Ends the process's own tasks (the metrics server) once the run is over.
    let done = shutdown.child_token();
    if let Some(addr) = args.metrics_addr {
        let metrics = crate::metrics::start(addr, &tracker, done.clone())
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        load.set_metrics(metrics);
    }
    if let Some(mut local) = local {
        // The plan's own thresholds count too (they were checked with the plan).
        let own = contract::threshold::parse_all(&plan.thresholds).unwrap_or_default();
        for t in own {
            if !local.thresholds.iter().any(|have| have.source == t.source) {
                local.thresholds.push(t);
            }
        }
        let code = crate::local::run(&plan.name, load, local, shutdown).await;
        done.cancel();
        tracker.close();
        tracker.wait().await;
        return code;
    }
    let master = format!("{}:{}", args.master_host, args.master_port);
    let mut cfg = SessionConfig::new(master.clone(), crate::locust::node::node_id());
    cfg.reset_stats = args.reset_stats;
    tracing::info!(plan = %plan.name, master = %cfg.master, node_id = %cfg.node_id, "starting");
    let connector = Zmq { master };
    let status = Arc::new(tokio::sync::watch::channel(SessionStatus::default()).0);
    let mut session = Session::new(cfg, connector, load, status);
    let exit = session.run(shutdown).await;
    tracing::info!(?exit, "done");
    done.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(0)
}

/// `worker validate PLAN...`: the exit code (0 valid, 1 errors, 2 unusable environment).
pub fn validate(args: &crate::cli::ValidateArgs) -> u8 {
    use contract::plan::offline;
    let reports =
        match offline::validate_files(&args.plans, args.environment.as_deref(), &args.vars) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: --environment: {e}");
                return 2;
            }
        };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&offline::report_json(&reports)).unwrap_or_default()
        );
    } else {
        print!("{}", offline::report_text(&reports));
    }
    u8::from(!reports.iter().all(|r| r.valid))
}
