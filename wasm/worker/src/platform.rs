//! [`WorkerPlatform`]: the Workers clock and `crypto.getRandomValues`.
//!
//! Password hashing runs inline (core's default methods): a Worker isolate has one thread and
//! nothing to hand the work to, and the CPU it takes is billed to the request either way.
//! Note that on Workers `Date.now()` only advances between I/O, never during computation
//! (a Spectre mitigation), so it cannot time CPU work inside one request.

use workgate_core::{Platform, Timestamp};

pub struct WorkerPlatform;

/// The wall clock, with millisecond resolution.
pub fn now() -> Timestamp {
    Timestamp::from_micros(worker::Date::now().as_millis() as i64 * 1000)
}

#[async_trait::async_trait(?Send)]
impl Platform for WorkerPlatform {
    fn now(&self) -> Timestamp {
        now()
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // Without a working random source no key, salt or secret would be safe: stop.
        getrandom::fill(buf).expect("crypto.getRandomValues failed");
    }
}
