//! The plan-to-task compiler and the HTTP engine.
//!
//! [`compile`] turns a validated [`Plan`] into a [`CompiledPlan`]: URLs resolved against the
//! effective host (the master's `-H` wins over the plan's `host`, as in Locust), headers and bodies
//! pre-built, statistics keys interned, transaction weights laid out for picking. [`execute`] runs
//! one compiled step on the shared connection pool and measures it honestly: the clock starts
//! before the request is built and stops after the last body byte is read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use contract::FieldError;
use contract::plan::{Body, Plan, Step};
use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::stats::{Failure, StatKey, Stats};

/// A plan ready to run: immutable, shared by every user.
#[derive(Debug)]
pub struct CompiledPlan {
    pub name: String,
    pub transactions: Vec<CompiledTransaction>,
    /// Running sums of the transaction weights, for picking by weight.
    cumulative: Vec<u64>,
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct CompiledTransaction {
    pub name: String,
    pub steps: Vec<CompiledStep>,
}

#[derive(Debug)]
pub struct CompiledStep {
    pub name: String,
    pub method: reqwest::Method,
    /// The full URL, or why there is none (a relative URL and no host anywhere).
    pub url: Result<reqwest::Url, Failure>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    pub stat: StatKey,
}

impl CompiledPlan {
    /// Picks a transaction by weight.
    pub fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &CompiledTransaction {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let x = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.transactions[i.min(self.transactions.len() - 1)]
    }
}

/// Compiles `plan`; `host_override` is the master's `-H`, when given.
pub fn compile(
    plan: &Plan,
    host_override: Option<&str>,
    stats: &Stats,
) -> Result<CompiledPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let host = match host_override {
        Some(h) => match contract::plan::check_base_url(h) {
            Ok(()) => Some(h),
            Err(message) => {
                errors.push(FieldError {
                    path: "host (from the master's -H)".into(),
                    message,
                });
                None
            }
        },
        None => plan.host.as_deref(),
    };
    let mut transactions = Vec::with_capacity(plan.transactions.len());
    let mut cumulative = Vec::with_capacity(plan.transactions.len());
    let mut sum = 0u64;
    for (ti, t) in plan.transactions.iter().enumerate() {
        let steps = t
            .steps
            .iter()
            .enumerate()
            .filter_map(|(si, s)| {
                compile_step(s, host, stats)
                    .map_err(|(field, message)| {
                        errors.push(FieldError {
                            path: format!("transactions[{ti}].steps[{si}].{field}"),
                            message,
                        })
                    })
                    .ok()
            })
            .collect();
        sum += u64::from(t.weight);
        cumulative.push(sum);
        transactions.push(CompiledTransaction {
            name: t.name.clone(),
            steps,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledPlan {
        name: plan.name.clone(),
        transactions,
        cumulative,
        timeout: plan.timeout,
    })
}

fn compile_step(
    step: &Step,
    host: Option<&str>,
    stats: &Stats,
) -> Result<CompiledStep, (&'static str, String)> {
    let url = resolve_url(&step.url, host).map_err(|e| ("url", e));
    let url = match url {
        Ok(Some(mut u)) => {
            if !step.query.is_empty() {
                let mut pairs = u.query_pairs_mut();
                for (k, v) in step.query.iter() {
                    pairs.append_pair(k, v);
                }
            }
            Ok(u)
        }
        Ok(None) => Err(Failure::message(
            "no host: the url is relative and neither the plan nor the master (-H) gives a host",
        )),
        Err(e) => return Err(e),
    };
    let mut headers = HeaderMap::new();
    for (k, v) in step.headers.iter() {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|e| ("headers", format!("{k}: {e}")))?;
        let value = HeaderValue::from_str(v).map_err(|e| ("headers", format!("{k}: {e}")))?;
        headers.append(name, value);
    }
    let (body, content_type) = match &step.body {
        Body::None => (None, None),
        Body::Json { json } => (
            Some(Bytes::from(serde_json::to_vec(json).unwrap_or_default())),
            Some("application/json".to_string()),
        ),
        Body::Raw { body, content_type } => (
            Some(Bytes::from(body.clone())),
            Some(
                content_type
                    .clone()
                    .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
            ),
        ),
        Body::Form { form } => {
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter())
                .finish();
            (
                Some(Bytes::from(encoded)),
                Some("application/x-www-form-urlencoded".to_string()),
            )
        }
    };
    if let Some(ct) = content_type
        && !headers.contains_key(CONTENT_TYPE)
    {
        let value = HeaderValue::from_str(&ct).map_err(|e| ("content_type", e.to_string()))?;
        headers.insert(CONTENT_TYPE, value);
    }
    let method = reqwest::Method::from_bytes(step.method.as_str().as_bytes())
        .map_err(|e| ("method", e.to_string()))?;
    Ok(CompiledStep {
        name: step.name.clone(),
        stat: stats.key(method.as_str(), &step.name),
        method,
        url,
        headers,
        body,
    })
}

/// Joins a step URL to the host the way Locust does (`host + path`), or takes it as absolute.
fn resolve_url(url: &str, host: Option<&str>) -> Result<Option<reqwest::Url>, String> {
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

/// The shared HTTP client: one connection pool for every user, keep-alive, no proxy.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("locust-http/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Option<u16>,
    /// Milliseconds from just before sending to the last body byte (or the error).
    pub response_time_ms: f64,
    pub content_length: u64,
    pub failure: Option<Failure>,
}

/// Sends one step and reads the whole response.
pub async fn execute(client: &reqwest::Client, step: &CompiledStep, timeout: Duration) -> Outcome {
    let started = Instant::now();
    let elapsed = |started: Instant| started.elapsed().as_secs_f64() * 1000.0;
    let url = match &step.url {
        Ok(u) => u.clone(),
        Err(f) => {
            return Outcome {
                status: None,
                response_time_ms: 0.0,
                content_length: 0,
                failure: Some(f.clone()),
            };
        }
    };
    let mut req = client
        .request(step.method.clone(), url)
        .headers(step.headers.clone())
        .timeout(timeout);
    if let Some(body) = &step.body {
        req = req.body(body.clone());
    }
    let mut response = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                status: None,
                response_time_ms: elapsed(started),
                content_length: 0,
                failure: Some(classify(&e, timeout)),
            };
        }
    };
    let status = response.status().as_u16();
    let mut content_length = 0u64;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => content_length += chunk.len() as u64,
            Ok(None) => break,
            Err(e) => {
                return Outcome {
                    status: Some(status),
                    response_time_ms: elapsed(started),
                    content_length,
                    failure: Some(classify(&e, timeout)),
                };
            }
        }
    }
    Outcome {
        status: Some(status),
        response_time_ms: elapsed(started),
        content_length,
        failure: (status >= 400).then_some(Failure::Status(status)),
    }
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
    Failure::Message(Arc::from(format!("{kind}: {root}")))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Plan {
        Plan::from_json(json).unwrap()
    }

    #[test]
    fn master_host_overrides_plan_host_and_urls_join_like_locust() {
        let p = plan(
            r#"{"name": "p", "host": "http://plan:1/api", "transactions": [{"name": "t", "steps": [
                {"name": "a", "method": "GET", "url": "/x", "query": {"q": "1 2"}},
                {"name": "b", "method": "get", "url": "y"},
                {"name": "c", "method": "GET", "url": "http://abs:2/z"}]}]}"#,
        );
        let stats = Stats::new();
        let c = compile(&p, None, &stats).unwrap();
        let urls: Vec<String> = c.transactions[0]
            .steps
            .iter()
            .map(|s| s.url.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(
            urls,
            [
                "http://plan:1/api/x?q=1+2",
                "http://plan:1/api/y",
                "http://abs:2/z"
            ]
        );
        let c = compile(&p, Some("http://master:3"), &stats).unwrap();
        assert_eq!(
            c.transactions[0].steps[0].url.as_ref().unwrap().as_str(),
            "http://master:3/x?q=1+2"
        );
        assert!(compile(&p, Some("not a url"), &stats).is_err());
    }

    #[test]
    fn relative_url_without_any_host_fails_at_request_time() {
        let p = plan(
            r#"{"name": "p", "transactions": [{"name": "t", "steps": [{"name": "a", "method": "GET", "url": "/x"}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        assert!(c.transactions[0].steps[0].url.is_err());
    }

    #[test]
    fn bodies_get_their_content_type() {
        let p = plan(
            r#"{"name": "p", "host": "http://h", "transactions": [{"name": "t", "steps": [
                {"name": "j", "method": "POST", "url": "/", "json": {"a": 1}},
                {"name": "f", "method": "POST", "url": "/", "form": {"a": "b c"}},
                {"name": "r", "method": "POST", "url": "/", "body": "<x/>", "content_type": "application/xml"},
                {"name": "h", "method": "POST", "url": "/", "body": "x", "headers": {"Content-Type": "text/csv"}}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        let s = &c.transactions[0].steps;
        assert_eq!(s[0].headers[CONTENT_TYPE], "application/json");
        assert_eq!(s[0].body.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(s[1].body.as_deref(), Some(&b"a=b+c"[..]));
        assert_eq!(s[2].headers[CONTENT_TYPE], "application/xml");
        assert_eq!(s[3].headers[CONTENT_TYPE], "text/csv");
    }

    #[test]
    fn picks_follow_weights() {
        let p = plan(
            r#"{"name": "p", "host": "http://h", "transactions": [
                {"name": "a", "weight": 3, "steps": [{"name": "a", "method": "GET", "url": "/"}]},
                {"name": "b", "weight": 1, "steps": [{"name": "b", "method": "GET", "url": "/"}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        let mut rng = rand::rng();
        let a = (0..4000).filter(|_| c.pick(&mut rng).name == "a").count();
        assert!((2700..3300).contains(&a), "{a}");
    }
}
