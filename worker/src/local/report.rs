//! What a local run shows and writes, in Locust's shapes: the console tables Locust prints at the
//! end of a headless run (stats, percentiles, errors) and its CSV files (`--csv PREFIX`:
//! `_stats.csv`, `_stats_history.csv`, `_failures.csv`, `_exceptions.csv`), same columns and
//! order, numbers formatted as Python writes them.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use contract::threshold::PERCENTILES;

use super::aggregate::{Entry, Totals};

/// Locust's column widths when not on a terminal.
const TYPE_WIDTH: usize = 8;
const NAME_WIDTH: usize = 80;

/// A float as Python's `repr` writes it (`12.0`, `0.5`).
pub fn py(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn percentile_headers() -> Vec<String> {
    PERCENTILES.iter().map(|(l, _)| format!("{l}%")).collect()
}

fn type_of(e: &Entry) -> String {
    if e.method.is_empty() {
        String::new()
    } else {
        format!("{} ", e.method)
    }
}

/// The stats table (`get_stats_summary`, totals over the whole run).
pub fn stats_table(t: &Totals) -> String {
    let name_w = NAME_WIDTH - TYPE_WIDTH + 4;
    let mut out = format!(
        "{:<TYPE_WIDTH$} {:<name_w$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7} {:>11}\n",
        "Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s"
    );
    let sep = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}\n",
        "-".repeat(TYPE_WIDTH),
        "-".repeat(name_w),
        "-".repeat(7),
        "-".repeat(13),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(7),
        "-".repeat(8),
        "-".repeat(11)
    );
    out += &sep;
    let secs = t.duration();
    let line = |e: &Entry| {
        let ratio = if e.num_requests > 0 {
            e.num_failures as f64 / e.num_requests as f64
        } else if e.num_failures > 0 {
            1.0
        } else {
            0.0
        };
        let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        format!(
            "{:<TYPE_WIDTH$} {:<name_w$} {:>7} {:>12} |{:>7} {:>7} {:>7}{:>7} | {:>7.2} {:>11.2}\n",
            type_of(e),
            e.name,
            e.num_requests,
            format!("{}({:.2}%)", e.num_failures, ratio * 100.0),
            e.avg() as i64,
            e.min_response_time.unwrap_or(0.0) as i64,
            e.max_response_time as i64,
            e.median() as i64,
            rate(e.num_requests),
            rate(e.num_failures),
        )
    };
    for e in t.entries.values() {
        out += &line(e);
    }
    out += &sep;
    out += &line(&t.total);
    out
}

/// The percentile table (`get_percentile_stats_summary`).
pub fn percentile_table(t: &Totals) -> String {
    let mut out = String::from("Response time percentiles (approximated)\n");
    let heads = percentile_headers();
    let _ = write!(
        out,
        "{:<TYPE_WIDTH$} {:<NAME_WIDTH$} {:>8}",
        "Type", "Name", heads[0]
    );
    for h in heads.iter().skip(1) {
        let _ = write!(out, " {h:>6}");
    }
    let _ = writeln!(out, " {:>6}", "# reqs");
    let mut sep = format!(
        "{}|{}|{}|",
        "-".repeat(TYPE_WIDTH),
        "-".repeat(NAME_WIDTH),
        "-".repeat(8)
    );
    sep += &"------|".repeat(PERCENTILES.len());
    sep.pop();
    sep.push('\n');
    out += &sep;
    let line = |e: &Entry| {
        // As Locust: the first percentile 8 wide, the others and the count 6 wide.
        let mut l = format!("{:<TYPE_WIDTH$} {:<NAME_WIDTH$}", e.method, e.name);
        for (i, (_, p)) in PERCENTILES.iter().enumerate() {
            let w = if i == 0 { 8 } else { 6 };
            let _ = write!(l, " {:>w$}", e.percentile(*p));
        }
        let _ = writeln!(l, " {:>6}", e.num_requests);
        l
    };
    for e in t.entries.values().filter(|e| !e.response_times.is_empty()) {
        out += &line(e);
    }
    out += &sep;
    if !t.total.response_times.is_empty() {
        out += &line(&t.total);
    }
    out
}

/// The error report (`get_error_report_summary`); empty without errors.
pub fn error_table(t: &Totals) -> String {
    if t.errors.is_empty() {
        return String::new();
    }
    let sep = format!("{}|{}\n", "-".repeat(18), "-".repeat(80 + NAME_WIDTH - 19));
    let mut out = format!(
        "Error report\n{:<18} {:<100}\n{sep}",
        "# occurrences", "Error"
    );
    for e in t.errors.values() {
        let _ = writeln!(
            out,
            "{:<18} {:<100}",
            e.occurrences,
            format!("{} {}: {}", e.method, e.name, e.error)
        );
    }
    out += &sep;
    out
}

fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    format!("{}\r\n", quoted.join(","))
}

fn stats_row(e: &Entry, secs: f64) -> Vec<String> {
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let median = e.median();
    let mut row = vec![
        e.method.clone(),
        e.name.clone(),
        e.num_requests.to_string(),
        e.num_failures.to_string(),
        if median.fract() == 0.0 {
            (median as i64).to_string()
        } else {
            py(median)
        },
        py(e.avg()),
        e.min_response_time.map_or("0".into(), py),
        py(e.max_response_time),
        if e.num_requests == 0 {
            "0".into()
        } else {
            py(e.avg_content_length())
        },
        py(rate(e.num_requests)),
        py(rate(e.num_failures)),
    ];
    for (_, p) in PERCENTILES {
        row.push(if e.num_requests == 0 {
            "N/A".into()
        } else {
            e.percentile(p).to_string()
        });
    }
    row
}

/// `PREFIX_stats.csv`.
pub fn stats_csv(t: &Totals) -> String {
    let mut head: Vec<String> = [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
    ]
    .map(String::from)
    .to_vec();
    head.extend(percentile_headers());
    let mut out = csv_line(&head);
    let secs = t.duration();
    for e in t.entries.values().chain(std::iter::once(&t.total)) {
        out += &csv_line(&stats_row(e, secs));
    }
    out
}

/// `PREFIX_failures.csv`.
pub fn failures_csv(t: &Totals) -> String {
    let head = [
        "Method",
        "Name",
        "Error",
        "Occurrences",
        "First Seen",
        "Last Seen",
    ];
    let mut out = csv_line(&head.map(String::from));
    let stamp = |secs: f64| {
        time::OffsetDateTime::from_unix_timestamp(secs as i64)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default()
    };
    let mut errors: Vec<_> = t.errors.values().collect();
    errors.sort_by(|a, b| (&a.name, &a.method).cmp(&(&b.name, &b.method)));
    for e in errors {
        out += &csv_line(&[
            e.method.clone(),
            e.name.clone(),
            e.error.clone(),
            e.occurrences.to_string(),
            stamp(e.first_seen),
            stamp(e.last_seen),
        ]);
    }
    out
}

/// The header of `PREFIX_stats_history.csv`.
pub fn history_header() -> String {
    let mut head: Vec<String> = [
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
    ]
    .map(String::from)
    .to_vec();
    head.extend(percentile_headers());
    head.extend(
        [
            "Total Request Count",
            "Total Failure Count",
            "Total Median Response Time",
            "Total Average Response Time",
            "Total Min Response Time",
            "Total Max Response Time",
            "Total Average Content Size",
        ]
        .map(String::from),
    );
    csv_line(&head)
}

/// One history row: the aggregate now (current rates and percentiles, totals so far).
pub fn history_row(t: &Totals, now: i64, users: u64) -> String {
    let e = &t.total;
    let mut row = vec![
        now.to_string(),
        users.to_string(),
        String::new(),
        "Aggregated".into(),
        py(t.current_rps(false)),
        py(t.current_rps(true)),
    ];
    for (_, p) in PERCENTILES {
        row.push(if e.num_requests == 0 {
            "N/A".into()
        } else {
            t.current_percentile(now, p).to_string()
        });
    }
    let median = e.median();
    row.extend([
        e.num_requests.to_string(),
        e.num_failures.to_string(),
        if median.fract() == 0.0 {
            (median as i64).to_string()
        } else {
            py(median)
        },
        py(e.avg()),
        e.min_response_time.map_or("0".into(), py),
        py(e.max_response_time),
        if e.num_requests == 0 {
            "0".into()
        } else {
            py(e.avg_content_length())
        },
    ]);
    csv_line(&row)
}

/// Writes the four CSV files of `prefix` (history lines as collected).
pub fn write_csvs(prefix: &Path, t: &Totals, history: &str) -> std::io::Result<()> {
    let path = |suffix: &str| {
        let mut p = prefix.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    std::fs::write(path("_stats.csv"), stats_csv(t))?;
    std::fs::write(path("_failures.csv"), failures_csv(t))?;
    std::fs::write(path("_stats_history.csv"), history)?;
    let mut f = std::fs::File::create(path("_exceptions.csv"))?;
    f.write_all(csv_line(&["Count", "Message", "Traceback", "Nodes"].map(String::from)).as_bytes())
}
