//! What the fuzz targets share: the deterministic platform and cheap configuration of core's
//! own tests (included by path, so the targets run the engine as those tests do), a platform
//! that remembers password hashes, and a `block_on` for futures that never wait.

#[path = "../../core/tests/common/mod.rs"]
pub mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use workgate_core::credentials::{self, PasswordCheck, PasswordCost};
use workgate_core::{Platform, Timestamp};

/// Drives a future that never waits (everything on the memory store is immediate) to
/// completion. A future that returned `Pending` here would spin: none of core's does on the
/// memory store and these platforms.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

type HashKey = (String, (u32, u32, u32), [u8; 16]);
type VerifyKey = (String, String, (u32, u32, u32));

/// Remembered answers; emptied when large, so the fuzzer's passwords cannot fill memory.
#[derive(Default)]
struct Remembered {
    hashes: HashMap<HashKey, Result<String, String>>,
    checks: HashMap<VerifyKey, PasswordCheck>,
}

const REMEMBERED_MAX: usize = 4096;

thread_local! {
    static REMEMBERED: RefCell<Remembered> = RefCell::default();
}

fn cost_key(cost: PasswordCost) -> (u32, u32, u32) {
    (cost.memory_kib, cost.iterations, cost.parallelism)
}

/// [`common::TestPlatform`] with core's own hashing and verification, each answer remembered
/// per input (both are pure functions of their arguments): every fuzz input rebuilds its world,
/// and hashing the same default password with the same salt again would be most of the work.
#[derive(Default, Clone)]
pub struct FuzzPlatform(std::sync::Arc<common::TestPlatform>);

impl FuzzPlatform {
    /// A platform going on from this one's clock and random state (see [`common::TestPlatform::fork`]).
    pub fn fork(&self) -> FuzzPlatform {
        FuzzPlatform(std::sync::Arc::new(self.0.fork()))
    }
}

#[async_trait::async_trait]
impl Platform for FuzzPlatform {
    fn now(&self) -> Timestamp {
        self.0.now()
    }

    fn fill_random(&self, buf: &mut [u8]) {
        self.0.fill_random(buf)
    }

    async fn hash_password(
        &self,
        password: String,
        cost: PasswordCost,
        salt: [u8; 16],
    ) -> Result<String, String> {
        REMEMBERED.with_borrow_mut(|r| {
            if r.hashes.len() > REMEMBERED_MAX {
                r.hashes.clear();
            }
            r.hashes
                .entry((password, cost_key(cost), salt))
                .or_insert_with_key(|(password, _, _)| {
                    credentials::hash_password(password, cost, salt)
                })
                .clone()
        })
    }

    async fn verify_password(
        &self,
        password: String,
        stored: String,
        cost: PasswordCost,
    ) -> PasswordCheck {
        REMEMBERED.with_borrow_mut(|r| {
            if r.checks.len() > REMEMBERED_MAX {
                r.checks.clear();
            }
            *r.checks
                .entry((password, stored, cost_key(cost)))
                .or_insert_with_key(|(password, stored, _)| {
                    credentials::verify_password(password, stored, cost)
                })
        })
    }
}
