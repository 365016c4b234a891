//! How long workgate takes to decide: one permission decision (`access::can`), and one whole
//! API-key `GET /api/me` through `Engine::handle` on the memory store, in process.
//!
//! `cargo bench -p workgate-core -- --warm-up-time 1 --measurement-time 3`
//!
//! Goals: a decision well under 100 ns (the browser package makes many per page); a request in
//! the low microseconds, so that host overhead (HTTP, the store's I/O) is what users feel.
//!
//! The memory store never waits, so each engine future is driven to completion by polling it
//! with a no-op waker, which adds next to nothing; no runtime is needed.

#[path = "../tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use workgate_core::{Action, Engine, MemoryStore, Request, Resource, Role, Subject, can};

use common::{ADMIN_KEY, TestPlatform, cheap_config};

/// Runs a future that never waits (everything on the memory store) to completion.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
    panic!("the future kept waiting; the benchmark needs one that never does")
}

fn decisions(c: &mut Criterion) {
    let workspaces = ["ann", "team-a", "team-b", "team-c", "team-d"].map(String::from);
    let annotator = Subject::new("ann", Role::Annotator, workspaces);
    let admin = Subject::new("root", Role::Admin, ["root".to_string()]);

    let mut group = c.benchmark_group("access::can");
    group.bench_function("annotator ReadWorkspace, member of 5", |b| {
        b.iter(|| {
            can(
                black_box(&annotator),
                black_box(Action::ReadWorkspace),
                black_box(&Resource::Workspace("team-c")),
            )
        })
    });
    group.bench_function("annotator ReadWorkspace, not a member", |b| {
        b.iter(|| {
            can(
                black_box(&annotator),
                black_box(Action::ReadWorkspace),
                black_box(&Resource::Workspace("team-x")),
            )
        })
    });
    group.bench_function("admin DeleteWorkspace", |b| {
        b.iter(|| {
            can(
                black_box(&admin),
                black_box(Action::DeleteWorkspace),
                black_box(&Resource::Workspace("team-c")),
            )
        })
    });
    group.finish();
}

fn admin_request(method: &str, target: &str, body: &str) -> Request {
    Request::new(method, target)
        .header("X-Argilla-Api-Key", ADMIN_KEY)
        .header("Content-Type", "application/json")
        .body(body)
}

/// An engine with the default admin, five team workspaces and an annotator `ann` in all of
/// them; returns ann's API key too.
fn engine_with_users() -> (Engine, String) {
    let engine = Engine::new(MemoryStore::stores(), TestPlatform::new(), cheap_config());
    block_on(engine.bootstrap_default_user())
        .expect("bootstrap")
        .expect("the default user");
    let ann = block_on(engine.handle(admin_request(
        "POST",
        "/api/users",
        r#"{"first_name":"Ann","username":"ann","password":"ann-password"}"#,
    )));
    assert_eq!(ann.status, 200, "create ann");
    let ann = ann.json_body();
    let (ann_id, ann_key) = (
        ann["id"].as_str().expect("id").to_string(),
        ann["api_key"].as_str().expect("api_key").to_string(),
    );
    for name in ["team-a", "team-b", "team-c", "team-d", "team-e"] {
        let ws = block_on(engine.handle(admin_request(
            "POST",
            "/api/workspaces",
            &format!(r#"{{"name":"{name}"}}"#),
        )));
        assert_eq!(ws.status, 200, "create {name}");
        let ws_id = ws.json_body()["id"].as_str().expect("id").to_string();
        let added = block_on(engine.handle(admin_request(
            "POST",
            &format!("/api/workspaces/{ws_id}/users/{ann_id}"),
            "",
        )));
        assert_eq!(added.status, 200, "add ann to {name}");
    }
    (engine, ann_key)
}

fn requests(c: &mut Criterion) {
    let (engine, ann_key) = engine_with_users();
    let admin_me = Request::new("GET", "/api/me").header("X-Argilla-Api-Key", ADMIN_KEY);
    let ann_me = Request::new("GET", "/api/me").header("X-Argilla-Api-Key", &ann_key);
    for request in [&admin_me, &ann_me] {
        let response = block_on(engine.handle(request.clone()));
        assert_eq!(response.status, 200, "{:?}", response.json_body());
    }

    let mut group = c.benchmark_group("Engine::handle");
    group.bench_function("GET /api/me, admin API key", |b| {
        b.iter_batched(
            || admin_me.clone(),
            |request| block_on(engine.handle(request)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("GET /api/me, annotator API key, 6 workspaces", |b| {
        b.iter_batched(
            || ann_me.clone(),
            |request| block_on(engine.handle(request)),
            BatchSize::SmallInput,
        )
    });
    let unknown = Request::new("GET", "/api/me").header("X-Argilla-Api-Key", "not-a-key");
    group.bench_function("GET /api/me, unknown API key (401)", |b| {
        b.iter_batched(
            || unknown.clone(),
            |request| block_on(engine.handle(request)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decisions, requests);
criterion_main!(benches);
