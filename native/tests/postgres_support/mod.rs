//! What the PostgreSQL tests share: the cluster's URL from `WORKGATE_TEST_POSTGRES_URL` (set by
//! `cargo xtask test`, which starts a throwaway cluster), a fresh database per test (so tests run
//! in parallel), dropped when the test is done, and stores opened on it.
//!
//! Without the variable a test prints `skipped: WORKGATE_TEST_POSTGRES_URL not set` and
//! returns: it never passes silently.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use workgate::PostgresStore;
use workgate::postgres::PostgresUrl;
use workgate_core::Stores;

pub const ENV_URL: &str = "WORKGATE_TEST_POSTGRES_URL";

static NEXT: AtomicU64 = AtomicU64::new(1);

/// The cluster's URL (any database the test user may connect to and create databases from),
/// or `None` after printing why the test is skipped.
pub fn cluster_url(test: &str) -> Option<String> {
    match std::env::var(ENV_URL).ok().filter(|v| !v.is_empty()) {
        Some(url) => Some(url),
        None => {
            // Straight to stderr, past the test harness's capture, so a run shows it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {ENV_URL} not set (cargo xtask test sets it)"
            );
            None
        }
    }
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A connection to `url` whose driver task runs on the current runtime.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to the test cluster: {e}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A database of its own for one test, dropped (connections and all) on drop.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    cluster: String,
}

impl TestDatabase {
    /// `CREATE DATABASE <fresh name> <options>` (e.g. an ICU locale).
    pub async fn create(cluster: &str, tag: &str, options: &str) -> TestDatabase {
        let name = format!(
            "wg_{}_{}_{tag}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let admin = connect(cluster).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} {options}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        TestDatabase {
            url: with_database(cluster, &name),
            name,
            cluster: cluster.to_string(),
        }
    }

    pub fn parsed(&self) -> PostgresUrl {
        self.url.parse().expect("the test URL parses")
    }

    /// A connection to this database.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// A store on this database (migrated).
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::open(&self.parsed(), 4)
            .await
            .unwrap_or_else(|e| panic!("open the store: {e}"))
            .0
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // On a thread of its own: drop may run inside a runtime, which must not block.
        let (cluster, name) = (self.cluster.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let admin = connect(&cluster).await;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Every store part on `store`.
pub fn stores_of(store: PostgresStore) -> Stores {
    let store = Arc::new(store);
    Stores::all_in(store.clone()).with_datasets(store)
}

/// A store in a fresh schema of `db` (for runs that need many fresh stores, such as the
/// planted faults: a schema is far cheaper to make than a database).
pub async fn store_in_fresh_schema(db: &TestDatabase) -> PostgresStore {
    let schema = format!("s{}", NEXT.fetch_add(1, Ordering::Relaxed));
    db.connect()
        .await
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("CREATE SCHEMA");
    let mut url = db.parsed();
    url.config.options(format!("-c search_path={schema}"));
    PostgresStore::open(&url, 4)
        .await
        .unwrap_or_else(|e| panic!("open the store: {e}"))
        .0
}
