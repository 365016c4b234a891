//! Datasets on the Worker: the `WorkspaceDatasets` Durable Object, one per workspace, keeps the
//! workspace's datasets and records in its own SQLite storage, and [`DurableDatasets`] is core's
//! `Datasets` over it.
//!
//! Why not KV (README.md, "Datasets"): a 500-record bulk would be hundreds of KV writes against
//! the per-request subrequest limit, KV takes about one write per second per key, and a scan
//! must list records in id order at once after a write — which KV's eventual consistency does
//! not give. Why not D1: a bulk is read-check-write (re-log merge, the metadata-key limit,
//! multi-label consistency), which D1's `batch()` cannot do without serialising the dataset's
//! writes somewhere anyway. A Durable Object is that place and has SQLite of its own: strongly
//! consistent, records unique by (dataset, id) in an index, so a scan is an index range in
//! byte order of the id.
//!
//! Atomicity: the object runs one event at a time. A bulk is two calls: `ReadForWrite` (the
//! dataset, its version and the stored records of the bulk's ids), core's decision here, then
//! `Write` with the version it read — compare-and-set: refused with `Conflict` when another
//! write came between, and then started over. Every write of a `Write` happens in one event
//! with no `await` between its statements, which the object's storage commits together.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use worker::{DurableObject, Env, Request, Response, Result, State};
use workgate_core::dataset::{Dataset, Record};
use workgate_core::domain::AuditEntry;
use workgate_core::{
    DatasetEdit, Datasets, RecordSelection, RecordWrite, StoreError, StoreResult, WriteRefused,
};

use crate::durable;
use crate::kv_store::KvStore;

/// The Durable Object binding in wrangler.toml.
pub const BINDING: &str = "WORKSPACE_DATASETS";

/// How often a write starts over after losing a race to another write of its dataset.
const MAX_WRITE_ATTEMPTS: usize = 64;

// Externally tagged (serde's default), not internally: an internally tagged enum is buffered
// before its variant is known, and a record's document (a raw JSON text, `RecordDoc`) cannot
// be read back from serde's buffer.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    List,
    Get {
        name: String,
    },
    Create {
        dataset: Dataset,
    },
    /// Replaces the dataset's record if its version is still `version`.
    Save {
        dataset: Dataset,
        version: u64,
    },
    Delete {
        name: String,
    },
    ReadForWrite {
        name: String,
        ids: Vec<String>,
    },
    /// Writes the dataset and `records` if the dataset's version is still `version` (0: it
    /// does not exist yet).
    Write {
        dataset: Dataset,
        records: Vec<Record>,
        version: u64,
    },
    Records {
        name: String,
        after: Option<String>,
        limit: usize,
    },
    RecordsByIds {
        name: String,
        ids: Vec<String>,
    },
    DeleteRecords {
        name: String,
        ids: Option<Vec<String>>,
        discard: Option<String>,
    },
    /// Creates `dataset` with `records` unless its name is taken.
    CopyIn {
        dataset: Dataset,
        records: Vec<Record>,
    },
}

// Externally tagged, as `Op` is.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Datasets {
        datasets: Vec<Dataset>,
    },
    Dataset {
        dataset: Option<(Dataset, u64)>,
    },
    Done {
        ok: bool,
    },
    ForWrite {
        dataset: Option<Dataset>,
        version: u64,
        existing: Vec<Option<Record>>,
    },
    Records {
        records: Vec<Record>,
    },
    Count {
        count: u64,
    },
}

#[worker::durable_object(fetch)]
pub struct WorkspaceDatasets {
    state: State,
}

#[derive(Deserialize)]
struct DatasetRow {
    record: String,
    version: f64,
}

#[derive(Deserialize)]
struct RecordRow {
    id: String,
    doc: String,
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| worker::Error::RustError(format!("decode: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| worker::Error::RustError(format!("encode: {e}")))
}

impl DurableObject for WorkspaceDatasets {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // Idempotent: every new instance makes sure its tables exist.
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS datasets (name TEXT PRIMARY KEY, record TEXT NOT NULL, \
             version INTEGER NOT NULL)",
            None,
        );
        // A rowid table with a unique index, not `WITHOUT ROWID`: records are a kilobyte and
        // more, too large for one (see the native schema's migration 6). An object made by an
        // earlier release keeps its `WITHOUT ROWID` table, which the same statements use, and
        // gets the index as well.
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS records (dataset TEXT NOT NULL, id TEXT NOT NULL, \
             doc TEXT NOT NULL)",
            None,
        );
        let _ = sql.exec(
            "CREATE UNIQUE INDEX IF NOT EXISTS records_by_dataset_id ON records (dataset, id)",
            None,
        );
        WorkspaceDatasets { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = durable::read_op(&mut req).await?;
        Response::from_json(&self.apply(op)?)
    }
}

impl WorkspaceDatasets {
    fn dataset(&self, name: &str) -> Result<Option<(Dataset, u64)>> {
        let rows: Vec<DatasetRow> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT record, version FROM datasets WHERE name = ?",
                Some(vec![name.into()]),
            )?
            .to_array()?;
        match rows.first() {
            Some(row) => Ok(Some((decode(&row.record)?, row.version as u64))),
            None => Ok(None),
        }
    }

    fn put_dataset(&self, dataset: &Dataset, version: u64) -> Result<()> {
        self.state.storage().sql().exec(
            "INSERT INTO datasets (name, record, version) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET record = excluded.record, version = excluded.version",
            Some(vec![
                dataset.name.as_str().into(),
                encode(dataset)?.into(),
                (version as i64).into(),
            ]),
        )?;
        Ok(())
    }

    fn put_record(&self, dataset: &str, record: &Record) -> Result<()> {
        self.state.storage().sql().exec(
            "INSERT INTO records (dataset, id, doc) VALUES (?, ?, ?) \
             ON CONFLICT (dataset, id) DO UPDATE SET doc = excluded.doc",
            Some(vec![
                dataset.into(),
                record.id.as_str().into(),
                record.doc.as_json().into(),
            ]),
        )?;
        Ok(())
    }

    fn record(&self, dataset: &str, id: &str) -> Result<Option<Record>> {
        let rows: Vec<RecordRow> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT id, doc FROM records WHERE dataset = ? AND id = ?",
                Some(vec![dataset.into(), id.into()]),
            )?
            .to_array()?;
        rows.first()
            .map(|r| {
                Ok(Record {
                    id: r.id.clone(),
                    doc: decode(&r.doc)?,
                })
            })
            .transpose()
    }

    fn apply(&self, op: Op) -> Result<Answer> {
        let sql = self.state.storage().sql();
        Ok(match op {
            Op::List => {
                let rows: Vec<DatasetRow> = sql
                    .exec("SELECT record, version FROM datasets ORDER BY name", None)?
                    .to_array()?;
                let datasets = rows
                    .iter()
                    .map(|r| decode(&r.record))
                    .collect::<Result<_>>()?;
                Answer::Datasets { datasets }
            }
            Op::Get { name } => Answer::Dataset {
                dataset: self.dataset(&name)?,
            },
            Op::Create { dataset } => {
                if self.dataset(&dataset.name)?.is_some() {
                    Answer::Done { ok: false }
                } else {
                    self.put_dataset(&dataset, 1)?;
                    Answer::Done { ok: true }
                }
            }
            Op::Save { dataset, version } => match self.dataset(&dataset.name)? {
                Some((_, current)) if current == version => {
                    self.put_dataset(&dataset, version + 1)?;
                    Answer::Done { ok: true }
                }
                _ => Answer::Done { ok: false },
            },
            Op::Delete { name } => match self.dataset(&name)? {
                Some((dataset, _)) => {
                    sql.exec(
                        "DELETE FROM records WHERE dataset = ?",
                        Some(vec![name.as_str().into()]),
                    )?;
                    sql.exec(
                        "DELETE FROM datasets WHERE name = ?",
                        Some(vec![name.into()]),
                    )?;
                    Answer::Dataset {
                        dataset: Some((dataset, 0)),
                    }
                }
                None => Answer::Dataset { dataset: None },
            },
            Op::ReadForWrite { name, ids } => {
                let current = self.dataset(&name)?;
                let existing = match &current {
                    Some(_) => ids
                        .iter()
                        .map(|id| self.record(&name, id))
                        .collect::<Result<_>>()?,
                    None => vec![None; ids.len()],
                };
                let (dataset, version) = match current {
                    Some((d, v)) => (Some(d), v),
                    None => (None, 0),
                };
                Answer::ForWrite {
                    dataset,
                    version,
                    existing,
                }
            }
            Op::Write {
                dataset,
                records,
                version,
            } => {
                let current = self.dataset(&dataset.name)?.map_or(0, |(_, v)| v);
                if current != version {
                    Answer::Done { ok: false }
                } else {
                    for record in &records {
                        self.put_record(&dataset.name, record)?;
                    }
                    self.put_dataset(&dataset, version + 1)?;
                    Answer::Done { ok: true }
                }
            }
            Op::Records { name, after, limit } => {
                let limit = limit.min(100_000) as i64;
                let rows: Vec<RecordRow> = match after {
                    Some(after) => sql
                        .exec(
                            "SELECT id, doc FROM records WHERE dataset = ? AND id > ? ORDER BY id LIMIT ?",
                            Some(vec![name.into(), after.into(), limit.into()]),
                        )?
                        .to_array()?,
                    None => sql
                        .exec(
                            "SELECT id, doc FROM records WHERE dataset = ? ORDER BY id LIMIT ?",
                            Some(vec![name.into(), limit.into()]),
                        )?
                        .to_array()?,
                };
                let records = rows
                    .into_iter()
                    .map(|r| {
                        Ok(Record {
                            id: r.id,
                            doc: decode(&r.doc)?,
                        })
                    })
                    .collect::<Result<_>>()?;
                Answer::Records { records }
            }
            Op::RecordsByIds { name, mut ids } => {
                ids.sort_unstable();
                ids.dedup();
                let mut records = Vec::new();
                for id in ids {
                    if let Some(r) = self.record(&name, &id)? {
                        records.push(r);
                    }
                }
                Answer::Records { records }
            }
            Op::DeleteRecords { name, ids, discard } => {
                let Some((mut dataset, version)) = self.dataset(&name)? else {
                    return Ok(Answer::Count { count: 0 });
                };
                let ids: Vec<String> = match ids {
                    Some(ids) => ids,
                    None => {
                        #[derive(Deserialize)]
                        struct Id {
                            id: String,
                        }
                        let rows: Vec<Id> = sql
                            .exec(
                                "SELECT id FROM records WHERE dataset = ?",
                                Some(vec![name.as_str().into()]),
                            )?
                            .to_array()?;
                        rows.into_iter().map(|r| r.id).collect()
                    }
                };
                let mut count = 0u64;
                for id in &ids {
                    let Some(mut record) = self.record(&name, id)? else {
                        continue;
                    };
                    count += 1;
                    match &discard {
                        Some(now) => {
                            record.doc = workgate_core::records::discard(&record.doc, now);
                            self.put_record(&name, &record)?;
                        }
                        None => {
                            sql.exec(
                                "DELETE FROM records WHERE dataset = ? AND id = ?",
                                Some(vec![name.as_str().into(), id.as_str().into()]),
                            )?;
                        }
                    }
                }
                if discard.is_none() {
                    workgate_core::records::after_deletion(&mut dataset, count);
                }
                self.put_dataset(&dataset, version + 1)?;
                Answer::Count { count }
            }
            Op::CopyIn { dataset, records } => {
                if self.dataset(&dataset.name)?.is_some() {
                    Answer::Done { ok: false }
                } else {
                    for record in &records {
                        self.put_record(&dataset.name, record)?;
                    }
                    self.put_dataset(&dataset, 1)?;
                    Answer::Done { ok: true }
                }
            }
        })
    }
}

/// Core's `Datasets` over the `WorkspaceDatasets` objects (one per workspace, under `prefix`),
/// with the audit entries appended to the KV audit log after their change.
pub struct DurableDatasets {
    env: Env,
    prefix: String,
    kv: Arc<KvStore>,
}

impl DurableDatasets {
    pub fn new(env: Env, prefix: String, kv: Arc<KvStore>) -> Self {
        DurableDatasets { env, prefix, kv }
    }

    async fn call(&self, workspace: &str, op: &Op) -> StoreResult<Answer> {
        let stub = self
            .env
            .durable_object(BINDING)
            .and_then(|ns| ns.get_by_name(&format!("{}datasets:{workspace}", self.prefix)))
            .map_err(|e| StoreError::Backend(format!("datasets object: {e}")))?;
        durable::call(&stub, op)
            .await
            .map_err(|e| StoreError::Backend(format!("datasets object: {e}")))
    }

    async fn done(&self, workspace: &str, op: &Op) -> StoreResult<bool> {
        match self.call(workspace, op).await? {
            Answer::Done { ok } => Ok(ok),
            other => Err(unexpected(other)),
        }
    }

    async fn get(&self, workspace: &str, name: &str) -> StoreResult<Option<(Dataset, u64)>> {
        let op = Op::Get { name: name.into() };
        match self.call(workspace, &op).await? {
            Answer::Dataset { dataset } => Ok(dataset),
            other => Err(unexpected(other)),
        }
    }

    async fn all_records(&self, workspace: &str, name: &str) -> StoreResult<Vec<Record>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .records(workspace, name, after.as_deref(), 5_000)
                .await?;
            let done = page.len() < 5_000;
            after = page.last().map(|r| r.id.clone());
            out.extend(page);
            if done {
                return Ok(out);
            }
        }
    }
}

fn unexpected(answer: Answer) -> StoreError {
    StoreError::Backend(format!("datasets object: unexpected {answer:?}"))
}

#[async_trait::async_trait(?Send)]
impl Datasets for DurableDatasets {
    async fn datasets(&self, workspaces: &[String]) -> StoreResult<Vec<Dataset>> {
        let mut sorted = workspaces.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut out = Vec::new();
        for ws in sorted {
            match self.call(&ws, &Op::List).await? {
                Answer::Datasets { datasets } => out.extend(datasets),
                other => return Err(unexpected(other)),
            }
        }
        Ok(out)
    }

    async fn dataset(&self, workspace: &str, name: &str) -> StoreResult<Option<Dataset>> {
        Ok(self.get(workspace, name).await?.map(|(d, _)| d))
    }

    async fn create_dataset(
        &self,
        dataset: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        let workspace = dataset.workspace.clone();
        let ok = self.done(&workspace, &Op::Create { dataset }).await?;
        if ok {
            self.kv.append_after_change(audit).await;
        }
        Ok(ok)
    }

    async fn update_dataset(
        &self,
        workspace: &str,
        name: &str,
        edit: DatasetEdit,
    ) -> StoreResult<Option<Dataset>> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let Some((current, version)) = self.get(workspace, name).await? else {
                return Ok(None);
            };
            let next = edit(&current);
            let op = Op::Save {
                dataset: next.clone(),
                version,
            };
            if self.done(workspace, &op).await? {
                return Ok(Some(next));
            }
        }
        Err(StoreError::Backend(
            "too many concurrent changes of this dataset".into(),
        ))
    }

    async fn delete_dataset(
        &self,
        workspace: &str,
        name: &str,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Option<Dataset>> {
        let op = Op::Delete { name: name.into() };
        match self.call(workspace, &op).await? {
            Answer::Dataset { dataset } => {
                if dataset.is_some() {
                    self.kv.append_after_change(audit).await;
                }
                Ok(dataset.map(|(d, _)| d))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn copy_dataset(
        &self,
        workspace: &str,
        name: &str,
        copy: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        if self.get(workspace, name).await?.is_none() {
            return Ok(false);
        }
        let records = self.all_records(workspace, name).await?;
        let target = copy.workspace.clone();
        let ok = self
            .done(
                &target,
                &Op::CopyIn {
                    dataset: copy,
                    records,
                },
            )
            .await?;
        if ok {
            self.kv.append_after_change(audit).await;
        }
        Ok(ok)
    }

    async fn write_records(
        &self,
        workspace: &str,
        name: &str,
        write: RecordWrite,
    ) -> StoreResult<Result<Dataset, WriteRefused>> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let read = Op::ReadForWrite {
                name: name.into(),
                ids: write.ids.clone(),
            };
            let Answer::ForWrite {
                dataset,
                version,
                existing,
            } = self.call(workspace, &read).await?
            else {
                return Err(StoreError::Backend(
                    "datasets object: unexpected answer".into(),
                ));
            };
            let (next, records) = match (write.decide)(dataset.as_ref(), &existing) {
                Ok(decided) => decided,
                Err(refused) => return Ok(Err(refused)),
            };
            let op = Op::Write {
                dataset: next.clone(),
                records,
                version,
            };
            if self.done(workspace, &op).await? {
                if dataset.is_none() {
                    self.kv.append_after_change(write.created.clone()).await;
                }
                return Ok(Ok(next));
            }
        }
        Err(StoreError::Backend(
            "too many concurrent bulks into this dataset".into(),
        ))
    }

    async fn records(
        &self,
        workspace: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        let op = Op::Records {
            name: name.into(),
            after: after.map(str::to_string),
            limit,
        };
        match self.call(workspace, &op).await? {
            Answer::Records { records } => Ok(records),
            other => Err(unexpected(other)),
        }
    }

    async fn records_by_ids(
        &self,
        workspace: &str,
        name: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Record>> {
        let op = Op::RecordsByIds {
            name: name.into(),
            ids: ids.to_vec(),
        };
        match self.call(workspace, &op).await? {
            Answer::Records { records } => Ok(records),
            other => Err(unexpected(other)),
        }
    }

    async fn delete_records(
        &self,
        workspace: &str,
        name: &str,
        selection: RecordSelection,
        discard: Option<String>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<u64> {
        let ids = match selection {
            RecordSelection::All => None,
            RecordSelection::Ids(ids) => Some(ids),
        };
        let op = Op::DeleteRecords {
            name: name.into(),
            ids,
            discard,
        };
        match self.call(workspace, &op).await? {
            Answer::Count { count } => {
                self.kv.append_after_change(audit).await;
                Ok(count)
            }
            other => Err(unexpected(other)),
        }
    }
}
