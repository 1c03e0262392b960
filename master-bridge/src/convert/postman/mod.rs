//! Postman collections (schema v2.0 and v2.1) → plans.
//!
//! Folders become transactions named by their path (`Orders / Admin / Refunds`): a folder's own
//! requests are one transaction, its subfolders their own; requests at the top level form a
//! transaction named after the collection. Collection variables become plan variables; auth is
//! kept at its level (collection → plan, folder → transaction, request → step) and inherited
//! the same way by the worker ([`auth`]); test scripts at any level are translated ([`super::scripts`]) and a
//! collection's or folder's checks apply to every request under it, as in Postman. What came
//! from our own export ([`super::EXTENSION`]) is read back so plan → Postman → plan is
//! lossless. Saved example responses are documentation and are not imported.

mod auth;
mod environment;
mod request;

pub(crate) use auth::to_postman;
pub(crate) use environment::{Environment, environment};

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::build::{Notes, PlanOut, TxnOut};
use super::scripts::{self, Translated};
use super::text::{fix_templates, scalar_text, var_name};
use super::{EXTENSION, ImportError, Imported};

/// Import state shared by the walk over a collection.
pub(super) struct Ctx {
    pub notes: Notes,
    pub plan: PlanOut,
    /// Plan variables needed for Postman dynamic variables without a built-in.
    pub dynamic: Vec<String>,
    /// Known values (collection variables, overridden by the environment): a path variable
    /// one of them defines needs no empty plan variable.
    pub values: HashMap<String, String>,
    /// The variable that stands for the plan's host in our own export.
    pub host_var: Option<String>,
}

impl Ctx {
    pub fn fix(&mut self, s: &str, item: &str) -> String {
        let mut fixed = fix_templates(s, item, &mut self.notes, &mut self.dynamic);
        if let Some(h) = &self.host_var {
            let prefix = format!("{{{{{h}}}}}");
            if let Some(rest) = fixed.strip_prefix(&prefix) {
                fixed = rest.to_string();
            }
        }
        fixed
    }
}

/// The description of an item, if any (a string or `{content}`).
fn description(v: &Value) -> Option<String> {
    let d = v.get("description")?;
    let text = d
        .as_str()
        .map(str::to_string)
        .or_else(|| d.get("content").and_then(Value::as_str).map(str::to_string))?;
    (!text.trim().is_empty()).then_some(text)
}

fn note_description(ctx: &mut Ctx, v: &Value, item: &str) {
    if let Some(d) = description(v) {
        let short: String = d.chars().take(80).collect();
        let more = if d.chars().count() > 80 { "…" } else { "" };
        ctx.notes.add(
            item,
            format!("description not carried over (plans have none): {short:?}{more}"),
        );
    }
}

/// A collection (its parsed JSON) and an optional environment → plan and notes.
pub(crate) fn collection(doc: &Value, env: Option<Environment>) -> Result<Imported, ImportError> {
    let shape = |m: &str| ImportError::Shape {
        format: "Postman collection",
        message: m.to_string(),
    };
    let obj = doc
        .as_object()
        .ok_or_else(|| shape("the document is not an object"))?;
    if obj.contains_key("requests") && obj.contains_key("order") && !obj.contains_key("item") {
        return Err(shape(
            "this is a Postman v1 collection; export it again from Postman as v2.1",
        ));
    }
    let items = obj
        .get("item")
        .and_then(Value::as_array)
        .ok_or_else(|| shape("no \"item\" array (expected schema v2.0 or v2.1)"))?;
    let info = obj.get("info").cloned().unwrap_or(Value::Null);
    let name = info
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("Postman collection")
        .to_string();
    let ext = obj.get(EXTENSION).cloned().unwrap_or(Value::Null);
    let mut ctx = Ctx {
        notes: Notes::default(),
        plan: PlanOut {
            name: name.clone(),
            ..Default::default()
        },
        dynamic: Vec::new(),
        values: HashMap::new(),
        host_var: ext
            .get("host_variable")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    if let Some(fields) = ext.get("plan").and_then(Value::as_object) {
        ctx.plan.extra = fields.clone();
    }
    note_description(&mut ctx, &info, "collection");
    collection_variables(&mut ctx, obj.get("variable"));
    let mut environment = Map::new();
    if let Some(env) = env {
        // As in Postman, the environment wins over collection variables.
        for (k, v) in &env.variables {
            ctx.values.insert(k.clone(), scalar_text(v));
        }
        environment = env.variables;
        for n in env.notes {
            ctx.notes.add(&n.item, n.what);
        }
    }
    if let Some(a) = obj.get("auth").filter(|a| !a.is_null()) {
        // A collection's "noauth" is the plan's default: nothing to write.
        ctx.plan.auth = auth::convert(&mut ctx, a, "collection").filter(|a| a["type"] != "none");
    }
    let scope = Scope {
        path: Vec::new(),
        auth: None,
        checks: level_scripts(&mut ctx, obj.get("event"), "collection"),
    };
    walk(&mut ctx, items, &scope, Some(name), None);
    let Ctx {
        mut notes,
        mut plan,
        dynamic,
        ..
    } = ctx;
    for d in dynamic {
        plan.define(&d, &d);
    }
    if plan.transactions.iter().all(|t| t.steps.is_empty()) {
        return Err(ImportError::Empty("the collection has no request".into()));
    }
    let plan = plan.into_value(&mut notes);
    Ok(Imported {
        plan,
        environment,
        notes: notes.0,
    })
}

fn collection_variables(ctx: &mut Ctx, vars: Option<&Value>) {
    for v in vars.and_then(Value::as_array).into_iter().flatten() {
        let Some(key) = v.get("key").or_else(|| v.get("id")).and_then(Value::as_str) else {
            continue;
        };
        let value = v.get("value").map(scalar_text).unwrap_or_default();
        if ctx.host_var.as_deref() == Some(key) {
            ctx.plan.host = Some(value);
            continue;
        }
        let name = var_name(key);
        if name != key {
            ctx.notes.add(
                "collection",
                format!("variable {key:?} renamed {name:?} (names are letters, digits, _ - .)"),
            );
        }
        if v.get("disabled").and_then(Value::as_bool) == Some(true) {
            ctx.notes.add(
                "collection",
                format!("disabled collection variable {key} not imported"),
            );
            continue;
        }
        let value = ctx.fix(&value, "collection");
        ctx.values.insert(name.clone(), value.clone());
        ctx.plan.define(&name, &value);
    }
}

/// What a folder passes to its children.
#[derive(Clone)]
pub(super) struct Scope {
    pub path: Vec<String>,
    /// The nearest folder's auth (the plan's JSON): the transaction's.
    pub auth: Option<Value>,
    pub checks: Vec<Translated>,
}

/// Test scripts of a collection or folder (applied to each request under it); pre-request
/// scripts are noted.
fn level_scripts(ctx: &mut Ctx, events: Option<&Value>, item: &str) -> Vec<Translated> {
    let mut out = Vec::new();
    for ev in events.and_then(Value::as_array).into_iter().flatten() {
        let (listen, lines) = scripts::event_lines(ev);
        if listen == "test" {
            let t = scripts::translate(&lines, item, &mut ctx.notes);
            if !t.is_empty() {
                ctx.notes.add(
                    item,
                    format!(
                        "test script checks apply to every request under it ({} assertion(s), {} extractor(s))",
                        t.asserts.len(),
                        t.extracts.len()
                    ),
                );
                out.push(t);
            }
        } else {
            scripts::note_untranslated(&lines, &listen, item, &mut ctx.notes);
        }
    }
    out
}

fn walk(
    ctx: &mut Ctx,
    items: &[Value],
    scope: &Scope,
    own_txn: Option<String>,
    meta: Option<&Value>,
) {
    let here = if scope.path.is_empty() {
        String::new()
    } else {
        scope.path.join(" / ")
    };
    let mut txn = TxnOut {
        name: own_txn.unwrap_or_else(|| here.clone()),
        auth: scope.auth.clone(),
        ..Default::default()
    };
    let mut is_setup = false;
    let mut folders = Vec::new();
    for item in items {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(children) = item.get("item").and_then(Value::as_array) {
            folders.push((item, name, children));
            continue;
        }
        let path = if here.is_empty() {
            name.clone()
        } else {
            format!("{here} / {name}")
        };
        if let Some(step) = request::step(ctx, item, &name, &path, scope) {
            txn.steps.push(step);
        }
    }
    // A folder's extension (from our export) names its transaction and plan-only fields.
    if let Some(meta) = meta {
        if meta.get("setup").and_then(Value::as_bool) == Some(true) {
            is_setup = true;
        }
        if let Some(n) = meta.get("transaction").and_then(Value::as_str) {
            txn.name = n.to_string();
        }
        for k in ["weight", "think_time"] {
            if let Some(v) = meta.get(k) {
                txn.extra.insert(k.into(), v.clone());
            }
        }
    }
    if is_setup {
        ctx.plan.setup.append(&mut txn.steps);
    } else {
        ctx.plan.transactions.push(txn);
    }
    for (folder, name, children) in folders {
        let mut path = scope.path.clone();
        path.push(name);
        let item = path.join(" / ");
        note_description(ctx, folder, &item);
        let mut sub = scope.clone();
        sub.path = path;
        if let Some(a) = folder.get("auth").filter(|a| !a.is_null())
            && let Some(converted) = auth::convert(ctx, a, &item)
        {
            sub.auth = Some(converted);
        }
        let checks = level_scripts(ctx, folder.get("event"), &item);
        sub.checks.extend(checks);
        walk(ctx, children, &sub, None, folder.get(EXTENSION));
    }
}

/// Postman's auth parameter `key` of `auth[kind]`, in the v2.1 shape (`[{key, value}]`) or the
/// v2.0 shape (`{key: value}`).
pub(super) fn auth_param(auth: &Value, kind: &str, key: &str) -> Option<String> {
    match auth.get(kind)? {
        Value::Array(list) => list
            .iter()
            .find(|p| p.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|p| p.get("value"))
            .map(scalar_text),
        Value::Object(map) => map.get(key).map(scalar_text),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
