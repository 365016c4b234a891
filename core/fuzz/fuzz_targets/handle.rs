//! Coverage-guided companion of `tests/handler_never_panics.rs`: any request, against a
//! bootstrapped engine on the memory store, answers without panicking, never with a 500, and
//! with JSON under `/api`.

#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use workgate_core::engine::routes::ROUTES;
use workgate_core::{Engine, MemoryStore, Request};

use common::{ADMIN_KEY, TestPlatform, cheap_config};

#[derive(Debug, Arbitrary)]
struct Input {
    /// Picks a real route's method and path (when it indexes one), else `method`/`path` as given.
    route: u8,
    method: String,
    path: String,
    query: Option<String>,
    /// 0: none, 1: the admin key, 2: `key` as an API key, 3: `key` as a bearer token.
    credential: u8,
    key: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Drives a future that never waits (everything on the memory store) to completion.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fuzz_target!(|input: Input| {
    let engine = Engine::new(MemoryStore::stores(), TestPlatform::new(), cheap_config());
    block_on(engine.bootstrap_default_user()).expect("bootstrap");
    let (method, path) = match ROUTES.get(usize::from(input.route)) {
        Some(route) => (
            route.method.to_string(),
            route
                .path
                .replace("{user_id}", &input.path)
                .replace("{workspace_id}", &input.path),
        ),
        None => (input.method, input.path),
    };
    let mut headers = match input.credential % 4 {
        1 => vec![("X-Argilla-Api-Key".to_string(), ADMIN_KEY.to_string())],
        2 => vec![("X-Argilla-Api-Key".to_string(), input.key)],
        3 => vec![("Authorization".to_string(), format!("Bearer {}", input.key))],
        _ => vec![],
    };
    headers.extend(input.headers);
    let request = Request {
        method,
        path,
        query: input.query,
        headers,
        body: input.body,
    };
    let response = block_on(engine.handle(request.clone()));
    assert_ne!(response.status, 500, "{request:?} -> {response:?}");
    if request.path.starts_with("/api") {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&response.body).is_ok(),
            "{request:?} -> {response:?}"
        );
    }
});
