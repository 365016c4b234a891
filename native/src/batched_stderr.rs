//! [`BatchedStderr`]: the log's writer. Log lines go into a shared buffer that a background
//! thread writes to stderr every few milliseconds.
//!
//! The server logs one line per request. Writing each line with its own `write(2)` (or handing
//! it to a writer thread through a channel, waking that thread per line) costs more than
//! serving a cached `GET /api/me`; appending to a buffer under an uncontended mutex costs tens
//! of nanoseconds. Lines appear at most [`FLUSH_INTERVAL`] late, are never reordered, and are
//! flushed when the [`FlushGuard`] is dropped at exit.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How often the background thread writes the buffer out.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// A buffer this large is written out by the logging thread itself, so memory stays bounded
/// even if the flusher falls behind.
const FLUSH_NOW_BYTES: usize = 256 * 1024;

#[derive(Default)]
struct Shared {
    buffer: Mutex<Vec<u8>>,
    /// Held while a taken chunk is written, so that chunks reach stderr in order.
    writing: Mutex<()>,
    /// Signalled to stop the flusher.
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn flush(&self) {
        let _writing = self.writing.lock();
        let pending = match self.buffer.lock() {
            Ok(mut buffer) => std::mem::take(&mut *buffer),
            Err(_) => return,
        };
        if !pending.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&pending);
            let _ = err.flush();
        }
    }
}

/// A `MakeWriter` for tracing-subscriber that batches lines to stderr.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Stops the flusher and writes what is left when dropped.
pub struct FlushGuard {
    shared: Arc<Shared>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

impl BatchedStderr {
    /// The writer and the guard that flushes it; starts the flusher thread.
    pub fn new() -> (BatchedStderr, FlushGuard) {
        let shared = Arc::new(Shared::default());
        let flusher = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("log-flusher".into())
                .spawn(move || {
                    loop {
                        let stopped = match shared.stop.lock() {
                            Ok(stop) => match shared.wake.wait_timeout(stop, FLUSH_INTERVAL) {
                                Ok((stop, _)) => *stop,
                                Err(_) => true,
                            },
                            Err(_) => true,
                        };
                        shared.flush();
                        if stopped {
                            return;
                        }
                    }
                })
                .ok()
        };
        (
            BatchedStderr {
                shared: shared.clone(),
            },
            FlushGuard { shared, flusher },
        )
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        if let Ok(mut stop) = self.shared.stop.lock() {
            *stop = true;
        }
        self.shared.wake.notify_all();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        self.shared.flush();
    }
}

/// One event's writer (tracing-subscriber formats an event, then writes it in one call).
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let oversized = match self.shared.buffer.lock() {
            Ok(mut buffer) => {
                buffer.extend_from_slice(bytes);
                buffer.len() >= FLUSH_NOW_BYTES
            }
            Err(_) => false,
        };
        if oversized {
            self.shared.flush();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    #[test]
    fn lines_are_kept_in_order_until_flushed() {
        let (writer, guard) = BatchedStderr::new();
        writer.make_writer().write_all(b"one\n").unwrap();
        writer.make_writer().write_all(b"two\n").unwrap();
        // Not asserting on stderr itself; the buffer holds both lines in order unless the
        // flusher already took them.
        let pending = writer.shared.buffer.lock().unwrap().clone();
        assert!(pending.is_empty() || pending == b"one\ntwo\n" || pending == b"two\n");
        drop(guard);
        assert!(writer.shared.buffer.lock().unwrap().is_empty());
    }
}
