//! The plan being built by an importer: steps keep ordered (possibly repeated) pairs until
//! [`PlanOut::into_value`] writes the plan's JSON, where the plan's objects cannot repeat a key.
//! Repeated query keys then move into the URL's query string and repeated form fields into a
//! raw url-encoded body (both lossless); repeated headers are joined the HTTP way, with a note.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::Note;
use super::text::encode_component;

/// The notes of one import.
#[derive(Debug, Default)]
pub(crate) struct Notes(pub Vec<Note>);

impl Notes {
    pub fn add(&mut self, item: &str, what: impl Into<String>) {
        let what = what.into();
        if !self.0.iter().any(|n| n.item == item && n.what == what) {
            self.0.push(Note {
                item: item.to_string(),
                what,
            });
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum BodyOut {
    #[default]
    None,
    Json(Value),
    Raw {
        body: String,
        content_type: Option<String>,
    },
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, Value)>),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct StepOut {
    /// Folder path and name, for notes.
    pub item: String,
    pub name: String,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// The plan's `auth` (its JSON); `None` inherits.
    pub auth: Option<Value>,
    pub body: BodyOut,
    pub extract: Vec<Value>,
    pub assert: Vec<Value>,
}

impl StepOut {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn remove_header(&mut self, name: &str) -> Option<String> {
        let i = self
            .headers
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(self.headers.remove(i).1)
    }

    pub fn add_assert(&mut self, a: Value) {
        if !self.assert.contains(&a) {
            self.assert.push(a);
        }
    }

    pub fn add_extract(&mut self, e: Value) {
        if !self.extract.contains(&e) {
            self.extract.push(e);
        }
    }

    fn into_value(self, notes: &mut Notes) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(self.name));
        o.insert("method".into(), json!(self.method));
        let mut url = self.url;
        let mut seen: Vec<&str> = Vec::new();
        let repeated = self.query.iter().any(|(k, _)| {
            let dup = seen.contains(&k.as_str());
            seen.push(k);
            dup
        });
        if repeated {
            let qs = query_string(&self.query);
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&qs);
        }
        o.insert("url".into(), json!(url));
        let mut headers = Map::new();
        for (k, v) in self.headers {
            let existing = headers
                .keys()
                .find(|h: &&String| h.eq_ignore_ascii_case(&k))
                .cloned();
            match existing {
                Some(h) => {
                    let sep = if h.eq_ignore_ascii_case("cookie") {
                        "; "
                    } else {
                        ", "
                    };
                    let joined = format!("{}{sep}{v}", headers[&h].as_str().unwrap_or(""));
                    notes.add(
                        &self.item,
                        format!(
                            "header {k} given more than once: the values are joined with {sep:?}"
                        ),
                    );
                    headers.insert(h, json!(joined));
                }
                None => {
                    headers.insert(k, json!(v));
                }
            }
        }
        if !headers.is_empty() {
            o.insert("headers".into(), Value::Object(headers));
        }
        if !repeated && !self.query.is_empty() {
            let q: Map<String, Value> =
                self.query.into_iter().map(|(k, v)| (k, json!(v))).collect();
            o.insert("query".into(), Value::Object(q));
        }
        if let Some(a) = self.auth {
            o.insert("auth".into(), a);
        }
        match self.body {
            BodyOut::None => {}
            BodyOut::Json(v) => {
                o.insert("json".into(), v);
            }
            BodyOut::Raw { body, content_type } => {
                o.insert("body".into(), json!(body));
                if let Some(ct) = content_type {
                    o.insert("content_type".into(), json!(ct));
                }
            }
            BodyOut::Form(fields) => {
                let mut seen: Vec<&str> = Vec::new();
                let dup = fields.iter().any(|(k, _)| {
                    let d = seen.contains(&k.as_str());
                    seen.push(k);
                    d
                });
                if dup {
                    o.insert("body".into(), json!(query_string(&fields)));
                    o.insert(
                        "content_type".into(),
                        json!("application/x-www-form-urlencoded"),
                    );
                } else {
                    let f: Map<String, Value> =
                        fields.into_iter().map(|(k, v)| (k, json!(v))).collect();
                    o.insert("form".into(), Value::Object(f));
                }
            }
            BodyOut::Multipart(parts) => {
                let mut m = Map::new();
                for (k, v) in parts {
                    if m.contains_key(&k) {
                        notes.add(
                            &self.item,
                            format!(
                                "form-data field {k} given more than once: only the first is kept"
                            ),
                        );
                    } else {
                        m.insert(k, v);
                    }
                }
                o.insert("multipart".into(), Value::Object(m));
            }
        }
        if !self.extract.is_empty() {
            o.insert("extract".into(), Value::Array(self.extract));
        }
        if !self.assert.is_empty() {
            o.insert("assert".into(), Value::Array(self.assert));
        }
        Value::Object(o)
    }
}

/// A raw body: JSON when it parses (templates inside strings are fine), raw text otherwise.
pub(crate) fn raw_body(step: &mut StepOut, raw: String, lang: &str) {
    let ct = step.header("content-type").map(str::to_string).or_else(|| {
        let mime = match lang {
            "json" => "application/json",
            "xml" => "application/xml",
            "html" => "text/html",
            "javascript" => "application/javascript",
            _ => return None,
        };
        Some(mime.to_string())
    });
    // JSON only when Postman would send it as JSON (a JSON content type).
    if ct
        .as_deref()
        .is_some_and(|c| c.trim() == "application/json" || c.starts_with("application/json;"))
        && let Ok(v) = serde_json::from_str::<Value>(&raw)
    {
        step.remove_header("content-type");
        step.body = BodyOut::Json(v);
        return;
    }
    step.remove_header("content-type");
    step.body = BodyOut::Raw {
        body: raw,
        content_type: ct,
    };
}

/// `k=v&k=v` with keys and values encoded (templates kept as they are).
pub(crate) fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TxnOut {
    pub name: String,
    pub steps: Vec<StepOut>,
    /// The transaction's `auth` (a folder's); `None` inherits the plan's.
    pub auth: Option<Value>,
    /// Plan-only fields (weight, think_time) from an exported collection.
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PlanOut {
    pub name: String,
    pub host: Option<String>,
    pub variables: Vec<(String, String)>,
    pub session: bool,
    /// The plan's `auth` (a collection's).
    pub auth: Option<Value>,
    pub setup: Vec<StepOut>,
    pub transactions: Vec<TxnOut>,
    /// Plan-only fields (timeout, think_time, data, ...) from an exported collection.
    pub extra: Map<String, Value>,
}

impl PlanOut {
    /// Sets a plan variable unless it is already defined; false if defined with another value.
    pub fn define(&mut self, name: &str, value: &str) -> bool {
        match self.variables.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v == value,
            None => {
                self.variables.push((name.to_string(), value.to_string()));
                true
            }
        }
    }

    /// The plan's JSON. Step and transaction names are made unique (`name 2`, ...).
    pub fn into_value(self, notes: &mut Notes) -> Value {
        let mut o = Map::new();
        o.insert("name".into(), json!(non_empty(&self.name, "imported")));
        if let Some(h) = self.host {
            o.insert("host".into(), json!(h));
        }
        if !self.variables.is_empty() {
            let v: Map<String, Value> = self
                .variables
                .into_iter()
                .map(|(k, v)| (k, json!(v)))
                .collect();
            o.insert("variables".into(), Value::Object(v));
        }
        if self.session {
            o.insert("session".into(), json!(true));
        }
        for (k, v) in self.extra {
            o.insert(k, v);
        }
        if let Some(a) = self.auth {
            o.insert("auth".into(), a);
        }
        if !self.setup.is_empty() {
            o.insert("setup".into(), steps_value(self.setup, notes));
        }
        let mut names = Unique::default();
        let txns: Vec<Value> = self
            .transactions
            .into_iter()
            .filter(|t| !t.steps.is_empty())
            .map(|t| {
                let mut m = Map::new();
                m.insert(
                    "name".into(),
                    json!(names.next(non_empty(&t.name, "requests"))),
                );
                m.insert("weight".into(), json!(1));
                for (k, v) in t.extra {
                    m.insert(k, v);
                }
                if let Some(a) = t.auth {
                    m.insert("auth".into(), a);
                }
                m.insert("steps".into(), steps_value(t.steps, notes));
                Value::Object(m)
            })
            .collect();
        o.insert("transactions".into(), Value::Array(txns));
        Value::Object(o)
    }
}

fn steps_value(steps: Vec<StepOut>, notes: &mut Notes) -> Value {
    let mut names = Unique::default();
    Value::Array(
        steps
            .into_iter()
            .map(|mut s| {
                s.name = names.next(non_empty(&s.name, "request"));
                s.into_value(notes)
            })
            .collect(),
    )
}

fn non_empty<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.trim().is_empty() { default } else { s }
}

/// Makes names unique in order of appearance: `a`, `a 2`, `a 3`.
#[derive(Default)]
pub(crate) struct Unique(HashMap<String, usize>);

impl Unique {
    pub fn next(&mut self, name: &str) -> String {
        let n = self.0.entry(name.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            name.to_string()
        } else {
            let candidate = format!("{name} {n}");
            self.0.insert(candidate.clone(), 1);
            candidate
        }
    }
}
