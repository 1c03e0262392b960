//! Sending one compiled step and judging its response.
//!
//! [`run_step`] renders the step with the user's variables (through `engine::request`), sends it
//! ([`send`](super::send): the user's own HTTP/1.1 connections, or the shared pool of HTTP/2
//! plans), keeps the body only when something reads it, judges it (through `engine::checks`), and
//! measures it honestly: the clock starts before the request is built and stops after the last
//! body byte.
//! With `capture`, it also returns a [`Trace`] of everything (for `--once` and the UI's Send);
//! without it, nothing but the outcome is kept.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use reqwest::header::HeaderMap;

use super::allow::AllowList;
use super::checks;
use super::compiled::{CompiledBody, CompiledStep, UrlSource};
use super::conns::Conns;
use super::outcome::{Outcome, Trace};
use super::request::{Prepared, prepare};
use super::send::{self, Request};
use super::template::Vars;

/// Bodies kept in a trace are cut at this size.
pub const TRACE_BODY_LIMIT: usize = 64 * 1024;

/// The shared HTTP client of `"http": "2"` plans: one connection pool, keep-alive, no proxy.
pub fn http_client(
    allow: Option<std::sync::Arc<super::AllowList>>,
) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("locust-http/", env!("CARGO_PKG_VERSION")))
        .redirect(super::allow::redirect_policy(allow))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
}

/// The user-side context of a request.
#[derive(Debug)]
pub struct StepContext<'a> {
    pub client: &'a reqwest::Client,
    /// The user's own HTTP/1.1 connections; `None`: the shared client (HTTP/2 plans).
    pub conns: Option<&'a mut Conns>,
    pub vars: &'a mut Vars,
    pub jar: Option<&'a reqwest::cookie::Jar>,
    pub rng: &'a mut SmallRng,
    pub timeout: Duration,
    /// Response bytes kept at most (the plan's `max_body`).
    pub max_body: usize,
    pub capture: bool,
    /// Hosts the request may go to (`--allow-target`); `None` = anywhere.
    pub allow: Option<&'a AllowList>,
}

/// Sends one step and judges the response.
pub async fn run_step(step: &CompiledStep, ctx: StepContext<'_>) -> (Outcome, Option<Box<Trace>>) {
    let started = Instant::now();
    let elapsed = move || started.elapsed().as_secs_f64() * 1000.0;
    let mut trace = ctx.capture.then(|| {
        Box::new(Trace {
            step: step.name.clone(),
            method: step.method.to_string(),
            ..Trace::default()
        })
    });
    // A step laid out at compile time goes out as is: nothing to render, nothing to copy.
    let fast = match (&step.wire, &step.url, &step.body, &ctx.conns) {
        (Some(wire), UrlSource::Fixed(url), body, Some(_)) if trace.is_none() => {
            let body = match body {
                CompiledBody::Fixed(b) => Some(b.clone()),
                _ => None,
            };
            Some((wire, url, body))
        }
        _ => None,
    };
    let (request, wire) = match fast {
        Some((wire, url, body)) => (
            Request {
                method: step.method.clone(),
                url: Cow::Borrowed(url),
                headers: Cow::Borrowed(&step.headers),
                body,
                jar: ctx.jar,
                allow: ctx.allow,
                timeout: ctx.timeout,
                keep_body: step.needs_body,
                keep_headers: step.needs_headers,
                max_body: ctx.max_body,
            },
            Some(wire),
        ),
        None => {
            let Prepared { url, headers, body } = match prepare(step, ctx.vars, ctx.rng, ctx.allow)
            {
                Ok(p) => p,
                Err(failure) => {
                    if let Some(t) = trace.as_mut() {
                        t.error = Some(failure.to_string());
                    }
                    let outcome = Outcome {
                        status: None,
                        response_time_ms: 0.0,
                        content_length: 0,
                        failure: Some(failure),
                        sent: false,
                    };
                    return (outcome, trace);
                }
            };
            if let Some(t) = trace.as_mut() {
                t.url = url.to_string();
                t.request_headers = header_pairs(&headers);
                t.request_body = body
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned());
            }
            let request = Request {
                method: step.method.clone(),
                url: Cow::Owned(url),
                headers: Cow::Owned(headers),
                body,
                jar: ctx.jar,
                allow: ctx.allow,
                timeout: ctx.timeout,
                keep_body: step.needs_body || ctx.capture,
                keep_headers: step.needs_headers || ctx.capture,
                max_body: ctx.max_body,
            };
            (request, None)
        }
    };
    let exchange = match ctx.conns {
        Some(conns) => send::h1(conns, request, wire).await,
        None => send::pooled(ctx.client, request).await,
    };
    let response_time_ms = elapsed();
    let Some(status) = exchange.status else {
        let failure = exchange.error;
        if let (Some(t), Some(f)) = (trace.as_mut(), &failure) {
            t.response_time_ms = response_time_ms;
            t.error = Some(f.to_string());
        }
        let outcome = Outcome {
            status: None,
            response_time_ms,
            content_length: 0,
            failure,
            sent: true,
        };
        return (outcome, trace);
    };
    let kept = &exchange.body;
    if let Some(t) = trace.as_mut() {
        t.status = Some(status);
        t.reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .map(str::to_string);
        t.response_headers = header_pairs(&exchange.headers);
        t.response_body_truncated = kept.len() > TRACE_BODY_LIMIT;
        t.response_body =
            Some(String::from_utf8_lossy(&kept[..kept.len().min(TRACE_BODY_LIMIT)]).into_owned());
        t.response_time_ms = response_time_ms;
        t.content_length = exchange.content_length;
    }
    let failure = match exchange.error {
        Some(f) => Some(f),
        None => {
            let response = checks::Response {
                status,
                headers: &exchange.headers,
                body: kept,
                response_time_ms,
            };
            checks::judge(step, &response, ctx.vars, trace.as_deref_mut())
        }
    };
    if let (Some(t), Some(f)) = (trace.as_mut(), &failure) {
        t.error.get_or_insert_with(|| f.to_string());
    }
    let outcome = Outcome {
        status: Some(status),
        response_time_ms,
        content_length: exchange.content_length,
        failure,
        sent: true,
    };
    (outcome, trace)
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
