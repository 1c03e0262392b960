//! Environments in the store: named variable sets, used by pushes, runs and tries.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{Db, Store, StoreError, Write, new_id, now};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub variables: BTreeMap<String, String>,
    /// 1 when created, one more at each write (the `ETag` of the API).
    pub version: i64,
    pub updated_at: f64,
}

impl Db {
    /// Creates the environment `name` (version 1) or replaces its variables (the next version),
    /// in one transaction. With `if_match`, only if its current version is that one (a missing
    /// environment has none).
    pub fn put_environment(
        &self,
        name: &str,
        variables: &BTreeMap<String, String>,
        if_match: Option<i64>,
    ) -> Result<Write<Environment>, StoreError> {
        let t = now();
        let vars =
            serde_json::to_string(variables).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut db = self.conn();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<(String, i64)> = tx
            .query_row(
                "SELECT id, version FROM environments WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let current = existing.as_ref().map(|(_, v)| *v);
        if if_match.is_some_and(|v| Some(v) != current) {
            return Ok(Write::Stale { current });
        }
        let (id, version) = match existing {
            Some((id, v)) => {
                tx.execute(
                    "UPDATE environments SET variables = ?2, updated_at = ?3, version = ?4
                     WHERE id = ?1",
                    params![id, vars, t, v + 1],
                )?;
                (id, v + 1)
            }
            None => {
                let id = new_id();
                tx.execute(
                    "INSERT INTO environments (id, name, variables, updated_at, version)
                     VALUES (?1, ?2, ?3, ?4, 1)",
                    params![id, name, vars, t],
                )?;
                (id, 1)
            }
        };
        tx.commit()?;
        Ok(Write::Done(Environment {
            id,
            name: name.into(),
            variables: variables.clone(),
            version,
            updated_at: t,
        }))
    }

    /// Every environment, by name.
    pub fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        let db = self.conn();
        let mut stmt = db.prepare(
            "SELECT id, name, variables, updated_at, version FROM environments ORDER BY name",
        )?;
        let rows: Vec<(String, String, String, f64, i64)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, name, vars, updated_at, version)| {
                Ok(Environment {
                    id,
                    name,
                    variables: serde_json::from_str(&vars)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    version,
                    updated_at,
                })
            })
            .collect()
    }

    /// The environment with this name or id.
    pub fn environment(&self, name_or_id: &str) -> Result<Option<Environment>, StoreError> {
        Ok(self
            .environments()?
            .into_iter()
            .find(|e| e.id == name_or_id || e.name == name_or_id))
    }

    pub fn delete_environment(&self, name_or_id: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM environments WHERE id = ?1 OR name = ?1",
            params![name_or_id],
        )?;
        Ok(n > 0)
    }
}

impl Store {
    pub async fn put_environment(
        &self,
        name: &str,
        variables: &BTreeMap<String, String>,
        if_match: Option<i64>,
    ) -> Result<Write<Environment>, StoreError> {
        let (name, variables) = (name.to_owned(), variables.clone());
        self.call(move |db| db.put_environment(&name, &variables, if_match))
            .await
    }

    pub async fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        self.call(Db::environments).await
    }

    pub async fn environment(&self, name_or_id: &str) -> Result<Option<Environment>, StoreError> {
        let key = name_or_id.to_owned();
        self.call(move |db| db.environment(&key)).await
    }

    pub async fn delete_environment(&self, name_or_id: &str) -> Result<bool, StoreError> {
        let key = name_or_id.to_owned();
        self.call(move |db| db.delete_environment(&key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(w: Write<Environment>) -> Environment {
        match w {
            Write::Done(e) => e,
            other => panic!("not written: {other:?}"),
        }
    }

    #[test]
    fn environments_are_replaced_by_name_and_found_by_name_or_id() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let env = done(
            s.put_environment("staging", &BTreeMap::from([("k".into(), "v".into())]), None)
                .unwrap(),
        );
        assert_eq!(env.version, 1);
        let again = done(
            s.put_environment("staging", &BTreeMap::from([("k".into(), "w".into())]), None)
                .unwrap(),
        );
        assert_eq!(again.id, env.id, "same name, same environment");
        assert_eq!(again.version, 2);
        assert_eq!(s.environments().unwrap().len(), 1);
        assert_eq!(
            s.environment("staging").unwrap().unwrap().variables["k"],
            "w"
        );
        assert_eq!(s.environment(&env.id).unwrap().unwrap().name, "staging");
        assert!(s.environment("prod").unwrap().is_none());
        assert!(s.delete_environment("staging").unwrap());
        assert!(!s.delete_environment("staging").unwrap());
    }

    #[test]
    fn a_stale_version_is_refused_and_names_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let vars = BTreeMap::new();
        assert_eq!(
            s.put_environment("e", &vars, Some(1)).unwrap(),
            Write::Stale { current: None },
            "nothing to match yet"
        );
        done(s.put_environment("e", &vars, None).unwrap());
        assert_eq!(
            done(s.put_environment("e", &vars, Some(1)).unwrap()).version,
            2
        );
        assert_eq!(
            s.put_environment("e", &vars, Some(1)).unwrap(),
            Write::Stale { current: Some(2) }
        );
        assert_eq!(s.environment("e").unwrap().unwrap().version, 2);
    }

    #[test]
    fn a_store_without_environment_versions_is_migrated() {
        let dir = tempfile::tempdir().unwrap();
        {
            let c = rusqlite::Connection::open(dir.path().join("bridge.db")).unwrap();
            c.execute_batch(
                "CREATE TABLE environments (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                 variables TEXT NOT NULL, updated_at REAL NOT NULL);
                 INSERT INTO environments VALUES ('x', 'old', '{}', 1.0);",
            )
            .unwrap();
        }
        let s = Db::open(dir.path()).unwrap();
        assert_eq!(s.environment("old").unwrap().unwrap().version, 1);
        let e = done(s.put_environment("old", &BTreeMap::new(), Some(1)).unwrap());
        assert_eq!(e.version, 2);
    }
}
