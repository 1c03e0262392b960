//! The plan: what a performance engineer writes and what every worker runs.
//!
//! A plan is a JSON document with a `name`, an optional base URL `host`, an optional default request
//! `timeout`, and weighted `transactions`, each an ordered list of HTTP `steps`. [`Plan::from_json`]
//! is the only way in: it parses and validates the whole document and reports *every* wrong field
//! with its path (`transactions[1].steps[0].method`), so a bad plan is rejected whole and nothing
//! half-valid ever reaches a worker. The worker and the bridge share this code, so they can never
//! disagree on what is valid.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// Default per-request timeout when a plan names none (as k6 does).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A validated plan. Construct it with [`Plan::from_json`] or [`Plan::from_value`].
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
    /// At least one; names are unique.
    pub transactions: Vec<Transaction>,
}

/// A named, weighted sequence of steps. A simulated user picks transactions by weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transaction {
    pub name: String,
    /// Relative weight, at least 1.
    pub weight: u32,
    /// At least one.
    pub steps: Vec<Step>,
}

/// One HTTP request. Reported to Locust as method = HTTP method, name = step name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub name: String,
    pub method: Method,
    /// Absolute (`http(s)://...`) or relative to the plan's host.
    pub url: String,
    #[serde(skip_serializing_if = "KeyValues::is_empty")]
    pub headers: KeyValues,
    #[serde(skip_serializing_if = "KeyValues::is_empty")]
    pub query: KeyValues,
    #[serde(flatten)]
    pub body: Body,
}

/// The request body: at most one of `json`, `body` (raw, with an optional `content_type`) or `form`.
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

/// Formats a duration the way plans write it: `1500ms`, `10s`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
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
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
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

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a plan was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
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

impl PlanError {
    /// Every problem as a field error (a syntax error is one error at the document root).
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            PlanError::Syntax { .. } => vec![FieldError {
                path: String::new(),
                message: self.to_string(),
            }],
            PlanError::Invalid(errors) => errors.clone(),
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
    /// Parses and validates a plan document.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let value: Value = serde_json::from_str(text).map_err(|e| PlanError::Syntax {
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or_default()
                .to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        Plan::from_value(&value)
    }

    /// Validates an already-parsed JSON value as a plan.
    pub fn from_value(value: &Value) -> Result<Plan, PlanError> {
        let mut v = Validator::default();
        let plan = v.plan(value);
        match plan {
            Some(plan) if v.errors.is_empty() => Ok(plan),
            _ => Err(PlanError::Invalid(v.errors)),
        }
    }

    /// The plan as canonical JSON (what [`Plan::from_json`] accepts back).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Walks a JSON value, building the plan and collecting every error on the way.
#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    fn err(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn object<'a>(
        &mut self,
        path: &str,
        value: &'a Value,
        allowed: &[&str],
    ) -> Option<&'a Map<String, Value>> {
        let Some(obj) = value.as_object() else {
            self.err(path, format!("must be an object, found {}", kind(value)));
            return None;
        };
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.err(
                    &join(path, key),
                    format!("unknown field (expected one of: {})", allowed.join(", ")),
                );
            }
        }
        Some(obj)
    }

    fn required_str(&mut self, path: &str, obj: &Map<String, Value>, key: &str) -> Option<String> {
        let p = join(path, key);
        match obj.get(key) {
            None | Some(Value::Null) => {
                self.err(&p, "is required");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.err(&p, "must not be empty");
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(&p, format!("must be a string, found {}", kind(other)));
                None
            }
        }
    }

    fn optional_str(&mut self, path: &str, obj: &Map<String, Value>, key: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.err(
                    &join(path, key),
                    format!("must be a string, found {}", kind(other)),
                );
                None
            }
        }
    }

    fn key_values(&mut self, path: &str, obj: &Map<String, Value>, key: &str) -> KeyValues {
        let p = join(path, key);
        let Some(value) = obj.get(key) else {
            return KeyValues::default();
        };
        let Some(map) = value.as_object() else {
            self.err(
                &p,
                format!("must be an object of strings, found {}", kind(value)),
            );
            return KeyValues::default();
        };
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            if k.is_empty() {
                self.err(&p, "names must not be empty");
                continue;
            }
            match v {
                Value::String(s) => out.push((k.clone(), s.clone())),
                Value::Number(n) => out.push((k.clone(), n.to_string())),
                Value::Bool(b) => out.push((k.clone(), b.to_string())),
                other => self.err(
                    &join(&p, k),
                    format!("must be a string, number or boolean, found {}", kind(other)),
                ),
            }
        }
        KeyValues(out)
    }

    fn plan(&mut self, value: &Value) -> Option<Plan> {
        let obj = self.object("", value, &["name", "host", "timeout", "transactions"])?;
        let name = self.required_str("", obj, "name");
        let host = self.optional_str("", obj, "host");
        if let Some(h) = &host
            && let Err(msg) = check_base_url(h)
        {
            self.err("host", msg);
        }
        let timeout = match obj.get("timeout") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT,
            Some(v) => match duration_value(v) {
                Some(d) if !d.is_zero() => d,
                _ => {
                    self.err(
                        "timeout",
                        "must be a positive duration such as \"10s\", \"500ms\" or 10",
                    );
                    DEFAULT_TIMEOUT
                }
            },
        };
        let transactions = match obj.get("transactions") {
            None | Some(Value::Null) => {
                self.err("transactions", "is required");
                Vec::new()
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.err("transactions", "must contain at least one transaction");
                Vec::new()
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = self.transaction(&format!("transactions[{i}]"), item) {
                        if out.iter().any(|o: &Transaction| o.name == t.name) {
                            self.err(
                                &format!("transactions[{i}].name"),
                                format!("duplicate transaction name {:?}", t.name),
                            );
                        }
                        out.push(t);
                    }
                }
                out
            }
            Some(other) => {
                self.err(
                    "transactions",
                    format!("must be an array, found {}", kind(other)),
                );
                Vec::new()
            }
        };
        Some(Plan {
            name: name?,
            host,
            timeout,
            transactions,
        })
    }

    fn transaction(&mut self, path: &str, value: &Value) -> Option<Transaction> {
        let obj = self.object(path, value, &["name", "weight", "steps"])?;
        let name = self.required_str(path, obj, "name");
        let weight = match obj.get("weight") {
            None | Some(Value::Null) => Some(1),
            Some(v) => match v.as_u64() {
                Some(w) if w >= 1 && w <= u64::from(u32::MAX) => Some(w as u32),
                _ => {
                    self.err(
                        &join(path, "weight"),
                        format!("must be a whole number of at least 1, found {v}"),
                    );
                    None
                }
            },
        };
        let steps_path = join(path, "steps");
        let steps = match obj.get("steps") {
            None | Some(Value::Null) => {
                self.err(&steps_path, "is required");
                None
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.err(&steps_path, "must contain at least one step");
                None
            }
            Some(Value::Array(items)) => {
                let steps: Vec<_> = items
                    .iter()
                    .enumerate()
                    .map(|(i, s)| self.step(&format!("{steps_path}[{i}]"), s))
                    .collect();
                steps.into_iter().collect::<Option<Vec<_>>>()
            }
            Some(other) => {
                self.err(
                    &steps_path,
                    format!("must be an array, found {}", kind(other)),
                );
                None
            }
        };
        Some(Transaction {
            name: name?,
            weight: weight?,
            steps: steps?,
        })
    }

    fn step(&mut self, path: &str, value: &Value) -> Option<Step> {
        let obj = self.object(
            path,
            value,
            &[
                "name",
                "method",
                "url",
                "headers",
                "query",
                "json",
                "body",
                "content_type",
                "form",
            ],
        )?;
        let name = self.required_str(path, obj, "name");
        let method = match self.required_str(path, obj, "method") {
            Some(m) => match Method::parse(&m) {
                Some(m) => Some(m),
                None => {
                    let all: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
                    self.err(
                        &join(path, "method"),
                        format!(
                            "unknown HTTP method {m:?} (expected one of: {})",
                            all.join(", ")
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let url = self.required_str(path, obj, "url");
        if let Some(u) = &url
            && let Err(msg) = check_step_url(u)
        {
            self.err(&join(path, "url"), msg);
        }
        let headers = self.key_values(path, obj, "headers");
        for (k, _) in headers.iter() {
            if !is_token(k) {
                self.err(
                    &join(&join(path, "headers"), k),
                    "is not a valid header name",
                );
            }
        }
        let query = self.key_values(path, obj, "query");
        let present: Vec<&str> = ["json", "body", "form"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if present.len() > 1 {
            self.err(
                path,
                format!(
                    "only one body may be given, found {}",
                    present.join(" and ")
                ),
            );
        }
        let content_type = self.optional_str(path, obj, "content_type");
        let body = if let Some(json) = obj.get("json") {
            Body::Json { json: json.clone() }
        } else if obj.contains_key("body") {
            match self.optional_str(path, obj, "body") {
                Some(body) => Body::Raw { body, content_type },
                None => Body::None,
            }
        } else if obj.contains_key("form") {
            Body::Form {
                form: self.key_values(path, obj, "form"),
            }
        } else {
            Body::None
        };
        if obj.contains_key("content_type") && !matches!(body, Body::Raw { .. }) {
            self.err(
                &join(path, "content_type"),
                "only applies to a raw \"body\"",
            );
        }
        Some(Step {
            name: name?,
            method: method?,
            url: url?,
            headers,
            query,
            body,
        })
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn duration_value(v: &Value) -> Option<Duration> {
    match v {
        Value::Number(n) => n.as_f64().and_then(|s| parse_duration(&s.to_string())),
        Value::String(s) => parse_duration(s),
        _ => None,
    }
}

/// RFC 9110 token characters (header names).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A base URL: absolute http(s) with a host, no query or fragment.
pub fn check_base_url(s: &str) -> Result<(), String> {
    let u = url::Url::parse(s).map_err(|e| format!("must be an absolute http(s) URL: {e}"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!(
            "scheme must be http or https, found {:?}",
            u.scheme()
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(())
}

fn check_step_url(s: &str) -> Result<(), String> {
    if s.chars().any(char::is_whitespace) {
        return Err("must not contain whitespace".into());
    }
    if s.contains("://") {
        let u = url::Url::parse(s).map_err(|e| format!("is not a valid URL: {e}"))?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(format!(
                "scheme must be http or https, found {:?}",
                u.scheme()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = include_str!("../../examples/shop.json");

    #[test]
    fn shop_example_is_valid() {
        let plan = Plan::from_json(SHOP).expect("shop.json is valid");
        assert_eq!(plan.name, "shop");
        assert_eq!(plan.transactions.len(), 2);
        assert_eq!(plan.transactions[1].steps[1].method, Method::Post);
        assert_eq!(plan.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn canonical_json_round_trips() {
        let plan = Plan::from_json(SHOP).unwrap();
        let again = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(plan, again);
    }

    #[test]
    fn every_wrong_field_is_named() {
        let bad = r#"{"name": "x", "host": "ftp://h", "transactions": [
            {"name": "a", "weight": 0, "steps": [{"name": "s", "method": "FETCH"}]},
            {"name": "a", "steps": [{"name": "t", "method": "get", "url": "/", "json": 1, "form": {}}]}]}"#;
        let err = Plan::from_json(bad).unwrap_err();
        let paths: Vec<String> = err.field_errors().into_iter().map(|e| e.path).collect();
        for want in [
            "host",
            "transactions[0].weight",
            "transactions[0].steps[0].method",
            "transactions[0].steps[0].url",
            "transactions[1].steps[0]",
        ] {
            assert!(
                paths.contains(&want.to_string()),
                "{want} missing from {paths:?}"
            );
        }
        let msg = err.to_string();
        assert!(msg.contains("unknown HTTP method \"FETCH\""), "{msg}");
        assert!(msg.contains("url: is required"), "{msg}");
    }

    #[test]
    fn duplicate_transaction_names_are_rejected() {
        let bad = r#"{"name": "x", "transactions": [
            {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]},
            {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
        let err = Plan::from_json(bad).unwrap_err();
        assert_eq!(err.field_errors()[0].path, "transactions[1].name");
    }

    #[test]
    fn syntax_errors_give_a_position() {
        let err = Plan::from_json("{\"name\": \"x\",\n \"transactions\": [}").unwrap_err();
        assert!(matches!(err, PlanError::Syntax { line: 2, .. }), "{err:?}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let bad = r#"{"name": "x", "transactions": [
            {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/", "heders": {}}]}]}"#;
        let err = Plan::from_json(bad).unwrap_err();
        assert_eq!(
            err.field_errors()[0].path,
            "transactions[0].steps[0].heders"
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("10x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-1"), None);
    }
}
