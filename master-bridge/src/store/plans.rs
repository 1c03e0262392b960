//! Plans in the store: every saved version is kept; deleting only hides the plan (its versions
//! stay for the run history).

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::{Db, Store, StoreError, Write, json, new_id, now};

/// A plan at one version.
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

impl Db {
    /// Stores a new plan (version 1).
    pub fn create_plan(
        &self,
        name: &str,
        plan: &serde_json::Value,
    ) -> Result<PlanRecord, StoreError> {
        let id = new_id();
        let t = now();
        let mut db = self.conn();
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

    /// Saves a new version of an existing plan, in one transaction: the version is bumped and
    /// the record returned is the one this call wrote (never another writer's). With
    /// `if_match`, the write happens only if the latest version is still that one.
    pub fn update_plan(
        &self,
        id: &str,
        name: &str,
        plan: &serde_json::Value,
        if_match: Option<i64>,
    ) -> Result<Write<PlanRecord>, StoreError> {
        let t = now();
        let mut db = self.conn();
        let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row: Option<(i64, f64)> = tx
            .query_row(
                "SELECT latest, created_at FROM plans WHERE id = ?1 AND deleted = 0",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((latest, created_at)) = row else {
            return Ok(Write::NotFound);
        };
        if if_match.is_some_and(|v| v != latest) {
            return Ok(Write::Stale {
                current: Some(latest),
            });
        }
        let version = latest + 1;
        tx.execute(
            "INSERT INTO plan_versions (plan_id, version, json, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, version, plan.to_string(), t],
        )?;
        // The guard on `latest` makes the bump a compare-and-set even without the lock.
        let n = tx.execute(
            "UPDATE plans SET name = ?2, updated_at = ?3, latest = ?4 WHERE id = ?1 AND latest = ?5",
            params![id, name, t, version, latest],
        )?;
        if n != 1 {
            return Ok(Write::Stale {
                current: Some(latest),
            });
        }
        tx.commit()?;
        Ok(Write::Done(PlanRecord {
            id: id.into(),
            name: name.into(),
            version,
            created_at,
            updated_at: t,
            plan: plan.clone(),
        }))
    }

    /// A plan at a version (default: the latest).
    pub fn plan(&self, id: &str, version: Option<i64>) -> Result<Option<PlanRecord>, StoreError> {
        let db = self.conn();
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

    /// Every plan that is not deleted, at its latest version, oldest first.
    pub fn plans(&self) -> Result<Vec<PlanRecord>, StoreError> {
        let ids: Vec<String> = {
            let db = self.conn();
            let mut stmt =
                db.prepare("SELECT id FROM plans WHERE deleted = 0 ORDER BY created_at")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(p) = self.plan(id, None)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Every saved version number of a plan.
    pub fn plan_versions(&self, id: &str) -> Result<Vec<i64>, StoreError> {
        let db = self.conn();
        let mut stmt =
            db.prepare("SELECT version FROM plan_versions WHERE plan_id = ?1 ORDER BY version")?;
        let v = stmt
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(v)
    }

    /// Marks a plan deleted and drops it as a pool's active plan. False if there was none.
    pub fn delete_plan(&self, id: &str) -> Result<bool, StoreError> {
        let mut db = self.conn();
        let tx = db.transaction()?;
        let n = tx.execute(
            "UPDATE plans SET deleted = 1, updated_at = ?2 WHERE id = ?1 AND deleted = 0",
            params![id, now()],
        )?;
        tx.execute("DELETE FROM assignments WHERE plan_id = ?1", params![id])?;
        tx.commit()?;
        Ok(n > 0)
    }
}

impl Store {
    pub async fn create_plan(
        &self,
        name: &str,
        plan: &serde_json::Value,
    ) -> Result<PlanRecord, StoreError> {
        let (name, plan) = (name.to_owned(), plan.clone());
        self.call(move |db| db.create_plan(&name, &plan)).await
    }

    pub async fn update_plan(
        &self,
        id: &str,
        name: &str,
        plan: &serde_json::Value,
        if_match: Option<i64>,
    ) -> Result<Write<PlanRecord>, StoreError> {
        let (id, name, plan) = (id.to_owned(), name.to_owned(), plan.clone());
        self.call(move |db| db.update_plan(&id, &name, &plan, if_match))
            .await
    }

    pub async fn plan(
        &self,
        id: &str,
        version: Option<i64>,
    ) -> Result<Option<PlanRecord>, StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.plan(&id, version)).await
    }

    pub async fn plans(&self) -> Result<Vec<PlanRecord>, StoreError> {
        self.call(Db::plans).await
    }

    pub async fn plan_versions(&self, id: &str) -> Result<Vec<i64>, StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.plan_versions(&id)).await
    }

    pub async fn delete_plan(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.call(move |db| db.delete_plan(&id)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn plans_keep_every_version_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let id = {
            let s = Db::open(dir.path()).unwrap();
            let p = s.create_plan("a", &json!({"name": "a"})).unwrap();
            let Write::Done(p2) = s
                .update_plan(&p.id, "a", &json!({"name": "a", "v": 2}), None)
                .unwrap()
            else {
                panic!("not saved")
            };
            assert_eq!(p2.version, 2);
            assert_eq!(
                s.update_plan(&p.id, "a", &json!({}), Some(1)).unwrap(),
                Write::Stale { current: Some(2) },
                "a stale version is refused"
            );
            assert_eq!(
                s.update_plan("nope", "x", &json!({}), None).unwrap(),
                Write::NotFound
            );
            p.id
        };
        let s = Db::open(dir.path()).unwrap();
        assert_eq!(s.plan_versions(&id).unwrap(), [1, 2]);
        assert_eq!(
            s.plan(&id, Some(1)).unwrap().unwrap().plan,
            json!({"name": "a"})
        );
        assert_eq!(s.plan(&id, None).unwrap().unwrap().plan["v"], 2);
        assert_eq!(s.plans().unwrap().len(), 1);
        assert!(s.delete_plan(&id).unwrap());
        assert!(!s.delete_plan(&id).unwrap(), "deleting twice finds nothing");
        assert!(s.plan(&id, None).unwrap().is_none());
        assert!(s.plans().unwrap().is_empty());
        assert_eq!(s.plan_versions(&id).unwrap(), [1, 2], "versions stay");
    }

    #[test]
    fn deleting_a_plan_ends_its_pool_assignment() {
        let dir = tempfile::tempdir().unwrap();
        let s = Db::open(dir.path()).unwrap();
        let p = s.create_plan("a", &json!({})).unwrap();
        let q = s.create_plan("b", &json!({})).unwrap();
        s.assign(&BTreeMap::new(), &p.id, 1).unwrap();
        s.assign(&BTreeMap::from([("t".into(), "x".into())]), &q.id, 1)
            .unwrap();
        s.delete_plan(&p.id).unwrap();
        let left: Vec<String> = s
            .assignments()
            .unwrap()
            .into_iter()
            .map(|a| a.plan)
            .collect();
        assert_eq!(left, [q.id]);
    }

    #[tokio::test]
    async fn the_async_handle_reaches_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).await.unwrap();
        let p = s.create_plan("a", &json!({"name": "a"})).await.unwrap();
        assert_eq!(s.plan(&p.id, None).await.unwrap().unwrap().name, "a");
        assert_eq!(s.plans().await.unwrap().len(), 1);
    }
}
