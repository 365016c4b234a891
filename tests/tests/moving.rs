//! Moving a deployment over the API (`GET` / `POST /api/_dump`), the way to and from the
//! Worker: a store filled through the API is dumped, the dump is posted into an empty store
//! with the configured default key (the default user switched off), and the new store gives
//! every answer the old one gave, and the same dump back. It goes in in steps of at most 40
//! writes (`max_writes`, then `merge`), as a large store goes into a Worker.
//!
//! In-process (memory store to memory store) by default. With `WORKGATE_MOVING_BASE_URL` and
//! `WORKGATE_MOVING_KEY`, the target is that host instead — `cargo xtask test` starts a fresh
//! Worker under workerd with `WORKGATE_DEFAULT_USER_ENABLED=false` and that key.

use std::sync::Arc;

use serde_json::Value;
use workgate_conformance::moving::{Send, answers, assert_same_answers, over_http, populate};
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

#[test]
fn a_dump_posted_into_an_empty_store_gives_every_answer_and_the_dump_back() {
    let rt = runtime();
    let source = engine(DefaultUserConfig::default());
    rt.block_on(source.bootstrap_default_user()).unwrap();
    let from = in_process(&rt, &source);
    let who = populate(&from);
    let before = answers(&from, &who);
    let dump = dump_of(&from, "argilla.apikey");

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
    assert_eq!(
        dump_of(to, "argilla.apikey"),
        dump,
        "the dump back from the target"
    );
}
