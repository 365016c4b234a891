//! API.md section 2 (preflights are not 405) and section 9, item 11: CORS as Argilla 1.8
//! configures it, with every origin allowed by default (`ARGILLA_CORS_ORIGINS` unset) and no
//! credentials mode. Every host runs these with its default settings; a configured origin list
//! is checked in core's `engine::cors` tests and on the native server (native/tests/cors.rs).

use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

const ORIGIN: &str = "https://front-end.example";

/// `OPTIONS path` as a browser sends it before a cross-origin `method` with `headers`.
fn preflight(path: &str, method: &str, headers: Option<&str>) -> Answer {
    let mut call = t()
        .request("OPTIONS", path)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", method)
        .off_contract();
    if let Some(headers) = headers {
        call = call.header("Access-Control-Request-Headers", headers);
    }
    call.send()
}

fn list(answer: &Answer, header: &str) -> Vec<String> {
    answer
        .header(header)
        .unwrap_or_default()
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

#[track_caller]
fn assert_no_credentials_mode(answer: &Answer) {
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        None,
        "{}: authentication is by header, never by cookie",
        answer.request
    );
}

#[track_caller]
fn assert_varies_by_origin(answer: &Answer) {
    let vary = list(answer, "vary");
    assert!(
        vary.iter().any(|v| v == "origin" || v == "*"),
        "{}: Vary {vary:?}",
        answer.request
    );
}

// ---- preflights -------------------------------------------------------------------------------

#[test]
fn a_preflight_is_answered_before_authentication() {
    // No credentials: a browser never sends them with a preflight. Not 401, not 405.
    let answer = preflight("/api/me", "GET", Some("x-argilla-api-key"));
    assert_eq!(answer.status, 204, "{}: {}", answer.request, answer.text());
    assert!(answer.body.is_empty(), "{}", answer.text());
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_no_credentials_mode(&answer);
}

#[test]
fn a_preflight_lists_the_methods_the_api_uses() {
    let answer = preflight("/api/users", "POST", Some("content-type"));
    assert_eq!(answer.status, 204, "{}", answer.text());
    let methods = list(&answer, "access-control-allow-methods");
    for method in ["get", "post", "put", "patch", "delete"] {
        assert!(methods.iter().any(|m| m == method), "{methods:?}");
    }
}

#[test]
fn a_preflight_allows_the_credential_workspace_and_request_id_headers() {
    let requested = "X-Argilla-Api-Key, Authorization, Content-Type, X-Argilla-Workspace, \
                     X-Request-Id";
    let answer = preflight("/api/datasets", "POST", Some(requested));
    assert_eq!(answer.status, 204, "{}", answer.text());
    let allowed = list(&answer, "access-control-allow-headers");
    for header in requested.split(", ") {
        assert!(
            allowed.contains(&header.to_ascii_lowercase()),
            "{header} not in {allowed:?}"
        );
    }
    let max_age: u32 = answer
        .header("access-control-max-age")
        .and_then(|v| v.parse().ok())
        .expect("a numeric Access-Control-Max-Age");
    assert!(max_age > 0);
}

#[test]
fn a_preflight_on_any_api_path_is_answered_even_unknown_ones() {
    for path in [
        "/api/users/00000000-0000-4000-8000-000000000000",
        "/api/datasets/some-dataset/TextClassification:bulk",
        "/api/no-such-thing",
    ] {
        let answer = preflight(path, "DELETE", None);
        assert_eq!(answer.status, 204, "{}: {}", answer.request, answer.text());
        assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    }
}

#[test]
fn a_preflight_for_a_header_not_allowed_is_400_naming_it() {
    let answer = preflight("/api/me", "GET", Some("x-argilla-api-key, x-not-allowed"));
    answer.expect_json(400, &errors::bad_request("Disallowed CORS headers"));
}

#[test]
fn a_preflight_for_a_method_not_allowed_is_400_naming_it() {
    let answer = preflight("/api/me", "PROPFIND", None);
    answer.expect_json(400, &errors::bad_request("Disallowed CORS method"));
}

#[test]
fn options_without_a_request_method_is_no_preflight_and_stays_405() {
    t().request("OPTIONS", "/api/me")
        .header("Origin", ORIGIN)
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
}

// ---- actual requests --------------------------------------------------------------------------

#[test]
fn a_cross_origin_answer_carries_allow_origin_and_vary() {
    let answer = t()
        .get("/api/me")
        .key(DEFAULT_ADMIN_KEY)
        .header("Origin", ORIGIN)
        .send();
    answer.expect(200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_varies_by_origin(&answer);
    assert_no_credentials_mode(&answer);
    let exposed = list(&answer, "access-control-expose-headers");
    assert!(exposed.iter().any(|h| h == "retry-after"), "{exposed:?}");
}

#[test]
fn error_answers_are_readable_cross_origin_too() {
    // A front end must be able to read a 401 or a 422 to tell its user why.
    let unauthenticated = t().get("/api/me").header("Origin", ORIGIN).send();
    unauthenticated.expect_json(401, &errors::unauthorized());
    let unknown = t()
        .get("/api/no-such-thing")
        .header("Origin", ORIGIN)
        .off_contract()
        .send();
    unknown.expect_json(404, &errors::route_not_found());
    // Just over the 1 MiB limit, sent whole: every host reads it and answers the 413 (issue 12,
    // item 2), with the CORS headers a front end needs to read it.
    let over_limit = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .header("Origin", ORIGIN)
        .json(&json!({"name": "x".repeat(1 << 20)}))
        .send();
    over_limit.expect(413);
    for answer in [unauthenticated, unknown, over_limit] {
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some("*"),
            "{}",
            answer.request
        );
        assert_varies_by_origin(&answer);
        assert_no_credentials_mode(&answer);
    }
}

#[test]
fn a_same_origin_answer_still_says_it_varies_by_origin() {
    // So that a shared cache never hands it to a cross-origin page.
    let answer = t().get("/api/_info").send();
    answer.expect(200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    assert_varies_by_origin(&answer);
}
