//! The Worker reads core's settings from its vars: checked on a running Worker with a configured
//! `ARGILLA_CORS_ORIGINS` list (echoed for a listed origin, refused for another) and with an
//! unusable value (every request answers core's 500 configuration envelope naming the
//! setting). The conformance suite covers the default policy; these need vars of their own.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use crate::worker;

const LISTED: &str = "https://app.example.com";

/// One answer read off a plain socket: status, lower-cased header lines, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.0 request (so the body ends when the connection closes) with extra headers.
fn request(base_url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<Answer> {
    let addr = base_url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").context("no HTTP answer")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_string(),
    })
}

fn preflight(base_url: &str, origin: &str) -> Result<Answer> {
    request(
        base_url,
        "OPTIONS",
        "/api/users",
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "x-argilla-api-key, content-type",
            ),
        ],
    )
}

/// Runs both checks on the built Worker, each on its own server with state under `state`.
pub fn check(state: &Path) -> Result<()> {
    let vars = format!("ARGILLA_CORS_ORIGINS=[\"{LISTED}\"]");
    let server = worker::spawn_with(&state.join("listed"), &[&vars])?;
    let listed = preflight(&server.base_url, LISTED)?;
    ensure!(
        listed.status == 204 && listed.header("access-control-allow-origin") == Some(LISTED),
        "a listed origin's preflight: {} {:?}",
        listed.status,
        listed.headers
    );
    let other = preflight(&server.base_url, "https://other.example")?;
    ensure!(
        other.status == 400
            && other.body.contains("Disallowed CORS origin")
            && other.header("access-control-allow-origin").is_none(),
        "another origin's preflight: {} {}",
        other.status,
        other.body
    );
    drop(server);

    let server = worker::spawn_with(
        &state.join("unusable"),
        &["ARGILLA_CORS_ORIGINS=https://app.example.com"],
    )?;
    let answer = request(&server.base_url, "GET", "/api/_info", &[])?;
    let body: serde_json::Value = serde_json::from_str(&answer.body)
        .with_context(|| format!("not a JSON envelope: {}", answer.body))?;
    let params = &body["detail"]["params"];
    if answer.status != 500
        || body["detail"]["code"] != "argilla.api.errors::GenericServerError"
        || !params.to_string().contains("ARGILLA_CORS_ORIGINS")
    {
        bail!(
            "an unusable ARGILLA_CORS_ORIGINS: expected the 500 configuration envelope naming \
             it, got {} {}",
            answer.status,
            answer.body
        );
    }
    eprintln!(
        "xtask: the Worker's ARGILLA_CORS_ORIGINS: a list is honoured, a bad value is a 500 envelope"
    );
    Ok(())
}
