//! The PostgreSQL schema and its versioned migrations.
//!
//! - Applied versions are rows of `workgate_schema` (version, description, applied_at).
//! - [`migrate`] holds a session-level `pg_advisory_lock` (one key, [`MIGRATION_LOCK`]) for the
//!   whole run and re-reads the version under it, so any number of instances starting at once
//!   apply each step exactly once; the others wait, then find nothing to do. Each step commits
//!   in its own transaction with its version row.
//! - A database whose version is newer than this binary's [`MIGRATIONS`] is refused at start
//!   with both versions named ([`SchemaError::Newer`]). Released steps are additive only (new
//!   tables, columns with defaults, indexes), so an older instance that is already running
//!   while a newer one migrates keeps serving; it just refuses to start again on the newer
//!   schema.
//!
//! Layout notes, for the queries in `postgres`:
//! - Every table has a `seq` identity column, so lists are in insertion order by `seq`;
//!   memberships refer to users and workspaces by `seq`.
//! - Every text key that is listed or compared in order (`records.id`, dataset, workspace and
//!   user names) is `COLLATE "C"`: byte order, as SQLite's BINARY, whatever the database's
//!   default collation (an ICU locale would otherwise sort `"a" < "B"`).
//! - `users.counts_as_admin` is written from core's `rules::counts_as_admin` with every user
//!   row, so the last-admin check counts an index instead of restating who counts in SQL.
//! - `admin_guard` is one row that every change that may take an admin away locks (`FOR
//!   UPDATE`) before counting the admins: see `postgres` for the locking scheme.
//! - `directory_generation` is one row whose `value` a deferred trigger bumps once per
//!   transaction that inserts, updates or deletes a row of `users`, `workspaces` or
//!   `memberships` — committed with it, whoever writes (this binary, an older one still
//!   serving during a rolling upgrade, `psql`) — so an instance that reads an unchanged value
//!   knows its cached callers are current (`Directory::generation`, core's
//!   `engine::caller_cache`).
//! - Uniqueness is the schema's job (usernames, API key digests, workspace names, one
//!   membership per pair, one dataset name per workspace); the store maps constraint errors to
//!   `StoreError`s by constraint name.

use tokio_postgres::Client;

/// The advisory lock key migrations hold ("workgate" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x776f_726b_6761_7465;

/// One step of the schema.
pub struct Migration {
    /// The version after this step.
    pub version: i32,
    pub description: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Append only, and additive only (see the module docs).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "create users, workspaces, memberships, audit log, login throttling, settings, \
                  datasets and records",
        sql: r#"
CREATE TABLE users (
    seq             BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              UUID    NOT NULL,
    username        TEXT    COLLATE "C" NOT NULL,
    first_name      TEXT    NOT NULL,
    last_name       TEXT,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'annotator')),
    password_hash   TEXT    NOT NULL,
    api_key_digest  BYTEA   NOT NULL CHECK (length(api_key_digest) = 32),
    api_key_prefix  TEXT    NOT NULL,
    security_stamp  TEXT    NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    inserted_at     BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    counts_as_admin BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT users_id_key UNIQUE (id),
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_api_key_digest_key UNIQUE (api_key_digest)
);
CREATE INDEX users_counting_as_admin ON users (counts_as_admin) WHERE counts_as_admin;

CREATE TABLE admin_guard (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row)
);
INSERT INTO admin_guard DEFAULT VALUES;

CREATE TABLE workspaces (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID   NOT NULL,
    name        TEXT   COLLATE "C" NOT NULL,
    inserted_at BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT workspaces_id_key UNIQUE (id),
    CONSTRAINT workspaces_name_key UNIQUE (name)
);

CREATE TABLE memberships (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_seq BIGINT NOT NULL REFERENCES workspaces (seq) ON DELETE CASCADE,
    user_seq      BIGINT NOT NULL REFERENCES users (seq) ON DELETE CASCADE,
    inserted_at   BIGINT NOT NULL,
    CONSTRAINT memberships_pair_key UNIQUE (workspace_seq, user_seq)
);
CREATE INDEX memberships_by_user ON memberships (user_seq, seq);
CREATE INDEX memberships_by_workspace ON memberships (workspace_seq, seq);

CREATE TABLE audit_log (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          UUID   NOT NULL UNIQUE,
    at          BIGINT NOT NULL,
    actor_id    UUID,
    actor       TEXT   NOT NULL,
    action      TEXT   NOT NULL,
    target_type TEXT   NOT NULL,
    target_id   UUID   NOT NULL,
    target_name TEXT   NOT NULL,
    detail      TEXT
);

CREATE TABLE login_failures (
    username TEXT   COLLATE "C" PRIMARY KEY,
    count    BIGINT NOT NULL,
    first_at BIGINT,
    last_at  BIGINT
);
CREATE INDEX login_failures_by_last_at ON login_failures (last_at);

CREATE TABLE settings (
    key   TEXT  COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE datasets (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace TEXT   COLLATE "C" NOT NULL,
    name      TEXT   COLLATE "C" NOT NULL,
    record    TEXT   NOT NULL,
    CONSTRAINT datasets_workspace_name_key UNIQUE (workspace, name)
);

CREATE TABLE records (
    dataset_seq BIGINT NOT NULL REFERENCES datasets (seq) ON DELETE CASCADE,
    id          TEXT   COLLATE "C" NOT NULL,
    doc         TEXT   NOT NULL,
    PRIMARY KEY (dataset_seq, id)
);
"#,
    },
    Migration {
        version: 2,
        description: "count changes to users, workspaces and memberships (the caller cache's \
                      generation)",
        sql: r#"
CREATE TABLE directory_generation (
    id        BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    value     BIGINT  NOT NULL,
    bumped_by xid8
);
INSERT INTO directory_generation (id, value) VALUES (TRUE, 1);

-- Once per transaction that changes a directory row, at its commit (deferred): the row lock
-- on directory_generation is the last lock such a transaction takes, so it cannot deadlock
-- with the row locks taken before it.
CREATE FUNCTION workgate_bump_directory_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_generation
       SET value = value + 1, bumped_by = pg_current_xact_id()
     WHERE bumped_by IS DISTINCT FROM pg_current_xact_id();
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER users_bump_generation
    AFTER INSERT OR UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION workgate_bump_directory_generation();
CREATE CONSTRAINT TRIGGER workspaces_bump_generation
    AFTER INSERT OR UPDATE OR DELETE ON workspaces
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION workgate_bump_directory_generation();
CREATE CONSTRAINT TRIGGER memberships_bump_generation
    AFTER INSERT OR UPDATE OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION workgate_bump_directory_generation();
"#,
    },
];

/// The schema version this binary writes.
pub fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Why the schema cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is version {found}, newer than this workgate understands \
         (version {supported}); upgrade workgate or use a backup taken before the upgrade"
    )]
    Newer { found: i32, supported: i32 },
    #[error("PostgreSQL error while migrating: {0}")]
    Postgres(String),
}

impl From<tokio_postgres::Error> for SchemaError {
    fn from(e: tokio_postgres::Error) -> Self {
        SchemaError::Postgres(super::describe_error(&e))
    }
}

/// A migration applied by [`migrate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub from: i32,
    pub to: i32,
    pub description: &'static str,
}

const CREATE_VERSIONS: &str = "CREATE TABLE IF NOT EXISTS workgate_schema (
    version     INTEGER PRIMARY KEY,
    description TEXT    NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)";

/// The schema version of the database (0 when workgate never migrated it).
pub async fn current_version(client: &Client) -> Result<i32, SchemaError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('workgate_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM workgate_schema", &[])
        .await?;
    Ok(row.get(0))
}

/// Applies every pending migration under the migration lock, refusing a newer schema. Returns
/// the steps this call applied (empty when another instance had done them).
pub async fn migrate(client: &mut Client) -> Result<Vec<Applied>, SchemaError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let outcome = migrate_locked(client).await;
    // Released even when a step failed; a lost connection releases it by itself.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    let applied = outcome?;
    unlocked?;
    Ok(applied)
}

async fn migrate_locked(client: &mut Client) -> Result<Vec<Applied>, SchemaError> {
    client.batch_execute(CREATE_VERSIONS).await?;
    let supported = latest_version();
    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        let found = current_version(client).await?;
        if found > supported {
            return Err(SchemaError::Newer { found, supported });
        }
        if found >= migration.version {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(migration.sql).await?;
        tx.execute(
            "INSERT INTO workgate_schema (version, description) VALUES ($1, $2)",
            &[&migration.version, &migration.description],
        )
        .await?;
        tx.commit().await?;
        applied.push(Applied {
            from: found,
            to: migration.version,
            description: migration.description,
        });
    }
    let found = current_version(client).await?;
    if found > supported {
        return Err(SchemaError::Newer { found, supported });
    }
    Ok(applied)
}
