//! The service describes itself: `/api/_info`, `/api/_status` and the OpenAPI 3 description at
//! `/api/docs/spec.json`, which must describe every endpoint this suite speaks to.

use workgate_conformance::endpoints::ENDPOINTS;
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

#[test]
fn info_reports_the_argilla_api_level_and_the_workgate_version_without_authentication() {
    // API.md section 5: `{"version": "1.8.0", "workgate": "<workgate version>"}`.
    let answer = t().get("/api/_info").send();
    let body = answer.expect(200);
    assert_eq!(body["version"], "1.8.0", "{body}");
    assert!(
        body["workgate"].as_str().is_some_and(|v| !v.is_empty()),
        "{body}"
    );
    assert_eq!(answer.key_order(), ["version", "workgate"], "{body}");
}

#[test]
fn status_reports_the_version_and_the_store_without_authentication() {
    let answer = t().get("/api/_status").send();
    let body = answer.expect(200);
    let info = t().get("/api/_info").send();
    assert_eq!(body["version"], info.expect(200)["version"]);
    let kind = body["storage"]["kind"].as_str().unwrap_or_default();
    assert!(
        ["memory", "sqlite", "postgresql", "kv"].contains(&kind),
        "{body}"
    );
    assert_eq!(body["storage"]["ok"], true, "{body}");
    if !t().is_http() {
        assert_eq!(kind, "memory");
    }
}

#[test]
fn the_api_reference_is_a_page_of_this_origin_under_the_strict_policy() {
    // README "Operating workgate": Swagger UI, vendored, over this description; no credentials.
    let answer = t().get("/api/docs").send();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = answer.header("content-security-policy").unwrap_or_default();
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{directive:?} missing from {csp:?}"
        );
    }
    let page = answer.text();
    for file in [
        "/vendor/swagger-ui/swagger-ui-bundle.js",
        "/vendor/swagger-ui/swagger-ui.css",
        "/js/api-docs.js",
    ] {
        assert!(
            page.contains(&format!("\"{file}\"")),
            "{file} not loaded: {page}"
        );
    }
    assert!(!page.contains("<script>"), "inline script: {page}");
    assert!(!page.contains("style="), "inline style: {page}");
    assert!(!page.contains("//"), "another origin named: {page}");
}

fn spec() -> Value {
    let answer = t().get("/api/docs/spec.json").key(DEFAULT_ADMIN_KEY).send();
    answer.expect(200).clone()
}

#[test]
fn the_description_is_openapi_3_json() {
    let spec = spec();
    let version = spec["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi = {version:?}");
    assert!(spec["info"]["title"].is_string(), "info.title");
    assert!(spec["paths"].is_object(), "paths");
}

#[test]
fn the_description_lists_every_endpoint_of_the_suite() {
    let spec = spec();
    let missing: Vec<String> = ENDPOINTS
        .iter()
        .filter(|e| {
            spec["paths"][e.path][e.method.to_ascii_lowercase()]
                .as_object()
                .is_none()
        })
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(missing.is_empty(), "not described: {missing:#?}");
}

#[test]
fn the_description_names_the_path_parameters() {
    let spec = spec();
    for endpoint in ENDPOINTS.iter().filter(|e| e.path.contains('{')) {
        let operation = &spec["paths"][endpoint.path][endpoint.method.to_ascii_lowercase()];
        let mut declared: Vec<&str> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                spec["paths"][endpoint.path]["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten(),
            )
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        declared.sort_unstable();
        // A placeholder may share its segment with literal text (`{name}:copy`).
        let mut wanted: Vec<&str> = endpoint
            .path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        wanted.sort_unstable();
        assert_eq!(declared, wanted, "{} {}", endpoint.method, endpoint.path);
    }
}
