//! What a run leaves besides its record: the statistics sampled every second while it ran
//! (charts, `history.csv`, comparisons) and the master's files taken when it ended (which ones:
//! [`crate::runs::record::RUN_FILES`]). Kept in the store, so they outlive the master that
//! produced them.

use rusqlite::{OptionalExtension, params};

use super::{Db, Store, StoreError, json};

/// The most samples kept per run (a day at one a second); later ones are dropped.
pub const MAX_SAMPLES: i64 = 86_400;

impl Db {
    pub fn add_sample(&self, run: &str, sample: &serde_json::Value) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO run_samples (run_id, seq, sample)
             SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM run_samples WHERE run_id = ?1
             HAVING COALESCE(MAX(seq), 0) < ?3",
            params![run, sample.to_string(), MAX_SAMPLES],
        )?;
        Ok(())
    }

    pub fn samples(&self, run: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT sample FROM run_samples WHERE run_id = ?1 ORDER BY seq")?;
        let rows = stmt.query_map(params![run], |r| r.get::<_, String>(0))?;
        rows.map(|t| json(&t?)).collect()
    }

    pub fn put_run_file(&self, run: &str, name: &str, content: &[u8]) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO run_files (run_id, name, content) VALUES (?1, ?2, ?3)",
            params![run, name, content],
        )?;
        Ok(())
    }

    pub fn run_file(&self, run: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT content FROM run_files WHERE run_id = ?1 AND name = ?2",
                params![run, name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn run_file_names(&self, run: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT name FROM run_files WHERE run_id = ?1 ORDER BY name")?;
        let rows = stmt.query_map(params![run], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Store {
    pub async fn add_sample(&self, run: &str, sample: serde_json::Value) -> Result<(), StoreError> {
        let run = run.to_owned();
        self.call(move |db| db.add_sample(&run, &sample)).await
    }

    pub async fn samples(&self, run: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let run = run.to_owned();
        self.call(move |db| db.samples(&run)).await
    }

    pub async fn put_run_file(
        &self,
        run: &str,
        name: &'static str,
        content: Vec<u8>,
    ) -> Result<(), StoreError> {
        let run = run.to_owned();
        self.call(move |db| db.put_run_file(&run, name, &content))
            .await
    }

    pub async fn run_file(&self, run: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (run, name) = (run.to_owned(), name.to_owned());
        self.call(move |db| db.run_file(&run, &name)).await
    }

    pub async fn run_file_names(&self, run: &str) -> Result<Vec<String>, StoreError> {
        let run = run.to_owned();
        self.call(move |db| db.run_file_names(&run)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn samples_keep_their_order_and_files_replace_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        for n in 0..3 {
            s.add_sample("r", &json!({"n": n})).unwrap();
        }
        s.add_sample("other", &json!({"n": 9})).unwrap();
        assert_eq!(
            s.samples("r").unwrap(),
            [json!({"n": 0}), json!({"n": 1}), json!({"n": 2})]
        );
        s.put_run_file("r", "stats.csv", b"a").unwrap();
        s.put_run_file("r", "stats.csv", b"b").unwrap();
        s.put_run_file("r", "report.html", b"<html>").unwrap();
        assert_eq!(s.run_file("r", "stats.csv").unwrap().unwrap(), b"b");
        assert_eq!(s.run_file_names("r").unwrap(), ["report.html", "stats.csv"]);
        assert!(s.run_file("r", "nope").unwrap().is_none());
        drop(s);
        let s = Db::open(dir.path()).unwrap();
        assert_eq!(s.samples("r").unwrap().len(), 3, "kept across a reopen");
    }
}
