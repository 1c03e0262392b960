//! The checked configuration: the command line turned into typed settings before anything
//! happens (no store opened, no plan stored, no connection made). Every flag, stage and plan
//! file is validated here; a [`ConfigError`] is one line, and the binary exits 2 on it like on
//! any other flag error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Command, DemoArgs, FleetArgs, PushArgs, RunArgs, ServeArgs};
use crate::fleet::WorkerAuth;
use crate::pusher::MasterAddress;
use crate::runs::{RunSpec, SpecError};

/// A flag, a stage or a plan file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{flag}: {message}")]
    Invalid { flag: &'static str, message: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {errors}")]
    Plan { path: String, errors: String },
    #[error(transparent)]
    Run(#[from] SpecError),
}

/// `user:pass` for HTTP basic auth on every route.
#[derive(Clone, PartialEq)]
pub struct WebAuth {
    pub user: String,
    pub pass: String,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebAuth({}:<redacted>)", self.user)
    }
}

/// How to reach etcd, the master and the workers, and where to store.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub etcd: Vec<String>,
    pub etcd_prefix: String,
    /// Where workers reach the master's ZeroMQ port.
    pub master: MasterAddress,
    /// The master's web UI.
    pub locust_web: String,
    pub worker_auth: WorkerAuth,
    pub data_dir: PathBuf,
}

/// The server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub fleet: FleetConfig,
    pub web_host: String,
    pub web_port: u16,
    pub web_auth: Option<WebAuth>,
    /// `--insecure-web-no-auth`: a non-loopback bind without a login was asked for explicitly.
    pub insecure_web_no_auth: bool,
}

/// A plan file, read and valid.
#[derive(Debug, Clone)]
pub struct PlanFile {
    pub path: PathBuf,
    pub name: String,
    /// The plan document as the workers take it.
    pub document: serde_json::Value,
}

/// `master-bridge push`.
#[derive(Debug, Clone)]
pub struct PushConfig {
    pub fleet: FleetConfig,
    pub plan: PlanFile,
    pub labels: BTreeMap<String, String>,
    /// How long to wait for at least one worker.
    pub wait: Duration,
    /// `--wait` as given (for messages).
    pub wait_text: String,
}

/// Where `master-bridge run` runs the plan.
#[derive(Debug, Clone)]
pub enum RunTarget {
    /// Directly: etcd, the workers and the master, with a store of its own in `--data-dir`.
    Fleet(Box<FleetConfig>),
    /// Through a running bridge's REST API (`--bridge-url`), so the run is in its history.
    Bridge { url: String, auth: Option<WebAuth> },
}

/// `master-bridge run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: RunTarget,
    pub plan: PlanFile,
    pub labels: BTreeMap<String, String>,
    /// How long to wait for at least one worker.
    pub wait: Duration,
    pub wait_text: String,
    /// The run request (thresholds included); its `plan` is filled in once the plan is stored.
    pub spec: RunSpec,
    /// Judged on the master's final statistics.
    pub thresholds: Vec<contract::threshold::Threshold>,
    pub summary_json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    /// The master's HTML report.
    pub html: Option<PathBuf>,
}

impl RunConfig {
    /// The push part of a run on the fleet.
    pub fn push_config(&self, fleet: &FleetConfig) -> PushConfig {
        PushConfig {
            fleet: fleet.clone(),
            plan: self.plan.clone(),
            labels: self.labels.clone(),
            wait: self.wait,
            wait_text: self.wait_text.clone(),
        }
    }
}

/// What the process is to do.
#[derive(Debug, Clone)]
pub enum Config {
    Serve(ServeConfig),
    Push(PushConfig),
    Run(Box<RunConfig>),
    DemoTarget(DemoArgs),
    /// `import`, `export`, `validate`: nothing to check here, nothing to reach.
    Offline(crate::offline::OfflineCommand),
}

impl Config {
    /// Checks everything the command line says (reads the TLS and plan files).
    pub fn from_cli(command: Option<Command>, serve: ServeArgs) -> Result<Config, ConfigError> {
        Ok(match command {
            None => Config::Serve(serve_config(&serve)?),
            Some(Command::Push(args)) => Config::Push(push_config(&serve.fleet, &args)?),
            Some(Command::Run(args)) => Config::Run(Box::new(run_config(&serve.fleet, &args)?)),
            Some(Command::DemoTarget(args)) => Config::DemoTarget(args),
            Some(Command::Offline(cmd)) => Config::Offline(cmd),
        })
    }
}

fn invalid(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        flag,
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// The fleet key from the token (flag, environment or file), if one is given.
fn fleet_key(
    args: &FleetArgs,
) -> Result<Option<std::sync::Arc<contract::auth::FleetKey>>, ConfigError> {
    let token = match (&args.worker_token, &args.worker_token_file) {
        (Some(t), _) => Some(t.trim().to_string()),
        (None, Some(path)) => {
            let text = String::from_utf8_lossy(&read(path)?).into_owned();
            Some(text.lines().next().unwrap_or_default().trim().to_string())
        }
        (None, None) => None,
    };
    match token.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => contract::auth::FleetKey::from_secret(t.as_bytes())
            .map(|k| Some(std::sync::Arc::new(k)))
            .map_err(|e| invalid("--worker-token", e.to_string())),
    }
}

pub fn fleet_config(args: &FleetArgs) -> Result<FleetConfig, ConfigError> {
    let raw = args
        .etcd_addr
        .as_deref()
        .ok_or(ConfigError::Missing("--etcd-addr"))?;
    let etcd = contract::etcd::parse_endpoints(raw);
    if etcd.is_empty() {
        return Err(invalid("--etcd-addr", "names no endpoint"));
    }
    let master_host = args
        .master_host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .ok_or(ConfigError::Missing("--master-host"))?;
    let locust_web = args
        .locust_web
        .clone()
        .unwrap_or_else(|| format!("http://{}", contract::etcd::address(&master_host, 8089)));
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
    let key = fleet_key(args)?;
    let client_cert = args.worker_tls_cert.is_some();
    if key.is_none() && !client_cert {
        if !args.insecure_no_fleet_auth {
            return Err(ConfigError::Missing(
                "a fleet token (LOCUST_HTTP_TOKEN or --worker-token-file), or mutual TLS (--worker-tls-ca with --worker-tls-cert/--worker-tls-key), or --insecure-no-fleet-auth",
            ));
        }
        tracing::warn!(
            "--insecure-no-fleet-auth: worker records are not verified and calls to workers are not signed"
        );
    }
    Ok(FleetConfig {
        etcd,
        etcd_prefix: contract::etcd::normalize_prefix(&args.etcd_prefix),
        master: MasterAddress {
            host: master_host,
            port: args.master_port,
        },
        locust_web,
        worker_auth: WorkerAuth { key, tls },
        data_dir: args.data_dir.clone(),
    })
}

/// `user:pass` from a flag or a file (its first line), checked.
fn web_auth(
    value: Option<&String>,
    file: Option<&PathBuf>,
) -> Result<Option<WebAuth>, ConfigError> {
    let (flag, text) = match (value, file) {
        (Some(s), _) => ("--web-auth", Some(s.clone())),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            (
                "--web-auth-file",
                Some(text.trim_end_matches(['\r', '\n']).to_string()),
            )
        }
        (None, None) => ("--web-auth", None),
    };
    let web_auth = match text {
        Some(s) => {
            let (user, pass) = s
                .split_once(':')
                .ok_or_else(|| invalid(flag, "must be user:pass"))?;
            if pass.is_empty() {
                return Err(invalid(flag, "the password is empty"));
            }
            Some(WebAuth {
                user: user.into(),
                pass: pass.into(),
            })
        }
        None => None,
    };
    Ok(web_auth)
}

pub fn serve_config(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
    let web_auth = web_auth(args.web_auth.as_ref(), args.web_auth_file.as_ref())?;
    if web_auth.is_none() && !args.insecure_web_no_auth && !is_loopback_host(&args.web_host) {
        return Err(invalid(
            "--web-host",
            format!(
                "{} is not a loopback address; set a login (LOCUST_HTTP_WEB_AUTH or --web-auth-file) or pass --insecure-web-no-auth",
                args.web_host
            ),
        ));
    }
    Ok(ServeConfig {
        fleet: fleet_config(&args.fleet)?,
        web_host: args.web_host.clone(),
        web_port: args.web_port,
        web_auth,
        insecure_web_no_auth: args.insecure_web_no_auth,
    })
}

/// Whether `--web-host` names the loopback interface (an IP literal, or `localhost`).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Reads and validates a plan file with the workers' own rules.
pub fn plan_file(path: &Path) -> Result<PlanFile, ConfigError> {
    let plan = contract::Plan::from_file(path, &[]).map_err(|e| ConfigError::Plan {
        path: path.display().to_string(),
        errors: e
            .field_errors()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })?;
    let document = serde_json::from_str(&plan.to_json()).map_err(|e| ConfigError::Plan {
        path: path.display().to_string(),
        errors: e.to_string(),
    })?;
    Ok(PlanFile {
        path: path.to_path_buf(),
        name: plan.name,
        document,
    })
}

fn parse_wait(text: &str) -> Result<Duration, ConfigError> {
    contract::plan::parse_duration(text).ok_or_else(|| {
        invalid(
            "--wait",
            format!("{text:?} is not a duration such as \"30s\" or \"2m\""),
        )
    })
}

pub fn push_config(fleet: &FleetArgs, args: &PushArgs) -> Result<PushConfig, ConfigError> {
    let wait = parse_wait(&args.wait)?;
    let fleet = fleet_config(fleet)?;
    Ok(PushConfig {
        plan: plan_file(&args.plan)?,
        fleet,
        labels: args.labels.iter().cloned().collect(),
        wait,
        wait_text: args.wait.clone(),
    })
}

pub fn run_config(fleet: &FleetArgs, args: &RunArgs) -> Result<RunConfig, ConfigError> {
    let plan = plan_file(&args.push.plan)?;
    // The command line's thresholds, then the plan's own.
    let mut exprs = args.thresholds.clone();
    for t in plan.document["thresholds"].as_array().into_iter().flatten() {
        if let Some(t) = t.as_str().filter(|t| !exprs.iter().any(|e| e == t)) {
            exprs.push(t.to_string());
        }
    }
    let spec = RunSpec {
        plan: String::new(),
        users: args.users,
        spawn_rate: args.spawn_rate,
        run_time: args.run_time.clone(),
        stages: args.stages.clone(),
        labels: args.push.labels.iter().cloned().collect(),
        environment: None,
        thresholds: exprs.clone(),
    };
    let thresholds = contract::threshold::parse_all(&exprs).map_err(|errors| {
        invalid(
            "--threshold",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    spec.phases()?;
    let wait = parse_wait(&args.push.wait)?;
    let target = match &args.bridge_url {
        Some(url) => {
            let parsed =
                url::Url::parse(url).map_err(|e| invalid("--bridge-url", e.to_string()))?;
            if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
                return Err(invalid("--bridge-url", "must be an http(s):// URL"));
            }
            RunTarget::Bridge {
                url: url.trim_end_matches('/').to_string(),
                auth: web_auth(None, args.bridge_auth_file.as_ref())?,
            }
        }
        None => RunTarget::Fleet(Box::new(fleet_config(fleet)?)),
    };
    Ok(RunConfig {
        target,
        plan,
        labels: args.push.labels.iter().cloned().collect(),
        wait,
        wait_text: args.push.wait.clone(),
        spec,
        thresholds,
        summary_json: args.summary_json.clone(),
        junit: args.junit.clone(),
        html: args.html.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(args).expect("clap accepts it");
        Config::from_cli(cli.command, cli.serve)
    }

    fn plan_in(dir: &Path) -> String {
        let path = dir.join("p.json");
        std::fs::write(
            &path,
            r#"{"name": "p", "host": "http://h", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#,
        )
        .unwrap();
        path.display().to_string()
    }

    const FLEET: [&str; 6] = [
        "--etcd-addr",
        "127.0.0.1:2379",
        "--master-host",
        "127.0.0.1",
        "--worker-token",
        "a-fleet-token-of-32-characters!!",
    ];

    #[test]
    fn bad_flags_fail_with_one_line_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_in(dir.path());
        let data = dir.path().join("data");
        let data = data.to_str().unwrap();
        let cases: [(&[&str], &str); 6] = [
            (
                &["push", &plan, "--wait", "soon", "--data-dir", data],
                "--wait: \"soon\" is not a duration",
            ),
            (
                &["push", &plan, "--master-host", "h"],
                "--etcd-addr is required",
            ),
            (
                &["push", &plan, "--etcd-addr", "e"],
                "--master-host is required",
            ),
            (&["push", "/nonexistent/p.json"], "/nonexistent/p.json"),
            (
                &["run", &plan, "-u", "1", "-r", "0"],
                "spawn_rate must be above 0",
            ),
            (&["--web-auth", "nocolon"], "--web-auth: must be user:pass"),
        ];
        for (args, want) in cases {
            let mut argv = vec!["master-bridge"];
            argv.extend_from_slice(args);
            if !args.contains(&"--master-host") && !args.contains(&"--etcd-addr") {
                argv.extend_from_slice(&FLEET);
            }
            let err = config(&argv).unwrap_err().to_string();
            assert!(err.contains(want), "{argv:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        assert!(!Path::new(data).exists(), "nothing may be created");
    }

    #[test]
    fn a_bad_stage_or_plan_file_is_refused_before_anything_starts() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_in(dir.path());
        let mut argv = vec!["master-bridge", "run", &plan, "-u", "1", "-r", "1"];
        argv.extend_from_slice(&["--stage", "soon:5:1"]);
        argv.extend_from_slice(&FLEET);
        let err = config(&argv).unwrap_err().to_string();
        assert!(err.contains("stages[0].duration"), "{err}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"name": "", "transactions": []}"#).unwrap();
        let bad = bad.display().to_string();
        let mut argv = vec!["master-bridge", "push", &bad];
        argv.extend_from_slice(&FLEET);
        let err = config(&argv).unwrap_err();
        assert!(matches!(err, ConfigError::Plan { .. }), "{err}");
    }

    #[test]
    fn fleet_commands_need_credentials_or_the_insecure_flag() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_in(dir.path());
        let base = [
            "master-bridge",
            "push",
            &plan,
            "--etcd-addr",
            "e:1",
            "--master-host",
            "m",
        ];
        let err = config(&base).unwrap_err().to_string();
        assert!(err.contains("--insecure-no-fleet-auth"), "{err}");
        let mut weak = base.to_vec();
        weak.extend_from_slice(&["--worker-token", "short"]);
        assert!(
            config(&weak)
                .unwrap_err()
                .to_string()
                .contains("at least 16")
        );
        let mut insecure = base.to_vec();
        insecure.push("--insecure-no-fleet-auth");
        assert!(config(&insecure).is_ok());
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "a-fleet-token-of-32-characters!!\n").unwrap();
        let token_file = token_file.display().to_string();
        let mut from_file = base.to_vec();
        from_file.extend_from_slice(&["--worker-token-file", &token_file]);
        let Config::Push(push) = config(&from_file).unwrap() else {
            panic!("not a push")
        };
        assert!(push.fleet.worker_auth.key.is_some());
    }

    #[test]
    fn good_flags_become_typed_settings() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_in(dir.path());
        let mut argv = vec![
            "master-bridge",
            "run",
            &plan,
            "-u",
            "4",
            "-r",
            "2",
            "-t",
            "5s",
        ];
        argv.extend_from_slice(&["--label", "team=a", "--wait", "2m", "--stage", "3s:6:2"]);
        argv.extend_from_slice(&FLEET);
        let Config::Run(run) = config(&argv).unwrap() else {
            panic!("not a run")
        };
        assert_eq!(run.wait, Duration::from_secs(120));
        assert_eq!(run.plan.name, "p");
        assert_eq!(run.labels["team"], "a");
        assert_eq!(run.spec.labels["team"], "a");
        assert_eq!(run.spec.phases().unwrap().len(), 2);
        let RunTarget::Fleet(fleet) = &run.target else {
            panic!("not on the fleet")
        };
        assert_eq!(fleet.master.port, 5557);
        assert_eq!(fleet.locust_web, "http://127.0.0.1:8089");
        let auth = dir.path().join("auth");
        std::fs::write(&auth, "ci:pw\n").unwrap();
        let Config::Run(remote) = config(&[
            "master-bridge",
            "run",
            &plan,
            "-u",
            "1",
            "-r",
            "1",
            "--threshold",
            "p95<5s",
            "--bridge-url",
            "http://127.0.0.1:9/",
            "--web-auth-file",
            auth.to_str().unwrap(),
        ])
        .unwrap() else {
            panic!("not a run")
        };
        let RunTarget::Bridge { url, auth } = &remote.target else {
            panic!("not through a bridge")
        };
        assert_eq!(url, "http://127.0.0.1:9");
        assert_eq!(auth.as_ref().unwrap().user, "ci");
        assert_eq!(remote.spec.thresholds, ["p95<5s"]);
        let err = config(&[
            "master-bridge",
            "run",
            &plan,
            "-u",
            "1",
            "-r",
            "1",
            "--bridge-url",
            "ftp://x",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("--bridge-url: "), "{err}");
        let Config::Serve(serve) = config(&[
            "master-bridge",
            "--web-auth",
            "u:p:q",
            FLEET[0],
            FLEET[1],
            FLEET[2],
            FLEET[3],
            FLEET[4],
            FLEET[5],
        ])
        .unwrap() else {
            panic!("not serve")
        };
        assert_eq!(
            serve.web_auth,
            Some(WebAuth {
                user: "u".into(),
                pass: "p:q".into()
            })
        );
    }
}

#[cfg(test)]
mod web_tests {
    use super::*;
    use clap::Parser;

    fn serve(args: &[&str]) -> Result<ServeConfig, ConfigError> {
        let mut argv = vec![
            "master-bridge",
            "--etcd-addr",
            "e:2379",
            "--master-host",
            "m",
            "--worker-token",
            "a-fleet-token-of-32-characters!!",
        ];
        argv.extend_from_slice(args);
        let cli = crate::cli::Cli::try_parse_from(argv).unwrap();
        serve_config(&cli.serve)
    }

    #[test]
    fn the_web_side_binds_loopback_and_needs_a_login_elsewhere() {
        let cfg = serve(&[]).unwrap();
        assert_eq!(cfg.web_host, "127.0.0.1");
        assert!(cfg.web_auth.is_none());
        for host in ["localhost", "::1", "[::1]", "127.0.0.5"] {
            assert!(serve(&["--web-host", host]).is_ok(), "{host}");
        }
        for host in ["0.0.0.0", "::", "10.1.2.3", "bridge.corp"] {
            let err = serve(&["--web-host", host]).unwrap_err().to_string();
            assert!(err.starts_with("--web-host: "), "{err}");
            assert!(err.contains("--insecure-web-no-auth"), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let cfg = serve(&["--web-host", "0.0.0.0", "--insecure-web-no-auth"]).unwrap();
        assert!(cfg.insecure_web_no_auth && cfg.web_auth.is_none());
        let cfg = serve(&["--web-host", "0.0.0.0", "--web-auth", "u:p"]).unwrap();
        assert_eq!(cfg.web_auth.unwrap().pass, "p");
        let err = serve(&["--web-auth", "u:"]).unwrap_err().to_string();
        assert_eq!(err, "--web-auth: the password is empty");
    }

    #[test]
    fn the_login_can_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth");
        std::fs::write(&file, "admin:s3cr:et\n").unwrap();
        let file = file.to_str().unwrap();
        let cfg = serve(&["--web-host", "0.0.0.0", "--web-auth-file", file]).unwrap();
        assert_eq!(
            cfg.web_auth,
            Some(WebAuth {
                user: "admin".into(),
                pass: "s3cr:et".into()
            })
        );
        let missing = dir.path().join("none");
        let err = serve(&["--web-auth-file", missing.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("cannot read "), "{err}");
        std::fs::write(dir.path().join("bad"), "nocolon\n").unwrap();
        let bad = dir.path().join("bad");
        let err = serve(&["--web-auth-file", bad.to_str().unwrap()])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "--web-auth-file: must be user:pass");
        let both = crate::cli::Cli::try_parse_from([
            "master-bridge",
            "--web-auth",
            "u:p",
            "--web-auth-file",
            file,
        ]);
        assert!(both.is_err(), "the flag and the file are exclusive");
    }
}
