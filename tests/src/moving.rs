//! Moving a deployment (README "Moving a deployment"): a populated store, and the API answers
//! that must be the same after its dump is imported elsewhere. Shared by the in-process and
//! Worker test (`tests/tests/moving.rs`) and the native round trip through SQLite and
//! PostgreSQL (`native/tests/moving.rs`), each of which sends requests its own way.

use serde_json::{Value, json};
use workgate_core::{Request, Response};

use crate::datasets::{labels, text_record, text2text_record, token_record, with};

/// How a test reaches a host: one request in, its answer out.
pub type Send<'a> = &'a dyn Fn(Request) -> Response;

/// The callers of a populated store, by their keys.
#[derive(Debug, Clone)]
pub struct Populated {
    /// The default admin's key (`argilla.apikey`) and a second admin's.
    pub admin_keys: Vec<String>,
    /// Annotators' keys (one rotated since creation).
    pub annotator_keys: Vec<String>,
    /// (username, password) pairs that must log in after the move.
    pub logins: Vec<(String, String)>,
}

fn call(send: Send<'_>, method: &str, path: &str, key: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path).header("X-Argilla-Api-Key", key);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    send(req)
}

#[track_caller]
fn ok(send: Send<'_>, method: &str, path: &str, key: &str, body: Option<Value>) -> Value {
    let answer = call(send, method, path, key, body);
    assert_eq!(
        answer.status,
        200,
        "{method} {path}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json_body()
}

/// Fills a store whose default admin (`argilla` / `argilla.apikey`) exists: users of both
/// roles (one deleted, one disabled, one with a rotated key, one with a reset password), team
/// workspaces with members (one removed), datasets of all three tasks with records (some
/// deleted, some discarded, one dataset closed, one with settings), and the audit entries all
/// of that writes.
pub fn populate(send: Send<'_>) -> Populated {
    let admin = "argilla.apikey";
    let user = |username: &str, role: &str| {
        ok(
            send,
            "POST",
            "/api/users",
            admin,
            Some(
                json!({"first_name": "First", "last_name": username, "username": username,
                        "role": role, "password": format!("{username}-password")}),
            ),
        )
    };
    let boss = user("boss", "admin");
    let ann = user("ann", "annotator");
    let bob = user("bob", "annotator");
    let gone = user("gone", "annotator");
    let off = user("off", "annotator");
    let id = |u: &Value| u["id"].as_str().unwrap().to_string();
    let key = |u: &Value| u["api_key"].as_str().unwrap().to_string();

    let team = ok(
        send,
        "POST",
        "/api/workspaces",
        admin,
        Some(json!({"name": "team"})),
    );
    let lab = ok(
        send,
        "POST",
        "/api/workspaces",
        admin,
        Some(json!({"name": "lab"})),
    );
    for (ws, u) in [(&team, &ann), (&team, &bob), (&lab, &bob), (&lab, &gone)] {
        ok(
            send,
            "POST",
            &format!("/api/workspaces/{}/users/{}", id(ws), id(u)),
            admin,
            None,
        );
    }
    ok(
        send,
        "DELETE",
        &format!("/api/workspaces/{}/users/{}", id(&team), id(&bob)),
        admin,
        None,
    );
    ok(
        send,
        "DELETE",
        &format!("/api/users/{}", id(&gone)),
        admin,
        None,
    );
    ok(
        send,
        "PATCH",
        &format!("/api/users/{}", id(&off)),
        admin,
        Some(json!({"disabled": true})),
    );
    let rotated = ok(
        send,
        "POST",
        &format!("/api/users/{}/api-key", id(&ann)),
        admin,
        None,
    );
    ok(
        send,
        "PUT",
        &format!("/api/users/{}/password", id(&bob)),
        admin,
        Some(json!({"password": "bob-new-password"})),
    );

    let bulk = |workspace: &str, name: &str, task: &str, records: Value| {
        let answer = ok(
            send,
            "POST",
            &format!("/api/datasets/{name}/{task}:bulk?workspace={workspace}"),
            admin,
            Some(json!({"tags": {"source": "moving"}, "metadata": {"n": 1}, "records": records})),
        );
        assert_eq!(answer["failed"], 0, "{answer}");
    };
    let texts: Vec<Value> = (1..=12)
        .map(|i| {
            let r = with(
                text_record(json!(i), &format!("review number {i}")),
                json!({"metadata": {"shop": if i % 2 == 0 { "a" } else { "b" }}}),
            );
            if i % 3 == 0 {
                with(r, json!({"annotation": labels("ann", &[("pos", 1.0)])}))
            } else {
                with(
                    r,
                    json!({"prediction": labels("model", &[("neg", 0.7), ("pos", 0.3)])}),
                )
            }
        })
        .collect();
    bulk("team", "reviews", "TextClassification", json!(texts));
    let tokens: Vec<Value> = (1..=6)
        .map(|i| token_record(json!(format!("t-{i}")), &format!("token text {i}")))
        .collect();
    bulk("team", "spans", "TokenClassification", json!(tokens));
    let pairs: Vec<Value> = (1..=5)
        .map(|i| text2text_record(json!(format!("p{i}")), &format!("translate {i}")))
        .collect();
    bulk("argilla", "pairs", "Text2Text", json!(pairs));
    bulk(
        "lab",
        "empty-after",
        "Text2Text",
        json!([text2text_record(json!("only"), "one")]),
    );

    ok(
        send,
        "DELETE",
        "/api/datasets/reviews/data?workspace=team",
        admin,
        Some(json!({"ids": [1, 2]})),
    );
    ok(
        send,
        "DELETE",
        "/api/datasets/reviews/data?workspace=team&mark_as_discarded=true",
        admin,
        Some(json!({"ids": [4]})),
    );
    ok(
        send,
        "DELETE",
        "/api/datasets/empty-after/data?workspace=lab",
        admin,
        None,
    );
    ok(
        send,
        "PATCH",
        "/api/datasets/reviews/TextClassification/settings?workspace=team",
        admin,
        Some(json!({"label_schema": {"labels": ["pos", "neg", "neutral"]}})),
    );
    ok(
        send,
        "PUT",
        "/api/datasets/pairs:close?workspace=argilla",
        admin,
        None,
    );

    Populated {
        admin_keys: vec![admin.to_string(), key(&boss)],
        annotator_keys: vec![rotated["api_key"].as_str().unwrap().to_string(), key(&bob)],
        logins: vec![
            ("boss".into(), "boss-password".into()),
            ("bob".into(), "bob-new-password".into()),
            ("argilla".into(), "1234".into()),
        ],
    }
}

/// The GET (and scan) answers a moved store must give exactly as the original did: every
/// list, every user's and workspace's view, the audit log, datasets and their records, as
/// each caller sees them; then that each login still works. `/api/_status` is left out: it
/// names the store kind, which is what changed.
pub fn answers(send: Send<'_>, who: &Populated) -> Vec<(String, u16, Value)> {
    let mut out: Vec<(String, u16, Value)> = Vec::new();
    let admin = &who.admin_keys[0];
    let mut record = |what: String, r: Response| {
        let body = r.json_body();
        out.push((what, r.status, body.clone()));
        body
    };
    let get = |path: &str, key: &str| call(send, "GET", path, key, None);
    let workspaces = record("workspaces".into(), get("/api/workspaces", admin));
    record("users".into(), get("/api/users", admin));
    // Moving data writes entries of its own (`dump.export`, `dump.import`): the log must be
    // the same besides them; `moving_entries` checks them.
    let mut audit = get("/api/audit?limit=1000", admin);
    if audit.status == 200 {
        let mut body = audit.json_body();
        if let Some(items) = body["items"].as_array_mut() {
            items.retain(|e| !is_moving_action(&e["action"]));
        }
        audit.body = body.to_string().into_bytes();
    }
    record("audit".into(), audit);
    for key in who.admin_keys.iter().chain(&who.annotator_keys) {
        for path in [
            "/api/me",
            "/api/v1/me/workspaces",
            "/api/workspaces",
            "/api/me/credentials",
            "/api/datasets",
        ] {
            record(format!("GET {path} as {}", &key[..6]), get(path, key));
        }
    }
    for ws in workspaces.as_array().cloned().unwrap_or_default() {
        let id = ws["id"].as_str().unwrap_or_default().to_string();
        for path in [
            format!("/api/workspaces/{id}/users"),
            format!("/api/v1/workspaces/{id}"),
        ] {
            record(format!("GET {path}"), get(&path, admin));
        }
    }
    let datasets = record("datasets".into(), get("/api/datasets", admin));
    for d in datasets.as_array().cloned().unwrap_or_default() {
        let (name, ws) = (
            d["name"].as_str().unwrap_or_default(),
            d["workspace"].as_str().unwrap_or_default(),
        );
        let path = format!("/api/datasets/{name}?workspace={ws}");
        record(format!("GET {path}"), get(&path, admin));
        for task in ["TextClassification", "TokenClassification"] {
            let path = format!("/api/datasets/{name}/{task}/settings?workspace={ws}");
            record(format!("GET {path}"), get(&path, admin));
        }
        for key in [admin, &who.annotator_keys[0]] {
            let r = call(
                send,
                "POST",
                &format!("/api/datasets/{name}/records/:search?workspace={ws}&limit=1000"),
                key,
                Some(json!({})),
            );
            record(format!("scan {ws}/{name} as {}", &key[..6]), r);
        }
    }
    for (username, password) in &who.logins {
        let r = send(
            Request::new("POST", "/api/security/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("username={username}&password={password}")),
        );
        out.push((format!("login {username}"), r.status, json!(null)));
    }
    out
}

fn is_moving_action(action: &Value) -> bool {
    action.as_str().is_some_and(|a| a.starts_with("dump."))
}

/// `dump` without the audit lines moving data wrote (`dump.export`, `dump.import`), its end
/// line counting what is left: what must equal the dump that was moved.
pub fn without_moving_entries(dump: &str) -> String {
    let kept: Vec<&str> = dump
        .lines()
        .filter(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or(Value::Null);
            !is_moving_action(&value["audit"]["action"]) && value.get("end").is_none()
        })
        .collect();
    let end = json!({"end": {"entries": kept.len().saturating_sub(1)}});
    kept.iter()
        .map(|l| format!("{l}\n"))
        .chain([format!("{end}\n")])
        .collect()
}

/// The audit lines moving data wrote into `dump`, oldest first: (actor, action, detail).
pub fn moving_entries(dump: &str) -> Vec<(String, String, String)> {
    dump.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|v| v["audit"].clone())
        .filter(|a| is_moving_action(&a["action"]))
        .map(|a| {
            let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (text("actor"), text("action"), text("detail"))
        })
        .collect()
}

/// Fails naming the first answer that differs.
#[track_caller]
pub fn assert_same_answers(before: &[(String, u16, Value)], after: &[(String, u16, Value)]) {
    assert_eq!(before.len(), after.len(), "a different number of answers");
    for ((what, s1, b1), (_, s2, b2)) in before.iter().zip(after) {
        assert_eq!((s1, b1), (s2, b2), "{what} differs after the move");
    }
}

/// A sender to the host at `base_url` over HTTP (for the Worker under workerd).
pub fn over_http(base_url: &str) -> impl Fn(Request) -> Response + use<> {
    let base_url = base_url.trim_end_matches('/').to_string();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .max_redirects(0)
        .build()
        .new_agent();
    move |req: Request| {
        let target = match &req.query {
            Some(q) => format!("{base_url}{}?{q}", req.path),
            None => format!("{base_url}{}", req.path),
        };
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&target);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let sent = if req.body.is_empty() {
            agent.run(builder.body(()).expect("a well-formed request"))
        } else {
            agent.run(
                builder
                    .body(req.body.clone())
                    .expect("a well-formed request"),
            )
        };
        let mut response = sent.unwrap_or_else(|e| panic!("{target}: no HTTP answer: {e}"));
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string().into(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(200 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{target}: unreadable body: {e}"));
        Response {
            status: response.status().as_u16(),
            headers,
            body,
        }
    }
}
