//! The store suite has teeth: a memory store with one deliberate fault — the kind a SQLite or
//! KV implementation could plausibly have — fails the cases that guard against it, and the
//! faultless wrapper passes them all.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use workgate_core::store_suite::{self, SuiteReport};

use workgate_core::{
    AuditLog, Directory, FailureWindow, LoginThrottle, MemoryStore, Secrets, StoreError,
    StoreResult, Stores, Timestamp, UserEdit,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// The audit log comes back oldest first.
    AuditOldestFirst,
    /// `offset` is ignored.
    AuditIgnoresOffset,
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
    /// A taken username is silently accepted.
    DuplicateUsernameAccepted,
    /// `create_users` writes the entries before the failing one.
    BatchNotAtomic,
    /// The last admin can be demoted or deleted (answered as if it was).
    LastAdminUnprotected,
    /// Timestamps lose their microseconds on the way in.
    SecondsPrecision,
    /// A username lookup that finds by prefix, as a careless KV list would.
    PrefixLookup,
    /// Deleting a missing workspace is a backend error instead of not found.
    WrongNotFound,
}

struct Faulty {
    inner: MemoryStore,
    fault: Fault,
    /// For `StaleApiKeyIndex`: digests that were rotated away, and whose they were.
    old_keys: Mutex<HashMap<ApiKeyDigest, Uuid>>,
}

impl Faulty {
    fn new(fault: Fault) -> Self {
        Faulty {
            inner: MemoryStore::new(),
            fault,
            old_keys: Mutex::new(HashMap::new()),
        }
    }

    fn is(&self, fault: Fault) -> bool {
        self.fault == fault
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
}

#[async_trait]
impl Directory for Faulty {
    fn kind(&self) -> &'static str {
        "faulty"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn user_count(&self) -> StoreResult<u64> {
        self.inner.user_count().await
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        self.inner.user_by_id(id).await
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let found = self.inner.user_by_username(username).await?;
        if found.is_none() && self.is(Fault::PrefixLookup) {
            let users = self.inner.users().await?;
            return Ok(users.into_iter().find(|u| u.username.starts_with(username)));
        }
        Ok(found)
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        let found = self.inner.user_by_api_key(digest).await?;
        if found.is_none() && self.is(Fault::StaleApiKeyIndex) {
            let old = self.old_keys.lock().unwrap().get(digest).copied();
            if let Some(id) = old {
                return self.inner.user_by_id(id).await;
            }
        }
        Ok(found)
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let mut users = self.inner.users().await?;
        if self.is(Fault::UsersNewestFirst) {
            users.reverse();
        }
        Ok(users)
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let new = self.truncate_new(new);
        let user = new.user.clone();
        match self.inner.create_user(new).await {
            Err(StoreError::UsernameTaken(_)) if self.is(Fault::DuplicateUsernameAccepted) => {
                Ok(user)
            }
            other => other,
        }
    }

    async fn create_users(&self, batch: Vec<NewUser>) -> StoreResult<Vec<User>> {
        if self.is(Fault::BatchNotAtomic) {
            let mut created = Vec::new();
            for new in batch {
                created.push(self.inner.create_user(new).await?);
            }
            return Ok(created);
        }
        let batch = batch.into_iter().map(|n| self.truncate_new(n)).collect();
        self.inner.create_users(batch).await
    }

    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        let before = self.inner.user_by_id(id).await?;
        let truncating = self.is(Fault::SecondsPrecision);
        let outer = edit.clone();
        let edit = UserEdit::new(move |current| {
            let mut next = outer.apply(current)?;
            if truncating {
                next.updated_at = Timestamp::from_secs(next.updated_at.secs());
            }
            Ok(next)
        });
        match self.inner.update_user(id, edit.clone()).await {
            Err(StoreError::LastAdmin) if self.is(Fault::LastAdminUnprotected) => {
                before.ok_or(StoreError::UserNotFound(id))?;
                let current = self
                    .inner
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
            other => other,
        }
    }

    async fn delete_user(&self, id: Uuid) -> StoreResult<User> {
        let before = self.inner.user_by_id(id).await?;
        match self.inner.delete_user(id).await {
            Err(StoreError::LastAdmin) if self.is(Fault::LastAdminUnprotected) => {
                before.ok_or(StoreError::UserNotFound(id))
            }
            other => other,
        }
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.inner.workspaces().await
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        self.inner.workspace_by_id(id).await
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        self.inner.workspace_by_name(name).await
    }

    async fn create_workspace(&self, mut workspace: Workspace) -> StoreResult<Workspace> {
        workspace.inserted_at = self.truncate(workspace.inserted_at);
        workspace.updated_at = self.truncate(workspace.updated_at);
        self.inner.create_workspace(workspace).await
    }

    async fn delete_workspace(&self, id: Uuid) -> StoreResult<Workspace> {
        match self.inner.delete_workspace(id).await {
            Err(StoreError::WorkspaceNotFound(_)) if self.is(Fault::WrongNotFound) => {
                Err(StoreError::Backend("no such row".into()))
            }
            other => other,
        }
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        let mut workspaces = self.inner.workspaces_of(user).await?;
        if self.is(Fault::MembershipsByName) {
            workspaces.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(workspaces)
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        self.inner.members_of(workspace).await
    }

    async fn add_member(&self, workspace: Uuid, user: Uuid, at: Timestamp) -> StoreResult<()> {
        self.inner.add_member(workspace, user, at).await
    }

    async fn remove_member(&self, workspace: Uuid, user: Uuid) -> StoreResult<()> {
        self.inner.remove_member(workspace, user).await
    }
}

#[async_trait]
impl AuditLog for Faulty {
    async fn append_audit(&self, mut entry: AuditEntry) -> StoreResult<()> {
        entry.at = self.truncate(entry.at);
        self.inner.append_audit(entry).await
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        match self.fault {
            Fault::AuditOldestFirst => {
                let mut all = self.inner.audit(u32::MAX, 0).await?;
                all.reverse();
                Ok(all
                    .into_iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .collect())
            }
            Fault::AuditIgnoresOffset => self.inner.audit(limit, 0).await,
            _ => self.inner.audit(limit, offset).await,
        }
    }
}

#[async_trait]
impl LoginThrottle for Faulty {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        self.inner.login_failures(username).await
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        let window = FailureWindow {
            now: self.truncate(window.now),
            window_secs: if self.is(Fault::LoginWindowIgnored) {
                i64::MAX
            } else {
                window.window_secs
            },
            ..window
        };
        self.inner.record_login_failure(username, window).await
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        self.inner.clear_login_failures(username).await
    }
}

#[async_trait]
impl Secrets for Faulty {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        if self.is(Fault::TokenSecretLastWins) {
            return Ok(candidate);
        }
        self.inner.token_secret(candidate).await
    }
}

async fn run(fault: Fault) -> SuiteReport {
    store_suite::run_all(|| async move { Stores::all_in(Arc::new(Faulty::new(fault))) }).await
}

fn failed(report: &SuiteReport) -> Vec<&str> {
    report.failures().map(|r| r.name.as_str()).collect()
}

#[tokio::test]
async fn the_faultless_wrapper_passes() {
    run(Fault::None).await.assert_all_passed();
}

#[tokio::test]
async fn each_fault_fails_the_cases_that_guard_against_it() {
    let expectations: &[(Fault, &[&str])] = &[
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
            Fault::DuplicateUsernameAccepted,
            &["usernames_are_unique_and_a_refused_create_writes_nothing"],
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
    ];
    let mut problems = Vec::new();
    for (fault, expected) in expectations {
        let report = run(*fault).await;
        let failed = failed(&report);
        for case in *expected {
            if !failed.contains(case) {
                problems.push(format!(
                    "{fault:?} did not fail {case} (failed: {failed:?})"
                ));
            }
        }
        for result in report.failures() {
            if result.message.is_empty() {
                problems.push(format!(
                    "{fault:?}: {} failed without a message",
                    result.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn a_store_that_is_not_fresh_fails_every_case_with_a_clear_message() {
    let report = store_suite::run_all(|| async {
        let store = MemoryStore::new();
        store
            .create_workspace(Workspace {
                id: Uuid::from_u128(1),
                name: "left-over".into(),
                inserted_at: Timestamp::from_secs(1),
                updated_at: Timestamp::from_secs(1),
            })
            .await
            .unwrap();
        Stores::all_in(Arc::new(store))
    })
    .await;
    assert_eq!(report.failures().count(), report.results.len());
    assert!(
        report.failures().all(|r| r.message.contains("not fresh")),
        "{report}"
    );
}

#[tokio::test]
async fn the_report_serialises_for_hosts_that_send_it_back() {
    let report = run(Fault::AuditIgnoresOffset).await;
    let json = serde_json::to_string(&report).unwrap();
    let back: SuiteReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    assert!(!back.all_passed());
    let text = report.to_string();
    assert!(text.contains("FAILED  audit_is_newest_first_with_limit_and_offset"));
}
