//! Core's `Datasets` on the SQLite store: a `datasets` row per dataset (core's record as JSON,
//! unique per workspace and name) and a `records` row per record, unique by (dataset, id) in an
//! index, so a scan is an index range in byte order of the id (SQLite's BINARY collation
//! compares UTF-8 bytes). Records are a rowid table, not `WITHOUT ROWID`: a row of a kilobyte
//! or more is too large for one (schema migration 6 says what that cost). Every write is one
//! `BEGIN IMMEDIATE` transaction, with the audit entry it records; a bulk reads, decides with
//! core's closure and writes inside it.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction};
use workgate_core::dataset::{Dataset, Record, RecordDoc};
use workgate_core::domain::AuditEntry;
use workgate_core::records;
use workgate_core::{
    DatasetEdit, Datasets, RecordSelection, RecordWrite, StoreError, StoreResult, WriteRefused,
};

use crate::sqlite_store::{SqliteStore, backend, insert_audit};

fn to_json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("decode: {e}")))
}

/// The dataset's row id and record, if it exists.
fn dataset_row(
    conn: &rusqlite::Connection,
    workspace: &str,
    name: &str,
) -> StoreResult<Option<(i64, Dataset)>> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, record FROM datasets WHERE workspace = ?1 AND name = ?2")
        .and_then(|mut s| {
            s.query_row([workspace, name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(backend)?;
    match row {
        Some((seq, text)) => Ok(Some((seq, from_json(&text)?))),
        None => Ok(None),
    }
}

/// The dataset's row id only (the reads of records need no more).
fn dataset_seq(
    conn: &rusqlite::Connection,
    workspace: &str,
    name: &str,
) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT seq FROM datasets WHERE workspace = ?1 AND name = ?2")
        .and_then(|mut s| s.query_row([workspace, name], |r| r.get(0)).optional())
        .map_err(backend)
}

fn insert_dataset(tx: &Transaction<'_>, dataset: &Dataset) -> StoreResult<i64> {
    let record = to_json(dataset)?;
    tx.prepare_cached("INSERT INTO datasets (workspace, name, record) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute([&dataset.workspace, &dataset.name, &record]))
        .map_err(backend)?;
    Ok(tx.last_insert_rowid())
}

fn save_dataset(tx: &Transaction<'_>, seq: i64, dataset: &Dataset) -> StoreResult<()> {
    let record = to_json(dataset)?;
    tx.prepare_cached("UPDATE datasets SET record = ?2 WHERE seq = ?1")
        .and_then(|mut s| s.execute(rusqlite::params![seq, record]))
        .map_err(backend)?;
    Ok(())
}

/// A record read back: its stored document text, kept as it is (core parses it only where a
/// rule needs its fields).
fn record_from(id: String, doc: String) -> StoreResult<Record> {
    Ok(Record {
        id,
        doc: RecordDoc::from_json(doc).map_err(|e| StoreError::Backend(e.to_string()))?,
    })
}

#[async_trait]
impl Datasets for SqliteStore {
    async fn datasets(&self, workspaces: &[String]) -> StoreResult<Vec<Dataset>> {
        let workspaces = workspaces.to_vec();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT workspace, record FROM datasets ORDER BY workspace, name")
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                let (ws, text) = row.map_err(backend)?;
                if workspaces.contains(&ws) {
                    out.push(from_json(&text)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn dataset(&self, workspace: &str, name: &str) -> StoreResult<Option<Dataset>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        self.read(move |conn| Ok(dataset_row(conn, &workspace, &name)?.map(|(_, d)| d)))
            .await
    }

    async fn create_dataset(
        &self,
        dataset: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            if dataset_row(tx, &dataset.workspace, &dataset.name)?.is_some() {
                return Ok(false);
            }
            insert_dataset(tx, &dataset)?;
            insert_audit(tx, audit)?;
            Ok(true)
        })
        .await
    }

    async fn update_dataset(
        &self,
        workspace: &str,
        name: &str,
        edit: DatasetEdit,
    ) -> StoreResult<Option<Dataset>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        self.write(move |tx| {
            let Some((seq, current)) = dataset_row(tx, &workspace, &name)? else {
                return Ok(None);
            };
            let next = edit(&current);
            save_dataset(tx, seq, &next)?;
            Ok(Some(next))
        })
        .await
    }

    async fn delete_dataset(
        &self,
        workspace: &str,
        name: &str,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Option<Dataset>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        self.write(move |tx| {
            let Some((seq, current)) = dataset_row(tx, &workspace, &name)? else {
                return Ok(None);
            };
            // Records go with it (ON DELETE CASCADE).
            tx.prepare_cached("DELETE FROM datasets WHERE seq = ?1")
                .and_then(|mut s| s.execute([seq]))
                .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(Some(current))
        })
        .await
    }

    async fn copy_dataset(
        &self,
        workspace: &str,
        name: &str,
        copy: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        self.write(move |tx| {
            let Some((source, _)) = dataset_row(tx, &workspace, &name)? else {
                return Ok(false);
            };
            if dataset_row(tx, &copy.workspace, &copy.name)?.is_some() {
                return Ok(false);
            }
            let target = insert_dataset(tx, &copy)?;
            tx.prepare_cached(
                "INSERT INTO records (dataset_seq, id, doc) \
                 SELECT ?2, id, doc FROM records WHERE dataset_seq = ?1",
            )
            .and_then(|mut s| s.execute([source, target]))
            .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(true)
        })
        .await
    }

    async fn write_records(
        &self,
        workspace: &str,
        name: &str,
        write: RecordWrite,
    ) -> StoreResult<Result<Dataset, WriteRefused>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        // The bulk (inside `write`) and the written records leave the transaction with its
        // outcome, to be freed after the write lock is released and off the request's path:
        // freeing a bulk of 500 parsed records was an eighth of a bulk's time (profiled), all
        // of it under the lock.
        let (outcome, write, records) = self
            .write(move |tx| {
                let (outcome, records) = write_records_in(tx, &workspace, &name, &write)?;
                Ok((outcome, write, records))
            })
            .await?;
        crate::discard((write, records));
        Ok(outcome)
    }

    async fn records(
        &self,
        workspace: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        let after = after.map(str::to_string);
        self.read(move |conn| {
            let Some(seq) = dataset_seq(conn, &workspace, &name)? else {
                return Ok(Vec::new());
            };
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows: Vec<(String, String)> = match &after {
                Some(after) => conn
                    .prepare_cached(
                        "SELECT id, doc FROM records WHERE dataset_seq = ?1 AND id > ?2 \
                         ORDER BY id LIMIT ?3",
                    )
                    .and_then(|mut s| {
                        s.query_map(rusqlite::params![seq, after, limit], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?
                        .collect()
                    }),
                None => conn
                    .prepare_cached(
                        "SELECT id, doc FROM records WHERE dataset_seq = ?1 ORDER BY id LIMIT ?2",
                    )
                    .and_then(|mut s| {
                        s.query_map(rusqlite::params![seq, limit], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?
                        .collect()
                    }),
            }
            .map_err(backend)?;
            rows.into_iter()
                .map(|(id, doc)| record_from(id, doc))
                .collect()
        })
        .await
    }

    async fn records_by_ids(
        &self,
        workspace: &str,
        name: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Record>> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.read(move |conn| {
            let Some(seq) = dataset_seq(conn, &workspace, &name)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn
                .prepare_cached("SELECT doc FROM records WHERE dataset_seq = ?1 AND id = ?2")
                .map_err(backend)?;
            let mut out = Vec::new();
            for id in ids {
                let doc: Option<String> = stmt
                    .query_row(rusqlite::params![seq, id], |r| r.get(0))
                    .optional()
                    .map_err(backend)?;
                if let Some(doc) = doc {
                    out.push(record_from(id, doc)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn delete_records(
        &self,
        workspace: &str,
        name: &str,
        selection: RecordSelection,
        discard: Option<String>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<u64> {
        let (workspace, name) = (workspace.to_string(), name.to_string());
        self.write(move |tx| {
            let Some((seq, mut dataset)) = dataset_row(tx, &workspace, &name)? else {
                return Ok(0);
            };
            let ids: Vec<String> = match selection {
                RecordSelection::Ids(ids) => ids,
                RecordSelection::All => tx
                    .prepare_cached("SELECT id FROM records WHERE dataset_seq = ?1")
                    .and_then(|mut s| s.query_map([seq], |r| r.get(0))?.collect())
                    .map_err(backend)?,
            };
            let mut touched = 0u64;
            for id in &ids {
                match &discard {
                    Some(now) => {
                        let doc: Option<String> = tx
                            .prepare_cached(
                                "SELECT doc FROM records WHERE dataset_seq = ?1 AND id = ?2",
                            )
                            .and_then(|mut s| {
                                s.query_row(rusqlite::params![seq, id], |r| r.get(0))
                                    .optional()
                            })
                            .map_err(backend)?;
                        let Some(doc) = doc else { continue };
                        let record = record_from(id.clone(), doc)?;
                        let doc = records::discard(&record.doc, now);
                        let doc = doc.as_json();
                        tx.prepare_cached(
                            "UPDATE records SET doc = ?3 WHERE dataset_seq = ?1 AND id = ?2",
                        )
                        .and_then(|mut s| s.execute(rusqlite::params![seq, id, doc]))
                        .map_err(backend)?;
                        touched += 1;
                    }
                    None => {
                        touched += tx
                            .prepare_cached(
                                "DELETE FROM records WHERE dataset_seq = ?1 AND id = ?2",
                            )
                            .and_then(|mut s| s.execute(rusqlite::params![seq, id]))
                            .map_err(backend)? as u64;
                    }
                }
            }
            if discard.is_none() {
                records::after_deletion(&mut dataset, touched);
                save_dataset(tx, seq, &dataset)?;
            }
            insert_audit(tx, audit)?;
            Ok(touched)
        })
        .await
    }
}

/// A bulk's write in its transaction: the outcome, and the records written (to be freed by the
/// caller).
fn write_records_in(
    tx: &Transaction<'_>,
    workspace: &str,
    name: &str,
    write: &RecordWrite,
) -> StoreResult<(Result<Dataset, WriteRefused>, Vec<Record>)> {
    let current = dataset_row(tx, workspace, name)?;
    let mut existing = Vec::with_capacity(write.ids.len());
    if let Some((seq, _)) = &current {
        let mut stmt = tx
            .prepare_cached("SELECT doc FROM records WHERE dataset_seq = ?1 AND id = ?2")
            .map_err(backend)?;
        for id in &write.ids {
            let doc: Option<String> = stmt
                .query_row(rusqlite::params![seq, id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            existing.push(match doc {
                Some(doc) => Some(record_from(id.clone(), doc)?),
                None => None,
            });
        }
    } else {
        existing.resize(write.ids.len(), None);
    }
    let (dataset, records) = match (write.decide)(current.as_ref().map(|(_, d)| d), &existing) {
        Ok(decided) => decided,
        // Refused: nothing is written (the transaction commits empty).
        Err(refused) => return Ok((Err(refused), Vec::new())),
    };
    let seq = match &current {
        Some((seq, _)) => {
            save_dataset(tx, *seq, &dataset)?;
            *seq
        }
        None => {
            let seq = insert_dataset(tx, &dataset)?;
            insert_audit(tx, write.created.clone())?;
            seq
        }
    };
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO records (dataset_seq, id, doc) VALUES (?1, ?2, ?3) \
             ON CONFLICT (dataset_seq, id) DO UPDATE SET doc = excluded.doc",
        )
        .map_err(backend)?;
    for record in &records {
        upsert
            .execute(rusqlite::params![seq, record.id, record.doc.as_json()])
            .map_err(backend)?;
    }
    Ok((Ok(dataset), records))
}
