//! Request rendering and URL resolution: a compiled step and one user's variables become a
//! [`Prepared`] request (URL, headers, body), ready for [`http`](super::http) to send. URLs join
//! the host the way Locust does ([`resolve_url`], also used by the compiler for fixed URLs); a
//! templated URL is checked against the allow-list after rendering.

use bytes::Bytes;
use rand::rngs::SmallRng;
use reqwest::header::{HeaderMap, HeaderValue};

use super::allow::AllowList;
use super::compiled::{CompiledBody, CompiledStep, JsonTpl, UrlSource};
use super::outcome::Failure;
use super::template::Vars;

/// A request ready to send.
#[derive(Debug)]
pub struct Prepared {
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
}

const USER_AGENT: &str = concat!("locust-http/", env!("CARGO_PKG_VERSION"));

/// The bytes of a request on a user's HTTP/1.1 connection: the request line, `Host`, the headers
/// (`User-Agent` and `Accept: */*` unless the step sets them), then the body with its
/// `Content-Length`. The compiler lays out every step with no template once
/// ([`CompiledStep::wire`]); the others are laid out per request.
pub fn lay_out(
    method: &str,
    url: &reqwest::Url,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> crate::h1::Prepared {
    let mut b = crate::h1::PreparedBuilder::new(method);
    b.text(url.path());
    if let Some(q) = url.query() {
        b.text("?").text(q);
    }
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => b.request_line_end(&format!("{h}:{p}")),
        (Some(h), None) => b.request_line_end(h),
        (None, _) => b.request_line_end(""),
    };
    for (k, v) in headers {
        if let Ok(v) = v.to_str() {
            b.header(k.as_str(), v);
        }
    }
    if !headers.contains_key(reqwest::header::USER_AGENT) {
        b.header("user-agent", USER_AGENT);
    }
    if !headers.contains_key(reqwest::header::ACCEPT) {
        b.header("accept", "*/*");
    }
    b.body(body).finish()
}

/// Joins a step URL to the host the way Locust does (`host + path`), or takes it as absolute.
/// `Ok(None)`: the URL is relative and there is no host.
pub fn resolve_url(url: &str, host: Option<&str>) -> Result<Option<reqwest::Url>, String> {
    if url.contains("://") {
        return reqwest::Url::parse(url)
            .map(Some)
            .map_err(|e| e.to_string());
    }
    let Some(host) = host else { return Ok(None) };
    let base = host.trim_end_matches('/');
    let full = if url.starts_with('/') {
        format!("{base}{url}")
    } else {
        format!("{base}/{url}")
    };
    reqwest::Url::parse(&full)
        .map(Some)
        .map_err(|e| format!("{full:?} is not a valid URL: {e}"))
}

/// The failure for a step whose relative URL has no host.
pub fn no_host() -> Failure {
    Failure::message(
        "no host: the url is relative and neither the plan nor the master (-H) gives a host",
    )
}

/// Renders `step` with `vars`; a template, URL or allow-list problem is the step's failure (the
/// request is then not sent).
pub fn prepare(
    step: &CompiledStep,
    vars: &Vars,
    rng: &mut SmallRng,
    allow: Option<&AllowList>,
) -> Result<Prepared, Failure> {
    let mut url = match &step.url {
        UrlSource::Fixed(u) => u.clone(),
        UrlSource::NoHost => return Err(no_host()),
        UrlSource::Template { tpl, base } => {
            let text = tpl.render(vars, rng)?;
            let url = resolve_url(&text, base.as_deref())
                .map_err(|e| Failure::message(format!("bad url after templating: {e}")))?
                .ok_or_else(no_host)?;
            if let Some(why) = super::allow::refusal(allow, &url) {
                return Err(Failure::message(why));
            }
            url
        }
    };
    if !step.query.is_empty() {
        let mut rendered = Vec::with_capacity(step.query.len());
        for (k, t) in &step.query {
            rendered.push((k.as_str(), t.render(vars, rng)?));
        }
        url.query_pairs_mut().extend_pairs(rendered);
    }
    let mut headers = step.headers.clone();
    for (name, t) in &step.header_templates {
        let value = t.render(vars, rng)?;
        let value = HeaderValue::from_str(&value).map_err(|_| {
            Failure::message(format!("header {name}: not a valid value after templating"))
        })?;
        headers.append(name.clone(), value);
    }
    let body = render_body(&step.body, vars, rng)?;
    Ok(Prepared { url, headers, body })
}

fn render_body(
    body: &CompiledBody,
    vars: &Vars,
    rng: &mut SmallRng,
) -> Result<Option<Bytes>, Failure> {
    Ok(match body {
        CompiledBody::None => None,
        CompiledBody::Fixed(b) => Some(b.clone()),
        CompiledBody::Text(t) => Some(Bytes::from(t.render(vars, rng)?)),
        CompiledBody::Json(t) => Some(Bytes::from(
            serde_json::to_vec(&render_json(t, vars, rng)?).unwrap_or_default(),
        )),
        CompiledBody::Multipart { boundary, parts } => {
            let mut out = String::new();
            for part in parts {
                out.push_str("--");
                out.push_str(boundary);
                out.push_str("\r\n");
                out.push_str(&part.head);
                out.push_str("\r\n");
                part.content.render_into(&mut out, vars, rng)?;
                out.push_str("\r\n");
            }
            out.push_str("--");
            out.push_str(boundary);
            out.push_str("--\r\n");
            Some(Bytes::from(out))
        }
        CompiledBody::Form(fields) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, t) in fields {
                ser.append_pair(k, &t.render(vars, rng)?);
            }
            Some(Bytes::from(ser.finish()))
        }
    })
}

fn render_json(t: &JsonTpl, vars: &Vars, rng: &mut SmallRng) -> Result<serde_json::Value, Failure> {
    Ok(match t {
        JsonTpl::Fixed(v) => v.clone(),
        JsonTpl::Str(t) => serde_json::Value::String(t.render(vars, rng)?),
        JsonTpl::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| render_json(i, vars, rng))
                .collect::<Result<_, _>>()?,
        ),
        JsonTpl::Object(items) => serde_json::Value::Object(
            items
                .iter()
                .map(|(k, i)| Ok((k.clone(), render_json(i, vars, rng)?)))
                .collect::<Result<_, Failure>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compile::compile;
    use contract::Plan;
    use rand::SeedableRng;
    use reqwest::header::CONTENT_TYPE;

    fn plan(json: &str) -> crate::engine::CompiledPlan {
        compile(&Plan::from_json(json).unwrap(), None).unwrap()
    }

    #[test]
    fn urls_join_the_host_like_locust() {
        let u = |url, host| resolve_url(url, host).unwrap().map(|u| u.to_string());
        assert_eq!(u("/x", Some("http://h/api/")).unwrap(), "http://h/api/x");
        assert_eq!(u("x", Some("http://h/api")).unwrap(), "http://h/api/x");
        assert_eq!(u("http://abs:2/z", None).unwrap(), "http://abs:2/z");
        assert_eq!(u("/x", None), None);
        assert!(resolve_url("/x", Some("no host")).is_err());
    }

    #[test]
    fn templated_urls_queries_headers_and_json_render_per_user() {
        let c = plan(
            r#"{"name": "p", "host": "http://h", "variables": {"v": "1 2"}, "transactions": [{"name": "t", "steps": [
                {"name": "k", "method": "POST", "url": "/{{v}}", "query": {"a": "b", "q": "{{v}}"},
                 "json": {"a": "{{v}}", "b": [1]}, "headers": {"X": "{{v}}", "Y": "y"},
                 "extract": [{"var": "tok", "status": true}]},
                {"name": "u", "method": "GET", "url": "/{{tok}}"}]}]}"#,
        );
        let mut rng = SmallRng::seed_from_u64(1);
        let vars = c.vars.vars();
        let p = prepare(&c.transactions[0].steps[0], &vars, &mut rng, None).unwrap();
        assert_eq!(p.url.as_str(), "http://h/1%202?a=b&q=1+2");
        assert_eq!(p.headers["X"], "1 2");
        assert_eq!(p.headers["Y"], "y");
        assert_eq!(p.headers[CONTENT_TYPE], "application/json");
        assert_eq!(p.body.unwrap().as_ref(), br#"{"a":"1 2","b":[1]}"#);
        let err = prepare(&c.transactions[0].steps[1], &vars, &mut rng, None).unwrap_err();
        assert_eq!(err.to_string(), "undefined variable {{tok}}");
    }

    #[test]
    fn a_templated_url_outside_the_allow_list_is_not_sent() {
        let c = plan(
            r#"{"name": "p", "variables": {"h": "http://evil"}, "transactions": [{"name": "t", "steps": [
                {"name": "a", "method": "GET", "url": "{{h}}/x"}]}]}"#,
        );
        let allow = AllowList::parse(&["good"]).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        let err = prepare(
            &c.transactions[0].steps[0],
            &c.vars.vars(),
            &mut rng,
            Some(&allow),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "target evil is not allowed (allowed: good)"
        );
    }

    #[test]
    fn multipart_bodies_render_with_their_boundary() {
        let c = plan(
            r#"{"name": "p", "host": "http://h", "variables": {"v": "x"}, "transactions": [{"name": "t", "steps": [
                {"name": "m", "method": "POST", "url": "/", "multipart": {"a": "{{v}}", "f": {"file": "a.txt", "content": "hi"}}}]}]}"#,
        );
        let step = &c.transactions[0].steps[0];
        let CompiledBody::Multipart { boundary, .. } = &step.body else {
            panic!("not multipart")
        };
        let ct = step.headers[CONTENT_TYPE].to_str().unwrap().to_string();
        assert_eq!(ct, format!("multipart/form-data; boundary={boundary}"));
        let mut rng = SmallRng::seed_from_u64(1);
        let prepared = prepare(step, &c.vars.vars(), &mut rng, None).unwrap();
        let body = String::from_utf8(prepared.body.unwrap().to_vec()).unwrap();
        assert_eq!(
            body,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n--{boundary}--\r\n"
            )
        );
    }
}
