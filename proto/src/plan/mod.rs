//! The plan: what a performance engineer writes and what every worker runs.
//!
//! A plan is a JSON document with a `name`, an optional base URL `host`, variables, an optional
//! data set, optional `setup` steps run once per user, and weighted `transactions`, each an
//! ordered list of HTTP `steps` with templates, extractors and assertions. [`Plan::from_json`] is
//! the only way in: it parses and validates the whole document and reports *every* wrong field
//! with its path (`transactions[1].steps[0].method`), so a bad plan is rejected whole and nothing
//! half-valid ever reaches a worker. The worker and the bridge share this code, so they can never
//! disagree on what is valid. The format is documented in README.md and `proto/plan.schema.json`.
//!
//! A variable is defined when the plan (`variables`), its data set, an extractor, `--var` or the
//! environment selected for the operation defines it; [`CheckOptions`] names what comes from
//! outside the plan and whether a variable nobody defines is an error (Send, push, run) or only
//! reported (saving a draft, as Postman does). [`environment`] reads environment files (ours or
//! Postman's) and [`offline`] checks plan files against one (`validate` subcommands).

pub mod environment;
pub mod offline;
mod validate;

pub use validate::check_base_url;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// Default per-request timeout when a plan names none (as k6 does).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A validated plan. Construct it with [`Plan::from_json`], [`Plan::from_value`] or
/// [`Plan::from_file`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub name: String,
    /// Base URL for relative step URLs (`http(s)://host[:port][/prefix]`). The Locust master's
    /// `-H/--host`, when given, overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Per-request timeout; a request that takes longer is a failure.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Initial values of the plan's variables (`{{name}}` in templates).
    #[serde(skip_serializing_if = "KeyValues::is_empty")]
    pub variables: KeyValues,
    /// Give each user its own cookie jar.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
    /// Wait between transactions (a transaction's own `think_time` wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Cap on requests per second of the whole worker (not per user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rps: Option<f64>,
    /// Also report each multi-step transaction as one row of type `TXN`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub report_transactions: bool,
    /// Rows of data whose columns become variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSet>,
    /// Steps each user runs once when it starts (a login, for instance).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// At least one; names are unique.
    pub transactions: Vec<Transaction>,
}

/// A named, weighted sequence of steps. A simulated user picks transactions by weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    pub name: String,
    /// Relative weight, at least 1.
    pub weight: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// At least one.
    pub steps: Vec<Step>,
}

/// One HTTP request. Reported to Locust as method = HTTP method, name = step name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    pub method: Method,
    /// Absolute (`http(s)://...`) or relative to the plan's host. May hold templates.
    pub url: String,
    #[serde(skip_serializing_if = "KeyValues::is_empty")]
    pub headers: KeyValues,
    #[serde(skip_serializing_if = "KeyValues::is_empty")]
    pub query: KeyValues,
    #[serde(flatten)]
    pub body: Body,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extract: Vec<Extractor>,
    #[serde(rename = "assert", skip_serializing_if = "Vec::is_empty")]
    pub assertions: Vec<Assertion>,
}

/// The request body: at most one of `json`, `body` (raw, with an optional `content_type`), `form`
/// (url-encoded) or `multipart` (form-data, text fields and file parts).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(untagged)]
pub enum Body {
    #[default]
    None,
    Json {
        json: Value,
    },
    Raw {
        body: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
    },
    Form {
        form: KeyValues,
    },
    Multipart {
        #[serde(serialize_with = "ser_parts")]
        multipart: Vec<(String, MultipartPart)>,
    },
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq)]
pub enum MultipartPart {
    /// A text field.
    Text(String),
    /// A file field: its name, its content (text, templates allowed) and content type.
    File {
        file: String,
        content: String,
        content_type: Option<String>,
    },
}

impl Serialize for MultipartPart {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            MultipartPart::Text(t) => s.serialize_str(t),
            MultipartPart::File {
                file,
                content,
                content_type,
            } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("file", file)?;
                m.serialize_entry("content", content)?;
                if let Some(ct) = content_type {
                    m.serialize_entry("content_type", ct)?;
                }
                m.end()
            }
        }
    }
}

/// Serialises `[(name, part)]` as a JSON object.
fn ser_parts<S: serde::Serializer>(
    parts: &[(String, MultipartPart)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(parts.len()))?;
    for (k, v) in parts {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// Saves part of a response into a user variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extractor {
    pub var: String,
    #[serde(flatten)]
    pub source: ExtractSource,
}

/// Where an extractor takes its value from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExtractSource {
    /// The first match of a JSONPath (RFC 9535) on the JSON body; strings are taken as they
    /// are, other values as JSON text.
    Json { json: String },
    /// A capture group (default 1) of the first match of a regex on the body.
    Regex { regex: String, group: usize },
    /// A response header.
    Header { header: String },
    /// The status code.
    Status { status: bool },
}

/// A check on a response; a failed assertion fails the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Assertion {
    /// The status is one of these. Without a status assertion, status >= 400 fails.
    Status {
        #[serde(serialize_with = "ser_statuses")]
        status: Vec<u16>,
    },
    BodyContains {
        body_contains: String,
    },
    JsonExists {
        json: String,
        exists: bool,
    },
    JsonEquals {
        json: String,
        equals: Value,
    },
    HeaderEquals {
        header: String,
        equals: String,
    },
    HeaderContains {
        header: String,
        contains: String,
    },
    ResponseTimeUnder {
        response_time_under_ms: u64,
    },
}

/// Think time between transactions, as Locust's `wait_time` functions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThinkTime {
    /// Always wait this long.
    Constant(Duration),
    /// Wait a uniformly random time in `[min, max]`.
    Between(Duration, Duration),
    /// Start a transaction every this long (waits the rest after the transaction).
    ConstantPacing(Duration),
}

impl Serialize for ThinkTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        match self {
            ThinkTime::Constant(d) => m.serialize_entry("constant", &format_duration(*d))?,
            ThinkTime::Between(a, b) => {
                m.serialize_entry("between", &[format_duration(*a), format_duration(*b)])?
            }
            ThinkTime::ConstantPacing(d) => {
                m.serialize_entry("constant_pacing", &format_duration(*d))?
            }
        }
        m.end()
    }
}

/// A CSV data set; each column becomes a variable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSet {
    /// The CSV text, header row first.
    pub csv: String,
    #[serde(skip)]
    pub columns: Vec<String>,
    /// At least one row, each as long as `columns`.
    #[serde(skip)]
    pub rows: Vec<Vec<String>>,
    pub order: DataOrder,
    pub per: DataPer,
}

/// How users take rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataOrder {
    /// Rows in file order, shared by all users of a worker, wrapping around.
    Sequential,
    /// A random row each time.
    Random,
}

/// When a user takes a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPer {
    /// Once, when the user starts (before `setup`).
    User,
    /// Before every transaction.
    Iteration,
}

/// An ordered list of string pairs, written in JSON as an object (headers, query, form fields).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyValues(pub Vec<(String, String)>);

impl KeyValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Serialize for KeyValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The HTTP methods a step may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Trace,
    Connect,
}

impl Method {
    pub const ALL: [Method; 9] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
        Method::Trace,
        Method::Connect,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
        }
    }

    /// Case-insensitive, as Postman accepts `get` and `GET` alike.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Method {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn ser_statuses<S: serde::Serializer>(v: &[u16], s: S) -> Result<S::Ok, S::Error> {
    match v {
        [one] => s.serialize_u16(*one),
        many => many.serialize(s),
    }
}

/// Formats a duration the way plans write it: `1500ms`, `10s`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Parses `250ms`, `10s`, `2m`, `1h30m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<f64>() {
        return (secs.is_finite() && (0.0..1e9).contains(&secs))
            .then(|| Duration::from_secs_f64(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// One wrong field: where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `transactions[0].steps[1].url`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl FieldError {
    /// `path: message; path: message`, for one-line messages.
    pub fn join(errors: &[FieldError]) -> String {
        join_errors(errors)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What a plan is checked against besides its own definitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckOptions {
    /// Variable names defined outside the plan: the selected environment, `--var`, the values
    /// a Send passes along.
    pub defined: BTreeSet<String>,
    /// Report variables nobody defines in [`Validated::undefined`] instead of rejecting the
    /// plan (saving a draft). Off, they are errors like any other.
    pub allow_undefined: bool,
}

impl CheckOptions {
    /// Undefined variables are errors; `defined` names what the environment and `--var` define.
    pub fn strict<I: IntoIterator<Item = S>, S: Into<String>>(defined: I) -> CheckOptions {
        CheckOptions {
            defined: defined.into_iter().map(Into::into).collect(),
            allow_undefined: false,
        }
    }

    /// Undefined variables are reported, not errors.
    pub fn lenient<I: IntoIterator<Item = S>, S: Into<String>>(defined: I) -> CheckOptions {
        CheckOptions {
            allow_undefined: true,
            ..CheckOptions::strict(defined)
        }
    }
}

/// A valid plan, and the uses of variables nothing defines (only with
/// [`CheckOptions::allow_undefined`]; empty otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub plan: Plan,
    pub undefined: Vec<UndefinedVar>,
}

/// One use of a variable that nothing defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UndefinedVar {
    /// The variable's name (without braces).
    pub name: String,
    /// JSON path of the template that uses it.
    pub path: String,
}

impl UndefinedVar {
    /// The use as a field error (what strict validation reports).
    pub fn field_error(&self) -> FieldError {
        FieldError {
            path: self.path.clone(),
            message: format!(
                "undefined variable {{{{{}}}}}: not a plan variable, data column, extracted value, --var or environment variable",
                self.name
            ),
        }
    }

    /// The distinct names, sorted.
    pub fn names(uses: &[UndefinedVar]) -> Vec<String> {
        let set: BTreeSet<&str> = uses.iter().map(|u| u.name.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }
}

/// Why a plan was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// The text is not JSON at all.
    #[error("plan is not valid JSON: {message} at line {line}, column {column}")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    /// The JSON is not a valid plan; every problem is listed.
    #[error("invalid plan: {}", join_errors(.0))]
    Invalid(Vec<FieldError>),
}

/// Where the `data.file` of the plan at `plan_path` is: a relative path inside the plan's
/// directory (no absolute path, no `..`, no symbolic link leading out), so a plan cannot read
/// the worker's other files. Errors name the rule, never the content.
fn data_file(plan_path: &Path, file: &str) -> Result<std::path::PathBuf, PlanError> {
    use std::path::Component;
    let bad = |message: &str| {
        PlanError::Invalid(vec![FieldError {
            path: "data.file".into(),
            message: message.into(),
        }])
    };
    let rel = Path::new(file);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if file.is_empty() || !plain {
        return Err(bad(
            "must be a relative path inside the plan's directory (no absolute path, no \"..\")",
        ));
    }
    let dir = plan_path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let io = |p: &Path, e: std::io::Error| PlanError::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let base = dir.canonicalize().map_err(|e| io(dir, e))?;
    let joined = dir.join(rel);
    let full = joined.canonicalize().map_err(|e| io(&joined, e))?;
    if !full.starts_with(&base) {
        return Err(bad("leads out of the plan's directory (a symbolic link)"));
    }
    Ok(full)
}

impl PlanError {
    /// Every problem as a field error (a syntax error is one error at the document root).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            PlanError::Invalid(errors) => errors.clone(),
            other => vec![FieldError {
                path: String::new(),
                message: other.to_string(),
            }],
        }
    }
}

fn join_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl Plan {
    /// Parses and validates a plan document; every variable must be defined by the plan itself.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        Plan::from_value(&parse_json(text)?)
    }

    /// Validates an already-parsed JSON value as a plan (every variable defined by the plan).
    pub fn from_value(value: &Value) -> Result<Plan, PlanError> {
        Plan::from_value_with(value, &CheckOptions::default()).map(|v| v.plan)
    }

    /// Parses and validates a plan document, variables also defined by `options`.
    pub fn from_json_with(text: &str, options: &CheckOptions) -> Result<Validated, PlanError> {
        Plan::from_value_with(&parse_json(text)?, options)
    }

    /// Validates an already-parsed JSON value, variables also defined by `options`.
    pub fn from_value_with(value: &Value, options: &CheckOptions) -> Result<Validated, PlanError> {
        validate::plan(value, options)
    }

    /// Reads a plan file: `data.file` is read relative to the plan and inlined, and `overrides`
    /// (`--var KEY=VALUE`) replace or add plan variables, before validation.
    pub fn from_file(path: &Path, overrides: &[(String, String)]) -> Result<Plan, PlanError> {
        Plan::from_file_with(path, overrides, &CheckOptions::default()).map(|v| v.plan)
    }

    /// [`Plan::from_file`], variables also defined by `options` (an environment).
    pub fn from_file_with(
        path: &Path,
        overrides: &[(String, String)],
        options: &CheckOptions,
    ) -> Result<Validated, PlanError> {
        let io = |p: &Path, e: std::io::Error| PlanError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        let mut value = parse_json(&text)?;
        if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut)
            && let Some(Value::String(file)) = data.get("file").cloned()
        {
            let file_path = data_file(path, &file)?;
            let csv = std::fs::read_to_string(&file_path).map_err(|e| io(&file_path, e))?;
            data.remove("file");
            data.insert("csv".into(), Value::String(csv));
        }
        if !overrides.is_empty()
            && let Some(obj) = value.as_object_mut()
        {
            let vars = obj
                .entry("variables")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(vars) = vars.as_object_mut() {
                for (k, v) in overrides {
                    vars.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        Plan::from_value_with(&value, options)
    }

    /// The plan as canonical JSON (what [`Plan::from_json`] accepts back).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Every step, setup first, with its JSON path.
    pub fn steps(&self) -> impl Iterator<Item = (String, &Step)> {
        let setup = self
            .setup
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("setup[{i}]"), s));
        let txns = self.transactions.iter().enumerate().flat_map(|(t, txn)| {
            txn.steps
                .iter()
                .enumerate()
                .map(move |(i, s)| (format!("transactions[{t}].steps[{i}]"), s))
        });
        setup.chain(txns)
    }
}

fn parse_json(text: &str) -> Result<Value, PlanError> {
    serde_json::from_str(text).map_err(|e| PlanError::Syntax {
        message: e
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
        line: e.line(),
        column: e.column(),
    })
}
