//! Command-line interface: fleet mode `worker --etcd-addr E [--port 3000]`, and
//! `worker run PLAN.json --master-host H [--master-port P]`.
//! Every flag also reads an environment variable `LOCUST_HTTP_<FLAG>` (shown in `--help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// locust-http worker: a Locust-compatible load generator for HTTP plans.
///
/// Without a subcommand it joins the fleet: registers in etcd, serves gRPC on --port and runs
/// the plans it is given. `worker run PLAN.json` runs a plan file against a master directly.
#[derive(Debug, Parser)]
#[command(
    name = "worker",
    version,
    about,
    propagate_version = true,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// Log filter (tracing syntax, e.g. `info` or `worker=debug`).
    #[arg(
        long,
        global = true,
        env = "LOCUST_HTTP_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,
    #[command(flatten)]
    pub log_format: contract::process::LogFormatArg,

    /// Threads generating load (0 = one per available CPU). Each is a single-threaded runtime
    /// whose users stay on it, so each thread costs per request what one does.
    #[arg(
        long,
        global = true,
        env = "LOCUST_HTTP_THREADS",
        default_value_t = 0,
        value_name = "N"
    )]
    pub threads: usize,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Fleet mode: membership in etcd and plans over gRPC.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// etcd endpoints, comma-separated (`10.0.0.5:2379,10.0.0.6:2379`).
    #[arg(long, env = "LOCUST_HTTP_ETCD", value_name = "ADDRS", required = true)]
    pub etcd_addr: Option<String>,

    /// This worker's own address, as the bridge should reach it (registered in etcd). Default:
    /// the local address of this host's route to etcd. `--host` is an alias.
    #[arg(
        long,
        visible_alias = "host",
        env = "LOCUST_HTTP_ADVERTISE",
        value_name = "HOST"
    )]
    pub advertise: Option<String>,

    /// This worker's id in etcd (its key is `<prefix><id>`). Default: a fresh unique id per
    /// start, so one command line started N times gives N workers; a given id already held by
    /// another worker is refused.
    #[arg(long, env = "LOCUST_HTTP_WORKER_ID", value_name = "ID")]
    pub id: Option<String>,

    /// gRPC port (0 = any free port).
    #[arg(
        long,
        env = "LOCUST_HTTP_PORT",
        default_value_t = 3000,
        value_name = "PORT"
    )]
    pub port: u16,

    /// Address to listen on (default: --host when it is an IP address, else 0.0.0.0).
    #[arg(long, env = "LOCUST_HTTP_LISTEN", value_name = "IP")]
    pub listen: Option<String>,

    /// etcd key prefix of the fleet.
    #[arg(long, env = "LOCUST_HTTP_ETCD_PREFIX", default_value = contract::etcd::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub etcd_prefix: String,

    /// Lease TTL in seconds: a worker that dies disappears from etcd within it.
    #[arg(long, env = "LOCUST_HTTP_TTL", default_value_t = contract::etcd::DEFAULT_TTL_SECS, value_name = "SECONDS")]
    pub ttl: i64,

    /// Pool label (repeatable), e.g. `--label team=checkout`; in the environment, comma-separated.
    #[arg(long = "label", env = "LOCUST_HTTP_LABELS", value_delimiter = ',', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub labels: Vec<(String, String)>,

    /// The fleet token (at least 16 characters; prefer LOCUST_HTTP_TOKEN or --token-file, a flag
    /// shows in `ps`). Never sent: it signs this worker's etcd record and verifies every call.
    #[arg(
        long,
        env = "LOCUST_HTTP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// A file holding the fleet token (its first line).
    #[arg(
        long,
        env = "LOCUST_HTTP_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "token"
    )]
    pub token_file: Option<PathBuf>,

    /// Run fleet mode with neither a token nor mutual TLS: anyone who can reach the gRPC port
    /// or write to etcd controls this worker. For throw-away local experiments only.
    #[arg(long, env = "LOCUST_HTTP_INSECURE_NO_FLEET_AUTH")]
    pub insecure_no_fleet_auth: bool,

    /// TLS certificate (PEM) for the gRPC service.
    #[arg(
        long,
        env = "LOCUST_HTTP_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,

    /// TLS private key (PEM) for the gRPC service.
    #[arg(
        long,
        env = "LOCUST_HTTP_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,

    /// Require client certificates signed by this CA (PEM).
    #[arg(
        long,
        env = "LOCUST_HTTP_TLS_CLIENT_CA",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<PathBuf>,

    /// Only send requests to hosts matching these patterns (repeatable): `host`, `host:port`,
    /// `*.example.com`, `10.1.*:*`. Plans aiming elsewhere are refused. In the environment,
    /// comma-separated.
    #[arg(
        long = "allow-target",
        env = "LOCUST_HTTP_ALLOW_TARGETS",
        value_delimiter = ',',
        value_name = "PATTERN"
    )]
    pub allow_target: Vec<String>,

    /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. `0.0.0.0:9464`.
    #[arg(long, env = "LOCUST_HTTP_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// At most this many users at once; a larger spawn from the master is scaled down and the
    /// master is told (a Locust exception).
    #[arg(long, env = "LOCUST_HTTP_MAX_USERS", default_value_t = crate::runtime::DEFAULT_MAX_USERS, value_name = "N")]
    pub max_users: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a plan file as a Locust worker of the given master (no etcd, no bridge).
    Run(Box<RunArgs>),
    /// Check plan files as this worker would read them; every wrong field named. Exit 0 when
    /// all are valid, 1 otherwise, 2 when the environment file is unusable.
    Validate(ValidateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// The plan files.
    #[arg(value_name = "PLAN.json", required = true)]
    pub plans: Vec<PathBuf>,
    /// An environment file (ours or a Postman environment) whose variables count as defined.
    #[arg(long, env = "LOCUST_HTTP_ENVIRONMENT", value_name = "FILE")]
    pub environment: Option<PathBuf>,
    /// Set or override a plan variable (repeatable; the environment holds one).
    #[arg(long = "var", env = "LOCUST_HTTP_VAR", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub vars: Vec<(String, String)>,
    /// The verdicts as JSON.
    #[arg(long, env = "LOCUST_HTTP_JSON")]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The plan (JSON) to run.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,

    /// Host of the Locust master.
    #[arg(
        long,
        env = "LOCUST_HTTP_MASTER_HOST",
        default_value = "127.0.0.1",
        value_name = "HOST"
    )]
    pub master_host: String,

    /// Port of the Locust master (its --master-bind-port).
    #[arg(
        long,
        env = "LOCUST_HTTP_MASTER_PORT",
        default_value_t = 5557,
        value_name = "PORT"
    )]
    pub master_port: u16,

    /// Base URL of the system under test, replacing the plan's `host` (a master's `-H` still
    /// wins when it gives one). `--host` is an alias, as in Locust.
    #[arg(
        long,
        visible_alias = "host",
        env = "LOCUST_HTTP_TARGET",
        value_name = "URL"
    )]
    pub target: Option<String>,

    /// Set or override a plan variable (repeatable; the environment holds one).
    #[arg(long = "var", env = "LOCUST_HTTP_VAR", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub vars: Vec<(String, String)>,

    /// Run each transaction once without a master, print every request and response, and exit
    /// non-zero if any step failed.
    #[arg(long, env = "LOCUST_HTTP_ONCE")]
    pub once: bool,
    /// Reset the statistics when the master says spawning is complete, as Locust's
    /// `--reset-stats` (also done when the master itself runs with `--reset-stats`).
    #[arg(long, env = "LOCUST_HTTP_RESET_STATS")]
    pub reset_stats: bool,

    /// Serve Prometheus metrics (`GET /metrics`) on this address, e.g. `0.0.0.0:9464`.
    #[arg(long, env = "LOCUST_HTTP_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<std::net::SocketAddr>,

    /// At most this many users at once; a larger spawn from the master is scaled down and the
    /// master is told (a Locust exception).
    #[arg(long, env = "LOCUST_HTTP_MAX_USERS", default_value_t = crate::runtime::DEFAULT_MAX_USERS, value_name = "N")]
    pub max_users: u32,

    /// Run without a master: this process spawns the users, collects the statistics, prints
    /// Locust's tables and exits with the run's outcome (0 passed, 1 failures, 99 a threshold
    /// breached).
    #[arg(long, env = "LOCUST_HTTP_HEADLESS", conflicts_with = "once")]
    pub headless: bool,

    /// Users to run (`--headless`).
    #[arg(
        short = 'u',
        long = "users",
        env = "LOCUST_HTTP_USERS",
        value_name = "N",
        requires = "headless"
    )]
    pub users: Option<u32>,

    /// Users started per second until `--users` run (`--headless`; default: all at once).
    #[arg(
        short = 'r',
        long = "spawn-rate",
        env = "LOCUST_HTTP_SPAWN_RATE",
        value_name = "R",
        requires = "headless"
    )]
    pub spawn_rate: Option<f64>,

    /// Stop after this long, e.g. `30s`, `5m` (`--headless`; default: until Ctrl-C).
    #[arg(
        short = 't',
        long = "run-time",
        env = "LOCUST_HTTP_RUN_TIME",
        value_name = "DURATION",
        requires = "headless"
    )]
    pub run_time: Option<String>,

    /// A further stage `DURATION:USERS:RATE` after `--run-time` (repeatable, `--headless`),
    /// e.g. `30s:50:5`: ramp to 50 users at 5 per second and hold for 30 s (in the
    /// environment, comma-separated).
    #[arg(long = "stage", env = "LOCUST_HTTP_STAGES", value_delimiter = ',', value_name = "DURATION:USERS:RATE", value_parser = parse_stage, requires = "headless")]
    pub stages: Vec<(String, u32, f64)>,

    /// Write Locust's CSV files (`PREFIX_stats.csv`, `_stats_history.csv`, `_failures.csv`,
    /// `_exceptions.csv`) (`--headless`).
    #[arg(
        long = "csv",
        env = "LOCUST_HTTP_CSV",
        value_name = "PREFIX",
        requires = "headless"
    )]
    pub csv: Option<PathBuf>,

    /// A pass/fail threshold, e.g. `p95<300ms`, `fail_ratio<0.01`, `rps>200` (repeatable,
    /// `--headless`; in the environment, `;`-separated).
    #[arg(
        long = "threshold",
        env = "LOCUST_HTTP_THRESHOLDS",
        value_delimiter = ';',
        value_name = "EXPR",
        requires = "headless"
    )]
    pub thresholds: Vec<String>,

    /// Write the run's summary as JSON (`--headless`).
    #[arg(
        long,
        env = "LOCUST_HTTP_SUMMARY_JSON",
        value_name = "FILE",
        requires = "headless"
    )]
    pub summary_json: Option<PathBuf>,

    /// Write the run's summary as JUnit XML (`--headless`).
    #[arg(
        long,
        env = "LOCUST_HTTP_JUNIT",
        value_name = "FILE",
        requires = "headless"
    )]
    pub junit: Option<PathBuf>,
}

/// Environment variables earlier versions read, and their names now (the old ones are no
/// longer read; `main` warns through `contract::process::renamed_env_warnings`).
pub const RENAMED_ENV: &[(&str, &str)] = &[
    ("WORKER_LOG", "LOCUST_HTTP_LOG"),
    ("WORKER_THREADS", "LOCUST_HTTP_THREADS"),
    ("LOCUST_MASTER_HOST", "LOCUST_HTTP_MASTER_HOST"),
    ("LOCUST_MASTER_PORT", "LOCUST_HTTP_MASTER_PORT"),
];

/// `DURATION:USERS:RATE`, as for `--stage`.
fn parse_stage(s: &str) -> Result<(String, u32, f64), String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [duration, users, rate] = parts.as_slice() else {
        return Err(format!("expected DURATION:USERS:RATE, found {s:?}"));
    };
    let users = users
        .parse()
        .map_err(|_| format!("{users:?} is not a user count"))?;
    let rate = rate
        .parse()
        .map_err(|_| format!("{rate:?} is not a spawn rate"))?;
    Ok((duration.to_string(), users, rate))
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
    fn every_flag_has_a_locust_http_environment_variable() {
        let mut cmd = Cli::command();
        cmd.build();
        let (seen, missing) = contract::process::flags_without_env(&cmd, "LOCUST_HTTP_");
        assert!(seen > 30, "walked {seen} flags");
        assert!(
            missing.is_empty(),
            "flags without LOCUST_HTTP_ env: {missing:?}"
        );
        let help = cmd.render_long_help().to_string();
        assert!(help.contains("[env: LOCUST_HTTP_ETCD="), "{help}");
    }

    #[test]
    fn lists_come_from_the_environment_separated() {
        let cli = Cli::try_parse_from([
            "worker",
            "--etcd-addr",
            "127.0.0.1:2379",
            "--label",
            "team=a,zone=b",
            "--allow-target",
            "a.test,*.b.test",
        ])
        .unwrap();
        assert_eq!(cli.fleet.labels.len(), 2);
        assert_eq!(cli.fleet.allow_target, ["a.test", "*.b.test"]);
        let cli = Cli::try_parse_from([
            "worker",
            "run",
            "p.json",
            "--headless",
            "--threshold",
            "p95{name=a,b}<1s;rps>2",
            "--var",
            "list=1,2",
        ])
        .unwrap();
        let Some(Command::Run(args)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.thresholds, ["p95{name=a,b}<1s", "rps>2"]);
        assert_eq!(args.vars, [("list".to_string(), "1,2".to_string())]);
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
        let Some(Command::Run(args)) = cli.command else {
            panic!("not run")
        };
        assert_eq!((args.master_host.as_str(), args.master_port), ("m", 1));
    }

    #[test]
    fn vars_and_once_parse() {
        let cli = Cli::try_parse_from([
            "worker", "run", "p.json", "--var", "a=1=2", "--var", "b=", "--once",
        ])
        .unwrap();
        let Some(Command::Run(args)) = cli.command else {
            panic!("not run")
        };
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
    fn fleet_mode_needs_etcd_and_host() {
        let cli = Cli::try_parse_from([
            "worker",
            "--etcd-addr",
            "127.0.0.1:2379",
            "--host",
            "127.0.0.1",
            "--label",
            "team=a",
            "--allow-target",
            "*.test",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.fleet.port, 3000);
        assert_eq!(cli.fleet.labels, [("team".to_string(), "a".to_string())]);
        assert!(Cli::try_parse_from(["worker", "--host", "127.0.0.1"]).is_err());
        assert!(Cli::try_parse_from(["worker"]).is_err());
    }

    #[test]
    fn bad_port_is_an_error() {
        assert!(
            Cli::try_parse_from(["worker", "run", "p.json", "--master-port", "70000"]).is_err()
        );
    }
}
