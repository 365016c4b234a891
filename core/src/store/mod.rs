//! What a host must provide: its [`Stores`] — one backend per concern, put together by the
//! host — and a [`Platform`](crate::platform::Platform) for time, randomness and hashing.
//!
//! Like rustls's `CryptoProvider`, [`Stores`] is a set of independent parts, each a small trait
//! of its own, and a host may take each from a different backend (the Worker: users and
//! workspaces on KV, login throttling in a Durable Object per username, the token secret in the
//! `Registry` Durable Object):
//!
//! - [`Directory`] — users, workspaces and memberships;
//! - [`AuditLog`] — the append-only log of who changed what;
//! - [`LoginThrottle`] — failed-login records per username;
//! - [`Secrets`] — the generated token signing secret.
//!
//! **Rules in core, atomicity in stores.** Every invariant is decided by a function in
//! [`crate::rules`]; a store only makes "read, decide with core's function, write" atomic (a
//! SQLite transaction, a mutex, a Durable Object's single-threaded event) and keeps no rule of
//! its own. Each method's doc says what must be atomic and unique; the generic suite in
//! `store_suite` checks it for any implementation.
//!
//! Futures are `Send` on native targets (axum needs that) and not on wasm32 (workers-rs futures
//! are not `Send`); `async_trait` is told so per target.

mod audit;
mod datasets;
mod directory;
mod restore;
mod secrets;
mod throttle;

use std::sync::Arc;

use uuid::Uuid;

pub use audit::AuditLog;
pub use datasets::{DatasetEdit, Datasets, RecordSelection, RecordWrite, WriteFn, WriteRefused};
pub use directory::{DetailFn, Directory, Membership, UserEdit};
pub use restore::Restore;
pub use secrets::Secrets;
pub use throttle::{FailureWindow, LoginThrottle};

/// `Send + Sync` on native targets, where hosts share the engine across threads; nothing on
/// wasm32, where workers-rs types are neither.
#[cfg(not(target_arch = "wasm32"))]
pub trait ThreadSafe: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> ThreadSafe for T {}
#[cfg(target_arch = "wasm32")]
pub trait ThreadSafe {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> ThreadSafe for T {}

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
    /// The change would leave the store without an enabled admin
    /// ([`crate::rules::an_admin_remains`]).
    #[error("the last admin cannot be removed, demoted or disabled")]
    LastAdmin,
    /// A [`UserEdit`] refused the record it was given (it changed since the caller read it in
    /// a way that makes the edit meaningless, e.g. a password change whose session ended).
    #[error("the user changed meanwhile: {0}")]
    Stale(&'static str),
    /// The backend failed (I/O, corruption, unavailable). The message is for logs only and must
    /// not contain secrets; clients see a generic 500.
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The stores a host puts together: one part per concern. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    pub directory: Arc<dyn Directory>,
    pub audit: Arc<dyn AuditLog>,
    pub throttle: Arc<dyn LoginThrottle>,
    pub secrets: Arc<dyn Secrets>,
    /// `None` on a host that does not keep datasets yet: the dataset endpoints answer 501.
    pub datasets: Option<Arc<dyn Datasets>>,
    /// A backend that writes a whole import in one transaction (SQLite, PostgreSQL); `None`:
    /// an import is written part by part through the other parts (`crate::dump::import`).
    pub restore: Option<Arc<dyn Restore>>,
}

impl Stores {
    /// Every part from one backend that implements them all (the memory and SQLite stores).
    pub fn all_in<B>(backend: Arc<B>) -> Stores
    where
        B: Directory + AuditLog + LoginThrottle + Secrets + 'static,
    {
        Stores {
            directory: backend.clone(),
            audit: backend.clone(),
            throttle: backend.clone(),
            secrets: backend,
            datasets: None,
            restore: None,
        }
    }

    /// The same stores with `datasets` as the datasets part.
    pub fn with_datasets(self, datasets: Arc<dyn Datasets>) -> Stores {
        Stores {
            datasets: Some(datasets),
            ..self
        }
    }

    /// The same stores with `restore` as the way an import is written at once.
    pub fn with_restore(self, restore: Arc<dyn Restore>) -> Stores {
        Stores {
            restore: Some(restore),
            ..self
        }
    }

    /// A short name of the backends for `/api/_status` (the directory's, e.g. `"sqlite"`).
    pub fn kind(&self) -> &'static str {
        self.directory.kind()
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("directory", &self.directory.kind())
            .finish_non_exhaustive()
    }
}
