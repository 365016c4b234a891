//! [`LoginThrottle`]: failed-login records per username (API.md 9.6).

use async_trait::async_trait;

use super::{StoreResult, ThreadSafe};
use crate::domain::LoginFailures;
use crate::timestamp::Timestamp;

/// What a store needs to count one failure: core's window and retention, decided by
/// [`crate::rules::failure_window`] from the throttle policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    /// The time of the failure.
    pub now: Timestamp,
    /// A window older than this starts over ([`LoginFailures::after_failure`]).
    pub window_secs: i64,
    /// Records whose last failure is before this are useless (their window has closed and
    /// they no longer lock): a store may delete them whenever it likes, e.g. now.
    pub forget_before: Timestamp,
}

/// Failed-login bookkeeping.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait LoginThrottle: ThreadSafe {
    /// The failed-login record for `username` (default when none).
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures>;
    /// Atomically records one failed login: the stored record becomes
    /// [`crate::rules::next_failures`]`(record, window)` (core's retention, then its counting
    /// rule). Concurrent failures must all be counted. Returns the new record.
    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures>;
    /// Forgets the failures of `username` (after a successful login).
    async fn clear_login_failures(&self, username: &str) -> StoreResult<()>;
}
