//! The bridge's embedded store: SQLite in `--data-dir/bridge.db`, WAL journal with
//! `synchronous=FULL`, so a write is on disk before the API acknowledges it and survives the
//! process being killed.
//!
//! [`Db`] is the synchronous store (one connection behind a lock), split by resource: [`plans`]
//! (every saved version kept), [`environments`] (named variable sets), [`runs`] (run history),
//! [`run_data`] (each run's sampled statistics and the master's files) and
//! [`assignments`] (the active plan of each worker pool, so workers that join later get it).
//! [`Store`] is the handle async code holds: every call runs on tokio's blocking pool, never on
//! an async worker thread.

pub mod assignments;
pub mod environments;
pub mod plans;
pub mod run_data;
pub mod runs;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, params};

pub use assignments::Assignment;
pub use environments::Environment;
pub use plans::PlanRecord;
pub use runs::RunRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot create the data directory {0}: {1}")]
    Dir(String, std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a store call did not complete: {0}")]
    Task(String),
}

/// The outcome of a versioned write (optimistic concurrency: `if_match` is the version the
/// writer last saw; `None` writes whatever the current version is).
#[derive(Debug, Clone, PartialEq)]
pub enum Write<T> {
    /// Written: the record as this call wrote it, with its new version.
    Done(T),
    /// Nothing to write to.
    NotFound,
    /// `if_match` was not the current version (`None`: the thing does not exist yet).
    Stale { current: Option<i64> },
}

/// The synchronous store: short calls behind one lock. Async code uses [`Store`].
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
}

/// The async handle of the store (cheap to clone).
#[derive(Debug, Clone)]
pub struct Store {
    db: Arc<Db>,
}

pub(crate) fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

pub(crate) fn json(text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

const SCHEMA: &str = "PRAGMA journal_mode = WAL;
     PRAGMA synchronous = FULL;
     PRAGMA foreign_keys = ON;
     CREATE TABLE IF NOT EXISTS plans (
         id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL,
         updated_at REAL NOT NULL, latest INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0);
     CREATE TABLE IF NOT EXISTS plan_versions (
         plan_id TEXT NOT NULL REFERENCES plans(id), version INTEGER NOT NULL,
         json TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (plan_id, version));
     CREATE TABLE IF NOT EXISTS environments (
         id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, variables TEXT NOT NULL, updated_at REAL NOT NULL,
         version INTEGER NOT NULL DEFAULT 1);
     CREATE TABLE IF NOT EXISTS runs (
         id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_version INTEGER NOT NULL,
         request TEXT NOT NULL, state TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL,
         stats TEXT NOT NULL DEFAULT '[]', failures TEXT NOT NULL DEFAULT '[]', error TEXT,
         thresholds TEXT NOT NULL DEFAULT '[]');
     CREATE TABLE IF NOT EXISTS run_samples (
         run_id TEXT NOT NULL, seq INTEGER NOT NULL, sample TEXT NOT NULL, PRIMARY KEY (run_id, seq));
     CREATE TABLE IF NOT EXISTS run_files (
         run_id TEXT NOT NULL, name TEXT NOT NULL, content BLOB NOT NULL, PRIMARY KEY (run_id, name));
     CREATE TABLE IF NOT EXISTS assignments (
         selector TEXT PRIMARY KEY, plan_id TEXT NOT NULL, plan_version INTEGER NOT NULL, updated_at REAL NOT NULL);";

/// Brings a store written by an older bridge up to [`SCHEMA`]: environments gained a version.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let has_version: bool = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('environments') WHERE name = 'version'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )?;
    if !has_version {
        conn.execute_batch(
            "ALTER TABLE environments ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
        )?;
    }
    // Stores made before runs had threshold verdicts get the column.
    let has_verdicts = conn.prepare("SELECT thresholds FROM runs LIMIT 0").is_ok();
    if !has_verdicts {
        conn.execute_batch("ALTER TABLE runs ADD COLUMN thresholds TEXT NOT NULL DEFAULT '[]'")?;
    }
    Ok(())
}

impl Db {
    /// Opens (creating if needed) `dir/bridge.db`. Blocking.
    pub fn open(dir: &Path) -> Result<Db, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let conn = Connection::open(dir.join("bridge.db"))?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        // A run that was going when the bridge died did not finish.
        conn.execute(
            "UPDATE runs SET state = ?1, error = 'the bridge stopped during the run', ended_at = ?2
             WHERE state IN (?3, ?4)",
            params![
                runs::state_text(crate::run_state::RunState::Failed),
                now(),
                runs::state_text(crate::run_state::RunState::Starting),
                runs::state_text(crate::run_state::RunState::Running),
            ],
        )?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Opens the store on the blocking pool.
    pub async fn open(dir: &Path) -> Result<Store, StoreError> {
        let dir = dir.to_path_buf();
        let db = tokio::task::spawn_blocking(move || Db::open(&dir))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(Store::from_db(db))
    }

    pub fn from_db(db: Db) -> Store {
        Store { db: Arc::new(db) }
    }

    /// Runs `f` on the synchronous store, on tokio's blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }
}
