//! The access log: one line per request, through `tracing` under the target [`TARGET`] (so
//! `RUST_LOG` filters it like any other), written by [`TextFormat`] in the text format and by
//! tracing-subscriber's JSON formatter in the JSON format.
//!
//! A text line reads the same as tracing-subscriber's default format would print it:
//!
//! ```text
//! 2026-12-02T17:06:27.096299Z  INFO GET /api/me 200 0.072ms request_id=3117b1ebe546a963-000000000000002a
//! ```
//!
//! but is written without the general machinery — no `format_args!` message, no `Debug` of
//! each field, the date worked out once a second per thread — because it is written for every
//! request, and the general formatter cost about a fifth of the server's own CPU time on a
//! cached `GET /api/me`. Every other event goes to the default formatter.
//!
//! Nothing secret reaches the line: the method, the path without its query string, the
//! status, the latency and the request id. Headers and bodies are never logged.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as DefaultTimer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

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

/// Logs `line` in `format`.
pub fn record(format: LogFormat, line: &Line<'_>) {
    let Line {
        id,
        method,
        path,
        route,
        status,
        elapsed,
    } = *line;
    match format {
        // The fields in the order [`TextFormat`] writes them.
        LogFormat::Text => tracing::info!(
            target: TARGET,
            method,
            path,
            status,
            micros = elapsed.as_micros() as u64,
            request_id = id.as_str()
        ),
        LogFormat::Json => tracing::info!(
            target: TARGET,
            request_id = id.as_str(),
            method,
            route,
            path,
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        ),
    }
}

/// The text format: [`TARGET`]'s lines written directly, everything else by the default
/// formatter (without targets).
pub struct TextFormat {
    fallback: Format<Full, DefaultTimer>,
}

impl Default for TextFormat {
    fn default() -> Self {
        TextFormat {
            fallback: Format::default().with_target(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() != TARGET || *meta.level() != Level::INFO {
            return self.fallback.format_event(ctx, writer, event);
        }
        let ansi = writer.has_ansi_escapes();
        if ansi {
            writer.write_str("\x1b[2m")?;
        }
        writer.write_str(timestamp(SystemTime::now()).as_str())?;
        writer.write_str(if ansi {
            "\x1b[0m \x1b[32m INFO\x1b[0m "
        } else {
            "  INFO "
        })?;
        let mut fields = LineFields {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes a request line's fields as they are visited (in [`record`]'s order): `GET /api/me
/// 200 0.072ms request_id=…`. A field it does not know is written as ` name=value`.
struct LineFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl LineFields<'_, '_> {
    fn write(&mut self, write: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = write(self.writer);
        }
    }
}

impl Visit for LineFields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.write(|w| match field.name() {
            "method" | "path" => {
                write_text(w, value)?;
                w.write_char(' ')
            }
            name => {
                write!(w, " {name}=")?;
                write_text(w, value)
            }
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.write(|w| {
            let mut digits = itoa::Buffer::new();
            match field.name() {
                "status" => {
                    w.write_str(digits.format(value))?;
                    w.write_char(' ')
                }
                "micros" => {
                    w.write_str(digits.format(value / 1000))?;
                    let fraction = value % 1000;
                    let padded = [
                        b'.',
                        b'0' + (fraction / 100) as u8,
                        b'0' + (fraction / 10 % 10) as u8,
                        b'0' + (fraction % 10) as u8,
                        b'm',
                        b's',
                    ];
                    w.write_str(std::str::from_utf8(&padded).map_err(|_| fmt::Error)?)
                }
                name => write!(w, " {name}={}", digits.format(value)),
            }
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(|w| write!(w, " {}={value:?}", field.name()));
    }
}

/// `text` as it is, unless it holds a control character (which could forge a line or a
/// terminal escape): then as Rust escapes it. A path or method never does (the HTTP parser
/// refuses them), nor does a request id (visible ASCII).
fn write_text(w: &mut Writer<'_>, text: &str) -> fmt::Result {
    if text.chars().any(char::is_control) {
        write!(w, "{}", text.escape_debug())
    } else {
        w.write_str(text)
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
    use tracing_subscriber::fmt::MakeWriter;

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

    /// What a subscriber with [`TextFormat`] writes, captured.
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

    fn captured(ansi: bool, log: impl FnOnce()) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(ansi)
            .event_format(TextFormat::default())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    fn request_line(path: &str, micros: u64) -> String {
        let id = RequestId::from_client(&"trace-42".parse().unwrap()).unwrap();
        captured(false, || {
            record(
                LogFormat::Text,
                &Line {
                    id: &id,
                    method: "GET",
                    path,
                    route: "/api/me",
                    status: 200,
                    elapsed: Duration::from_micros(micros),
                },
            )
        })
    }

    #[test]
    fn a_request_line_names_method_path_status_latency_and_id() {
        let line = request_line("/api/me", 4_222);
        let (time, rest) = line.split_once(' ').unwrap();
        assert_eq!(time.len(), 27, "{line}");
        assert!(time.ends_with('Z') && time.as_bytes()[10] == b'T', "{line}");
        assert_eq!(rest, " INFO GET /api/me 200 4.222ms request_id=trace-42\n");
        assert!(request_line("/api/me", 72).ends_with(" 200 0.072ms request_id=trace-42\n"));
        assert!(request_line("/api/me", 12_345_678).contains(" 200 12345.678ms "));
    }

    #[test]
    fn control_characters_in_a_field_are_escaped() {
        let line = request_line("/a\u{1b}[2J\nforged", 1);
        assert!(line.contains(r"GET /a\u{1b}[2J\nforged 200 "), "{line}");
        assert_eq!(line.matches('\n').count(), 1, "{line}");
    }

    #[test]
    fn other_events_keep_the_default_format() {
        let text = captured(false, || tracing::warn!(answer = 42, "something {}", "odd"));
        let (time, rest) = text.split_once(' ').unwrap();
        assert_eq!(time.len(), 27, "{text}");
        assert_eq!(rest, " WARN something odd answer=42\n");
    }

    #[test]
    fn with_colours_the_time_is_dimmed_and_the_level_green() {
        let id = RequestId::generate();
        let text = captured(true, || {
            record(
                LogFormat::Text,
                &Line {
                    id: &id,
                    method: "POST",
                    path: "/api/users",
                    route: "/api/users",
                    status: 201,
                    elapsed: Duration::from_micros(1_500),
                },
            )
        });
        assert!(text.starts_with("\x1b[2m"), "{text:?}");
        assert!(
            text.contains("Z\x1b[0m \x1b[32m INFO\x1b[0m POST /api/users 201 1.500ms request_id="),
            "{text:?}"
        );
    }
}
