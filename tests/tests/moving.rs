//! Moving a deployment over the API (`GET` / `POST /api/_dump`), the way to and from the
//! Worker: a store filled through the API is dumped, the dump is posted into an empty store
//! with the configured default key (the default user switched off), and the new store gives
//! every answer the old one gave, and the same dump back. It goes in in steps of at most 40
//! writes (`max_writes`, then `merge`), as a large store goes into a Worker. Moving data is
//! audited: the dump back holds the moved one plus a `dump.import` entry per accepted `POST`,
//! and each `GET` writes a `dump.export` entry after it read the store.
//!
//! In-process (memory store to memory store) by default. With `WORKGATE_MOVING_BASE_URL` and
//! `WORKGATE_MOVING_KEY`, the target is that host instead — `cargo xtask test` starts a fresh
//! Worker under workerd with `WORKGATE_DEFAULT_USER_ENABLED=false` and that key.

use std::sync::Arc;

use serde_json::Value;
use workgate_conformance::moving::{
    Send, answers, assert_same_answers, moving_entries, over_http, populate, without_moving_entries,
};
use workgate_core::credentials::PasswordCost;
use workgate_core::{
    Config, DefaultUserConfig, Engine, MemoryStore, Platform, Request, Response, Timestamp,
};

struct Clock;

impl Platform for Clock {
    fn now(&self) -> Timestamp {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros();
        Timestamp::from_micros(micros as i64)
    }
    fn fill_random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn engine(default_user: DefaultUserConfig) -> Arc<Engine> {
    let config = Config {
        password_cost: PasswordCost::parse("m=64,t=1,p=1").unwrap(),
        default_user,
        ..Config::default()
    };
    Arc::new(Engine::new(MemoryStore::stores(), Clock, config))
}

fn in_process<'a>(
    rt: &'a tokio::runtime::Runtime,
    e: &'a Engine,
) -> impl Fn(Request) -> Response + 'a {
    move |req| rt.block_on(e.handle(req))
}

fn dump_of(send: Send<'_>, key: &str) -> String {
    let r = send(Request::new("GET", "/api/_dump").header("X-Argilla-Api-Key", key));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header_value("content-type"), Some("application/x-ndjson"));
    String::from_utf8(r.body).unwrap()
}

fn post(send: Send<'_>, query: &str, key: &str, body: &str) -> (u16, Value) {
    let r = send(
        Request::new("POST", &format!("/api/_dump{query}"))
            .header("X-Argilla-Api-Key", key)
            .body(body.to_string()),
    );
    (r.status, r.json_body())
}

/// The audit log's entries of `action`, newest first: (actor, detail).
fn entries_of(send: Send<'_>, key: &str, action: &str) -> Vec<(String, String)> {
    let r = send(Request::new("GET", "/api/audit?limit=1000").header("X-Argilla-Api-Key", key));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json_body();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action)
        .map(|e| {
            assert_eq!(e["target_type"], "Instance", "{e}");
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (text("actor"), text("detail"))
        })
        .collect()
}

/// A small store (the default admin and one annotator, each with a personal workspace) and
/// its dump.
fn small_store(rt: &tokio::runtime::Runtime) -> (Arc<Engine>, String) {
    let source = engine(DefaultUserConfig::default());
    rt.block_on(source.bootstrap_default_user()).unwrap();
    let send = in_process(rt, &source);
    let r = send(
        Request::new("POST", "/api/users")
            .header("X-Argilla-Api-Key", "argilla.apikey")
            .header("content-type", "application/json")
            .body(r#"{"first_name":"Ann","username":"ann","password":"ann-password"}"#),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let dump = dump_of(&send, "argilla.apikey");
    drop(send);
    (source, dump)
}

#[test]
fn an_export_writes_one_dump_export_entry_by_the_caller_after_reading_the_store() {
    let rt = runtime();
    let (source, dump) = small_store(&rt);
    let send = in_process(&rt, &source);
    let exports = entries_of(&send, "argilla.apikey", "dump.export");
    assert_eq!(
        exports,
        vec![(
            "argilla".to_string(),
            "users=2 workspaces=2 memberships=2 audit=2 datasets=0 records=0".to_string()
        )]
    );
    assert!(
        moving_entries(&dump).is_empty(),
        "the export's entry is not in the dump it records"
    );
    // The next dump holds it.
    let next = dump_of(&send, "argilla.apikey");
    assert_eq!(moving_entries(&next).len(), 1);
    assert_eq!(moving_entries(&next)[0].1, "dump.export");
    assert_eq!(without_moving_entries(&next), dump);
}

#[test]
fn an_import_writes_one_dump_import_entry_after_its_rows() {
    let rt = runtime();
    let (_, dump) = small_store(&rt);
    // Into an empty store (nobody to authenticate: the default key, default user off).
    let fresh = engine(DefaultUserConfig {
        enabled: false,
        api_key: "wg_moving_in_test_only".into(),
        ..DefaultUserConfig::default()
    });
    let fresh_send = in_process(&rt, &fresh);
    let (status, body) = post(&fresh_send, "", "wg_moving_in_test_only", &dump);
    assert_eq!(status, 200, "{body}");
    let imports = entries_of(&fresh_send, "argilla.apikey", "dump.import");
    assert_eq!(
        imports,
        vec![(
            "system".to_string(),
            "mode=empty; written users=2 workspaces=2 memberships=2 audit=2 datasets=0 \
             records=0; skipped users=0 workspaces=0 memberships=0 audit=0 datasets=0 records=0"
                .to_string()
        )]
    );
    // It is the store's latest entry.
    let r = fresh_send(
        Request::new("GET", "/api/audit?limit=1").header("X-Argilla-Api-Key", "argilla.apikey"),
    );
    assert_eq!(r.json_body()["items"][0]["action"], "dump.import");

    // Merged again by one of the dump's admins: the caller is the actor, and it writes an
    // entry although everything was there.
    let (status, body) = post(&fresh_send, "?merge=true", "argilla.apikey", &dump);
    assert_eq!(status, 200, "{body}");
    let imports = entries_of(&fresh_send, "argilla.apikey", "dump.import");
    assert_eq!(imports.len(), 2, "{imports:?}");
    assert_eq!(imports[0].0, "argilla");
    assert!(
        imports[0].1.starts_with("mode=merge; written users=0 "),
        "{imports:?}"
    );
}

#[test]
fn a_refused_import_writes_no_audit_entry() {
    let rt = runtime();
    let (source, dump) = small_store(&rt);
    let send = in_process(&rt, &source);
    let before = entries_of(&send, "argilla.apikey", "dump.import");
    // The source is not empty, and no merge was asked for.
    let (status, body) = post(&send, "", "argilla.apikey", &dump);
    assert_eq!(status, 400, "{body}");
    // A bad dump.
    let (status, _) = post(&send, "?merge=true", "argilla.apikey", "{}");
    assert_eq!(status, 400);
    // A conflicting merge.
    let changed = dump.replacen("\"first_name\":\"Ann\"", "\"first_name\":\"Other\"", 1);
    let (status, body) = post(&send, "?merge=true", "argilla.apikey", &changed);
    assert_eq!(status, 400, "{body}");
    assert!(before.is_empty());
    assert!(entries_of(&send, "argilla.apikey", "dump.import").is_empty());
}

#[test]
fn a_dump_posted_into_an_empty_store_gives_every_answer_and_the_dump_back() {
    let rt = runtime();
    let source = engine(DefaultUserConfig::default());
    rt.block_on(source.bootstrap_default_user()).unwrap();
    let from = in_process(&rt, &source);
    let who = populate(&from);
    let before = answers(&from, &who);
    let dump = dump_of(&from, "argilla.apikey");
    assert!(moving_entries(&dump).is_empty(), "nothing moved it before");
    let exports = entries_of(&from, "argilla.apikey", "dump.export");
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert_eq!(exports[0].0, "argilla");
    assert!(
        exports[0].1.starts_with("users=5 workspaces="),
        "{exports:?}"
    );

    // The target: the host named by the environment, else a memory store of our own.
    let local = engine(DefaultUserConfig {
        enabled: false,
        api_key: "wg_moving_in_test_only".into(),
        ..DefaultUserConfig::default()
    });
    let local_send = in_process(&rt, &local);
    let http_send;
    let (to, key): (Send<'_>, String) = match (
        std::env::var("WORKGATE_MOVING_BASE_URL").ok(),
        std::env::var("WORKGATE_MOVING_KEY").ok(),
    ) {
        (Some(url), Some(key)) => {
            http_send = over_http(&url);
            (&http_send, key)
        }
        _ => (&local_send, "wg_moving_in_test_only".to_string()),
    };

    // Nobody is there yet: the configured key may only import, a bad dump changes nothing.
    let r = to(Request::new("GET", "/api/me").header("X-Argilla-Api-Key", &key));
    assert_eq!(r.status, 401);
    assert_eq!(post(to, "", "not-the-key", &dump).0, 401);
    let cut = dump.lines().take(5).collect::<Vec<_>>().join("\n");
    let (status, body) = post(to, "", &key, &cut);
    assert_eq!(status, 400, "{body}");
    let message = body["detail"]["params"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("line 5: the dump ends without its end line"),
        "{message}"
    );

    // In steps of at most 40 writes (what keeps a Worker request within Cloudflare's
    // subrequest limits): into the empty store with the key, then the same dump merged by one
    // of its admins until complete.
    let (status, mut body) = post(to, "?max_writes=40", &key, &dump);
    assert_eq!(status, 200, "{body}");
    let (mut users, mut records, mut steps) = (0, 0, 0);
    loop {
        users += body["written"]["users"].as_u64().unwrap();
        records += body["written"]["records"].as_u64().unwrap();
        steps += 1;
        if body["complete"] == true {
            break;
        }
        assert!(steps < 20, "{body}");
        let (status, next) = post(to, "?merge=true&max_writes=40", "argilla.apikey", &dump);
        assert_eq!(status, 200, "{next}");
        body = next;
    }
    assert!(steps >= 2, "the store takes more than 40 writes");
    assert_eq!((users, records), (5, 21));

    // The key opened an empty store once; now the dump's admins are there.
    assert_eq!(post(to, "", &key, &dump).0, 401);
    let (status, body) = post(to, "", "argilla.apikey", &dump);
    assert_eq!(status, 400, "{body}");
    let message = body["detail"]["params"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.starts_with("the target is not empty"), "{message}");
    let (status, body) = post(to, "?merge=true", "argilla.apikey", &dump);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["written"]["users"], 0, "{body}");
    assert_eq!(body["skipped"]["records"], 21, "{body}");
    assert_eq!(body["complete"], true, "{body}");

    assert_same_answers(&before, &answers(to, &who));
    let back = dump_of(to, "argilla.apikey");
    assert_eq!(
        without_moving_entries(&back),
        dump,
        "the dump back from the target, besides its import entries"
    );
    // One `dump.import` per accepted POST (the steps and the last merge), none for a refused
    // one; the first by the default key (`system`), the merges by the admin who posted them.
    let entries = moving_entries(&back);
    assert_eq!(entries.len(), steps + 1, "{entries:?}");
    assert!(entries.iter().all(|(_, action, _)| action == "dump.import"));
    assert_eq!(entries[0].0, "system");
    assert!(
        entries[0].2.starts_with("mode=empty; written ")
            && entries[0].2.ends_with("; complete=false"),
        "{entries:?}"
    );
    for (actor, _, detail) in &entries[1..] {
        assert_eq!(actor, "argilla");
        assert!(detail.starts_with("mode=merge; written "), "{detail}");
    }
    assert!(
        entries[steps].2.starts_with(
            "mode=merge; written users=0 workspaces=0 memberships=0 audit=0 datasets=0 records=0; \
             skipped users=5 "
        ),
        "{entries:?}"
    );
    let exports = entries_of(to, "argilla.apikey", "dump.export");
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert_eq!(exports[0].0, "argilla");
}
