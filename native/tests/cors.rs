//! `ARGILLA_CORS_ORIGINS` on the native server: a configured origin list over HTTP, a bad value
//! as a one-line startup error, the host's own refusals with CORS headers, and the web app
//! (same-origin) left as it was. The rules themselves are core's (`engine::cors`) and the
//! default policy is checked on every host by the conformance suite (tests/tests/cors.rs).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{Answer, Home, agent, answer};

const ALLOWED: &str = "https://app.example.com";

fn preflight(url: &str, origin: &str) -> Answer {
    let request = ureq::http::Request::builder()
        .method("OPTIONS")
        .uri(url)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "x-argilla-api-key, content-type",
        )
        .body(())
        .expect("a well-formed request");
    answer(agent().run(request))
}

#[test]
fn a_configured_origin_list_is_echoed_and_others_are_refused() {
    let home = Home::new();
    let server = home.serve_with(&[(
        "ARGILLA_CORS_ORIGINS",
        r#"["https://App.Example.com", "http://localhost:5173"]"#,
    )]);
    let allowed = preflight(&server.url("/api/users"), ALLOWED);
    assert_eq!(allowed.status, 204, "{}", allowed.body);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(allowed.header("vary"), Some("Origin"));

    let refused = preflight(&server.url("/api/users"), "https://evil.example");
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["detail"]["params"]["message"],
        "Disallowed CORS origin"
    );
    assert_eq!(refused.header("access-control-allow-origin"), None);

    let me = |origin: &str| {
        answer(
            agent()
                .get(&server.url("/api/me"))
                .header("X-Argilla-Api-Key", "argilla.apikey")
                .header("Origin", origin)
                .call(),
        )
    };
    let ok = me("http://localhost:5173");
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(ok.header("access-control-allow-credentials"), None);
    // Another origin's request is still answered (CORS is the browser's check), but without
    // the header that would let its page read the answer.
    let other = me("https://evil.example");
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    assert_eq!(other.header("vary"), Some("Origin"));
}

#[test]
fn an_unusable_origin_list_stops_the_server_with_one_line() {
    let home = Home::new();
    for value in [
        "https://app.example.com",
        r#"["https://app.example.com/"]"#,
        r#"["null"]"#,
    ] {
        let out = home
            .command(&["serve", "--port", "0"])
            .env("ARGILLA_CORS_ORIGINS", value)
            .output()
            .expect("run workgate");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("ARGILLA_CORS_ORIGINS"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_body_the_host_refuses_is_readable_cross_origin() {
    // The native host refuses a declared over-limit length before reading it (core's 413),
    // and that answer carries the CORS headers as the engine's own answers do.
    let home = Home::new();
    let server = home.serve();
    let addr = server.base_url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "POST /api/workspaces HTTP/1.1\r\nHost: {addr}\r\nOrigin: {ALLOWED}\r\n\
         X-Argilla-Api-Key: argilla.apikey\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        64 << 20
    );
    stream.write_all(request.as_bytes()).expect("send headers");
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 413"), "{raw}");
    assert!(head.contains("\r\naccess-control-allow-origin: *"), "{raw}");
    assert!(head.contains("\r\nvary: origin"), "{raw}");
}

#[test]
fn the_web_app_is_same_origin_and_gets_no_cors_headers() {
    let home = Home::new();
    let server = home.serve();
    let page = answer(
        agent()
            .get(&server.url("/"))
            .header("Origin", ALLOWED)
            .call(),
    );
    assert_eq!(page.header("access-control-allow-origin"), None);
    assert_eq!(page.header("vary"), None);
    let preflight = preflight(&server.url("/"), ALLOWED);
    assert_ne!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
}
