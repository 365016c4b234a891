//! [`AuditLog`]: the append-only log of who changed what.

use async_trait::async_trait;

use super::{StoreResult, ThreadSafe};
use crate::domain::AuditEntry;

/// The audit log. Entries are never changed or removed.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait AuditLog: ThreadSafe {
    /// Appends an entry.
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()>;
    /// Up to `limit` entries, newest first (entries appended at the same time: the later
    /// append first), skipping `offset`.
    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>>;
}
