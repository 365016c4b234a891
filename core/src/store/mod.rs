//! What a host must provide: a [`Store`] for the data and a [`Platform`] for time, randomness
//! and password-hashing work.
//!
//! The store trait expresses the operations the API needs, not a raw key-value interface, so
//! each backend can make them atomic in its own way (a SQLite transaction, a mutex, a carefully
//! ordered sequence of KV writes). Each method's doc says what must be atomic and unique; the
//! generic suite in `store_suite` checks it for any implementation.
//!
//! Futures are `Send` on native targets (axum needs that) and not on wasm32 (workers-rs futures
//! are not `Send`); `async_trait` is told so per target.

use async_trait::async_trait;
use uuid::Uuid;

use crate::credentials::{ApiKeyDigest, PasswordCheck, PasswordCost};
use crate::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use crate::timestamp::Timestamp;

/// `Send + Sync` on native targets, where hosts share the engine across threads; nothing on
/// wasm32, where workers-rs types are neither.
#[cfg(not(target_arch = "wasm32"))]
pub trait ThreadSafe: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync> ThreadSafe for T {}
#[cfg(target_arch = "wasm32")]
pub trait ThreadSafe {}
#[cfg(target_arch = "wasm32")]
impl<T> ThreadSafe for T {}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("a user named {0:?} already exists")]
    UsernameTaken(String),
    #[error("a workspace named {0:?} already exists")]
    WorkspaceNameTaken(String),
    #[error("user {0} not found")]
    UserNotFound(Uuid),
    #[error("workspace {0} not found")]
    WorkspaceNotFound(Uuid),
    #[error("user {user} is already a member of workspace {workspace}")]
    AlreadyMember { workspace: Uuid, user: Uuid },
    #[error("user {user} is not a member of workspace {workspace}")]
    NotMember { workspace: Uuid, user: Uuid },
    /// The change would leave the store without an enabled admin.
    #[error("the last admin cannot be removed, demoted or disabled")]
    LastAdmin,
    /// The backend failed (I/O, corruption, unavailable). The message is for logs only and must
    /// not contain secrets; clients see a generic 500.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Persistence for users, workspaces, memberships, the audit log, login throttling and
/// settings.
///
/// Ordering: every list is in insertion order (users and workspaces in the order they were
/// created; members and a user's workspaces in the order the memberships were added, those of
/// `create_user` first, in the order given), except the audit log, which is newest first.
/// `update_user` never changes `id`, `username` or `inserted_at`.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Store: ThreadSafe {
    /// A short name of the backend for `/api/_status` (e.g. `"sqlite"`).
    fn kind(&self) -> &'static str;

    /// Checks that the backend answers.
    async fn ping(&self) -> StoreResult<()>;

    // ----- users -----

    /// Number of users (the default user is bootstrapped when it is zero).
    async fn user_count(&self) -> StoreResult<u64>;
    /// Whether any user exists: what the default-user bootstrap asks, on every start of a
    /// host (every new isolate on Workers), so a backend should answer it without counting.
    async fn has_users(&self) -> StoreResult<bool> {
        Ok(self.user_count().await? > 0)
    }
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>>;
    async fn users(&self) -> StoreResult<Vec<User>>;

    /// Creates a user and its memberships, atomically: the username is unique
    /// ([`StoreError::UsernameTaken`] and nothing written otherwise); each of `new.workspaces`
    /// is joined if a workspace of that name exists, else created from the given record; the
    /// memberships are added in the order given. Returns the stored user.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;

    /// Creates several users as one all-or-nothing unit (the `users migrate` task): on any
    /// error (a taken or repeated username) nothing is written. Workspaces named by several
    /// entries are created once.
    async fn create_users(&self, batch: Vec<NewUser>) -> StoreResult<Vec<User>>;

    /// Replaces the mutable fields of the user with `user.id` (names, role, password hash, key
    /// digest and prefix, security stamp, disabled, `updated_at`), atomically with the check
    /// that at least one enabled admin remains ([`StoreError::LastAdmin`]).
    /// [`StoreError::UserNotFound`] if it does not exist.
    async fn update_user(&self, user: User) -> StoreResult<User>;

    /// Deletes a user and its memberships (its personal workspace stays), atomically with the
    /// check that at least one enabled admin remains. Returns the deleted user.
    async fn delete_user(&self, id: Uuid) -> StoreResult<User>;

    // ----- workspaces -----

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>>;
    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>>;
    /// Creates a workspace; names are unique ([`StoreError::WorkspaceNameTaken`]).
    async fn create_workspace(&self, workspace: Workspace) -> StoreResult<Workspace>;
    /// Deletes a workspace and all its memberships, atomically. Returns it.
    async fn delete_workspace(&self, id: Uuid) -> StoreResult<Workspace>;

    // ----- memberships -----

    /// The workspaces `user` is a member of, by membership time.
    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>>;
    /// The members of `workspace`, by membership time.
    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>>;
    /// The workspace names of each of `users` (same order as `users`; each list by membership
    /// time): what listing users shows. The default asks [`Store::workspaces_of`] once per user;
    /// a backend where each call is a round trip (KV) answers all of them at once.
    async fn workspace_names_of_users(&self, users: &[Uuid]) -> StoreResult<Vec<Vec<String>>> {
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            out.push(
                self.workspaces_of(*user)
                    .await?
                    .into_iter()
                    .map(|w| w.name)
                    .collect(),
            );
        }
        Ok(out)
    }
    /// Adds a membership; each (workspace, user) pair at most once
    /// ([`StoreError::AlreadyMember`]); both must exist.
    async fn add_member(&self, workspace: Uuid, user: Uuid, at: Timestamp) -> StoreResult<()>;
    /// Removes a membership ([`StoreError::NotMember`] if there is none).
    async fn remove_member(&self, workspace: Uuid, user: Uuid) -> StoreResult<()>;

    // ----- audit log -----

    /// Appends an entry; entries are never changed or removed.
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()>;
    /// Up to `limit` entries, newest first, skipping `offset`.
    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>>;

    // ----- login throttling -----

    /// The failed-login record for `username` (default when none).
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures>;
    /// Atomically records one failed login: when the record's window (started at `first_at`)
    /// is older than `window_secs`, a new window starts at `now` with count 1; otherwise the
    /// count grows by one. Concurrent failures must all be counted. Returns the new record.
    async fn record_login_failure(
        &self,
        username: &str,
        now: Timestamp,
        window_secs: i64,
    ) -> StoreResult<LoginFailures>;
    /// Forgets the failures of `username` (after a successful login).
    async fn clear_login_failures(&self, username: &str) -> StoreResult<()>;

    // ----- settings -----

    /// The token signing secret: the stored one if any, else `candidate`, stored atomically so
    /// that every caller (and every process sharing the store) gets the same secret.
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>>;
}

/// What core needs from the machine it runs on: a clock, randomness, and a place to do
/// password-hashing work.
///
/// Hashing is CPU-heavy (tens of milliseconds); a native host overrides the two password
/// methods to run them on a blocking thread pool so logins never stall other requests.
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Platform: ThreadSafe {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// Fills `buf` with cryptographically secure random bytes.
    fn fill_random(&self, buf: &mut [u8]);

    /// Hashes a password (see [`crate::credentials::hash_password`]).
    async fn hash_password(
        &self,
        password: String,
        cost: PasswordCost,
        salt: [u8; 16],
    ) -> Result<String, String> {
        crate::credentials::hash_password(&password, cost, salt)
    }

    /// Verifies a password (see [`crate::credentials::verify_password`]).
    async fn verify_password(
        &self,
        password: String,
        stored: String,
        cost: PasswordCost,
    ) -> PasswordCheck {
        crate::credentials::verify_password(&password, &stored, cost)
    }
}
