//! [`Datasets`]: datasets and their records (API.md section 10).
//!
//! As everywhere, core decides and the store makes it atomic: a bulk is one
//! [`Datasets::write_records`] call whose [`RecordWrite`] closure (core's `records::apply_bulk`)
//! sees the dataset and the stored records of the bulk's ids inside the store's atomic section
//! and answers what to write; a refused bulk writes nothing, not even the dataset it would have
//! created.

use std::sync::Arc;

use async_trait::async_trait;

use super::{StoreResult, ThreadSafe};
use crate::dataset::{Dataset, Record};
use crate::domain::AuditEntry;

/// What a bulk decides, given the dataset (`None`: it does not exist yet) and the stored record
/// of each of the bulk's ids (same order; `None` when new): the dataset after the bulk and the
/// records to store, or a refusal that leaves everything as it was.
pub type WriteFn = dyn Fn(Option<&Dataset>, &[Option<Record>]) -> Result<(Dataset, Vec<Record>), WriteRefused>
    + Send
    + Sync;

/// A bulk: the ids it touches, the decision, and the audit entry to write when the bulk
/// creates the dataset.
#[derive(Clone)]
pub struct RecordWrite {
    pub ids: Vec<String>,
    pub decide: Arc<WriteFn>,
    pub created: Option<AuditEntry>,
}

/// Why a write was refused: by core's decision (carried back to the handler), or because the
/// dataset changed meanwhile in a way the decision did not expect.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteRefused {
    /// Core's rules refused the write; the payload says why, for the handler.
    Rule(String),
}

/// A change to a dataset's own fields (tags, metadata, closed, settings), applied by the store
/// to the current record inside its atomic section.
pub type DatasetEdit = Arc<dyn Fn(&Dataset) -> Dataset + Send + Sync>;

/// Which records a deletion or discard touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordSelection {
    All,
    Ids(Vec<String>),
}

/// Datasets and records.
///
/// Datasets are identified by (workspace name, dataset name), unique. Records are identified by
/// their string id within a dataset and listed in byte order of the id.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Datasets: ThreadSafe {
    /// The datasets of the given workspaces, by workspace then name.
    async fn datasets(&self, workspaces: &[String]) -> StoreResult<Vec<Dataset>>;
    async fn dataset(&self, workspace: &str, name: &str) -> StoreResult<Option<Dataset>>;
    /// Creates a dataset; `false` (and nothing written) when one of that name exists in the
    /// workspace.
    async fn create_dataset(
        &self,
        dataset: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool>;
    /// Applies `edit` to the current record; `None` when it does not exist.
    async fn update_dataset(
        &self,
        workspace: &str,
        name: &str,
        edit: DatasetEdit,
    ) -> StoreResult<Option<Dataset>>;
    /// Deletes a dataset and its records; `None` when it did not exist.
    async fn delete_dataset(
        &self,
        workspace: &str,
        name: &str,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Option<Dataset>>;
    /// Creates `copy` with every record of (`workspace`, `name`), atomically; `false` (and
    /// nothing written) when `copy`'s name is taken in its workspace or the source is gone.
    async fn copy_dataset(
        &self,
        workspace: &str,
        name: &str,
        copy: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool>;
    /// One bulk, all or nothing (see [`RecordWrite`]). Answers the dataset after it, or core's
    /// refusal.
    async fn write_records(
        &self,
        workspace: &str,
        name: &str,
        write: RecordWrite,
    ) -> StoreResult<Result<Dataset, WriteRefused>>;
    /// Up to `limit` records with ids after `after` (all when `None`), in byte order of the id.
    async fn records(
        &self,
        workspace: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Record>>;
    /// The stored records of `ids` that exist, in byte order of the id.
    async fn records_by_ids(
        &self,
        workspace: &str,
        name: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Record>>;
    /// Deletes the selected records (or, with `discard`, sets their status to `Discarded` and
    /// `last_updated` to `now_iso`), keeping the dataset's record count; answers how many it
    /// touched.
    async fn delete_records(
        &self,
        workspace: &str,
        name: &str,
        selection: RecordSelection,
        discard: Option<String>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<u64>;
}
