//! One Postman request → one step: method, URL (path variables, query with repeated keys),
//! headers (disabled ones noted), body (raw, JSON, url-encoded, form-data, GraphQL), auth and
//! test scripts.

use serde_json::{Map, Value, json};

use super::super::EXTENSION;
use super::super::build::{BodyOut, StepOut, raw_body};
use super::super::scripts;
use super::super::text::{decode_component, parse_query, scalar_text, split_url, var_name};
use super::{Ctx, Scope, auth, note_description};

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

/// The step for one request item, or `None` (with a note) when it cannot be one.
pub(super) fn step(
    ctx: &mut Ctx,
    item: &Value,
    name: &str,
    path: &str,
    scope: &Scope,
) -> Option<StepOut> {
    let req = match item.get("request") {
        Some(Value::String(url)) => json!({"method": "GET", "url": url}),
        Some(r @ Value::Object(_)) => r.clone(),
        _ => {
            ctx.notes.add(path, "no request: item skipped");
            return None;
        }
    };
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("GET")
        .to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        ctx.notes.add(
            path,
            format!("HTTP method {method} is not supported by plans: request skipped"),
        );
        return None;
    }
    note_description(ctx, item, path);
    note_description(ctx, &req, path);
    let mut step = StepOut {
        item: path.to_string(),
        name: name.to_string(),
        method,
        ..Default::default()
    };
    url(ctx, &mut step, req.get("url"), path);
    headers(ctx, &mut step, req.get("header"), path);
    let ext = item.get(EXTENSION);
    body(ctx, &mut step, req.get("body"), path, ext);
    let own = req
        .get("auth")
        .filter(|a| !a.is_null() && a.get("type").and_then(Value::as_str) != Some("inherit"));
    if let Some(a) = own {
        step.auth = auth::convert(ctx, a, path);
    }
    if let Some(a) = &step.auth
        && step.header("authorization").is_some()
        && matches!(a["type"].as_str(), Some("basic" | "bearer"))
    {
        ctx.notes.add(
            path,
            "the request's own Authorization header is sent, not its auth (a step's header wins)",
        );
    }
    if let Some(b) = item
        .get("protocolProfileBehavior")
        .and_then(Value::as_object)
        && !b.is_empty()
    {
        let keys: Vec<&str> = b.keys().map(String::as_str).collect();
        ctx.notes.add(
            path,
            format!(
                "Postman request settings not carried over: {}",
                keys.join(", ")
            ),
        );
    }
    match ext {
        // From our export: the plan's own checks (the scripts were generated from them).
        Some(ext) => {
            for (key, list) in [("extract", &mut step.extract), ("assert", &mut step.assert)] {
                if let Some(v) = ext.get(key).and_then(Value::as_array) {
                    list.extend(v.iter().cloned());
                }
            }
        }
        None => {
            for t in &scope.checks {
                t.apply(&mut step);
            }
            for ev in item
                .get("event")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (listen, lines) = scripts::event_lines(ev);
                if listen == "test" {
                    scripts::translate(&lines, path, &mut ctx.notes).apply(&mut step);
                } else {
                    scripts::note_untranslated(&lines, &listen, path, &mut ctx.notes);
                }
            }
        }
    }
    Some(step)
}

fn url(ctx: &mut Ctx, step: &mut StepOut, url: Option<&Value>, path: &str) {
    let (raw, obj) = match url {
        Some(Value::String(s)) => (s.clone(), None),
        Some(Value::Object(o)) => {
            let raw = match o.get("raw").and_then(Value::as_str) {
                Some(r) => r.to_string(),
                None => from_parts(o),
            };
            (raw, Some(o))
        }
        _ => (String::new(), None),
    };
    let (base, qs) = split_url(raw.trim());
    // Postman encodes spaces in URLs as it sends them; a plan's URL has none.
    let mut base = ctx
        .fix(&base, path)
        .replace(' ', "%20")
        .replace(['\t', '\n', '\r'], "");
    if !base.starts_with("{{")
        && !base.starts_with('/')
        && !base.contains("://")
        && !base.is_empty()
    {
        base = format!("http://{base}");
    }
    if base.is_empty() {
        ctx.notes.add(path, "the request has no URL: \"/\" used");
        base = "/".into();
    }
    let vars: Vec<(String, String)> = obj
        .and_then(|o| o.get("variable"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let k = v
                .get("key")
                .or_else(|| v.get("id"))
                .and_then(Value::as_str)?;
            Some((
                k.to_string(),
                v.get("value").map(scalar_text).unwrap_or_default(),
            ))
        })
        .collect();
    step.url = path_variables(ctx, &base, &vars, path);
    let query = obj.and_then(|o| o.get("query")).and_then(Value::as_array);
    match query {
        Some(list) => {
            for q in list {
                let Some(k) = q.get("key").and_then(Value::as_str) else {
                    continue;
                };
                let v = q.get("value").map(scalar_text).unwrap_or_default();
                if q.get("disabled").and_then(Value::as_bool) == Some(true) {
                    ctx.notes
                        .add(path, format!("disabled query parameter {k}={v} not sent"));
                    continue;
                }
                let k = ctx.fix(&decode_component(k, true), path);
                let v = ctx.fix(&decode_component(&v, true), path);
                step.query.push((k, v));
            }
        }
        None => {
            for (k, v) in parse_query(qs.as_deref().unwrap_or("")) {
                let k = ctx.fix(&k, path);
                let v = ctx.fix(&v, path);
                step.query.push((k, v));
            }
        }
    }
}

/// A URL object without `raw`: protocol, host, port and path put together.
fn from_parts(o: &Map<String, Value>) -> String {
    let join = |v: Option<&Value>, sep: &str| match v {
        Some(Value::Array(a)) => a.iter().map(scalar_text).collect::<Vec<_>>().join(sep),
        Some(v) => scalar_text(v),
        None => String::new(),
    };
    let mut s = String::new();
    if let Some(p) = o.get("protocol").and_then(Value::as_str) {
        s.push_str(p);
        s.push_str("://");
    }
    s.push_str(&join(o.get("host"), "."));
    if let Some(port) = o.get("port") {
        s.push(':');
        s.push_str(&scalar_text(port));
    }
    let p = join(o.get("path"), "/");
    if !p.is_empty() {
        s.push('/');
        s.push_str(&p);
    }
    s
}

/// `/orders/:order_id` → `/orders/{{order_id}}`, the value becoming a plan variable.
fn path_variables(ctx: &mut Ctx, base: &str, vars: &[(String, String)], path: &str) -> String {
    let (prefix, rest) = match base.find("://") {
        Some(i) => {
            let after = &base[i + 3..];
            let host_end = after.find('/').map(|j| i + 3 + j).unwrap_or(base.len());
            (&base[..host_end], &base[host_end..])
        }
        None => ("", base),
    };
    let segs: Vec<String> = rest
        .split('/')
        .map(|seg| {
            let Some(name) = seg.strip_prefix(':').filter(|n| !n.is_empty()) else {
                return seg.to_string();
            };
            let value = vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let var = var_name(name);
            match value {
                Some(v) if is_single_template(&v) => ctx.fix(&v, path),
                Some(v) if !v.is_empty() => {
                    let v = ctx.fix(&v, path);
                    if ctx.plan.define(&var, &v) {
                        format!("{{{{{var}}}}}")
                    } else {
                        // Another request gave this path variable another value.
                        v
                    }
                }
                _ => {
                    if !ctx.values.contains_key(&var)
                        && !ctx.plan.variables.iter().any(|(k, _)| *k == var)
                    {
                        ctx.notes.add(
                            path,
                            format!("path variable :{name} has no value: it became {{{{{var}}}}}, defined empty"),
                        );
                        ctx.plan.define(&var, "");
                    }
                    format!("{{{{{var}}}}}")
                }
            }
        })
        .collect();
    format!("{prefix}{}", segs.join("/"))
}

fn is_single_template(s: &str) -> bool {
    let t = s.trim();
    t.starts_with("{{") && t.ends_with("}}") && t.matches("{{").count() == 1
}

fn headers(ctx: &mut Ctx, step: &mut StepOut, headers: Option<&Value>, path: &str) {
    let list: Vec<(String, String, bool)> = match headers {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|h| {
                let k = h.get("key").and_then(Value::as_str)?.trim().to_string();
                let v = h.get("value").map(scalar_text).unwrap_or_default();
                let off = h.get("disabled").and_then(Value::as_bool) == Some(true);
                Some((k, v, off))
            })
            .collect(),
        // v2.0 also allows the headers as one string, `Name: value` a line.
        Some(Value::String(s)) => s
            .lines()
            .filter_map(|l| {
                let off = l.trim_start().starts_with("//");
                let l = l.trim_start().trim_start_matches("//");
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_string(), v.trim().to_string(), off))
            })
            .collect(),
        _ => Vec::new(),
    };
    for (k, v, off) in list {
        if k.is_empty() {
            if !v.is_empty() {
                ctx.notes.add(
                    path,
                    format!("header without a name (value {v:?}) not sent"),
                );
            }
            continue;
        }
        if off {
            ctx.notes.add(path, format!("disabled header {k} not sent"));
            continue;
        }
        if !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        {
            ctx.notes.add(
                path,
                format!("header name {k:?} is not a valid header name (templates are not allowed in names): not sent"),
            );
            continue;
        }
        let v = ctx.fix(&v, path);
        step.headers.push((k, v));
    }
}

fn body(ctx: &mut Ctx, step: &mut StepOut, body: Option<&Value>, path: &str, ext: Option<&Value>) {
    let Some(body) = body.filter(|b| b.is_object()) else {
        return;
    };
    if body.get("disabled").and_then(Value::as_bool) == Some(true) {
        ctx.notes.add(path, "disabled body not sent");
        return;
    }
    let mode = body.get("mode").and_then(Value::as_str).unwrap_or("");
    match mode {
        "raw" => {
            let raw = body.get("raw").map(scalar_text).unwrap_or_default();
            if raw.is_empty() {
                return;
            }
            let lang = body
                .pointer("/options/raw/language")
                .and_then(Value::as_str)
                .unwrap_or("");
            let raw = ctx.fix(&raw, path);
            if ext.and_then(|e| e.get("raw_body")).and_then(Value::as_bool) == Some(true) {
                // From our export: a raw body, even if it looks like JSON.
                let content_type = step.remove_header("content-type");
                step.body = BodyOut::Raw {
                    body: raw,
                    content_type,
                };
            } else {
                raw_body(step, raw, lang);
            }
        }
        "urlencoded" => {
            let fields = pairs(ctx, body.get("urlencoded"), path, "url-encoded field");
            step.body = BodyOut::Form(fields);
            step.remove_header("content-type");
        }
        "formdata" => {
            let files = ext.and_then(|e| e.get("multipart_files"));
            let mut parts = Vec::new();
            for f in body
                .get("formdata")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(k) = f.get("key").and_then(Value::as_str) else {
                    continue;
                };
                if f.get("disabled").and_then(Value::as_bool) == Some(true) {
                    ctx.notes
                        .add(path, format!("disabled form-data field {k} not sent"));
                    continue;
                }
                if f.get("type").and_then(Value::as_str) == Some("file") {
                    match files.and_then(|m| m.get(k)) {
                        Some(part) => parts.push((k.to_string(), part.clone())),
                        None => {
                            let src = f.get("src").map(scalar_text).unwrap_or_default();
                            ctx.notes.add(
                                path,
                                format!("form-data file field {k} ({src}) not carried over: the file's content is not in the collection"),
                            );
                        }
                    }
                    continue;
                }
                let v = f.get("value").map(scalar_text).unwrap_or_default();
                parts.push((ctx.fix(k, path), json!(ctx.fix(&v, path))));
            }
            step.body = BodyOut::Multipart(parts);
            step.remove_header("content-type");
        }
        "graphql" => {
            let g = body.get("graphql").cloned().unwrap_or(Value::Null);
            let query = g.get("query").map(scalar_text).unwrap_or_default();
            let mut out = Map::new();
            out.insert("query".into(), json!(ctx.fix(&query, path)));
            if let Some(vars) = g
                .get("variables")
                .map(scalar_text)
                .filter(|v| !v.trim().is_empty())
            {
                match serde_json::from_str::<Value>(&vars) {
                    Ok(v) => {
                        out.insert("variables".into(), v);
                    }
                    Err(_) => ctx.notes.add(
                        path,
                        "GraphQL variables are not valid JSON (templates outside strings?): not sent",
                    ),
                }
            }
            step.body = BodyOut::Json(Value::Object(out));
            step.remove_header("content-type");
        }
        "file" => ctx.notes.add(
            path,
            "binary file body not carried over: the file's content is not in the collection",
        ),
        "" | "none" => {}
        other => ctx
            .notes
            .add(path, format!("body mode {other} not carried over")),
    }
}

fn pairs(ctx: &mut Ctx, list: Option<&Value>, path: &str, what: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in list.and_then(Value::as_array).into_iter().flatten() {
        let Some(k) = f.get("key").and_then(Value::as_str) else {
            continue;
        };
        let v = f.get("value").map(scalar_text).unwrap_or_default();
        if f.get("disabled").and_then(Value::as_bool) == Some(true) {
            ctx.notes.add(path, format!("disabled {what} {k} not sent"));
            continue;
        }
        out.push((ctx.fix(k, path), ctx.fix(&v, path)));
    }
    out
}
