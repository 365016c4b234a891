//! [`Platform`]: what core needs from the machine it runs on — a clock, randomness, a place
//! to do password-hashing work, and cores to run one request's pieces of work at once. Core reads no clock and no random source of its own (std's
//! clock panics on wasm32), so every host passes both in here.

use async_trait::async_trait;

use crate::credentials::{PasswordCheck, PasswordCost};
use crate::store::ThreadSafe;
use crate::timestamp::Timestamp;

/// One piece of a request's CPU-bound work, handed to [`Platform::run_jobs`].
#[cfg(not(target_arch = "wasm32"))]
pub type Job<'a> = Box<dyn FnOnce() + Send + 'a>;
/// One piece of a request's CPU-bound work, handed to [`Platform::run_jobs`].
#[cfg(target_arch = "wasm32")]
pub type Job<'a> = Box<dyn FnOnce() + 'a>;

/// Runs `jobs` one after another, in order: [`Platform::run_jobs`] on a host without threads.
pub fn one_after_another(jobs: Vec<Job<'_>>) {
    for job in jobs {
        job();
    }
}

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

    /// Runs every job and returns when all have run: pieces of one request's CPU-bound work
    /// (reading a bulk's records) that write only to what each was given. A host with cores to
    /// spare runs them at once, which shortens the request rather than adding throughput; by
    /// default one after another.
    fn run_jobs(&self, jobs: Vec<Job<'_>>) {
        one_after_another(jobs);
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

    fn run_jobs(&self, jobs: Vec<Job<'_>>) {
        (**self).run_jobs(jobs)
    }
}
