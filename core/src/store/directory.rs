//! [`Directory`]: users, workspaces and memberships.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::{StoreResult, ThreadSafe};
use crate::credentials::ApiKeyDigest;
use crate::domain::{AuditEntry, NewUser, User, Workspace};
use crate::timestamp::Timestamp;

/// A change to one user, which the store applies to the user's *current* record inside its
/// atomic section — so two concurrent edits of one user compose instead of the later one
/// silently writing back a stale copy of the earlier one's fields.
///
/// The edit may run more than once (a store that retries on a version conflict), so it must
/// only compute. It can refuse with an error (e.g. [`super::StoreError::Stale`]), which the
/// store returns unchanged, having written nothing.
#[derive(Clone)]
pub struct UserEdit {
    edit: Arc<EditFn>,
    audit: Option<(AuditEntry, DetailFn)>,
}

/// The detail of an edit's audit entry, from the record before and after.
pub type DetailFn = fn(&User, &User) -> Option<String>;

/// What a [`UserEdit`] runs: the current record in, the edited record (or a refusal) out.
type EditFn = dyn Fn(&User) -> StoreResult<User> + Send + Sync;

impl UserEdit {
    pub fn new(edit: impl Fn(&User) -> StoreResult<User> + Send + Sync + 'static) -> Self {
        UserEdit {
            edit: Arc::new(edit),
            audit: None,
        }
    }

    /// The same edit, recorded in the audit log with the change (when it changes anything):
    /// `entry` with its detail from `detail(before, after)`.
    pub fn audited(self, entry: AuditEntry, detail: DetailFn) -> Self {
        UserEdit {
            audit: Some((entry, detail)),
            ..self
        }
    }

    /// The same edit followed by `after`, with the same audit entry (for wrappers that adjust
    /// what a store writes).
    pub fn and_then(self, after: impl Fn(User) -> User + Send + Sync + 'static) -> Self {
        let first = self.edit.clone();
        UserEdit {
            edit: Arc::new(move |current| Ok(after(first(current)?))),
            audit: self.audit,
        }
    }

    /// The same edit with no audit entry.
    pub fn without_audit(self) -> Self {
        UserEdit {
            audit: None,
            ..self
        }
    }

    /// The audit entry a store commits with this edit's change of `before` into `after`.
    pub fn audit_entry(&self, before: &User, after: &User) -> Option<AuditEntry> {
        let (entry, detail) = self.audit.as_ref()?;
        Some(AuditEntry {
            target_id: after.id,
            target_name: after.username.clone(),
            detail: detail(before, after),
            ..entry.clone()
        })
    }

    /// An edit that sets every mutable field to `user`'s (for tasks and tests that hold the
    /// whole record they want).
    pub fn replace_with(user: User) -> Self {
        UserEdit::new(move |_| Ok(user.clone()))
    }

    /// The record after the edit, with what never changes (id, username, `inserted_at`) kept
    /// from `current` whatever the edit returned.
    pub fn apply(&self, current: &User) -> StoreResult<User> {
        let edited = (self.edit)(current)?;
        Ok(User {
            id: current.id,
            username: current.username.clone(),
            inserted_at: current.inserted_at,
            ..edited
        })
    }
}

impl std::fmt::Debug for UserEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserEdit")
    }
}

/// Users, workspaces and memberships.
///
/// **Audit with the change.** Every method that changes something takes the audit entry (or
/// entries) that records it, and writes it with the change: in the same transaction where the
/// backend has transactions, so a change and its entry commit together or not at all; a
/// refused change writes no entry. A backend without transactions (KV) writes the change first
/// and the entry after, and says so where a failed append is logged.
///
/// Ordering: every list is in insertion order (users and workspaces in the order they were
/// created; members and a user's workspaces in the order the memberships were added, those of
/// `create_user` first, in the order given).
#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
pub trait Directory: ThreadSafe {
    /// A short name of the backend for `/api/_status` (e.g. `"sqlite"`).
    fn kind(&self) -> &'static str;

    /// Checks that the backend answers.
    async fn ping(&self) -> StoreResult<()>;

    /// The directory's generation, which lets the engine keep authenticated callers in
    /// process (`engine::caller_cache`): a number that **grows with every change** to users,
    /// workspaces or memberships, committed atomically with the change (same transaction, same
    /// lock), and read fresh on every call — so once a change is visible to any reader of this
    /// backend, in any process, so is the new generation, and a reader that saw a generation
    /// and then reads the directory sees at least the state of that generation. It must be
    /// much cheaper than the lookups it saves (an atomic load, one single-row read).
    ///
    /// `None` (the default): the backend keeps no generation, and the engine caches nothing it
    /// reads from it. A wrapper that does not forward this is therefore never cached.
    async fn generation(&self) -> StoreResult<Option<u64>> {
        Ok(None)
    }

    /// [`Directory::generation`] when this backend can tell it at once, from a look made now
    /// without I/O or waiting (an atomic load; a shared-memory header showing that nothing
    /// has committed since the last read), else `None`. When `Some`, it is what `generation`
    /// would answer at this moment. The engine asks this first, and calls `generation` —
    /// sharing one call between concurrent requests — only on `None` (the default).
    fn generation_at_hand(&self) -> Option<u64> {
        None
    }

    // ----- users -----

    /// Number of users.
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
    /// ([`super::StoreError::UsernameTaken`] and nothing written otherwise); each of
    /// `new.workspaces` is joined if a workspace of that name exists, else created from the
    /// given record (which workspaces a new user joins is core's decision,
    /// [`crate::rules::workspaces_joined_at_creation`]); the memberships are added in the order
    /// given. Returns the stored user.
    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User>;

    /// Creates several users as one all-or-nothing unit (the `users migrate` task): on any
    /// error (a taken or repeated username) nothing is written. Workspaces named by several
    /// entries are created once.
    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>>;

    /// Applies `edit` to the current record of user `id` ([`UserEdit::apply`]) and stores the
    /// result, atomically with core's last-admin rule ([`crate::rules::an_admin_remains`]) over
    /// the enabled admins at that moment, with the edit's audit entry
    /// ([`UserEdit::audit_entry`]). Writes nothing when the edit changes nothing.
    /// [`super::StoreError::UserNotFound`] if it does not exist. Returns the stored user.
    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User>;

    /// Deletes a user and its memberships (its personal workspace stays), atomically with
    /// core's last-admin rule. Returns the deleted user.
    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User>;

    // ----- workspaces -----

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>>;
    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>>;
    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>>;
    /// Creates a workspace; names are unique ([`super::StoreError::WorkspaceNameTaken`]).
    async fn create_workspace(
        &self,
        workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace>;
    /// Deletes a workspace and all its memberships, atomically. Returns it.
    async fn delete_workspace(&self, id: Uuid, audit: Option<AuditEntry>)
    -> StoreResult<Workspace>;

    // ----- memberships -----

    /// The workspaces `user` is a member of, by membership time.
    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>>;
    /// The members of `workspace`, by membership time.
    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>>;
    /// The workspace names of each of `users` (same order as `users`; each list by membership
    /// time): what listing users shows. The default asks [`Directory::workspaces_of`] once per
    /// user; a backend where each call is a round trip (KV) answers all of them at once.
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
    /// ([`super::StoreError::AlreadyMember`]); both must exist.
    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()>;
    /// Removes a membership ([`super::StoreError::NotMember`] if there is none).
    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()>;

    // ----- moving data (`crate::dump`) -----

    /// Every membership, in the order the memberships were added (so each user's and each
    /// workspace's lists keep their order when they are written again in this order), with the
    /// time each was added. What `workgate export` reads.
    async fn memberships(&self) -> StoreResult<Vec<Membership>>;
}

/// One membership as the stores keep it: who joined which workspace, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub workspace: Uuid,
    pub user: Uuid,
    pub at: Timestamp,
}
