//! The summary of a finished load test, as CI systems and people read it: the outcome and its
//! exit code, the rows (Locust's statistics), the failures, the threshold verdicts; written as
//! JSON (`--summary-json`), JUnit XML (`--junit`) or a text table. Shared by `master-bridge run`
//! (numbers from the Locust master) and `worker run --headless` (numbers computed locally).

use serde::Serialize;

use crate::threshold::{PERCENTILES, RowStats, Verdict};

/// How a run ended, and the process exit code that says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every threshold held; without thresholds, no request failed. Exit 0.
    Passed,
    /// Requests failed and no threshold says that is acceptable. Exit 1.
    Failed,
    /// The run could not be carried out (etcd, the master or the workers unreachable, the run
    /// aborted). Exit 3.
    CouldNotRun,
    /// At least one threshold was breached. Exit 99 (as k6).
    ThresholdsBreached,
}

impl Outcome {
    /// The documented exit code (2 is left to usage errors: a bad flag or plan).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::CouldNotRun => 3,
            Outcome::ThresholdsBreached => 99,
        }
    }

    /// The outcome of a run that completed: thresholds decide when there are any.
    pub fn judge(aggregated: &RowStats, verdicts: &[Verdict]) -> Outcome {
        if !verdicts.is_empty() {
            if verdicts.iter().all(|v| v.passed) {
                Outcome::Passed
            } else {
                Outcome::ThresholdsBreached
            }
        } else if aggregated.failures > 0 {
            Outcome::Failed
        } else {
            Outcome::Passed
        }
    }
}

/// One row of Locust's failures table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureRow {
    pub method: String,
    pub name: String,
    pub error: String,
    pub occurrences: u64,
}

/// Everything a finished run reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The plan's name.
    pub plan: String,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub duration_secs: f64,
    pub rows: Vec<RowStats>,
    pub aggregated: RowStats,
    pub failures: Vec<FailureRow>,
    pub thresholds: Vec<Verdict>,
    /// Why the run could not be carried out, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunSummary {
    /// A summary of a completed run, its outcome judged from the verdicts and failures.
    pub fn completed(
        plan: String,
        duration_secs: f64,
        rows: Vec<RowStats>,
        aggregated: RowStats,
        failures: Vec<FailureRow>,
        thresholds: Vec<Verdict>,
    ) -> RunSummary {
        let outcome = Outcome::judge(&aggregated, &thresholds);
        RunSummary {
            plan,
            outcome,
            exit_code: outcome.exit_code(),
            duration_secs,
            rows,
            aggregated,
            failures,
            thresholds,
            error: None,
        }
    }

    /// The JSON summary (`--summary-json`).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a summary serialises")
    }

    /// JUnit XML (`--junit`): one test case per threshold, one per request row (failing when
    /// the row had failures and no threshold judges failures), one for a run that could not run.
    pub fn to_junit(&self) -> String {
        let mut cases = Vec::new();
        for v in &self.thresholds {
            cases.push(Case {
                class: "thresholds",
                name: v.threshold.clone(),
                failure: (!v.passed).then(|| v.message.clone()),
                out: v.message.clone(),
            });
        }
        let thresholds_judge = !self.thresholds.is_empty();
        for r in &self.rows {
            let text = format!(
                "{} requests, {} failures, median {} ms, p95 {} ms, {:.2} req/s",
                r.requests,
                r.failures,
                r.median_ms,
                r.percentiles_ms.get(5).copied().unwrap_or(0.0),
                r.rps
            );
            cases.push(Case {
                class: "requests",
                name: format!("{} {}", r.method, r.name),
                failure: (r.failures > 0 && !thresholds_judge).then(|| text.clone()),
                out: text,
            });
        }
        if let Some(e) = &self.error {
            cases.push(Case {
                class: "run",
                name: "run".into(),
                failure: Some(e.clone()),
                out: String::new(),
            });
        }
        let failed = cases.iter().filter(|c| c.failure.is_some()).count();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x += &format!(
            "<testsuites name=\"locust-http\" tests=\"{}\" failures=\"{failed}\" time=\"{:.3}\">\n",
            cases.len(),
            self.duration_secs
        );
        x += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" time=\"{:.3}\">\n",
            esc(&self.plan),
            cases.len(),
            self.duration_secs
        );
        for c in cases {
            x += &format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n",
                c.class,
                esc(&c.name)
            );
            if let Some(f) = c.failure {
                x += &format!(
                    "      <failure message=\"{}\">{}</failure>\n",
                    esc(&f),
                    esc(&f)
                );
            }
            if !c.out.is_empty() {
                x += &format!("      <system-out>{}</system-out>\n", esc(&c.out));
            }
            x += "    </testcase>\n";
        }
        x += "  </testsuite>\n</testsuites>\n";
        x
    }

    /// The table printed at the end of a run, with p50/p95/p99, and the threshold verdicts.
    pub fn to_text(&self) -> String {
        let p = |r: &RowStats, label: &str| {
            PERCENTILES
                .iter()
                .position(|(l, _)| *l == label)
                .and_then(|i| r.percentiles_ms.get(i))
                .copied()
                .unwrap_or(0.0)
        };
        let mut t = format!(
            "{:<8} {:<40} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9}\n",
            "Type", "Name", "# reqs", "# fails", "p50", "p95", "p99", "req/s"
        );
        for r in self.rows.iter().chain(std::iter::once(&self.aggregated)) {
            t += &format!(
                "{:<8} {:<40} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9.2}\n",
                r.method,
                r.name,
                r.requests,
                r.failures,
                p(r, "50"),
                p(r, "95"),
                p(r, "99"),
                r.rps
            );
        }
        for v in &self.thresholds {
            t += &format!("{} {}\n", if v.passed { "PASS" } else { "FAIL" }, v.message);
        }
        if let Some(e) = &self.error {
            t += &format!("error: {e}\n");
        }
        t += &format!("outcome: {:?} (exit {})\n", self.outcome, self.exit_code);
        t
    }
}

struct Case {
    class: &'static str,
    name: String,
    failure: Option<String>,
    out: String,
}

/// XML attribute/text escaping; control characters XML 1.0 cannot carry become spaces.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::Threshold;

    fn row(name: &str, requests: u64, failures: u64, p95: f64) -> RowStats {
        let mut percentiles_ms = vec![5.0; PERCENTILES.len()];
        percentiles_ms[5] = p95;
        RowStats {
            method: if name == "Aggregated" { "" } else { "GET" }.into(),
            name: name.into(),
            requests,
            failures,
            percentiles_ms,
            ..RowStats::default()
        }
    }

    #[test]
    fn outcome_and_exit_codes() {
        let agg = row("Aggregated", 10, 1, 400.0);
        assert_eq!(Outcome::judge(&agg, &[]), Outcome::Failed);
        let ok = "fail_ratio<0.5"
            .parse::<Threshold>()
            .unwrap()
            .evaluate(&[], &agg);
        assert_eq!(
            Outcome::judge(&agg, std::slice::from_ref(&ok)),
            Outcome::Passed
        );
        let bad = "p95<50ms".parse::<Threshold>().unwrap().evaluate(&[], &agg);
        assert_eq!(
            Outcome::judge(&agg, &[ok, bad]),
            Outcome::ThresholdsBreached
        );
        assert_eq!(Outcome::ThresholdsBreached.exit_code(), 99);
        assert_eq!(Outcome::CouldNotRun.exit_code(), 3);
    }

    #[test]
    fn junit_names_the_breached_threshold_and_escapes() {
        let agg = row("Aggregated", 10, 0, 400.0);
        let rows = vec![row("/orders?a=1&b=<2>", 10, 0, 400.0)];
        let v = "p95<50ms"
            .parse::<Threshold>()
            .unwrap()
            .evaluate(&rows, &agg);
        let s = RunSummary::completed("shop".into(), 10.0, rows, agg, vec![], vec![v]);
        let x = s.to_junit();
        assert!(
            x.contains("<testcase classname=\"thresholds\" name=\"p95&lt;50ms\">"),
            "{x}"
        );
        assert!(
            x.contains(
                "<failure message=\"p95&lt;50ms: p95 = 400ms, breaches &lt; 50ms by 350ms\""
            ),
            "{x}"
        );
        assert!(
            x.contains("name=\"GET /orders?a=1&amp;b=&lt;2&gt;\""),
            "{x}"
        );
        assert!(x.contains("tests=\"2\" failures=\"1\""), "{x}");
        assert_eq!(s.exit_code, 99);
        assert!(s.to_text().contains("FAIL p95<50ms"));
        assert!(s.to_json().contains("\"outcome\": \"thresholds_breached\""));
    }
}
