//! Runs in the store: one row per run with its state, the request that started it and the
//! master's final statistics. The only place where a [`RunState`] becomes text and back.

use rusqlite::params;
use serde::Serialize;

use super::{Db, Store, StoreError, json, new_id, now};
use crate::run_state::RunState;

/// One run of a plan on the master.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub plan: String,
    pub plan_version: i64,
    pub state: RunState,
    /// The request that started it.
    pub request: serde_json::Value,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    /// The master's final statistics: one object per row, Locust's field names, `Aggregated` last.
    pub stats: serde_json::Value,
    pub failures: serde_json::Value,
    pub error: Option<String>,
    /// The verdicts of the run's thresholds (`threshold`, `passed`, `actual`, `limit`,
    /// `message`: which one and by how much), `[]` without thresholds.
    pub thresholds: serde_json::Value,
}

/// The text of a state in the `runs.state` column.
pub(crate) fn state_text(state: RunState) -> &'static str {
    match state {
        RunState::Starting => "starting",
        RunState::Running => "running",
        RunState::Finished => "finished",
        RunState::Stopped => "stopped",
        RunState::Failed => "failed",
    }
}

fn parse_state(text: &str) -> Result<RunState, StoreError> {
    Ok(match text {
        "starting" => RunState::Starting,
        "running" => RunState::Running,
        "finished" => RunState::Finished,
        "stopped" => RunState::Stopped,
        "failed" => RunState::Failed,
        other => return Err(StoreError::Corrupt(format!("unknown run state {other:?}"))),
    })
}

impl Db {
    /// A new run in state `starting`.
    pub fn create_run(
        &self,
        plan: &str,
        plan_version: i64,
        request: &serde_json::Value,
    ) -> Result<RunRecord, StoreError> {
        let id = new_id();
        let t = now();
        self.conn().execute(
            "INSERT INTO runs (id, plan_id, plan_version, request, state, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, plan, plan_version, request.to_string(), state_text(RunState::Starting), t],
        )?;
        Ok(RunRecord {
            id,
            plan: plan.into(),
            plan_version,
            state: RunState::Starting,
            request: request.clone(),
            started_at: t,
            ended_at: None,
            stats: serde_json::json!([]),
            failures: serde_json::json!([]),
            error: None,
            thresholds: serde_json::json!([]),
        })
    }

    pub fn set_run_state(&self, id: &str, state: RunState) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET state = ?2 WHERE id = ?1",
            params![id, state_text(state)],
        )?;
        Ok(())
    }

    /// Records how a run ended, with the master's final statistics.
    pub fn finish_run(
        &self,
        id: &str,
        state: RunState,
        stats: &serde_json::Value,
        failures: &serde_json::Value,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET state = ?2, stats = ?3, failures = ?4, error = ?5, ended_at = ?6 WHERE id = ?1",
            params![id, state_text(state), stats.to_string(), failures.to_string(), error, now()],
        )?;
        Ok(())
    }

    /// Records the verdicts of a run's thresholds.
    pub fn set_run_thresholds(
        &self,
        id: &str,
        verdicts: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE runs SET thresholds = ?2 WHERE id = ?1",
            params![id, verdicts.to_string()],
        )?;
        Ok(())
    }

    pub fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .runs_where("WHERE id = ?1", params![id])?
            .into_iter()
            .next())
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.runs_where("", params![])
    }

    fn runs_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<RunRecord>, StoreError> {
        let db = self.conn();
        let sql = format!(
            "SELECT id, plan_id, plan_version, request, state, started_at, ended_at, stats, failures, error, thresholds
             FROM runs {clause} ORDER BY started_at DESC"
        );
        let mut stmt = db.prepare(&sql)?;
        let rows = stmt.query_map(p, |r| {
            Ok(Row {
                id: r.get(0)?,
                plan: r.get(1)?,
                plan_version: r.get(2)?,
                request: r.get(3)?,
                state: r.get(4)?,
                started_at: r.get(5)?,
                ended_at: r.get(6)?,
                stats: r.get(7)?,
                failures: r.get(8)?,
                error: r.get(9)?,
                thresholds: r.get(10)?,
            })
        })?;
        let rows: Vec<Row> = rows.collect::<Result<_, _>>()?;
        rows.into_iter().map(Row::into_record).collect()
    }
}

/// A `runs` row as SQLite holds it.
struct Row {
    id: String,
    plan: String,
    plan_version: i64,
    request: String,
    state: String,
    started_at: f64,
    ended_at: Option<f64>,
    stats: String,
    failures: String,
    error: Option<String>,
    thresholds: String,
}

impl Row {
    fn into_record(self) -> Result<RunRecord, StoreError> {
        Ok(RunRecord {
            id: self.id,
            plan: self.plan,
            plan_version: self.plan_version,
            state: parse_state(&self.state)?,
            request: json(&self.request)?,
            started_at: self.started_at,
            ended_at: self.ended_at,
            stats: json(&self.stats)?,
            failures: json(&self.failures)?,
            error: self.error,
            thresholds: json(&self.thresholds)?,
        })
    }
}

impl Store {
    pub async fn create_run(
        &self,
        plan: &str,
        plan_version: i64,
        request: &serde_json::Value,
    ) -> Result<RunRecord, StoreError> {
        let (plan, request) = (plan.to_owned(), request.clone());
        self.call(move |db| db.create_run(&plan, plan_version, &request))
            .await
    }

    pub async fn set_run_state(&self, id: &str, state: RunState) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.set_run_state(&id, state)).await
    }

    pub async fn finish_run(
        &self,
        id: &str,
        state: RunState,
        stats: serde_json::Value,
        failures: serde_json::Value,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.finish_run(&id, state, &stats, &failures, error.as_deref()))
            .await
    }

    pub async fn set_run_thresholds(
        &self,
        id: &str,
        verdicts: serde_json::Value,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.set_run_thresholds(&id, &verdicts))
            .await
    }

    pub async fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.run(&id)).await
    }

    pub async fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.call(Db::runs).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_run_goes_from_starting_to_its_end_with_its_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let r = s.create_run("p", 1, &json!({"users": 1})).unwrap();
        assert_eq!(s.run(&r.id).unwrap().unwrap().state, RunState::Starting);
        s.set_run_state(&r.id, RunState::Running).unwrap();
        assert_eq!(s.run(&r.id).unwrap().unwrap().state, RunState::Running);
        s.finish_run(
            &r.id,
            RunState::Finished,
            &json!([{"name": "Aggregated"}]),
            &json!([]),
            None,
        )
        .unwrap();
        let got = s.run(&r.id).unwrap().unwrap();
        assert_eq!(got.state, RunState::Finished);
        assert_eq!(got.stats[0]["name"], "Aggregated");
        assert!(got.ended_at.is_some());
        assert_eq!(got.request, json!({"users": 1}));
        assert_eq!(s.runs().unwrap().len(), 1);
        assert_eq!(got.thresholds, json!([]));
        s.set_run_thresholds(&r.id, &json!([{"threshold": "p95<1ms", "passed": false}]))
            .unwrap();
        assert_eq!(
            s.run(&r.id).unwrap().unwrap().thresholds[0]["passed"],
            false
        );
        assert!(s.run("nope").unwrap().is_none());
    }

    #[test]
    fn every_state_round_trips_and_unknown_text_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let r = s.create_run("p", 1, &json!({})).unwrap();
        for state in [
            RunState::Starting,
            RunState::Running,
            RunState::Finished,
            RunState::Stopped,
            RunState::Failed,
        ] {
            s.set_run_state(&r.id, state).unwrap();
            assert_eq!(s.run(&r.id).unwrap().unwrap().state, state);
        }
        s.conn()
            .execute("UPDATE runs SET state = 'paused'", [])
            .unwrap();
        assert!(matches!(s.run(&r.id), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn an_interrupted_run_is_marked_failed_on_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let starting = s.create_run("p", 1, &json!({})).unwrap();
        let running = s.create_run("p", 1, &json!({})).unwrap();
        s.set_run_state(&running.id, RunState::Running).unwrap();
        let done = s.create_run("p", 1, &json!({})).unwrap();
        s.finish_run(&done.id, RunState::Stopped, &json!([]), &json!([]), None)
            .unwrap();
        drop(s);
        let s = Db::open(dir.path()).unwrap();
        for id in [&starting.id, &running.id] {
            let r = s.run(id).unwrap().unwrap();
            assert_eq!(r.state, RunState::Failed);
            assert_eq!(
                r.error.as_deref(),
                Some("the bridge stopped during the run")
            );
        }
        assert_eq!(s.run(&done.id).unwrap().unwrap().state, RunState::Stopped);
    }
}
