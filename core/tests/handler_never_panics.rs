//! Robustness of the request handler: whatever arrives — any method, path, query, headers or
//! body, authenticated or not, in any order — `Engine::handle` answers without panicking, never
//! with a 500 (the memory store cannot fail, so a 500 is a bug), only with statuses API.md
//! knows, and every response under `/api` is JSON; every 4xx is either Argilla's error
//! envelope with the class that belongs to its status, or FastAPI's bare `Not Found` /
//! `Method Not Allowed`.
//!
//! Each case builds a fresh engine on a memory store with a deterministic platform (a clock
//! that ticks a second per reading, a seeded xorshift for randomness, cheap Argon2), the
//! default admin bootstrapped, an annotator `ann` and a team workspace; then sends one to four
//! generated requests. Generated text refers to that world through placeholders
//! (`{admin_key}`, `{ann}`, `{team}`, ...) that are filled in per case.
//! `PROPTEST_CASES=10000 cargo test -p workgate-core --test handler_never_panics` runs longer.

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use workgate_core::engine::endpoint::Endpoint;
use workgate_core::engine::routes;
use workgate_core::{Engine, MemoryStore, Request, Response};

use common::{ADMIN_KEY, TestPlatform, cheap_config};

// ---------------------------------------------------------------------------------------------
// The world each case runs in

type TestEngine = Engine;

/// The engine and what the placeholders in generated requests stand for.
struct World {
    engine: TestEngine,
    placeholders: Vec<(&'static str, String)>,
}

impl World {
    fn fill(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (name, value) in &self.placeholders {
            if text.contains(name) {
                text = text.replace(name, value);
            }
        }
        text
    }
}

async fn send(engine: &TestEngine, method: &str, target: &str, body: &str) -> Response {
    let req = Request::new(method, target)
        .header("X-Argilla-Api-Key", ADMIN_KEY)
        .header("Content-Type", "application/json")
        .body(body);
    engine.handle(req).await
}

fn field(response: &Response, name: &str) -> String {
    let body = response.json_body();
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("setup: no {name} in {body}"))
        .to_string()
}

async fn world() -> World {
    let engine = Engine::new(MemoryStore::stores(), TestPlatform::new(), cheap_config());
    let admin = engine
        .bootstrap_default_user()
        .await
        .expect("bootstrap")
        .expect("the default user is created in an empty store");
    let ann = send(
        &engine,
        "POST",
        "/api/users",
        r#"{"first_name":"Ann","username":"ann","password":"ann-password"}"#,
    )
    .await;
    assert_eq!(ann.status, 200, "setup: create ann: {:?}", ann.json_body());
    let team = send(&engine, "POST", "/api/workspaces", r#"{"name":"team"}"#).await;
    assert_eq!(
        team.status,
        200,
        "setup: create team: {:?}",
        team.json_body()
    );
    let (ann_id, ann_key, team_id) = (
        field(&ann, "id"),
        field(&ann, "api_key"),
        field(&team, "id"),
    );
    let added = send(
        &engine,
        "POST",
        &format!("/api/workspaces/{team_id}/users/{ann_id}"),
        "",
    )
    .await;
    assert_eq!(added.status, 200, "setup: add ann to team");
    let personal_id = engine
        .stores()
        .directory
        .workspaces()
        .await
        .expect("workspaces")
        .into_iter()
        .find(|w| w.name == "ann")
        .expect("ann's personal workspace")
        .id
        .to_string();
    let token = |username: &str, password: &str| {
        let engine = &engine;
        let body = format!("username={username}&password={password}");
        async move {
            let r = engine
                .handle(
                    Request::new("POST", "/api/security/token")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body),
                )
                .await;
            assert_eq!(r.status, 200, "setup: login: {:?}", r.json_body());
            field(&r, "access_token")
        }
    };
    let admin_token = token("argilla", "1234").await;
    let ann_token = token("ann", "ann-password").await;
    World {
        placeholders: vec![
            ("{admin_key}", ADMIN_KEY.to_string()),
            ("{ann_key}", ann_key),
            ("{admin_token}", admin_token),
            ("{ann_token}", ann_token),
            ("{admin}", admin.id.to_string()),
            ("{ann}", ann_id),
            ("{team}", team_id),
            ("{personal}", personal_id),
        ],
        engine,
    }
}

// ---------------------------------------------------------------------------------------------
// What a request can be

#[derive(Debug, Clone)]
struct Spec {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]).prop_map(String::from),
        1 => prop::sample::select(vec!["HEAD", "OPTIONS", "TRACE", "CONNECT", "get", "Post", ""])
            .prop_map(String::from),
        1 => "[A-Za-z_\\-!@ ]{0,12}",
        1 => "\\PC{0,8}",
    ]
}

/// A value for a `{param}` of a route, or any other path segment.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["{admin}", "{ann}", "{team}", "{personal}"]).prop_map(String::from),
        2 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).simple().to_string()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string().to_uppercase()),
        1 => prop::sample::select(vec![
            "", ".", "..", "%2e%2e", "%2F", "%00", "%", "%zz", "me", "users", "workspaces",
            "api-key", "password", "v1", "_info", "null", "undefined", "-1", "0",
            "00000000-0000-0000-0000-000000000000", "{user_id}", "%7Bann%7D",
        ])
        .prop_map(String::from),
        1 => "[ -~]{0,40}",
        1 => "\\PC{0,20}",
        1 => (1usize..5000).prop_map(|n| "x".repeat(n)),
    ]
}

/// A route's path with its `{param}`s filled with real ids, random ids or garbage, with or
/// without a trailing slash.
fn route_path(template: &'static str) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        4 => prop::sample::select(vec!["{admin}", "{ann}", "{team}", "{personal}"]).prop_map(String::from),
        1 => segment(),
    ];
    (prop::collection::vec(value, 2), prop::bool::weighted(0.1)).prop_map(
        move |(values, trailing_slash)| {
            let mut values = values.into_iter();
            let mut path = template
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        values.next().unwrap_or_default()
                    } else {
                        part.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            if trailing_slash {
                path.push('/');
            }
            path
        },
    )
}

/// Method and path: mostly a real route (usually with its own method), else anything.
fn request_line() -> impl Strategy<Value = (String, String)> {
    let real_segments = vec![
        "api",
        "users",
        "workspaces",
        "me",
        "v1",
        "api-key",
        "password",
        "audit",
        "security",
        "token",
        "_info",
        "_status",
        "docs",
        "spec.json",
        "datasets",
        "records",
        ":search",
        "data",
        "TextClassification:bulk",
        "TokenClassification:bulk",
        "Text2Text:bulk",
        "TextClassification",
        "settings",
        "{admin}:copy",
    ];
    let all: Vec<&'static Endpoint> = routes::endpoints().collect();
    let route = prop::sample::select(all).prop_flat_map(|route| {
        (
            prop_oneof![
                6 => Just(route.method.to_string()),
                1 => method(),
            ],
            route_path(route.path),
        )
    });
    let segments = prop::collection::vec(
        prop_oneof![
            2 => prop::sample::select(real_segments).prop_map(String::from),
            1 => segment(),
        ],
        0..7,
    )
    .prop_map(|segments| format!("/api/{}", segments.join("/")));
    let odd = prop_oneof![
        2 => "\\PC{0,60}",
        2 => "/[ -~]{0,60}",
        1 => (1usize..20_000).prop_map(|n| format!("/api/users/{}", "a".repeat(n))),
        1 => prop::sample::select(vec!["", "/", "/api", "/api/", "//api//users", "/API/me", "/api/me/"])
            .prop_map(String::from),
    ];
    prop_oneof![
        8 => route,
        2 => (method(), segments),
        1 => (method(), odd),
    ]
}

fn query() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        2 => (
            prop::sample::select(vec!["limit", "offset", "LIMIT", "api_key", "x"]),
            prop_oneof![
                prop::sample::select(vec![
                    "0", "1", "5", "1000", "1001", "-1", "abc", "", "1e3", "99999999999999999999",
                    "%31", "+5", " 5",
                ])
                .prop_map(String::from),
                "\\PC{0,10}",
            ],
        )
            .prop_map(|(k, v)| Some(format!("{k}={v}"))),
        1 => Just(Some("limit=2&offset=1".to_string())),
        1 => "[ -~]{0,40}".prop_map(Some),
    ]
}

/// A credential header, a content type or any other header.
fn header() -> impl Strategy<Value = (String, String)> {
    let key_names = prop::sample::select(vec![
        "X-Argilla-Api-Key",
        "x-argilla-api-key",
        "X-ARGILLA-API-KEY",
    ]);
    let keys = prop_oneof![
        6 => Just("{admin_key}".to_string()),
        3 => Just("{ann_key}".to_string()),
        1 => prop::sample::select(vec!["", " ", " {admin_key} ", "argilla.apikey\n", "wg_", "{ann_key}x"])
            .prop_map(String::from),
        1 => "\\PC{0,50}",
    ];
    let bearer = prop_oneof![
        3 => prop::sample::select(vec![
            "Bearer {admin_token}", "bearer {ann_token}", "BEARER  {admin_token} ", "Bearer {admin_key}",
            "Bearer", "Bearer ", "Basic YXJnaWxsYToxMjM0", "Bearer a.b.c", "Bearer ..",
            "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhcmdpbGxhIn0.",
            "Bearer {admin_token}x", "Bearer {ann_token}.{ann_token}",
        ])
        .prop_map(String::from),
        1 => "[A-Za-z0-9_\\-.]{0,80}".prop_map(|t| format!("Bearer {t}")),
        1 => "\\PC{0,60}",
    ];
    let content_types = prop_oneof![
        prop::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
            "application/",
            ";;;",
        ])
        .prop_map(String::from),
        "\\PC{0,30}",
    ];
    prop_oneof![
        2 => (key_names, keys).prop_map(|(n, v)| (n.to_string(), v)),
        3 => bearer.prop_map(|v| ("Authorization".to_string(), v)),
        3 => content_types.prop_map(|v| ("Content-Type".to_string(), v)),
        1 => ("[A-Za-z\\-]{0,20}", "\\PC{0,40}"),
    ]
}

/// The fields any endpoint reads, so that generated objects reach validation.
const FIELDS: &[&str] = &[
    "username",
    "password",
    "first_name",
    "last_name",
    "role",
    "name",
    "disabled",
    "current_password",
    "new_password",
    "grant_type",
    "api_key",
    "workspaces",
];

fn plausible_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "ann", "ann2", "team", "argilla", "new-user", "-bad", "_bad", "UPPER", "a b", "bad\n",
            "", " ", "12345678", "1234", "ann-password", "admin", "annotator", "Admin", "password",
            " Ann ", "null",
        ])
        .prop_map(String::from),
        2 => "[a-z0-9_\\-]{1,12}",
        1 => "\\PC{0,30}",
        1 => (95usize..110).prop_map(|n| "p".repeat(n)),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        plausible_string().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        3 => prop::sample::select(FIELDS).prop_map(String::from),
                        1 => "\\PC{0,10}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An object of real fields with mostly plausible values: what gets past the JSON checks to
/// the field validation, the access checks and the store.
fn plausible_object() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            prop::sample::select(FIELDS),
            prop_oneof![
                6 => plausible_string().prop_map(Value::String),
                1 => json_leaf(),
                1 => json_value(),
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn form_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop_oneof![
                3 => prop::sample::select(FIELDS).prop_map(String::from),
                1 => "\\PC{0,8}",
            ],
            prop_oneof![
                3 => plausible_string(),
                1 => prop::sample::select(vec!["%", "%zz", "%E2%82", "+", "&&", "=="]).prop_map(String::from),
            ],
        ),
        0..5,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        4 => plausible_object().prop_map(|v| v.to_string().into_bytes()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        2 => form_body(),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => "\\PC{0,80}".prop_map(String::into_bytes),
        1 => prop::sample::select(vec![
            "{", "}", "[", "\"", "{\"username\":", "{\"a\":1}{\"b\":2}", "\u{feff}{}", "null",
            "[1,2]", "1e999", "{\"username\":\"\\ud800\"}", "{\"password\":\"1234567\u{0}\"}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => (1usize..50_000).prop_map(|n| format!("{{\"first_name\":\"{}\"}}", "a".repeat(n)).into_bytes()),
        1 => (1usize..2000).prop_map(|n| "[".repeat(n).into_bytes()),
    ]
}

/// The credential a request carries, if any: mostly a valid one, so that requests get past
/// authentication to validation and the access checks.
fn credential() -> impl Strategy<Value = Option<(String, String)>> {
    let key = |placeholder: &str| Some(("X-Argilla-Api-Key".to_string(), placeholder.to_string()));
    let bearer =
        |placeholder: &str| Some(("Authorization".to_string(), format!("Bearer {placeholder}")));
    prop_oneof![
        6 => Just(key("{admin_key}")),
        2 => Just(key("{ann_key}")),
        1 => Just(bearer("{admin_token}")),
        1 => Just(bearer("{ann_token}")),
        1 => Just(None),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        request_line(),
        query(),
        credential(),
        prop::collection::vec(header(), 0..4),
        body(),
    )
        .prop_map(|((method, path), query, credential, others, body)| Spec {
            method,
            path,
            query,
            headers: credential.into_iter().chain(others).collect(),
            body,
        })
}

// ---------------------------------------------------------------------------------------------
// What every answer must be

/// The error classes (after `argilla.api.errors::`) each error status may carry: API.md
/// section 2, plus the dataset API's 400 classes (section 10).
fn classes_for(status: u16) -> Option<&'static [&'static str]> {
    Some(match status {
        400 => &[
            "BadRequestError",
            "MissingInputParamError",
            "WrongTaskError",
            "MetadataLimitExceededError",
        ],
        401 => &["UnauthorizedError"],
        403 => &["ForbiddenOperationError"],
        404 => &["EntityNotFoundError"],
        409 => &["EntityAlreadyExistsError"],
        422 => &["ValidationError"],
        429 => &["TooManyRequestsError"],
        _ => return None,
    })
}

fn check(request: &Request, response: &Response) -> Result<(), String> {
    let status = response.status;
    let allowed = [200, 400, 401, 403, 404, 405, 409, 422, 429];
    if !allowed.contains(&status) {
        return Err(format!("status {status}"));
    }
    if !request.path.starts_with("/api") {
        return Ok(());
    }
    if request.path.trim_end_matches('/') == "/api/docs" && status == 200 {
        // The API reference is the one HTML page under /api.
        return match response.header_value("content-type") {
            Some("text/html; charset=utf-8") => Ok(()),
            other => Err(format!("/api/docs: content-type {other:?}")),
        };
    }
    // A dump (`GET /api/_dump`) is JSON lines: each line JSON.
    if status == 200 && response.header_value("content-type") == Some("application/x-ndjson") {
        for line in String::from_utf8_lossy(&response.body).lines() {
            serde_json::from_str::<Value>(line)
                .map_err(|e| format!("a dump line is not JSON ({e}): {line:?}"))?;
        }
        return Ok(());
    }
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| {
        format!(
            "status {status}: body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&response.body)
        )
    })?;
    if response.header_value("content-type") != Some("application/json") {
        return Err(format!(
            "content-type {:?}",
            response.header_value("content-type")
        ));
    }
    if status < 400 {
        return Ok(());
    }
    match (&body["detail"], status) {
        (Value::String(s), 404) if s == "Not Found" => return Ok(()),
        (Value::String(s), 405) if s == "Method Not Allowed" => {
            return match response.header_value("allow") {
                Some(allow) if !allow.is_empty() => Ok(()),
                _ => Err("405 without an Allow header".into()),
            };
        }
        _ => {}
    }
    let expected = classes_for(status).ok_or_else(|| format!("status {status}: {body}"))?;
    let code = body["detail"]["code"].as_str().unwrap_or_default();
    if !expected
        .iter()
        .any(|class| code == format!("argilla.api.errors::{class}"))
    {
        return Err(format!("status {status} with body {body}"));
    }
    let params = body["detail"]["params"]
        .as_object()
        .ok_or_else(|| format!("params is not an object: {body}"))?;
    if body.as_object().map(Map::len) != Some(1)
        || body["detail"].as_object().map(Map::len) != Some(2)
    {
        return Err(format!("extra members in the envelope: {body}"));
    }
    match status {
        401 if response.header_value("www-authenticate") != Some("Bearer") => {
            Err("401 without WWW-Authenticate: Bearer".into())
        }
        422 => {
            let errors = params["errors"]
                .as_array()
                .filter(|e| !e.is_empty())
                .ok_or_else(|| format!("422 without errors: {body}"))?;
            // A bulk into a new dataset whose name breaks the rule: Argilla's own model.
            let create = params["model"] == "CreateDatasetRequest";
            if params["model"] != "Request" && !create {
                return Err(format!("422 model: {body}"));
            }
            for e in errors {
                let loc_ok = e["loc"].as_array().is_some_and(|loc| {
                    let first = loc.first().and_then(Value::as_str);
                    matches!(first, Some("body" | "path" | "query"))
                        || (create && first == Some("name"))
                });
                if !loc_ok || !e["msg"].is_string() || !e["type"].is_string() {
                    return Err(format!("422 item {e} in {body}"));
                }
            }
            Ok(())
        }
        429 => {
            let header: Option<i64> = response
                .header_value("retry-after")
                .and_then(|v| v.parse().ok());
            match (header, params["retry_after"].as_i64()) {
                (Some(h), Some(p)) if h >= 1 && h == p => Ok(()),
                _ => Err(format!("429 retry-after: {header:?}, {body}")),
            }
        }
        _ => Ok(()),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime")
}

fn config() -> ProptestConfig {
    // PROPTEST_CASES, when set, wins; otherwise enough for a quick but useful run.
    if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default()
    } else {
        ProptestConfig::with_cases(400)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn handler_answers_every_request_within_the_contract(specs in prop::collection::vec(spec(), 1..5)) {
        let rt = runtime();
        rt.block_on(async {
            let world = world().await;
            for spec in &specs {
                let request = Request {
                    method: world.fill(&spec.method),
                    path: world.fill(&spec.path),
                    query: spec.query.as_deref().map(|q| world.fill(q)),
                    headers: spec
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), world.fill(v)))
                        .collect(),
                    body: match std::str::from_utf8(&spec.body) {
                        Ok(text) => world.fill(text).into_bytes(),
                        Err(_) => spec.body.clone(),
                    },
                };
                let response = world.engine.handle(request.clone()).await;
                if let Err(problem) = check(&request, &response) {
                    return Err(TestCaseError::fail(format!(
                        "{problem}\nrequest: {} {} ?{:?} headers {:?} body {:?}\nresponse: {} {:?} {}",
                        request.method,
                        request.path,
                        request.query,
                        request.headers,
                        String::from_utf8_lossy(&request.body),
                        response.status,
                        response.headers,
                        String::from_utf8_lossy(&response.body),
                    )));
                }
            }
            Ok(())
        })?;
    }
}

/// The requests that reach deepest, spelled out, so that they run on every `cargo test` even if
/// the generator's odds change: each endpoint, with the admin key and a valid body.
#[test]
fn every_endpoint_answers_an_admin_within_the_contract() {
    runtime().block_on(async {
        let world = world().await;
        for route in routes::endpoints() {
            let path = route
                .path
                .replace("{user_id}", "{ann}")
                .replace("{workspace_id}", "{team}");
            for body in [
                json!({}),
                json!({"first_name": "Bo", "username": "bo", "password": "bo-password", "role": "admin"}),
                json!({"name": "second-team"}),
                json!({"current_password": "1234", "new_password": "new-password"}),
                json!({"password": "reset-password"}),
                json!({"first_name": "Annie", "role": "annotator", "disabled": false}),
            ] {
                let request = Request {
                    method: route.method.to_string(),
                    path: world.fill(&path),
                    query: None,
                    headers: vec![("X-Argilla-Api-Key".into(), ADMIN_KEY.into())],
                    body: body.to_string().into_bytes(),
                };
                let response = world.engine.handle(request.clone()).await;
                if let Err(problem) = check(&request, &response) {
                    panic!(
                        "{} {}: {problem}: {}",
                        request.method,
                        request.path,
                        String::from_utf8_lossy(&response.body)
                    );
                }
            }
        }
    });
}
