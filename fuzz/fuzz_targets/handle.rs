//! Coverage-guided companion of `core/tests/handler_never_panics.rs`: any sequence of up to four
//! requests — any method, path, query, headers and body, with or without credentials — against
//! a bootstrapped engine on the memory store answers without panicking, never with a 500 (the
//! memory store cannot fail, so a 500 is a bug), with a status HTTP knows, and with a body that
//! parses as JSON under `/api` and whenever the answer says it is JSON.
//!
//! Requests are built from the real endpoint declarations (a path template's `{param}`s filled
//! with the world's ids or with fuzzed text), and JSON bodies from a small structured value
//! whose object keys come mostly from the API's field names, so the fuzzer gets past parsing
//! into validation, access decisions and the stores.

#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use workgate_core::engine::routes;
use workgate_core::{Engine, MemoryStore, Request, Response, Stores};
use workgate_fuzz::common::{ADMIN_KEY, cheap_config};
use workgate_fuzz::{FuzzPlatform, block_on};

/// Field names of the API's bodies and queries, so structured bodies reach past "field required".
const FIELDS: &[&str] = &[
    "name",
    "task",
    "workspace",
    "username",
    "password",
    "first_name",
    "last_name",
    "role",
    "records",
    "text",
    "inputs",
    "tokens",
    "annotation",
    "prediction",
    "predictions",
    "annotations",
    "metadata",
    "tags",
    "id",
    "status",
    "multi_label",
    "agent",
    "labels",
    "label",
    "score",
    "class",
    "entities",
    "start",
    "end",
    "vectors",
    "value",
    "label_schema",
    "target_workspace",
    "user_id",
    "workspace_id",
    "query",
    "ids",
    "sort",
    "fields",
    "limit",
    "skip",
    "from",
    "current_password",
    "new_password",
    "grant_type",
    "event_timestamp",
    "annotated_by",
    "predicted_by",
    "annotated_as",
    "predicted_as",
    "uncovered_by_rules",
];

const ANN_PASSWORD: &str = "ann-password";

/// A JSON value the fuzzer builds directly (bounded by the input's length).
#[derive(Debug, Arbitrary)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// One of the world's names or ids (see [`World::known`]).
    Known(u8),
    Array(Vec<Json>),
    Object(Vec<(Key, Json)>),
}

#[derive(Debug, Arbitrary)]
enum Key {
    Field(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Body {
    None,
    Raw(Vec<u8>),
    Json(Json),
    /// A form body, as the token endpoint takes.
    Form(Vec<(Key, Json)>),
}

#[derive(Debug, Arbitrary)]
enum Credential {
    None,
    AdminKey,
    AnnotatorKey,
    ApiKey(String),
    Bearer(String),
    /// A real token of the annotator, got by logging in first.
    AnnotatorToken,
}

#[derive(Debug, Arbitrary)]
struct Step {
    /// Picks a declared endpoint (when it indexes one), else `method` and `raw_path` as given.
    endpoint: u8,
    method: String,
    raw_path: String,
    /// Each `{param}` of the template in turn: one of the world's values, or fuzzed text.
    params: Vec<Json>,
    /// `None`: no query; `Some(true, q)`: `workspace=argilla&` then `q`.
    query: Option<(bool, String)>,
    credential: Credential,
    headers: Vec<(String, String)>,
    content_type: u8,
    body: Body,
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// 1..=3: a dataset `ds` of that task exists in `argilla` first.
    dataset: u8,
    /// Whether an annotator `ann` (member of `argilla`) exists.
    annotator: bool,
    steps: Vec<Step>,
}

/// The engine and the names and ids requests can refer to.
struct World {
    engine: Engine,
    known: Vec<String>,
    ann_key: String,
}

/// A world as set up, before any step: its store, its platform's state and its names. Setting one
/// up (bootstrap, an annotator, a dataset) costs several requests, so each of the eight kinds is
/// set up once per process and every input starts from a copy.
#[derive(Clone)]
struct Template {
    store: MemoryStore,
    platform: FuzzPlatform,
    known: Vec<String>,
    ann_key: String,
}

thread_local! {
    static TEMPLATES: RefCell<HashMap<(Option<&'static str>, bool), Template>> =
        RefCell::default();
}

impl World {
    fn new(input: &Input) -> World {
        let task = match input.dataset {
            1 => Some("TextClassification"),
            2 => Some("TokenClassification"),
            3 => Some("Text2Text"),
            _ => None,
        };
        let template = TEMPLATES.with_borrow_mut(|templates| {
            templates
                .entry((task, input.annotator))
                .or_insert_with(|| Template::set_up(task, input.annotator))
                .clone()
        });
        World {
            engine: Engine::new(
                template.store.into_stores(),
                template.platform.fork(),
                cheap_config(),
            ),
            known: template.known,
            ann_key: template.ann_key,
        }
    }
    fn known(&self, i: u8) -> &str {
        &self.known[usize::from(i) % self.known.len()]
    }

    fn json(&self, json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(s) => Value::String(s.clone()),
            Json::Known(i) => Value::String(self.known(*i).to_string()),
            Json::Array(items) => Value::Array(items.iter().map(|j| self.json(j)).collect()),
            Json::Object(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(key(k), self.json(v));
                }
                Value::Object(map)
            }
        }
    }

    /// A path parameter's or form field's text.
    fn text(&self, json: &Json) -> String {
        match self.json(json) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    fn request(&self, step: &Step) -> Request {
        let (method, path) = match routes::endpoints().nth(usize::from(step.endpoint)) {
            Some(endpoint) => (endpoint.method.to_string(), self.fill(endpoint.path, step)),
            None => (step.method.clone(), step.raw_path.clone()),
        };
        let query = step.query.as_ref().map(|(workspace, q)| {
            if *workspace {
                format!("workspace=argilla&{q}")
            } else {
                q.clone()
            }
        });
        let mut headers = match &step.credential {
            Credential::None => vec![],
            Credential::AdminKey => vec![("X-Argilla-Api-Key".into(), ADMIN_KEY.into())],
            Credential::AnnotatorKey => vec![("X-Argilla-Api-Key".into(), self.ann_key.clone())],
            Credential::ApiKey(key) => vec![("X-Argilla-Api-Key".into(), key.clone())],
            Credential::Bearer(token) => vec![("Authorization".into(), format!("Bearer {token}"))],
            Credential::AnnotatorToken => vec![(
                "Authorization".into(),
                format!("Bearer {}", self.annotator_token()),
            )],
        };
        match step.content_type % 4 {
            1 => headers.push(("Content-Type".into(), "application/json".into())),
            2 => headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )),
            3 => headers.push(("Content-Type".into(), "text/plain".into())),
            _ => {}
        }
        headers.extend(step.headers.iter().cloned());
        let body = match &step.body {
            Body::None => Vec::new(),
            Body::Raw(bytes) => bytes.clone(),
            Body::Json(json) => serde_json::to_vec(&self.json(json)).expect("JSON"),
            Body::Form(fields) => {
                let mut form = String::new();
                for (k, v) in fields {
                    if !form.is_empty() {
                        form.push('&');
                    }
                    form.push_str(&percent(&key(k)));
                    form.push('=');
                    form.push_str(&percent(&self.text(v)));
                }
                form.into_bytes()
            }
        };
        Request {
            method,
            path,
            query,
            headers,
            body,
        }
    }

    /// A template with each `{param}` replaced, in turn, by the step's values.
    fn fill(&self, template: &str, step: &Step) -> String {
        let mut out = String::new();
        let mut values = step.params.iter();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            match values.next() {
                Some(value) => out.push_str(&self.text(value)),
                None => out.push_str(self.known(0)),
            }
            rest = &rest[close..];
        }
        out.push_str(rest);
        out
    }

    fn annotator_token(&self) -> String {
        let login = Request::new("POST", "/api/security/token")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("username=ann&password={ANN_PASSWORD}"));
        let answer = block_on(self.engine.handle(login));
        answer.json_body()["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl Template {
    fn set_up(task: Option<&'static str>, annotator: bool) -> Template {
        let store = Arc::new(MemoryStore::new());
        let platform = FuzzPlatform::default();
        let engine = Engine::new(
            Stores::all_in(store.clone()).with_datasets(store.clone()),
            platform.clone(),
            cheap_config(),
        );
        let admin = block_on(engine.bootstrap_default_user())
            .expect("bootstrap")
            .expect("an empty store gets the default user");
        let mut known = vec![
            admin.id.to_string(),
            "argilla".to_string(),
            "ds".to_string(),
            "ann".to_string(),
            "TextClassification".to_string(),
            "TokenClassification".to_string(),
            "Text2Text".to_string(),
            ADMIN_KEY.to_string(),
        ];
        let workspace = admin_call(&engine, "GET", "/api/workspaces", None);
        if let Some(id) = workspace.json_body()[0]["id"].as_str() {
            known.push(id.to_string());
        }
        let mut ann_key = String::new();
        if annotator {
            let ann = admin_call(
                &engine,
                "POST",
                "/api/users",
                Some(
                    r#"{"first_name":"Ann","username":"ann","password":"ann-password","role":"annotator","workspaces":["argilla"]}"#,
                ),
            );
            let body = ann.json_body();
            assert_eq!(ann.status, 200, "setup: {body}");
            known.push(body["id"].as_str().unwrap_or_default().to_string());
            ann_key = body["api_key"].as_str().unwrap_or_default().to_string();
        }
        if let Some(task) = task {
            let ds = admin_call(
                &engine,
                "POST",
                "/api/datasets?workspace=argilla",
                Some(&format!(r#"{{"name":"ds","task":"{task}"}}"#)),
            );
            assert_eq!(ds.status, 200, "setup: {:?}", ds.json_body());
        }
        drop(engine);
        Template {
            store: (*store).clone(),
            platform: platform.fork(),
            known,
            ann_key,
        }
    }
}

fn key(key: &Key) -> String {
    match key {
        Key::Field(i) => FIELDS[usize::from(*i) % FIELDS.len()].to_string(),
        Key::Raw(s) => s.clone(),
    }
}

/// `application/x-www-form-urlencoded` escaping of everything but unreserved characters.
fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn admin_call(engine: &Engine, method: &str, target: &str, body: Option<&str>) -> Response {
    let mut request = Request::new(method, target).header("X-Argilla-Api-Key", ADMIN_KEY);
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body);
    }
    block_on(engine.handle(request))
}

/// What every answer must be, whatever was asked.
fn check(request: &Request, response: &Response) {
    assert!(
        (200..600).contains(&response.status),
        "status {}: {request:?} -> {response:?}",
        response.status
    );
    assert_ne!(response.status, 500, "{request:?} -> {response:?}");
    let says_json = response
        .header_value("content-type")
        .is_some_and(|ct| ct.contains("json"));
    let reference_page = request.path.trim_end_matches('/') == "/api/docs"
        && response.header_value("content-type") == Some("text/html; charset=utf-8");
    if response.header_value("content-type") == Some("application/x-ndjson") {
        // A dump (`GET /api/_dump`): JSON lines.
        for line in String::from_utf8_lossy(&response.body).lines() {
            assert!(
                serde_json::from_str::<Value>(line).is_ok(),
                "a dump line is not JSON: {request:?} -> {line:?}"
            );
        }
        return;
    }
    if says_json || (request.path.starts_with("/api") && !reference_page) {
        assert!(
            serde_json::from_slice::<Value>(&response.body).is_ok(),
            "not JSON: {request:?} -> {response:?}"
        );
    }
}

/// The OpenAPI description: one constant answer (checked by core's own tests, every `$ref`
/// resolved) that takes far longer to build than any other answer: the fuzzer spent a fifth of its
/// time there.
const OPENAPI: &str = "/api/docs/spec.json";

fuzz_target!(|input: Input| {
    let world = World::new(&input);
    for step in input.steps.iter().take(4) {
        let request = world.request(step);
        if request.path.trim_end_matches('/') == OPENAPI {
            continue;
        }
        let response = block_on(world.engine.handle(request.clone()));
        check(&request, &response);
    }
});
