//! Putting a rendered request on the wire and reading its response, two ways:
//! - [`h1`]: HTTP/1.1 on the user's own keep-alive connection ([`Conns`]), one write per request,
//!   redirects followed here (each hop checked against the target policy), cookies from the
//!   user's jar, the body counted always and kept only when something reads it, up to the plan's
//!   `max_body`. The default.
//! - [`pooled`]: reqwest's shared pool, for `"http": "2"` plans (HTTP/2, proxies).
//!
//! Both give an [`Exchange`]; transport problems become short stable [`Failure`] texts.

use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{COOKIE, HeaderMap, HeaderName, HeaderValue, SET_COOKIE};

use super::allow::{self, AllowList, MAX_REDIRECTS};
use super::conns::Conns;
use super::outcome::Failure;
use super::request::lay_out;
use crate::h1;

/// A response as the engine judges it.
#[derive(Debug, Default)]
pub struct Exchange {
    pub status: Option<u16>,
    pub headers: HeaderMap,
    /// The body, when kept (empty otherwise).
    pub body: Vec<u8>,
    /// Body bytes received, kept or not.
    pub content_length: u64,
    /// A transport problem (no status, or a body that could not be read).
    pub error: Option<Failure>,
}

/// What to send. The URL and headers are borrowed from the compiled step when nothing was
/// rendered, and copied only when a redirect or a cookie changes them.
#[derive(Debug)]
pub struct Request<'a> {
    pub method: reqwest::Method,
    pub url: Cow<'a, reqwest::Url>,
    pub headers: Cow<'a, HeaderMap>,
    pub body: Option<Bytes>,
    pub jar: Option<&'a Jar>,
    pub allow: Option<&'a AllowList>,
    pub timeout: Duration,
    /// Keep the body (a check, an extractor or a trace reads it).
    pub keep_body: bool,
    /// Keep the response headers (a check, an extractor or a trace reads them). Redirects and
    /// the cookie jar get theirs regardless.
    pub keep_headers: bool,
    pub max_body: usize,
}

fn too_large(limit: usize) -> Failure {
    Failure::message(format!(
        "response body larger than the limit of {limit} bytes (max_body)"
    ))
}

/// HTTP/1.1 on the user's own connections. `wire` is the request laid out at compile time (a
/// step with no template); it is used for the first hop unless a cookie must be added.
pub async fn h1(
    conns: &mut Conns,
    mut req: Request<'_>,
    mut wire: Option<&h1::Prepared>,
) -> Exchange {
    let mut hops = 0;
    loop {
        if let Some(jar) = req.jar
            && let Some(cookies) = jar.cookies(&req.url)
        {
            req.headers.to_mut().insert(COOKIE, cookies);
            wire = None;
        }
        let Some(conn) = conns.to(&req.url) else {
            return Exchange {
                error: Some(Failure::message("request error: unsupported URL scheme")),
                ..Exchange::default()
            };
        };
        let laid_out;
        let prepared = match wire.take() {
            Some(w) => w,
            None => {
                laid_out = lay_out(
                    req.method.as_str(),
                    &req.url,
                    &req.headers,
                    req.body.as_deref(),
                );
                &laid_out
            }
        };
        let want = h1::Want {
            headers: req.keep_headers || req.jar.is_some(),
            body: req.keep_body,
        };
        let sent = tokio::time::timeout(req.timeout, conn.send_with(prepared, &[], want)).await;
        let response = match sent {
            Err(_) => {
                conn.close();
                return Exchange {
                    error: Some(Failure::Timeout(req.timeout)),
                    ..Exchange::default()
                };
            }
            Ok(Err(e)) => {
                return Exchange {
                    error: Some(h1_failure(&e, req.timeout)),
                    ..Exchange::default()
                };
            }
            Ok(Ok(r)) => r,
        };
        let mut headers = HeaderMap::new();
        for (name, value) in response.headers.iter().flatten() {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value),
            ) {
                headers.append(n, v);
            }
        }
        if let Some(jar) = req.jar {
            let mut set = headers.get_all(SET_COOKIE).iter();
            jar.set_cookies(&mut set, &req.url);
        }
        let redirect = matches!(response.status, 301 | 302 | 303 | 307 | 308);
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| req.url.join(l).ok());
        if let (true, Some(next)) = (redirect, location) {
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Exchange {
                    error: Some(Failure::message(format!(
                        "request error: more than {MAX_REDIRECTS} redirects"
                    ))),
                    ..Exchange::default()
                };
            }
            if let Some(why) = allow::refusal(req.allow, &next) {
                return Exchange {
                    error: Some(Failure::message(format!("redirect refused: {why}"))),
                    ..Exchange::default()
                };
            }
            // As browsers and reqwest: 303 (and 301/302 after a POST) become a GET without body.
            if response.status == 303
                || (matches!(response.status, 301 | 302) && req.method == reqwest::Method::POST)
            {
                req.method = reqwest::Method::GET;
                req.body = None;
                let headers = req.headers.to_mut();
                headers.remove(reqwest::header::CONTENT_TYPE);
                headers.remove(reqwest::header::CONTENT_LENGTH);
            }
            if next.host_str() != req.url.host_str() || next.port() != req.url.port() {
                let headers = req.headers.to_mut();
                headers.remove(reqwest::header::AUTHORIZATION);
                headers.remove(COOKIE);
            }
            req.url = Cow::Owned(next);
            continue;
        }
        return Exchange {
            status: Some(response.status),
            headers,
            content_length: response.body_len,
            body: response.body,
            error: None,
        };
    }
}

fn h1_failure(e: &h1::H1Error, timeout: Duration) -> Failure {
    use h1::H1Error as E;
    match e {
        E::Timeout(_) | E::ConnectTimeout(_) => Failure::Timeout(timeout),
        E::BodyTooLarge { limit } => too_large(*limit),
        E::Connect { source, .. } => Failure::message(format!("connect error: {}", source.kind())),
        E::Tls { source, .. } => Failure::message(format!("connect error: TLS: {}", source.kind())),
        E::Write(io) | E::Read(io) => Failure::message(format!("request error: {}", io.kind())),
        E::UnexpectedEof => Failure::message("request error: connection closed before a response"),
        other => Failure::message(format!("request error: {other}")),
    }
}

/// reqwest's shared pool (HTTP/2 plans).
pub async fn pooled(client: &reqwest::Client, req: Request<'_>) -> Exchange {
    let mut headers = req.headers.into_owned();
    if let Some(jar) = req.jar
        && let Some(cookies) = jar.cookies(&req.url)
    {
        headers.insert(COOKIE, cookies);
    }
    let mut builder = client
        .request(req.method, req.url.as_ref().clone())
        .headers(headers)
        .timeout(req.timeout);
    if let Some(body) = req.body {
        builder = builder.body(body);
    }
    let mut response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            return Exchange {
                error: Some(classify(&e, req.timeout)),
                ..Exchange::default()
            };
        }
    };
    if let Some(jar) = req.jar {
        let mut set = response.headers().get_all(SET_COOKIE).iter();
        jar.set_cookies(&mut set, response.url());
    }
    let mut out = Exchange {
        status: Some(response.status().as_u16()),
        ..Exchange::default()
    };
    out.error = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                out.content_length += chunk.len() as u64;
                if req.keep_body {
                    if out.body.len() + chunk.len() > req.max_body {
                        break Some(too_large(req.max_body));
                    }
                    out.body.extend_from_slice(&chunk);
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(classify(&e, req.timeout)),
        }
    };
    out.headers = std::mem::take(response.headers_mut());
    out
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
