//! The plan-to-task compiler: a validated [`Plan`] becomes a [`CompiledPlan`] whose steps have
//! their URLs resolved against the effective host (the master's `-H` wins over the plan's
//! `host`, as in Locust), static headers and bodies pre-built, templates bound to variable
//! slots, regexes and JSONPaths compiled, and statistics keys interned.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use contract::FieldError;
use contract::plan::{
    Assertion, Body, DataOrder, DataPer, ExtractSource, Plan, Step, ThinkTime, check_base_url,
};
use rand::Rng;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::allow::AllowList;
use super::outcome::Failure;
use super::template::{Tpl, VarId, VarTable, Vars};
use crate::stats::{StatKey, Stats};

/// A plan ready to run: immutable, shared by every user.
#[derive(Debug)]
pub struct CompiledPlan {
    pub name: String,
    pub setup: Vec<CompiledStep>,
    pub transactions: Vec<CompiledTransaction>,
    /// Running sums of the transaction weights, for picking by weight.
    cumulative: Vec<u64>,
    pub timeout: Duration,
    pub vars: VarTable,
    pub session: bool,
    pub data: Option<DataFeed>,
    pub limiter: Option<RateLimiter>,
    /// Hosts requests may go to; checked again before sending a templated URL.
    pub allow: Option<Arc<AllowList>>,
}

#[derive(Debug)]
pub struct CompiledTransaction {
    pub name: String,
    pub steps: Vec<CompiledStep>,
    pub think_time: Option<ThinkTime>,
    /// The `TXN` row, when the plan reports multi-step transactions.
    pub stat: Option<StatKey>,
}

/// Where a step's URL comes from.
#[derive(Debug)]
pub enum UrlSource {
    /// Resolved at compile time (possibly with the query already appended).
    Fixed(reqwest::Url),
    /// Rendered per request, then joined to `base` when relative.
    Template { tpl: Tpl, base: Option<String> },
    /// A relative URL and no host anywhere.
    NoHost,
}

#[derive(Debug)]
pub enum CompiledBody {
    None,
    Fixed(Bytes),
    Json(JsonTpl),
    Text(Tpl),
    Form(Vec<(String, Tpl)>),
    /// `multipart/form-data` with this boundary (also in the Content-Type header).
    Multipart {
        boundary: String,
        parts: Vec<MultipartPart>,
    },
}

/// One compiled part of a multipart body.
#[derive(Debug)]
pub struct MultipartPart {
    /// The `Content-Disposition` and `Content-Type` lines, pre-built.
    pub head: String,
    pub content: Tpl,
}

/// A JSON body with templates in its strings.
#[derive(Debug)]
pub enum JsonTpl {
    Fixed(Value),
    Str(Tpl),
    Array(Vec<JsonTpl>),
    Object(Vec<(String, JsonTpl)>),
}

#[derive(Debug)]
pub struct CompiledExtractor {
    pub var: VarId,
    pub name: String,
    pub source: Source,
}

#[derive(Debug)]
pub enum Source {
    Json(JsonPath, String),
    Regex(regex::Regex, usize),
    Header(HeaderName),
    Status,
}

#[derive(Debug)]
pub enum Check {
    Status(Vec<u16>),
    BodyContains(String),
    JsonExists(JsonPath, String, bool),
    JsonEquals(JsonPath, String, Value),
    HeaderEquals(HeaderName, String),
    HeaderContains(HeaderName, String),
    ResponseTimeUnder(f64),
}

#[derive(Debug)]
pub struct CompiledStep {
    pub name: String,
    pub method: reqwest::Method,
    pub url: UrlSource,
    /// Query parameters that hold templates (static ones are in a fixed URL).
    pub query: Vec<(String, Tpl)>,
    pub headers: HeaderMap,
    pub header_templates: Vec<(HeaderName, Tpl)>,
    pub body: CompiledBody,
    pub extract: Vec<CompiledExtractor>,
    pub checks: Vec<Check>,
    /// True when a check or extractor reads the body, which is then kept in memory.
    pub needs_body: bool,
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

/// The rows of a data set and the shared cursor over them.
#[derive(Debug)]
pub struct DataFeed {
    pub columns: Vec<VarId>,
    pub rows: Vec<Vec<Arc<str>>>,
    pub order: DataOrder,
    pub per: DataPer,
    cursor: AtomicUsize,
}

impl DataFeed {
    /// Puts the next row's values into `vars`.
    pub fn next_into<R: Rng + ?Sized>(&self, vars: &mut Vars, rng: &mut R) {
        let i = match self.order {
            DataOrder::Sequential => self.cursor.fetch_add(1, Ordering::Relaxed) % self.rows.len(),
            DataOrder::Random => rng.random_range(0..self.rows.len()),
        };
        for (id, value) in self.columns.iter().zip(&self.rows[i]) {
            vars.set(*id, value.clone());
        }
    }
}

/// A worker-wide request-rate cap that hands out time slots: each request reserves the next
/// slot and only its own user sleeps until then, so no crowd of waiting users is woken at once.
#[derive(Debug)]
pub struct RateLimiter {
    origin: std::time::Instant,
    interval_ns: u64,
    next_ns: AtomicU64,
}

impl RateLimiter {
    pub fn new(per_second: f64) -> RateLimiter {
        RateLimiter {
            origin: std::time::Instant::now(),
            interval_ns: (1e9 / per_second).max(1.0) as u64,
            next_ns: AtomicU64::new(0),
        }
    }

    /// The instant at which the caller may send its request.
    pub fn reserve(&self) -> std::time::Instant {
        let now = self.origin.elapsed().as_nanos() as u64;
        let mut cur = self.next_ns.load(Ordering::Relaxed);
        loop {
            let slot = cur.max(now);
            match self.next_ns.compare_exchange_weak(
                cur,
                slot + self.interval_ns,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return self.origin + Duration::from_nanos(slot),
                Err(actual) => cur = actual,
            }
        }
    }
}

/// Compiles `plan`; `host_override` is the master's `-H`, when given.
pub fn compile(
    plan: &Plan,
    host_override: Option<&str>,
    stats: &Stats,
) -> Result<CompiledPlan, Vec<FieldError>> {
    compile_with(plan, host_override, stats, None)
}

/// Compiles `plan` for a worker restricted to `allow`: a host or absolute URL outside it is an
/// error (the master's `-H` included).
pub fn compile_with(
    plan: &Plan,
    host_override: Option<&str>,
    stats: &Stats,
    allow: Option<Arc<AllowList>>,
) -> Result<CompiledPlan, Vec<FieldError>> {
    let mut compiled = compile_plan(plan, host_override, stats)?;
    let policy = allow.as_deref();
    let mut errors = Vec::new();
    let steps = compiled
        .setup
        .iter()
        .map(|s| ("setup".to_string(), s))
        .chain(compiled.transactions.iter().flat_map(|t| {
            t.steps
                .iter()
                .map(move |s| (format!("transaction {:?}", t.name), s))
        }));
    for (place, step) in steps {
        if let UrlSource::Fixed(u) = &step.url
            && let Some(why) = super::allow::refusal(policy, u)
        {
            errors.push(FieldError {
                path: format!("{place}, step {:?}", step.name),
                message: why,
            });
        }
    }
    if let Some(host) = host_override.or(plan.host.as_deref())
        && let Ok(u) = reqwest::Url::parse(host)
        && let Some(why) = super::allow::refusal(policy, &u)
    {
        errors.insert(
            0,
            FieldError {
                path: "host".into(),
                message: why,
            },
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    compiled.allow = allow;
    Ok(compiled)
}

fn compile_plan(
    plan: &Plan,
    host_override: Option<&str>,
    stats: &Stats,
) -> Result<CompiledPlan, Vec<FieldError>> {
    let mut errors = Vec::new();
    let host = match host_override {
        Some(h) => match check_base_url(h) {
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
    let mut vars = VarTable::default();
    for (k, v) in plan.variables.iter() {
        vars.set_initial(k, v);
    }
    let data = plan.data.as_ref().map(|d| DataFeed {
        columns: d.columns.iter().map(|c| vars.id(c)).collect(),
        rows: d
            .rows
            .iter()
            .map(|r| r.iter().map(|v| Arc::from(v.as_str())).collect())
            .collect(),
        order: d.order,
        per: d.per,
        cursor: AtomicUsize::new(0),
    });
    let mut compile_steps =
        |prefix: String, steps: &[Step], errors: &mut Vec<FieldError>| -> Vec<CompiledStep> {
            steps
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    compile_step(s, host, stats, &mut vars)
                        .map_err(|(field, message)| {
                            errors.push(FieldError {
                                path: format!("{prefix}[{i}].{field}"),
                                message,
                            })
                        })
                        .ok()
                })
                .collect()
        };
    let setup = compile_steps("setup".into(), &plan.setup, &mut errors);
    let mut transactions = Vec::with_capacity(plan.transactions.len());
    let mut cumulative = Vec::with_capacity(plan.transactions.len());
    let mut sum = 0u64;
    for (ti, t) in plan.transactions.iter().enumerate() {
        let steps = compile_steps(format!("transactions[{ti}].steps"), &t.steps, &mut errors);
        sum += u64::from(t.weight);
        cumulative.push(sum);
        transactions.push(CompiledTransaction {
            name: t.name.clone(),
            stat: (plan.report_transactions && t.steps.len() > 1)
                .then(|| stats.key("TXN", &t.name)),
            steps,
            think_time: t.think_time.or(plan.think_time),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(CompiledPlan {
        name: plan.name.clone(),
        setup,
        transactions,
        cumulative,
        timeout: plan.timeout,
        vars,
        session: plan.session,
        data,
        limiter: plan.max_rps.map(RateLimiter::new),
        allow: None,
    })
}

type CompileError = (&'static str, String);

fn compile_step(
    step: &Step,
    host: Option<&str>,
    stats: &Stats,
    vars: &mut VarTable,
) -> Result<CompiledStep, CompileError> {
    let url_tpl = Tpl::compile(&step.url, vars);
    let mut query = Vec::new();
    let mut fixed_query = Vec::new();
    for (k, v) in step.query.iter() {
        let t = Tpl::compile(v, vars);
        match t.as_static() {
            Some(s) => fixed_query.push((k.to_string(), s)),
            None => query.push((k.to_string(), t)),
        }
    }
    let url = match url_tpl.as_static() {
        Some(text) => match resolve_url(&text, host).map_err(|e| ("url", e))? {
            Some(mut u) => {
                if !fixed_query.is_empty() {
                    u.query_pairs_mut().extend_pairs(fixed_query.iter());
                }
                UrlSource::Fixed(u)
            }
            None => UrlSource::NoHost,
        },
        None => {
            // Fixed query pairs go after the rendered URL with the templated ones.
            query.splice(
                0..0,
                fixed_query
                    .into_iter()
                    .map(|(k, v)| (k, Tpl::compile(&v, vars))),
            );
            UrlSource::Template {
                tpl: url_tpl,
                base: host.map(str::to_string),
            }
        }
    };
    let mut headers = HeaderMap::new();
    let mut header_templates = Vec::new();
    for (k, v) in step.headers.iter() {
        let name =
            HeaderName::from_bytes(k.as_bytes()).map_err(|e| ("headers", format!("{k}: {e}")))?;
        let t = Tpl::compile(v, vars);
        match t.as_static() {
            Some(s) => {
                let value =
                    HeaderValue::from_str(&s).map_err(|e| ("headers", format!("{k}: {e}")))?;
                headers.append(name, value);
            }
            None => header_templates.push((name, t)),
        }
    }
    let (body, content_type) = match &step.body {
        Body::None => (CompiledBody::None, None),
        Body::Json { json } => {
            let t = json_tpl(json, vars);
            let body = match t {
                JsonTpl::Fixed(v) => {
                    CompiledBody::Fixed(Bytes::from(serde_json::to_vec(&v).unwrap_or_default()))
                }
                t => CompiledBody::Json(t),
            };
            (body, Some("application/json".to_string()))
        }
        Body::Raw { body, content_type } => {
            let t = Tpl::compile(body, vars);
            let body = match t.as_static() {
                Some(s) => CompiledBody::Fixed(Bytes::from(s)),
                None => CompiledBody::Text(t),
            };
            (
                body,
                Some(
                    content_type
                        .clone()
                        .unwrap_or_else(|| "text/plain; charset=utf-8".into()),
                ),
            )
        }
        Body::Form { form } => (
            CompiledBody::Form(
                form.iter()
                    .map(|(k, v)| (k.to_string(), Tpl::compile(v, vars)))
                    .collect(),
            ),
            Some("application/x-www-form-urlencoded".to_string()),
        ),
        Body::Multipart { multipart } => {
            let boundary = format!("locust-http-{}", uuid::Uuid::new_v4().simple());
            let quote = |s: &str| s.replace('"', "%22").replace(['\r', '\n'], " ");
            let parts = multipart
                .iter()
                .map(|(name, part)| match part {
                    contract::plan::MultipartPart::Text(t) => MultipartPart {
                        head: format!("Content-Disposition: form-data; name=\"{}\"\r\n", quote(name)),
                        content: Tpl::compile(t, vars),
                    },
                    contract::plan::MultipartPart::File {
                        file,
                        content,
                        content_type,
                    } => MultipartPart {
                        head: format!(
                            "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n",
                            quote(name),
                            quote(file),
                            content_type.as_deref().unwrap_or("application/octet-stream")
                        ),
                        content: Tpl::compile(content, vars),
                    },
                })
                .collect();
            let ct = format!("multipart/form-data; boundary={boundary}");
            (CompiledBody::Multipart { boundary, parts }, Some(ct))
        }
    };
    if let Some(ct) = content_type
        && !headers.contains_key(CONTENT_TYPE)
        && !header_templates.iter().any(|(n, _)| n == CONTENT_TYPE)
    {
        let value = HeaderValue::from_str(&ct).map_err(|e| ("content_type", e.to_string()))?;
        headers.insert(CONTENT_TYPE, value);
    }
    let method = reqwest::Method::from_bytes(step.method.as_str().as_bytes())
        .map_err(|e| ("method", e.to_string()))?;
    let json_path =
        |field: &'static str, p: &str| JsonPath::parse(p).map_err(|e| (field, e.to_string()));
    let header_name = |field: &'static str, h: &str| {
        HeaderName::from_bytes(h.as_bytes()).map_err(|e| (field, format!("{h}: {e}")))
    };
    let mut needs_body = false;
    let mut extract = Vec::new();
    for e in &step.extract {
        let source = match &e.source {
            ExtractSource::Json { json } => {
                needs_body = true;
                Source::Json(json_path("extract", json)?, json.clone())
            }
            ExtractSource::Regex { regex, group } => {
                needs_body = true;
                Source::Regex(
                    regex::Regex::new(regex).map_err(|e| ("extract", e.to_string()))?,
                    *group,
                )
            }
            ExtractSource::Header { header } => Source::Header(header_name("extract", header)?),
            ExtractSource::Status { .. } => Source::Status,
        };
        extract.push(CompiledExtractor {
            var: vars.id(&e.var),
            name: e.var.clone(),
            source,
        });
    }
    let mut checks = Vec::new();
    for a in &step.assertions {
        checks.push(match a {
            Assertion::Status { status } => Check::Status(status.clone()),
            Assertion::BodyContains { body_contains } => {
                needs_body = true;
                Check::BodyContains(body_contains.clone())
            }
            Assertion::JsonExists { json, exists } => {
                needs_body = true;
                Check::JsonExists(json_path("assert", json)?, json.clone(), *exists)
            }
            Assertion::JsonEquals { json, equals } => {
                needs_body = true;
                Check::JsonEquals(json_path("assert", json)?, json.clone(), equals.clone())
            }
            Assertion::HeaderEquals { header, equals } => {
                Check::HeaderEquals(header_name("assert", header)?, equals.clone())
            }
            Assertion::HeaderContains { header, contains } => {
                Check::HeaderContains(header_name("assert", header)?, contains.clone())
            }
            Assertion::ResponseTimeUnder {
                response_time_under_ms,
            } => Check::ResponseTimeUnder(*response_time_under_ms as f64),
        });
    }
    Ok(CompiledStep {
        name: step.name.clone(),
        stat: stats.key(method.as_str(), &step.name),
        method,
        url,
        query,
        headers,
        header_templates,
        body,
        extract,
        checks,
        needs_body,
    })
}

fn json_tpl(v: &Value, vars: &mut VarTable) -> JsonTpl {
    let t = match v {
        Value::String(s) => {
            let t = Tpl::compile(s, vars);
            match t.as_static() {
                Some(_) => JsonTpl::Fixed(v.clone()),
                None => JsonTpl::Str(t),
            }
        }
        Value::Array(items) => JsonTpl::Array(items.iter().map(|x| json_tpl(x, vars)).collect()),
        Value::Object(map) => JsonTpl::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), json_tpl(x, vars)))
                .collect(),
        ),
        other => JsonTpl::Fixed(other.clone()),
    };
    // Collapse containers whose members are all fixed.
    match t {
        JsonTpl::Array(items) if items.iter().all(|i| matches!(i, JsonTpl::Fixed(_))) => {
            JsonTpl::Fixed(v.clone())
        }
        JsonTpl::Object(items) if items.iter().all(|(_, i)| matches!(i, JsonTpl::Fixed(_))) => {
            JsonTpl::Fixed(v.clone())
        }
        t => t,
    }
}

/// Joins a step URL to the host the way Locust does (`host + path`), or takes it as absolute.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Plan {
        Plan::from_json(json).unwrap()
    }

    fn fixed(step: &CompiledStep) -> String {
        match &step.url {
            UrlSource::Fixed(u) => u.to_string(),
            other => panic!("not fixed: {other:?}"),
        }
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
        let urls: Vec<String> = c.transactions[0].steps.iter().map(fixed).collect();
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
            fixed(&c.transactions[0].steps[0]),
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
        assert!(matches!(c.transactions[0].steps[0].url, UrlSource::NoHost));
    }

    #[test]
    fn static_parts_are_prebuilt_and_templates_kept() {
        let p = plan(
            r#"{"name": "p", "host": "http://h", "variables": {"v": "1"}, "transactions": [{"name": "t", "steps": [
                {"name": "j", "method": "POST", "url": "/", "json": {"a": 1}},
                {"name": "k", "method": "POST", "url": "/{{v}}", "json": {"a": "{{v}}", "b": [1]}, "headers": {"X": "{{v}}", "Y": "y"}},
                {"name": "f", "method": "POST", "url": "/", "form": {"a": "b c"}},
                {"name": "r", "method": "POST", "url": "/", "body": "<x/>", "content_type": "application/xml"}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        let s = &c.transactions[0].steps;
        assert_eq!(s[0].headers[CONTENT_TYPE], "application/json");
        assert!(matches!(&s[0].body, CompiledBody::Fixed(b) if b.as_ref() == b"{\"a\":1}"));
        assert!(matches!(&s[1].body, CompiledBody::Json(JsonTpl::Object(_))));
        assert!(matches!(&s[1].url, UrlSource::Template { .. }));
        assert_eq!(s[1].header_templates.len(), 1);
        assert_eq!(s[1].headers["Y"], "y");
        assert!(matches!(&s[2].body, CompiledBody::Form(_)));
        assert_eq!(s[3].headers[CONTENT_TYPE], "application/xml");
    }

    #[test]
    fn multipart_bodies_render_with_their_boundary() {
        let p = plan(
            r#"{"name": "p", "host": "http://h", "variables": {"v": "x"}, "transactions": [{"name": "t", "steps": [
                {"name": "m", "method": "POST", "url": "/", "multipart": {"a": "{{v}}", "f": {"file": "a.txt", "content": "hi"}}}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        let step = &c.transactions[0].steps[0];
        let CompiledBody::Multipart { boundary, .. } = &step.body else {
            panic!("not multipart")
        };
        let ct = step.headers[CONTENT_TYPE].to_str().unwrap().to_string();
        assert_eq!(ct, format!("multipart/form-data; boundary={boundary}"));
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(1);
        let prepared = crate::engine::http::prepare_for_test(step, &c.vars.vars(), &mut rng);
        let body = String::from_utf8(prepared).unwrap();
        assert_eq!(
            body,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nhi\r\n--{boundary}--\r\n"
            )
        );
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

    #[test]
    fn rate_limiter_spaces_slots_evenly() {
        let l = RateLimiter::new(1000.0);
        let slots: Vec<_> = (0..5).map(|_| l.reserve()).collect();
        for w in slots.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(1));
        }
    }

    #[test]
    fn data_rows_are_handed_out_in_order() {
        let p = plan(
            r#"{"name": "p", "host": "http://h", "data": {"csv": "u,p\na,1\nb,2\n"}, "transactions": [
                {"name": "a", "steps": [{"name": "a", "method": "GET", "url": "/{{u}}"}]}]}"#,
        );
        let c = compile(&p, None, &Stats::new()).unwrap();
        let feed = c.data.as_ref().unwrap();
        let mut rng = rand::rng();
        let got: Vec<String> = (0..3)
            .map(|_| {
                let mut vars = c.vars.vars();
                feed.next_into(&mut vars, &mut rng);
                vars.get(feed.columns[0]).unwrap().to_string()
            })
            .collect();
        assert_eq!(got, ["a", "b", "a"]);
    }
}
