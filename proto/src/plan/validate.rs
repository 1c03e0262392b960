//! Validation: walks a JSON value, builds the plan and collects every error on the way.

use std::collections::{BTreeSet, HashSet};
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

    fn plan(&mut self, value: &Value) -> Option<Plan> {
        let obj = self.object("", value, PLAN_FIELDS)?;
        let name = self.required_str("", obj, "name");
        let host = self.optional_str("", obj, "host");
        if let Some(h) = &host
            && let Err(msg) = check_base_url(h)
        {
            self.err("host", msg);
        }
        let timeout = match obj.get("timeout") {
            None | Some(Value::Null) => DEFAULT_TIMEOUT,
            Some(v) => match self.duration("timeout", v) {
                Some(d) if !d.is_zero() => d,
                Some(_) => {
                    self.err("timeout", "must be more than zero");
                    DEFAULT_TIMEOUT
                }
                None => DEFAULT_TIMEOUT,
            },
        };
        let variables = self.key_values("", obj, "variables", false);
        for (k, _) in variables.iter() {
            if !is_var_name(k) {
                self.err(
                    &join("variables", k),
                    "invalid variable name (letters, digits, _ - . only)",
                );
            }
        }
        let session = self.optional_bool("", obj, "session");
        let report_transactions = self.optional_bool("", obj, "report_transactions");
        let think_time = self.think_time("", obj);
        let max_rps = match obj.get("max_rps") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(r) if (MIN_MAX_RPS..=MAX_MAX_RPS).contains(&r) => Some(r),
                _ => {
                    self.err(
                        "max_rps",
                        format!(
                            "must be a number from {MIN_MAX_RPS} to {MAX_MAX_RPS} requests per second, found {v}"
                        ),
                    );
                    None
                }
            },
        };
        let data = obj
            .get("data")
            .filter(|v| !v.is_null())
            .and_then(|v| self.data(v));
        let setup = match obj.get("setup") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, s)| self.step(&format!("setup[{i}]"), s))
                .collect(),
            Some(other) => {
                self.err(
                    "setup",
                    format!("must be an array of steps, found {}", kind(other)),
                );
                Vec::new()
            }
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
                let mut out: Vec<Transaction> = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(t) = self.transaction(&format!("transactions[{i}]"), item) {
                        if out.iter().any(|o| o.name == t.name) {
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
            variables,
            session,
            think_time,
            max_rps,
            report_transactions,
            data,
            setup,
            transactions,
        })
    }

    fn data(&mut self, value: &Value) -> Option<DataSet> {
        let obj = self.object("data", value, &["csv", "file", "order", "per"])?;
        if obj.contains_key("file") {
            self.err(
                "data.file",
                "a data file is only read when the plan is loaded from disk (worker run); inline it as \"csv\"",
            );
            return None;
        }
        let order = match self.optional_str("data", obj, "order").as_deref() {
            None | Some("sequential") => DataOrder::Sequential,
            Some("random") => DataOrder::Random,
            Some(other) => {
                self.err(
                    "data.order",
                    format!("must be \"sequential\" or \"random\", found {other:?}"),
                );
                DataOrder::Sequential
            }
        };
        let per = match self.optional_str("data", obj, "per").as_deref() {
            None | Some("user") => DataPer::User,
            Some("iteration") => DataPer::Iteration,
            Some(other) => {
                self.err(
                    "data.per",
                    format!("must be \"user\" or \"iteration\", found {other:?}"),
                );
                DataPer::User
            }
        };
        let csv = self.required_str("data", obj, "csv")?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::Headers)
            .from_reader(csv.as_bytes());
        let columns: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(e) => {
                self.err("data.csv", format!("cannot read the header row: {e}"));
                return None;
            }
        };
        let mut ok = true;
        for (i, c) in columns.iter().enumerate() {
            if !is_var_name(c) {
                // The position, not the text: the CSV may come from a file, which is never echoed.
                self.err(
                    "data.csv",
                    format!(
                        "column {} of the header row is not a valid variable name (letters, digits, _ - .)",
                        i + 1
                    ),
                );
                ok = false;
            }
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            match record {
                Ok(r) => rows.push(r.iter().map(str::to_string).collect::<Vec<_>>()),
                Err(e) => {
                    self.err("data.csv", format!("row {}: {e}", i + 1));
                    ok = false;
                }
            }
        }
        if rows.is_empty() {
            self.err(
                "data.csv",
                "must have a header row and at least one data row",
            );
            ok = false;
        }
        ok.then_some(DataSet {
            csv,
            columns,
            rows,
            order,
            per,
        })
    }

    fn transaction(&mut self, path: &str, value: &Value) -> Option<Transaction> {
        let obj = self.object(path, value, &["name", "weight", "think_time", "steps"])?;
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
        let think_time = self.think_time(path, obj);
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
            think_time,
            steps: steps?,
        })
    }

    fn step(&mut self, path: &str, value: &Value) -> Option<Step> {
        let obj = self.object(path, value, STEP_FIELDS)?;
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
        if let Some(u) = &url {
            let up = join(path, "url");
            self.template(&up, u);
            if let Err(msg) = check_step_url(u) {
                self.err(&up, msg);
            }
        }
        let headers = self.key_values(path, obj, "headers", true);
        for (k, _) in headers.iter() {
            if !is_token(k) {
                self.err(
                    &join(&join(path, "headers"), k),
                    "is not a valid header name",
                );
            }
        }
        let query = self.key_values(path, obj, "query", true);
        let present: Vec<&str> = ["json", "body", "form", "multipart"]
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
            self.json_templates(&join(path, "json"), json);
            Body::Json { json: json.clone() }
        } else if obj.contains_key("body") {
            match self.optional_str(path, obj, "body") {
                Some(body) => {
                    self.template(&join(path, "body"), &body);
                    Body::Raw { body, content_type }
                }
                None => Body::None,
            }
        } else if obj.contains_key("form") {
            Body::Form {
                form: self.key_values(path, obj, "form", true),
            }
        } else if let Some(parts) = obj.get("multipart") {
            Body::Multipart {
                multipart: self.multipart(&join(path, "multipart"), parts),
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
        let extract = self.list(path, obj, "extract", Validator::extractor);
        let assertions = self.list(path, obj, "assert", Validator::assertion);
        Some(Step {
            name: name?,
            method: method?,
            url: url?,
            headers,
            query,
            body,
            extract,
            assertions,
        })
    }

    fn multipart(&mut self, path: &str, value: &Value) -> Vec<(String, MultipartPart)> {
        let Some(map) = value.as_object() else {
            self.err(
                path,
                format!("must be an object of parts, found {}", kind(value)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, part) in map {
            let p = join(path, name);
            match part {
                Value::String(s) => {
                    self.template(&p, s);
                    out.push((name.clone(), MultipartPart::Text(s.clone())));
                }
                Value::Number(n) => out.push((name.clone(), MultipartPart::Text(n.to_string()))),
                Value::Bool(b) => out.push((name.clone(), MultipartPart::Text(b.to_string()))),
                Value::Object(_) => {
                    let Some(obj) = self.object(&p, part, &["file", "content", "content_type"])
                    else {
                        continue;
                    };
                    let file = self.required_str(&p, obj, "file");
                    let content = match obj.get("content") {
                        Some(Value::String(s)) => Some(s.clone()),
                        _ => {
                            self.err(&join(&p, "content"), "is required (the file's text)");
                            None
                        }
                    };
                    if let Some(c) = &content {
                        self.template(&join(&p, "content"), c);
                    }
                    let content_type = self.optional_str(&p, obj, "content_type");
                    if let (Some(file), Some(content)) = (file, content) {
                        out.push((
                            name.clone(),
                            MultipartPart::File {
                                file,
                                content,
                                content_type,
                            },
                        ));
                    }
                }
                other => self.err(
                    &p,
                    format!("must be a string or a file object, found {}", kind(other)),
                ),
            }
        }
        out
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

    fn extractor(&mut self, path: &str, value: &Value) -> Option<Extractor> {
        let obj = self.object(
            path,
            value,
            &["var", "json", "regex", "group", "header", "status"],
        )?;
        let var = self.required_str(path, obj, "var");
        if let Some(v) = &var
            && !is_var_name(v)
        {
            self.err(
                &join(path, "var"),
                "invalid variable name (letters, digits, _ - . only)",
            );
        }
        let sources: Vec<&str> = ["json", "regex", "header", "status"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if sources.len() != 1 {
            self.err(path, "needs exactly one of json, regex, header, status");
            return None;
        }
        if obj.contains_key("group") && sources[0] != "regex" {
            self.err(&join(path, "group"), "only applies to a regex");
        }
        let source = match sources[0] {
            "json" => {
                let p = self.required_str(path, obj, "json")?;
                self.json_path(&join(path, "json"), &p);
                ExtractSource::Json { json: p }
            }
            "regex" => {
                let r = self.required_str(path, obj, "regex")?;
                let group = match obj.get("group") {
                    None => 1,
                    Some(g) => match g.as_u64() {
                        Some(g) => g as usize,
                        None => {
                            self.err(&join(path, "group"), "must be a whole number");
                            1
                        }
                    },
                };
                match regex::Regex::new(&r) {
                    Ok(re) if group < re.captures_len() => {}
                    Ok(re) => self.err(
                        &join(path, "group"),
                        format!("the regex has {} capture groups", re.captures_len() - 1),
                    ),
                    Err(e) => self.err(&join(path, "regex"), format!("invalid regex: {e}")),
                }
                ExtractSource::Regex { regex: r, group }
            }
            "header" => ExtractSource::Header {
                header: self.required_str(path, obj, "header")?,
            },
            _ => {
                if obj.get("status") != Some(&Value::Bool(true)) {
                    self.err(&join(path, "status"), "must be true");
                }
                ExtractSource::Status { status: true }
            }
        };
        Some(Extractor { var: var?, source })
    }

    fn assertion(&mut self, path: &str, value: &Value) -> Option<Assertion> {
        let obj = self.object(
            path,
            value,
            &[
                "status",
                "body_contains",
                "json",
                "exists",
                "equals",
                "header",
                "contains",
                "response_time_under_ms",
            ],
        )?;
        let has = |k: &str| obj.contains_key(k);
        let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        let only = |allowed: &[&str]| keys.iter().all(|k| allowed.contains(k));
        if has("status") && only(&["status"]) {
            let codes: Option<Vec<u16>> = match &obj["status"] {
                Value::Array(items) if !items.is_empty() => items.iter().map(status_code).collect(),
                v => status_code(v).map(|c| vec![c]),
            };
            return match codes {
                Some(status) => Some(Assertion::Status { status }),
                None => {
                    self.err(
                        &join(path, "status"),
                        "must be a status code (100-599) or a list of them",
                    );
                    None
                }
            };
        }
        if has("body_contains") && only(&["body_contains"]) {
            return Some(Assertion::BodyContains {
                body_contains: self.required_str(path, obj, "body_contains")?,
            });
        }
        if has("json") && has("exists") && only(&["json", "exists"]) {
            let json = self.required_str(path, obj, "json")?;
            self.json_path(&join(path, "json"), &json);
            let Some(exists) = obj["exists"].as_bool() else {
                self.err(&join(path, "exists"), "must be true or false");
                return None;
            };
            return Some(Assertion::JsonExists { json, exists });
        }
        if has("json") && has("equals") && only(&["json", "equals"]) {
            let json = self.required_str(path, obj, "json")?;
            self.json_path(&join(path, "json"), &json);
            return Some(Assertion::JsonEquals {
                json,
                equals: obj["equals"].clone(),
            });
        }
        if has("header") && has("equals") && only(&["header", "equals"]) {
            return Some(Assertion::HeaderEquals {
                header: self.required_str(path, obj, "header")?,
                equals: self.required_str(path, obj, "equals")?,
            });
        }
        if has("header") && has("contains") && only(&["header", "contains"]) {
            return Some(Assertion::HeaderContains {
                header: self.required_str(path, obj, "header")?,
                contains: self.required_str(path, obj, "contains")?,
            });
        }
        if has("response_time_under_ms") && only(&["response_time_under_ms"]) {
            return match obj["response_time_under_ms"].as_u64() {
                Some(ms) if ms > 0 => Some(Assertion::ResponseTimeUnder {
                    response_time_under_ms: ms,
                }),
                _ => {
                    self.err(
                        &join(path, "response_time_under_ms"),
                        "must be a whole number of milliseconds above 0",
                    );
                    None
                }
            };
        }
        self.err(
            path,
            "not a known assertion: {\"status\": 200 | [200, 201]}, {\"body_contains\": s}, \
             {\"json\": path, \"exists\": bool}, {\"json\": path, \"equals\": value}, \
             {\"header\": name, \"equals\" | \"contains\": s}, {\"response_time_under_ms\": n}",
        );
        None
    }

    /// Every use of a variable no source can ever define: not a plan variable, not a data
    /// column, not extracted by any step, and not in `defined` (the selected environment,
    /// `--var`).
    fn undefined_variables(&self, plan: &Plan, defined: &BTreeSet<String>) -> Vec<UndefinedVar> {
        let mut known: HashSet<&str> = plan.variables.iter().map(|(k, _)| k).collect();
        known.extend(defined.iter().map(String::as_str));
        if let Some(data) = &plan.data {
            known.extend(data.columns.iter().map(String::as_str));
        }
        for (_, step) in plan.steps() {
            known.extend(step.extract.iter().map(|e| e.var.as_str()));
        }
        let mut out = Vec::new();
        for r in &self.templates {
            for var in r.template.vars() {
                if !known.contains(var) {
                    out.push(UndefinedVar {
                        name: var.to_string(),
                        path: r.path.clone(),
                    });
                }
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = include_str!("../../../examples/shop.json");

    fn errors(json: &str) -> Vec<FieldError> {
        Plan::from_json(json).unwrap_err().field_errors()
    }

    fn paths(json: &str) -> Vec<String> {
        errors(json).into_iter().map(|e| e.path).collect()
    }

    #[test]
    fn shop_example_is_valid() {
        let plan = Plan::from_json(SHOP).expect("shop.json is valid");
        assert_eq!(plan.name, "shop");
        assert_eq!(plan.transactions.len(), 2);
        assert_eq!(plan.transactions[1].steps[1].method, Method::Post);
        assert_eq!(plan.timeout, DEFAULT_TIMEOUT);
        assert_eq!(plan.variables.get("item"), Some("42"));
        assert_eq!(plan.transactions[1].steps[0].extract[0].var, "token");
    }

    #[test]
    fn journey_example_loads_its_data_file() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/journey.json");
        let plan = Plan::from_file(&path, &[("qty".into(), "3".into())]).unwrap();
        let data = plan.data.as_ref().unwrap();
        assert_eq!(data.columns, ["user", "password"]);
        assert_eq!(data.rows.len(), 3);
        assert_eq!(plan.variables.get("qty"), Some("3"));
        assert_eq!(
            plan.think_time,
            Some(ThinkTime::Between(
                Duration::from_millis(500),
                Duration::from_millis(1500)
            ))
        );
        assert!(plan.session && plan.report_transactions);
        // and it survives a round trip through canonical JSON (the data inlined)
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
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
        let got = paths(bad);
        for want in [
            "host",
            "transactions[0].weight",
            "transactions[0].steps[0].method",
            "transactions[0].steps[0].url",
            "transactions[1].steps[0]",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "{want} missing from {got:?}"
            );
        }
        let msg = Plan::from_json(bad).unwrap_err().to_string();
        assert!(msg.contains("unknown HTTP method \"FETCH\""), "{msg}");
        assert!(msg.contains("url: is required"), "{msg}");
    }

    #[test]
    fn duplicate_transaction_names_are_rejected() {
        let bad = r#"{"name": "x", "transactions": [
            {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]},
            {"name": "a", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
        assert_eq!(paths(bad), ["transactions[1].name"]);
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
        assert_eq!(paths(bad), ["transactions[0].steps[0].heders"]);
    }

    #[test]
    fn undefined_variables_are_caught_up_front() {
        let bad = r#"{"name": "x", "variables": {"a": "1"}, "transactions": [
            {"name": "t", "steps": [
                {"name": "s", "method": "GET", "url": "/{{a}}/{{nope}}", "headers": {"X": "{{token}}"},
                 "json": {"k": ["{{missing}}"]}},
                {"name": "l", "method": "POST", "url": "/login", "extract": [{"var": "token", "json": "$.t"}]}]}]}"#;
        let errs = errors(bad);
        let got: Vec<(&str, &str)> = errs
            .iter()
            .map(|e| (e.path.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "transactions[0].steps[0].url");
        assert!(got[0].1.contains("{{nope}}"));
        assert_eq!(got[1].0, "transactions[0].steps[0].json.k[0]");
    }

    const ENV_PLAN: &str = r#"{"$schema": "https://example.invalid/plan.schema.json", "name": "x",
        "variables": {"a": "1"}, "transactions": [{"name": "t", "steps": [
            {"name": "s", "method": "GET", "url": "/{{a}}/{{trace_id}}", "headers": {"X-Trace": "{{trace_id}}", "X-B": "{{b}}"}}]}]}"#;

    #[test]
    fn the_environment_defines_variables_and_schema_is_ignored() {
        // Strict with the environment's names: only {{b}} is missing.
        let err = Plan::from_json_with(ENV_PLAN, &CheckOptions::strict(["trace_id"])).unwrap_err();
        let errs = err.field_errors();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].path, "transactions[0].steps[0].headers.X-B");
        assert!(errs[0].message.contains("{{b}}"));
        // Everything defined: valid, and "$schema" does not reach the plan.
        let ok = Plan::from_json_with(ENV_PLAN, &CheckOptions::strict(["trace_id", "b"])).unwrap();
        assert!(ok.undefined.is_empty());
        assert!(!ok.plan.to_json().contains("$schema"));
        // The old entry point still rejects what only an environment defines.
        assert_eq!(errors(ENV_PLAN).len(), 3);
    }

    #[test]
    fn lenient_checks_report_undefined_variables_instead_of_failing() {
        let v =
            Plan::from_json_with(ENV_PLAN, &CheckOptions::lenient(Vec::<String>::new())).unwrap();
        let uses: Vec<(&str, &str)> = v
            .undefined
            .iter()
            .map(|u| (u.name.as_str(), u.path.as_str()))
            .collect();
        assert_eq!(
            uses,
            [
                ("trace_id", "transactions[0].steps[0].url"),
                ("trace_id", "transactions[0].steps[0].headers.X-Trace"),
                ("b", "transactions[0].steps[0].headers.X-B"),
            ]
        );
        assert_eq!(UndefinedVar::names(&v.undefined), ["b", "trace_id"]);
        // A structural error is still an error, lenient or not.
        let bad = ENV_PLAN.replace("\"GET\"", "\"FETCH\"");
        assert!(Plan::from_json_with(&bad, &CheckOptions::lenient(["b"])).is_err());
    }

    #[test]
    fn templates_extractors_and_assertions_are_checked() {
        let bad = r#"{"name": "x", "transactions": [{"name": "t", "steps": [
            {"name": "s", "method": "GET", "url": "/{{$nope}}",
             "extract": [{"var": "a", "json": "$[bad"}, {"var": "b", "regex": "(", "group": 1},
                         {"var": "c", "regex": "x(y)", "group": 2}, {"var": "d"}, {"var": "e", "json": "$.a", "header": "x"}],
             "assert": [{"status": 999}, {"json": "$.a"}, {"response_time_under_ms": 0}, {"bogus": 1}]}]}]}"#;
        let got = paths(bad);
        for want in [
            "transactions[0].steps[0].url",
            "transactions[0].steps[0].extract[0].json",
            "transactions[0].steps[0].extract[1].regex",
            "transactions[0].steps[0].extract[2].group",
            "transactions[0].steps[0].extract[3]",
            "transactions[0].steps[0].extract[4]",
            "transactions[0].steps[0].assert[0].status",
            "transactions[0].steps[0].assert[1]",
            "transactions[0].steps[0].assert[2].response_time_under_ms",
            "transactions[0].steps[0].assert[3].bogus",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "{want} missing from {got:?}"
            );
        }
    }

    #[test]
    fn think_time_data_and_settings_are_checked() {
        let bad = r#"{"name": "x", "max_rps": 0, "session": "yes", "think_time": {"between": ["3s", "1s"]},
            "data": {"csv": "a b\n1\n", "order": "shuffled"},
            "transactions": [{"name": "t", "think_time": {"constant": "soon"}, "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
        let got = paths(bad);
        for want in [
            "max_rps",
            "session",
            "think_time.between",
            "data.csv",
            "data.order",
            "transactions[0].think_time.constant",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "{want} missing from {got:?}"
            );
        }
        let file = r#"{"name": "x", "data": {"file": "u.csv"}, "transactions": [{"name": "t", "steps": [{"name": "s", "method": "GET", "url": "/"}]}]}"#;
        assert_eq!(paths(file), ["data.file"]);
    }

    #[test]
    fn max_rps_has_a_sane_range() {
        let plan = |rps: &str| {
            format!(
                r#"{{"name": "x", "max_rps": {rps}, "transactions": [{{"name": "t", "steps": [{{"name": "s", "method": "GET", "url": "/"}}]}}]}}"#
            )
        };
        for ok in ["0.001", "1", "2.5", "10000000"] {
            let got = Plan::from_json(&plan(ok)).map(|p| p.max_rps);
            assert_eq!(got.ok(), Some(Some(ok.parse::<f64>().unwrap())), "{ok}");
        }
        for bad in [
            "1e-300",
            "0.0009",
            "0",
            "-1",
            "10000000.5",
            "1e300",
            "\"5\"",
        ] {
            assert_eq!(paths(&plan(bad)), ["max_rps"], "{bad}");
        }
        let err = &errors(&plan("1e-300"))[0];
        assert!(err.message.contains("0.001 to 10000000"), "{err:?}");
    }

    #[test]
    fn multipart_bodies() {
        let ok = r#"{"name": "x", "variables": {"v": "1"}, "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
            "multipart": {"a": "{{v}}", "n": 3, "f": {"file": "a.txt", "content": "hi", "content_type": "text/plain"}}}]}]}"#;
        let plan = Plan::from_json(ok).unwrap();
        assert_eq!(Plan::from_json(&plan.to_json()).unwrap(), plan);
        let bad = r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
            "multipart": {"f": {"file": "a.txt"}, "g": [1]}}]}]}"#;
        let got = paths(bad);
        for want in [
            "transactions[0].steps[0].multipart.f.content",
            "transactions[0].steps[0].multipart.g",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "{want} missing from {got:?}"
            );
        }
        let two = r#"{"name": "x", "transactions": [{"name": "t", "steps": [{"name": "s", "method": "POST", "url": "/",
            "multipart": {}, "form": {}}]}]}"#;
        assert_eq!(paths(two), ["transactions[0].steps[0]"]);
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
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }
}
