//! [`Platform`]: what core needs from the machine it runs on — a clock, randomness, a place
//! to do password-hashing work, and one to free large values off a request's path. Core reads no clock and no random source of its own (std's
//! clock panics on wasm32), so every host passes both in here.

use async_trait::async_trait;

use crate::credentials::{PasswordCheck, PasswordCost};
use crate::store::ThreadSafe;
use crate::timestamp::Timestamp;

/// What a request no longer needs, handed to [`Platform::discard`].
#[cfg(not(target_arch = "wasm32"))]
pub type Discarded = Box<dyn std::any::Any + Send>;
/// What a request no longer needs, handed to [`Platform::discard`].
#[cfg(target_arch = "wasm32")]
pub type Discarded = Box<dyn std::any::Any>;

/// A clock, randomness, and password hashing.
///
/// Hashing is CPU-heavy (tens of milliseconds); a native host overrides the two password
/// methods to run them on a blocking thread pool so logins never stall other requests.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Platform: ThreadSafe {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Fills `buf` with cryptographically secure random bytes.
    fn fill_random(&self, buf: &mut [u8]);

    /// Hashes a password (see [`crate::credentials::hash_password`]).
    async fn hash_password(
        &self,
        password: String,
        cost: PasswordCost,
        salt: [u8; 16],
    ) -> Result<String, String> {
        crate::credentials::hash_password(&password, cost, salt)
    }

    /// Verifies a password (see [`crate::credentials::verify_password`]).
    async fn verify_password(
        &self,
        password: String,
        stored: String,
        cost: PasswordCost,
    ) -> PasswordCheck {
        crate::credentials::verify_password(&password, &stored, cost)
    }

    /// Frees `value`, which the request no longer needs: a large parsed body takes
    /// milliseconds to free, which a host with threads to spare can take off the request's
    /// path. By default, at once.
    fn discard(&self, value: Discarded) {
        drop(value);
    }
}

/// A shared platform is a platform (a host or test that keeps a handle to its own, e.g. to move
/// a test clock).
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl<T: Platform + ?Sized> Platform for std::sync::Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn fill_random(&self, buf: &mut [u8]) {
        (**self).fill_random(buf)
    }

    async fn hash_password(
        &self,
        password: String,
        cost: PasswordCost,
        salt: [u8; 16],
    ) -> Result<String, String> {
        (**self).hash_password(password, cost, salt).await
    }

    async fn verify_password(
        &self,
        password: String,
        stored: String,
        cost: PasswordCost,
    ) -> PasswordCheck {
        (**self).verify_password(password, stored, cost).await
    }

    fn discard(&self, value: Discarded) {
        (**self).discard(value)
    }
}
