//! Command-line interface of the master-bridge. Every flag also reads an environment variable
//! `LOCUST_HTTP_<FLAG>` (shown in `--help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// locust-http master-bridge: discovers the fleet in etcd, keeps plans, pushes them to
/// workers, drives runs on the Locust master, and serves the REST API.
#[derive(Debug, Parser)]
#[command(name = "master-bridge", version, about, propagate_version = true)]
pub struct Cli {
    /// Log filter (tracing syntax).
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

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Push a plan file to the fleet (all workers, or a pool) and exit.
    Push(PushArgs),
    /// Push a plan file, run it on the master (or on a running bridge with --bridge-url), print
    /// the summary; exit 0 passed, 1 failures, 3 could not run, 99 a threshold breached.
    Run(RunArgs),
    /// Serve a small demo shop to aim plans at.
    DemoTarget(DemoArgs),
    /// `import`, `export` and `validate`: offline, no etcd or master flags needed.
    #[command(flatten)]
    Offline(crate::offline::OfflineCommand),
}

/// How to reach etcd, the master and the workers.
#[derive(Debug, Clone, Args)]
pub struct FleetArgs {
    /// etcd endpoints, comma-separated.
    #[arg(long, env = "LOCUST_HTTP_ETCD", value_name = "ADDRS", global = true)]
    pub etcd_addr: Option<String>,

    /// etcd key prefix of the fleet.
    #[arg(long, env = "LOCUST_HTTP_ETCD_PREFIX", default_value = contract::etcd::DEFAULT_PREFIX, value_name = "PREFIX", global = true)]
    pub etcd_prefix: String,

    /// The Locust master's host, as workers reach it.
    #[arg(
        long,
        env = "LOCUST_HTTP_MASTER_HOST",
        value_name = "HOST",
        global = true
    )]
    pub master_host: Option<String>,

    /// The Locust master's ZeroMQ port.
    #[arg(
        long,
        env = "LOCUST_HTTP_MASTER_PORT",
        default_value_t = 5557,
        value_name = "PORT",
        global = true
    )]
    pub master_port: u16,

    /// The Locust master's web UI (default http://<master-host>:8089).
    #[arg(
        long,
        env = "LOCUST_HTTP_LOCUST_WEB",
        value_name = "URL",
        global = true
    )]
    pub locust_web: Option<String>,

    /// The fleet token the workers were started with (prefer LOCUST_HTTP_TOKEN or
    /// --worker-token-file: a flag shows in `ps`). Never sent: it signs every call and verifies
    /// every worker record.
    #[arg(
        long,
        env = "LOCUST_HTTP_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub worker_token: Option<String>,

    /// A file holding the fleet token (its first line).
    #[arg(
        long,
        env = "LOCUST_HTTP_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "worker_token",
        global = true
    )]
    pub worker_token_file: Option<PathBuf>,

    /// Call workers with neither a fleet token nor a client certificate: any record in etcd is
    /// believed and nothing proves the bridge to the workers. For throw-away experiments only.
    #[arg(long, env = "LOCUST_HTTP_INSECURE_NO_FLEET_AUTH", global = true)]
    pub insecure_no_fleet_auth: bool,

    /// CA (PEM) that signed the workers' TLS certificates.
    #[arg(
        long,
        env = "LOCUST_HTTP_WORKER_TLS_CA",
        value_name = "PEM",
        global = true
    )]
    pub worker_tls_ca: Option<PathBuf>,

    /// Client certificate (PEM) for workers that require one.
    #[arg(
        long,
        env = "LOCUST_HTTP_WORKER_TLS_CERT",
        value_name = "PEM",
        requires = "worker_tls_key",
        global = true
    )]
    pub worker_tls_cert: Option<PathBuf>,

    /// Client key (PEM).
    #[arg(
        long,
        env = "LOCUST_HTTP_WORKER_TLS_KEY",
        value_name = "PEM",
        requires = "worker_tls_cert",
        global = true
    )]
    pub worker_tls_key: Option<PathBuf>,

    /// Name to expect in the workers' certificates (default: their host).
    #[arg(
        long,
        env = "LOCUST_HTTP_WORKER_TLS_DOMAIN",
        value_name = "NAME",
        global = true
    )]
    pub worker_tls_domain: Option<String>,

    /// Where plans, environments and runs are stored.
    #[arg(
        long,
        env = "LOCUST_HTTP_DATA_DIR",
        default_value = "bridge-data",
        value_name = "DIR",
        global = true
    )]
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,

    /// HTTP port of the API (0 = any free port).
    #[arg(
        long,
        env = "LOCUST_HTTP_WEB_PORT",
        default_value_t = 8080,
        value_name = "PORT"
    )]
    pub web_port: u16,

    /// Address the API listens on (loopback by default; any other address needs a web login).
    #[arg(
        long,
        env = "LOCUST_HTTP_WEB_HOST",
        default_value = "127.0.0.1",
        value_name = "IP"
    )]
    pub web_host: String,

    /// Require HTTP basic auth `user:pass` on every route (like Locust's --web-auth). Prefer
    /// the environment variable or --web-auth-file: a flag shows in `ps`.
    #[arg(
        long,
        env = "LOCUST_HTTP_WEB_AUTH",
        value_name = "USER:PASS",
        hide_env_values = true,
        conflicts_with = "web_auth_file"
    )]
    pub web_auth: Option<String>,

    /// Read the `user:pass` of --web-auth from this file (one line).
    #[arg(long, env = "LOCUST_HTTP_WEB_AUTH_FILE", value_name = "FILE")]
    pub web_auth_file: Option<PathBuf>,

    /// Serve the web UI and API on a non-loopback address without any login. Anyone who can
    /// reach the port can then aim the fleet anywhere; for isolated lab networks only.
    #[arg(long, env = "LOCUST_HTTP_INSECURE_WEB_NO_AUTH")]
    pub insecure_web_no_auth: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    /// The plan file.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,

    /// Only workers with this label (repeatable; in the environment, comma-separated).
    #[arg(long = "label", env = "LOCUST_HTTP_PUSH_LABELS", value_delimiter = ',', value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub labels: Vec<(String, String)>,

    /// How long to wait for at least one worker.
    #[arg(
        long,
        env = "LOCUST_HTTP_WAIT",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub wait: String,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub push: PushArgs,

    /// Users (the first phase).
    #[arg(long, short = 'u', env = "LOCUST_HTTP_USERS", value_name = "N")]
    pub users: u32,

    /// Users started per second.
    #[arg(long, short = 'r', env = "LOCUST_HTTP_SPAWN_RATE", value_name = "RATE")]
    pub spawn_rate: f64,

    /// Run time of the first phase (`60s`, `5m`).
    #[arg(
        long,
        short = 't',
        env = "LOCUST_HTTP_RUN_TIME",
        value_name = "DURATION"
    )]
    pub run_time: Option<String>,

    /// A further stage `DURATION:USERS:RATE` (repeatable), e.g. `30s:50:5` (in the
    /// environment, comma-separated).
    #[arg(long = "stage", env = "LOCUST_HTTP_STAGES", value_delimiter = ',', value_name = "DURATION:USERS:RATE", value_parser = parse_stage)]
    pub stages: Vec<crate::runs::Stage>,

    /// A pass/fail threshold on the final statistics (repeatable), k6-style: `p95<300ms`,
    /// `p99{name=login}<1s`, `fail_ratio<0.01`, `rps>200`. Any breach: exit 99. In the
    /// environment, `;`-separated.
    #[arg(
        long = "threshold",
        env = "LOCUST_HTTP_THRESHOLDS",
        value_delimiter = ';',
        value_name = "EXPR"
    )]
    pub thresholds: Vec<String>,

    /// Write the run's summary (outcome, rows, failures, threshold verdicts) as JSON.
    #[arg(long, env = "LOCUST_HTTP_SUMMARY_JSON", value_name = "FILE")]
    pub summary_json: Option<PathBuf>,

    /// Write a JUnit XML report (one test case per threshold and per request row).
    #[arg(long, env = "LOCUST_HTTP_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write the Locust master's HTML report of the run.
    #[arg(long, env = "LOCUST_HTTP_HTML", value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Drive a running bridge over its REST API instead of etcd and the master directly: the
    /// plan is stored there and the run appears in its history (no fleet flags needed).
    #[arg(long, env = "LOCUST_HTTP_BRIDGE_URL", value_name = "URL")]
    pub bridge_url: Option<String>,

    /// The `user:pass` of that bridge's web login, in a file (one line).
    #[arg(
        long = "web-auth-file",
        env = "LOCUST_HTTP_BRIDGE_AUTH_FILE",
        value_name = "FILE",
        requires = "bridge_url"
    )]
    pub bridge_auth_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "LOCUST_HTTP_DEMO_LISTEN",
        default_value = "127.0.0.1",
        value_name = "IP"
    )]
    pub listen: String,
    /// Port to listen on (0 = any free port).
    #[arg(
        long,
        env = "LOCUST_HTTP_DEMO_PORT",
        default_value_t = 8000,
        value_name = "PORT"
    )]
    pub port: u16,
}

/// Environment variables earlier versions read, and their names now (the old ones are no
/// longer read; `main` warns through `contract::process::renamed_env_warnings`).
pub const RENAMED_ENV: &[(&str, &str)] = &[
    ("BRIDGE_LOG", "LOCUST_HTTP_LOG"),
    ("LOCUST_MASTER_HOST", "LOCUST_HTTP_MASTER_HOST"),
    ("LOCUST_MASTER_PORT", "LOCUST_HTTP_MASTER_PORT"),
    ("LOCUST_WEB", "LOCUST_HTTP_LOCUST_WEB"),
    ("BRIDGE_DATA_DIR", "LOCUST_HTTP_DATA_DIR"),
    ("BRIDGE_WEB_PORT", "LOCUST_HTTP_WEB_PORT"),
    ("BRIDGE_WEB_HOST", "LOCUST_HTTP_WEB_HOST"),
    ("BRIDGE_WEB_AUTH", "LOCUST_HTTP_WEB_AUTH"),
    ("BRIDGE_WEB_AUTH_FILE", "LOCUST_HTTP_WEB_AUTH_FILE"),
];

pub fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, found {s:?}")),
    }
}

fn parse_stage(s: &str) -> Result<crate::runs::Stage, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [duration, users, rate] = parts.as_slice() else {
        return Err(format!("expected DURATION:USERS:RATE, found {s:?}"));
    };
    Ok(crate::runs::Stage {
        duration: duration.to_string(),
        users: users
            .parse()
            .map_err(|_| format!("{users:?} is not a user count"))?,
        spawn_rate: rate
            .parse()
            .map_err(|_| format!("{rate:?} is not a spawn rate"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
        assert!(help.contains("[env: LOCUST_HTTP_WEB_PORT="), "{help}");
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "master-bridge",
            "run",
            "p.json",
            "-u",
            "10",
            "-r",
            "5",
            "-t",
            "15s",
            "--stage",
            "30s:50:5",
            "--etcd-addr",
            "127.0.0.1:2379",
            "--master-host",
            "127.0.0.1",
        ])
        .unwrap();
        let Some(Command::Run(r)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.stages[0].users, 50);
        assert!(
            Cli::try_parse_from([
                "master-bridge",
                "run",
                "p.json",
                "--stage",
                "30s:x:5",
                "-u",
                "1",
                "-r",
                "1"
            ])
            .is_err()
        );
    }
}
