//! [`SqliteStore`]: core's [`Store`] on one SQLite file.
//!
//! - One writer connection behind a mutex; every write is one `BEGIN IMMEDIATE` transaction
//!   (so checks such as "is this the last admin?" and the change they guard cannot interleave
//!   with another writer, in this process or another one sharing the file).
//! - A pool of reader connections. WAL lets readers run beside the writer, so reads scale
//!   across cores.
//! - Writes run on tokio's blocking pool: they wait for the file's write lock (up to the busy
//!   timeout) and for `fsync`, which must not hold up an async worker.
//! - Reads run where they are called. In WAL mode a read never waits for a writer and, with the
//!   pages cached (and memory-mapped), an indexed lookup takes 2–3 µs — less than a hop to the
//!   blocking pool and back (measured: `GET /api/me` cost 48 µs of CPU per request with
//!   `spawn_blocking`, 59 µs with `block_in_place`, 18 µs inline). The only waits a reader can
//!   meet are rare (WAL recovery after a crash), and are bounded by the busy timeout.
//! - Reader connections live in slots; each thread starts at its own slot, so readers rarely
//!   meet on a lock.
//! - Statements are prepared once per connection (`prepare_cached`), from `&'static str`s.
//! - SQLite's memory statistics are switched off process-wide: they put one global mutex on
//!   every SQLite allocation.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior};
use uuid::Uuid;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use workgate_core::{
    AuditLog, Directory, FailureWindow, LoginThrottle, Role, Secrets, StoreError, StoreResult,
    Timestamp, UserEdit, rules,
};

use crate::schema::{self, Applied, SchemaError};
use crate::wal_index::{self, WalIndex};

/// How long a connection waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reader connections: each thread starts at its own slot, so readers rarely meet on a lock.
const READER_SLOTS: usize = 16;
/// Prepared statements cached per connection.
const STATEMENT_CACHE: usize = 64;

const SETTING_TOKEN_SECRET: &str = "token_secret";

/// The SQLite store. Cheap to clone (shared connections).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    /// The WAL-index header, to skip the generation read while nothing was committed (`None`:
    /// always read). Dropped before the connections that keep its file from being truncated.
    wal_index: Option<WalIndex>,
    /// The header when the generation was last read, and what was read.
    generation_seen: Mutex<Option<(wal_index::Header, u64)>>,
    writer: Mutex<Connection>,
    /// Reader connections, opened on first use.
    readers: Box<[Mutex<Option<Connection>>]>,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// Fails on a database newer than this binary.
    pub fn open(path: &Path) -> Result<(SqliteStore, Vec<Applied>), OpenError> {
        configure_library();
        let mut writer = open_connection(path, false)?;
        schema::check_not_newer(&writer)?;
        let applied = schema::migrate(&mut writer)?;
        let store = SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                // After the migrations' reads and writes, the `-shm` file exists.
                wal_index: WalIndex::open(path),
                generation_seen: Mutex::new(None),
                writer: Mutex::new(writer),
                readers: (0..READER_SLOTS).map(|_| Mutex::new(None)).collect(),
            }),
        };
        Ok((store, applied))
    }

    /// The generation last read, if it was read under `header`: nothing has committed since,
    /// in any process, so it is still the generation.
    fn generation_seen_at(&self, header: wal_index::Header) -> Option<u64> {
        match *self.inner.generation_seen.lock().ok()? {
            Some((seen_header, value)) if seen_header == header => Some(value),
            _ => None,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> StoreResult<u32> {
        let conn = self.inner.writer.lock().map_err(|_| poisoned())?;
        schema::current_version(&conn).map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// Runs `f` on a reader connection, on the calling thread (see the module docs for why
    /// reads do not hop to the blocking pool).
    pub(crate) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.inner.with_reader(f)
    }

    /// Runs `f` in one immediate transaction on the writer connection, on the blocking pool.
    /// The transaction commits when `f` succeeds and rolls back otherwise.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(|_| poisoned())?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let value = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(value)
        })
        .await;
        joined.map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}

impl Inner {
    /// Runs `f` on a reader connection: the first free slot from this thread's own, else
    /// waiting for this thread's slot.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        thread_local! {
            static HOME_SLOT: usize = {
                static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            };
        }
        let home = HOME_SLOT.with(|s| *s) % self.readers.len();
        let free = (0..self.readers.len())
            .map(|i| &self.readers[(home + i) % self.readers.len()])
            .find_map(|slot| slot.try_lock().ok());
        let mut slot = match free {
            Some(slot) => slot,
            None => self.readers[home].lock().map_err(|_| poisoned())?,
        };
        if slot.is_none() {
            let conn = open_connection(&self.path, true)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            *slot = Some(conn);
        }
        match slot.as_ref() {
            Some(conn) => f(conn),
            None => Err(StoreError::Backend("no reader connection".into())),
        }
    }
}

/// Process-wide SQLite settings, applied once before the first connection opens.
fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Memory statistics take a process-wide mutex on every SQLite allocation, which readers
        // on several threads then queue on; workgate never reads them. This only works before
        // SQLite initialises; if something else opened a connection first, it stays on.
        // SAFETY: sqlite3_config is called with the argument type the option documents, from
        // one thread (guarded by `Once`).
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!("could not switch SQLite's memory statistics off (code {rc})");
        }
    });
}

fn open_connection(path: &Path, reader: bool) -> Result<Connection, OpenError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let wrap = |source| OpenError::Open {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(wrap)?;
    configure(&conn, reader).map_err(wrap)?;
    Ok(conn)
}

fn configure(conn: &Connection, reader: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL is a property of the file; setting it from every connection is harmless.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!(
                "could not switch the database to WAL mode (got {mode})"
            )),
        ));
    }
    // FULL: a commit is on disk before the API answers, even across a power cut.
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA mmap_size = 268435456;",
    )?;
    if reader {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Errors

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn poisoned() -> StoreError {
    StoreError::Backend("sqlite store lock poisoned".into())
}

/// The name of the UNIQUE constraint a failed statement broke, e.g. `users.username`.
fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(err, Some(msg))
            if err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            msg.strip_prefix("UNIQUE constraint failed: ")
        }
        _ => None,
    }
}

fn conversion(msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, msg.into())
}

// ---------------------------------------------------------------------------------------------
// Rows

// Column lists as macros, so that every statement is one `&'static str` built by `concat!`
// (no formatting on the hot path; `prepare_cached` finds it by its text).
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.first_name, u.last_name, u.role, u.password_hash, u.api_key_digest, \
         u.api_key_prefix, u.security_stamp, u.disabled, u.inserted_at, u.updated_at"
    };
}

macro_rules! workspace_columns {
    () => {
        "w.id, w.name, w.inserted_at, w.updated_at"
    };
}

fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text = row.get_ref(idx)?.as_str()?;
    Uuid::parse_str(text).map_err(|e| conversion(format!("bad uuid {text:?}: {e}")))
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role_text = row.get_ref(4)?.as_str()?;
    let role =
        Role::parse(role_text).ok_or_else(|| conversion(format!("bad role {role_text:?}")))?;
    let digest_bytes = row.get_ref(6)?.as_blob()?;
    let digest: [u8; 32] = digest_bytes
        .try_into()
        .map_err(|_| conversion("API key digest is not 32 bytes".into()))?;
    Ok(User {
        id: uuid_at(row, 0)?,
        username: row.get(1)?,
        first_name: row.get(2)?,
        last_name: row.get(3)?,
        role,
        password_hash: row.get(5)?,
        api_key_digest: ApiKeyDigest(digest),
        api_key_prefix: row.get(7)?,
        security_stamp: row.get(8)?,
        disabled: row.get(9)?,
        inserted_at: Timestamp(row.get(10)?),
        updated_at: Timestamp(row.get(11)?),
    })
}

fn workspace_from_row(row: &Row<'_>) -> rusqlite::Result<Workspace> {
    Ok(Workspace {
        id: uuid_at(row, 0)?,
        name: row.get(1)?,
        inserted_at: Timestamp(row.get(2)?),
        updated_at: Timestamp(row.get(3)?),
    })
}

fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let actor_id = match row.get_ref(2)?.as_str_or_null()? {
        Some(text) => {
            Some(Uuid::parse_str(text).map_err(|e| conversion(format!("bad uuid {text:?}: {e}")))?)
        }
        None => None,
    };
    Ok(AuditEntry {
        id: uuid_at(row, 0)?,
        at: Timestamp(row.get(1)?),
        actor_id,
        actor: row.get(3)?,
        action: row.get(4)?,
        target_type: row.get(5)?,
        target_id: uuid_at(row, 6)?,
        target_name: row.get(7)?,
        detail: row.get(8)?,
    })
}

fn failures_from_row(row: &Row<'_>) -> rusqlite::Result<LoginFailures> {
    Ok(LoginFailures {
        count: row.get(0)?,
        first_at: row.get::<_, Option<i64>>(1)?.map(Timestamp),
        last_at: row.get::<_, Option<i64>>(2)?.map(Timestamp),
    })
}

// ---------------------------------------------------------------------------------------------
// Queries shared by several operations

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = ?1");
const USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.username = ?1"
);
const USER_BY_API_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.api_key_digest = ?1"
);
const WORKSPACE_BY_ID: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces w WHERE w.id = ?1"
);
const WORKSPACE_BY_NAME: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces w WHERE w.name = ?1"
);

fn user_where(
    conn: &Connection,
    sql: &'static str,
    key: &dyn rusqlite::ToSql,
) -> StoreResult<Option<User>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    stmt.query_row([key], user_from_row)
        .optional()
        .map_err(backend)
}

fn user_by_id(conn: &Connection, id: Uuid) -> StoreResult<Option<User>> {
    user_where(conn, USER_BY_ID, &id.to_string())
}

fn workspace_where(
    conn: &Connection,
    sql: &'static str,
    key: &dyn rusqlite::ToSql,
) -> StoreResult<Option<Workspace>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    stmt.query_row([key], workspace_from_row)
        .optional()
        .map_err(backend)
}

/// The `seq` of a row by id; `sql` is `SELECT seq FROM <table> WHERE id = ?1`.
fn seq_of(conn: &Connection, sql: &'static str, id: Uuid) -> StoreResult<Option<i64>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    stmt.query_row([id.to_string()], |r| r.get(0))
        .optional()
        .map_err(backend)
}

/// The enabled admins, as core counts them (`counts_as_admin` is written from
/// `rules::counts_as_admin`).
fn enabled_admins(conn: &Connection) -> StoreResult<u64> {
    let mut stmt = conn
        .prepare_cached("SELECT count(*) FROM users WHERE counts_as_admin = 1")
        .map_err(backend)?;
    stmt.query_row([], |r| r.get(0)).map_err(backend)
}

/// Schema migration 3: `counts_as_admin` for the users written before it existed.
pub(crate) fn backfill_counts_as_admin(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let users: Vec<User> = {
        let mut stmt = tx.prepare(concat!("SELECT ", user_columns!(), " FROM users u"))?;
        stmt.query_map([], user_from_row)?
            .collect::<Result<_, _>>()?
    };
    let mut update = tx.prepare("UPDATE users SET counts_as_admin = ?2 WHERE id = ?1")?;
    for user in users {
        update.execute(rusqlite::params![
            user.id.to_string(),
            rules::counts_as_admin(&user)
        ])?;
    }
    Ok(())
}

/// Writes `user`'s row as it is (ids, hashes, digest, times; `counts_as_admin` from core's
/// rule), inside `tx`: the one user insert, for a new user and for an import
/// (`sqlite_restore.rs`). Each caller maps a failure its own way.
pub(crate) fn insert_user_row(tx: &Transaction<'_>, user: &User) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO users (id, username, first_name, last_name, role, password_hash, \
         api_key_digest, api_key_prefix, security_stamp, disabled, inserted_at, updated_at, \
         counts_as_admin) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    stmt.execute(rusqlite::params![
        user.id.to_string(),
        user.username,
        user.first_name,
        user.last_name,
        user.role.as_str(),
        user.password_hash,
        &user.api_key_digest.0[..],
        user.api_key_prefix,
        user.security_stamp,
        user.disabled,
        user.inserted_at.micros(),
        user.updated_at.micros(),
        rules::counts_as_admin(user),
    ])?;
    Ok(())
}

/// Inserts a user and joins (creating if needed) its workspaces, inside `tx`.
fn insert_user(tx: &Transaction<'_>, new: NewUser) -> StoreResult<User> {
    let NewUser { user, workspaces } = new;
    let taken = {
        let mut stmt = tx
            .prepare_cached("SELECT 1 FROM users WHERE username = ?1")
            .map_err(backend)?;
        stmt.exists([&user.username]).map_err(backend)?
    };
    if taken {
        return Err(StoreError::UsernameTaken(user.username));
    }
    if let Err(e) = insert_user_row(tx, &user) {
        return Err(match unique_violation(&e) {
            Some("users.username") => StoreError::UsernameTaken(user.username),
            Some("users.api_key_digest") => StoreError::Backend("API key digest collision".into()),
            _ => backend(e),
        });
    }
    let user_seq = tx.last_insert_rowid();
    for ws in workspaces {
        tx.prepare_cached(
            "INSERT INTO workspaces (id, name, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                ws.id.to_string(),
                ws.name,
                ws.inserted_at.micros(),
                ws.updated_at.micros()
            ])
        })
        .map_err(backend)?;
        let ws_seq: i64 = tx
            .prepare_cached("SELECT seq FROM workspaces WHERE name = ?1")
            .and_then(|mut stmt| stmt.query_row([&ws.name], |r| r.get(0)))
            .map_err(backend)?;
        tx.prepare_cached(
            "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(rusqlite::params![
                ws_seq,
                user_seq,
                user.inserted_at.micros()
            ])
        })
        .map_err(backend)?;
    }
    Ok(user)
}

/// Writes audit entries inside `tx`: with the change they record, so both commit or neither.
pub(crate) fn insert_audit(
    tx: &Transaction<'_>,
    entries: impl IntoIterator<Item = AuditEntry>,
) -> StoreResult<()> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (id, at, actor_id, actor, action, target_type, target_id, \
             target_name, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(backend)?;
    for entry in entries {
        stmt.execute(rusqlite::params![
            entry.id.to_string(),
            entry.at.micros(),
            entry.actor_id.map(|id| id.to_string()),
            entry.actor,
            entry.action,
            entry.target_type,
            entry.target_id.to_string(),
            entry.target_name,
            entry.detail,
        ])
        .map_err(backend)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The trait

#[async_trait]
impl Directory for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
            .await
    }

    /// Read from the database only when a transaction has committed since the last read, in
    /// any process ([`WalIndex`]): most key-authenticated requests make no SQLite call.
    async fn generation(&self) -> StoreResult<Option<u64>> {
        let inner = &self.inner;
        // The header is taken before the read, so a commit between the two shows as a header
        // not seen at the next request.
        let header = inner.wal_index.as_ref().and_then(WalIndex::header);
        if let Some(value) = header.and_then(|header| self.generation_seen_at(header)) {
            return Ok(Some(value));
        }
        let value = self
            .read(|conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT value FROM directory_generation")
                    .map_err(backend)?;
                let value: i64 = stmt.query_row([], |r| r.get(0)).map_err(backend)?;
                Ok(value as u64)
            })
            .await?;
        if let Some(header) = header
            && let Ok(mut seen) = inner.generation_seen.lock()
        {
            *seen = Some((header, value));
        }
        Ok(Some(value))
    }

    fn generation_at_hand(&self) -> Option<u64> {
        self.generation_seen_at(self.inner.wal_index.as_ref()?.header()?)
    }

    async fn user_count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT count(*) FROM users")
                .map_err(backend)?;
            let n: i64 = stmt.query_row([], |r| r.get(0)).map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.read(move |conn| user_by_id(conn, id)).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_string();
        self.read(move |conn| user_where(conn, USER_BY_USERNAME, &username))
            .await
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        let digest = *digest;
        self.read(move |conn| user_where(conn, USER_BY_API_KEY, &&digest.0[..]))
            .await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM users u ORDER BY u.seq"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], user_from_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User> {
        self.write(move |tx| {
            let user = insert_user(tx, new)?;
            insert_audit(tx, audit)?;
            Ok(user)
        })
        .await
    }

    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>> {
        self.write(move |tx| {
            let mut created = Vec::with_capacity(batch.len());
            for new in batch {
                created.push(insert_user(tx, new)?);
            }
            insert_audit(tx, audit)?;
            Ok(created)
        })
        .await
    }

    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        self.write(move |tx| {
            let Some(old) = user_by_id(tx, id)? else {
                return Err(StoreError::UserNotFound(id));
            };
            let stored = edit.apply(&old)?;
            if stored == old {
                return Ok(old);
            }
            if rules::takes_an_admin_away(&old, Some(&stored)) {
                rules::an_admin_remains(&old, Some(&stored), enabled_admins(tx)?)?;
            }
            let updated = tx
                .prepare_cached(
                    "UPDATE users SET first_name = ?2, last_name = ?3, role = ?4, \
                     password_hash = ?5, api_key_digest = ?6, api_key_prefix = ?7, \
                     security_stamp = ?8, disabled = ?9, updated_at = ?10, counts_as_admin = ?11 \
                     WHERE id = ?1",
                )
                .and_then(|mut stmt| {
                    stmt.execute(rusqlite::params![
                        stored.id.to_string(),
                        stored.first_name,
                        stored.last_name,
                        stored.role.as_str(),
                        stored.password_hash,
                        &stored.api_key_digest.0[..],
                        stored.api_key_prefix,
                        stored.security_stamp,
                        stored.disabled,
                        stored.updated_at.micros(),
                        rules::counts_as_admin(&stored),
                    ])
                });
            if let Err(e) = updated {
                return Err(match unique_violation(&e) {
                    Some("users.api_key_digest") => {
                        StoreError::Backend("API key digest collision".into())
                    }
                    _ => backend(e),
                });
            }
            insert_audit(tx, edit.audit_entry(&old, &stored))?;
            Ok(stored)
        })
        .await
    }

    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User> {
        self.write(move |tx| {
            let Some(user) = user_by_id(tx, id)? else {
                return Err(StoreError::UserNotFound(id));
            };
            if rules::takes_an_admin_away(&user, None) {
                rules::an_admin_remains(&user, None, enabled_admins(tx)?)?;
            }
            // Memberships go with it (ON DELETE CASCADE).
            tx.prepare_cached("DELETE FROM users WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute([id.to_string()]))
                .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(user)
        })
        .await
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    workspace_columns!(),
                    " FROM workspaces w ORDER BY w.seq"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([], workspace_from_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        self.read(move |conn| workspace_where(conn, WORKSPACE_BY_ID, &id.to_string()))
            .await
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        let name = name.to_string();
        self.read(move |conn| workspace_where(conn, WORKSPACE_BY_NAME, &name))
            .await
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        self.write(move |tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO workspaces (id, name, inserted_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(rusqlite::params![
                        workspace.id.to_string(),
                        workspace.name,
                        workspace.inserted_at.micros(),
                        workspace.updated_at.micros()
                    ])
                });
            match inserted {
                Ok(_) => {
                    insert_audit(tx, audit)?;
                    Ok(workspace)
                }
                Err(e) if unique_violation(&e) == Some("workspaces.name") => {
                    Err(StoreError::WorkspaceNameTaken(workspace.name))
                }
                Err(e) => Err(backend(e)),
            }
        })
        .await
    }

    async fn delete_workspace(
        &self,
        id: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        self.write(move |tx| {
            let Some(ws) = workspace_where(tx, WORKSPACE_BY_ID, &id.to_string())? else {
                return Err(StoreError::WorkspaceNotFound(id));
            };
            tx.prepare_cached("DELETE FROM workspaces WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute([id.to_string()]))
                .map_err(backend)?;
            insert_audit(tx, audit)?;
            Ok(ws)
        })
        .await
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    workspace_columns!(),
                    " FROM memberships m JOIN workspaces w ON w.seq = m.workspace_seq \
                     WHERE m.user_seq = (SELECT seq FROM users WHERE id = ?1) ORDER BY m.seq"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([user.to_string()], workspace_from_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM memberships m JOIN users u ON u.seq = m.user_seq \
                     WHERE m.workspace_seq = (SELECT seq FROM workspaces WHERE id = ?1) \
                     ORDER BY m.seq"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([workspace.to_string()], user_from_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let ws_seq = seq_of(tx, "SELECT seq FROM workspaces WHERE id = ?1", workspace)?
                .ok_or(StoreError::WorkspaceNotFound(workspace))?;
            let user_seq = seq_of(tx, "SELECT seq FROM users WHERE id = ?1", user)?
                .ok_or(StoreError::UserNotFound(user))?;
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) \
                     VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(rusqlite::params![ws_seq, user_seq, at.micros()])
                });
            match inserted {
                Ok(_) => insert_audit(tx, audit),
                Err(e) if unique_violation(&e).is_some() => {
                    Err(StoreError::AlreadyMember { workspace, user })
                }
                Err(e) => Err(backend(e)),
            }
        })
        .await
    }

    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            let removed = tx
                .prepare_cached(
                    "DELETE FROM memberships \
                     WHERE workspace_seq = (SELECT seq FROM workspaces WHERE id = ?1) \
                       AND user_seq = (SELECT seq FROM users WHERE id = ?2)",
                )
                .and_then(|mut stmt| stmt.execute([workspace.to_string(), user.to_string()]))
                .map_err(backend)?;
            if removed == 0 {
                return Err(StoreError::NotMember { workspace, user });
            }
            insert_audit(tx, audit)
        })
        .await
    }
    async fn memberships(&self) -> StoreResult<Vec<workgate_core::store::Membership>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT w.id, u.id, m.inserted_at FROM memberships m \
                     JOIN workspaces w ON w.seq = m.workspace_seq \
                     JOIN users u ON u.seq = m.user_seq ORDER BY m.seq",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(workgate_core::store::Membership {
                        workspace: uuid_at(row, 0)?,
                        user: uuid_at(row, 1)?,
                        at: Timestamp(row.get(2)?),
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.write(move |tx| insert_audit(tx, Some(entry))).await
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, at, actor_id, actor, action, target_type, target_id, \
                     target_name, detail FROM audit_log ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([limit, offset], audit_from_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl LoginThrottle for SqliteStore {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        let username = username.to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT count, first_at, last_at FROM login_failures WHERE username = ?1",
                )
                .map_err(backend)?;
            let found = stmt
                .query_row([&username], failures_from_row)
                .optional()
                .map_err(backend)?;
            Ok(found.unwrap_or_default())
        })
        .await
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        let username = username.to_string();
        // Rows nobody needs any more go here, so that failures for ever new (even unknown)
        // usernames do not pile up: core says which (`window.forget_before`). An index range
        // delete (`login_failures_by_last_at`), usually of nothing.
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM login_failures WHERE last_at < ?1")
                .and_then(|mut stmt| stmt.execute([window.forget_before.micros()]))
                .map_err(backend)?;
            let current = tx
                .prepare_cached(
                    "SELECT count, first_at, last_at FROM login_failures WHERE username = ?1",
                )
                .and_then(|mut stmt| stmt.query_row([&username], failures_from_row).optional())
                .map_err(backend)?
                .unwrap_or_default();
            let next = rules::next_failures(current, &window);
            tx.prepare_cached(
                "INSERT INTO login_failures (username, count, first_at, last_at) \
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (username) DO UPDATE SET \
                 count = excluded.count, first_at = excluded.first_at, last_at = excluded.last_at",
            )
            .and_then(|mut stmt| {
                stmt.execute(rusqlite::params![
                    username,
                    next.count,
                    next.first_at.map(Timestamp::micros),
                    next.last_at.map(Timestamp::micros),
                ])
            })
            .map_err(backend)?;
            Ok(next)
        })
        .await
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        let username = username.to_string();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM login_failures WHERE username = ?1")
                .and_then(|mut stmt| stmt.execute([&username]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Secrets for SqliteStore {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            )
            .and_then(|mut stmt| stmt.execute(rusqlite::params![SETTING_TOKEN_SECRET, candidate]))
            .map_err(backend)?;
            tx.prepare_cached("SELECT value FROM settings WHERE key = ?1")
                .and_then(|mut stmt| stmt.query_row([SETTING_TOKEN_SECRET], |r| r.get(0)))
                .map_err(backend)
        })
        .await
    }
}
