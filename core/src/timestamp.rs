//! Points in time, as microseconds since the Unix epoch, and their wire format.
//!
//! Core never reads a clock: hosts pass `Timestamp`s in through [`crate::Platform::now`]
//! (std's clock panics on `wasm32-unknown-unknown`).

use serde::{Deserialize, Serialize};

/// Microseconds since 1970-01-01T00:00:00 UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1_000_000)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1_000_000)))
    }

    /// Naive UTC ISO-8601 with microseconds and no zone, as Argilla sends:
    /// `2023-03-16T11:11:59.871532`.
    pub fn to_iso(self) -> String {
        let nanos = i128::from(self.0) * 1000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.microsecond()
            ),
            // Out of range for any real clock; keep the output well-formed regardless.
            Err(_) => "1970-01-01T00:00:00.000000".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_argilla() {
        // 2023-03-16T11:11:59.871532 UTC
        assert_eq!(
            Timestamp(1_678_965_119_871_532).to_iso(),
            "2023-03-16T11:11:59.871532"
        );
        assert_eq!(Timestamp(0).to_iso(), "1970-01-01T00:00:00.000000");
    }
}
