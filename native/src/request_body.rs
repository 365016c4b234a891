//! Reading a request body under core's limit, and refusing an over-limit one readably.
//!
//! A server that answers 413 without reading the body and then closes leaves the unread bytes
//! in its receive buffer; the kernel then resets the connection, and a client still sending —
//! any ordinary blocking client, which writes the whole body before it reads — sees a broken
//! pipe instead of the answer. So an over-limit body is read and thrown away, up to
//! [`DRAIN_MAX`] bytes in all, for at most [`DRAIN_TIME`] and with pauses of at most
//! [`DRAIN_STALL`], before the 413 goes out. Past a bound the connection is closed after the
//! answer, as before: the cost of a refusal stays bounded.
//!
//! A client that sent `Expect: 100-continue` has not sent its body yet and waits for a go: it
//! is answered at once, unread.

use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt;

/// The most an over-limit request may send in all before the server stops reading it (a little
/// over the largest endpoint limit, 32 MiB, so any body within a few MiB of a limit is
/// answered readably).
pub const DRAIN_MAX: u64 = 40 * 1024 * 1024;
/// The longest the server spends reading an over-limit body.
pub const DRAIN_TIME: Duration = Duration::from_secs(10);
/// The longest it waits for the next part of one: a client that declared a length and sends
/// nothing more (it waits for the answer) gets the 413 after this pause.
pub const DRAIN_STALL: Duration = Duration::from_secs(1);

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRefusal {
    /// Over the limit; `drained` says whether all of it was read (the connection may then be
    /// kept).
    TooLarge { drained: bool },
    /// The client went away or sent a malformed body.
    Unreadable,
}

/// Reads `body` whole, if it is at most `limit` bytes.
pub async fn read(body: Body, limit: usize) -> Result<Bytes, BodyRefusal> {
    let mut body = body;
    let mut collected: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyRefusal::Unreadable)?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if collected.len() + data.len() > limit {
            let read = (collected.len() + data.len()) as u64;
            drop(collected);
            let drained = drain(body, read).await;
            return Err(BodyRefusal::TooLarge { drained });
        }
        if collected.is_empty() && hyper::body::Body::is_end_stream(&body) {
            return Ok(data); // one frame: no copy
        }
        collected.extend_from_slice(&data);
    }
    Ok(Bytes::from(collected))
}

/// Refuses a body whose declared length is over the limit: reads it away first unless the
/// client waits for `100 Continue` or it is larger than [`DRAIN_MAX`]. Returns whether it was
/// read whole.
pub async fn refuse_declared(body: Body, declared: u64, expects_continue: bool) -> bool {
    if expects_continue || declared > DRAIN_MAX {
        return false;
    }
    drain(body, 0).await
}

/// Reads and discards the rest of `body`, `already` bytes having been read; true when it
/// ended within the bounds.
async fn drain(mut body: Body, already: u64) -> bool {
    let mut read = already;
    let discard = async {
        loop {
            let frame = match tokio::time::timeout(DRAIN_STALL, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                Ok(None) => return true,
                Ok(Some(Err(_))) | Err(_) => return false,
            };
            if let Some(data) = frame.data_ref() {
                read += data.len() as u64;
                if read > DRAIN_MAX {
                    return false;
                }
            }
        }
    };
    tokio::time::timeout(DRAIN_TIME, discard)
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = Body::from(vec![7u8; 100]);
        assert_eq!(read(body, 100).await.unwrap().len(), 100);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_read_away() {
        let stream = futures_stream(vec![vec![1u8; 60], vec![2u8; 60], vec![3u8; 60]]);
        assert_eq!(
            read(stream, 100).await,
            Err(BodyRefusal::TooLarge { drained: true })
        );
    }

    #[tokio::test]
    async fn a_client_waiting_for_continue_is_not_read() {
        assert!(!refuse_declared(Body::from(vec![0u8; 10]), 10, true).await);
        assert!(refuse_declared(Body::from(vec![0u8; 10]), 10, false).await);
        assert!(!refuse_declared(Body::empty(), DRAIN_MAX + 1, false).await);
    }

    /// A body that arrives in several frames, as a chunked upload does.
    fn futures_stream(chunks: Vec<Vec<u8>>) -> Body {
        Body::new(Chunks(chunks.into_iter()))
    }

    struct Chunks(std::vec::IntoIter<Vec<u8>>);

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Ready(
                self.0
                    .next()
                    .map(|c| Ok(hyper::body::Frame::data(Bytes::from(c)))),
            )
        }
    }
}
