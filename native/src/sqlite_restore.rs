//! Core's [`Restore`] on the SQLite store: an import's whole plan in one `BEGIN IMMEDIATE`
//! transaction, so `workgate import` lands whole or not at all. Rows are written as the plan
//! has them (ids, hashes, digests, times, documents), in its order, so lists keep their order;
//! the schema's unique constraints refuse anything a concurrent write took meanwhile, and the
//! transaction then rolls back.

use async_trait::async_trait;
use workgate_core::dump::Plan;
use workgate_core::store::Restore;
use workgate_core::{StoreError, StoreResult};

use crate::sqlite_store::{SqliteStore, backend, insert_audit, insert_user_row};

fn refused(what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("cannot write {what}: {e}"))
}

#[async_trait]
impl Restore for SqliteStore {
    async fn restore(&self, plan: &Plan) -> StoreResult<()> {
        let plan = plan.clone();
        self.write(move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO workspaces (id, name, inserted_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend)?;
            for w in &plan.workspaces {
                stmt.execute(rusqlite::params![
                    w.id.to_string(),
                    w.name,
                    w.inserted_at.micros(),
                    w.updated_at.micros()
                ])
                .map_err(|e| refused(&format!("workspace {:?}", w.name), e))?;
            }
            for u in &plan.users {
                insert_user_row(tx, u)
                    .map_err(|e| refused(&format!("user {:?}", u.username), e))?;
            }
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) VALUES \
                     ((SELECT seq FROM workspaces WHERE id = ?1), \
                      (SELECT seq FROM users WHERE id = ?2), ?3)",
                )
                .map_err(backend)?;
            for m in &plan.memberships {
                stmt.execute(rusqlite::params![
                    m.workspace.to_string(),
                    m.user.to_string(),
                    m.at.micros()
                ])
                .map_err(|e| refused("a membership", e))?;
            }
            insert_audit(tx, plan.audit.iter().cloned())?;
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO datasets (workspace, name, record) VALUES (?1, ?2, ?3)",
                )
                .map_err(backend)?;
            for d in &plan.datasets {
                let record = serde_json::to_string(d)
                    .map_err(|e| StoreError::Backend(format!("encode: {e}")))?;
                stmt.execute([&d.workspace, &d.name, &record])
                    .map_err(|e| refused(&format!("dataset {:?}", d.name), e))?;
            }
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO records (dataset_seq, id, doc) VALUES \
                     ((SELECT seq FROM datasets WHERE workspace = ?1 AND name = ?2), ?3, ?4)",
                )
                .map_err(backend)?;
            for (workspace, name, records) in &plan.records {
                for r in records {
                    stmt.execute([workspace, name, &r.id, r.doc.as_json()])
                        .map_err(|e| refused(&format!("record {:?}", r.id), e))?;
                }
            }
            Ok(())
        })
        .await
    }
}
