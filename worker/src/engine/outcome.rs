//! The outcome of one request, shared by every part of the engine and by stats: [`Failure`]
//! (why a request failed, with stable text so identical failures merge into one row). It depends
//! on nothing else in the crate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

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
