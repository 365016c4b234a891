//! The PostgreSQL store against a real server (`WORKGATE_TEST_POSTGRES_URL`, set by `cargo xtask
//! test`): every case of the generic store suite (one test each, on a database of its own, on a
//! multi-threaded runtime where the concurrency cases race for real over pooled connections),
//! every planted fault caught, migrations by ten instances at once applied exactly once, an
//! older binary meeting a newer schema, record ids in byte order on an ICU-collated database,
//! and connection failures as one-line errors.

mod postgres_support;

use std::sync::Arc;

use postgres_support::{TestDatabase, cluster_url, store_in_fresh_schema, stores_of};
use serde_json::{Map, json};
use workgate::PostgresStore;
use workgate::postgres::schema::{self, SchemaError};
use workgate::postgres::{OpenError, PostgresUrl};
use workgate_core::dataset::{Dataset, Record, RecordFacts, Task};
use workgate_core::domain::{NewUser, Role, User};
use workgate_core::{Datasets, Directory, RecordWrite, Timestamp};

/// One test per store suite case, each on a fresh database, skipped (and saying so) without
/// the cluster's URL.
macro_rules! postgres_case_tests {
    ([] $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(cluster) = cluster_url(stringify!($name)) else { return };
                let db = TestDatabase::create(&cluster, "case", "").await;
                let url = db.parsed();
                let make = move || {
                    let url = url.clone();
                    async move { stores_of(PostgresStore::open(&url, 8).await.expect("open").0) }
                };
                workgate_store_suite::run_case(stringify!($name), make)
                    .await
                    .assert_passed();
            }
        )*
    };
}

mod store_suite {
    use super::*;
    workgate_store_suite::__store_suite_with_case_names! { postgres_case_tests; }
}

/// Every planted fault caught, as `faults::check_each_fault` checks, except that a fault that
/// only opens a race (a check before, not with, the write) gets up to [`RACE_TRIES`] tries: the
/// race is lost only when the two operations overlap, which the server's scheduling on a busy
/// machine does not arrange every time; one catch shows the case has teeth on this store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_fault_is_caught_on_postgres() {
    use workgate_store_suite::faults::{EXPECTATIONS, Fault, Faulty};
    const RACE_TRIES: usize = 10;
    const RACES: &[Fault] = &[
        Fault::RacyUsernameCheck,
        Fault::RacyLastAdmin,
        Fault::RacyMembership,
        Fault::LostFailureCount,
        Fault::LostUserEdit,
        Fault::LostBulkUpdate,
    ];
    let Some(cluster) = cluster_url("each_planted_fault_is_caught_on_postgres") else {
        return;
    };
    let db = Arc::new(TestDatabase::create(&cluster, "faults", "").await);
    let make = {
        let db = db.clone();
        move || {
            let db = db.clone();
            async move { stores_of(store_in_fresh_schema(&db).await) }
        }
    };
    let mut problems = Vec::new();
    let clean = workgate_store_suite::faults::run_with(Fault::None, &make).await;
    for failure in clean.failures() {
        problems.push(format!(
            "the faultless wrapper failed {}: {}",
            failure.name, failure.message
        ));
    }
    for (fault, expected) in EXPECTATIONS {
        let tries = if RACES.contains(fault) { RACE_TRIES } else { 1 };
        for case in *expected {
            let mut caught = false;
            for _ in 0..tries {
                let result = workgate_store_suite::run_case(case, || async {
                    Faulty::stores(make().await, *fault)
                })
                .await;
                if !result.passed {
                    if result.message.is_empty() {
                        problems.push(format!("{fault:?}: {case} failed without a message"));
                    }
                    caught = true;
                    break;
                }
            }
            if !caught {
                problems.push(format!("{fault:?} did not fail {case} in {tries} tries"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_instances_starting_at_once_migrate_exactly_once() {
    let Some(cluster) = cluster_url("ten_instances_starting_at_once_migrate_exactly_once") else {
        return;
    };
    let db = TestDatabase::create(&cluster, "migrate", "").await;
    let url = db.parsed();
    let opened = futures_join_all((0..10).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::open(&url, 2).await })
    }))
    .await;
    let mut applied_steps = Vec::new();
    for outcome in opened {
        let (_, applied) = outcome.expect("task").expect("open");
        applied_steps.extend(applied.into_iter().map(|a| a.to));
    }
    let every_version: Vec<i32> = schema::MIGRATIONS.iter().map(|m| m.version).collect();
    applied_steps.sort();
    assert_eq!(
        applied_steps, every_version,
        "each step applied by exactly one instance"
    );
    let rows = db
        .connect()
        .await
        .query("SELECT version FROM workgate_schema ORDER BY version", &[])
        .await
        .unwrap();
    let recorded: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(recorded, every_version);

    // Migrating again is a no-op.
    let (store, applied) = PostgresStore::open(&url, 1).await.unwrap();
    assert!(applied.is_empty());
    assert_eq!(
        store.schema_version().await.unwrap(),
        schema::latest_version()
    );
}

/// Rolling upgrades: a newer instance adds a migration (additive, as every step is). An older
/// instance already running keeps serving; an older one starting refuses, naming both versions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_binary_keeps_serving_but_will_not_start_on_a_newer_schema() {
    let Some(cluster) =
        cluster_url("an_older_binary_keeps_serving_but_will_not_start_on_a_newer_schema")
    else {
        return;
    };
    let db = TestDatabase::create(&cluster, "rolling", "").await;
    let running = db.store().await;
    running
        .create_user(new_user(1, "before", Role::Admin), None)
        .await
        .unwrap();

    let newer = schema::latest_version() + 1;
    let client = db.connect().await;
    client
        .batch_execute(
            "ALTER TABLE users ADD COLUMN nickname TEXT; \
             CREATE TABLE future_things (id BIGINT PRIMARY KEY)",
        )
        .await
        .unwrap();
    client
        .execute(
            "INSERT INTO workgate_schema (version, description) VALUES ($1, 'from the future')",
            &[&newer],
        )
        .await
        .unwrap();

    // The running instance reads and writes as before.
    running
        .create_user(new_user(2, "after", Role::Annotator), None)
        .await
        .unwrap();
    let names: Vec<String> = running
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["before", "after"]);

    // A new start of this binary refuses, in one line naming both versions.
    let err = PostgresStore::open(&db.parsed(), 1)
        .await
        .err()
        .expect("refused");
    match &err {
        OpenError::Schema(SchemaError::Newer { found, supported }) => {
            assert_eq!((*found, *supported), (newer, schema::latest_version()));
        }
        other => panic!("expected a newer-schema refusal, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(&format!("version {newer}")), "{message}");
    assert!(
        message.contains(&format!("(version {})", schema::latest_version())),
        "{message}"
    );
    assert!(!message.contains('\n'));
}

/// Record ids (and dataset names) come back in byte order, as on SQLite, on a database whose
/// own collation (ICU, en-US) orders them otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_ids_are_in_byte_order_on_an_icu_collated_database() {
    let Some(cluster) = cluster_url("record_ids_are_in_byte_order_on_an_icu_collated_database")
    else {
        return;
    };
    let db = TestDatabase::create(
        &cluster,
        "icu",
        "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C' TEMPLATE template0",
    )
    .await;
    // The premise: this database's own order is not byte order (so the test can fail).
    let client = db.connect().await;
    let icu_says: bool = client
        .query_one("SELECT 'a'::text < 'B'::text", &[])
        .await
        .unwrap()
        .get(0);
    assert!(icu_says, "the database should collate 'a' before 'B' (ICU)");

    let store = db.store().await;
    let ids: Vec<String> = [
        "b", "B", "a", "A", "_x", "-x", "10", "9", "é", "e", "Z", "z",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let written = ids.clone();
    let write = RecordWrite {
        ids: ids.clone(),
        decide: Arc::new(move |_, _| {
            let records = written
                .iter()
                .map(|id| Record {
                    id: id.clone(),
                    doc: json!({"id": id})
                        .as_object()
                        .cloned()
                        .unwrap_or_default()
                        .into(),
                })
                .collect();
            Ok((dataset("team", "reviews"), records))
        }),
        created: None,
    };
    store
        .write_records("team", "reviews", write)
        .await
        .unwrap()
        .unwrap();
    let mut expected = ids.clone();
    expected.sort(); // Rust orders strings by their UTF-8 bytes
    let listed: Vec<String> = store
        .records("team", "reviews", None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, expected);
    // Paging after an id continues in byte order too.
    let after_upper_b: Vec<String> = store
        .records("team", "reviews", Some("B"), 3)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let from = expected.iter().position(|id| id == "B").unwrap() + 1;
    assert_eq!(after_upper_b, expected[from..from + 3]);
    let by_ids: Vec<String> = store
        .records_by_ids("team", "reviews", &["z".into(), "Z".into(), "a".into()])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(by_ids, ["Z", "a", "z"]);

    for name in ["b-set", "B-set", "a-set"] {
        assert!(
            store
                .create_dataset(dataset("team", name), None)
                .await
                .unwrap()
        );
    }
    let names: Vec<String> = store
        .datasets(&["team".into()])
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, ["B-set", "a-set", "b-set", "reviews"]);
}

#[tokio::test]
async fn an_unreachable_server_is_a_one_line_error_without_the_password() {
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url: PostgresUrl = format!("postgresql://argilla:hunter2@127.0.0.1:{port}/argilla")
        .parse()
        .unwrap();
    let err = PostgresStore::open(&url, 1).await.err().expect("refused");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot connect to PostgreSQL at"),
        "{message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{port}/argilla")),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

// ---------------------------------------------------------------------------------------------

async fn futures_join_all<T>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await);
    }
    out
}

fn dataset(workspace: &str, name: &str) -> Dataset {
    Dataset {
        workspace: workspace.into(),
        name: name.into(),
        task: Task::TextClassification,
        tags: Map::new(),
        metadata: Map::new(),
        created_by: None,
        created_at: Timestamp::from_micros(1_700_000_000_000_000),
        last_updated: Timestamp::from_micros(1_700_000_000_000_000),
        closed: false,
        settings: None,
        facts: RecordFacts::default(),
    }
}

fn new_user(n: u128, username: &str, role: Role) -> NewUser {
    let key = format!("key-{username}");
    NewUser {
        user: User {
            id: uuid::Uuid::from_u128(n),
            username: username.into(),
            first_name: username.into(),
            last_name: None,
            role,
            password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
            api_key_digest: workgate_core::credentials::ApiKeyDigest::of(&key),
            api_key_prefix: workgate_core::credentials::api_key_prefix(&key),
            security_stamp: format!("stamp-{n}"),
            disabled: false,
            inserted_at: Timestamp::from_micros(1_700_000_000_000_000 + n as i64),
            updated_at: Timestamp::from_micros(1_700_000_000_000_000 + n as i64),
        },
        workspaces: Vec::new(),
    }
}
