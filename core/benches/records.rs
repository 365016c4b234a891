//! What core itself costs per record: one bulk of 500 TextClassification records like issue
//! 10's (about 300 bytes of text, a prediction, an annotation, 3 metadata keys) through
//! `Engine::handle` into a new dataset, and one scan page of 1,000 of them with the Python
//! client's `fields`, on the memory store (which never waits), in process. Host costs (HTTP,
//! SQLite) come on top; `cargo xtask bench-datasets` measures the whole native server.
//!
//! `cargo bench -p workgate-core --bench records -- --warm-up-time 1 --measurement-time 5`

#[path = "../tests/common/mod.rs"]
mod common;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use workgate_core::{Engine, MemoryStore, Request};

use common::{ADMIN_KEY, TestPlatform, cheap_config};

/// The native server's allocator: allocation is most of what reading a bulk costs, and the
/// system allocator would measure itself.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BULK: usize = 500;
const PAGE: usize = 1_000;

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

fn record(i: usize) -> serde_json::Value {
    let text = format!(
        "Review {i}: the product arrived on time and works as described, although the box was \
         a little dented and the manual could be clearer about setup. Customer support answered \
         within a day and solved the remaining issue politely. Overall a good purchase that I \
         would recommend to friends who need something similar at this price point, number {i}."
    );
    json!({
        "id": format!("r{i:07}"),
        "inputs": {"text": text},
        "prediction": {"agent": "model-v1", "labels": [{"class": "pos", "score": 0.8}, {"class": "neg", "score": 0.2}]},
        "annotation": {"agent": "ann", "labels": [{"class": "pos", "score": 1.0}]},
        "metadata": {"source": "shop", "stars": (i % 5) + 1, "batch": i / BULK},
        "multi_label": false,
        "status": "Validated",
    })
}

fn bulk_body(from: usize) -> String {
    let records: Vec<_> = (from..from + BULK).map(record).collect();
    json!({ "records": records }).to_string()
}

fn request(method: &str, target: &str, body: &str) -> Request {
    Request::new(method, target)
        .header("X-Argilla-Api-Key", ADMIN_KEY)
        .header("X-Argilla-Workspace", "argilla")
        .header("Content-Type", "application/json")
        .body(body)
}

fn engine() -> Engine {
    let engine = Engine::new(MemoryStore::stores(), TestPlatform::new(), cheap_config());
    block_on(engine.bootstrap_default_user())
        .expect("bootstrap")
        .expect("the default user");
    engine
}

fn records(c: &mut Criterion) {
    let engine = engine();
    let body = bulk_body(0);
    let mut group = c.benchmark_group("records");
    group.throughput(Throughput::Elements(BULK as u64));
    let mut n = 0usize;
    group.bench_function("bulk of 500 into a new dataset", |b| {
        // Building the request (a copy of the 350 kB body) is part of each iteration: small
        // against the bulk, and criterion's profiling mode cannot run batched setups.
        b.iter(|| {
            n += 1;
            let req = request(
                "POST",
                &format!("/api/datasets/bulk-{n}/TextClassification:bulk"),
                &body,
            );
            let answer = block_on(engine.handle(req));
            assert_eq!(answer.status, 200);
        })
    });

    for from in (0..PAGE).step_by(BULK) {
        let answer = block_on(engine.handle(request(
            "POST",
            "/api/datasets/scanned/TextClassification:bulk",
            &bulk_body(from),
        )));
        assert_eq!(answer.status, 200);
    }
    let fields = r#"["metadata.*","status","event_timestamp","annotation*","prediction*","search_keywords","inputs.*","multi_label","explanation*","text","tokens","vectors.*","metrics.*"]"#;
    let scan = format!(r#"{{"fields": {fields}, "query": {{}}}}"#);
    group.throughput(Throughput::Elements(PAGE as u64));
    group.bench_function("scan page of 1000", |b| {
        b.iter(|| {
            let req = request(
                "POST",
                "/api/datasets/scanned/records/:search?limit=1000",
                &scan,
            );
            let answer = block_on(engine.handle(req));
            assert_eq!(answer.status, 200);
        })
    });
    group.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
