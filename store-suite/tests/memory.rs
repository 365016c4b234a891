//! The generic store suite against the in-memory store: once as a whole, the way the Worker runs
//! it, once as one test per case, and with every planted fault.

use workgate_core::domain::Workspace;
use workgate_core::{MemoryStore, Stores, Timestamp};
use workgate_store_suite::{self as suite, SuiteReport, faults};

#[tokio::test]
async fn memory_store_passes_the_whole_suite() {
    let report = suite::run_all(|| async { MemoryStore::stores() }).await;
    assert_eq!(report.results.len(), suite::CASE_NAMES.len());
    report.assert_all_passed();
}

mod per_case {
    use workgate_core::MemoryStore;

    workgate_store_suite::store_suite_tests!(
        #[tokio::test]
        make = || async { MemoryStore::stores() }
    );
}

#[tokio::test]
async fn an_unknown_case_name_fails_rather_than_passes() {
    let result = suite::run_case("no_such_case", || async { MemoryStore::stores() }).await;
    assert!(!result.passed);
}

#[tokio::test]
async fn each_planted_fault_is_caught_on_the_memory_store() {
    let problems = faults::check_each_fault(|| async { MemoryStore::stores() }).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn a_store_that_is_not_fresh_fails_every_case_with_a_clear_message() {
    let report = suite::run_all(|| async {
        let stores: Stores = MemoryStore::stores();
        stores
            .directory
            .create_workspace(
                Workspace {
                    id: uuid::Uuid::from_u128(1),
                    name: "left-over".into(),
                    inserted_at: Timestamp::from_secs(1),
                    updated_at: Timestamp::from_secs(1),
                },
                None,
            )
            .await
            .unwrap();
        stores
    })
    .await;
    assert_eq!(report.failures().count(), report.results.len());
    assert!(
        report.failures().all(|r| r.message.contains("not fresh")),
        "{report}"
    );
}

#[tokio::test]
async fn the_report_serialises_for_hosts_that_send_it_back() {
    let report = faults::run_with(faults::Fault::AuditIgnoresOffset, &|| async {
        MemoryStore::stores()
    })
    .await;
    let json = serde_json::to_string(&report).unwrap();
    let back: SuiteReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(!back.all_passed());
    let text = report.to_string();
    assert!(text.contains("FAILED  audit_is_newest_first_with_limit_and_offset"));
}
