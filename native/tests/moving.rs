//! `workgate export` / `workgate import` (README "Moving a deployment"): a SQLite store filled
//! through the API, exported, imported into PostgreSQL (when `WORKGATE_TEST_POSTGRES_URL` is
//! set; else straight into another SQLite), exported again, imported into a new SQLite:
//! identical dumps (besides the `dump.import` entry each import writes, by `system`), and
//! identical API answers from all of them. Then what an import refuses:
//! a non-empty target, a bad dump (each with one line naming the dump's line, exit 1, nothing
//! written), and what a merge skips.

mod common;
mod postgres_support;

use std::path::Path;
use std::sync::Arc;

use common::Home;
use workgate::{NativePlatform, PostgresStore, SqliteStore};
use workgate_conformance::moving::{
    Populated, answers, assert_same_answers, moving_entries, populate, without_moving_entries,
};
use workgate_core::credentials::PasswordCost;
use workgate_core::{Config, Engine, Request, Response, Stores};

fn config() -> Config {
    Config {
        password_cost: PasswordCost::parse("m=64,t=1,p=1").unwrap(),
        ..Config::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sqlite_engine(db: &Path) -> Engine {
    let store = Arc::new(SqliteStore::open(db).unwrap().0);
    let stores = Stores::all_in(store.clone())
        .with_datasets(store.clone())
        .with_restore(store);
    Engine::new(stores, NativePlatform::new(), config())
}

/// Answers through `engine` on `rt`.
fn sender<'a>(
    rt: &'a tokio::runtime::Runtime,
    engine: &'a Engine,
) -> impl Fn(Request) -> Response + 'a {
    move |req| rt.block_on(engine.handle(req))
}

/// A SQLite home filled by [`populate`], and its callers.
fn populated_home(rt: &tokio::runtime::Runtime) -> (Home, Populated) {
    let home = Home::new();
    let engine = sqlite_engine(&home.db());
    rt.block_on(engine.bootstrap_default_user()).unwrap();
    let who = populate(&sender(rt, &engine));
    (home, who)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn sqlite_to_postgresql_to_sqlite_keeps_every_answer_and_the_dump() {
    let rt = runtime();
    let (source, who) = populated_home(&rt);
    let before = answers(&sender(&rt, &sqlite_engine(&source.db())), &who);
    let fine = before
        .iter()
        .filter(|(_, status, _)| *status == 200)
        .count();
    assert!(
        fine > 50,
        "the comparison covers the store ({fine} answers of 200)"
    );
    assert!(
        before
            .iter()
            .any(|(what, _, body)| what.starts_with("scan team/reviews")
                && body["records"].as_array().is_some_and(|r| r.len() == 10)),
        "the scans see the records"
    );

    let scratch = tempfile::tempdir().unwrap();
    let first = scratch.path().join("first.jsonl");
    let exported = source.run(&["export", first.to_str().unwrap()]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(
        exported.stderr.contains("Exported 5 users, 8 workspaces"),
        "{}",
        exported.stderr
    );
    let dump = read(&first);
    assert!(!dump.contains("password\":") && !dump.contains("argilla.apikey"));
    // The export wrote its entry after reading the store: the next dump holds it.
    assert!(moving_entries(&dump).is_empty());
    let again = source.run(&["export"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let exports = moving_entries(&again.stdout);
    assert_eq!(exports.len(), 1, "{exports:?}");
    let (actor, action, detail) = &exports[0];
    assert_eq!((actor.as_str(), action.as_str()), ("system", "dump.export"));
    assert!(detail.starts_with("users=5 workspaces=8 "), "{detail}");
    assert_eq!(without_moving_entries(&again.stdout), dump);

    // Through PostgreSQL when a cluster is there, else SQLite to SQLite.
    let second = scratch.path().join("second.jsonl");
    let middle = Home::new();
    let pg = postgres_support::cluster_url("moving");
    let pg_db = pg.as_ref().map(|cluster| {
        rt.block_on(postgres_support::TestDatabase::create(
            cluster, "moving", "",
        ))
    });
    let url_arg: Vec<&str> = match &pg_db {
        Some(db) => vec!["--database-url", db.url.as_str()],
        None => vec![],
    };
    let run_middle = |args: &[&str]| {
        let all: Vec<&str> = url_arg.iter().chain(args).copied().collect();
        middle.run(&all)
    };
    let imported = run_middle(&["import", first.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(
        imported.stdout.starts_with("Imported 5 users"),
        "{}",
        imported.stdout
    );
    let exported = run_middle(&["export", second.to_str().unwrap()]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    let second_dump = read(&second);
    assert_eq!(
        without_moving_entries(&second_dump),
        dump,
        "the dump after the first move"
    );
    let imports = moving_entries(&second_dump);
    assert_eq!(imports.len(), 1, "{imports:?}");
    let (actor, action, detail) = &imports[0];
    assert_eq!((actor.as_str(), action.as_str()), ("system", "dump.import"));
    assert!(
        detail.starts_with("mode=empty; written users=5 workspaces=8 "),
        "{detail}"
    );
    let middle_answers = match &pg_db {
        Some(db) => {
            let store = rt.block_on(db.store());
            let store = Arc::new(store);
            let stores: Stores = Stores::all_in(store.clone())
                .with_datasets(store.clone())
                .with_restore(store.clone() as Arc<PostgresStore>);
            let engine = Engine::new(stores, NativePlatform::new(), config());
            answers(&sender(&rt, &engine), &who)
        }
        None => answers(&sender(&rt, &sqlite_engine(&middle.db())), &who),
    };
    assert_same_answers(&before, &middle_answers);

    let last = Home::new();
    let imported = last.run(&["import", second.to_str().unwrap()]);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let third = last.run(&["export"]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(
        without_moving_entries(&third.stdout),
        dump,
        "the dump after the second move"
    );
    // The first move's entry came along; the second import wrote its own, the latest entry.
    let imports = moving_entries(&third.stdout);
    assert_eq!(imports.len(), 2, "{imports:?}");
    assert_eq!(imports[0], moving_entries(&second_dump)[0]);
    assert_eq!(imports[1].1, "dump.import");
    let last_audit = third
        .stdout
        .lines()
        .rfind(|l| l.starts_with("{\"audit\""))
        .unwrap();
    assert!(
        last_audit.contains("\"action\":\"dump.import\""),
        "{last_audit}"
    );
    assert_same_answers(
        &before,
        &answers(&sender(&rt, &sqlite_engine(&last.db())), &who),
    );
    if pg_db.is_none() {
        eprintln!(
            "moving: PostgreSQL leg skipped (no WORKGATE_TEST_POSTGRES_URL); SQLite to SQLite ran"
        );
    }
}

#[test]
fn an_import_refuses_a_bad_dump_or_a_full_target_in_one_line_and_writes_nothing() {
    let rt = runtime();
    let (source, _who) = populated_home(&rt);
    let dump = source.run(&["export"]).stdout;
    let lines: Vec<&str> = dump.lines().collect();
    let target = Home::new();
    let import = |text: &str, args: &[&str]| {
        let mut cmd = target.command(&[&["import"], args].concat());
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        common::Outcome::from(child.wait_with_output().unwrap())
    };
    let refused = |text: String, expected: &str| {
        let out = import(&text, &[]);
        assert_eq!(out.code, 1, "{expected}: {}", out.stdout);
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        assert!(
            out.stderr.contains(expected),
            "expected {expected:?} in {:?}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    };
    let replace = |i: usize, line: &str| {
        let mut l = lines.clone();
        l[i] = line;
        l.join("\n") + "\n"
    };
    let header = lines[0];
    refused(
        replace(0, &header.replace("\"version\":1", "\"version\":2")),
        "line 1: dump format version 2 is not supported",
    );
    refused(replace(0, "{\"hello\":1}"), "line 1: not a workgate dump");
    refused(replace(3, "{\"user\": {"), "line 4:");
    refused(
        replace(3, "{\"group\":{}}"),
        "line 4: unknown variant `group`",
    );
    // A cut-off dump (no end line) and a wrong count.
    refused(lines[..lines.len() - 1].join("\n"), "cut off");
    refused(
        replace(lines.len() - 1, "{\"end\":{\"entries\":3}}"),
        "the end line counts 3 entries",
    );
    // A duplicate and a dangling reference.
    let first_user = lines
        .iter()
        .position(|l| l.starts_with("{\"user\""))
        .unwrap();
    let mut dup = lines.clone();
    dup.insert(first_user + 1, lines[first_user]);
    let end = format!("{{\"end\":{{\"entries\":{}}}}}", dup.len() - 2);
    *dup.last_mut().unwrap() = &end;
    refused(dup.join("\n"), &format!("line {}: user id", first_user + 2));
    let member = lines
        .iter()
        .position(|l| l.starts_with("{\"member\""))
        .unwrap();
    let dangling = lines[member].replacen(
        &lines[member][24..60],
        "00000000-0000-4000-8000-000000000000",
        1,
    );
    refused(
        replace(member, &dangling),
        &format!("line {}: membership names workspace", member + 1),
    );
    let hash_line = lines[first_user].replace("$argon2id$", "$md5$");
    refused(replace(first_user, &hash_line), "password_hash is not");
    // None of that wrote anything (nor does the export of an empty store: no entry).
    assert_eq!(target.run(&["export"]).stdout.lines().count(), 2);
    assert_eq!(target.run(&["export"]).stdout.lines().count(), 2);

    // A good dump lands; again it is refused (the target is not empty); with --merge it
    // writes nothing and skips everything; a conflicting merge changes nothing.
    assert_eq!(import(&dump, &[]).code, 0);
    refused(dump.clone(), "the database is not empty (it holds 5 users");
    let merged = import(&dump, &["--merge"]);
    assert_eq!(merged.code, 0, "{}", merged.stderr);
    assert!(
        merged.stdout.contains("Imported 0 users, 0 workspaces"),
        "{}",
        merged.stdout
    );
    let changed = dump.replacen("\"first_name\":\"First\"", "\"first_name\":\"Other\"", 1);
    let out = import(&changed, &["--merge"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("differs from the target's"),
        "{}",
        out.stderr
    );
    // The refused imports wrote no entry: one for the import, one for the merge.
    let back = target.run(&["export"]).stdout;
    assert_eq!(without_moving_entries(&back), dump);
    let imports = moving_entries(&back);
    assert_eq!(imports.len(), 2, "{imports:?}");
    assert!(imports[0].2.starts_with("mode=empty; "), "{imports:?}");
    assert!(
        imports[1].2.starts_with("mode=merge; written users=0 "),
        "{imports:?}"
    );
    assert!(
        imports
            .iter()
            .all(|(actor, action, _)| actor == "system" && action == "dump.import")
    );
}

/// A plan whose last write fails (records of a dataset that is not there) after a workspace,
/// a user and a membership were written in the same transaction.
fn plan_failing_at_the_end() -> workgate_core::dump::Plan {
    use workgate_core::dataset::{Record, RecordDoc};
    use workgate_core::domain::Workspace;
    use workgate_core::store::Membership;
    use workgate_core::{Role, Timestamp};
    let at = Timestamp::from_secs(1_700_000_000);
    let workspace = Workspace {
        id: uuid::Uuid::from_u128(1),
        name: "half".into(),
        inserted_at: at,
        updated_at: at,
    };
    let user = workgate_core::domain::User {
        id: uuid::Uuid::from_u128(2),
        username: "half".into(),
        first_name: "Half".into(),
        last_name: None,
        role: Role::Admin,
        password_hash: workgate_core::credentials::hash_password(
            "half-password",
            PasswordCost::parse("m=64,t=1,p=1").unwrap(),
            [7; 16],
        )
        .unwrap(),
        api_key_digest: workgate_core::credentials::ApiKeyDigest::of("half-key"),
        api_key_prefix: "half-k".into(),
        security_stamp: "stamp".into(),
        disabled: false,
        inserted_at: at,
        updated_at: at,
    };
    workgate_core::dump::Plan {
        memberships: vec![Membership {
            workspace: workspace.id,
            user: user.id,
            at,
        }],
        workspaces: vec![workspace],
        users: vec![user],
        records: vec![(
            "half".into(),
            "missing".into(),
            vec![Record {
                id: "1".into(),
                doc: RecordDoc::empty(),
            }],
        )],
        ..Default::default()
    }
}

#[test]
fn a_restore_that_fails_at_its_last_write_leaves_nothing_on_sqlite_and_postgresql() {
    use workgate_core::store::Restore;
    let rt = runtime();
    let home = Home::new();
    let sqlite = SqliteStore::open(&home.db()).unwrap().0;
    let plan = plan_failing_at_the_end();
    let failed = rt.block_on(sqlite.restore(&plan)).unwrap_err().to_string();
    assert!(failed.contains("cannot write record"), "{failed}");
    let engine = sqlite_engine(&home.db());
    assert!(
        rt.block_on(engine.stores().directory.users())
            .unwrap()
            .is_empty()
    );
    assert!(
        rt.block_on(engine.stores().directory.workspaces())
            .unwrap()
            .is_empty()
    );

    let Some(cluster) = postgres_support::cluster_url("moving") else {
        return;
    };
    let db = rt.block_on(postgres_support::TestDatabase::create(
        &cluster, "rollback", "",
    ));
    let pg = rt.block_on(db.store());
    let failed = rt.block_on(pg.restore(&plan)).unwrap_err().to_string();
    assert!(failed.contains("dataset_seq"), "{failed}");
    use workgate_core::Directory;
    assert!(rt.block_on(pg.users()).unwrap().is_empty());
    assert!(rt.block_on(pg.workspaces()).unwrap().is_empty());
    assert!(rt.block_on(pg.memberships()).unwrap().is_empty());
}
