//! Assertions and extractors on a response.
//!
//! Order of judgement: the status (the step's status assertion, or by default status >= 400
//! fails), then the other assertions in plan order, then the extractors. The step's failure is
//! the first thing that failed; its text is short and stable (no response values in it), so
//! identical failures merge into one row of the master's failures table.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::compile::{Check, CompiledStep, Source};
use super::http::{AssertionResult, Trace};
use super::outcome::Failure;
use super::template::Vars;

/// The parts of a response that checks read.
#[derive(Debug)]
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub response_time_ms: f64,
}

/// Applies the step's assertions and extractors; returns the step's failure, if any.
pub fn judge(
    step: &CompiledStep,
    r: &Response<'_>,
    vars: &mut Vars,
    mut trace: Option<&mut Trace>,
) -> Option<Failure> {
    let mut json: Option<Option<Value>> = None;
    let mut parsed = || -> Option<Value> {
        json.get_or_insert_with(|| serde_json::from_slice(r.body).ok())
            .clone()
    };
    let mut failure = None;
    let has_status_check = step.checks.iter().any(|c| matches!(c, Check::Status(_)));
    if !has_status_check && r.status >= 400 {
        failure = Some(Failure::Status(r.status));
    }
    for check in &step.checks {
        let (description, problem) = evaluate(check, r, &mut parsed);
        if let Some(t) = trace.as_deref_mut() {
            t.assertions.push(AssertionResult {
                assertion: description.clone(),
                passed: problem.is_none(),
                message: problem.as_ref().map(|p| format!("{description}: {p}")),
            });
        }
        if failure.is_none()
            && let Some(p) = problem
        {
            failure = Some(Failure::message(format!("{description}: {p}")));
        }
    }
    if failure.is_some() {
        return failure;
    }
    for e in &step.extract {
        match extract(&e.source, r, &mut parsed) {
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

fn evaluate(
    check: &Check,
    r: &Response<'_>,
    json: &mut impl FnMut() -> Option<Value>,
) -> (String, Option<String>) {
    match check {
        Check::Status(codes) => {
            let want = codes
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            let ok = codes.contains(&r.status);
            (
                format!("assert status {want}"),
                (!ok).then(|| format!("got {}", r.status)),
            )
        }
        Check::BodyContains(s) => {
            let ok = memchr_find(r.body, s.as_bytes());
            (
                format!("assert body contains {s:?}"),
                (!ok).then(|| "not found".to_string()),
            )
        }
        Check::JsonExists(path, text, exists) => {
            let description = if *exists {
                format!("assert {text} exists")
            } else {
                format!("assert {text} does not exist")
            };
            let problem = match json() {
                None => Some("body is not JSON".to_string()),
                Some(v) => {
                    let found = !path.query(&v).is_empty();
                    match (found, exists) {
                        (true, false) => Some("found".to_string()),
                        (false, true) => Some("not found".to_string()),
                        _ => None,
                    }
                }
            };
            (description, problem)
        }
        Check::JsonEquals(path, text, want) => {
            let description = format!("assert {text} == {want}");
            let problem = match json() {
                None => Some("body is not JSON".to_string()),
                Some(v) => match path.query(&v).first() {
                    None => Some("not found".to_string()),
                    Some(got) if values_equal(got, want) => None,
                    Some(_) => Some("different value".to_string()),
                },
            };
            (description, problem)
        }
        Check::HeaderEquals(name, want) => {
            let got = r.headers.get(name).and_then(|v| v.to_str().ok());
            let problem = match got {
                None => Some("no such header".to_string()),
                Some(g) if g == want => None,
                Some(_) => Some("different value".to_string()),
            };
            (format!("assert header {name} == {want:?}"), problem)
        }
        Check::HeaderContains(name, want) => {
            let got = r.headers.get(name).and_then(|v| v.to_str().ok());
            let problem = match got {
                None => Some("no such header".to_string()),
                Some(g) if g.contains(want.as_str()) => None,
                Some(_) => Some("not found".to_string()),
            };
            (format!("assert header {name} contains {want:?}"), problem)
        }
        Check::ResponseTimeUnder(ms) => (
            format!("assert response time under {ms} ms"),
            (r.response_time_ms >= *ms).then(|| "too slow".to_string()),
        ),
    }
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

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn extract(
    source: &Source,
    r: &Response<'_>,
    json: &mut impl FnMut() -> Option<Value>,
) -> Result<String, String> {
    match source {
        Source::Json(path, text) => {
            let v = json().ok_or("body is not JSON")?;
            match path.query(&v).first() {
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
        Source::Header(name) => r
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| format!("no header {name}")),
        Source::Status => Ok(r.status.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compile::compile;
    use crate::stats::Stats;
    use contract::Plan;

    fn step(extra: &str) -> (crate::engine::CompiledPlan, Vars) {
        let json = format!(
            r#"{{"name": "p", "host": "http://h", "transactions": [{{"name": "t", "steps": [
                {{"name": "s", "method": "GET", "url": "/" {extra}}}]}}]}}"#
        );
        let plan = compile(&Plan::from_json(&json).unwrap(), None, &Stats::new()).unwrap();
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
}
