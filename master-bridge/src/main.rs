//! The `master-bridge` binary: parse flags, set up logging and signals, run.

use std::process::ExitCode;

use clap::Parser;
use master_bridge::cli::Cli;
use master_bridge::config::Config;
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let text = e.render().to_string();
            // The first paragraph, on one line (it names the missing or wrong flags).
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{}", first.join(" "));
            return ExitCode::from(2);
        }
    };
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(cancel_on_signal(shutdown.clone()));
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
        match result {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
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

/// Cancels `token` on SIGINT or SIGTERM.
async fn cancel_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("signal received, shutting down");
    token.cancel();
}
