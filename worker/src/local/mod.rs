//! `worker run PLAN --headless -u N [-r R] [-t 30s]`: a load test without a Locust master, for
//! laptops and CI. This module drives the [`Runtime`] itself (the ramp, the stop at the end),
//! merges its reports as a master would ([`aggregate`]), and ends like a headless Locust run:
//! Locust's tables on stdout, Locust's CSV files, thresholds judged, JSON and JUnit summaries,
//! and the exit code of [`contract::summary::Outcome`].
//!
//! - [`aggregate`]: the statistics, merged and computed with Locust's arithmetic;
//! - [`report`]: the tables and CSV files.

pub mod aggregate;
pub mod report;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use contract::summary::RunSummary;
use contract::threshold::Threshold;
use tokio::time::{Instant, MissedTickBehavior, interval};
use tokio_util::sync::CancellationToken;

use crate::locust::codec::ClassCounts;
use crate::runtime::Runtime;
use aggregate::Totals;

/// The one class a local run has (as a master with the default locustfile would call it).
const CLASS: &str = "PlanUser";
/// Users started per turn at most, so reports keep their second.
const SPAWN_BATCH: usize = 2_000;

/// What `--headless` asks for, checked.
#[derive(Debug, Clone)]
pub struct LocalRun {
    pub users: u32,
    /// Users per second; `None`: all at once.
    pub rate: Option<f64>,
    pub run_time: Option<Duration>,
    /// Further phases after `run_time`: (duration, users, users per second).
    pub stages: Vec<(Duration, u32, f64)>,
    pub csv: Option<PathBuf>,
    pub thresholds: Vec<Threshold>,
    pub summary_json: Option<PathBuf>,
    pub junit: Option<PathBuf>,
}

impl LocalRun {
    /// Checks the `--headless` flags, naming every problem.
    pub fn from_args(args: &crate::cli::RunArgs) -> Result<LocalRun, Vec<String>> {
        let mut errors = Vec::new();
        let users = match args.users {
            Some(u) if u > 0 => u,
            _ => {
                errors.push("--headless needs --users N (at least 1)".to_string());
                0
            }
        };
        if let Some(r) = args.spawn_rate
            && !(r.is_finite() && r > 0.0)
        {
            errors.push(format!("--spawn-rate must be a positive number, found {r}"));
        }
        let run_time = match &args.run_time {
            None => None,
            Some(t) => match contract::plan::parse_duration(t) {
                Some(d) if !d.is_zero() => Some(d),
                _ => {
                    errors.push(format!("--run-time {t:?} is not a duration like 30s or 5m"));
                    None
                }
            },
        };
        let mut stages = Vec::new();
        for (i, (d, users, rate)) in args.stages.iter().enumerate() {
            match contract::plan::parse_duration(d).filter(|d| !d.is_zero()) {
                Some(d) if rate.is_finite() && *rate > 0.0 => stages.push((d, *users, *rate)),
                _ => errors.push(format!(
                    "--stage {} ({d}:{users}:{rate}) needs a duration like 30s and a positive rate",
                    i + 1
                )),
            }
        }
        if !stages.is_empty() && run_time.is_none() && errors.is_empty() {
            errors.push("--stage follows a first phase: give it --run-time".into());
        }
        let thresholds = match contract::threshold::parse_all(&args.thresholds) {
            Ok(t) => t,
            Err(es) => {
                errors.extend(es.iter().map(|e| format!("--threshold {e}")));
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LocalRun {
            users,
            rate: args.spawn_rate,
            run_time,
            stages,
            csv: args.csv.clone(),
            thresholds,
            summary_json: args.summary_json.clone(),
            junit: args.junit.clone(),
        })
    }
}

/// The users wanted `elapsed` into a ramp from `from` users to `to` (up or down) at `rate` users
/// per second (Locust's dispatcher moves `max(1, floor(rate))` users per step, one step every
/// `step / rate` seconds; `None`: all at once).
fn ramp_between(from: u32, to: u32, rate: Option<f64>, elapsed: Duration) -> u32 {
    let Some(rate) = rate else { return to };
    let step = rate.floor().max(1.0);
    let moved =
        (((elapsed.as_secs_f64() * rate / step).floor() + 1.0) * step).min(f64::from(u32::MAX));
    if to >= from {
        (f64::from(from) + moved).min(f64::from(to)) as u32
    } else {
        (f64::from(from) - moved).max(f64::from(to)) as u32
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Runs the load test; returns the exit code.
pub async fn run(
    plan_name: &str,
    mut load: Runtime,
    run: LocalRun,
    shutdown: CancellationToken,
) -> anyhow::Result<u8> {
    let mut totals = Totals::new();
    let mut history = report::history_header();
    let started = Instant::now();
    let mut tick = interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut second = interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The phases: `-u` for `-t` (or until stopped), then each `--stage`.
    let mut phases = vec![(run.run_time, run.users, run.rate)];
    phases.extend(run.stages.iter().map(|&(d, u, r)| (Some(d), u, Some(r))));
    let total: Option<Duration> = phases.iter().map(|p| p.0).sum();
    let deadline = total.map(|d| started + d);
    let (mut phase, mut phase_start, mut from) = (0usize, started, 0u32);
    eprintln!(
        "running {plan_name}: {} users{}{}",
        run.users,
        run.rate.map(|r| format!(" at {r}/s")).unwrap_or_default(),
        run.run_time
            .map(|d| format!(" for {}", contract::plan::format_duration(d)))
            .unwrap_or_default()
    );
    let mut ramp_done = false;
    loop {
        let until_end = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = until_end => break,
            _ = tick.tick() => {
                if let Some(d) = phases[phase].0
                    && phase + 1 < phases.len()
                    && phase_start.elapsed() >= d
                {
                    phase += 1;
                    phase_start = Instant::now();
                    from = load.counts().values().sum();
                    ramp_done = false;
                    eprintln!("stage {phase}: {} users", phases[phase].1);
                }
                if !ramp_done {
                    let (_, to, rate) = phases[phase];
                    let want = ramp_between(from, to, rate, phase_start.elapsed());
                    let target: ClassCounts = [(CLASS.to_string(), want)].into();
                    // Batches with a yield between them: other tasks (the users already
                    // started) keep running while a large ramp step is carried out.
                    let mut reached = load.apply(&target, SPAWN_BATCH);
                    while !reached {
                        tokio::task::yield_now().await;
                        reached = load.apply(&target, SPAWN_BATCH);
                    }
                    ramp_done = reached && want == to;
                    if ramp_done && phase == 0 {
                        eprintln!(
                            "all {} users started in {:.3} s",
                            run.users,
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            _ = second.tick() => {
                totals.merge(&load.take_report());
                let now = now_secs();
                totals.snapshot(now);
                let users: u64 = load.counts().values().map(|&n| u64::from(n)).sum();
                history += &report::history_row(&totals, now, users);
                if started.elapsed().as_secs().is_multiple_of(10) {
                    eprintln!(
                        "{users} users, {} requests, {} failures, {:.1} req/s",
                        totals.total.num_requests,
                        totals.total.num_failures,
                        totals.current_rps(false)
                    );
                }
            }
        }
    }
    // In-flight requests complete and count as what they were (see the README).
    load.stop(None).await;
    totals.merge(&load.take_report());
    let now = now_secs();
    history += &report::history_row(&totals, now, 0);

    print!(
        "{}\n{}\n{}",
        report::stats_table(&totals),
        report::percentile_table(&totals),
        report::error_table(&totals)
    );
    if let Some(prefix) = &run.csv {
        report::write_csvs(prefix, &totals, &history)
            .with_context(|| format!("cannot write the CSV files {}", prefix.display()))?;
    }
    let rows = totals.rows();
    let aggregated = totals.aggregated();
    let verdicts = run
        .thresholds
        .iter()
        .map(|t| t.evaluate(&rows, &aggregated))
        .collect();
    let summary = RunSummary::completed(
        plan_name.to_string(),
        started.elapsed().as_secs_f64(),
        rows,
        aggregated,
        totals.failures(),
        verdicts,
    );
    println!("\n{}", summary.to_text());
    if let Some(path) = &run.summary_json {
        std::fs::write(path, summary.to_json())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &run.junit {
        std::fs::write(path, summary.to_junit())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(summary.exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_adds_floor_rate_users_per_step() {
        let run = LocalRun {
            users: 10,
            rate: Some(4.0),
            run_time: None,
            stages: Vec::new(),
            csv: None,
            thresholds: Vec::new(),
            summary_json: None,
            junit: None,
        };
        assert_eq!(ramp_between(0, run.users, run.rate, Duration::ZERO), 4);
        assert_eq!(
            ramp_between(0, run.users, run.rate, Duration::from_millis(999)),
            4
        );
        assert_eq!(
            ramp_between(0, run.users, run.rate, Duration::from_secs(1)),
            8
        );
        assert_eq!(
            ramp_between(0, run.users, run.rate, Duration::from_secs(2)),
            10
        );
        let slow = LocalRun {
            rate: Some(0.5),
            ..run.clone()
        };
        assert_eq!(ramp_between(0, slow.users, slow.rate, Duration::ZERO), 1);
        assert_eq!(
            ramp_between(0, slow.users, slow.rate, Duration::from_secs(2)),
            2
        );
        let all = LocalRun { rate: None, ..run };
        assert_eq!(ramp_between(0, all.users, all.rate, Duration::ZERO), 10);
        // Down from 10 to 2 at 4/s: 6 after the first step, 2 after the second.
        assert_eq!(ramp_between(10, 2, Some(4.0), Duration::ZERO), 6);
        assert_eq!(ramp_between(10, 2, Some(4.0), Duration::from_secs(1)), 2);
    }
}
