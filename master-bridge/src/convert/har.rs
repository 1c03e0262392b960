//! HAR 1.2 recordings (browser DevTools "Save all as HAR") → a plan.
//!
//! Requests are grouped by page into transactions (named by the page title); static assets
//! (by the browser's resource type, the response content type or the URL's extension) and
//! non-HTTP entries are left out, each with a note. The plan's host is the first page's origin
//! and same-origin URLs become relative. Headers the browser manages itself (pseudo-headers,
//! `Host`, `Content-Length`, `Connection`, `Accept-Encoding`, `sec-*`, caching validators, ...)
//! are dropped with one note; cookies are not replayed (the plan gets `session: true` so each
//! user keeps the cookies its own responses set), noted per request. Values a JSON response
//! returned that later requests send back are correlated ([`super::correlate`]).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::build::{BodyOut, Notes, PlanOut, StepOut, TxnOut, Unique, raw_body};
use super::correlate::{Recorded, correlate};
use super::text::{parse_query, scalar_text, split_url};
use super::{ImportError, Imported};

const STATIC_TYPES: &[&str] = &[
    "image",
    "stylesheet",
    "script",
    "font",
    "media",
    "manifest",
    "texttrack",
    "ping",
    "websocket",
    "eventsource",
    "csp_violation_report",
    "signed-exchange",
    "preflight",
];
const STATIC_MIME: &[&str] = &[
    "image/",
    "font/",
    "text/css",
    "javascript",
    "ecmascript",
    "video/",
    "audio/",
    "application/font",
    "application/x-font",
    "application/manifest+json",
    "text/vtt",
];
const STATIC_EXT: &[&str] = &[
    ".js", ".mjs", ".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif",
    ".woff", ".woff2", ".ttf", ".otf", ".eot", ".map", ".mp4", ".webm", ".mp3", ".wasm",
];
const BROWSER_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "accept-encoding",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "upgrade",
    "upgrade-insecure-requests",
    "priority",
    "cookie",
    "if-none-match",
    "if-modified-since",
    "cache-control",
    "pragma",
    "dnt",
];
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
];

pub(crate) fn import(doc: &Value) -> Result<Imported, ImportError> {
    let log = doc.get("log").ok_or_else(|| ImportError::Shape {
        format: "HAR file",
        message: "no \"log\" object".into(),
    })?;
    let entries = log
        .get("entries")
        .and_then(Value::as_array)
        .ok_or_else(|| ImportError::Shape {
            format: "HAR file",
            message: "no \"log.entries\" array".into(),
        })?;
    let pages: Vec<(String, String)> = log
        .get("pages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let id = p.get("id").map(scalar_text)?;
            let title = p.get("title").map(scalar_text).filter(|t| !t.is_empty());
            Some((id.clone(), title.unwrap_or(id)))
        })
        .collect();
    let mut notes = Notes::default();
    let mut plan = PlanOut {
        name: log
            .pointer("/creator/name")
            .map(|c| format!("HAR recording ({})", scalar_text(c)))
            .unwrap_or_else(|| "HAR recording".into()),
        ..Default::default()
    };
    let mut names = Unique::default();
    let mut txns: Vec<(String, TxnOut)> = pages
        .iter()
        .map(|(id, title)| {
            (
                id.clone(),
                TxnOut {
                    name: names.next(title),
                    ..Default::default()
                },
            )
        })
        .collect();
    let mut loose = TxnOut {
        name: names.next("requests"),
        ..Default::default()
    };
    let mut dropped: BTreeSet<String> = BTreeSet::new();
    let mut recorded = Vec::new();
    let mut placed = Vec::new();
    for e in entries {
        let page = e.get("pageref").map(scalar_text).unwrap_or_default();
        let item = pages
            .iter()
            .find(|(id, _)| *id == page)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| "requests".into());
        let Some(step) = entry(e, &item, &mut plan, &mut notes, &mut dropped) else {
            continue;
        };
        recorded.push(Recorded {
            step,
            response: response_json(e),
        });
        placed.push(page);
    }
    correlate(&mut recorded, &mut notes);
    for (r, page) in recorded.into_iter().zip(placed) {
        match txns.iter_mut().find(|(id, _)| *id == page) {
            Some((_, t)) => t.steps.push(r.step),
            None => loose.steps.push(r.step),
        }
    }
    if !dropped.is_empty() {
        let list: Vec<String> = dropped.into_iter().collect();
        notes.add(
            "HAR",
            format!(
                "browser-managed headers left out of the requests: {}",
                list.join(", ")
            ),
        );
    }
    plan.transactions = txns.into_iter().map(|(_, t)| t).collect();
    plan.transactions.push(loose);
    if plan.transactions.iter().all(|t| t.steps.is_empty()) {
        return Err(ImportError::Empty(
            "the recording has no request that is not a static asset".into(),
        ));
    }
    let plan = plan.into_value(&mut notes);
    Ok(Imported {
        plan,
        environment: Default::default(),
        notes: notes.0,
    })
}

/// The response's body when it is JSON text (base64 bodies are left alone).
fn response_json(e: &Value) -> Option<Value> {
    let content = e.pointer("/response/content")?;
    if content.get("encoding").and_then(Value::as_str) == Some("base64") {
        return None;
    }
    let mime = content
        .get("mimeType")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !mime.contains("json") {
        return None;
    }
    serde_json::from_str(content.get("text")?.as_str()?).ok()
}

fn entry(
    e: &Value,
    item: &str,
    plan: &mut PlanOut,
    notes: &mut Notes,
    dropped: &mut BTreeSet<String>,
) -> Option<StepOut> {
    let req = e.get("request")?;
    let method = req.get("method").map(scalar_text)?.to_ascii_uppercase();
    let url = req.get("url").map(scalar_text)?;
    let what = format!("{method} {url}");
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        notes.add(item, format!("{what}: not an HTTP request, left out"));
        return None;
    }
    if let Some(kind) = static_kind(e, &url) {
        notes.add(item, format!("{what}: static asset ({kind}), left out"));
        return None;
    }
    if !METHODS.contains(&method.as_str()) {
        notes.add(
            item,
            format!("{what}: method not supported by plans, left out"),
        );
        return None;
    }
    let (base, qs) = split_url(&url);
    let parsed = url::Url::parse(&base).ok()?;
    let origin = parsed.origin().ascii_serialization();
    let host = plan.host.get_or_insert_with(|| origin.clone()).clone();
    let path = parsed.path().to_string();
    let mut step = StepOut {
        item: format!("{item} / {path}"),
        name: path.clone(),
        method,
        url: if origin == host { path } else { base.clone() },
        query: parse_query(qs.as_deref().unwrap_or("")),
        ..Default::default()
    };
    let mut cookies = Vec::new();
    for h in req
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = h.get("name").map(scalar_text).unwrap_or_default();
        let value = h.get("value").map(scalar_text).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        if lower == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .filter_map(|c| c.split_once('='))
                    .map(|(k, _)| k.trim().to_string()),
            );
        }
        if name.starts_with(':')
            || lower.starts_with("sec-")
            || BROWSER_HEADERS.contains(&lower.as_str())
        {
            dropped.insert(lower);
            continue;
        }
        step.headers.push((name, value));
    }
    if !cookies.is_empty() {
        plan.session = true;
        notes.add(
            &step.item,
            format!(
                "cookies not replayed ({}): the plan keeps a session per user instead (session: true)",
                cookies.join(", ")
            ),
        );
    }
    if e.pointer("/response/headers")
        .and_then(Value::as_array)
        .is_some_and(|hs| {
            hs.iter().any(|h| {
                h.get("name")
                    .map(scalar_text)
                    .is_some_and(|n| n.eq_ignore_ascii_case("set-cookie"))
            })
        })
    {
        plan.session = true;
    }
    if let Some(pd) = req.get("postData") {
        body(&mut step, pd, notes);
    }
    Some(step)
}

fn body(step: &mut StepOut, pd: &Value, notes: &mut Notes) {
    let mime = pd.get("mimeType").map(scalar_text).unwrap_or_default();
    let text = pd.get("text").map(scalar_text).unwrap_or_default();
    let params: Vec<&Value> = pd
        .get("params")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    if mime.starts_with("application/x-www-form-urlencoded") {
        step.remove_header("content-type");
        step.body = BodyOut::Form(if params.is_empty() {
            parse_query(&text)
        } else {
            params
                .iter()
                .map(|p| {
                    (
                        p.get("name").map(scalar_text).unwrap_or_default(),
                        p.get("value").map(scalar_text).unwrap_or_default(),
                    )
                })
                .collect()
        });
    } else if mime.starts_with("multipart/form-data") && !params.is_empty() {
        step.remove_header("content-type");
        let mut parts = Vec::new();
        for p in params {
            let name = p.get("name").map(scalar_text).unwrap_or_default();
            if let Some(f) = p.get("fileName") {
                notes.add(&step.item, format!("form-data file part {name} ({}) not carried over: HAR files do not keep file contents", scalar_text(f)));
                continue;
            }
            parts.push((
                name,
                json!(p.get("value").map(scalar_text).unwrap_or_default()),
            ));
        }
        step.body = BodyOut::Multipart(parts);
    } else if !text.is_empty() {
        if step.header("content-type").is_none() && !mime.is_empty() {
            step.headers.push(("Content-Type".into(), mime));
        }
        raw_body(step, text, "");
    }
}

/// Why an entry is a static asset, if it is one.
fn static_kind(e: &Value, url: &str) -> Option<String> {
    if let Some(t) = e.get("_resourceType").and_then(Value::as_str) {
        let t = t.to_ascii_lowercase();
        return STATIC_TYPES.contains(&t.as_str()).then_some(t);
    }
    let mime = e
        .pointer("/response/content/mimeType")
        .map(scalar_text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(m) = STATIC_MIME.iter().find(|m| mime.contains(*m)) {
        return Some(m.trim_end_matches('/').to_string());
    }
    let path = split_url(url).0.to_ascii_lowercase();
    STATIC_EXT
        .iter()
        .find(|x| path.ends_with(*x))
        .map(|x| x.to_string())
}

#[cfg(test)]
mod tests;
