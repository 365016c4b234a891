//! The suite has teeth, on every store: [`Faulty`] wraps any host's [`Stores`] with one
//! deliberate fault — the kind a SQLite, KV or PostgreSQL implementation could plausibly have —
//! and [`check_each_fault`] checks that the cases guarding against it fail, while the faultless
//! wrapper passes them all. Hosts run it on their own stores (memory in this crate's tests,
//! SQLite in the native tests, KV inside workerd), so every rule of `workgate_core::rules` —
//! last admin, personal workspace, throttle retention, uniqueness — and every concurrency case
//! has a planted bug that is caught on each store.
//!
//! The racy faults (`Racy…`, `Lost…`) behave correctly one operation at a time: they read, yield
//! to the other operations in flight, then act on what they read, as a store that checks outside
//! its transaction would. Only the concurrency cases can catch them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use uuid::Uuid;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::dataset::{Dataset, Record};
use workgate_core::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use workgate_core::{
    AuditLog, DatasetEdit, Datasets, Directory, FailureWindow, LoginThrottle, RecordSelection,
    RecordWrite, Secrets, StoreError, StoreResult, Stores, Timestamp, UserEdit, WriteRefused,
    rules,
};

use crate::SuiteReport;

/// One deliberate fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The audit log comes back oldest first.
    AuditOldestFirst,
    /// `offset` is ignored.
    AuditIgnoresOffset,
    /// The entry given with a change is not written.
    AuditEntryDropped,
    /// The entry given with a change is written even when the change is refused.
    AuditEntryOnRefusal,
    /// `users()` newest first.
    UsersNewestFirst,
    /// A user's workspaces sorted by name instead of membership time.
    MembershipsByName,
    /// The old key digest keeps finding the user after a rotation.
    StaleApiKeyIndex,
    /// Every caller's candidate replaces the stored token secret.
    TokenSecretLastWins,
    /// Failures are counted forever, whatever the window.
    LoginWindowIgnored,
    /// Core's retention is not applied: a forgettable record is counted on.
    RetentionIgnored,
    /// A taken username is silently accepted.
    DuplicateUsernameAccepted,
    /// `create_users` writes the entries before the failing one.
    BatchNotAtomic,
    /// The last admin can be demoted or deleted (answered as if it was).
    LastAdminUnprotected,
    /// A workspace of the new user's personal (or team) name that exists already is not
    /// joined.
    ExistingWorkspaceNotJoined,
    /// Timestamps lose their microseconds on the way in.
    SecondsPrecision,
    /// A username lookup that finds by prefix, as a careless KV list would.
    PrefixLookup,
    /// Deleting a missing workspace is a backend error instead of not found.
    WrongNotFound,
    /// The username is checked before, not with, the insert.
    RacyUsernameCheck,
    /// The enabled admins are counted before, not with, the demotion or deletion.
    RacyLastAdmin,
    /// The membership is checked before, not with, the insert.
    RacyMembership,
    /// A failure is counted as read-then-write: concurrent failures overwrite each other.
    LostFailureCount,
    /// A user edit is applied to a record read before, not inside, the write.
    LostUserEdit,
    /// Records are listed newest id first.
    RecordsReversed,
    /// `after` is inclusive.
    RecordsAfterInclusive,
    /// A refused bulk still creates its dataset.
    RefusedBulkCreatesDataset,
    /// A bulk's decision is shown no stored records.
    BulkSeesNoStoredRecords,
    /// A copy gets the dataset but not its records.
    CopyWithoutRecords,
    /// A bulk decides on the dataset as read before, not inside, the write.
    LostBulkUpdate,
    /// Dataset changes drop their audit entries.
    DatasetAuditDropped,
}

/// Every fault, each with the cases that must catch it.
pub const EXPECTATIONS: &[(Fault, &[&str])] = &[
    (
        Fault::AuditOldestFirst,
        &[
            "audit_is_newest_first_with_limit_and_offset",
            "audit_entries_at_the_same_time_are_newest_appended_first",
            "audit_round_trips_every_field_and_outlives_its_subjects",
        ],
    ),
    (
        Fault::AuditIgnoresOffset,
        &["audit_is_newest_first_with_limit_and_offset"],
    ),
    (
        Fault::AuditEntryDropped,
        &["audit_entries_are_written_with_their_change"],
    ),
    (
        Fault::AuditEntryOnRefusal,
        &["a_refused_change_writes_no_audit_entry"],
    ),
    (
        Fault::UsersNewestFirst,
        &[
            "users_are_listed_in_insertion_order",
            "create_users_creates_all_in_order_and_shared_workspaces_once",
        ],
    ),
    (
        Fault::MembershipsByName,
        &[
            "create_user_adds_memberships_in_the_order_given",
            "memberships_are_listed_by_membership_time",
        ],
    ),
    (
        Fault::StaleApiKeyIndex,
        &["api_key_lookup_follows_a_rotated_digest"],
    ),
    (
        Fault::TokenSecretLastWins,
        &["token_secret_keeps_the_first_candidate"],
    ),
    (
        Fault::LoginWindowIgnored,
        &["login_failures_start_a_new_window_when_it_has_passed"],
    ),
    (
        Fault::RetentionIgnored,
        &["forgettable_login_failures_are_not_counted_on"],
    ),
    (
        Fault::DuplicateUsernameAccepted,
        &[
            "usernames_are_unique_and_a_refused_create_writes_nothing",
            "fifty_creates_of_one_username_make_one_user",
        ],
    ),
    (
        Fault::BatchNotAtomic,
        &[
            "create_users_with_a_repeated_username_writes_nothing",
            "create_users_with_an_existing_username_writes_nothing",
        ],
    ),
    (
        Fault::LastAdminUnprotected,
        &[
            "update_user_keeps_the_last_enabled_admin",
            "delete_user_keeps_the_last_enabled_admin",
            "disabled_admins_do_not_count_as_admins",
        ],
    ),
    (
        Fault::ExistingWorkspaceNotJoined,
        &["create_user_joins_an_existing_workspace_of_the_personal_name"],
    ),
    (
        Fault::SecondsPrecision,
        &[
            "create_user_round_trips_every_field",
            "create_workspace_round_trips",
            "audit_round_trips_every_field_and_outlives_its_subjects",
            "login_failures_count_inside_the_window",
        ],
    ),
    (Fault::PrefixLookup, &["similar_names_are_distinct"]),
    (
        Fault::WrongNotFound,
        &["delete_workspace_of_an_unknown_workspace_is_not_found"],
    ),
    (
        Fault::RacyUsernameCheck,
        &["fifty_creates_of_one_username_make_one_user"],
    ),
    (
        Fault::RacyLastAdmin,
        &[
            "parallel_demotions_of_the_last_two_admins_leave_one",
            "parallel_deletions_of_the_last_two_admins_leave_one",
        ],
    ),
    (
        Fault::RacyMembership,
        &["parallel_adds_of_one_membership_make_one"],
    ),
    (
        Fault::LostFailureCount,
        &["parallel_failed_logins_are_all_counted"],
    ),
    (
        Fault::LostUserEdit,
        &["concurrent_edits_of_one_user_are_all_kept"],
    ),
    (
        Fault::RecordsReversed,
        &["records_are_listed_in_byte_order_of_the_id_and_paged"],
    ),
    (
        Fault::RecordsAfterInclusive,
        &["records_are_listed_in_byte_order_of_the_id_and_paged"],
    ),
    (
        Fault::RefusedBulkCreatesDataset,
        &["a_refused_write_changes_nothing"],
    ),
    (
        Fault::BulkSeesNoStoredRecords,
        &["a_write_sees_the_stored_records_of_its_ids"],
    ),
    (
        Fault::CopyWithoutRecords,
        &["a_copy_holds_every_record_and_a_taken_name_is_refused"],
    ),
    (
        Fault::LostBulkUpdate,
        &["parallel_bulks_into_one_new_dataset_create_it_once_and_keep_every_record"],
    ),
    (
        Fault::DatasetAuditDropped,
        &["dataset_changes_write_their_audit_entries"],
    ),
];

/// The faults that plant a bug in the datasets part (run only where the stores have one).
const DATASET_FAULTS: [Fault; 7] = [
    Fault::RecordsReversed,
    Fault::RecordsAfterInclusive,
    Fault::RefusedBulkCreatesDataset,
    Fault::BulkSeesNoStoredRecords,
    Fault::CopyWithoutRecords,
    Fault::LostBulkUpdate,
    Fault::DatasetAuditDropped,
];

/// A future that is pending once: lets the other operations of a `join` run before this one
/// goes on.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// Any host's stores with one fault.
pub struct Faulty {
    inner: Stores,
    fault: Fault,
    /// For `StaleApiKeyIndex`: digests that were rotated away, and whose they were.
    old_keys: Mutex<HashMap<ApiKeyDigest, Uuid>>,
    /// For `LostFailureCount`: the records, kept here and counted read-then-write.
    failures: Mutex<HashMap<String, LoginFailures>>,
}

impl Faulty {
    /// `inner` with `fault`, as a set of stores.
    pub fn stores(inner: Stores, fault: Fault) -> Stores {
        let has_datasets = inner.datasets.is_some();
        let restore = inner.restore.clone();
        #[allow(clippy::arc_with_non_send_sync)] // Worker stores are neither, and single-threaded
        let faulty = Arc::new(Faulty {
            inner,
            fault,
            old_keys: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        });
        Stores {
            directory: faulty.clone(),
            audit: faulty.clone(),
            throttle: faulty.clone(),
            secrets: faulty.clone(),
            datasets: has_datasets.then_some(faulty as Arc<dyn Datasets>),
            restore,
        }
    }

    fn is(&self, fault: Fault) -> bool {
        self.fault == fault
    }

    fn dir(&self) -> &dyn Directory {
        &*self.inner.directory
    }

    fn truncate(&self, t: Timestamp) -> Timestamp {
        if self.is(Fault::SecondsPrecision) {
            Timestamp::from_secs(t.secs())
        } else {
            t
        }
    }

    fn truncate_new(&self, mut new: NewUser) -> NewUser {
        new.user.inserted_at = self.truncate(new.user.inserted_at);
        new.user.updated_at = self.truncate(new.user.updated_at);
        for w in &mut new.workspaces {
            w.inserted_at = self.truncate(w.inserted_at);
            w.updated_at = self.truncate(w.updated_at);
        }
        new
    }

    /// The audit entry passed on to the inner store (`AuditEntryDropped` drops it).
    fn passed(&self, audit: Option<AuditEntry>) -> Option<AuditEntry> {
        if self.is(Fault::AuditEntryDropped) {
            None
        } else {
            audit
        }
    }

    /// For `AuditEntryOnRefusal`: a refused change still writes its entry.
    async fn on_refusal<T>(
        &self,
        result: StoreResult<T>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<T> {
        if result.is_err()
            && self.is(Fault::AuditEntryOnRefusal)
            && let Some(entry) = audit
        {
            self.inner.audit.append_audit(entry).await?;
        }
        result
    }

    async fn enabled_admins(&self) -> StoreResult<u64> {
        Ok(self
            .dir()
            .users()
            .await?
            .iter()
            .filter(|u| rules::counts_as_admin(u))
            .count() as u64)
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Directory for Faulty {
    fn kind(&self) -> &'static str {
        "faulty"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.dir().ping().await
    }

    async fn user_count(&self) -> StoreResult<u64> {
        self.dir().user_count().await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.dir().user_by_id(id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let found = self.dir().user_by_username(username).await?;
        if found.is_none() && self.is(Fault::PrefixLookup) {
            let users = self.dir().users().await?;
            return Ok(users.into_iter().find(|u| u.username.starts_with(username)));
        }
        Ok(found)
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        let found = self.dir().user_by_api_key(digest).await?;
        if found.is_none() && self.is(Fault::StaleApiKeyIndex) {
            let old = self.old_keys.lock().unwrap().get(digest).copied();
            if let Some(id) = old {
                return self.dir().user_by_id(id).await;
            }
        }
        Ok(found)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let mut users = self.dir().users().await?;
        if self.is(Fault::UsersNewestFirst) {
            users.reverse();
        }
        Ok(users)
    }

    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User> {
        let mut new = self.truncate_new(new);
        if self.is(Fault::ExistingWorkspaceNotJoined) {
            let mut kept = Vec::new();
            for w in new.workspaces {
                if self.dir().workspace_by_name(&w.name).await?.is_none() {
                    kept.push(w);
                }
            }
            new.workspaces = kept;
        }
        let user = new.user.clone();
        if self.is(Fault::RacyUsernameCheck) {
            if self.dir().user_by_username(&user.username).await?.is_some() {
                return Err(StoreError::UsernameTaken(user.username));
            }
            yield_now().await;
            // A store that checked outside its transaction would have written a second row.
            return match self.dir().create_user(new, audit).await {
                Err(StoreError::UsernameTaken(_)) => Ok(user),
                other => other,
            };
        }
        let result = self
            .dir()
            .create_user(new, self.passed(audit.clone()))
            .await;
        match result {
            Err(StoreError::UsernameTaken(_)) if self.is(Fault::DuplicateUsernameAccepted) => {
                Ok(user)
            }
            other => self.on_refusal(other, audit).await,
        }
    }

    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>> {
        if self.is(Fault::BatchNotAtomic) {
            let mut created = Vec::new();
            for new in batch {
                created.push(self.dir().create_user(new, None).await?);
            }
            return Ok(created);
        }
        let batch = batch.into_iter().map(|n| self.truncate_new(n)).collect();
        let audit = if self.is(Fault::AuditEntryDropped) {
            Vec::new()
        } else {
            audit
        };
        self.dir().create_users(batch, audit).await
    }

    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        let before = self.dir().user_by_id(id).await?;
        if self.is(Fault::LostUserEdit)
            && let Some(stale) = &before
        {
            yield_now().await;
            let next = edit.apply(stale)?;
            return self
                .dir()
                .update_user(id, UserEdit::replace_with(next))
                .await;
        }
        if self.is(Fault::RacyLastAdmin)
            && let Some(current) = &before
        {
            let next = edit.apply(current)?;
            rules::an_admin_remains(current, Some(&next), self.enabled_admins().await?)?;
            yield_now().await;
            return match self.dir().update_user(id, edit).await {
                // Counted outside the write: a store like that would have demoted it.
                Err(StoreError::LastAdmin) => Ok(next),
                other => other,
            };
        }
        let mut inner_edit = edit.clone();
        if self.is(Fault::SecondsPrecision) {
            inner_edit = inner_edit.and_then(|mut next| {
                next.updated_at = Timestamp::from_secs(next.updated_at.secs());
                next
            });
        }
        if self.is(Fault::AuditEntryDropped) {
            inner_edit = inner_edit.without_audit();
        }
        let refusal_entry = before.as_ref().and_then(|b| {
            let next = edit.apply(b).ok()?;
            edit.audit_entry(b, &next)
        });
        match self.dir().update_user(id, inner_edit).await {
            Err(StoreError::LastAdmin) if self.is(Fault::LastAdminUnprotected) => {
                before.ok_or(StoreError::UserNotFound(id))?;
                let current = self
                    .dir()
                    .user_by_id(id)
                    .await?
                    .ok_or(StoreError::UserNotFound(id))?;
                edit.apply(&current)
            }
            Ok(stored) => {
                if let Some(before) = before
                    && before.api_key_digest != stored.api_key_digest
                {
                    self.old_keys
                        .lock()
                        .unwrap()
                        .insert(before.api_key_digest, before.id);
                }
                Ok(stored)
            }
            other => self.on_refusal(other, refusal_entry).await,
        }
    }

    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User> {
        let before = self.dir().user_by_id(id).await?;
        if self.is(Fault::RacyLastAdmin)
            && let Some(current) = &before
        {
            rules::an_admin_remains(current, None, self.enabled_admins().await?)?;
            yield_now().await;
            return match self.dir().delete_user(id, audit).await {
                Err(StoreError::LastAdmin) => Ok(current.clone()),
                other => other,
            };
        }
        match self.dir().delete_user(id, self.passed(audit.clone())).await {
            Err(StoreError::LastAdmin) if self.is(Fault::LastAdminUnprotected) => {
                before.ok_or(StoreError::UserNotFound(id))
            }
            other => self.on_refusal(other, audit).await,
        }
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.dir().workspaces().await
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        self.dir().workspace_by_id(id).await
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        self.dir().workspace_by_name(name).await
    }

    async fn create_workspace(
        &self,
        mut workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        workspace.inserted_at = self.truncate(workspace.inserted_at);
        workspace.updated_at = self.truncate(workspace.updated_at);
        let result = self
            .dir()
            .create_workspace(workspace, self.passed(audit.clone()))
            .await;
        self.on_refusal(result, audit).await
    }

    async fn delete_workspace(
        &self,
        id: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        match self
            .dir()
            .delete_workspace(id, self.passed(audit.clone()))
            .await
        {
            Err(StoreError::WorkspaceNotFound(_)) if self.is(Fault::WrongNotFound) => {
                Err(StoreError::Backend("no such row".into()))
            }
            other => self.on_refusal(other, audit).await,
        }
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        let mut workspaces = self.dir().workspaces_of(user).await?;
        if self.is(Fault::MembershipsByName) {
            workspaces.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(workspaces)
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        self.dir().members_of(workspace).await
    }

    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        if self.is(Fault::RacyMembership) {
            let members = self.dir().members_of(workspace).await?;
            if members.iter().any(|m| m.id == user) {
                return Err(StoreError::AlreadyMember { workspace, user });
            }
            yield_now().await;
            return match self.dir().add_member(workspace, user, at, audit).await {
                Err(StoreError::AlreadyMember { .. }) => Ok(()),
                other => other,
            };
        }
        let result = self
            .dir()
            .add_member(workspace, user, at, self.passed(audit.clone()))
            .await;
        self.on_refusal(result, audit).await
    }

    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let result = self
            .dir()
            .remove_member(workspace, user, self.passed(audit.clone()))
            .await;
        self.on_refusal(result, audit).await
    }

    async fn memberships(&self) -> StoreResult<Vec<workgate_core::store::Membership>> {
        self.dir().memberships().await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl AuditLog for Faulty {
    async fn append_audit(&self, mut entry: AuditEntry) -> StoreResult<()> {
        entry.at = self.truncate(entry.at);
        self.inner.audit.append_audit(entry).await
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        let audit = &self.inner.audit;
        match self.fault {
            Fault::AuditOldestFirst => {
                let mut all = audit.audit(u32::MAX, 0).await?;
                all.reverse();
                Ok(all
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect())
            }
            Fault::AuditIgnoresOffset => audit.audit(limit, 0).await,
            _ => audit.audit(limit, offset).await,
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl LoginThrottle for Faulty {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        if self.is(Fault::LostFailureCount) {
            return Ok(self
                .failures
                .lock()
                .unwrap()
                .get(username)
                .copied()
                .unwrap_or_default());
        }
        self.inner.throttle.login_failures(username).await
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        if self.is(Fault::LostFailureCount) {
            let read = self.login_failures(username).await?;
            yield_now().await;
            let next = rules::next_failures(read, &window);
            self.failures
                .lock()
                .unwrap()
                .insert(username.to_string(), next);
            return Ok(next);
        }
        let window = FailureWindow {
            now: self.truncate(window.now),
            window_secs: if self.is(Fault::LoginWindowIgnored) {
                i64::MAX
            } else {
                window.window_secs
            },
            forget_before: if self.is(Fault::RetentionIgnored) {
                Timestamp::from_micros(0)
            } else {
                window.forget_before
            },
        };
        self.inner
            .throttle
            .record_login_failure(username, window)
            .await
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        self.failures.lock().unwrap().remove(username);
        self.inner.throttle.clear_login_failures(username).await
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Secrets for Faulty {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        if self.is(Fault::TokenSecretLastWins) {
            return Ok(candidate);
        }
        self.inner.secrets.token_secret(candidate).await
    }
}

impl Faulty {
    fn data(&self) -> StoreResult<&dyn Datasets> {
        self.inner
            .datasets
            .as_deref()
            .ok_or_else(|| StoreError::Backend("no datasets part".into()))
    }

    fn audit_of(&self, audit: Option<AuditEntry>) -> Option<AuditEntry> {
        if self.is(Fault::DatasetAuditDropped) {
            None
        } else {
            audit
        }
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Datasets for Faulty {
    async fn datasets(&self, workspaces: &[String]) -> StoreResult<Vec<Dataset>> {
        self.data()?.datasets(workspaces).await
    }

    async fn dataset(&self, workspace: &str, name: &str) -> StoreResult<Option<Dataset>> {
        self.data()?.dataset(workspace, name).await
    }

    async fn create_dataset(
        &self,
        dataset: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        self.data()?
            .create_dataset(dataset, self.audit_of(audit))
            .await
    }

    async fn update_dataset(
        &self,
        workspace: &str,
        name: &str,
        edit: DatasetEdit,
    ) -> StoreResult<Option<Dataset>> {
        self.data()?.update_dataset(workspace, name, edit).await
    }

    async fn delete_dataset(
        &self,
        workspace: &str,
        name: &str,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Option<Dataset>> {
        self.data()?
            .delete_dataset(workspace, name, self.audit_of(audit))
            .await
    }

    async fn copy_dataset(
        &self,
        workspace: &str,
        name: &str,
        copy: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        if self.is(Fault::CopyWithoutRecords) {
            if self.data()?.dataset(workspace, name).await?.is_none() {
                return Ok(false);
            }
            return self.data()?.create_dataset(copy, audit).await;
        }
        self.data()?
            .copy_dataset(workspace, name, copy, self.audit_of(audit))
            .await
    }

    async fn write_records(
        &self,
        workspace: &str,
        name: &str,
        mut write: RecordWrite,
    ) -> StoreResult<Result<Dataset, WriteRefused>> {
        if self.is(Fault::DatasetAuditDropped) {
            write.created = None;
        }
        if self.is(Fault::BulkSeesNoStoredRecords) {
            let decide = write.decide.clone();
            write.decide =
                Arc::new(move |current, stored| decide(current, &vec![None; stored.len()]));
        }
        if self.is(Fault::LostBulkUpdate) {
            // Decide on what was read before, then write that decision whatever happened
            // meanwhile: a store that reads outside its transaction.
            let stale = self.data()?.dataset(workspace, name).await?;
            let stored = self
                .data()?
                .records_by_ids(workspace, name, &write.ids)
                .await?;
            let existing: Vec<Option<Record>> = write
                .ids
                .iter()
                .map(|id| stored.iter().find(|r| &r.id == id).cloned())
                .collect();
            yield_now().await;
            let decided = match (write.decide)(stale.as_ref(), &existing) {
                Ok(decided) => decided,
                Err(refused) => return Ok(Err(refused)),
            };
            let forced = RecordWrite {
                ids: write.ids.clone(),
                decide: Arc::new(move |_, _| Ok(decided.clone())),
                created: write.created.clone(),
            };
            return self.data()?.write_records(workspace, name, forced).await;
        }
        let answer = self
            .data()?
            .write_records(workspace, name, write.clone())
            .await?;
        if answer.is_err()
            && self.is(Fault::RefusedBulkCreatesDataset)
            && self.data()?.dataset(workspace, name).await?.is_none()
        {
            // Created before the decision, and left behind.
            let probe = (write.decide)(None, &vec![None; write.ids.len()]);
            let placeholder = match probe {
                Ok((d, _)) => Some(d),
                Err(_) => None,
            };
            if let Some(d) = placeholder {
                self.data()?.create_dataset(d, None).await?;
            } else {
                self.data()?
                    .create_dataset(
                        Dataset {
                            workspace: workspace.to_string(),
                            name: name.to_string(),
                            task: workgate_core::dataset::Task::TextClassification,
                            tags: Default::default(),
                            metadata: Default::default(),
                            created_by: None,
                            created_at: Timestamp::from_micros(0),
                            last_updated: Timestamp::from_micros(0),
                            closed: false,
                            settings: None,
                            facts: Default::default(),
                        },
                        None,
                    )
                    .await?;
            }
        }
        Ok(answer)
    }

    async fn records(
        &self,
        workspace: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        if self.is(Fault::RecordsReversed) {
            let mut all = self
                .data()?
                .records(workspace, name, None, usize::MAX)
                .await?;
            all.reverse();
            let start = match after {
                Some(a) => all.iter().position(|r| r.id == a).map_or(0, |p| p + 1),
                None => 0,
            };
            return Ok(all.into_iter().skip(start).take(limit).collect());
        }
        if self.is(Fault::RecordsAfterInclusive)
            && let Some(a) = after
        {
            let mut out = self
                .data()?
                .records_by_ids(workspace, name, &[a.to_string()])
                .await?;
            out.extend(
                self.data()?
                    .records(workspace, name, Some(a), limit)
                    .await?,
            );
            out.truncate(limit);
            return Ok(out);
        }
        self.data()?.records(workspace, name, after, limit).await
    }

    async fn records_by_ids(
        &self,
        workspace: &str,
        name: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Record>> {
        self.data()?.records_by_ids(workspace, name, ids).await
    }

    async fn delete_records(
        &self,
        workspace: &str,
        name: &str,
        selection: RecordSelection,
        discard: Option<String>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<u64> {
        self.data()?
            .delete_records(workspace, name, selection, discard, self.audit_of(audit))
            .await
    }
}

/// The suite on `make`'s stores with `fault` planted.
pub async fn run_with<F, Fut>(fault: Fault, make: &F) -> SuiteReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    crate::run_all(|| async { Faulty::stores(make().await, fault) }).await
}

/// Plants every fault of [`EXPECTATIONS`] in turn into stores from `make` and runs the cases
/// that must catch it (each on fresh stores); answers what went wrong: a case that should have
/// caught a fault and did not, a failure without a message, or a case the faultless wrapper
/// fails. Empty when the suite has teeth on this store.
pub async fn check_each_fault<F, Fut>(make: F) -> Vec<String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Stores>,
{
    let mut problems = Vec::new();
    let clean = run_with(Fault::None, &make).await;
    for failure in clean.failures() {
        problems.push(format!(
            "the faultless wrapper failed {}: {}",
            failure.name, failure.message
        ));
    }
    for (fault, expected) in EXPECTATIONS {
        if DATASET_FAULTS.contains(fault) && make().await.datasets.is_none() {
            continue;
        }
        for case in *expected {
            let result =
                crate::run_case(case, || async { Faulty::stores(make().await, *fault) }).await;
            if result.passed {
                problems.push(format!("{fault:?} did not fail {case}"));
            } else if result.message.is_empty() {
                problems.push(format!("{fault:?}: {case} failed without a message"));
            }
        }
    }
    problems
}
