//! The SQLite schema and its versioned migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Each migration runs in one `BEGIN
//! IMMEDIATE` transaction that re-reads the version first, so two processes migrating the same
//! file at once apply each step exactly once, and running `migrate` again is a no-op. A
//! database whose version is newer than [`MIGRATIONS`] knows is refused: this binary would not
//! understand its tables.
//!
//! Layout notes, for the queries in `sqlite_store`:
//! - Every table has an integer `seq` rowid that grows with each insert (a deleted largest
//!   rowid may be reused, but then it is again the largest), so lists are in insertion order by
//!   `seq`; memberships refer to users and workspaces by `seq` so that a million of them stay
//!   small.
//! - An index on a single column also orders by rowid within equal keys, so
//!   `memberships(user_seq)` yields a user's workspaces in membership order without a sort.
//! - `login_failures` rows are deleted once useless (`last_at` before the cutoff core computes,
//!   `rules::failure_window`); `login_failures_by_last_at` makes that a range delete.
//! - `users.counts_as_admin` is written from core's `rules::counts_as_admin` with every user
//!   row, so the last-admin check counts an index instead of restating who counts in SQL.
//! - `directory_generation` is one row whose `value` triggers bump with every row inserted,
//!   updated or deleted in `users`, `workspaces` or `memberships` — in the writing
//!   transaction, whoever writes (this binary, an older one, the `sqlite3` shell) — so a
//!   process that reads an unchanged value knows its cached callers are current
//!   (`Directory::generation`, core's `engine::caller_cache`).
//! - Uniqueness is the schema's job (usernames, API key digests, workspace names, one
//!   membership per pair); the store maps constraint errors to `StoreError`s.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// One step of the schema.
pub struct Migration {
    /// The `user_version` after this step.
    pub version: u32,
    pub description: &'static str,
    pub sql: &'static str,
    /// Rust run after `sql` in the same transaction, for values only core can compute (so that
    /// no rule of core's is re-expressed in SQL).
    pub backfill: Option<fn(&Transaction<'_>) -> rusqlite::Result<()>>,
}

/// Every migration, in order. Append only: never edit a released step.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "create users, workspaces, memberships, audit log, login throttling and settings",
        sql: r#"
CREATE TABLE users (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    username        TEXT    NOT NULL UNIQUE,
    first_name      TEXT    NOT NULL,
    last_name       TEXT,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'annotator')),
    password_hash   TEXT    NOT NULL,
    api_key_digest  BLOB    NOT NULL UNIQUE CHECK (length(api_key_digest) = 32),
    api_key_prefix  TEXT    NOT NULL,
    security_stamp  TEXT    NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    inserted_at     INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX users_by_role ON users (role, disabled);

CREATE TABLE workspaces (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL UNIQUE,
    inserted_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE memberships (
    seq           INTEGER PRIMARY KEY,
    workspace_seq INTEGER NOT NULL REFERENCES workspaces (seq) ON DELETE CASCADE,
    user_seq      INTEGER NOT NULL REFERENCES users (seq) ON DELETE CASCADE,
    inserted_at   INTEGER NOT NULL,
    UNIQUE (workspace_seq, user_seq)
);
CREATE INDEX memberships_by_workspace ON memberships (workspace_seq);
CREATE INDEX memberships_by_user ON memberships (user_seq);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    target_name TEXT    NOT NULL,
    detail      TEXT
);

CREATE TABLE login_failures (
    username TEXT    PRIMARY KEY,
    count    INTEGER NOT NULL,
    first_at INTEGER,
    last_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
"#,
        backfill: None,
    },
    Migration {
        version: 2,
        description: "index login failures by last failure, to delete expired ones",
        sql: r#"
CREATE INDEX login_failures_by_last_at ON login_failures (last_at);
"#,
        backfill: None,
    },
    Migration {
        version: 3,
        description: "store whether each user counts as an enabled admin, as core decides",
        sql: r#"
ALTER TABLE users ADD COLUMN counts_as_admin INTEGER NOT NULL DEFAULT 0
    CHECK (counts_as_admin IN (0, 1));
DROP INDEX users_by_role;
CREATE INDEX users_counting_as_admin ON users (counts_as_admin);
"#,
        backfill: Some(crate::sqlite_store::backfill_counts_as_admin),
    },
    Migration {
        version: 4,
        description: "create datasets and their records",
        sql: r#"
CREATE TABLE datasets (
    seq       INTEGER PRIMARY KEY,
    workspace TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    record    TEXT    NOT NULL,
    UNIQUE (workspace, name)
);

CREATE TABLE records (
    dataset_seq INTEGER NOT NULL REFERENCES datasets (seq) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (dataset_seq, id)
) WITHOUT ROWID;
"#,
        backfill: None,
    },
    Migration {
        version: 5,
        description: "count changes to users, workspaces and memberships (the caller cache's generation)",
        sql: r#"
CREATE TABLE directory_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO directory_generation (id, value) VALUES (1, 1);
CREATE TRIGGER users_insert_bumps_generation AFTER INSERT ON users
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER users_update_bumps_generation AFTER UPDATE ON users
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER users_delete_bumps_generation AFTER DELETE ON users
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER workspaces_insert_bumps_generation AFTER INSERT ON workspaces
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER workspaces_update_bumps_generation AFTER UPDATE ON workspaces
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER workspaces_delete_bumps_generation AFTER DELETE ON workspaces
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER memberships_insert_bumps_generation AFTER INSERT ON memberships
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER memberships_update_bumps_generation AFTER UPDATE ON memberships
BEGIN UPDATE directory_generation SET value = value + 1; END;
CREATE TRIGGER memberships_delete_bumps_generation AFTER DELETE ON memberships
BEGIN UPDATE directory_generation SET value = value + 1; END;
"#,
        backfill: None,
    },
    Migration {
        version: 6,
        description: "keep records in a rowid table with a unique (dataset, id) index",
        // A WITHOUT ROWID table keeps whole rows in its key's B-tree, which suits rows of a
        // few dozen bytes; records are about a kilobyte and more, so a 4 KiB page held two or
        // three of them and every insert and lookup walked a deep tree. Measured with Python's
        // sqlite3 on 120k records of 1.3 KB in transactions of 500 (a lookup and an upsert
        // each, as a bulk does): 13,186 → 46,000 inserted/s; scanned in pages of 1000 by id:
        // 148,951 → 547,585/s. Ids are still unique per dataset and listed in byte order
        // (the index, BINARY collation).
        sql: r#"
CREATE TABLE records_by_rowid (
    dataset_seq INTEGER NOT NULL REFERENCES datasets (seq) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    doc         TEXT    NOT NULL
);
INSERT INTO records_by_rowid (dataset_seq, id, doc)
    SELECT dataset_seq, id, doc FROM records ORDER BY dataset_seq, id;
DROP TABLE records;
ALTER TABLE records_by_rowid RENAME TO records;
CREATE UNIQUE INDEX records_by_dataset_id ON records (dataset_seq, id);
"#,
        backfill: None,
    },
];

/// The schema version this binary writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Why the schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is version {found}, newer than this workgate understands \
         (version {supported}); upgrade workgate or use a backup taken before the upgrade"
    )]
    Newer { found: u32, supported: u32 },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The schema version of the open database.
pub fn current_version(conn: &Connection) -> Result<u32, SchemaError> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Fails when the database is newer than this binary.
pub fn check_not_newer(conn: &Connection) -> Result<u32, SchemaError> {
    let found = current_version(conn)?;
    let supported = latest_version();
    if found > supported {
        return Err(SchemaError::Newer { found, supported });
    }
    Ok(found)
}

/// A migration that was applied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub from: u32,
    pub to: u32,
    pub description: &'static str,
}

/// Applies every pending migration, each in its own immediate transaction. Returns the steps
/// applied (empty when the schema was already current).
pub fn migrate(conn: &mut Connection) -> Result<Vec<Applied>, SchemaError> {
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: another process may have migrated meanwhile.
        let found = check_not_newer(&tx)?;
        if found >= migration.version {
            continue;
        }
        tx.execute_batch(migration.sql)?;
        if let Some(backfill) = migration.backfill {
            backfill(&tx)?;
        }
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
        applied.push(Applied {
            from: found,
            to: migration.version,
            description: migration.description,
        });
    }
    Ok(applied)
}
