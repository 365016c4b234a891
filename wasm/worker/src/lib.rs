//! # workgate-worker
//!
//! workgate on Cloudflare Workers. Like every host it only translates: a workers-rs request
//! becomes a [`workgate_core::Request`], core's [`Engine`] answers it, and the answer becomes a
//! workers-rs response. What this crate adds is where things live on Cloudflare:
//!
//! - [`kv_store::KvStore`]: core's `Store` on Workers KV (entities, indexes, ordering keys);
//! - [`registry::Registry`]: a Durable Object that decides uniqueness of names and the
//!   last-admin rule, which KV (no transactions, no compare-and-set) cannot;
//! - [`throttle::LoginThrottle`]: a Durable Object per username that counts failed logins;
//! - [`platform::WorkerPlatform`]: the clock and `crypto.getRandomValues`;
//! - [`config`]: the engine's settings from vars and secrets.
//!
//! The web app's static files are served by Workers static assets (wrangler.toml `[assets]`);
//! only `/api/*` reaches this code. README.md states the consistency guarantees.
//!
//! Everything is compiled for `wasm32` only; on other targets the crate is empty, so
//! `cargo clippy --workspace` on the host does not build workers-rs.

#![cfg(target_arch = "wasm32")]

mod config;
mod datasets;
mod durable;
mod keys;
mod kv_store;
mod platform;
mod registry;
#[cfg(feature = "store-suite")]
mod store_suite_route;
mod throttle;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use worker::{Context, Env, Headers, event};
use workgate_core::Engine;
use workgate_core::engine::error::ApiError;

use crate::platform::WorkerPlatform;

pub use datasets::WorkspaceDatasets;
pub use registry::Registry;
pub use throttle::LoginThrottle;

type WorkerEngine = Engine;

thread_local! {
    /// One engine per isolate: it caches the token secret and the decoy hash, and the
    /// bindings it holds are the same objects for every request of the isolate.
    static ENGINE: RefCell<Option<Rc<WorkerEngine>>> = const { RefCell::new(None) };
    /// Whether this isolate has made sure the default user exists. Bootstrapping is
    /// idempotent (the registry refuses a second `argilla`), so once per isolate is enough.
    static BOOTSTRAPPED: Cell<bool> = const { Cell::new(false) };
}

/// The isolate's engine, created on first use.
fn engine(env: &Env) -> Result<Rc<WorkerEngine>, String> {
    if let Some(engine) = ENGINE.with_borrow(|e| e.clone()) {
        return Ok(engine);
    }
    let config = config::load(env)?;
    let stores = kv_store::stores(env.clone(), String::new()).map_err(|e| e.to_string())?;
    let engine = Rc::new(Engine::new(stores, WorkerPlatform, config));
    ENGINE.with_borrow_mut(|e| *e = Some(engine.clone()));
    Ok(engine)
}

/// Creates the default user in an empty store (API.md section 8), once per isolate, and
/// warns while it may still have the well-known credentials (core's
/// [`Engine::default_credentials_maybe_in_use`]: no password hash, so a new isolate's first
/// request stays within the free plan's CPU limit).
async fn bootstrap(engine: &WorkerEngine) {
    if BOOTSTRAPPED.get() {
        return;
    }
    if let Err(e) = engine.bootstrap_default_user().await {
        // Not fatal: the API answers anyway, and the next request tries again.
        worker::console_error!("workgate: bootstrapping the default user failed: {e}");
        return;
    }
    BOOTSTRAPPED.set(true);
    match engine.default_credentials_maybe_in_use().await {
        Ok(true) => worker::console_warn!(
            "workgate: the default user `{}` has the well-known password or API key; change \
             it, or set WORKGATE_DEFAULT_USER_PASSWORD and WORKGATE_DEFAULT_USER_API_KEY \
             (wrangler secret put) before the first request",
            engine.config().default_user.username
        ),
        Ok(false) => {}
        Err(e) => {
            worker::console_error!("workgate: checking for default credentials failed: {e}")
        }
    }
}

/// Once per wasm instance: panic messages go to the Worker's log (`wrangler tail`) instead of
/// vanishing into an `unreachable` trap.
#[event(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        worker::console_error!("workgate: panic: {info}");
    }));
}

#[event(fetch)]
async fn fetch(
    mut req: worker::Request,
    env: Env,
    _ctx: Context,
) -> worker::Result<worker::Response> {
    let engine = match engine(&env) {
        Ok(engine) => engine,
        Err(message) => {
            worker::console_error!("workgate: configuration error: {message}");
            return configuration_error(&message);
        }
    };
    bootstrap(&engine).await;

    #[cfg(feature = "store-suite")]
    if req.path() == store_suite_route::PATH
        && config::setting(&env, config::STORE_SUITE).as_deref() == Some("1")
    {
        let faults = req.url()?.query() == Some(store_suite_route::FAULTS_QUERY);
        return store_suite_route::run(&env, faults).await;
    }

    let started = worker::Date::now().as_millis();
    let request_id = request_id(&req);
    let method = req.method().to_string().to_ascii_uppercase();
    // The route template for the log comes from the engine's own match (one per request).
    let (mut response, route) = match into_core(&mut req).await {
        Ok(request) => engine.handle_routed(request).await,
        Err(error) => {
            let path = req.path();
            let origin = req.headers().get("origin").ok().flatten();
            let route = workgate_core::engine::route_template(&method, &path);
            (engine.refuse(&path, origin.as_deref(), error), route)
        }
    };
    log_request(&method, route, response.status, started, &request_id);
    response
        .headers
        .push(("x-request-id".into(), request_id.into()));
    from_core(response)
}

/// The request's id: the client's `X-Request-Id` when it is 1 to 128 visible ASCII characters
/// (the native server's rule), else Cloudflare's `cf-ray`, else a random UUID.
fn request_id(req: &worker::Request) -> String {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    if let Some(sent) = header("x-request-id")
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return sent;
    }
    header("cf-ray").unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        workgate_core::Platform::fill_random(&WorkerPlatform, &mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    })
}

/// One structured line per request for Workers Logs (wrangler.toml `[observability]`): method,
/// route template, status, duration, request id. Never headers, bodies or query strings, so
/// keys, passwords and tokens stay out of the log.
fn log_request(method: &str, route: Option<&str>, status: u16, started_ms: u64, request_id: &str) {
    let route = route.unwrap_or("(unmatched)");
    let line = serde_json::json!({
        "message": "request",
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": worker::Date::now().as_millis().saturating_sub(started_ms),
        "request_id": request_id,
    });
    worker::console_log!("{line}");
}

/// workers-rs request → core request; a body that cannot be read is core's 400, never an
/// empty body (which would read as "field required").
async fn into_core(req: &mut worker::Request) -> Result<workgate_core::Request, ApiError> {
    let url = req.url().map_err(|_| ApiError::BodyUnreadable)?;
    let body = req.bytes().await.map_err(|_| ApiError::BodyUnreadable)?;
    Ok(workgate_core::Request {
        method: req.method().to_string().to_ascii_uppercase(),
        path: url.path().to_string(),
        query: url.query().map(str::to_string),
        headers: req.headers().entries().collect(),
        body,
    })
}

/// Core response → workers-rs response.
fn from_core(response: workgate_core::Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(worker::Response::builder()
        .with_status(response.status)
        .with_headers(headers)
        .fixed(response.body))
}

/// Core's 500 for settings the engine cannot start with. The message names the setting,
/// never its value.
fn configuration_error(message: &str) -> worker::Result<worker::Response> {
    from_core(ApiError::Configuration(message.to_string()).into_response())
}
