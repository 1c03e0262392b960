//! Plan → Postman collection v2.1.
//!
//! Each transaction is a folder named by the transaction (setup steps a folder of their own),
//! each step a request; the plan's host becomes a collection variable (`{{baseUrl}}`) in front
//! of relative URLs. Assertions and extractors are also written as an equivalent test script,
//! so the collection works in Postman. Auth at each level is written as Postman auth at the
//! same level (collection, folder, request). Everything a collection cannot say (weights, think
//! times, timeout, session, data, extractors and assertions exactly, file parts, a raw body
//! that happens to be JSON) is kept in [`EXTENSION`] fields on the collection, its folders and
//! its requests, which the importer reads back: plan → Postman → plan is lossless.

use serde_json::{Map, Value, json};

use super::postman::to_postman;
use super::text::{encode_component, scalar_text};
use super::{EXTENSION, ExportError};

const SCHEMA: &str = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json";

/// A plan (its JSON, as stored) as a Postman v2.1 collection.
pub fn export_postman(plan: &Value) -> Result<Value, ExportError> {
    let p = plan
        .as_object()
        .ok_or_else(|| ExportError("the plan is not a JSON object".into()))?;
    let txns = p
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| ExportError("the plan has no transactions".into()))?;
    let name = p
        .get("name")
        .map(scalar_text)
        .unwrap_or_else(|| "plan".into());
    let vars = p.get("variables").and_then(Value::as_object);
    let mut variable: Vec<Value> = vars
        .into_iter()
        .flatten()
        .map(|(k, v)| json!({"key": k, "value": scalar_text(v)}))
        .collect();
    let mut ext = Map::new();
    let host_var = match p.get("host").and_then(Value::as_str) {
        Some(host) => {
            let mut var = "baseUrl".to_string();
            let mut n = 1;
            while vars.is_some_and(|v| v.contains_key(&var)) {
                n += 1;
                var = format!("baseUrl{n}");
            }
            variable.push(json!({"key": var, "value": host}));
            ext.insert("host_variable".into(), json!(var));
            Some(var)
        }
        None => None,
    };
    let fields: Map<String, Value> = p
        .iter()
        .filter(|(k, _)| {
            !["name", "host", "variables", "auth", "setup", "transactions"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !fields.is_empty() {
        ext.insert("plan".into(), Value::Object(fields));
    }
    let mut items = Vec::new();
    if let Some(setup) = p
        .get("setup")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty())
    {
        items.push(json!({
            "name": "setup",
            "item": setup.iter().map(|s| item(s, host_var.as_deref())).collect::<Vec<_>>(),
            EXTENSION: {"setup": true},
        }));
    }
    for t in txns {
        let tname = t.get("name").map(scalar_text).unwrap_or_default();
        let mut fext = Map::new();
        fext.insert("transaction".into(), json!(tname));
        for k in ["weight", "think_time"] {
            if let Some(v) = t.get(k) {
                fext.insert(k.into(), v.clone());
            }
        }
        let steps = t
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let mut folder = json!({
            "name": tname,
            "item": steps.map(|s| item(s, host_var.as_deref())).collect::<Vec<_>>(),
            EXTENSION: fext,
        });
        if let Some(a) = t.get("auth").and_then(to_postman) {
            folder["auth"] = a;
        }
        items.push(folder);
    }
    let mut out = json!({
        "info": {"name": name, "schema": SCHEMA},
        "item": items,
        "variable": variable,
    });
    if let Some(a) = p.get("auth").and_then(to_postman) {
        out["auth"] = a;
    }
    if !ext.is_empty() {
        out[EXTENSION] = Value::Object(ext);
    }
    Ok(out)
}

/// Variables (an environment's, or a plan's) as a Postman environment file.
pub fn export_postman_environment(name: &str, variables: &Map<String, Value>) -> Value {
    let values: Vec<Value> = variables
        .iter()
        .map(
            |(k, v)| json!({"key": k, "value": scalar_text(v), "type": "default", "enabled": true}),
        )
        .collect();
    json!({"name": name, "values": values, "_postman_variable_scope": "environment"})
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), scalar_text(v)))
        .collect()
}

fn item(step: &Value, host_var: Option<&str>) -> Value {
    let mut url = step.get("url").map(scalar_text).unwrap_or_default();
    if let Some(h) = host_var
        && !url.contains("://")
        && !url.starts_with("{{")
    {
        url = format!("{{{{{h}}}}}{url}");
    }
    let query = pairs(step.get("query"));
    let raw = if query.is_empty() {
        url.clone()
    } else {
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        format!(
            "{url}{}{}",
            if url.contains('?') { "&" } else { "?" },
            qs.join("&")
        )
    };
    let mut url_obj = json!({"raw": raw});
    if !query.is_empty() {
        url_obj["query"] = query
            .iter()
            .map(|(k, v)| json!({"key": encode_component(k), "value": encode_component(v)}))
            .collect();
    }
    let mut headers: Vec<Value> = pairs(step.get("headers"))
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    let mut ext = Map::new();
    let body = if let Some(j) = step.get("json") {
        Some(
            json!({"mode": "raw", "raw": serde_json::to_string_pretty(j).unwrap_or_default(),
            "options": {"raw": {"language": "json"}}}),
        )
    } else if let Some(b) = step.get("body") {
        if let Some(ct) = step.get("content_type").and_then(Value::as_str) {
            headers.push(json!({"key": "Content-Type", "value": ct}));
        }
        ext.insert("raw_body".into(), json!(true));
        Some(json!({"mode": "raw", "raw": scalar_text(b)}))
    } else if let Some(f) = step.get("form") {
        let list: Vec<Value> = pairs(Some(f))
            .into_iter()
            .map(|(k, v)| json!({"key": k, "value": v, "type": "text"}))
            .collect();
        Some(json!({"mode": "urlencoded", "urlencoded": list}))
    } else if let Some(m) = step.get("multipart").and_then(Value::as_object) {
        let mut files = Map::new();
        let list: Vec<Value> = m
            .iter()
            .map(|(k, v)| match v {
                Value::Object(part) => {
                    files.insert(k.clone(), v.clone());
                    json!({"key": k, "type": "file", "src": part.get("file").map(scalar_text).unwrap_or_default()})
                }
                other => json!({"key": k, "value": scalar_text(other), "type": "text"}),
            })
            .collect();
        if !files.is_empty() {
            ext.insert("multipart_files".into(), Value::Object(files));
        }
        Some(json!({"mode": "formdata", "formdata": list}))
    } else {
        None
    };
    let mut request = json!({
        "method": step.get("method").map(|m| scalar_text(m).to_ascii_uppercase()).unwrap_or_else(|| "GET".into()),
        "header": headers,
        "url": url_obj,
    });
    if let Some(b) = body {
        request["body"] = b;
    }
    if let Some(a) = step.get("auth").and_then(to_postman) {
        request["auth"] = a;
    }
    let mut out =
        json!({"name": step.get("name").map(scalar_text).unwrap_or_default(), "request": request});
    let extract = step
        .get("extract")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    let assert = step
        .get("assert")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    if extract.is_some() || assert.is_some() {
        out["event"] = json!([{"listen": "test", "script": {"type": "text/javascript",
            "exec": script(assert.map(Vec::as_slice).unwrap_or(&[]), extract.map(Vec::as_slice).unwrap_or(&[]))}}]);
    }
    for (k, v) in [("extract", extract), ("assert", assert)] {
        if let Some(v) = v {
            ext.insert(k.into(), Value::Array(v.clone()));
        }
    }
    if !ext.is_empty() {
        out[EXTENSION] = Value::Object(ext);
    }
    out
}

/// A Postman test script saying what the assertions and extractors say.
fn script(asserts: &[Value], extracts: &[Value]) -> Vec<String> {
    let s = |v: &Value| serde_json::to_string(v).unwrap_or_default();
    let mut lines = Vec::new();
    if !asserts.is_empty() {
        lines.push("pm.test(\"locust-http assertions\", function () {".to_string());
        for a in asserts {
            let line = if let Some(st) = a.get("status") {
                match st {
                    Value::Array(_) => {
                        format!("pm.expect(pm.response.code).to.be.oneOf({});", s(st))
                    }
                    _ => format!("pm.response.to.have.status({});", s(st)),
                }
            } else if let Some(b) = a.get("body_contains") {
                format!("pm.expect(pm.response.text()).to.include({});", s(b))
            } else if let Some(ms) = a.get("response_time_under_ms") {
                format!(
                    "pm.expect(pm.response.responseTime).to.be.below({});",
                    s(ms)
                )
            } else if let Some(h) = a.get("header") {
                let get = format!("pm.expect(pm.response.headers.get({}))", s(h));
                match (a.get("equals"), a.get("contains")) {
                    (Some(v), _) => format!("{get}.to.eql({});", s(v)),
                    (_, Some(v)) => format!("{get}.to.include({});", s(v)),
                    _ => format!("// {}", s(a)),
                }
            } else if let Some(js) = a.get("json").and_then(Value::as_str).and_then(js_path) {
                match (a.get("exists"), a.get("equals")) {
                    (Some(Value::Bool(true)), _) => format!("pm.expect({js}).to.exist;"),
                    (Some(Value::Bool(false)), _) => format!("pm.expect({js}).to.not.exist;"),
                    (_, Some(v)) => format!("pm.expect({js}).to.eql({});", s(v)),
                    _ => format!("// {}", s(a)),
                }
            } else {
                format!("// not expressible here: {}", s(a))
            };
            lines.push(format!("    {line}"));
        }
        lines.push("});".to_string());
    }
    for e in extracts {
        let var = e.get("var").map(&s).unwrap_or_default();
        let source = if let Some(js) = e.get("json").and_then(Value::as_str).and_then(js_path) {
            Some(js)
        } else if let Some(h) = e.get("header") {
            Some(format!("pm.response.headers.get({})", s(h)))
        } else if e.get("status").is_some() {
            Some("pm.response.code".to_string())
        } else {
            None
        };
        lines.push(match source {
            Some(src) => format!("pm.environment.set({var}, {src});"),
            None => format!("// not expressible here: {}", s(e)),
        });
    }
    lines
}

/// A simple JSONPath (`$.a.b[0]['c d']`) as JavaScript on `pm.response.json()`.
fn js_path(p: &str) -> Option<String> {
    let mut rest = p.strip_prefix('$')?;
    let mut out = "pm.response.json()".to_string();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            out.push('.');
            out.push_str(key);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']')?;
            let inner = &r[..close];
            if inner.parse::<usize>().is_err()
                && !(inner.starts_with('\'') && inner.ends_with('\'') && inner.len() >= 2)
            {
                return None;
            }
            out.push_str(&format!("[{inner}]"));
            rest = &r[close + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::{Format, ImportOptions, import};
    use super::*;

    #[test]
    fn plan_only_features_survive_and_checks_become_a_script() {
        let plan = json!({"name": "p", "host": "http://127.0.0.1:8000", "timeout": "5s", "session": true,
            "variables": {"baseUrl": "x", "q": "1"},
            "think_time": {"constant": "1s"}, "max_rps": 5.0, "report_transactions": true,
            "data": {"csv": "u\nann\n", "order": "random", "per": "iteration"},
            "setup": [{"name": "login", "method": "POST", "url": "/login", "json": {"u": "{{u}}"},
                "extract": [{"var": "token", "json": "$.token"}, {"var": "id", "regex": "id=(\\d+)", "group": 1}]}],
            "transactions": [{"name": "a / b", "weight": 3, "think_time": {"between": ["1s", "2s"]}, "steps": [
                {"name": "up", "method": "POST", "url": "/up", "query": {"k": "a&b=c", "t": "{{q}}"},
                 "headers": {"Authorization": "Bearer {{token}}"},
                 "multipart": {"f": {"file": "a.txt", "content": "hi", "content_type": "text/plain"}, "n": "1"},
                 "assert": [{"status": [200, 201]}, {"json": "$.items[0].id", "exists": true},
                            {"header": "Content-Type", "contains": "json"}, {"response_time_under_ms": 300}]},
                {"name": "raw", "method": "PUT", "url": "https://other/x", "body": "{\"a\":1}", "content_type": "application/json"}]}]});
        let c = export_postman(&plan).unwrap();
        assert_eq!(c["info"]["schema"], SCHEMA);
        assert_eq!(
            c["variable"][2],
            json!({"key": "baseUrl2", "value": "http://127.0.0.1:8000"})
        );
        assert_eq!(c[EXTENSION]["plan"]["timeout"], "5s");
        assert_eq!(c["item"][0][EXTENSION], json!({"setup": true}));
        assert_eq!(c["item"][1][EXTENSION]["weight"], 3);
        let up = &c["item"][1]["item"][0];
        assert_eq!(
            up["request"]["url"]["raw"],
            "{{baseUrl2}}/up?k=a%26b%3Dc&t={{q}}"
        );
        let script = up["event"][0]["script"]["exec"].as_array().unwrap();
        assert!(script.contains(&json!(
            "    pm.expect(pm.response.code).to.be.oneOf([200,201]);"
        )));
        assert!(script.contains(&json!(
            "    pm.expect(pm.response.json().items[0].id).to.exist;"
        )));
        let login = &c["item"][0]["item"][0]["event"][0]["script"]["exec"];
        assert_eq!(
            login[0],
            "pm.environment.set(\"token\", pm.response.json().token);"
        );
        assert!(
            login[1]
                .as_str()
                .unwrap()
                .starts_with("// not expressible here")
        );
        let back = import(Format::Postman, &c.to_string(), &ImportOptions::default()).unwrap();
        assert_eq!(back.notes, vec![]);
        assert_eq!(
            contract::Plan::from_value(&back.plan).unwrap(),
            contract::Plan::from_value(&plan).unwrap()
        );
        assert!(export_postman(&json!([])).is_err());
    }

    #[test]
    fn environments_export_and_import_back() {
        let vars = json!({"base": "http://h", "n": "1"})
            .as_object()
            .unwrap()
            .clone();
        let env = export_postman_environment("dev", &vars);
        let back = import(
            Format::PostmanEnvironment,
            &env.to_string(),
            &ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(back.environment, vars);
        assert!(back.notes.is_empty());
    }
}
