//! The generic store suite (`workgate-store-suite`) against the SQLite store: one test per case,
//! each on a fresh database file, on a multi-threaded runtime (the server's), where the
//! concurrency cases race for real on the blocking pool; and every planted fault, caught on
//! SQLite too.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use workgate::SqliteStore;
use workgate_core::Stores;

static NEXT: AtomicU64 = AtomicU64::new(1);

async fn fresh_store() -> Stores {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("store-suite");
    std::fs::create_dir_all(&dir).unwrap();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-{n}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = Arc::new(SqliteStore::open(&path).expect("open a fresh database").0);
    Stores::all_in(store.clone()).with_datasets(store)
}

mod sqlite {
    workgate_store_suite::store_suite_tests!(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        make = super::fresh_store
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_fault_is_caught_on_sqlite() {
    let problems = workgate_store_suite::faults::check_each_fault(fresh_store).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
