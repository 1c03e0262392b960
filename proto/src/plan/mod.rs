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

mod auth;
mod duration;
pub mod environment;
mod error;
mod file;
mod method;
pub mod offline;
mod validate;

pub use auth::{AUTH_TYPES, ApiKeyIn, Auth};
pub use duration::{format_duration, parse_duration};
pub use error::{CheckOptions, FieldError, PlanError, UndefinedVar, Validated};
pub use method::Method;
pub use validate::check_base_url;

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
    /// Response bodies kept for checks, extractors and traces are cut off here: a larger one
    /// fails the step (`response body larger than ...`). Bodies nobody reads are only counted.
    #[serde(skip_serializing_if = "is_default_max_body")]
    pub max_body: u64,
    /// The HTTP path: `1.1` (each user owns its keep-alive connections, the fast path) or `2`
    /// (HTTP/2 over a shared pool, negotiated by TLS ALPN).
    #[serde(skip_serializing_if = "HttpVersion::is_default")]
    pub http: HttpVersion,
    /// Pass/fail thresholds judged on a run's final statistics (`p95<300ms`, `fail_ratio<1%`,
    /// see [`crate::threshold`]), added to those of the command line or the run request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
    /// Auth of every step whose step and transaction inherit it ([`Auth`]).
    #[serde(skip_serializing_if = "Auth::is_inherit")]
    pub auth: Auth,
    /// Rows of data whose columns become variables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataSet>,
    /// Steps each user runs once when it starts (a login, for instance).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// At least one; names are unique.
    pub transactions: Vec<Transaction>,
}

/// Default of a plan's `max_body`: 10 MiB.
pub const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

fn is_default_max_body(n: &u64) -> bool {
    *n == DEFAULT_MAX_BODY
}

/// The HTTP version a plan's requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/1.1 on connections each user owns (the default).
    #[default]
    Http1,
    /// HTTP/2 (over TLS with ALPN, or prior knowledge for `http://`), one shared client.
    Http2,
}

impl HttpVersion {
    fn is_default(&self) -> bool {
        *self == HttpVersion::Http1
    }
}

impl Serialize for HttpVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
        })
    }
}

/// A named, weighted sequence of steps. A simulated user picks transactions by weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    pub name: String,
    /// Relative weight, at least 1.
    pub weight: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_time: Option<ThinkTime>,
    /// Auth of the steps that inherit theirs; inherits the plan's by default.
    #[serde(skip_serializing_if = "Auth::is_inherit")]
    pub auth: Auth,
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
    /// Inherits the transaction's (or, in `setup`, the plan's) by default.
    #[serde(skip_serializing_if = "Auth::is_inherit")]
    pub auth: Auth,
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

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

fn ser_statuses<S: serde::Serializer>(v: &[u16], s: S) -> Result<S::Ok, S::Error> {
    match v {
        [one] => s.serialize_u16(*one),
        many => many.serialize(s),
    }
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

    /// The plan as canonical JSON (what [`Plan::from_json`] accepts back).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The auth `step` sends: its own, else its transaction's (`txn`, `None` for a setup
    /// step), else the plan's ([`Auth::effective`]).
    pub fn auth_for<'a>(&'a self, txn: Option<usize>, step: &'a Step) -> Option<&'a Auth> {
        let txn_auth = txn
            .and_then(|t| self.transactions.get(t))
            .map_or(&Auth::Inherit, |t| &t.auth);
        Auth::effective([&step.auth, txn_auth, &self.auth])
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
