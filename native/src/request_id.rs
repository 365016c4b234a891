//! The request id: one per request, in the log line and in the `X-Request-Id` answer header.
//!
//! A client or a proxy in front may send its own `X-Request-Id` to follow one request through
//! several logs; it is kept when it is sane — 1 to [`MAX_LEN`] visible ASCII characters, so
//! it can neither forge log lines nor bloat them — and otherwise replaced by a new one.
//!
//! A new id costs no system call: it is this process's random prefix (drawn once from the
//! operating system's generator) and a counter, `3f9c2a71b04e5d86-000000000000002a` — unique
//! within the process, and across processes as long as two of them do not draw the same 64-bit
//! prefix. An id is for following a request through logs, not a secret.

use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;

/// The header read and written.
pub const HEADER: &str = "x-request-id";
/// The longest id taken from a client.
pub const MAX_LEN: usize = 128;

/// A request's id: the header value it is echoed as (visible ASCII, so also text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The client's id when sane, else a new one.
    pub fn for_request(sent: Option<&HeaderValue>) -> RequestId {
        sent.and_then(RequestId::from_client)
            .unwrap_or_else(RequestId::generate)
    }

    /// The client's id, if it is 1 to [`MAX_LEN`] visible ASCII characters.
    pub fn from_client(value: &HeaderValue) -> Option<RequestId> {
        let bytes = value.as_bytes();
        let sane = !bytes.is_empty()
            && bytes.len() <= MAX_LEN
            && bytes.iter().all(|b| b.is_ascii_graphic());
        // A header value shares the request's buffer: kept without copying.
        sane.then(|| RequestId(value.clone()))
    }

    /// A new id: the process's random prefix and the next value of its counter, in hex.
    pub fn generate() -> RequestId {
        static PREFIX: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let prefix = *PREFIX.get_or_init(|| {
            let mut bytes = [0u8; 8];
            // The OS generator failing is not worth failing a request for; the id is for
            // logs. The clock then stands in for the randomness.
            if getrandom::fill(&mut bytes).is_err() {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                bytes = (nanos ^ u64::from(std::process::id())).to_le_bytes();
            }
            u64::from_le_bytes(bytes)
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut text = [b'-'; 33];
        // Both slices are exactly twice the bytes encoded, so neither call can fail.
        let _ = hex::encode_to_slice(prefix.to_be_bytes(), &mut text[..16]);
        let _ = hex::encode_to_slice(n.to_be_bytes(), &mut text[17..]);
        RequestId(
            HeaderValue::from_bytes(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid")),
        )
    }

    pub fn as_str(&self) -> &str {
        // Visible ASCII by construction.
        self.0.to_str().unwrap_or("invalid")
    }

    /// The id as an answer header.
    pub fn header_value(&self) -> HeaderValue {
        self.0.clone()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_client_id_is_kept() {
        let sent = HeaderValue::from_static("abc-123_trace:7/x");
        assert_eq!(
            RequestId::for_request(Some(&sent)).as_str(),
            "abc-123_trace:7/x"
        );
        let longest = "a".repeat(MAX_LEN);
        let sent = HeaderValue::from_str(&longest).unwrap();
        assert_eq!(RequestId::for_request(Some(&sent)).as_str(), longest);
    }

    #[test]
    fn an_insane_client_id_is_replaced() {
        let too_long = HeaderValue::from_str(&"a".repeat(MAX_LEN + 1)).unwrap();
        let spaced = HeaderValue::from_static("two words");
        let empty = HeaderValue::from_static("");
        let non_ascii = HeaderValue::from_bytes("é".as_bytes()).unwrap();
        for sent in [too_long, spaced, empty, non_ascii] {
            let id = RequestId::for_request(Some(&sent));
            assert_ne!(id.as_str().as_bytes(), sent.as_bytes());
            assert_eq!(id.as_str().len(), 33, "{id}");
        }
    }

    #[test]
    fn generated_ids_share_the_process_prefix_and_differ() {
        let a = RequestId::generate();
        let b = RequestId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str()[..17], b.as_str()[..17]);
        for id in [&a, &b] {
            let (prefix, counter) = id.as_str().split_once('-').unwrap();
            assert_eq!((prefix.len(), counter.len()), (16, 16), "{id}");
            assert!(
                id.as_str()
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() || c == b'-')
            );
        }
        let counter = |id: &RequestId| u64::from_str_radix(&id.as_str()[17..], 16).unwrap();
        assert!(counter(&b) > counter(&a), "{a} then {b}");
        assert_eq!(a.header_value().as_bytes(), a.as_str().as_bytes());
    }
}
