//! Assertions and extractors on a response.
//!
//! Order of judgement: the status (the step's status assertion, or by default status >= 400
//! fails), then the other assertions in plan order, then the extractors. The step's failure is
//! the first thing that failed; its text is short and stable (no response values in it), so
//! identical failures merge into one row of the master's failures table.
//!
//! A check returns a [`Verdict`]; its description ("assert status 201") is built only for a
//! failure or a trace. The body is parsed as JSON at most once per response, and only when a
//! check or extractor asks for it ([`LazyJson`]); checks read the parsed value by reference.

use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::compiled::{Check, CompiledStep, Source};
use super::outcome::{AssertionResult, Failure, Trace};
use super::template::Vars;

/// The parts of a response that checks read.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub response_time_ms: f64,
}

/// A response body, parsed as JSON on first use and never again.
#[derive(Debug)]
pub struct LazyJson<'a> {
    body: &'a [u8],
    parsed: OnceCell<Option<Value>>,
}

impl<'a> LazyJson<'a> {
    pub fn new(body: &'a [u8]) -> LazyJson<'a> {
        LazyJson {
            body,
            parsed: OnceCell::new(),
        }
    }

    /// The body as JSON; `None` when it is not JSON.
    pub fn get(&self) -> Option<&Value> {
        self.parsed
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }

    /// True once something asked for the JSON.
    pub fn was_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }
}

/// Why a check failed: short and stable (no response values), so identical failures merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The status was not one of the expected ones.
    Got(u16),
    NotFound,
    Found,
    NotJson,
    DifferentValue,
    NoSuchHeader,
    TooSlow,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Got(status) => write!(f, "got {status}"),
            Problem::NotFound => f.write_str("not found"),
            Problem::Found => f.write_str("found"),
            Problem::NotJson => f.write_str("body is not JSON"),
            Problem::DifferentValue => f.write_str("different value"),
            Problem::NoSuchHeader => f.write_str("no such header"),
            Problem::TooSlow => f.write_str("too slow"),
        }
    }
}

/// A check's verdict: passed, or the problem.
pub type Verdict = Result<(), Problem>;

/// Applies the step's assertions and extractors; returns the step's failure, if any.
pub fn judge(
    step: &CompiledStep,
    r: &Response<'_>,
    vars: &mut Vars,
    trace: Option<&mut Trace>,
) -> Option<Failure> {
    judge_with(step, r, &LazyJson::new(r.body), vars, trace)
}

fn judge_with(
    step: &CompiledStep,
    r: &Response<'_>,
    json: &LazyJson<'_>,
    vars: &mut Vars,
    mut trace: Option<&mut Trace>,
) -> Option<Failure> {
    let mut failure = None;
    let has_status_check = step.checks.iter().any(|c| matches!(c, Check::Status(_)));
    if !has_status_check && r.status >= 400 {
        failure = Some(Failure::Status(r.status));
    }
    for check in &step.checks {
        // Once the step has failed, later verdicts only matter to a trace.
        if failure.is_some() && trace.is_none() {
            break;
        }
        let verdict = verdict(check, r, json);
        if let Some(t) = trace.as_deref_mut() {
            let assertion = describe(check);
            t.assertions.push(AssertionResult {
                message: verdict.err().map(|p| format!("{assertion}: {p}")),
                passed: verdict.is_ok(),
                assertion,
            });
        }
        if failure.is_none()
            && let Err(p) = verdict
        {
            failure = Some(Failure::message(format!("{}: {p}", describe(check))));
        }
    }
    if failure.is_some() {
        return failure;
    }
    for e in &step.extract {
        match extract(&e.source, r, json) {
            Ok(value) => {
                if let Some(t) = trace.as_deref_mut() {
                    t.extracted.push((e.name.clone(), value.clone()));
                }
                vars.set(e.var, Arc::from(value));
            }
            Err(why) => return Some(Failure::message(format!("extract {}: {why}", e.name))),
        }
    }
    None
}

/// Judges one check against a response.
pub fn verdict(check: &Check, r: &Response<'_>, json: &LazyJson<'_>) -> Verdict {
    let fail_unless = |ok: bool, problem: Problem| if ok { Ok(()) } else { Err(problem) };
    match check {
        Check::Status(codes) => fail_unless(codes.contains(&r.status), Problem::Got(r.status)),
        Check::BodyContains(s) => fail_unless(contains(r.body, s.as_bytes()), Problem::NotFound),
        Check::JsonExists(path, _, exists) => {
            let v = json.get().ok_or(Problem::NotJson)?;
            match (!path.query(v).is_empty(), exists) {
                (true, false) => Err(Problem::Found),
                (false, true) => Err(Problem::NotFound),
                _ => Ok(()),
            }
        }
        Check::JsonEquals(path, _, want) => {
            let v = json.get().ok_or(Problem::NotJson)?;
            let got = path.query(v).first().ok_or(Problem::NotFound)?;
            fail_unless(values_equal(got, want), Problem::DifferentValue)
        }
        Check::HeaderEquals(name, want) => {
            let got = header(r.headers, name).ok_or(Problem::NoSuchHeader)?;
            fail_unless(got == want, Problem::DifferentValue)
        }
        Check::HeaderContains(name, want) => {
            let got = header(r.headers, name).ok_or(Problem::NoSuchHeader)?;
            fail_unless(got.contains(want.as_str()), Problem::NotFound)
        }
        Check::ResponseTimeUnder(ms) => fail_unless(r.response_time_ms < *ms, Problem::TooSlow),
    }
}

/// What a check asserts, in words ("assert status 201 or 202").
pub fn describe(check: &Check) -> String {
    match check {
        Check::Status(codes) => {
            let want = codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            format!("assert status {want}")
        }
        Check::BodyContains(s) => format!("assert body contains {s:?}"),
        Check::JsonExists(_, text, true) => format!("assert {text} exists"),
        Check::JsonExists(_, text, false) => format!("assert {text} does not exist"),
        Check::JsonEquals(_, text, want) => format!("assert {text} == {want}"),
        Check::HeaderEquals(name, want) => format!("assert header {name} == {want:?}"),
        Check::HeaderContains(name, want) => format!("assert header {name} contains {want:?}"),
        Check::ResponseTimeUnder(ms) => format!("assert response time under {ms} ms"),
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &reqwest::header::HeaderName) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A JSON value compared to an expected one; a number-looking string equals the number.
fn values_equal(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        _ => got == want,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn extract(source: &Source, r: &Response<'_>, json: &LazyJson<'_>) -> Result<String, String> {
    match source {
        Source::Json(path, text) => {
            let v = json.get().ok_or("body is not JSON")?;
            match path.query(v).first() {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(other) => Ok(other.to_string()),
                None => Err(format!("{text} matched nothing")),
            }
        }
        Source::Regex(re, group) => {
            let body = String::from_utf8_lossy(r.body);
            re.captures(&body)
                .and_then(|c| c.get(*group))
                .map(|m| m.as_str().to_string())
                .ok_or_else(|| format!("regex {:?} did not match", re.as_str()))
        }
        Source::Header(name) => header(r.headers, name)
            .map(str::to_string)
            .ok_or_else(|| format!("no header {name}")),
        Source::Status => Ok(r.status.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compile::compile;
    use contract::Plan;

    fn step(extra: &str) -> (crate::engine::CompiledPlan, Vars) {
        let json = format!(
            r#"{{"name": "p", "host": "http://h", "transactions": [{{"name": "t", "steps": [
                {{"name": "s", "method": "GET", "url": "/" {extra}}}]}}]}}"#
        );
        let plan = compile(&Plan::from_json(&json).unwrap(), None).unwrap();
        let vars = plan.vars.vars();
        (plan, vars)
    }

    fn run(
        extra: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (Option<Failure>, Trace, Vars) {
        let (plan, mut vars) = step(extra);
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let r = Response {
            status,
            headers: &map,
            body: body.as_bytes(),
            response_time_ms: 12.0,
        };
        let mut trace = Trace::default();
        let f = judge(
            &plan.transactions[0].steps[0],
            &r,
            &mut vars,
            Some(&mut trace),
        );
        (f, trace, vars)
    }

    #[test]
    fn default_status_rule_and_explicit_status() {
        assert_eq!(run("", 500, &[], "").0, Some(Failure::Status(500)));
        assert_eq!(run("", 302, &[], "").0, None);
        let (f, ..) = run(r#", "assert": [{"status": 201}]"#, 200, &[], "");
        assert_eq!(f.unwrap().to_string(), "assert status 201: got 200");
        assert_eq!(
            run(r#", "assert": [{"status": [404, 500]}]"#, 404, &[], "").0,
            None
        );
    }

    #[test]
    fn body_json_header_and_time_assertions() {
        let body = r#"{"id": 7, "name": "x"}"#;
        let extra = r#", "assert": [{"body_contains": "name"}, {"json": "$.id", "exists": true},
            {"json": "$.id", "equals": 7}, {"json": "$.nope", "exists": false},
            {"header": "content-type", "contains": "json"}, {"header": "x-a", "equals": "b"},
            {"response_time_under_ms": 100}]"#;
        let (f, trace, _) = run(
            extra,
            200,
            &[("content-type", "application/json"), ("x-a", "b")],
            body,
        );
        assert_eq!(f, None, "{:?}", trace.assertions);
        assert_eq!(trace.assertions.len(), 7);
        assert!(trace.assertions.iter().all(|a| a.passed));

        let (f, trace, _) = run(extra, 200, &[("content-type", "text/plain")], "oops");
        assert_eq!(
            f.unwrap().to_string(),
            "assert body contains \"name\": not found"
        );
        let failed: Vec<_> = trace
            .assertions
            .iter()
            .filter(|a| !a.passed)
            .map(|a| a.message.clone().unwrap())
            .collect();
        assert!(
            failed.contains(&"assert $.id exists: body is not JSON".to_string()),
            "{failed:?}"
        );
        assert!(
            failed.contains(&"assert header x-a == \"b\": no such header".to_string()),
            "{failed:?}"
        );

        let (f, ..) = run(
            r#", "assert": [{"response_time_under_ms": 5}]"#,
            200,
            &[],
            "",
        );
        assert_eq!(
            f.unwrap().to_string(),
            "assert response time under 5 ms: too slow"
        );
    }

    #[test]
    fn extractors_fill_variables_or_fail_the_step() {
        let extra = r#", "extract": [{"var": "token", "json": "$.token"}, {"var": "n", "json": "$.n"},
            {"var": "code", "regex": "code=(\\d+)"}, {"var": "loc", "header": "location"}, {"var": "st", "status": true}]"#;
        let (f, trace, vars) = run(
            extra,
            201,
            &[("location", "/x/1")],
            r#"{"token": "abc", "n": 5, "t": "code=42"}"#,
        );
        assert_eq!(f, None);
        let got: Vec<_> = trace
            .extracted
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(got, ["token=abc", "n=5", "code=42", "loc=/x/1", "st=201"]);
        assert!(
            vars.named(&step(extra).0.vars)
                .any(|(k, v)| k == "token" && v == "abc")
        );

        let (f, ..) = run(extra, 200, &[], r#"{"n": 1}"#);
        assert_eq!(
            f.unwrap().to_string(),
            "extract token: $.token matched nothing"
        );
    }

    fn response<'a>(status: u16, headers: &'a HeaderMap, body: &'a str) -> Response<'a> {
        Response {
            status,
            headers,
            body: body.as_bytes(),
            response_time_ms: 12.0,
        }
    }

    #[test]
    fn the_body_is_parsed_only_when_asked_and_then_once() {
        let headers = HeaderMap::new();
        let body = r#"{"id": 7}"#;
        let r = response(200, &headers, body);
        // Status, header and status extractors never parse.
        let (plan, mut vars) = step(
            r#", "assert": [{"status": 200}, {"header": "x", "equals": "y"}], "extract": [{"var": "s", "status": true}]"#,
        );
        let json = LazyJson::new(r.body);
        let f = judge_with(&plan.transactions[0].steps[0], &r, &json, &mut vars, None);
        assert_eq!(
            f.unwrap().to_string(),
            "assert header x == \"y\": no such header"
        );
        assert!(!json.was_parsed());
        // A failed step does not read the body for later checks unless it is traced.
        let (plan, mut vars) =
            step(r#", "assert": [{"status": 201}, {"json": "$.id", "exists": true}]"#);
        let json = LazyJson::new(r.body);
        assert!(judge_with(&plan.transactions[0].steps[0], &r, &json, &mut vars, None).is_some());
        assert!(!json.was_parsed());
        // Two checks and an extractor share one parse, by reference.
        let (plan, mut vars) = step(
            r#", "assert": [{"json": "$.id", "exists": true}, {"json": "$.id", "equals": 7}], "extract": [{"var": "id", "json": "$.id"}]"#,
        );
        let json = LazyJson::new(r.body);
        assert_eq!(
            judge_with(&plan.transactions[0].steps[0], &r, &json, &mut vars, None),
            None
        );
        assert!(json.was_parsed());
        assert!(std::ptr::eq(json.get().unwrap(), json.get().unwrap()));
    }

    #[test]
    fn verdicts_carry_no_text_and_descriptions_are_separate() {
        let headers = HeaderMap::new();
        let (plan, _) =
            step(r#", "assert": [{"status": [200, 201]}, {"response_time_under_ms": 5}]"#);
        let checks = &plan.transactions[0].steps[0].checks;
        let r = response(404, &headers, "");
        let json = LazyJson::new(r.body);
        assert_eq!(verdict(&checks[0], &r, &json), Err(Problem::Got(404)));
        assert_eq!(verdict(&checks[1], &r, &json), Err(Problem::TooSlow));
        assert_eq!(describe(&checks[0]), "assert status 200 or 201");
        assert_eq!(describe(&checks[1]), "assert response time under 5 ms");
        let r = response(201, &headers, "");
        assert_eq!(verdict(&checks[0], &r, &json), Ok(()));
    }
}
