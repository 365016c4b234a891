//! Core's [`Restore`] on PostgreSQL: an import's whole plan in one transaction, so
//! `workgate import` lands whole or not at all, whatever other instances do meanwhile (their
//! writes of the same names or ids break a unique constraint, and the import rolls back). Rows
//! are written as the plan has them, in its order, so lists keep their order.

use async_trait::async_trait;
use workgate_core::dump::Plan;
use workgate_core::store::Restore;
use workgate_core::{StoreError, StoreResult};

use super::{PostgresStore, TxResult, in_transaction, insert_audit, insert_user_row};

async fn write(tx: &deadpool_postgres::Transaction<'_>, plan: &Plan) -> TxResult<()> {
    let stmt = tx
        .prepare_cached(
            "INSERT INTO workspaces (id, name, inserted_at, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .await?;
    for w in &plan.workspaces {
        tx.execute(
            &stmt,
            &[
                &w.id,
                &w.name,
                &w.inserted_at.micros(),
                &w.updated_at.micros(),
            ],
        )
        .await?;
    }
    for u in &plan.users {
        insert_user_row(tx, u).await?;
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) VALUES \
             ((SELECT seq FROM workspaces WHERE id = $1), (SELECT seq FROM users WHERE id = $2), $3)",
        )
        .await?;
    for m in &plan.memberships {
        tx.execute(&stmt, &[&m.workspace, &m.user, &m.at.micros()])
            .await?;
    }
    insert_audit(tx, plan.audit.iter().cloned()).await?;
    let stmt = tx
        .prepare_cached("INSERT INTO datasets (workspace, name, record) VALUES ($1, $2, $3)")
        .await?;
    for d in &plan.datasets {
        let record =
            serde_json::to_string(d).map_err(|e| StoreError::Backend(format!("encode: {e}")))?;
        tx.execute(&stmt, &[&d.workspace, &d.name, &record]).await?;
    }
    let stmt = tx
        .prepare_cached(
            "INSERT INTO records (dataset_seq, id, doc) VALUES \
             ((SELECT seq FROM datasets WHERE workspace = $1 AND name = $2), $3, $4)",
        )
        .await?;
    for (workspace, name, records) in &plan.records {
        for r in records {
            tx.execute(&stmt, &[workspace, name, &r.id, &r.doc.as_json()])
                .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl Restore for PostgresStore {
    async fn restore(&self, plan: &Plan) -> StoreResult<()> {
        in_transaction!(self, |tx| write(&tx, plan).await)
    }
}
