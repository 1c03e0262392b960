//! Environments in the store: named variable sets, used by pushes, runs and tries.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Db, Store, StoreError, new_id, now};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Environment {
    pub id: String,
    pub name: String,
    pub variables: BTreeMap<String, String>,
    pub updated_at: f64,
}

impl Db {
    /// Creates or replaces the environment `name`.
    pub fn put_environment(
        &self,
        name: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<Environment, StoreError> {
        let t = now();
        let vars =
            serde_json::to_string(variables).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let db = self.conn();
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

    /// Every environment, by name.
    pub fn environments(&self) -> Result<Vec<Environment>, StoreError> {
        let db = self.conn();
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
    ) -> Result<Environment, StoreError> {
        let (name, variables) = (name.to_owned(), variables.clone());
        self.call(move |db| db.put_environment(&name, &variables))
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

    #[test]
    fn environments_are_replaced_by_name_and_found_by_name_or_id() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let env = s
            .put_environment("staging", &BTreeMap::from([("k".into(), "v".into())]))
            .unwrap();
        let again = s
            .put_environment("staging", &BTreeMap::from([("k".into(), "w".into())]))
            .unwrap();
        assert_eq!(again.id, env.id, "same name, same environment");
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
}
