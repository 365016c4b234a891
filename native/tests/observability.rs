//! What an operator sees of a running server: the Prometheus figures on `--metrics-addr`, the
//! JSON log format, and the request id in answers and log lines.

mod common;

use std::process::Stdio;

use common::{Home, Served, agent, answer, get, login};

fn serve(home: &Home, args: &[&str]) -> Served {
    let mut all = vec!["serve", "--port", "0"];
    all.extend_from_slice(args);
    let mut cmd = home.command(&all);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    Served::start(cmd)
}

/// A loopback port free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The value of the sample `line_start` (name and labels) in a scrape.
fn sample(scrape: &str, line_start: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
}

#[test]
fn metrics_count_requests_by_route_template_logins_by_outcome_and_connections() {
    let home = Home::new();
    let port = free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = serve(&home, &["--metrics-addr", &metrics_addr]);

    assert_eq!(
        get(&server.url("/api/me"), Some("argilla.apikey")).status,
        200
    );
    let id = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0).to_string();
    let deleted = answer(
        agent()
            .delete(&server.url(&format!("/api/users/{id}")))
            .header("X-Argilla-Api-Key", "argilla.apikey")
            .call(),
    );
    assert_eq!(deleted.status, 404);
    assert_eq!(get(&server.url("/api/nope"), None).status, 404);
    let token = server.url("/api/security/token");
    assert_eq!(login(&token, "argilla", "1234").status, 200);
    // Five failures lock the name (API.md 9.6); the sixth attempt is throttled.
    for _ in 0..5 {
        assert_eq!(login(&token, "argilla", "wrong-password").status, 401);
    }
    assert_eq!(login(&token, "argilla", "wrong-password").status, 429);

    let scraped = answer(
        agent()
            .get(&format!("http://{metrics_addr}/metrics"))
            .call(),
    );
    assert_eq!(scraped.status, 200);
    assert_eq!(
        scraped.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = &scraped.body;
    let count = |labels: &str| sample(text, &format!("workgate_http_requests_total{{{labels}}}"));
    assert_eq!(
        count(r#"method="DELETE",route="/api/users/{user_id}",status="404""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(r#"method="GET",route="/api/me",status="200""#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"method="GET",route="(unmatched)",status="404""#),
        Some(1.0)
    );
    assert!(!text.contains(&id), "no concrete path in a label");
    let logins = |outcome: &str| {
        sample(
            text,
            &format!("workgate_logins_total{{outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(logins("succeeded"), Some(1.0), "{text}");
    assert_eq!(logins("failed"), Some(5.0), "{text}");
    assert_eq!(logins("throttled"), Some(1.0), "{text}");
    assert!(
        sample(text, "workgate_connections_accepted_total").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        sample(text, "workgate_connections_limit").is_some_and(|n| n > 0.0),
        "{text}"
    );
    assert_eq!(sample(text, "workgate_store_errors_total"), Some(0.0));
    assert!(
        text.contains(
            r#"workgate_http_request_duration_seconds_count{method="POST",route="/api/security/token"} 7"#
        ),
        "{text}"
    );

    // The figures are not on the API's port.
    let on_api_port = get(&server.url("/metrics"), None);
    assert!(!on_api_port.body.contains("workgate_http_requests_total"));
}

#[test]
fn metrics_are_off_unless_an_address_is_given() {
    let home = Home::new();
    let server = serve(&home, &[]);
    let (_, stdout, stderr) = server.stop();
    assert!(!stdout.contains("metrics"), "{stdout}");
    assert!(!stderr.contains("serving metrics"), "{stderr}");
}

#[test]
fn json_logs_have_one_object_per_request_with_its_request_id() {
    let home = Home::new();
    let server = serve(&home, &["--log-format", "json"]);
    let answered = answer(
        agent()
            .get(&server.url("/api/me?api_key=query-secret"))
            .header("X-Argilla-Api-Key", "argilla.apikey")
            .header("X-Request-Id", "trace-42")
            .call(),
    );
    assert_eq!(answered.status, 200);
    assert_eq!(answered.header("x-request-id"), Some("trace-42"));
    let (_, _, stderr) = server.stop();
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let requests: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["message"] == "request").collect();
    assert_eq!(requests.len(), 1, "{stderr}");
    let line = requests[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/api/me");
    assert_eq!(line["route"], "/api/me");
    assert_eq!(line["status"], 200);
    assert_eq!(line["request_id"], "trace-42");
    assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    for secret in ["argilla.apikey", "query-secret"] {
        assert!(!stderr.contains(secret), "log leaks {secret}:\n{stderr}");
    }
}

#[test]
fn an_unusable_request_id_is_replaced_by_a_generated_one() {
    let home = Home::new();
    let server = serve(&home, &[]);
    let url = server.url("/api/_info");
    let sent = |id: Option<&str>| {
        let mut request = agent().get(&url);
        if let Some(id) = id {
            request = request.header("X-Request-Id", id);
        }
        let answered = answer(request.call());
        assert_eq!(answered.status, 200);
        answered
            .header("x-request-id")
            .expect("an id is always echoed")
            .to_string()
    };
    let too_long = "a".repeat(129);
    let generated: Vec<String> = [None, Some("two words"), Some(too_long.as_str())]
        .into_iter()
        .map(sent)
        .collect();
    // The process's random prefix and a counter: `3f9c2a71b04e5d86-000000000000002a`.
    for id in &generated {
        let (prefix, counter) = id.split_once('-').unwrap_or_else(|| panic!("{id}"));
        assert_eq!((prefix.len(), counter.len()), (16, 16), "{id}");
        assert!(
            id.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'),
            "{id}"
        );
        assert_eq!(prefix, generated[0].split_once('-').unwrap().0, "{id}");
    }
    assert_ne!(generated[0], generated[1]);
    let longest = "b".repeat(128);
    assert_eq!(sent(Some(&longest)), longest);
    // The web app's answers carry one too, and the text log line names it.
    let (_, _, stderr) = server.stop();
    assert!(
        stderr.contains(&format!("request_id={}", generated[0])),
        "{stderr}"
    );
}
