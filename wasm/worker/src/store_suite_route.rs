//! `GET /api/_store_suite`: core's generic store suite, run inside workerd against the real
//! KV namespace and Durable Objects. Compiled only with the `store-suite` feature and answered
//! only when the var `WORKGATE_STORE_SUITE` is `1`; never enable either in production (the
//! suite writes test data under `store-suite/` prefixes).
//!
//! Each case gets fresh, empty stores: the Worker's [`kv_store::stores`], whose KV keys and Durable Object names
//! carry a prefix unique to this run and case. Answers core's `SuiteReport` as JSON, with
//! status 200 when every case passed and 500 otherwise.

use std::cell::Cell;

use worker::{Env, Response, Result};

use crate::kv_store;
use crate::platform;

pub const PATH: &str = "/api/_store_suite";

pub async fn run(env: &Env) -> Result<Response> {
    let run_id = platform::now().micros();
    let case = Cell::new(0u32);
    let report = workgate_core::store_suite::run_all(|| {
        let n = case.get();
        case.set(n + 1);
        let prefix = format!("store-suite/{run_id}/{n}/");
        let env = env.clone();
        async move { kv_store::stores(env, prefix).expect("the KV binding is configured") }
    })
    .await;
    let status = if report.all_passed() { 200 } else { 500 };
    Ok(Response::from_json(&report)?.with_status(status))
}
