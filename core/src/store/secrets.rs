//! [`Secrets`]: secrets the engine generates once and every process must share.

use async_trait::async_trait;

use super::{StoreResult, ThreadSafe};

/// Generated secrets.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Secrets: ThreadSafe {
    /// The token signing secret: the stored one if any, else `candidate`, stored atomically so
    /// that every caller (and every process sharing the store) gets the same secret.
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>>;
}
