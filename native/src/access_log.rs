//! The access log: one line per request under the target [`TARGET`], which `RUST_LOG`
//! filters like any other.
//!
//! A text line reads as tracing-subscriber's default format prints an event:
//!
//! ```text
//! 2026-12-02T17:06:27.096299Z  INFO GET /api/me 200 0.072ms request_id=3117b1ebe546a963-000000000000002a
//! ```
//!
//! When the server's own logging is installed ([`install`]), a text line is written here,
//! straight into the log's buffer ([`BatchedStderr`]), once `tracing` says the target is
//! enabled: the subscriber's general machinery (its per-event buffer, a `format_args!`
//! message, a `Debug` of each field, the date worked out per event) cost about a fifth of the
//! server's own CPU time on a cached `GET /api/me`. Otherwise (another subscriber, as in
//! tests, or the JSON format) the line is an ordinary `tracing` event. A test checks that
//! both read the same without colours (with them, on a terminal, the direct line colours the
//! time and the level but not the field name).
//!
//! Nothing secret reaches the line: the method, the path without its query string, the
//! status, the latency and the request id. Headers and bodies are never logged.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

use crate::batched_stderr::BatchedStderr;
use crate::request_id::RequestId;
use crate::server::LogFormat;

/// The target of the per-request lines.
pub const TARGET: &str = "workgate::http";

/// One request's line.
pub struct Line<'a> {
    pub id: &'a RequestId,
    pub method: &'a str,
    pub path: &'a str,
    /// The endpoint's path template (the metrics' label), in the JSON line.
    pub route: &'static str,
    pub status: u16,
    pub elapsed: Duration,
}

/// Where text lines are written directly, once [`install`]ed.
struct Sink {
    out: BatchedStderr,
    ansi: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Writes text lines straight to `out` from now on (the writer of the subscriber the server
/// installed; `ansi`: whether that subscriber colours its lines).
pub fn install(out: BatchedStderr, ansi: bool) {
    let _ = SINK.set(Sink { out, ansi });
}

/// Logs `line` in `format`.
pub fn record(format: LogFormat, line: &Line<'_>) {
    match format {
        LogFormat::Text => {
            if !tracing::enabled!(target: TARGET, Level::INFO) {
                return;
            }
            match SINK.get() {
                Some(sink) => sink.write(line),
                None => tracing::info!(
                    target: TARGET,
                    request_id = %line.id,
                    "{}",
                    TextFields(line)
                ),
            }
        }
        LogFormat::Json => tracing::info!(
            target: TARGET,
            request_id = line.id.as_str(),
            method = line.method,
            route = line.route,
            path = line.path,
            status = line.status,
            duration_ms = line.elapsed.as_secs_f64() * 1000.0,
            "request"
        ),
    }
}

impl Sink {
    fn write(&self, line: &Line<'_>) {
        thread_local! {
            static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
        }
        TEXT.with_borrow_mut(|text| {
            text.clear();
            write_line(text, line, self.ansi, SystemTime::now());
            let _ = self.out.make_writer().write_all(text.as_bytes());
        });
    }
}

/// `line` as the default formatter prints it, at time `at`, coloured when `ansi`.
fn write_line(text: &mut String, line: &Line<'_>, ansi: bool, at: SystemTime) {
    let timestamp = timestamp(at);
    if ansi {
        text.push_str("\x1b[2m");
        text.push_str(timestamp.as_str());
        text.push_str("\x1b[0m \x1b[32m INFO\x1b[0m ");
    } else {
        text.push_str(timestamp.as_str());
        text.push_str("  INFO ");
    }
    // Writing to a String cannot fail.
    let _ = write!(text, "{} request_id={}", TextFields(line), line.id.as_str());
    text.push('\n');
}

/// `GET /api/me 200 0.072ms`: the text line's message.
struct TextFields<'a, 'b>(&'a Line<'b>);

impl std::fmt::Display for TextFields<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = self.0;
        write_text(f, line.method)?;
        f.write_char(' ')?;
        write_text(f, line.path)?;
        let mut digits = itoa::Buffer::new();
        f.write_char(' ')?;
        f.write_str(digits.format(line.status))?;
        f.write_char(' ')?;
        let micros = line.elapsed.as_micros();
        f.write_str(digits.format(micros / 1000))?;
        let fraction = (micros % 1000) as u32;
        let padded = [
            b'.',
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
            b'm',
            b's',
        ];
        f.write_str(std::str::from_utf8(&padded).map_err(|_| std::fmt::Error)?)
    }
}

/// `text` as it is, unless it holds a control character (which could forge a line or a
/// terminal escape): then as Rust escapes it. A path or method never does (the HTTP parser
/// refuses them).
fn write_text(f: &mut std::fmt::Formatter<'_>, text: &str) -> std::fmt::Result {
    if text.chars().any(char::is_control) {
        write!(f, "{}", text.escape_debug())
    } else {
        f.write_str(text)
    }
}

/// An RFC 3339 time with microseconds, `2026-12-02T17:06:27.096299Z`, as the default
/// formatter prints it.
#[derive(Clone, Copy)]
struct Timestamp([u8; 27]);

impl Timestamp {
    fn as_str(&self) -> &str {
        // ASCII digits and punctuation only.
        std::str::from_utf8(&self.0).unwrap_or("<unknown time>")
    }
}

thread_local! {
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS` text.
    static SECOND: Cell<Option<(u64, [u8; 19])>> = const { Cell::new(None) };
}

/// `at` as a [`Timestamp`]; the date and time of day are worked out once a second per thread.
fn timestamp(at: SystemTime) -> Timestamp {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let second = match SECOND.get() {
        Some((cached, text)) if cached == secs => text,
        _ => {
            let text = second_text(secs);
            SECOND.set(Some((secs, text)));
            text
        }
    };
    let mut out = [0u8; 27];
    out[..19].copy_from_slice(&second);
    out[19] = b'.';
    let mut micros = since_epoch.subsec_micros();
    for slot in out[20..26].iter_mut().rev() {
        *slot = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    out[26] = b'Z';
    Timestamp(out)
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the epoch (UTC).
fn second_text(secs: u64) -> [u8; 19] {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut text = [0u8; 19];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut value = value;
        for slot in text[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, at.year().clamp(0, 9999) as u32, 4);
    put(5, u32::from(u8::from(at.month())), 2);
    put(8, u32::from(at.day()), 2);
    put(11, u32::from(at.hour()), 2);
    put(14, u32::from(at.minute()), 2);
    put(17, u32::from(at.second()), 2);
    for (at, separator) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        text[at] = separator;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn timestamps_read_as_rfc_3339_with_microseconds() {
        let at = UNIX_EPOCH + Duration::new(1_796_231_187, 96_299_000);
        assert_eq!(timestamp(at).as_str(), "2026-12-02T17:06:27.096299Z");
        // The cached second is not reused for another second.
        let next = at + Duration::from_micros(1_000_001);
        assert_eq!(timestamp(next).as_str(), "2026-12-02T17:06:28.096300Z");
        assert_eq!(
            timestamp(UNIX_EPOCH).as_str(),
            "1970-01-01T00:00:00.000000Z"
        );
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400 + 86_399);
        assert_eq!(timestamp(leap_day).as_str(), "2000-02-29T23:59:59.000000Z");
    }

    /// What a subscriber writes, captured.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The line as a `tracing` event under the server's text format (without the sink).
    fn through_tracing(line: &Line<'_>) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_target(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || record(LogFormat::Text, line));
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    fn written(line: &Line<'_>) -> String {
        let mut text = String::new();
        write_line(&mut text, line, false, SystemTime::now());
        text
    }

    fn line<'a>(id: &'a RequestId, path: &'a str, micros: u64) -> Line<'a> {
        Line {
            id,
            method: "GET",
            path,
            route: "/api/me",
            status: 200,
            elapsed: Duration::from_micros(micros),
        }
    }

    /// `text` without its timestamp (the first word).
    fn after_time(text: &str) -> &str {
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(time.len(), 27, "{text}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{text}");
        rest
    }

    #[test]
    fn a_line_names_method_path_status_latency_and_id() {
        let id = RequestId::from_client(&"trace-42".parse().unwrap()).unwrap();
        assert_eq!(
            after_time(&written(&line(&id, "/api/me", 4_222))),
            " INFO GET /api/me 200 4.222ms request_id=trace-42\n"
        );
        assert!(written(&line(&id, "/", 72)).ends_with(" GET / 200 0.072ms request_id=trace-42\n"));
        assert!(written(&line(&id, "/x", 12_345_678)).contains(" 200 12345.678ms "));
    }

    #[test]
    fn the_direct_line_reads_as_the_tracing_event() {
        let id = RequestId::generate();
        for (path, micros) in [("/api/me", 4_222), ("/api/datasets/a:b/records", 0)] {
            let line = line(&id, path, micros);
            assert_eq!(
                after_time(&written(&line)),
                after_time(&through_tracing(&line))
            );
        }
    }

    #[test]
    fn control_characters_in_a_field_are_escaped() {
        let id = RequestId::generate();
        let text = written(&line(&id, "/a\u{1b}[2J\nforged", 1));
        assert!(text.contains(r"GET /a\u{1b}[2J\nforged 200 "), "{text}");
        assert_eq!(text.matches('\n').count(), 1, "{text}");
    }

    #[test]
    fn with_colours_the_time_is_dimmed_and_the_level_green() {
        let id = RequestId::generate();
        let mut text = String::new();
        write_line(
            &mut text,
            &line(&id, "/api/users", 1_500),
            true,
            SystemTime::now(),
        );
        assert!(text.starts_with("\x1b[2m"), "{text:?}");
        assert!(
            text.contains("Z\x1b[0m \x1b[32m INFO\x1b[0m GET /api/users 200 1.500ms request_id="),
            "{text:?}"
        );
    }
}
