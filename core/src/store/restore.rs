//! [`Restore`]: writing a whole import at once, for backends with transactions.

use async_trait::async_trait;

use super::{StoreResult, ThreadSafe};
use crate::dump::Plan;

/// Writes what an import decided to write ([`Plan`], made by core's `dump::import` from a
/// validated dump and the target's contents) as one all-or-nothing unit.
///
/// Everything in the plan is new to the target when the plan was made; a store writes it
/// as it is (ids, hashes, digests, times and record documents unchanged), in the plan's order
/// (which is each list's insertion order), in one transaction. If anything fails — a unique
/// name or id taken meanwhile by a concurrent write, a broken connection — nothing is written.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Restore: ThreadSafe {
    async fn restore(&self, plan: &Plan) -> StoreResult<()>;
}
