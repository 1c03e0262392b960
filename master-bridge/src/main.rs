//! The `master-bridge` binary: parse flags, set up logging and signals, run.

use std::process::ExitCode;

use master_bridge::cli::Cli;
use master_bridge::config::Config;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli: Cli = match contract::process::parse_flags() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    for warning in contract::process::renamed_env_warnings(master_bridge::cli::RENAMED_ENV) {
        eprintln!("{warning}");
    }
    // Every flag, stage and plan file is checked before anything happens.
    let config = match Config::from_cli(cli.command, cli.serve) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let config = match config {
        Config::Offline(cmd) => return master_bridge::offline::run(cmd),
        other => other,
    };
    contract::process::init_logging_as(&cli.log, cli.log_format.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(contract::process::cancel_on_signal(shutdown.clone()));
        let result = match config {
            Config::Serve(cfg) => serve(cfg, shutdown).await.map(|()| true),
            Config::Push(cfg) => master_bridge::oneshot::push(cfg, shutdown).await,
            Config::Run(cfg) => {
                // The run's own exit code: 0 passed, 1 failures, 3 could not run, 99 thresholds.
                return match master_bridge::oneshot::run(*cfg, shutdown).await {
                    Ok(code) => ExitCode::from(code),
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        ExitCode::from(contract::summary::Outcome::CouldNotRun.exit_code())
                    }
                };
            }
            Config::DemoTarget(args) => demo(args, shutdown).await.map(|()| true),
            Config::Offline(_) => Ok(true),
        };
        contract::process::exit_code(result)
    })
}

async fn serve(
    args: master_bridge::config::ServeConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = format!("{}:{}", args.web_host, args.web_port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(what = "http", addr = %listener.local_addr()?, "listening");
    master_bridge::serve(args, listener, shutdown).await
}

async fn demo(
    args: master_bridge::cli::DemoArgs,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = format!("{}:{}", args.listen, args.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(what = "http", addr = %listener.local_addr()?, "listening");
    tracing::info!(%addr, "demo shop serving");
    master_bridge::demo::serve(listener, shutdown).await?;
    Ok(())
}
