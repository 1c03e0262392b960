//! The offline subcommands, for CI pipelines: no etcd, no master, no store.
//!
//! - `import FORMAT FILE [--environment ENV]`: the plan JSON on stdout, every note (and every
//!   variable nothing defines) on stderr; exit 0 when a plan came out, 2 on bad input. With
//!   `postman-environment`, the environment (`{"name", "variables"}`) on stdout.
//! - `export [--format postman] PLAN.json`: the Postman v2.1 collection on stdout.
//! - `validate PLAN... [--environment FILE] [--var K=V]... [--json]`: every error with its path;
//!   exit 1 on errors, 0 when every plan is valid, 2 when the environment cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use contract::plan::offline;
use contract::{CheckOptions, Plan, UndefinedVar};
use serde_json::{Value, json};

use crate::convert::{self, Format, ImportOptions};

/// The offline subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum OfflineCommand {
    /// Convert a Postman collection or environment, curl command lines or a HAR recording into
    /// a plan (stdout); what was not carried over goes to stderr.
    Import(ImportArgs),
    /// Print a plan file as a Postman v2.1 collection.
    Export(ExportArgs),
    /// Check plan files offline, their variables also defined by an environment and --var.
    Validate(ValidateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// postman, postman-environment, curl or har.
    #[arg(value_name = "FORMAT", value_parser = parse_format)]
    pub format: Format,
    /// The file to convert (`-` for stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A Postman environment (or ours) to read along with a collection.
    #[arg(long, env = "LOCUST_HTTP_ENVIRONMENT", value_name = "ENV")]
    pub environment: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// What to write: postman (a v2.1 collection), locust (a locustfile for plain Locust) or
    /// curl (one command per step, setup first).
    #[arg(long, env = "LOCUST_HTTP_EXPORT_FORMAT", default_value = "postman", value_parser = ["postman", "locust", "curl"], value_name = "FORMAT")]
    pub format: String,
    /// The plan file.
    #[arg(value_name = "PLAN.json")]
    pub plan: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Plan files.
    #[arg(value_name = "PLAN", required = true)]
    pub plans: Vec<PathBuf>,
    /// An environment file (ours or a Postman environment) whose variables count as defined.
    #[arg(long, env = "LOCUST_HTTP_ENVIRONMENT", value_name = "FILE")]
    pub environment: Option<PathBuf>,
    /// A variable `KEY=VALUE` (repeatable), as the worker's --var.
    #[arg(long = "var", env = "LOCUST_HTTP_VAR", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Print the verdicts as JSON.
    #[arg(long, env = "LOCUST_HTTP_JSON")]
    pub json: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| {
        format!("{s:?} is not a format (expected postman, postman-environment, curl or har)")
    })
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, found {s:?}")),
    }
}

/// Runs an offline subcommand; the exit code is the command's verdict.
pub fn run(cmd: OfflineCommand) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    let code = match cmd {
        OfflineCommand::Import(a) => import(&a, &mut out, &mut err),
        OfflineCommand::Export(a) => export(&a, &mut out, &mut err),
        OfflineCommand::Validate(a) => validate(&a, &mut out, &mut err),
    };
    let _ = out.flush();
    ExitCode::from(code)
}

fn read(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// `import`: 0 when a plan (or an environment) came out, 2 on bad input.
pub fn import(a: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let input = match read(&a.file) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    let environment = match a.environment.as_deref().map(read).transpose() {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    let env_name = environment
        .as_deref()
        .or((a.format == Format::PostmanEnvironment).then_some(input.as_str()))
        .and_then(|t| serde_json::from_str::<Value>(t.trim_start_matches('\u{feff}')).ok())
        .and_then(|v| v.get("name").cloned());
    let imported = match convert::import(a.format, &input, &ImportOptions { environment }) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(err, "error: {}: {e}", a.file.display());
            return 2;
        }
    };
    for n in &imported.notes {
        let _ = writeln!(err, "note: {}: {}", n.item, n.what);
    }
    if imported.plan.is_null() {
        let env = json!({"name": env_name, "variables": imported.environment});
        let _ = writeln!(out, "{}", pretty(&env));
        return 0;
    }
    let options = CheckOptions::lenient(imported.environment.keys().cloned());
    match Plan::from_value_with(&imported.plan, &options) {
        Ok(v) => {
            for u in &v.undefined {
                let _ = writeln!(err, "warning: {}", u.field_error());
            }
            if !v.undefined.is_empty() {
                let names = UndefinedVar::names(&v.undefined);
                let _ = writeln!(
                    err,
                    "warning: define {} in an environment or with --var before running",
                    names.join(", ")
                );
            }
        }
        Err(e) => {
            for f in e.field_errors() {
                let _ = writeln!(err, "warning: the plan needs fixing: {f}");
            }
        }
    }
    let _ = writeln!(out, "{}", pretty(&imported.plan));
    0
}

/// `export`: 0 with the collection (or locustfile, or curl commands) printed, 2 when the plan
/// cannot be read.
pub fn export(a: &ExportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let plan =
        match Plan::from_file_with(&a.plan, &[], &CheckOptions::lenient(Vec::<String>::new())) {
            Ok(v) => v.plan,
            Err(e) => {
                for f in e.field_errors() {
                    let _ = writeln!(err, "error: {}: {f}", a.plan.display());
                }
                return 2;
            }
        };
    match a.format.as_str() {
        "locust" => {
            let _ = write!(out, "{}", convert::locustfile(&plan));
            return 0;
        }
        "curl" => {
            let none = std::collections::BTreeMap::new();
            let setup = plan.setup.iter().map(|s| (None, "setup".to_string(), s));
            let steps = plan
                .transactions
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.steps.iter().map(move |s| (Some(i), t.name.clone(), s)));
            for (txn, place, s) in setup.chain(steps) {
                let _ = writeln!(out, "# {place} / {}", s.name);
                let _ = writeln!(out, "{}\n", convert::curl(&plan, txn, s, &none));
            }
            return 0;
        }
        _ => {}
    }
    let value: Value = match serde_json::from_str(&plan.to_json()) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    match convert::export_postman(&value) {
        Ok(c) => {
            let _ = writeln!(out, "{}", pretty(&c));
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            2
        }
    }
}

/// `validate`: 0 when every plan is valid, 1 on errors, 2 when the environment is unusable.
pub fn validate(a: &ValidateArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let reports = match offline::validate_files(&a.plans, a.environment.as_deref(), &a.vars) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: --environment: {e}");
            return 2;
        }
    };
    if a.json {
        let _ = writeln!(out, "{}", pretty(&offline::report_json(&reports)));
    } else {
        let _ = write!(out, "{}", offline::report_text(&reports));
    }
    if reports.iter().all(|r| r.valid) {
        0
    } else {
        1
    }
}
