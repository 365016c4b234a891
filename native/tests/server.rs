//! `workgate serve`: start-up (listening line, migrations, default user and its warning), the
//! HTTP adapter (routing to the engine, headers, body limit, the log line), and graceful
//! shutdown.

mod common;

use std::time::Duration;

use common::{Home, agent, answer, get, login, post_json};

#[test]
fn serve_prints_one_line_bootstraps_the_default_user_and_warns() {
    let home = Home::new();
    let server = home.serve();
    let info = get(&server.url("/api/_info"), None);
    assert_eq!(info.status, 200);
    assert!(info.json()["version"].is_string());
    let status = get(&server.url("/api/_status"), None).json();
    assert_eq!(status["storage"]["kind"], "sqlite");
    assert_eq!(status["storage"]["ok"], true);

    let me = get(&server.url("/api/me"), Some("argilla.apikey"));
    assert_eq!(me.status, 200);
    assert_eq!(me.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(me.json()["username"], "argilla");
    assert_eq!(me.json()["workspaces"], serde_json::json!(["argilla"]));

    let (code, rest_of_stdout, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(rest_of_stdout, "", "stdout has only the listening line");
    assert!(
        stderr.contains("with default credentials has been found in the database"),
        "{stderr}"
    );
    assert!(home.db().exists());
}

#[test]
fn the_default_user_can_be_disabled_or_given_other_credentials() {
    let home = Home::new();
    let server = home.serve_with(&[("WORKGATE_DEFAULT_USER_ENABLED", "false")]);
    assert_eq!(
        get(&server.url("/api/me"), Some("argilla.apikey")).status,
        401
    );
    let (_, _, stderr) = server.stop();
    assert!(!stderr.contains("default credentials"), "{stderr}");

    let home = Home::new();
    let server = home.serve_with(&[
        ("WORKGATE_DEFAULT_USER_PASSWORD", "a-better-password"),
        ("WORKGATE_DEFAULT_USER_API_KEY", "a.better.key"),
    ]);
    assert_eq!(
        get(&server.url("/api/me"), Some("a.better.key")).status,
        200
    );
    assert_eq!(
        login(
            &server.url("/api/security/token"),
            "argilla",
            "a-better-password"
        )
        .status,
        200
    );
    let (_, _, stderr) = server.stop();
    assert!(!stderr.contains("default credentials"), "{stderr}");
}

#[test]
fn one_log_line_per_request_without_secrets() {
    let home = Home::new();
    let server = home.serve();
    assert_eq!(
        get(
            &server.url("/api/me?api_key=query-secret"),
            Some("argilla.apikey")
        )
        .status,
        200
    );
    let token = login(&server.url("/api/security/token"), "argilla", "1234").json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = answer(
        agent()
            .get(&server.url("/api/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .call(),
    );
    assert_eq!(bearer.status, 200);
    let (_, _, stderr) = server.stop();
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" /api/")).collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(lines[0].contains("GET /api/me 200 "), "{}", lines[0]);
    assert!(
        lines[1].contains("POST /api/security/token 200 "),
        "{}",
        lines[1]
    );
    assert!(
        lines[0].contains("ms request_id="),
        "latency, then the request id: {}",
        lines[0]
    );
    for secret in ["argilla.apikey", "query-secret", "1234", token.as_str()] {
        assert!(!stderr.contains(secret), "log leaks {secret}:\n{stderr}");
    }
}

#[test]
fn api_paths_go_to_the_engine() {
    let home = Home::new();
    let server = home.serve();
    let unknown = get(&server.url("/api/nope"), Some("argilla.apikey"));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json(), serde_json::json!({"detail": "Not Found"}));
    let wrong_method = answer(agent().delete(&server.url("/api/me")).call());
    assert_eq!(wrong_method.status, 405);
    let created = post_json(
        &server.url("/api/workspaces"),
        "argilla.apikey",
        &serde_json::json!({"name": "team"}),
    );
    assert_eq!(created.status, 200, "{created:?}");
    assert_eq!(created.json()["name"], "team");
    let no_auth = get(&server.url("/api/me"), None);
    assert_eq!(no_auth.status, 401);
}

#[test]
fn bodies_over_one_mebibyte_are_refused() {
    // A declared length over the limit is refused before the body is read. Sent by hand, so the
    // client is not still writing a body when the answer (and the close) comes.
    use std::io::{Read, Write};
    let home = Home::new();
    let server = home.serve();
    let url = server.url("/api/workspaces");
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host:port")
        .to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "POST /api/workspaces HTTP/1.1\r\nHost: {addr}\r\nX-Argilla-Api-Key: argilla.apikey\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        1024 * 1024 + 10
    );
    stream.write_all(request.as_bytes()).expect("send headers");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("argilla.api.errors::BadRequestError"),
        "{answer}"
    );
}

#[test]
fn the_web_app_has_strict_headers() {
    let home = Home::new();
    let server = home.serve();
    let root = get(&server.url("/"), None);
    assert_eq!(root.header("x-content-type-options"), Some("nosniff"));
    let www_index = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/index.html");
    if www_index.exists() {
        assert_eq!(root.status, 200);
        assert_eq!(
            root.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            root.header("content-security-policy"),
            Some(workgate::web_app::CONTENT_SECURITY_POLICY)
        );
    } else {
        assert_eq!(root.status, 404);
    }
    let post = answer(agent().post(&server.url("/")).send(""));
    assert_eq!(post.status, 405);
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let home = Home::new();
    // An expensive hash makes a login take long enough to be in flight at SIGTERM.
    let server = home.serve_with(&[("WORKGATE_PASSWORD_COST", "m=65536,t=4,p=1")]);
    let url = server.url("/api/security/token");
    let in_flight = std::thread::spawn(move || login(&url, "argilla", "1234").status);
    std::thread::sleep(Duration::from_millis(60));
    server.signal(libc::SIGTERM);
    assert_eq!(in_flight.join().unwrap(), 200);
    let (code, _, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("shutting down"), "{stderr}");
}

#[test]
fn two_servers_cannot_share_a_port_but_can_share_a_database() {
    let home = Home::new();
    let a = home.serve();
    let b = home.serve();
    let created = post_json(
        &a.url("/api/workspaces"),
        "argilla.apikey",
        &serde_json::json!({"name": "shared-ws"}),
    );
    assert_eq!(created.status, 200);
    let listed = get(&b.url("/api/workspaces"), Some("argilla.apikey")).json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["argilla", "shared-ws"]);
}
