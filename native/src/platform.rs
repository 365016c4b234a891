//! [`NativePlatform`]: the machine's clock and random source, and password hashing on tokio's
//! blocking pool.
//!
//! Argon2id at OWASP cost takes tens of milliseconds and 19 MiB; run on an async worker it
//! would stall every other request on that worker, so it runs on the blocking pool instead. A
//! semaphore caps how many hashes run at once, so a flood of logins queues instead of taking
//! all memory and every core.
//!
//! A request's pieces of CPU work ([`Platform::run_jobs`]: a bulk's records) run on rayon's
//! pool while cores are idle, so one client's bulk is read on every core; while another
//! request's pieces are running they run on the request's own thread, so concurrent bulks do
//! not pay for handing work between threads.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::Semaphore;
use workgate_core::credentials::{self, PasswordCheck, PasswordCost};
use workgate_core::platform::Job;
use workgate_core::{Platform, Timestamp};

/// The native platform. Cheap to clone.
#[derive(Clone)]
pub struct NativePlatform {
    hashing: Arc<Semaphore>,
    /// Requests inside `run_jobs` now.
    running_jobs: Arc<AtomicUsize>,
}

impl Default for NativePlatform {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        NativePlatform {
            hashing: Arc::new(Semaphore::new(cores.max(2))),
            running_jobs: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl NativePlatform {
    pub fn new() -> Self {
        Self::default()
    }

    async fn hashing_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // The semaphore is never closed; `None` would only mean "run without a slot".
        self.hashing.clone().acquire_owned().await.ok()
    }
}

#[async_trait]
impl Platform for NativePlatform {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_micros(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // Without a working OS random source no key, salt or secret would be safe: stop.
        getrandom::fill(buf).expect("the operating system's random source failed");
    }

    /// On rayon's pool (a thread per core), this thread waiting, while no other request's
    /// jobs are running (cores are idle); otherwise here, one after another.
    fn run_jobs(&self, jobs: Vec<Job<'_>>) {
        use rayon::iter::{IntoParallelIterator, ParallelIterator};
        struct Running<'a>(&'a AtomicUsize);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let others = self.running_jobs.fetch_add(1, Ordering::Relaxed);
        let _running = Running(&self.running_jobs);
        if jobs.len() < 2 || others + 1 >= rayon::current_num_threads() {
            workgate_core::platform::one_after_another(jobs);
        } else {
            jobs.into_par_iter().for_each(|job| job());
        }
    }

    async fn hash_password(
        &self,
        password: String,
        cost: PasswordCost,
        salt: [u8; 16],
    ) -> Result<String, String> {
        let _slot = self.hashing_slot().await;
        tokio::task::spawn_blocking(move || credentials::hash_password(&password, cost, salt))
            .await
            .unwrap_or_else(|e| Err(format!("password hashing task failed: {e}")))
    }

    async fn verify_password(
        &self,
        password: String,
        stored: String,
        cost: PasswordCost,
    ) -> PasswordCheck {
        let _slot = self.hashing_slot().await;
        tokio::task::spawn_blocking(move || credentials::verify_password(&password, &stored, cost))
            .await
            .unwrap_or(PasswordCheck {
                matches: false,
                needs_rehash: false,
            })
    }
}
