//! Command-line interface: `worker run PLAN.json --master-host H [--master-port P]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// locust-http worker: a Locust-compatible load generator for HTTP plans.
#[derive(Debug, Parser)]
#[command(name = "worker", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Log filter (tracing syntax, e.g. `info` or `worker=debug`).
    #[arg(
        long,
        global = true,
        env = "WORKER_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a plan file as a Locust worker of the given master (no etcd, no bridge).
    Run(RunArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The plan (JSON) to run.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,

    /// Host of the Locust master.
    #[arg(
        long,
        env = "LOCUST_MASTER_HOST",
        default_value = "127.0.0.1",
        value_name = "HOST"
    )]
    pub master_host: String,

    /// Port of the Locust master (its --master-bind-port).
    #[arg(
        long,
        env = "LOCUST_MASTER_PORT",
        default_value_t = 5557,
        value_name = "PORT"
    )]
    pub master_port: u16,

    /// Base URL that replaces the plan's `host` (the master's -H still wins when it gives one).
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,

    /// Set or override a plan variable (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub vars: Vec<(String, String)>,

    /// Run each transaction once without a master, print every request and response, and exit
    /// non-zero if any step failed.
    #[arg(long)]
    pub once: bool,
}

/// `KEY=VALUE`, as for `--var`.
pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, found {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_parses_master_flags() {
        let cli = Cli::try_parse_from([
            "worker",
            "run",
            "p.json",
            "--master-host",
            "m",
            "--master-port",
            "1",
        ])
        .unwrap();
        let Command::Run(args) = cli.command;
        assert_eq!((args.master_host.as_str(), args.master_port), ("m", 1));
    }

    #[test]
    fn vars_and_once_parse() {
        let cli = Cli::try_parse_from([
            "worker", "run", "p.json", "--var", "a=1=2", "--var", "b=", "--once",
        ])
        .unwrap();
        let Command::Run(args) = cli.command;
        assert_eq!(
            args.vars,
            [
                ("a".to_string(), "1=2".to_string()),
                ("b".to_string(), String::new())
            ]
        );
        assert!(args.once);
        assert!(Cli::try_parse_from(["worker", "run", "p.json", "--var", "novalue"]).is_err());
    }

    #[test]
    fn bad_port_is_an_error() {
        assert!(
            Cli::try_parse_from(["worker", "run", "p.json", "--master-port", "70000"]).is_err()
        );
    }
}
