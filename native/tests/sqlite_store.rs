//! The SQLite store on its own: schema migrations, the guarantees that depend on SQLite
//! (uniqueness and atomicity across connections and processes), and durability details.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;
use workgate::SqliteStore;
use workgate::schema;
use workgate_core::credentials::{ApiKeyDigest, api_key_prefix};
use workgate_core::domain::{NewUser, User, Workspace};
use workgate_core::{
    Directory, FailureWindow, LoginThrottle, Role, Secrets, StoreError, ThrottlePolicy, Timestamp,
    rules,
};

/// Core's failure window at `now` for a 900 s window and lockouts of up to 1800 s.
fn window(now: Timestamp) -> FailureWindow {
    let policy = ThrottlePolicy {
        window_secs: 900,
        max_lockout_secs: 1800,
        ..ThrottlePolicy::default()
    };
    rules::failure_window(now, &policy)
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh database file under cargo's scratch directory for integration tests.
fn fresh_db() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-store-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!("{}-{n}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn id() -> Uuid {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

fn workspace(name: &str, at: i64) -> Workspace {
    Workspace {
        id: id(),
        name: name.into(),
        inserted_at: Timestamp(at),
        updated_at: Timestamp(at),
    }
}

fn new_user(username: &str, role: Role, teams: &[&str]) -> NewUser {
    let at = NEXT.fetch_add(1, Ordering::Relaxed) as i64 * 1000;
    let key = format!("key-{username}-{}", id());
    let mut workspaces = vec![workspace(username, at)];
    workspaces.extend(teams.iter().map(|t| workspace(t, at)));
    NewUser {
        user: User {
            id: id(),
            username: username.into(),
            first_name: "First".into(),
            last_name: None,
            role,
            password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into(),
            api_key_digest: ApiKeyDigest::of(&key),
            api_key_prefix: api_key_prefix(&key),
            security_stamp: "stamp".into(),
            disabled: false,
            inserted_at: Timestamp(at),
            updated_at: Timestamp(at),
        },
        workspaces,
    }
}

#[test]
fn migrations_are_idempotent() {
    let db = fresh_db();
    let (store, applied) = SqliteStore::open(&db).unwrap();
    assert_eq!(applied.len(), schema::MIGRATIONS.len());
    assert_eq!(applied[0].from, 0);
    assert_eq!(store.schema_version().unwrap(), schema::latest_version());
    drop(store);
    let (store, applied) = SqliteStore::open(&db).unwrap();
    assert!(applied.is_empty());
    assert_eq!(store.schema_version().unwrap(), schema::latest_version());
}

#[test]
fn a_newer_database_is_refused() {
    let db = fresh_db();
    drop(SqliteStore::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", schema::latest_version() + 1)
        .unwrap();
    drop(conn);
    let Err(err) = SqliteStore::open(&db) else {
        panic!("a newer database was opened");
    };
    let text = err.to_string();
    assert!(
        text.contains("newer than this workgate understands"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}

#[test]
fn wal_and_foreign_keys_are_on() {
    let db = fresh_db();
    drop(SqliteStore::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT * FROM users WHERE api_key_digest = x'00'",
            [],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("USING INDEX"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usernames_stay_unique_across_processes_racing() {
    let db = fresh_db();
    // Two stores on one file behave like two processes: separate connections and locks.
    let (a, _) = SqliteStore::open(&db).unwrap();
    let (b, _) = SqliteStore::open(&db).unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .create_user(new_user("racer", Role::Annotator, &["team"]), None)
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::UsernameTaken(name)) => assert_eq!(name, "racer"),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(a.user_count().await.unwrap(), 1);
    let names: Vec<String> = b
        .workspaces()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["racer", "team"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workspace_names_stay_unique_under_concurrency() {
    let db = fresh_db();
    let (a, _) = SqliteStore::open(&db).unwrap();
    let (b, _) = SqliteStore::open(&db).unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .create_workspace(workspace("contested", i), None)
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::WorkspaceNameTaken(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_failed_import_writes_nothing() {
    let db = fresh_db();
    let (store, _) = SqliteStore::open(&db).unwrap();
    store
        .create_user(new_user("existing", Role::Admin, &[]), None)
        .await
        .unwrap();
    let batch = vec![
        new_user("first", Role::Annotator, &["brand-new-team"]),
        new_user("second", Role::Admin, &[]),
        new_user("existing", Role::Annotator, &[]),
    ];
    let err = store.create_users(batch, Vec::new()).await.unwrap_err();
    assert_eq!(err, StoreError::UsernameTaken("existing".into()));
    assert_eq!(store.user_count().await.unwrap(), 1);
    let names: Vec<String> = store
        .workspaces()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["existing"]);

    // A username repeated inside one batch fails the whole batch too.
    let repeated = vec![
        new_user("dup", Role::Annotator, &[]),
        new_user("dup", Role::Annotator, &[]),
    ];
    assert!(store.create_users(repeated, Vec::new()).await.is_err());
    assert_eq!(store.user_count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_login_failures_are_all_counted() {
    let db = fresh_db();
    let (a, _) = SqliteStore::open(&db).unwrap();
    let (b, _) = SqliteStore::open(&db).unwrap();
    let now = Timestamp::from_secs(1_700_000_000);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { store.record_login_failure("victim", window(now)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(a.login_failures("victim").await.unwrap().count, 40);
}

#[tokio::test]
async fn expired_login_failures_are_deleted_by_the_next_failure() {
    let (store, _) = SqliteStore::open(&fresh_db()).unwrap();
    let t0 = Timestamp::from_secs(1_700_000_000);
    store
        .record_login_failure("ghost", window(t0))
        .await
        .unwrap();
    store
        .record_login_failure("recent", window(t0.plus_secs(1000)))
        .await
        .unwrap();
    // Exactly the longest lockout after the last failure: still kept.
    store
        .record_login_failure("other", window(t0.plus_secs(1800)))
        .await
        .unwrap();
    assert_eq!(store.login_failures("ghost").await.unwrap().count, 1);
    // Later: gone, however unknown the username; younger rows stay.
    store
        .record_login_failure("other", window(t0.plus_secs(1801)))
        .await
        .unwrap();
    assert_eq!(store.login_failures("ghost").await.unwrap().count, 0);
    assert_eq!(store.login_failures("recent").await.unwrap().count, 1);
    assert_eq!(store.login_failures("other").await.unwrap().count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_admin_survives_concurrent_deletes() {
    let db = fresh_db();
    let (store, _) = SqliteStore::open(&db).unwrap();
    let mut ids = Vec::new();
    for name in ["a1", "a2", "a3"] {
        ids.push(
            store
                .create_user(new_user(name, Role::Admin, &[]), None)
                .await
                .unwrap()
                .id,
        );
    }
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (store, id) = (store.clone(), *id);
            tokio::spawn(async move { store.delete_user(id, None).await })
        })
        .collect();
    let mut last_admin_refusals = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            assert_eq!(e, StoreError::LastAdmin);
            last_admin_refusals += 1;
        }
    }
    assert_eq!(last_admin_refusals, 1);
    assert_eq!(store.user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn every_process_gets_the_same_token_secret() {
    let db = fresh_db();
    let (a, _) = SqliteStore::open(&db).unwrap();
    let (b, _) = SqliteStore::open(&db).unwrap();
    let first = a.token_secret(vec![1; 32]).await.unwrap();
    let second = b.token_secret(vec![2; 32]).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    assert_eq!(second, first);
}

#[tokio::test]
async fn deleting_cascades_to_memberships() {
    let db = fresh_db();
    let (store, _) = SqliteStore::open(&db).unwrap();
    store
        .create_user(new_user("admin", Role::Admin, &[]), None)
        .await
        .unwrap();
    let ann = store
        .create_user(new_user("ann", Role::Annotator, &["team"]), None)
        .await
        .unwrap();
    let team = store.workspace_by_name("team").await.unwrap().unwrap();
    assert_eq!(store.members_of(team.id).await.unwrap().len(), 1);
    store.delete_workspace(team.id, None).await.unwrap();
    let left: Vec<String> = store
        .workspaces_of(ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(left, ["ann"]);
    store.delete_user(ann.id, None).await.unwrap();
    // The personal workspace stays; its memberships go.
    let personal = store.workspace_by_name("ann").await.unwrap().unwrap();
    assert!(store.members_of(personal.id).await.unwrap().is_empty());
}

/// A database as the previous release (schema version 2) wrote it: its two migrations, exactly
/// as they ran then (migrations are append-only), and rows as its store inserted them, without
/// the columns and tables later versions add.
fn database_of_the_previous_release() -> PathBuf {
    let db = fresh_db();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for migration in &schema::MIGRATIONS[..2] {
        conn.execute_batch(migration.sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 2).unwrap();
    let insert = "INSERT INTO users (id, username, first_name, last_name, role, password_hash, \
                  api_key_digest, api_key_prefix, security_stamp, disabled, inserted_at, updated_at) \
                  VALUES (?1, ?2, 'First', NULL, ?3, 'hash', ?4, 'wg_xxx', 'stamp', ?5, 1, 1)";
    for (n, (name, role, disabled)) in [
        ("root", "admin", false),
        ("old-admin", "admin", true),
        ("ann", "annotator", false),
    ]
    .into_iter()
    .enumerate()
    {
        conn.execute(
            insert,
            rusqlite::params![
                Uuid::from_u128(n as u128 + 1).to_string(),
                name,
                role,
                &ApiKeyDigest::of(name).0[..],
                disabled
            ],
        )
        .unwrap();
    }
    drop(conn);
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_previous_release_upgrades_in_place() {
    let db = database_of_the_previous_release();
    let (store, applied) = SqliteStore::open(&db).unwrap();
    assert_eq!(
        applied.iter().map(|a| a.to).collect::<Vec<_>>(),
        (3..=schema::latest_version()).collect::<Vec<_>>()
    );
    // Its users are all there, and the last-admin rule counts them as core says: the disabled
    // admin does not count, so the one enabled admin cannot be demoted.
    let users = store.users().await.unwrap();
    assert_eq!(users.len(), 3);
    let root = store.user_by_username("root").await.unwrap().unwrap();
    let demote = workgate_core::UserEdit::new(|u| {
        Ok(User {
            role: Role::Annotator,
            ..u.clone()
        })
    });
    assert_eq!(
        store.update_user(root.id, demote).await,
        Err(StoreError::LastAdmin)
    );
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    let promote = workgate_core::UserEdit::new(|u| {
        Ok(User {
            role: Role::Admin,
            ..u.clone()
        })
    });
    store.update_user(ann.id, promote).await.unwrap();
    let demote_root = workgate_core::UserEdit::new(|u| {
        Ok(User {
            role: Role::Annotator,
            ..u.clone()
        })
    });
    store.update_user(root.id, demote_root).await.unwrap();
    // And it holds datasets now.
    use workgate_core::Datasets;
    assert!(
        store
            .datasets(&["team".to_string()])
            .await
            .unwrap()
            .is_empty()
    );
    drop(store);
    let (store, applied) = SqliteStore::open(&db).unwrap();
    assert!(applied.is_empty(), "migrated once");
    assert_eq!(store.schema_version().unwrap(), schema::latest_version());
}

/// A database of schema version 5 (records in a `WITHOUT ROWID` table) keeps its records
/// through migration 6 (a rowid table with a unique index): every one, in id order, still
/// unique per dataset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_survive_the_move_to_a_rowid_table() {
    let db = fresh_db();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for migration in &schema::MIGRATIONS[..5] {
        conn.execute_batch(migration.sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 5).unwrap();
    conn.execute(
        "INSERT INTO datasets (seq, workspace, name, record) VALUES (7, 'team', 'reviews', '{}')",
        [],
    )
    .unwrap();
    for id in ["r3", "r1", "r10", "r2"] {
        conn.execute(
            "INSERT INTO records (dataset_seq, id, doc) VALUES (7, ?1, ?2)",
            rusqlite::params![id, format!(r#"{{"status":"Default","n":"{id}"}}"#)],
        )
        .unwrap();
    }
    drop(conn);
    let (store, applied) = SqliteStore::open(&db).unwrap();
    assert_eq!(
        applied.iter().map(|a| a.to).collect::<Vec<_>>(),
        (6..=schema::latest_version()).collect::<Vec<_>>()
    );
    use workgate_core::Datasets;
    let records = store.records("team", "reviews", None, 10).await.unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r10", "r2", "r3"], "byte order of the id");
    assert_eq!(
        records[1].doc.as_json(),
        r#"{"status":"Default","n":"r10"}"#
    );
    let after = store
        .records("team", "reviews", Some("r10"), 10)
        .await
        .unwrap();
    assert_eq!(after.len(), 2);
    drop(store);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let duplicate = conn.execute(
        "INSERT INTO records (dataset_seq, id, doc) VALUES (7, 'r1', '{}')",
        [],
    );
    assert!(duplicate.is_err(), "still unique per dataset");
    let without_rowid: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'records' AND sql LIKE '%WITHOUT ROWID%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(without_rowid, 0);
}
