//! The browser guard: the one middleware that keeps a web page from using a browser against
//! the bridge (cross-site request forgery and DNS rebinding).
//!
//! - Every state-changing request (`POST`, `PUT`, `PATCH`, `DELETE`) must say
//!   `Content-Type: application/json`, even without a body: an HTML form or a "simple" cross-origin
//!   `fetch` cannot send that without a CORS preflight, which the bridge never grants.
//! - A state-changing request whose `Origin` is present and is not the bridge's own origin
//!   (`http://` or `https://` plus the request's `Host`) is refused.
//! - On a loopback bind, a request whose `Host` is not a loopback name (`localhost`, `127.0.0.1`,
//!   `[::1]`, with or without a port) is refused, whatever its method: a rebound DNS name
//!   reaching the loopback port carries the attacker's name in `Host`.
//!
//! Refusals are JSON errors through [`ApiError`] (`403`, or `415` for the content type).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;

/// What the guard enforces beyond the content type and origin checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    /// The bridge listens on loopback only: `Host` must be a loopback name.
    pub loopback_only: bool,
}

/// The middleware (`axum::middleware::from_fn_with_state(guard, guard::enforce)`).
pub async fn enforce(State(guard): State<Guard>, req: Request, next: Next) -> Response {
    match check(guard, req.method(), req.uri(), req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::debug!(method = %req.method(), uri = %req.uri(), error = %e, "request refused by the browser guard");
            e.into_response()
        }
    }
}

/// Checks one request's method and headers; `Err` is the response to send instead.
pub fn check(
    guard: Guard,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    // The authority the client asked for: `Host`, or the URI's (HTTP/2).
    let host = match headers.get(header::HOST) {
        Some(v) => v.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    };
    if guard.loopback_only && !host.is_some_and(is_loopback_authority) {
        return Err(forbidden(
            "this bridge serves loopback names only (Host must be localhost, 127.0.0.1 or [::1])",
        ));
    }
    if !is_state_changing(method) {
        return Ok(());
    }
    if !is_json(headers) {
        return Err(ApiError::Status {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "state-changing requests must have Content-Type: application/json".into(),
        });
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same = match (origin.to_str(), host) {
            (Ok(origin), Some(host)) => is_own_origin(origin, host),
            _ => false,
        };
        if !same {
            return Err(forbidden("cross-origin requests are refused"));
        }
    }
    Ok(())
}

fn forbidden(message: &str) -> ApiError {
    ApiError::Status {
        status: StatusCode::FORBIDDEN,
        message: message.into(),
    }
}

fn is_state_changing(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// `Content-Type: application/json`, parameters (`; charset=utf-8`) allowed.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

/// `origin` is `http://HOST` or `https://HOST` (a TLS-terminating proxy in front), where HOST is
/// the request's `Host` exactly (ASCII case aside).
fn is_own_origin(origin: &str, host: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        origin
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
    })
}

/// `localhost`, `127.0.0.1` or `[::1]`, optionally followed by `:PORT`.
pub fn is_loopback_authority(authority: &str) -> bool {
    let (name, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => (&authority[..=end], &authority[end + 1..]),
            None => return false,
        }
    } else {
        authority.split_at(authority.find(':').unwrap_or(authority.len()))
    };
    let port_ok = match port.strip_prefix(':') {
        Some(digits) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        None => port.is_empty(),
    };
    port_ok && (name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]")
}

#[cfg(test)]
mod tests;
