//! An in-memory [`Store`]: the in-process conformance target, the benchmarks' store, and the
//! reference the other stores are compared with by the generic store suite.
//!
//! One mutex guards everything, so every operation is trivially atomic; the rules are core's
//! (`crate::rules`), applied inside the lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use uuid::Uuid;

use crate::credentials::ApiKeyDigest;
use crate::dataset::{Dataset, Record};
use crate::domain::{AuditEntry, LoginFailures, NewUser, User, Workspace};
use crate::rules;
use crate::store::{
    AuditLog, DatasetEdit, Datasets, Directory, FailureWindow, LoginThrottle, Membership,
    RecordSelection, RecordWrite, Secrets, StoreError, StoreResult, Stores, UserEdit, WriteRefused,
};
use crate::timestamp::Timestamp;

#[derive(Default, Clone)]
struct State {
    users: HashMap<Uuid, User>,
    /// Insertion order of users.
    user_order: Vec<Uuid>,
    by_username: HashMap<String, Uuid>,
    by_key: HashMap<ApiKeyDigest, Uuid>,
    workspaces: HashMap<Uuid, Workspace>,
    workspace_order: Vec<Uuid>,
    by_workspace_name: HashMap<String, Uuid>,
    /// (workspace, user) in membership order.
    memberships: Vec<(Uuid, Uuid)>,
    /// When each membership was added.
    membership_times: HashMap<(Uuid, Uuid), Timestamp>,
    audit: Vec<AuditEntry>,
    login_failures: HashMap<String, LoginFailures>,
    token_secret: Option<Vec<u8>>,
    /// Datasets by (workspace, name), and their records by id (byte order).
    datasets: BTreeMap<(String, String), Dataset>,
    records: HashMap<(String, String), BTreeMap<String, Record>>,
}

impl State {
    /// Runs `change` on a copy of the directory and keeps the copy only if it succeeds, so a
    /// failure halfway leaves nothing behind. The parts no directory change touches (audit log,
    /// throttle records, datasets and their records) are lent to the copy, not cloned.
    fn all_or_nothing<T>(
        &mut self,
        change: impl FnOnce(&mut State) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let audit = std::mem::take(&mut self.audit);
        let login_failures = std::mem::take(&mut self.login_failures);
        let datasets = std::mem::take(&mut self.datasets);
        let records = std::mem::take(&mut self.records);
        let mut next = self.clone();
        next.audit = audit;
        next.login_failures = login_failures;
        next.datasets = datasets;
        next.records = records;
        match change(&mut next) {
            Ok(value) => {
                *self = next;
                Ok(value)
            }
            Err(e) => {
                self.audit = std::mem::take(&mut next.audit);
                self.login_failures = std::mem::take(&mut next.login_failures);
                self.datasets = std::mem::take(&mut next.datasets);
                self.records = std::mem::take(&mut next.records);
                Err(e)
            }
        }
    }

    fn enabled_admins(&self) -> u64 {
        self.users
            .values()
            .filter(|u| rules::counts_as_admin(u))
            .count() as u64
    }

    fn insert_user(&mut self, new: NewUser) -> StoreResult<User> {
        let NewUser { user, workspaces } = new;
        if self.by_username.contains_key(&user.username) {
            return Err(StoreError::UsernameTaken(user.username));
        }
        if self.by_key.contains_key(&user.api_key_digest) {
            return Err(StoreError::Backend("API key digest collision".into()));
        }
        self.by_username.insert(user.username.clone(), user.id);
        self.by_key.insert(user.api_key_digest, user.id);
        self.user_order.push(user.id);
        self.users.insert(user.id, user.clone());
        for ws in workspaces {
            let ws_id = match self.by_workspace_name.get(&ws.name) {
                Some(id) => *id,
                None => {
                    let id = ws.id;
                    self.by_workspace_name.insert(ws.name.clone(), id);
                    self.workspace_order.push(id);
                    self.workspaces.insert(id, ws);
                    id
                }
            };
            if !self.memberships.contains(&(ws_id, user.id)) {
                self.memberships.push((ws_id, user.id));
                self.membership_times
                    .insert((ws_id, user.id), user.inserted_at);
            }
        }
        Ok(user)
    }
}

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// [`Directory::generation`]: bumped by every directory change while it holds the lock,
    /// before it changes anything, so a reader that sees the new value and then takes the lock
    /// sees the change.
    generation: std::sync::atomic::AtomicU64,
}

/// A copy of everything stored, independent from then on: a world set up once (the fuzz
/// targets' bootstrapped engine) and then used afresh many times.
impl Clone for MemoryStore {
    fn clone(&self) -> Self {
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        MemoryStore {
            generation: std::sync::atomic::AtomicU64::new(
                self.generation.load(std::sync::atomic::Ordering::SeqCst),
            ),
            state: Mutex::new(state.clone()),
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh memory store as every part of a [`Stores`], datasets included.
    pub fn stores() -> Stores {
        MemoryStore::new().into_stores()
    }

    /// This store as every part of a [`Stores`], datasets included.
    pub fn into_stores(self) -> Stores {
        let store = std::sync::Arc::new(self);
        Stores::all_in(store.clone()).with_datasets(store)
    }

    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }

    /// The lock, for a change of users, workspaces or memberships: the generation moves on.
    fn lock_for_change(&self) -> StoreResult<std::sync::MutexGuard<'_, State>> {
        let state = self.lock()?;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(state)
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Directory for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.lock().map(|_| ())
    }

    async fn generation(&self) -> StoreResult<Option<u64>> {
        Ok(self.generation_at_hand())
    }

    fn generation_at_hand(&self) -> Option<u64> {
        Some(self.generation.load(std::sync::atomic::Ordering::SeqCst))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        Ok(self.lock()?.users.len() as u64)
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        Ok(self.lock()?.users.get(&id).cloned())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let s = self.lock()?;
        Ok(s.by_username
            .get(username)
            .and_then(|id| s.users.get(id))
            .cloned())
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        let s = self.lock()?;
        Ok(s.by_key.get(digest).and_then(|id| s.users.get(id)).cloned())
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let s = self.lock()?;
        Ok(s.user_order
            .iter()
            .filter_map(|id| s.users.get(id))
            .cloned()
            .collect())
    }

    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User> {
        let mut s = self.lock_for_change()?;
        let user = s.all_or_nothing(|next| next.insert_user(new))?;
        s.audit.extend(audit);
        Ok(user)
    }

    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>> {
        let mut s = self.lock_for_change()?;
        let created = s.all_or_nothing(|next| {
            let mut created = Vec::with_capacity(batch.len());
            for new in batch {
                created.push(next.insert_user(new)?);
            }
            Ok(created)
        })?;
        s.audit.extend(audit);
        Ok(created)
    }

    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        let mut s = self.lock_for_change()?;
        let Some(old) = s.users.get(&id).cloned() else {
            return Err(StoreError::UserNotFound(id));
        };
        let stored = edit.apply(&old)?;
        if stored == old {
            return Ok(old);
        }
        let admins = s.enabled_admins();
        rules::an_admin_remains(&old, Some(&stored), admins)?;
        if old.api_key_digest != stored.api_key_digest {
            if s.by_key.contains_key(&stored.api_key_digest) {
                return Err(StoreError::Backend("API key digest collision".into()));
            }
            s.by_key.remove(&old.api_key_digest);
            s.by_key.insert(stored.api_key_digest, stored.id);
        }
        s.users.insert(stored.id, stored.clone());
        s.audit.extend(edit.audit_entry(&old, &stored));
        Ok(stored)
    }

    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User> {
        let mut s = self.lock_for_change()?;
        let Some(user) = s.users.get(&id).cloned() else {
            return Err(StoreError::UserNotFound(id));
        };
        let admins = s.enabled_admins();
        rules::an_admin_remains(&user, None, admins)?;
        s.users.remove(&id);
        s.user_order.retain(|u| *u != id);
        s.by_username.remove(&user.username);
        s.by_key.remove(&user.api_key_digest);
        s.memberships.retain(|(_, u)| *u != id);
        s.audit.extend(audit);
        Ok(user)
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        let s = self.lock()?;
        Ok(s.workspace_order
            .iter()
            .filter_map(|id| s.workspaces.get(id))
            .cloned()
            .collect())
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        Ok(self.lock()?.workspaces.get(&id).cloned())
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        let s = self.lock()?;
        Ok(s.by_workspace_name
            .get(name)
            .and_then(|id| s.workspaces.get(id))
            .cloned())
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        let mut s = self.lock_for_change()?;
        if s.by_workspace_name.contains_key(&workspace.name) {
            return Err(StoreError::WorkspaceNameTaken(workspace.name));
        }
        s.by_workspace_name
            .insert(workspace.name.clone(), workspace.id);
        s.workspace_order.push(workspace.id);
        s.workspaces.insert(workspace.id, workspace.clone());
        s.audit.extend(audit);
        Ok(workspace)
    }

    async fn delete_workspace(
        &self,
        id: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        let mut s = self.lock_for_change()?;
        let Some(ws) = s.workspaces.remove(&id) else {
            return Err(StoreError::WorkspaceNotFound(id));
        };
        s.workspace_order.retain(|w| *w != id);
        s.by_workspace_name.remove(&ws.name);
        s.memberships.retain(|(w, _)| *w != id);
        s.audit.extend(audit);
        Ok(ws)
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        let s = self.lock()?;
        Ok(s.memberships
            .iter()
            .filter(|(_, u)| *u == user)
            .filter_map(|(w, _)| s.workspaces.get(w))
            .cloned()
            .collect())
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        let s = self.lock()?;
        Ok(s.memberships
            .iter()
            .filter(|(w, _)| *w == workspace)
            .filter_map(|(_, u)| s.users.get(u))
            .cloned()
            .collect())
    }

    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let mut s = self.lock_for_change()?;
        if !s.workspaces.contains_key(&workspace) {
            return Err(StoreError::WorkspaceNotFound(workspace));
        }
        if !s.users.contains_key(&user) {
            return Err(StoreError::UserNotFound(user));
        }
        if s.memberships.contains(&(workspace, user)) {
            return Err(StoreError::AlreadyMember { workspace, user });
        }
        s.memberships.push((workspace, user));
        s.membership_times.insert((workspace, user), at);
        s.audit.extend(audit);
        Ok(())
    }

    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let mut s = self.lock_for_change()?;
        let before = s.memberships.len();
        s.memberships.retain(|m| *m != (workspace, user));
        if s.memberships.len() == before {
            return Err(StoreError::NotMember { workspace, user });
        }
        s.audit.extend(audit);
        Ok(())
    }

    async fn memberships(&self) -> StoreResult<Vec<Membership>> {
        let s = self.lock()?;
        Ok(s.memberships
            .iter()
            .map(|&(workspace, user)| Membership {
                workspace,
                user,
                at: s
                    .membership_times
                    .get(&(workspace, user))
                    .copied()
                    .unwrap_or_default(),
            })
            .collect())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl AuditLog for MemoryStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        self.lock()?.audit.push(entry);
        Ok(())
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        let s = self.lock()?;
        Ok(s.audit
            .iter()
            .rev()
            .skip(offset as usize)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl LoginThrottle for MemoryStore {
    async fn login_failures(&self, username: &str) -> StoreResult<LoginFailures> {
        Ok(self
            .lock()?
            .login_failures
            .get(username)
            .copied()
            .unwrap_or_default())
    }

    async fn record_login_failure(
        &self,
        username: &str,
        window: FailureWindow,
    ) -> StoreResult<LoginFailures> {
        let mut s = self.lock()?;
        s.login_failures
            .retain(|_, rec| !rules::failures_forgettable(rec, &window));
        let rec = s.login_failures.entry(username.to_string()).or_default();
        *rec = rules::next_failures(*rec, &window);
        Ok(*rec)
    }

    async fn clear_login_failures(&self, username: &str) -> StoreResult<()> {
        self.lock()?.login_failures.remove(username);
        Ok(())
    }
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Secrets for MemoryStore {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        let mut s = self.lock()?;
        Ok(s.token_secret.get_or_insert(candidate).clone())
    }
}

fn key(workspace: &str, name: &str) -> (String, String) {
    (workspace.to_string(), name.to_string())
}

#[cfg_attr(not(target_arch = "wasm32"), async_trait)]
#[cfg_attr(target_arch = "wasm32", async_trait(?Send))]
impl Datasets for MemoryStore {
    async fn datasets(&self, workspaces: &[String]) -> StoreResult<Vec<Dataset>> {
        let s = self.lock()?;
        Ok(s.datasets
            .values()
            .filter(|d| workspaces.contains(&d.workspace))
            .cloned()
            .collect())
    }

    async fn dataset(&self, workspace: &str, name: &str) -> StoreResult<Option<Dataset>> {
        Ok(self.lock()?.datasets.get(&key(workspace, name)).cloned())
    }

    async fn create_dataset(
        &self,
        dataset: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        let mut s = self.lock()?;
        let k = key(&dataset.workspace, &dataset.name);
        if s.datasets.contains_key(&k) {
            return Ok(false);
        }
        s.datasets.insert(k, dataset);
        s.audit.extend(audit);
        Ok(true)
    }

    async fn update_dataset(
        &self,
        workspace: &str,
        name: &str,
        edit: DatasetEdit,
    ) -> StoreResult<Option<Dataset>> {
        let mut s = self.lock()?;
        let Some(current) = s.datasets.get_mut(&key(workspace, name)) else {
            return Ok(None);
        };
        *current = edit(current);
        Ok(Some(current.clone()))
    }

    async fn delete_dataset(
        &self,
        workspace: &str,
        name: &str,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Option<Dataset>> {
        let mut s = self.lock()?;
        let k = key(workspace, name);
        let Some(gone) = s.datasets.remove(&k) else {
            return Ok(None);
        };
        s.records.remove(&k);
        s.audit.extend(audit);
        Ok(Some(gone))
    }

    async fn copy_dataset(
        &self,
        workspace: &str,
        name: &str,
        copy: Dataset,
        audit: Option<AuditEntry>,
    ) -> StoreResult<bool> {
        let mut s = self.lock()?;
        let from = key(workspace, name);
        let to = key(&copy.workspace, &copy.name);
        if s.datasets.contains_key(&to) || !s.datasets.contains_key(&from) {
            return Ok(false);
        }
        let records = s.records.get(&from).cloned().unwrap_or_default();
        s.records.insert(to.clone(), records);
        s.datasets.insert(to, copy);
        s.audit.extend(audit);
        Ok(true)
    }

    async fn write_records(
        &self,
        workspace: &str,
        name: &str,
        write: RecordWrite,
    ) -> StoreResult<Result<Dataset, WriteRefused>> {
        let mut s = self.lock()?;
        let k = key(workspace, name);
        let current = s.datasets.get(&k).cloned();
        let stored = s.records.get(&k);
        let existing: Vec<Option<Record>> = write
            .ids
            .iter()
            .map(|id| stored.and_then(|r| r.get(id)).cloned())
            .collect();
        let (dataset, records) = match (write.decide)(current.as_ref(), &existing) {
            Ok(decided) => decided,
            Err(refused) => return Ok(Err(refused)),
        };
        let target = s.records.entry(k.clone()).or_default();
        for record in records {
            target.insert(record.id.clone(), record);
        }
        if current.is_none() {
            s.audit.extend(write.created);
        }
        s.datasets.insert(k, dataset.clone());
        Ok(Ok(dataset))
    }

    async fn records(
        &self,
        workspace: &str,
        name: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Record>> {
        use std::ops::Bound;
        let s = self.lock()?;
        let Some(records) = s.records.get(&key(workspace, name)) else {
            return Ok(Vec::new());
        };
        let start = match after {
            Some(a) => Bound::Excluded(a.to_string()),
            None => Bound::Unbounded,
        };
        Ok(records
            .range((start, Bound::Unbounded))
            .take(limit)
            .map(|(_, r)| r.clone())
            .collect())
    }

    async fn records_by_ids(
        &self,
        workspace: &str,
        name: &str,
        ids: &[String],
    ) -> StoreResult<Vec<Record>> {
        let s = self.lock()?;
        let Some(records) = s.records.get(&key(workspace, name)) else {
            return Ok(Vec::new());
        };
        let mut found: Vec<Record> = ids
            .iter()
            .filter_map(|id| records.get(id).cloned())
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
        Ok(found)
    }

    async fn delete_records(
        &self,
        workspace: &str,
        name: &str,
        selection: RecordSelection,
        discard: Option<String>,
        audit: Option<AuditEntry>,
    ) -> StoreResult<u64> {
        let mut s = self.lock()?;
        let k = key(workspace, name);
        let Some(records) = s.records.get_mut(&k) else {
            return Ok(0);
        };
        let ids: Vec<String> = match selection {
            RecordSelection::All => records.keys().cloned().collect(),
            RecordSelection::Ids(ids) => ids
                .into_iter()
                .filter(|id| records.contains_key(id))
                .collect(),
        };
        let mut touched = 0u64;
        for id in &ids {
            match &discard {
                Some(now) => {
                    if let Some(r) = records.get_mut(id) {
                        r.doc = crate::records::discard(&r.doc, now);
                        touched += 1;
                    }
                }
                None => {
                    if records.remove(id).is_some() {
                        touched += 1;
                    }
                }
            }
        }
        if discard.is_none()
            && let Some(d) = s.datasets.get_mut(&k)
        {
            crate::records::after_deletion(d, touched);
        }
        s.audit.extend(audit);
        Ok(touched)
    }
}
