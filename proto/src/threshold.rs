//! Pass/fail thresholds on a run's final statistics, k6-style: `p95<300ms`, `p99{name=login}<1s`,
//! `fail_ratio<0.01`, `rps>200`. Parsed once (every error names the expression), evaluated on the
//! rows the Locust master (or the one-process mode) computed, so a threshold judges exactly the
//! numbers users see in Locust's table, CSV and report.
//!
//! Grammar: `METRIC [ "{" name=NAME [, method=METHOD] "}" ] OP VALUE [UNIT]`
//! - METRIC: `p50 p66 p75 p80 p90 p95 p98 p99 p99.9 p99.99 p100` (Locust's percentile columns),
//!   `med`, `avg`, `min`, `max` (milliseconds); `rps`, `fail_rps` (per second); `requests`,
//!   `failures` (counts); `fail_ratio` (0..1, or a percentage with `%`).
//! - OP: `<`, `<=`, `>`, `>=`.
//! - UNIT for times: `ms` (default) or `s`.
//!
//! Without a selector a threshold judges the "Aggregated" row.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The percentiles Locust reports, as (label, fraction).
pub const PERCENTILES: [(&str, f64); 11] = [
    ("50", 0.5),
    ("66", 0.66),
    ("75", 0.75),
    ("80", 0.8),
    ("90", 0.9),
    ("95", 0.95),
    ("98", 0.98),
    ("99", 0.99),
    ("99.9", 0.999),
    ("99.99", 0.9999),
    ("100", 1.0),
];

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Index into [`PERCENTILES`].
    Percentile(usize),
    Median,
    Avg,
    Min,
    Max,
    Rps,
    FailRps,
    Requests,
    Failures,
    FailRatio,
}

impl Metric {
    fn is_time(self) -> bool {
        matches!(
            self,
            Metric::Percentile(_) | Metric::Median | Metric::Avg | Metric::Min | Metric::Max
        )
    }

    fn unit(self) -> &'static str {
        match self {
            m if m.is_time() => "ms",
            Metric::Rps | Metric::FailRps => "/s",
            _ => "",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::Percentile(i) => write!(f, "p{}", PERCENTILES[*i].0),
            Metric::Median => f.write_str("med"),
            Metric::Avg => f.write_str("avg"),
            Metric::Min => f.write_str("min"),
            Metric::Max => f.write_str("max"),
            Metric::Rps => f.write_str("rps"),
            Metric::FailRps => f.write_str("fail_rps"),
            Metric::Requests => f.write_str("requests"),
            Metric::Failures => f.write_str("failures"),
            Metric::FailRatio => f.write_str("fail_ratio"),
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// One parsed threshold. `limit` is in the metric's base unit (ms, per second, count, ratio).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written.
    pub source: String,
    pub metric: Metric,
    /// A row's name (`{name=...}`); `None` = the Aggregated row.
    pub name: Option<String>,
    pub method: Option<String>,
    pub op: Op,
    pub limit: f64,
}

/// Why an expression is not a threshold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("threshold `{expr}`: {reason}")]
pub struct ThresholdError {
    pub expr: String,
    pub reason: String,
}

/// The numbers of one statistics row that thresholds judge (Locust's columns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowStats {
    pub method: String,
    pub name: String,
    pub requests: u64,
    pub failures: u64,
    pub median_ms: f64,
    pub avg_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub rps: f64,
    pub fail_rps: f64,
    /// Values for [`PERCENTILES`], in that order (ms).
    pub percentiles_ms: Vec<f64>,
}

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub threshold: String,
    pub passed: bool,
    /// The measured value (`None` when the row it names has no requests).
    pub actual: Option<f64>,
    pub limit: f64,
    /// A sentence for people: what was measured against what, and by how much it missed.
    pub message: String,
}

impl std::str::FromStr for Threshold {
    type Err = ThresholdError;

    fn from_str(expr: &str) -> Result<Threshold, ThresholdError> {
        let err = |reason: &str| ThresholdError {
            expr: expr.to_string(),
            reason: reason.to_string(),
        };
        let s = expr.trim();
        let op_at = s
            .find(['<', '>'])
            .ok_or_else(|| err("no comparison (<, <=, >, >=)"))?;
        let (lhs, rest) = s.split_at(op_at);
        let (op, rhs) = if let Some(r) = rest.strip_prefix("<=") {
            (Op::Le, r)
        } else if let Some(r) = rest.strip_prefix(">=") {
            (Op::Ge, r)
        } else if let Some(r) = rest.strip_prefix('<') {
            (Op::Lt, r)
        } else {
            (Op::Gt, &rest[1..])
        };
        let lhs = lhs.trim();
        let (metric_text, selector) = match lhs.find('{') {
            Some(i) => {
                let sel = lhs[i + 1..]
                    .strip_suffix('}')
                    .ok_or_else(|| err("a selector must end with }"))?;
                (&lhs[..i], Some(sel))
            }
            None => (lhs, None),
        };
        let metric = parse_metric(metric_text.trim()).ok_or_else(|| {
            err("unknown metric (use p50..p100, med, avg, min, max, rps, fail_rps, requests, failures, fail_ratio)")
        })?;
        let (mut name, mut method) = (None, None);
        for part in selector.into_iter().flat_map(|s| s.split(',')) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| err("a selector is {name=NAME} or {name=NAME,method=GET}"))?;
            let v = v.trim().trim_matches('"').to_string();
            match k.trim() {
                "name" => name = Some(v),
                "method" => method = Some(v.to_ascii_uppercase()),
                _ => return Err(err("a selector takes only name and method")),
            }
        }
        let limit = parse_value(metric, rhs.trim()).map_err(|r| err(&r))?;
        Ok(Threshold {
            source: s.to_string(),
            metric,
            name,
            method,
            op,
            limit,
        })
    }
}

fn parse_metric(s: &str) -> Option<Metric> {
    Some(match s {
        "med" | "median" => Metric::Median,
        "avg" => Metric::Avg,
        "min" => Metric::Min,
        "max" => Metric::Max,
        "rps" => Metric::Rps,
        "fail_rps" => Metric::FailRps,
        "requests" => Metric::Requests,
        "failures" => Metric::Failures,
        "fail_ratio" => Metric::FailRatio,
        p => {
            let label = p.strip_prefix('p')?;
            Metric::Percentile(PERCENTILES.iter().position(|(l, _)| *l == label)?)
        }
    })
}

fn parse_value(metric: Metric, s: &str) -> Result<f64, String> {
    let (num, scale) = if metric.is_time() {
        if let Some(n) = s.strip_suffix("ms") {
            (n, 1.0)
        } else if let Some(n) = s.strip_suffix('s') {
            (n, 1000.0)
        } else {
            (s, 1.0)
        }
    } else if metric == Metric::FailRatio {
        match s.strip_suffix('%') {
            Some(n) => (n, 0.01),
            None => (s, 1.0),
        }
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| {
        format!(
            "`{s}` is not a number{}",
            if metric.is_time() {
                " (with ms or s)"
            } else {
                ""
            }
        )
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{s}` must be a finite number >= 0"));
    }
    Ok(v * scale)
}

/// Parses every expression, naming each bad one (all of them, not just the first).
pub fn parse_all<S: AsRef<str>>(exprs: &[S]) -> Result<Vec<Threshold>, Vec<ThresholdError>> {
    let (ok, bad): (Vec<_>, Vec<_>) = exprs
        .iter()
        .map(|e| e.as_ref().parse::<Threshold>())
        .partition(Result::is_ok);
    if bad.is_empty() {
        Ok(ok.into_iter().map(Result::unwrap).collect())
    } else {
        Err(bad.into_iter().map(|e| e.unwrap_err()).collect())
    }
}

impl Threshold {
    fn value(&self, row: &RowStats) -> Option<f64> {
        if row.requests == 0 && !matches!(self.metric, Metric::Requests | Metric::Failures) {
            return None;
        }
        Some(match self.metric {
            Metric::Percentile(i) => *row.percentiles_ms.get(i)?,
            Metric::Median => row.median_ms,
            Metric::Avg => row.avg_ms,
            Metric::Min => row.min_ms,
            Metric::Max => row.max_ms,
            Metric::Rps => row.rps,
            Metric::FailRps => row.fail_rps,
            Metric::Requests => row.requests as f64,
            Metric::Failures => row.failures as f64,
            Metric::FailRatio => row.failures as f64 / row.requests as f64,
        })
    }

    /// Judges the threshold on a run's rows (`aggregated` is Locust's "Aggregated" row).
    pub fn evaluate(&self, rows: &[RowStats], aggregated: &RowStats) -> Verdict {
        let row = match &self.name {
            None => Some(aggregated),
            Some(name) => rows.iter().find(|r| {
                &r.name == name
                    && self
                        .method
                        .as_ref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(&r.method))
            }),
        };
        let actual = row.and_then(|r| self.value(r));
        let unit = self.metric.unit();
        let (passed, message) = match actual {
            None => (
                false,
                format!(
                    "{}: no requests{} to measure",
                    self.source,
                    self.name
                        .as_ref()
                        .map(|n| format!(" named {n}"))
                        .unwrap_or_default()
                ),
            ),
            Some(v) if self.op.holds(v, self.limit) => (
                true,
                format!(
                    "{}: {} = {}{unit}, within {} {}{unit}",
                    self.source,
                    self.metric,
                    fmt_num(v),
                    self.op.as_str(),
                    fmt_num(self.limit)
                ),
            ),
            Some(v) => (
                false,
                format!(
                    "{}: {} = {}{unit}, breaches {} {}{unit} by {}{unit}",
                    self.source,
                    self.metric,
                    fmt_num(v),
                    self.op.as_str(),
                    fmt_num(self.limit),
                    fmt_num((v - self.limit).abs())
                ),
            ),
        };
        Verdict {
            threshold: self.source.clone(),
            passed,
            actual,
            limit: self.limit,
            message,
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, requests: u64, failures: u64, p95: f64) -> RowStats {
        let mut percentiles_ms = vec![10.0; PERCENTILES.len()];
        percentiles_ms[5] = p95;
        RowStats {
            method: "GET".into(),
            name: name.into(),
            requests,
            failures,
            median_ms: 10.0,
            avg_ms: 12.5,
            min_ms: 1.0,
            max_ms: 900.0,
            rps: 250.0,
            fail_rps: 0.5,
            percentiles_ms,
        }
    }

    #[test]
    fn parses_the_forms_people_write() {
        let t: Threshold = "p95<300ms".parse().unwrap();
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::Percentile(5), Op::Lt, 300.0)
        );
        let t: Threshold = "p99{name=login}<1s".parse().unwrap();
        assert_eq!((t.name.as_deref(), t.limit), (Some("login"), 1000.0));
        let t: Threshold = " fail_ratio < 1% ".parse().unwrap();
        assert_eq!((t.metric, t.limit), (Metric::FailRatio, 0.01));
        let t: Threshold = "rps>=200".parse().unwrap();
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rps, Op::Ge, 200.0));
        let t: Threshold = "p99.9{name=/orders, method=post}<=2.5s".parse().unwrap();
        assert_eq!((t.method.as_deref(), t.limit), (Some("POST"), 2500.0));
    }

    #[test]
    fn every_bad_expression_is_named() {
        let errs =
            parse_all(&["p95<300ms", "p97<1s", "rps", "avg<fast", "p95{host=x}<1"]).unwrap_err();
        let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].contains("`p97<1s`: unknown metric"));
        assert!(text[1].contains("`rps`: no comparison"));
        assert!(text[2].contains("`fast` is not a number"));
        assert!(text[3].contains("only name and method"));
    }

    #[test]
    fn judges_rows_and_says_by_how_much() {
        let agg = row("Aggregated", 1000, 20, 450.0);
        let rows = [row("login", 100, 0, 80.0)];
        let v = "p95<300ms"
            .parse::<Threshold>()
            .unwrap()
            .evaluate(&rows, &agg);
        assert!(!v.passed);
        assert_eq!(
            v.message,
            "p95<300ms: p95 = 450ms, breaches < 300ms by 150ms"
        );
        let v = "p95{name=login}<100ms"
            .parse::<Threshold>()
            .unwrap()
            .evaluate(&rows, &agg);
        assert!(v.passed, "{}", v.message);
        assert!(
            !"fail_ratio<0.01"
                .parse::<Threshold>()
                .unwrap()
                .evaluate(&rows, &agg)
                .passed
        );
        assert!(
            "fail_ratio<=2%"
                .parse::<Threshold>()
                .unwrap()
                .evaluate(&rows, &agg)
                .passed
        );
        let v = "p95{name=nope}<1s"
            .parse::<Threshold>()
            .unwrap()
            .evaluate(&rows, &agg);
        assert!(!v.passed && v.actual.is_none(), "{}", v.message);
        let empty = RowStats::default();
        assert!(
            !"p95<1s"
                .parse::<Threshold>()
                .unwrap()
                .evaluate(&[], &empty)
                .passed
        );
        assert!(
            "failures<1"
                .parse::<Threshold>()
                .unwrap()
                .evaluate(&[], &empty)
                .passed
        );
    }
}
