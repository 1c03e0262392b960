//! A step as a curl command line: method, URL with its query, headers, auth (`-u` for basic),
//! body. `{{variables}}` the caller knows are filled in; the others are left as they are.

use std::collections::BTreeMap;

use contract::Plan;
use contract::plan::{ApiKeyIn, Auth, Body, MultipartPart, Step};

use super::super::build::query_string;
use super::{fill, full_url};

/// `'text'` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The curl command for `step` of `plan` (in transaction `txn`, `None` for setup), with the
/// plan's variables and `values` (an environment's) filled in.
pub fn curl(
    plan: &Plan,
    txn: Option<usize>,
    step: &Step,
    values: &BTreeMap<String, String>,
) -> String {
    let mut known: BTreeMap<String, String> = plan
        .variables
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    known.extend(values.clone());
    let f = |s: &str| fill(s, &known);
    let mut url = f(&full_url(plan, &step.url));
    let mut query: Vec<(String, String)> = step
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), f(v)))
        .collect();
    let mut first = "curl".to_string();
    if step.method.as_str() != "GET" || !matches!(step.body, Body::None) {
        first.push_str(&format!(" -X {}", step.method.as_str()));
    }
    let mut parts = Vec::new();
    let auth = plan.auth_for(txn, step);
    let has_header = |name: &str| {
        step.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    let mut headers: Vec<(String, String)> = step
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), f(v)))
        .collect();
    match auth {
        Some(Auth::Basic { username, password }) if !has_header("authorization") => {
            parts.push(format!(
                "-u {}",
                quote(&format!("{}:{}", f(username), f(password)))
            ));
        }
        Some(Auth::Bearer { token }) if !has_header("authorization") => {
            headers.push(("Authorization".into(), format!("Bearer {}", f(token))));
        }
        Some(Auth::ApiKey { key, value, place }) => match place {
            ApiKeyIn::Header if !has_header(key) => headers.push((key.clone(), f(value))),
            ApiKeyIn::Query if !query.iter().any(|(k, _)| k == key) => {
                query.push((key.clone(), f(value)));
            }
            _ => {}
        },
        _ => {}
    }
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query_string(&query));
    }
    parts.insert(0, format!("{first} {}", quote(&url)));
    for (k, v) in &headers {
        parts.push(format!("-H {}", quote(&format!("{k}: {v}"))));
    }
    match &step.body {
        Body::None => {}
        Body::Json { json } => {
            if !has_header("content-type") {
                parts.push(format!("-H {}", quote("Content-Type: application/json")));
            }
            let text = serde_json::to_string(json).unwrap_or_default();
            parts.push(format!("--data-raw {}", quote(&f(&text))));
        }
        Body::Raw { body, content_type } => {
            if !has_header("content-type") {
                let ct = content_type
                    .as_deref()
                    .unwrap_or("text/plain; charset=utf-8");
                parts.push(format!("-H {}", quote(&format!("Content-Type: {ct}"))));
            }
            parts.push(format!("--data-raw {}", quote(&f(body))));
        }
        Body::Form { form } => {
            for (k, v) in form.iter() {
                parts.push(format!(
                    "--data-urlencode {}",
                    quote(&format!("{k}={}", f(v)))
                ));
            }
        }
        Body::Multipart { multipart } => {
            for (name, part) in multipart {
                match part {
                    MultipartPart::Text(t) => {
                        parts.push(format!(
                            "--form-string {}",
                            quote(&format!("{name}={}", f(t)))
                        ));
                    }
                    MultipartPart::File {
                        file, content_type, ..
                    } => {
                        let ct = content_type
                            .as_deref()
                            .map(|c| format!(";type={c}"))
                            .unwrap_or_default();
                        // The plan holds the file's text; curl reads it from a file of that name.
                        parts.push(format!("-F {}", quote(&format!("{name}=@{file}{ct}"))));
                    }
                }
            }
        }
    }
    parts.join(" \\\n  ")
}
