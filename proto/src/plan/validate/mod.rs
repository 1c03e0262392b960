//! Validation: walks a JSON value, builds the plan and collects every error on the way.
//!
//! - this module: the entry point, the [`Validator`] and its field helpers, URL checks;
//! - [`document`]: the plan, its data set and transactions, undefined variables;
//! - [`step`]: steps, bodies, extractors and assertions.

mod auth;
mod document;
mod step;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::{Map, Value};

use super::*;
use crate::template::Template;

pub(super) fn plan(value: &Value, options: &CheckOptions) -> Result<Validated, PlanError> {
    let mut v = Validator::default();
    let plan = v.plan(value);
    let mut undefined = Vec::new();
    if v.errors.is_empty()
        && let Some(plan) = &plan
    {
        undefined = v.undefined_variables(plan, &options.defined);
        if !options.allow_undefined {
            v.errors
                .extend(undefined.drain(..).map(|u| u.field_error()));
        }
    }
    match plan {
        Some(plan) if v.errors.is_empty() => Ok(Validated { plan, undefined }),
        _ => Err(PlanError::Invalid(v.errors)),
    }
}

/// A template found while validating, for the variable check.
struct TemplateRef {
    path: String,
    template: Template,
}

#[derive(Default)]
struct Validator {
    errors: Vec<FieldError>,
    templates: Vec<TemplateRef>,
}

/// The accepted range of `max_rps`: below it the limiter's interval overflows, above it no cap is meant.
const MIN_MAX_RPS: f64 = 0.001;
const MAX_MAX_RPS: f64 = 10_000_000.0;

const PLAN_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "host",
    "timeout",
    "variables",
    "session",
    "think_time",
    "max_rps",
    "report_transactions",
    "max_body",
    "http",
    "thresholds",
    "auth",
    "data",
    "setup",
    "transactions",
];
const STEP_FIELDS: &[&str] = &[
    "name",
    "method",
    "url",
    "headers",
    "query",
    "auth",
    "json",
    "body",
    "content_type",
    "form",
    "multipart",
    "extract",
    "assert",
];

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

    fn optional_bool(&mut self, path: &str, obj: &Map<String, Value>, key: &str) -> bool {
        match obj.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.err(
                    &join(path, key),
                    format!("must be true or false, found {}", kind(other)),
                );
                false
            }
        }
    }

    /// Records a template for the variable check, or its syntax error.
    fn template(&mut self, path: &str, text: &str) {
        match Template::parse(text) {
            Ok(template) => {
                if !template.is_static() {
                    self.templates.push(TemplateRef {
                        path: path.to_string(),
                        template,
                    });
                }
            }
            Err(e) => self.err(path, e.0),
        }
    }

    fn key_values(
        &mut self,
        path: &str,
        obj: &Map<String, Value>,
        key: &str,
        templated: bool,
    ) -> KeyValues {
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
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => {
                    self.err(
                        &join(&p, k),
                        format!("must be a string, number or boolean, found {}", kind(other)),
                    );
                    continue;
                }
            };
            if templated {
                self.template(&join(&p, k), &text);
            }
            out.push((k.clone(), text));
        }
        KeyValues(out)
    }

    fn duration(&mut self, path: &str, v: &Value) -> Option<Duration> {
        let d = match v {
            Value::Number(n) => n.as_f64().and_then(|s| parse_duration(&s.to_string())),
            Value::String(s) => parse_duration(s),
            _ => None,
        };
        if d.is_none() {
            self.err(
                path,
                "must be a duration such as \"10s\", \"500ms\", \"1m\" or a number of seconds",
            );
        }
        d
    }

    fn think_time(&mut self, path: &str, obj: &Map<String, Value>) -> Option<ThinkTime> {
        let value = obj.get("think_time").filter(|v| !v.is_null())?;
        let p = join(path, "think_time");
        let inner = self.object(&p, value, &["constant", "between", "constant_pacing"])?;
        if inner.len() != 1 {
            self.err(
                &p,
                "must have exactly one of constant, between, constant_pacing",
            );
            return None;
        }
        let (k, v) = inner.iter().next()?;
        let kp = join(&p, k);
        match k.as_str() {
            "constant" => self.duration(&kp, v).map(ThinkTime::Constant),
            "constant_pacing" => self.duration(&kp, v).map(ThinkTime::ConstantPacing),
            "between" => match v.as_array().map(Vec::as_slice) {
                Some([a, b]) => {
                    let (a, b) = (self.duration(&kp, a)?, self.duration(&kp, b)?);
                    if a > b {
                        self.err(&kp, "the minimum is larger than the maximum");
                        return None;
                    }
                    Some(ThinkTime::Between(a, b))
                }
                _ => {
                    self.err(&kp, "must be [min, max]");
                    None
                }
            },
            _ => None,
        }
    }

    fn list<T>(
        &mut self,
        path: &str,
        obj: &Map<String, Value>,
        key: &str,
        item: fn(&mut Validator, &str, &Value) -> Option<T>,
    ) -> Vec<T> {
        let p = join(path, key);
        match obj.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| item(self, &format!("{p}[{i}]"), v))
                .collect(),
            Some(other) => {
                self.err(&p, format!("must be an array, found {}", kind(other)));
                Vec::new()
            }
        }
    }

    fn json_templates(&mut self, path: &str, v: &Value) {
        match v {
            Value::String(s) => self.template(path, s),
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.json_templates(&format!("{path}[{i}]"), x);
                }
            }
            Value::Object(map) => {
                for (k, x) in map {
                    self.json_templates(&join(path, k), x);
                }
            }
            _ => {}
        }
    }

    fn json_path(&mut self, path: &str, p: &str) {
        if let Err(e) = serde_json_path::JsonPath::parse(p) {
            self.err(path, format!("invalid JSONPath {p:?}: {e}"));
        }
    }
}

fn status_code(v: &Value) -> Option<u16> {
    v.as_u64()
        .filter(|c| (100..=599).contains(c))
        .map(|c| c as u16)
}

pub(super) fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
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
    // Templates may stand for any part; check only a fully literal absolute URL.
    if s.contains("://") && !s.contains("{{") {
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
