//! `worker run PLAN.json --once`: one simulated user runs the setup steps, then every
//! transaction once in plan order, without a master, and prints each request and response
//! (status, time, size, headers, bodies, extracted variables, assertion verdicts). Like boomer's
//! `--run-tasks`, but showing what happened.

use std::io::Write;

use crate::engine::{CompiledPlan, Trace};
use crate::runtime::probe;

/// How much of a body is printed.
const PRINT_BODY_LIMIT: usize = 2048;

/// Runs the plan once; returns true when no step failed.
pub async fn run_once(
    plan: &CompiledPlan,
    client: &reqwest::Client,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let probed = probe::run(plan, client, probe::whole_plan(plan)).await;
    writeln!(out, "plan {}", plan.name)?;
    let mut group = None;
    for p in &probed {
        if group != Some(&p.group) {
            writeln!(out, "\n{}", p.group)?;
            group = Some(&p.group);
        }
        print_trace(out, &p.trace, p.failure.clone())?;
    }
    let failed = probed.iter().filter(|p| !p.passed()).count();
    writeln!(out, "\n{} steps, {failed} failed", probed.len())?;
    out.flush()?;
    Ok(failed == 0)
}

fn print_trace(out: &mut impl Write, t: &Trace, failure: Option<String>) -> std::io::Result<()> {
    let mark = if failure.is_none() { "PASS" } else { "FAIL" };
    let status = match (t.status, &t.reason) {
        (Some(s), Some(r)) => format!("{s} {r}"),
        (Some(s), None) => s.to_string(),
        (None, _) => "no response".into(),
    };
    writeln!(
        out,
        "  {mark} {}  {} {}  ->  {status}  {:.1} ms  {} B",
        t.step,
        t.method,
        if t.url.is_empty() {
            "(not sent)"
        } else {
            &t.url
        },
        t.response_time_ms,
        t.content_length
    )?;
    for (k, v) in &t.request_headers {
        writeln!(out, "      > {k}: {}", redact(k, v))?;
    }
    if let Some(body) = &t.request_body {
        writeln!(out, "      > {}", clip(body))?;
    }
    for (k, v) in &t.response_headers {
        writeln!(out, "      < {k}: {}", redact(k, v))?;
    }
    if let Some(body) = t.response_body.as_deref().filter(|b| !b.is_empty()) {
        writeln!(out, "      < {}", clip(body))?;
    }
    for (k, v) in &t.extracted {
        writeln!(out, "      = {k} = {v:?}")?;
    }
    for a in &t.assertions {
        match &a.message {
            None => writeln!(out, "      ok   {}", a.assertion)?,
            Some(m) => writeln!(out, "      FAIL {m}")?,
        }
    }
    if let Some(f) = failure {
        writeln!(out, "      error: {f}")?;
    }
    Ok(())
}

/// Credentials are not printed.
fn redact(name: &str, value: &str) -> String {
    const SECRET: [&str; 5] = [
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
    ];
    if SECRET.contains(&name.to_ascii_lowercase().as_str()) {
        let scheme = value
            .split_once(' ')
            .map(|(s, _)| s)
            .filter(|s| s.len() < 12);
        match scheme {
            Some(s) if name.eq_ignore_ascii_case("authorization") => format!("{s} <redacted>"),
            _ => "<redacted>".into(),
        }
    } else {
        value.to_string()
    }
}

fn clip(s: &str) -> String {
    let one_line = s.replace('\n', "\\n");
    if one_line.len() <= PRINT_BODY_LIMIT {
        one_line
    } else {
        let mut end = PRINT_BODY_LIMIT;
        while !one_line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}... ({} bytes)", &one_line[..end], s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("Authorization", "Bearer abc"), "Bearer <redacted>");
        assert_eq!(redact("cookie", "a=b"), "<redacted>");
        assert_eq!(redact("content-type", "x"), "x");
    }
}
