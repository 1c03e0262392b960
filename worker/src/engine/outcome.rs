//! The outcome of one request, shared by every part of the engine and by stats: [`Failure`]
//! (why a request failed, with stable text so identical failures merge into one row),
//! [`Outcome`] (what a request measured), [`Trace`] (everything about it, for people to read)
//! and [`unix_now`] (the clock samples are stamped with). It depends on nothing else in the crate.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Wall-clock seconds since the Unix epoch, as Python's `time.time()`.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Option<u16>,
    /// Milliseconds from just before sending to the last body byte (or the error).
    pub response_time_ms: f64,
    pub content_length: u64,
    pub failure: Option<Failure>,
    /// False when the request never left (a template or URL problem): the target saw nothing.
    pub sent: bool,
}

/// Everything about one request and its response, for people to read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    pub step: String,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub response_body_truncated: bool,
    pub response_time_ms: f64,
    pub content_length: u64,
    pub extracted: Vec<(String, String)>,
    pub assertions: Vec<AssertionResult>,
    pub error: Option<String>,
}

/// One assertion's verdict, as shown in a [`Trace`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssertionResult {
    pub assertion: String,
    pub passed: bool,
    /// Why it failed (the failure text reported to Locust).
    pub message: Option<String>,
}

/// Why a request failed. The text is stable, so identical failures merge into one row of the
/// master's failures table; only unusual failures carry an allocated message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The response status was an error (>= 400 by default).
    Status(u16),
    /// No complete response within the plan's timeout.
    Timeout(Duration),
    /// The user was stopped while this request was in flight; it was abandoned.
    Aborted,
    /// Anything else, with a short stable description.
    Message(Arc<str>),
}

impl Failure {
    pub fn message(text: impl Into<Arc<str>>) -> Failure {
        Failure::Message(text.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(code) => {
                let reason = http_reason(*code);
                if reason.is_empty() {
                    write!(f, "HTTP {code}")
                } else {
                    write!(f, "HTTP {code} {reason}")
                }
            }
            Failure::Timeout(d) => write!(
                f,
                "timeout: no response within {}",
                contract::plan::format_duration(*d)
            ),
            Failure::Aborted => f.write_str("aborted: user stopped before the response arrived"),
            Failure::Message(m) => f.write_str(m),
        }
    }
}

fn http_reason(code: u16) -> &'static str {
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}
