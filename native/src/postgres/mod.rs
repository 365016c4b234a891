//! [`PostgresStore`]: every part of core's `Stores` on PostgreSQL, for several `workgate serve`
//! instances sharing one database.
//!
//! - A pool of connections (deadpool-postgres over tokio-postgres); statements are prepared
//!   once per connection (`prepare_cached`).
//! - Every write is one READ COMMITTED transaction that reads, decides with core's function
//!   (`workgate_core::rules`, `records`) and writes, with the audit entry it records.
//! - Invariants across instances hold by **explicit row locks**, not by a stricter isolation
//!   level: a user edit or deletion locks the user's row (`FOR UPDATE`), so concurrent edits of
//!   one user compose; one that may take an admin away then locks the single `admin_guard` row
//!   before counting the enabled admins, so two demotions of the last two admins run one after
//!   the other and the second counts the first's result; a failed login locks its
//!   `login_failures` row, so every failure is counted; a dataset write takes a transaction
//!   advisory lock on (workspace, dataset), so parallel bulks into a new dataset create it once.
//!   Unique names are the schema's constraints. Locks are always taken in one order (a row,
//!   then the guard), so these cannot deadlock; a deadlock or serialization failure from
//!   elsewhere (40P01, 40001) is retried with backoff all the same.
//! - Nothing is cached in the process: every request reads the database, so a change made
//!   through one instance (a rotated key, a disabled user) is seen by every instance on its
//!   next request.

mod datasets;
mod restore;
pub mod schema;
pub mod url;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Transaction};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use workgate_core::{
    AuditLog, Directory, FailureWindow, LoginThrottle, Role, Secrets, StoreError, StoreResult,
    Timestamp, UserEdit, rules,
};

pub use schema::{Applied, SchemaError};
pub use url::{PostgresUrl, Tls, UrlError};

/// Connections per instance when nothing else is said.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How often a transaction that lost a deadlock or serialization race is tried in all.
const ATTEMPTS: u32 = 8;
/// How long a request waits for a free pooled connection, and for a new one to open.
const POOL_WAIT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections opened at start, so that the first requests do not each wait for one.
const WARM_CONNECTIONS: usize = 4;

const SETTING_TOKEN_SECRET: &str = "token_secret";

/// The PostgreSQL store. Cheap to clone (a shared pool).
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("cannot set up TLS for PostgreSQL: {0}")]
    Tls(String),
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

impl PostgresStore {
    /// Connects with up to `pool_size` connections and applies pending migrations (under the
    /// migration lock; see [`schema`]). Fails on a database newer than this binary.
    pub async fn open(
        url: &PostgresUrl,
        pool_size: usize,
    ) -> Result<(PostgresStore, Vec<Applied>), OpenError> {
        let store = PostgresStore::connect(url, pool_size)?;
        let mut client = store.pool.get().await.map_err(|e| OpenError::Connect {
            target: url.describe(),
            reason: describe_pool_error(&e),
        })?;
        let applied = schema::migrate(&mut client).await?;
        drop(client);
        store.warm_up(pool_size.min(WARM_CONNECTIONS)).await;
        Ok((store, applied))
    }

    /// The pool's figures now, for the metrics.
    pub fn pool_figures(&self) -> crate::metrics::PoolFigures {
        let status = self.pool.status();
        crate::metrics::PoolFigures {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }

    /// The pool alone, without connecting or migrating.
    fn connect(url: &PostgresUrl, pool_size: usize) -> Result<PostgresStore, OpenError> {
        let mut config = url.config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &url.tls {
            Tls::Disabled => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            Tls::Verified { extra_root } => Manager::from_config(
                config,
                tls_connector(extra_root.as_deref())?,
                manager_config,
            ),
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT + Duration::from_secs(1)))
            .build()
            .map_err(|e| OpenError::Connect {
                target: url.describe(),
                reason: e.to_string(),
            })?;
        Ok(PostgresStore { pool })
    }

    /// Opens up to `n` pooled connections at once and returns them to the pool. A failure is
    /// left for the first request to meet (and report).
    async fn warm_up(&self, n: usize) {
        let mut opening = Vec::with_capacity(n);
        for _ in 0..n {
            let pool = self.pool.clone();
            opening.push(tokio::spawn(async move { pool.get().await }));
        }
        let mut held = Vec::with_capacity(n);
        for task in opening {
            if let Ok(Ok(conn)) = task.await {
                held.push(conn);
            }
        }
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> StoreResult<i32> {
        let client = self.client().await?;
        schema::current_version(&client)
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))
    }

    pub(crate) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(describe_pool_error(&e)))
    }
}

/// rustls with the system's roots (and `extra_root`), verifying chain and host name.
fn tls_connector(
    extra_root: Option<&std::path::Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, OpenError> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system root rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_root {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
            OpenError::Tls(format!("cannot read sslrootcert {}: {e}", path.display()))
        })?;
        for cert in certs {
            let cert = cert.map_err(|e| {
                OpenError::Tls(format!("cannot read sslrootcert {}: {e}", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                OpenError::Tls(format!("bad certificate in {}: {e}", path.display()))
            })?;
        }
    }
    if roots.is_empty() {
        return Err(OpenError::Tls(
            "no trusted root certificates (none on the system and no sslrootcert)".into(),
        ));
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| OpenError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

// ---------------------------------------------------------------------------------------------
// Errors and transactions

/// What a step inside a transaction can fail with: core's refusal, or PostgreSQL's error (kept
/// whole so that a lost race is retried and a constraint is mapped by name).
pub(crate) enum TxError {
    Store(StoreError),
    Pg(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Pg(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

pub(crate) type TxResult<T> = Result<T, TxError>;

/// PostgreSQL's error, for logs: its message and SQLSTATE (never the statement's parameters).
pub(crate) fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn describe_pool_error(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => describe_error(e),
        other => other.to_string(),
    }
}

pub(crate) fn backend(e: tokio_postgres::Error) -> StoreError {
    StoreError::Backend(describe_error(&e))
}

fn lost_a_race(e: &TxError) -> bool {
    match e {
        TxError::Pg(e) => matches!(
            e.code(),
            Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
        ),
        TxError::Store(_) => false,
    }
}

/// The constraint a failed statement broke, when it was a unique violation.
pub(crate) fn unique_violation(e: &TxError) -> Option<&str> {
    match e {
        TxError::Pg(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            e.as_db_error().and_then(|db| db.constraint())
        }
        _ => None,
    }
}

/// How a transaction attempt ended.
pub(crate) enum Attempt<T> {
    Done(StoreResult<T>),
    Retry,
}

/// Commits after a successful body, rolls back after a failed one; a lost race asks for
/// another attempt while `attempt` is below [`ATTEMPTS`].
pub(crate) async fn finish<T>(
    tx: Transaction<'_>,
    outcome: TxResult<T>,
    attempt: u32,
) -> Attempt<T> {
    let outcome = match outcome {
        Ok(value) => tx.commit().await.map(|()| value).map_err(TxError::Pg),
        Err(e) => {
            // The connection goes back to the pool either way; a failed rollback means a
            // broken connection, which the pool drops.
            let _ = tx.rollback().await;
            Err(e)
        }
    };
    match outcome {
        Ok(value) => Attempt::Done(Ok(value)),
        Err(e) if lost_a_race(&e) && attempt < ATTEMPTS => Attempt::Retry,
        Err(TxError::Store(e)) => Attempt::Done(Err(e)),
        Err(TxError::Pg(e)) => Attempt::Done(Err(backend(e))),
    }
}

/// A short wait before attempt `attempt + 1`, growing and jittered so that racing instances
/// spread out.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or(0);
    let micros = (500u64 << attempt.min(8)) + u64::from(jitter) * 2;
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Runs `$body` (an expression using `$tx`, a `deadpool_postgres::Transaction`, evaluating to
/// `TxResult<T>`) in a transaction on a pooled connection, retrying lost races; evaluates to
/// `StoreResult<T>`.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let mut attempt = 1u32;
        loop {
            let $tx = client
                .transaction()
                .await
                .map_err(crate::postgres::backend)?;
            let outcome: crate::postgres::TxResult<_> = async { $body }.await;
            match crate::postgres::finish($tx, outcome, attempt).await {
                crate::postgres::Attempt::Done(result) => break result,
                crate::postgres::Attempt::Retry => {
                    crate::postgres::backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
    }};
}
pub(crate) use in_transaction;

// ---------------------------------------------------------------------------------------------
// Rows

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

fn corrupt(what: String) -> StoreError {
    StoreError::Backend(format!("unreadable row: {what}"))
}

fn user_from_row(row: &Row) -> StoreResult<User> {
    let get = |e: tokio_postgres::Error| corrupt(e.to_string());
    let role_text: &str = row.try_get(4).map_err(get)?;
    let role = Role::parse(role_text).ok_or_else(|| corrupt(format!("bad role {role_text:?}")))?;
    let digest: &[u8] = row.try_get(6).map_err(get)?;
    let digest: [u8; 32] = digest
        .try_into()
        .map_err(|_| corrupt("API key digest is not 32 bytes".into()))?;
    Ok(User {
        id: row.try_get(0).map_err(get)?,
        username: row.try_get(1).map_err(get)?,
        first_name: row.try_get(2).map_err(get)?,
        last_name: row.try_get(3).map_err(get)?,
        role,
        password_hash: row.try_get(5).map_err(get)?,
        api_key_digest: ApiKeyDigest(digest),
        api_key_prefix: row.try_get(7).map_err(get)?,
        security_stamp: row.try_get(8).map_err(get)?,
        disabled: row.try_get(9).map_err(get)?,
        inserted_at: Timestamp(row.try_get(10).map_err(get)?),
        updated_at: Timestamp(row.try_get(11).map_err(get)?),
    })
}

fn workspace_from_row(row: &Row) -> StoreResult<Workspace> {
    let get = |e: tokio_postgres::Error| corrupt(e.to_string());
    Ok(Workspace {
        id: row.try_get(0).map_err(get)?,
        name: row.try_get(1).map_err(get)?,
        inserted_at: Timestamp(row.try_get(2).map_err(get)?),
        updated_at: Timestamp(row.try_get(3).map_err(get)?),
    })
}

fn audit_from_row(row: &Row) -> StoreResult<AuditEntry> {
    let get = |e: tokio_postgres::Error| corrupt(e.to_string());
    Ok(AuditEntry {
        id: row.try_get(0).map_err(get)?,
        at: Timestamp(row.try_get(1).map_err(get)?),
        actor_id: row.try_get(2).map_err(get)?,
        actor: row.try_get(3).map_err(get)?,
        action: row.try_get(4).map_err(get)?,
        target_type: row.try_get(5).map_err(get)?,
        target_id: row.try_get(6).map_err(get)?,
        target_name: row.try_get(7).map_err(get)?,
        detail: row.try_get(8).map_err(get)?,
    })
}

fn failures_from_row(row: &Row) -> StoreResult<LoginFailures> {
    let get = |e: tokio_postgres::Error| corrupt(e.to_string());
    let count: i64 = row.try_get(0).map_err(get)?;
    Ok(LoginFailures {
        count: u32::try_from(count).map_err(|_| corrupt(format!("bad count {count}")))?,
        first_at: row
            .try_get::<_, Option<i64>>(1)
            .map_err(get)?
            .map(Timestamp),
        last_at: row
            .try_get::<_, Option<i64>>(2)
            .map_err(get)?
            .map(Timestamp),
    })
}

fn all<T>(rows: Vec<Row>, f: fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

// ---------------------------------------------------------------------------------------------
// Statements

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
const USER_BY_ID_FOR_UPDATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.id = $1 FOR UPDATE"
);
const USER_BY_USERNAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.username = $1"
);
const USER_BY_API_KEY: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE u.api_key_digest = $1"
);
const WORKSPACE_BY_ID: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces w WHERE w.id = $1"
);
const WORKSPACE_BY_NAME: &str = concat!(
    "SELECT ",
    workspace_columns!(),
    " FROM workspaces w WHERE w.name = $1"
);
const INSERT_AUDIT: &str = "INSERT INTO audit_log (id, at, actor_id, actor, action, target_type, \
                            target_id, target_name, detail) \
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const FAILURES: &str = "SELECT count, first_at, last_at FROM login_failures WHERE username = $1";

/// Writes audit entries inside `tx`: with the change they record, so both commit or neither.
pub(crate) async fn insert_audit(
    tx: &Transaction<'_>,
    entries: impl IntoIterator<Item = AuditEntry>,
) -> TxResult<()> {
    let mut stmt = None;
    for entry in entries {
        if stmt.is_none() {
            stmt = Some(tx.prepare_cached(INSERT_AUDIT).await?);
        }
        let Some(stmt) = &stmt else { continue };
        tx.execute(
            stmt,
            &[
                &entry.id,
                &entry.at.micros(),
                &entry.actor_id,
                &entry.actor,
                &entry.action,
                &entry.target_type,
                &entry.target_id,
                &entry.target_name,
                &entry.detail,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Counts the enabled admins after locking the guard row: what every change that may take an
/// admin away does before core's last-admin rule decides.
async fn enabled_admins_locked(tx: &Transaction<'_>) -> TxResult<u64> {
    let guard = tx
        .prepare_cached("SELECT 1 FROM admin_guard FOR UPDATE")
        .await?;
    tx.execute(&guard, &[]).await?;
    let count = tx
        .prepare_cached("SELECT count(*) FROM users WHERE counts_as_admin")
        .await?;
    let n: i64 = tx.query_one(&count, &[]).await?.get(0);
    Ok(n as u64)
}

/// Writes `user`'s row as it is (ids, hashes, digest, times; `counts_as_admin` from core's
/// rule), inside `tx`, and answers its `seq`: the one user insert, for a new user and for an
/// import (`restore.rs`). Each caller maps a failure its own way.
pub(crate) async fn insert_user_row(
    tx: &Transaction<'_>,
    user: &User,
) -> Result<i64, tokio_postgres::Error> {
    let insert = tx
        .prepare_cached(
            "INSERT INTO users (id, username, first_name, last_name, role, password_hash, \
             api_key_digest, api_key_prefix, security_stamp, disabled, inserted_at, updated_at, \
             counts_as_admin) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
        )
        .await?;
    let row = tx
        .query_one(
            &insert,
            &[
                &user.id,
                &user.username,
                &user.first_name,
                &user.last_name,
                &user.role.as_str(),
                &user.password_hash,
                &&user.api_key_digest.0[..],
                &user.api_key_prefix,
                &user.security_stamp,
                &user.disabled,
                &user.inserted_at.micros(),
                &user.updated_at.micros(),
                &rules::counts_as_admin(user),
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Inserts a user and joins (creating if needed) its workspaces, inside `tx`.
async fn insert_user(tx: &Transaction<'_>, new: &NewUser) -> TxResult<User> {
    let NewUser { user, workspaces } = new;
    let user_seq: i64 = match insert_user_row(tx, user).await.map_err(TxError::Pg) {
        Ok(seq) => seq,
        Err(e) => {
            return Err(match unique_violation(&e) {
                Some("users_username_key") => {
                    StoreError::UsernameTaken(user.username.clone()).into()
                }
                Some("users_api_key_digest_key") => {
                    StoreError::Backend("API key digest collision".into()).into()
                }
                _ => e,
            });
        }
    };
    if workspaces.is_empty() {
        return Ok(user.clone());
    }
    // Joins the workspace of that name if one exists, else creates it from the record; the
    // no-op update locks an existing row, so a concurrent deletion waits for this transaction.
    let workspace = tx
        .prepare_cached(
            "INSERT INTO workspaces (id, name, inserted_at, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING seq",
        )
        .await?;
    let member = tx
        .prepare_cached(
            "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .await?;
    for ws in workspaces {
        let ws_seq: i64 = tx
            .query_one(
                &workspace,
                &[
                    &ws.id,
                    &ws.name,
                    &ws.inserted_at.micros(),
                    &ws.updated_at.micros(),
                ],
            )
            .await?
            .get(0);
        tx.execute(&member, &[&ws_seq, &user_seq, &user.inserted_at.micros()])
            .await?;
    }
    Ok(user.clone())
}

// ---------------------------------------------------------------------------------------------
// The traits

impl PostgresStore {
    async fn user_where(
        &self,
        sql: &'static str,
        key: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> StoreResult<Option<User>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(backend)?;
        let row = client.query_opt(&stmt, &[key]).await.map_err(backend)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn workspace_where(
        &self,
        sql: &'static str,
        key: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> StoreResult<Option<Workspace>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(backend)?;
        let row = client.query_opt(&stmt, &[key]).await.map_err(backend)?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(backend)?;
        client.query(&stmt, params).await.map_err(backend)
    }
}

#[async_trait]
impl Directory for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgresql"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.query("SELECT 1", &[]).await.map(|_| ())
    }

    async fn generation(&self) -> StoreResult<Option<u64>> {
        let rows = self
            .query("SELECT value FROM directory_generation", &[])
            .await?;
        let value: Option<i64> = rows.first().map(|r| r.get(0));
        Ok(value.map(|v| v as u64))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        let rows = self.query("SELECT count(*) FROM users", &[]).await?;
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(n as u64)
    }

    async fn has_users(&self) -> StoreResult<bool> {
        let rows = self
            .query("SELECT EXISTS (SELECT 1 FROM users)", &[])
            .await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.user_where(USER_BY_ID, &id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        self.user_where(USER_BY_USERNAME, &username).await
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        self.user_where(USER_BY_API_KEY, &&digest.0[..]).await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = self
            .query(
                concat!("SELECT ", user_columns!(), " FROM users u ORDER BY u.seq"),
                &[],
            )
            .await?;
        all(rows, user_from_row)
    }

    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User> {
        in_transaction!(self, |tx| {
            let user = insert_user(&tx, &new).await?;
            insert_audit(&tx, audit.clone()).await?;
            Ok(user)
        })
    }

    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>> {
        in_transaction!(self, |tx| {
            let mut created = Vec::with_capacity(batch.len());
            for new in &batch {
                created.push(insert_user(&tx, new).await?);
            }
            insert_audit(&tx, audit.iter().cloned()).await?;
            Ok(created)
        })
    }

    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        in_transaction!(self, |tx| {
            let stmt = tx.prepare_cached(USER_BY_ID_FOR_UPDATE).await?;
            let Some(row) = tx.query_opt(&stmt, &[&id]).await? else {
                return Err(StoreError::UserNotFound(id).into());
            };
            let old = user_from_row(&row)?;
            let stored = edit.apply(&old)?;
            if stored == old {
                return Ok(old);
            }
            if rules::takes_an_admin_away(&old, Some(&stored)) {
                let admins = enabled_admins_locked(&tx).await?;
                rules::an_admin_remains(&old, Some(&stored), admins)?;
            }
            let update = tx
                .prepare_cached(
                    "UPDATE users SET first_name = $2, last_name = $3, role = $4, \
                     password_hash = $5, api_key_digest = $6, api_key_prefix = $7, \
                     security_stamp = $8, disabled = $9, updated_at = $10, counts_as_admin = $11 \
                     WHERE id = $1",
                )
                .await?;
            let updated = tx
                .execute(
                    &update,
                    &[
                        &stored.id,
                        &stored.first_name,
                        &stored.last_name,
                        &stored.role.as_str(),
                        &stored.password_hash,
                        &&stored.api_key_digest.0[..],
                        &stored.api_key_prefix,
                        &stored.security_stamp,
                        &stored.disabled,
                        &stored.updated_at.micros(),
                        &rules::counts_as_admin(&stored),
                    ],
                )
                .await
                .map_err(TxError::Pg);
            if let Err(e) = updated {
                return Err(match unique_violation(&e) {
                    Some("users_api_key_digest_key") => {
                        StoreError::Backend("API key digest collision".into()).into()
                    }
                    _ => e,
                });
            }
            insert_audit(&tx, edit.audit_entry(&old, &stored)).await?;
            Ok(stored)
        })
    }

    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User> {
        in_transaction!(self, |tx| {
            let stmt = tx.prepare_cached(USER_BY_ID_FOR_UPDATE).await?;
            let Some(row) = tx.query_opt(&stmt, &[&id]).await? else {
                return Err(StoreError::UserNotFound(id).into());
            };
            let user = user_from_row(&row)?;
            if rules::takes_an_admin_away(&user, None) {
                let admins = enabled_admins_locked(&tx).await?;
                rules::an_admin_remains(&user, None, admins)?;
            }
            // Memberships go with it (ON DELETE CASCADE).
            let delete = tx.prepare_cached("DELETE FROM users WHERE id = $1").await?;
            tx.execute(&delete, &[&id]).await?;
            insert_audit(&tx, audit.clone()).await?;
            Ok(user)
        })
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let rows = self
            .query(
                concat!(
                    "SELECT ",
                    workspace_columns!(),
                    " FROM workspaces w ORDER BY w.seq"
                ),
                &[],
            )
            .await?;
        all(rows, workspace_from_row)
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        self.workspace_where(WORKSPACE_BY_ID, &id).await
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        self.workspace_where(WORKSPACE_BY_NAME, &name).await
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        in_transaction!(self, |tx| {
            let insert = tx
                .prepare_cached(
                    "INSERT INTO workspaces (id, name, inserted_at, updated_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .await?;
            let inserted = tx
                .execute(
                    &insert,
                    &[
                        &workspace.id,
                        &workspace.name,
                        &workspace.inserted_at.micros(),
                        &workspace.updated_at.micros(),
                    ],
                )
                .await
                .map_err(TxError::Pg);
            match inserted {
                Ok(_) => {
                    insert_audit(&tx, audit.clone()).await?;
                    Ok(workspace.clone())
                }
                Err(e) if unique_violation(&e) == Some("workspaces_name_key") => {
                    Err(StoreError::WorkspaceNameTaken(workspace.name.clone()).into())
                }
                Err(e) => Err(e),
            }
        })
    }

    async fn delete_workspace(
        &self,
        id: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        in_transaction!(self, |tx| {
            let delete = tx
                .prepare_cached(concat!(
                    "DELETE FROM workspaces w WHERE w.id = $1 RETURNING ",
                    workspace_columns!()
                ))
                .await?;
            let Some(row) = tx.query_opt(&delete, &[&id]).await? else {
                return Err(StoreError::WorkspaceNotFound(id).into());
            };
            insert_audit(&tx, audit.clone()).await?;
            Ok(workspace_from_row(&row)?)
        })
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        let rows = self
            .query(
                concat!(
                    "SELECT ",
                    workspace_columns!(),
                    " FROM memberships m JOIN workspaces w ON w.seq = m.workspace_seq \
                     WHERE m.user_seq = (SELECT seq FROM users WHERE id = $1) ORDER BY m.seq"
                ),
                &[&user],
            )
            .await?;
        all(rows, workspace_from_row)
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        let rows = self
            .query(
                concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM memberships m JOIN users u ON u.seq = m.user_seq \
                     WHERE m.workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) \
                     ORDER BY m.seq"
                ),
                &[&workspace],
            )
            .await?;
        all(rows, user_from_row)
    }

    async fn workspace_names_of_users(&self, users: &[Uuid]) -> StoreResult<Vec<Vec<String>>> {
        let rows = self
            .query(
                "SELECT u.id, w.name FROM memberships m \
                 JOIN users u ON u.seq = m.user_seq \
                 JOIN workspaces w ON w.seq = m.workspace_seq \
                 WHERE u.id = ANY($1) ORDER BY m.seq",
                &[&users],
            )
            .await?;
        let mut out = vec![Vec::new(); users.len()];
        for row in rows {
            let id: Uuid = row.get(0);
            let name: String = row.get(1);
            for (i, _) in users.iter().enumerate().filter(|(_, u)| **u == id) {
                out[i].push(name.clone());
            }
        }
        Ok(out)
    }

    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| {
            // KEY SHARE: neither row can be deleted until this commits.
            let ws = tx
                .prepare_cached("SELECT seq FROM workspaces WHERE id = $1 FOR KEY SHARE")
                .await?;
            let Some(ws_seq) = tx.query_opt(&ws, &[&workspace]).await? else {
                return Err(StoreError::WorkspaceNotFound(workspace).into());
            };
            let us = tx
                .prepare_cached("SELECT seq FROM users WHERE id = $1 FOR KEY SHARE")
                .await?;
            let Some(user_seq) = tx.query_opt(&us, &[&user]).await? else {
                return Err(StoreError::UserNotFound(user).into());
            };
            let (ws_seq, user_seq): (i64, i64) = (ws_seq.get(0), user_seq.get(0));
            let insert = tx
                .prepare_cached(
                    "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) \
                     VALUES ($1, $2, $3)",
                )
                .await?;
            match tx
                .execute(&insert, &[&ws_seq, &user_seq, &at.micros()])
                .await
                .map_err(TxError::Pg)
            {
                Ok(_) => insert_audit(&tx, audit.clone()).await,
                Err(e) if unique_violation(&e) == Some("memberships_pair_key") => {
                    Err(StoreError::AlreadyMember { workspace, user }.into())
                }
                Err(e) => Err(e),
            }
        })
    }

    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        in_transaction!(self, |tx| {
            let delete = tx
                .prepare_cached(
                    "DELETE FROM memberships \
                     WHERE workspace_seq = (SELECT seq FROM workspaces WHERE id = $1) \
                       AND user_seq = (SELECT seq FROM users WHERE id = $2)",
                )
                .await?;
            if tx.execute(&delete, &[&workspace, &user]).await? == 0 {
                return Err(StoreError::NotMember { workspace, user }.into());
            }
            insert_audit(&tx, audit.clone()).await
        })
    }
    async fn memberships(&self) -> StoreResult<Vec<workgate_core::store::Membership>> {
        let rows = self
            .query(
                "SELECT w.id, u.id, m.inserted_at FROM memberships m \
                 JOIN workspaces w ON w.seq = m.workspace_seq \
                 JOIN users u ON u.seq = m.user_seq ORDER BY m.seq",
                &[],
            )
            .await?;
        all(rows, |row| {
            let get = |e: tokio_postgres::Error| corrupt(e.to_string());
            Ok(workgate_core::store::Membership {
                workspace: row.try_get(0).map_err(get)?,
                user: row.try_get(1).map_err(get)?,
                at: Timestamp(row.try_get(2).map_err(get)?),
            })
        })
    }
}

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        in_transaction!(self, |tx| insert_audit(&tx, Some(entry.clone())).await)
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        let rows = self
            .query(
                "SELECT id, at, actor_id, actor, action, target_type, target_id, target_name, \
                 detail FROM audit_log ORDER BY seq DESC LIMIT $1 OFFSET $2",
                &[&i64::from(limit), &i64::from(offset)],
            )
            .await?;
        all(rows, audit_from_row)
    }
}

#[async_trait]
impl LoginThrottle for PostgresStore {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        let rows = self.query(FAILURES, &[&username]).await?;
        match rows.first() {
            Some(row) => failures_from_row(row),
            None => Ok(LoginFailures::default()),
        }
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        // Rows nobody needs any more go first, so that failures for ever new (even unknown)
        // usernames do not pile up: core says which (`window.forget_before`). Rows another
        // transaction holds are skipped (it is counting on them), so this never waits or
        // deadlocks; it is housekeeping, and a failure of it is not the login's.
        if let Err(e) = self
            .query(
                "DELETE FROM login_failures WHERE username IN (SELECT username FROM \
                 login_failures WHERE last_at < $1 FOR UPDATE SKIP LOCKED)",
                &[&window.forget_before.micros()],
            )
            .await
        {
            tracing::debug!("could not delete expired login failures: {e}");
        }
        in_transaction!(self, |tx| {
            // The row exists (or is created empty) and is locked: concurrent failures of one
            // username queue here and each counts on the one before.
            let ensure = tx
                .prepare_cached(
                    "INSERT INTO login_failures (username, count) VALUES ($1, 0) \
                     ON CONFLICT (username) DO NOTHING",
                )
                .await?;
            tx.execute(&ensure, &[&username]).await?;
            let lock = tx
                .prepare_cached(
                    "SELECT count, first_at, last_at FROM login_failures WHERE username = $1 \
                     FOR UPDATE",
                )
                .await?;
            let current = failures_from_row(&tx.query_one(&lock, &[&username]).await?)?;
            let next = rules::next_failures(current, &window);
            let save = tx
                .prepare_cached(
                    "UPDATE login_failures SET count = $2, first_at = $3, last_at = $4 \
                     WHERE username = $1",
                )
                .await?;
            tx.execute(
                &save,
                &[
                    &username,
                    &i64::from(next.count),
                    &next.first_at.map(Timestamp::micros),
                    &next.last_at.map(Timestamp::micros),
                ],
            )
            .await?;
            Ok(next)
        })
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        self.query(
            "DELETE FROM login_failures WHERE username = $1 RETURNING 1",
            &[&username],
        )
        .await
        .map(|_| ())
    }
}

#[async_trait]
impl Secrets for PostgresStore {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        in_transaction!(self, |tx| {
            let insert = tx
                .prepare_cached(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                )
                .await?;
            tx.execute(&insert, &[&SETTING_TOKEN_SECRET, &candidate])
                .await?;
            let select = tx
                .prepare_cached("SELECT value FROM settings WHERE key = $1")
                .await?;
            Ok(tx
                .query_one(&select, &[&SETTING_TOKEN_SECRET])
                .await?
                .get(0))
        })
    }
}
