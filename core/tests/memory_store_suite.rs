//! The generic store suite (`workgate_core::store_suite`) against the in-memory store: once
//! as a whole, the way the Worker runs it, and once as one test per case.

use workgate_core::MemoryStore;
use workgate_core::store_suite;

#[tokio::test]
async fn memory_store_passes_the_whole_suite() {
    let report = store_suite::run_all(|| async { MemoryStore::stores() }).await;
    assert_eq!(report.results.len(), store_suite::CASE_NAMES.len());
    report.assert_all_passed();
}

mod per_case {
    use workgate_core::MemoryStore;

    workgate_core::store_suite_tests!(
        #[tokio::test]
        make = || async { MemoryStore::stores() }
    );
}

#[tokio::test]
async fn an_unknown_case_name_fails_rather_than_passes() {
    let result = store_suite::run_case("no_such_case", || async { MemoryStore::stores() }).await;
    assert!(!result.passed);
}
