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

/// With `?faults=1`: every planted fault of `workgate_store_suite::faults`, run on these stores;
/// answers `{"problems": [...]}` (200 when empty, 500 otherwise).
pub const FAULTS_QUERY: &str = "faults=1";

pub async fn run(env: &Env, faults: bool) -> Result<Response> {
    let run_id = platform::now().micros();
    let case = Cell::new(0u32);
    let make = || {
        let n = case.get();
        case.set(n + 1);
        let prefix = format!("store-suite/{run_id}/{n}/");
        let env = env.clone();
        async move { kv_store::stores(env, prefix).expect("the KV binding is configured") }
    };
    if faults {
        let problems = workgate_store_suite::faults::check_each_fault(make).await;
        let status = if problems.is_empty() { 200 } else { 500 };
        let body = serde_json::json!({ "problems": problems });
        return Ok(Response::from_json(&body)?.with_status(status));
    }
    let report = workgate_store_suite::run_all(make).await;
    let status = if report.all_passed() { 200 } else { 500 };
    Ok(Response::from_json(&report)?.with_status(status))
}
