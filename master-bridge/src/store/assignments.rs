//! Pool assignments in the store: the active plan of each pool (a label selector; empty = every
//! worker), which workers that join later receive.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use super::{Db, Store, StoreError, now};

/// The active plan of a pool.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Assignment {
    pub selector: BTreeMap<String, String>,
    pub plan: String,
    pub plan_version: i64,
}

impl Db {
    /// Makes `plan` the active plan of the pool `selector`.
    pub fn assign(
        &self,
        selector: &BTreeMap<String, String>,
        plan: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let key =
            serde_json::to_string(selector).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO assignments (selector, plan_id, plan_version, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(selector) DO UPDATE SET plan_id = excluded.plan_id, plan_version = excluded.plan_version,
             updated_at = excluded.updated_at",
            params![key, plan, version, now()],
        )?;
        Ok(())
    }

    /// Active plans, most specific selector first.
    pub fn assignments(&self) -> Result<Vec<Assignment>, StoreError> {
        let db = self.conn();
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

impl Store {
    pub async fn assign(
        &self,
        selector: &BTreeMap<String, String>,
        plan: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let (selector, plan) = (selector.clone(), plan.to_owned());
        self.call(move |db| db.assign(&selector, &plan, version))
            .await
    }

    pub async fn assignments(&self) -> Result<Vec<Assignment>, StoreError> {
        self.call(Db::assignments).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_pool_first_and_one_plan_per_pool() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        s.assign(&BTreeMap::new(), "p", 1).unwrap();
        s.assign(&BTreeMap::from([("team".into(), "a".into())]), "q", 2)
            .unwrap();
        s.assign(&BTreeMap::new(), "r", 3).unwrap();
        let a = s.assignments().unwrap();
        assert_eq!(a.len(), 2, "re-assigning a pool replaces its plan");
        assert_eq!((a[0].plan.as_str(), a[0].plan_version), ("q", 2));
        assert_eq!((a[1].plan.as_str(), a[1].plan_version), ("r", 3));
    }
}
