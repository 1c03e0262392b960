//! The `worker` binary: parse flags, set up logging and signals, run.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;
use worker::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli: Cli = match contract::process::parse_flags() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    for warning in contract::process::renamed_env_warnings(worker::cli::RENAMED_ENV) {
        eprintln!("{warning}");
    }
    contract::process::init_logging_as(&cli.log, cli.log_format.log_format);
    let threads = match cli.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // The main runtime runs the control plane and the first lane of users; `--threads` adds
    // lanes, each its own single-threaded runtime (see `worker::runtime::lanes`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let _lanes = match worker::runtime::lanes::install(threads) {
            Ok(lanes) => lanes,
            Err(e) => {
                eprintln!("error: cannot start {threads} load threads: {e}");
                return ExitCode::FAILURE;
            }
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(contract::process::cancel_on_signal(shutdown.clone()));
        let result = match cli.command {
            Some(Command::Validate(args)) => return ExitCode::from(worker::run::validate(&args)),
            Some(Command::Run(args)) => match worker::run::run(*args, shutdown).await {
                Ok(code) => return ExitCode::from(code),
                Err(e) => Err(e),
            },
            None => fleet(&cli.fleet, shutdown).await.map(|()| true),
        };
        contract::process::exit_code(result)
    })
}

/// Fleet mode: configuration checked and the port bound before anything starts.
async fn fleet(args: &worker::cli::FleetArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let cfg = worker::fleet::FleetConfig::from_args(args)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    worker::fleet::run(cfg, listener, shutdown).await
}
