//! Sending one compiled step and judging its response.
//!
//! [`run_step`] renders the step with the user's variables (through `engine::request`), sends it
//! on the shared connection pool, reads the whole body, judges it (through `engine::checks`), and
//! measures it honestly: the clock starts before the request is built and stops after the last
//! body byte.
//! With `capture`, it also returns a [`Trace`] of everything (for `--once` and the UI's Send);
//! without it, nothing but the outcome is kept.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use reqwest::cookie::CookieStore;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};

use super::allow::AllowList;
use super::checks;
use super::compiled::CompiledStep;
use super::outcome::{Failure, Outcome, Trace};
use super::request::{Prepared, prepare};
use super::template::Vars;

/// Bodies kept in a trace are cut at this size.
pub const TRACE_BODY_LIMIT: usize = 64 * 1024;

/// The shared HTTP client: one connection pool for every user, keep-alive, no proxy.
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
    pub vars: &'a mut Vars,
    pub jar: Option<&'a reqwest::cookie::Jar>,
    pub rng: &'a mut SmallRng,
    pub timeout: Duration,
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
    let prepared = match prepare(step, ctx.vars, ctx.rng, ctx.allow) {
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
    let Prepared {
        url,
        mut headers,
        body,
    } = prepared;
    if let Some(jar) = ctx.jar
        && let Some(cookies) = jar.cookies(&url)
    {
        headers.insert(COOKIE, cookies);
    }
    if let Some(t) = trace.as_mut() {
        t.url = url.to_string();
        t.request_headers = header_pairs(&headers);
        t.request_body = body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned());
    }
    let mut req = ctx
        .client
        .request(step.method.clone(), url.clone())
        .headers(headers)
        .timeout(ctx.timeout);
    if let Some(body) = body {
        req = req.body(body);
    }
    let mut response = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let failure = classify(&e, ctx.timeout);
            if let Some(t) = trace.as_mut() {
                t.response_time_ms = elapsed();
                t.error = Some(failure.to_string());
            }
            let outcome = Outcome {
                status: None,
                response_time_ms: elapsed(),
                content_length: 0,
                failure: Some(failure),
                sent: true,
            };
            return (outcome, trace);
        }
    };
    let status = response.status();
    if let Some(jar) = ctx.jar {
        let mut set = response.headers().get_all(SET_COOKIE).iter();
        jar.set_cookies(&mut set, &url);
    }
    let keep_body = step.needs_body || ctx.capture;
    let mut kept = Vec::new();
    let mut content_length = 0u64;
    let read_error = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                content_length += chunk.len() as u64;
                if keep_body {
                    kept.extend_from_slice(&chunk);
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(classify(&e, ctx.timeout)),
        }
    };
    let response_time_ms = elapsed();
    let resp_headers = response.headers();
    if let Some(t) = trace.as_mut() {
        t.status = Some(status.as_u16());
        t.reason = status.canonical_reason().map(str::to_string);
        t.response_headers = header_pairs(resp_headers);
        t.response_body_truncated = kept.len() > TRACE_BODY_LIMIT;
        t.response_body =
            Some(String::from_utf8_lossy(&kept[..kept.len().min(TRACE_BODY_LIMIT)]).into_owned());
        t.response_time_ms = response_time_ms;
        t.content_length = content_length;
    }
    let failure = match read_error {
        Some(f) => Some(f),
        None => {
            let response = checks::Response {
                status: status.as_u16(),
                headers: resp_headers,
                body: &kept,
                response_time_ms,
            };
            checks::judge(step, &response, ctx.vars, trace.as_deref_mut())
        }
    };
    if let (Some(t), Some(f)) = (trace.as_mut(), &failure) {
        t.error.get_or_insert_with(|| f.to_string());
    }
    let outcome = Outcome {
        status: Some(status.as_u16()),
        response_time_ms,
        content_length,
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

/// A short, stable text for a transport error (no addresses that change between requests).
fn classify(e: &reqwest::Error, timeout: Duration) -> Failure {
    if e.is_timeout() {
        return Failure::Timeout(timeout);
    }
    let root = root_cause(e);
    let kind = if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request error"
    };
    Failure::message(format!("{kind}: {root}"))
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>() {
        return io.kind().to_string();
    }
    cur.to_string()
}
