//! Compiling a step's body: JSON, raw text, form or multipart, with its templates bound and
//! fully static bodies pre-serialised once, plus the Content-Type the body implies.

use bytes::Bytes;
use contract::plan::Body;
use serde_json::Value;

use super::super::compiled::{CompiledBody, JsonTpl, MultipartPart};
use super::super::template::{Tpl, VarTable};

/// The compiled body and the Content-Type it implies.
pub(super) fn compile_body(body: &Body, vars: &mut VarTable) -> (CompiledBody, Option<String>) {
    match body {
        Body::None => (CompiledBody::None, None),
        Body::Json { json } => {
            let body = match json_tpl(json, vars) {
                JsonTpl::Fixed(v) => {
                    CompiledBody::Fixed(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
                }
                t => CompiledBody::Json(t),
            };
            (body, Some("application/json".to_string()))
        }
        Body::Raw { body, content_type } => {
            let t = Tpl::compile(body, vars);
            let body = match t.as_static() {
                Some(s) => CompiledBody::Fixed(Bytes::from(s)),
                None => CompiledBody::Text(t),
            };
            let ct = content_type
                .as_deref()
                .unwrap_or("text/plain; charset=utf-8");
            (body, Some(ct.to_string()))
        }
        Body::Form { form } => (
            CompiledBody::Form(
                form.iter()
                    .map(|(k, v)| (k.to_string(), Tpl::compile(v, vars)))
                    .collect(),
            ),
            Some("application/x-www-form-urlencoded".to_string()),
        ),
        Body::Multipart { multipart } => {
            let boundary = format!("locust-http-{}", uuid::Uuid::new_v4().simple());
            let quote = |s: &str| s.replace('"', "%22").replace(['\r', '\n'], " ");
            let parts = multipart
                .iter()
                .map(|(name, part)| match part {
                    contract::plan::MultipartPart::Text(t) => MultipartPart {
                        head: format!("Content-Disposition: form-data; name=\"{}\"\r\n", quote(name)),
                        content: Tpl::compile(t, vars),
                    },
                    contract::plan::MultipartPart::File {
                        file,
                        content,
                        content_type,
                    } => MultipartPart {
                        head: format!(
                            "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n",
                            quote(name),
                            quote(file),
                            content_type.as_deref().unwrap_or("application/octet-stream")
                        ),
                        content: Tpl::compile(content, vars),
                    },
                })
                .collect();
            let ct = format!("multipart/form-data; boundary={boundary}");
            (CompiledBody::Multipart { boundary, parts }, Some(ct))
        }
    }
}

fn json_tpl(v: &Value, vars: &mut VarTable) -> JsonTpl {
    let t = match v {
        Value::String(s) => {
            let t = Tpl::compile(s, vars);
            match t.as_static() {
                Some(_) => JsonTpl::Fixed(v.clone()),
                None => JsonTpl::Str(t),
            }
        }
        Value::Array(items) => JsonTpl::Array(items.iter().map(|x| json_tpl(x, vars)).collect()),
        Value::Object(map) => JsonTpl::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), json_tpl(x, vars)))
                .collect(),
        ),
        other => JsonTpl::Fixed(other.clone()),
    };
    // Collapse containers whose members are all fixed.
    match t {
        JsonTpl::Array(items) if items.iter().all(|i| matches!(i, JsonTpl::Fixed(_))) => {
            JsonTpl::Fixed(v.clone())
        }
        JsonTpl::Object(items) if items.iter().all(|(_, i)| matches!(i, JsonTpl::Fixed(_))) => {
            JsonTpl::Fixed(v.clone())
        }
        t => t,
    }
}
