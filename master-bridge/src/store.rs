//! The bridge's embedded store: SQLite in `--data-dir/bridge.db`, WAL journal with
//! `synchronous=FULL`, so a write is on disk before the API acknowledges it and survives the
//! process being killed.
//!
//! Holds plans (every saved version kept), environments (named variable sets), run history, and
//! the active plan of each worker pool (so workers that join later get it).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot create the data directory {0}: {1}")]
    Dir(String, std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A plan's latest version with its history length.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanRecord {
    pub id: String,
    pub name: String,
    pub version: i64,
    pub created_at: f64,
    pub updated_at: f64,
    /// The plan document (the worker's format).
    pub plan: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub variables: BTreeMap<String, String>,
    pub updated_at: f64,
}

/// One run of a plan on the master.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRecord {
    pub id: String,
    pub plan: String,
    pub plan_version: i64,
    /// `starting`, `running`, `finished`, `stopped` or `failed`.
    pub state: String,
    /// The request that started it.
    pub request: serde_json::Value,
    pub started_at: f64,
    pub ended_at: Option<f64>,
    /// The master's final statistics: one object per row, Locust's field names, `Aggregated` last.
    pub stats: serde_json::Value,
    pub failures: serde_json::Value,
    pub error: Option<String>,
}

/// The active plan of a pool (a label selector; empty = every worker).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Assignment {
    pub selector: BTreeMap<String, String>,
    pub plan: String,
    pub plan_version: i64,
}

/// The store. Calls are short and synchronous behind one lock.
#[derive(Debug)]
pub struct Store {
    db: Mutex<Connection>,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

fn json(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Store {
    /// Opens (creating if needed) `dir/bridge.db`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let db = Connection::open(dir.join("bridge.db"))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS plans (
                 id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
                 updated_at REAL NOT NULL, latest INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
             CREATE TABLE IF NOT EXISTS plan_versions (
                 plan_id TEXT NOT NULL REFERENCES plans(id), version INTEGER NOT NULL,
                 json TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (plan_id, version));
             CREATE TABLE IF NOT EXISTS environments (
                 id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, variables TEXT NOT NULL, updated_at REAL NOT NULL);
             CREATE TABLE IF NOT EXISTS runs (
                 id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_version INTEGER NOT NULL,
                 request TEXT NOT NULL, state TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL,
                 stats TEXT NOT NULL DEFAULT '[]', failures TEXT NOT NULL DEFAULT '[]', error TEXT);
             CREATE TABLE IF NOT EXISTS assignments (
                 selector TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_version INTEGER NOT NULL, updated_at REAL NOT NULL);",
        )?;
        // A run that was going when the bridge died did not finish.
        db.execute(
            "UPDATE runs SET state = 'failed', error = 'the bridge stopped during the run', ended_at = ?1
             WHERE state IN ('starting', 'running')",
            params![now()],
        )?;
        Ok(Store { db: Mutex::new(db) })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a new plan (version 1).
    pub fn create_plan(
        &self,
        name: &str,
        plan: &serde_json::Value,
    ) -> Result<PlanRecord, StoreError> {
        let id = new_id();
        let t = now();
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT INTO plans (id, name, created_at, updated_at, latest) VALUES (?1, ?2, ?3, ?3, 1)",
            params![id, name, t],
        )?;
        tx.execute(
            "INSERT INTO plan_versions (plan_id, version, json, created_at) VALUES (?1, 1, ?2, ?3)",
            params![id, plan.to_string(), t],
        )?;
        tx.commit()?;
        Ok(PlanRecord {
            id,
            name: name.into(),
            version: 1,
            created_at: t,
            updated_at: t,
            plan: plan.clone(),
        })
    }

    /// Saves a new version of an existing plan; `None` if there is no such plan.
    pub fn update_plan(
        &self,
        id: &str,
        name: &str,
        plan: &serde_json::Value,
    ) -> Result<Option<PlanRecord>, StoreError> {
        let t = now();
        let mut db = self.db();
        let tx = db.transaction()?;
        let latest: Option<i64> = tx
            .query_row(
                "SELECT latest FROM plans WHERE id = ?1 AND deleted = 0",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        let Some(latest) = latest else {
            return Ok(None);
        };
        let version = latest + 1;
        tx.execute(
            "INSERT INTO plan_versions (plan_id, version, json, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, version, plan.to_string(), t],
        )?;
        tx.execute(
            "UPDATE plans SET name = ?2, updated_at = ?3, latest = ?4 WHERE id = ?1",
            params![id, name, t, version],
        )?;
        tx.commit()?;
        drop(db);
        self.plan(id, None)
    }

    /// A plan at a version (default: the latest).
    pub fn plan(&self, id: &str, version: Option<i64>) -> Result<Option<PlanRecord>, StoreError> {
        let db = self.db();
        let row = db
            .query_row(
                "SELECT p.name, p.created_at, p.updated_at, v.version, v.json FROM plans p
                 JOIN plan_versions v ON v.plan_id = p.id AND v.version = COALESCE(?2, p.latest)
                 WHERE p.id = ?1 AND p.deleted = 0",
                params![id, version],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(name, created_at, updated_at, version, text)| {
            Ok(PlanRecord {
                id: id.into(),
                name,
                version,
                created_at,
                updated_at,
                plan: json(&text)?,
            })
        })
        .transpose()
    }

    pub fn plans(&self) -> Result<Vec<PlanRecord>, StoreError> {
        let ids: Vec<String> = {
            let db = self.db();
            let mut stmt =
                db.prepare("SELECT id FROM plans WHERE deleted = 0 ORDER BY created_at")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        Ok(ids
            .iter()
            .filter_map(|id| self.plan(id, None).ok().flatten())
            .collect())
    }

    /// Every saved version number of a plan.
    pub fn plan_versions(&self, id: &str) -> Result<Vec<i64>, StoreError> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT version FROM plan_versions WHERE plan_id = ?1 ORDER BY version")?;
        let v = stmt
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Marks a plan deleted (its versions stay for the run history). False if there was none.
    pub fn delete_plan(&self, id: &str) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE plans SET deleted = 1, updated_at = ?2 WHERE id = ?1 AND deleted = 0",
            params![id, now()],
        )?;
        self.db()
            .execute("DELETE FROM assignments WHERE plan_id = ?1", params![id])?;
        Ok(n > 0)
    }

    pub fn put_environment(
        &self,
        name: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<Environment, StoreError> {
        let t = now();
        let vars =
            serde_json::to_string(variables).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let db = self.db();
        let existing: Option<String> = db
            .query_row(
                "SELECT id FROM environments WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        let id = existing.unwrap_or_else(new_id);
        db.execute(
            "INSERT INTO environments (id, name, variables, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET variables = excluded.variables, updated_at = excluded.updated_at",
            params![id, name, vars, t],
        )?;
        Ok(Environment {
            id,
            name: name.into(),
            variables: variables.clone(),
            updated_at: t,
        })
    }

    pub fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT id, name, variables, updated_at FROM environments ORDER BY name")?;
        let rows: Vec<(String, String, String, f64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, name, vars, updated_at)| {
                Ok(Environment {
                    id,
                    name,
                    variables: serde_json::from_str(&vars)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    updated_at,
                })
            })
            .collect()
    }

    pub fn environment(&self, name_or_id: &str) -> Result<Option<Environment>, StoreError> {
        Ok(self
            .environments()?
            .into_iter()
            .find(|e| e.id == name_or_id || e.name == name_or_id))
    }

    pub fn delete_environment(&self, name_or_id: &str) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "DELETE FROM environments WHERE id = ?1 OR name = ?1",
            params![name_or_id],
        )?;
        Ok(n > 0)
    }

    pub fn create_run(
        &self,
        plan: &str,
        plan_version: i64,
        request: &serde_json::Value,
    ) -> Result<RunRecord, StoreError> {
        let id = new_id();
        let t = now();
        self.db().execute(
            "INSERT INTO runs (id, plan_id, plan_version, request, state, started_at) VALUES (?1, ?2, ?3, ?4, 'starting', ?5)",
            params![id, plan, plan_version, request.to_string(), t],
        )?;
        Ok(RunRecord {
            id,
            plan: plan.into(),
            plan_version,
            state: "starting".into(),
            request: request.clone(),
            started_at: t,
            ended_at: None,
            stats: serde_json::json!([]),
            failures: serde_json::json!([]),
            error: None,
        })
    }

    pub fn set_run_state(&self, id: &str, state: &str) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE runs SET state = ?2 WHERE id = ?1",
            params![id, state],
        )?;
        Ok(())
    }

    /// Records how a run ended, with the master's final statistics.
    pub fn finish_run(
        &self,
        id: &str,
        state: &str,
        stats: &serde_json::Value,
        failures: &serde_json::Value,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE runs SET state = ?2, stats = ?3, failures = ?4, error = ?5, ended_at = ?6 WHERE id = ?1",
            params![id, state, stats.to_string(), failures.to_string(), error, now()],
        )?;
        Ok(())
    }

    pub fn run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self
            .runs_where("WHERE id = ?1", params![id])?
            .into_iter()
            .next())
    }

    pub fn runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        self.runs_where("", params![])
    }

    fn runs_where(
        &self,
        clause: &str,
        p: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<RunRecord>, StoreError> {
        let db = self.db();
        let sql = format!(
            "SELECT id, plan_id, plan_version, request, state, started_at, ended_at, stats, failures, error
             FROM runs {clause} ORDER BY started_at DESC"
        );
        let mut stmt = db.prepare(&sql)?;
        type Row = (
            String,
            String,
            i64,
            String,
            String,
            f64,
            Option<f64>,
            String,
            String,
            Option<String>,
        );
        let rows: Vec<Row> = stmt
            .query_map(p, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(
                |(
                    id,
                    plan,
                    plan_version,
                    request,
                    state,
                    started_at,
                    ended_at,
                    stats,
                    failures,
                    error,
                )| {
                    Ok(RunRecord {
                        id,
                        plan,
                        plan_version,
                        state,
                        request: json(&request)?,
                        started_at,
                        ended_at,
                        stats: json(&stats)?,
                        failures: json(&failures)?,
                        error,
                    })
                },
            )
            .collect()
    }

    /// Makes `plan` the active plan of the pool `selector`.
    pub fn assign(
        &self,
        selector: &BTreeMap<String, String>,
        plan: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let key =
            serde_json::to_string(selector).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db().execute(
            "INSERT INTO assignments (selector, plan_id, plan_version, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(selector) DO UPDATE SET plan_id = excluded.plan_id, plan_version = excluded.plan_version,
             updated_at = excluded.updated_at",
            params![key, plan, version, now()],
        )?;
        Ok(())
    }

    /// Active plans, most specific selector first.
    pub fn assignments(&self) -> Result<Vec<Assignment>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare("SELECT selector, plan_id, plan_version FROM assignments")?;
        let rows: Vec<(String, String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut out: Vec<Assignment> = rows
            .into_iter()
            .map(|(sel, plan, plan_version)| {
                Ok(Assignment {
                    selector: serde_json::from_str(&sel)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    plan,
                    plan_version,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.sort_by_key(|a| std::cmp::Reverse(a.selector.len()));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plans_keep_every_version_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let s = Store::open(dir.path()).unwrap();
            let p = s.create_plan("a", &json!({"name": "a"})).unwrap();
            let p2 = s
                .update_plan(&p.id, "a", &json!({"name": "a", "v": 2}))
                .unwrap()
                .unwrap();
            assert_eq!(p2.version, 2);
            assert!(s.update_plan("nope", "x", &json!({})).unwrap().is_none());
            p.id
        };
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.plan_versions(&id).unwrap(), [1, 2]);
        assert_eq!(
            s.plan(&id, Some(1)).unwrap().unwrap().plan,
            json!({"name": "a"})
        );
        assert_eq!(s.plan(&id, None).unwrap().unwrap().plan["v"], 2);
        assert_eq!(s.plans().unwrap().len(), 1);
        assert!(s.delete_plan(&id).unwrap());
        assert!(s.plan(&id, None).unwrap().is_none());
        assert!(s.plans().unwrap().is_empty());
    }

    #[test]
    fn runs_environments_and_assignments() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let r = s.create_run("p", 1, &json!({"users": 1})).unwrap();
        s.set_run_state(&r.id, "running").unwrap();
        s.finish_run(
            &r.id,
            "finished",
            &json!([{"name": "Aggregated"}]),
            &json!([]),
            None,
        )
        .unwrap();
        let got = s.run(&r.id).unwrap().unwrap();
        assert_eq!(got.state, "finished");
        assert_eq!(got.stats[0]["name"], "Aggregated");
        let env = s
            .put_environment("staging", &BTreeMap::from([("k".into(), "v".into())]))
            .unwrap();
        assert_eq!(s.environment("staging").unwrap().unwrap().id, env.id);
        s.assign(&BTreeMap::new(), "p", 1).unwrap();
        s.assign(&BTreeMap::from([("team".into(), "a".into())]), "q", 2)
            .unwrap();
        let a = s.assignments().unwrap();
        assert_eq!(a[0].plan, "q");
        // an interrupted run is marked failed on the next start
        let r2 = s.create_run("p", 1, &json!({})).unwrap();
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.run(&r2.id).unwrap().unwrap().state, "failed");
    }
}
