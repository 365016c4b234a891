//! What the engine tests and benchmarks share: a deterministic [`Platform`] and a cheap
//! configuration. (Benches include this file by path.)

#![allow(dead_code)] // each test crate uses a part

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use workgate_core::credentials::PasswordCost;
use workgate_core::{Config, Platform, Timestamp};

/// A platform with no real clock or randomness: every reading of the clock is one second
/// later, and the random bytes come from a seeded xorshift. Two of them answer alike.
pub struct TestPlatform {
    micros: AtomicI64,
    state: AtomicU64,
}

impl TestPlatform {
    pub fn new() -> Self {
        TestPlatform {
            micros: AtomicI64::new(1_700_000_000_000_000),
            state: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
        }
    }
}

impl TestPlatform {
    /// Another platform that goes on from where this one is: its clock and random bytes continue
    /// this one's, each independently from then on.
    pub fn fork(&self) -> Self {
        TestPlatform {
            micros: AtomicI64::new(self.micros.load(Ordering::Relaxed)),
            state: AtomicU64::new(self.state.load(Ordering::Relaxed)),
        }
    }
}

impl Default for TestPlatform {
    fn default() -> Self {
        Self::new()
    }
}

impl Platform for TestPlatform {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.micros.fetch_add(1_000_000, Ordering::Relaxed))
    }

    fn fill_random(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut x = self.state.load(Ordering::Relaxed);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state.store(x, Ordering::Relaxed);
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// The cheapest Argon2 cost, so tests can hash many passwords.
pub const CHEAP: PasswordCost = PasswordCost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// The default configuration with [`CHEAP`] password hashing.
pub fn cheap_config() -> Config {
    Config {
        password_cost: CHEAP,
        ..Config::default()
    }
}

/// The default admin's API key.
pub const ADMIN_KEY: &str = "argilla.apikey";
