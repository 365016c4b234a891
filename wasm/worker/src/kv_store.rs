//! [`Store`] on Workers KV, with the `Registry` and `LoginThrottle` Durable Objects for what KV
//! cannot do (uniqueness, the last-admin rule, counting).
//!
//! How it stays consistent without transactions (README.md has the full statement):
//! - **Entities are the commit point.** Every write puts index and ordering keys first and the
//!   entity last; every delete removes the entity first and the other keys after. Readers go
//!   index → entity and ordering key → entity, and drop anything whose entity is missing or
//!   disagrees (other name, other key digest, other ordering stamp). A write that fails halfway
//!   therefore leaves only keys that no reader returns.
//! - **Names are reserved in the `Registry`** before anything is written to KV, and the
//!   reservation is marked committed after. A reservation whose entity never appeared (or whose
//!   entity was deleted without the release getting through) is reclaimed by the next creator
//!   of that name once it is older than [`RECLAIM_AFTER_MS`].
//! - **Memberships** are one key per (workspace, user) pair, so concurrent adds cannot
//!   duplicate one; its two ordering keys carry a stamp that the pair key names.

use futures_util::future::try_join_all;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use uuid::Uuid;
use worker::Env;
use worker::kv::KvStore as Kv;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::domain::{AuditEntry, NewUser, User, Workspace};

use workgate_core::{
    AuditLog, Directory, Platform, Secrets, StoreError, StoreResult, Stores, Timestamp, UserEdit,
    rules,
};

use crate::keys::{
    self, AuditRecord, FORMAT, IdRecord, MemberRecord, Stamps, UserRecord, WorkspaceRecord,
};
use crate::platform::WorkerPlatform;
use crate::registry::{self, Answer, Claim, Edited, Holder, NameKind, Op};
use crate::throttle;

/// The KV binding in wrangler.toml.
pub const BINDING: &str = "WORKGATE_KV";

/// A name reservation this old whose entity is not in KV is abandoned and may be taken over.
/// Far longer than KV needs to propagate a write (about 60 s) and than any request runs.
pub const RECLAIM_AFTER_MS: i64 = 5 * 60 * 1000;

/// How often an edit of one user starts over after losing a race to another edit.
const MAX_EDIT_ATTEMPTS: usize = 16;

/// KV allows at most 1024 bytes of metadata per key.
const METADATA_LIMIT: usize = 1024;

/// Records that carry a format version.
trait Versioned {
    fn version(&self) -> u32;
}
macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u32 { self.v } })*};
}
versioned!(
    UserRecord,
    WorkspaceRecord,
    IdRecord,
    MemberRecord,
    AuditRecord
);

fn backend(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("{context}: {e}"))
}

/// The KV-backed store. One per isolate; `now` is the wall clock (stamps and reservation
/// ages only: every timestamp that ends up in an entity comes from core).
pub struct KvStore {
    env: Env,
    kv: Kv,
    /// Prepended to every KV key and Durable Object name: empty in production; the store
    /// suite gives each case its own prefix, which makes a fresh, empty store.
    prefix: String,
    stamps: Stamps,
    /// The clock (stamps and reservation ages only) and randomness: the Worker's platform.
    platform: WorkerPlatform,
}

/// The Worker's stores: users, workspaces, memberships, the audit log and the token secret on
/// KV and the `Registry` ([`KvStore`]), login failures in a `LoginThrottle` Durable Object per
/// username ([`throttle::DurableThrottle`]). Every KV key and object name starts with `prefix`
/// (empty in production).
// `Stores` holds `Arc`s on every target; a Worker isolate has one thread.
#[allow(clippy::arc_with_non_send_sync)]
pub fn stores(env: Env, prefix: String) -> worker::Result<Stores> {
    let kv = Arc::new(KvStore::with_prefix(env.clone(), prefix.clone())?);
    Ok(Stores {
        directory: kv.clone(),
        audit: kv.clone(),
        throttle: Arc::new(throttle::DurableThrottle::new(env.clone(), prefix.clone())),
        secrets: kv.clone(),
        datasets: Some(Arc::new(crate::datasets::DurableDatasets::new(
            env, prefix, kv,
        ))),
        restore: None,
    })
}

impl KvStore {
    /// Appends the audit entries of a change that has happened. KV has no transactions, so the
    /// order is: the change, then its entries (README.md, "Write order"). A failed append
    /// cannot undo the change and does not fail it; it is logged as an error naming the entry
    /// (action, target; never a secret), so the gap is visible in `wrangler tail`.
    pub(crate) async fn append_after_change(&self, entries: impl IntoIterator<Item = AuditEntry>) {
        for entry in entries {
            let (action, target) = (entry.action.clone(), entry.target_id);
            if let Err(e) = self.append_audit(entry).await {
                worker::console_error!(
                    "workgate: audit entry lost: {action} on {target} happened, but its entry \
                     could not be appended: {e}"
                );
            }
        }
    }

    /// The registry's view of user `claim.id` for an edit: live or not, and its latest
    /// committed edit.
    async fn edit_read(&self, claim: &Claim) -> StoreResult<(bool, Option<Edited>)> {
        let op = Op::EditRead {
            claim: claim.clone(),
        };
        match self.registry(&op).await? {
            Answer::Edit { live, latest } => Ok((live, latest)),
            other => Err(backend("registry", format!("unexpected {other:?}"))),
        }
    }

    /// Writes a user's entity (with its API-key index first, as every write orders them).
    async fn write_user_record(&self, record: &UserRecord) -> StoreResult<()> {
        let user = &record.user;
        self.put(
            &keys::api_key(&user.api_key_digest),
            &IdRecord {
                v: FORMAT,
                id: user.id,
            },
        )
        .await?;
        self.put(&keys::user(user.id), record).await
    }

    /// After writing edit `written` of a user to KV: until KV holds the latest committed edit
    /// (another edit may have committed after ours and written before us), write that one. If
    /// the user was deleted meanwhile, our write may have re-created its entity: take it away
    /// again and answer not found.
    async fn settle_user(
        &self,
        claim: &Claim,
        mut written: u64,
        record: &UserRecord,
    ) -> StoreResult<()> {
        for _ in 0..MAX_EDIT_ATTEMPTS {
            let (live, latest) = self.edit_read(claim).await?;
            if !live {
                self.delete(&keys::user(claim.id)).await?;
                self.delete(&keys::api_key(&record.user.api_key_digest))
                    .await?;
                return Err(StoreError::UserNotFound(claim.id));
            }
            match latest {
                Some(latest) if latest.version != written => {
                    self.write_user_record(&latest.record).await?;
                    written = latest.version;
                }
                _ => return Ok(()),
            }
        }
        Err(backend(
            "update_user",
            "KV did not settle on the latest edit",
        ))
    }

    /// A store whose keys and Durable Objects all live under `prefix`.
    pub fn with_prefix(env: Env, prefix: String) -> worker::Result<Self> {
        let kv = env.kv(BINDING)?;
        Ok(KvStore {
            env,
            kv,
            prefix,
            stamps: Stamps::new(),
            platform: WorkerPlatform,
        })
    }

    fn full(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn now_ms(&self) -> i64 {
        self.platform.now().micros() / 1000
    }

    // ----- raw KV -----

    async fn get<T: DeserializeOwned + Versioned>(&self, key: &str) -> StoreResult<Option<T>> {
        let record: Option<T> = self
            .kv
            .get(&self.full(key))
            .json()
            .await
            .map_err(|e| backend(key, e))?;
        match record {
            Some(r) if r.version() != FORMAT => Err(StoreError::Backend(format!(
                "{key}: record format {} (this build reads {FORMAT})",
                r.version()
            ))),
            other => Ok(other),
        }
    }

    /// Several keys at once: KV's bulk get, 100 keys per call (one operation each against the
    /// per-request limit, instead of one per key). Answers in the order of `keys`.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<serde_json::Value>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let full: Vec<String> = chunk.iter().map(|k| self.full(k)).collect();
            let mut found: std::collections::HashMap<String, Option<serde_json::Value>> = self
                .kv
                .get_bulk(&full)
                .json()
                .await
                .map_err(|e| backend("bulk get", e))?;
            out.extend(full.iter().map(|k| found.remove(k).flatten()));
        }
        Ok(out)
    }

    /// [`Self::get_many`], each value read as a `T` of the current format (or absent).
    async fn get_many_as<T: DeserializeOwned + Versioned>(
        &self,
        keys: &[String],
    ) -> StoreResult<Vec<Option<T>>> {
        self.get_many(keys)
            .await?
            .into_iter()
            .zip(keys)
            .map(|(value, key)| match value {
                None => Ok(None),
                Some(v) => {
                    let record: T = serde_json::from_value(v).map_err(|e| backend(key, e))?;
                    if record.version() != FORMAT {
                        return Err(backend(key, format!("record format {}", record.version())));
                    }
                    Ok(Some(record))
                }
            })
            .collect()
    }

    async fn put(&self, key: &str, value: &impl Serialize) -> StoreResult<()> {
        let text = serde_json::to_string(value).map_err(|e| backend(key, e))?;
        self.kv
            .put(&self.full(key), text)
            .map_err(|e| backend(key, e))?
            .execute()
            .await
            .map_err(|e| backend(key, e))
    }

    /// An ordering key: only its name matters.
    async fn put_marker(&self, key: &str) -> StoreResult<()> {
        self.kv
            .put(&self.full(key), "")
            .map_err(|e| backend(key, e))?
            .execute()
            .await
            .map_err(|e| backend(key, e))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.kv
            .delete(&self.full(key))
            .await
            .map_err(|e| backend(key, e))
    }

    /// Every key under `prefix` (with metadata), in key order, following list cursors.
    async fn list(
        &self,
        prefix: &str,
        stop_after: Option<usize>,
    ) -> StoreResult<Vec<(String, Option<serde_json::Value>)>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut list = self.kv.list().prefix(self.full(prefix));
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = list.execute().await.map_err(|e| backend(prefix, e))?;
            let ours = self.prefix.len();
            out.extend(page.keys.into_iter().map(|k| {
                (
                    k.name.get(ours..).unwrap_or_default().to_string(),
                    k.metadata,
                )
            }));
            if stop_after.is_some_and(|n| out.len() >= n) {
                break;
            }
            match page.cursor {
                Some(c) if !page.list_complete && !c.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        Ok(out)
    }

    /// `(stamp, id)` of every ordering key under `prefix`.
    async fn ordering(&self, prefix: &str) -> StoreResult<Vec<(String, Uuid)>> {
        Ok(self
            .list(prefix, None)
            .await?
            .iter()
            .filter_map(|(k, _)| keys::stamp_and_id(k, prefix).map(|(s, id)| (s.to_string(), id)))
            .collect())
    }

    // ----- entities -----

    async fn user_record(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        let record: Option<UserRecord> = self.get(&keys::user(id)).await?;
        Ok(record.filter(|r| r.user.id == id))
    }

    async fn workspace_record(&self, id: Uuid) -> StoreResult<Option<WorkspaceRecord>> {
        let record: Option<WorkspaceRecord> = self.get(&keys::workspace(id)).await?;
        Ok(record.filter(|r| r.workspace.id == id))
    }

    /// The entities named by ordering keys, dropping keys that are not their entity's current
    /// ones (leftovers of failed or superseded writes).
    async fn users_in_order(&self, prefix: &str) -> StoreResult<Vec<User>> {
        let order = self.ordering(prefix).await?;
        let keys: Vec<String> = order.iter().map(|(_, id)| keys::user(*id)).collect();
        let records: Vec<Option<UserRecord>> = self.get_many_as(&keys).await?;
        Ok(order
            .iter()
            .zip(records)
            .filter_map(|((stamp, id), r)| {
                r.filter(|r| &r.order == stamp && r.user.id == *id)
                    .map(|r| r.user)
            })
            .collect())
    }

    async fn workspaces_in_order(&self, prefix: &str) -> StoreResult<Vec<Workspace>> {
        let order = self.ordering(prefix).await?;
        let keys: Vec<String> = order.iter().map(|(_, id)| keys::workspace(*id)).collect();
        let records: Vec<Option<WorkspaceRecord>> = self.get_many_as(&keys).await?;
        Ok(order
            .iter()
            .zip(records)
            .filter_map(|((stamp, id), r)| {
                r.filter(|r| &r.order == stamp && r.workspace.id == *id)
                    .map(|r| r.workspace)
            })
            .collect())
    }

    /// The memberships under an ordering prefix whose pair key carries the same stamp, as
    /// `(workspace, user)` pairs, with the other side's id. Two bulk reads at most per 100.
    async fn live_memberships(
        &self,
        prefix: &str,
        pair: impl Fn(Uuid) -> (Uuid, Uuid),
    ) -> StoreResult<Vec<Uuid>> {
        let order = self.ordering(prefix).await?;
        let keys: Vec<String> = order
            .iter()
            .map(|(_, other)| {
                let (ws, user) = pair(*other);
                keys::member(ws, user)
            })
            .collect();
        let pairs: Vec<Option<MemberRecord>> = self.get_many_as(&keys).await?;
        Ok(order
            .iter()
            .zip(pairs)
            .filter(|((stamp, _), p)| p.as_ref().is_some_and(|p| &p.order == stamp))
            .map(|((_, other), _)| *other)
            .collect())
    }

    // ----- registry -----

    async fn registry(&self, op: &Op) -> StoreResult<Answer> {
        registry::call(&self.env, &self.prefix, op)
            .await
            .map_err(|e| backend("registry", e))
    }

    /// Whether `holder`'s reservation of a name is abandoned: old, and its entity is not in KV.
    async fn abandoned(&self, kind: NameKind, name: &str, holder: Holder) -> StoreResult<bool> {
        if self.now_ms() - holder.at_ms < RECLAIM_AFTER_MS {
            return Ok(false);
        }
        Ok(match kind {
            NameKind::User => self.user_record(holder.id).await?.is_none(),
            NameKind::Workspace => self.workspace_record(holder.id).await?.is_none(),
            // A membership reservation outlives its pair key only if a write failed halfway.
            NameKind::Member => match name.split_once('/').map(|(w, u)| (w.parse(), u.parse())) {
                Some((Ok(ws), Ok(user))) => self
                    .get::<MemberRecord>(&keys::member(ws, user))
                    .await?
                    .is_none(),
                _ => true,
            },
        })
    }

    async fn takeover(&self, claim: &Claim, previous: Uuid) -> StoreResult<bool> {
        let op = Op::Takeover {
            claim: claim.clone(),
            previous,
            now_ms: self.now_ms(),
        };
        Ok(matches!(self.registry(&op).await?, Answer::Done))
    }

    /// Reserves all `claims` or none, taking over abandoned reservations. Per claim, the
    /// name's holder: the claim's own id, or for a joined workspace the existing one.
    async fn reserve(&self, claims: &[Claim]) -> StoreResult<Vec<Holder>> {
        for _ in 0..3 {
            let op = Op::Reserve {
                claims: claims.to_vec(),
                now_ms: self.now_ms(),
            };
            match self.registry(&op).await? {
                Answer::Reserved { holders } => {
                    let mut out = Vec::with_capacity(holders.len());
                    for (claim, holder) in claims.iter().zip(holders) {
                        // A joined workspace whose creator gave up: make it ours.
                        if holder.id != claim.id
                            && self.abandoned(claim.kind, &claim.name, holder).await?
                            && self.takeover(claim, holder.id).await?
                        {
                            out.push(Holder {
                                id: claim.id,
                                ..holder
                            });
                        } else {
                            out.push(holder);
                        }
                    }
                    return Ok(out);
                }
                Answer::Taken { kind, name, holder } => {
                    let claim = claims
                        .iter()
                        .find(|c| c.kind == kind && c.name == name)
                        .ok_or_else(|| backend("registry", "answer names no claim"))?;
                    if !(self.abandoned(kind, &name, holder).await?
                        && self.takeover(claim, holder.id).await?)
                    {
                        return Err(match kind {
                            NameKind::User => StoreError::UsernameTaken(name),
                            NameKind::Workspace => StoreError::WorkspaceNameTaken(name),
                            NameKind::Member => {
                                StoreError::Backend(format!("membership {name} is already held"))
                            }
                        });
                    }
                }
                other => return Err(backend("registry", format!("unexpected {other:?}"))),
            }
        }
        Err(backend("registry", "reservation kept moving"))
    }

    /// Frees the registry's membership reservations of these (workspace, user) pairs, after
    /// their pair keys are gone.
    async fn forget_members(&self, pairs: &[(Uuid, Uuid)]) -> StoreResult<()> {
        if pairs.is_empty() {
            return Ok(());
        }
        let names = pairs
            .iter()
            .map(|(w, u)| (NameKind::Member, format!("{w}/{u}")))
            .collect();
        self.registry(&Op::Forget { names }).await?;
        Ok(())
    }

    async fn set_admin(&self, id: Uuid, active: bool) -> StoreResult<()> {
        match self.registry(&Op::SetAdmin { id, active }).await? {
            Answer::Done => Ok(()),
            Answer::LastAdmin => Err(StoreError::LastAdmin),
            other => Err(backend("registry", format!("unexpected {other:?}"))),
        }
    }

    // ----- writes -----

    /// Writes a workspace: ordering key, name index, then the entity.
    async fn write_workspace(&self, workspace: &Workspace) -> StoreResult<()> {
        let stamp = self.stamps.next(self.platform.now());
        self.put_marker(&keys::workspace_order(&stamp, workspace.id))
            .await?;
        self.put(
            &keys::workspace_name(&workspace.name),
            &IdRecord {
                v: FORMAT,
                id: workspace.id,
            },
        )
        .await?;
        self.put(
            &keys::workspace(workspace.id),
            &WorkspaceRecord {
                v: FORMAT,
                workspace: workspace.clone(),
                order: stamp,
            },
        )
        .await
    }

    /// Writes a membership: both ordering keys, then the pair key.
    async fn write_member(&self, workspace: Uuid, user: Uuid, at: Timestamp) -> StoreResult<()> {
        let stamp = self.stamps.next(self.platform.now());
        self.put_marker(&keys::workspace_member(workspace, &stamp, user))
            .await?;
        self.put_marker(&keys::user_workspace(user, &stamp, workspace))
            .await?;
        self.put(
            &keys::member(workspace, user),
            &MemberRecord {
                v: FORMAT,
                at,
                order: stamp,
            },
        )
        .await
    }

    /// Removes a membership: the pair key, then its ordering keys.
    async fn remove_member_keys(
        &self,
        workspace: Uuid,
        user: Uuid,
        stamp: &str,
    ) -> StoreResult<()> {
        self.delete(&keys::member(workspace, user)).await?;
        self.delete(&keys::workspace_member(workspace, stamp, user))
            .await?;
        self.delete(&keys::user_workspace(user, stamp, workspace))
            .await
    }

    /// Fails if another live user holds this API-key digest (keys are 256 random bits, so
    /// this only guards against a configured key being reused).
    async fn check_key_free(&self, digest: &ApiKeyDigest, owner: Uuid) -> StoreResult<()> {
        if let Some(other) = self.user_by_api_key(digest).await?
            && other.id != owner
        {
            return Err(StoreError::Backend("API key digest collision".into()));
        }
        Ok(())
    }

    /// Creates the users of `batch` (reserved together), in order.
    async fn create_batch(&self, batch: Vec<NewUser>) -> StoreResult<Vec<User>> {
        let mut claims = Vec::new();
        for new in &batch {
            claims.push(Claim {
                kind: NameKind::User,
                name: new.user.username.clone(),
                id: new.user.id,
                join: false,
            });
            for ws in &new.workspaces {
                claims.push(Claim {
                    kind: NameKind::Workspace,
                    name: ws.name.clone(),
                    id: ws.id,
                    join: true,
                });
            }
        }
        for new in &batch {
            self.check_key_free(&new.user.api_key_digest, new.user.id)
                .await?;
        }
        let holders = self.reserve(&claims).await?;

        let mut holders = holders.into_iter();
        let mut written_workspaces: Vec<Uuid> = Vec::new();
        let mut created = Vec::with_capacity(batch.len());
        for NewUser { user, workspaces } in batch {
            holders.next(); // the username's
            let mut joined: Vec<Uuid> = Vec::new();
            for ws in workspaces {
                let holder = holders
                    .next()
                    .ok_or_else(|| backend("registry", "too few holders"))?;
                if holder.id == ws.id && !written_workspaces.contains(&ws.id) {
                    self.write_workspace(&ws).await?;
                    written_workspaces.push(ws.id);
                }
                if !joined.contains(&holder.id) {
                    joined.push(holder.id);
                }
            }
            for ws in &joined {
                self.write_member(*ws, user.id, user.inserted_at).await?;
            }
            let stamp = self.stamps.next(self.platform.now());
            self.put_marker(&keys::user_order(&stamp, user.id)).await?;
            self.put(
                &keys::username(&user.username),
                &IdRecord {
                    v: FORMAT,
                    id: user.id,
                },
            )
            .await?;
            self.put(
                &keys::api_key(&user.api_key_digest),
                &IdRecord {
                    v: FORMAT,
                    id: user.id,
                },
            )
            .await?;
            self.put(
                &keys::user(user.id),
                &UserRecord {
                    v: FORMAT,
                    user: user.clone(),
                    order: stamp,
                },
            )
            .await?;
            created.push(user);
        }

        // Every entity is written: the reservations are final.
        let commit = Op::Commit {
            claims,
            now_ms: self.now_ms(),
        };
        self.registry(&commit).await?;
        for user in created.iter().filter(|u| u.is_active_admin()) {
            self.set_admin(user.id, true).await?;
        }
        Ok(created)
    }
}

#[async_trait::async_trait(?Send)]
impl Directory for KvStore {
    fn kind(&self) -> &'static str {
        "kv"
    }

    async fn ping(&self) -> StoreResult<()> {
        self.kv
            .get("ping")
            .text()
            .await
            .map(|_| ())
            .map_err(|e| backend("ping", e))
    }

    async fn user_count(&self) -> StoreResult<u64> {
        Ok(self.users().await?.len() as u64)
    }

    /// Asked by the bootstrap on every new isolate: one list page and one bulk read of its
    /// first 100 users, instead of reading every user. Only when none of those is live (all
    /// leftovers of failed writes) does it fall back to the full listing.
    async fn has_users(&self) -> StoreResult<bool> {
        let first_page = self.list(keys::USERS_BY_TIME, Some(1)).await?;
        let order: Vec<(String, Uuid)> = first_page
            .iter()
            .filter_map(|(k, _)| {
                keys::stamp_and_id(k, keys::USERS_BY_TIME).map(|(s, id)| (s.to_string(), id))
            })
            .take(100)
            .collect();
        if order.is_empty() {
            return Ok(false);
        }
        let user_keys: Vec<String> = order.iter().map(|(_, id)| keys::user(*id)).collect();
        let records: Vec<Option<UserRecord>> = self.get_many_as(&user_keys).await?;
        let live = order
            .iter()
            .zip(records)
            .any(|((stamp, id), r)| r.is_some_and(|r| &r.order == stamp && r.user.id == *id));
        if live {
            return Ok(true);
        }
        Ok(!self.users().await?.is_empty())
    }

    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<User>> {
        Ok(self.user_record(id).await?.map(|r| r.user))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let Some(index) = self.get::<IdRecord>(&keys::username(username)).await? else {
            return Ok(None);
        };
        Ok(self
            .user_by_id(index.id)
            .await?
            .filter(|u| u.username == username))
    }

    async fn user_by_api_key(&self, digest: &ApiKeyDigest) -> StoreResult<Option<User>> {
        let Some(index) = self.get::<IdRecord>(&keys::api_key(digest)).await? else {
            return Ok(None);
        };
        Ok(self
            .user_by_id(index.id)
            .await?
            .filter(|u| u.api_key_digest == *digest))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.users_in_order(keys::USERS_BY_TIME).await
    }

    async fn create_user(&self, new: NewUser, audit: Option<AuditEntry>) -> StoreResult<User> {
        let mut created = self.create_batch(vec![new]).await?;
        self.append_after_change(audit).await;
        created
            .pop()
            .ok_or_else(|| backend("create_user", "nothing created"))
    }

    async fn create_users(
        &self,
        batch: Vec<NewUser>,
        audit: Vec<AuditEntry>,
    ) -> StoreResult<Vec<User>> {
        let created = self.create_batch(batch).await?;
        self.append_after_change(audit).await;
        Ok(created)
    }

    /// KV has no compare-and-set, so edits of one user are serialised by the `Registry`: an
    /// edit starts from the registry's latest committed record of the user (KV's copy may lag),
    /// commits there only if no other edit committed meanwhile (else it starts over), and only
    /// then writes KV, settling until KV holds the latest committed record. The last-admin rule
    /// is applied with the commit. README.md, "Write order", has the steps.
    async fn update_user(&self, id: Uuid, edit: UserEdit) -> StoreResult<User> {
        let Some(kv_record) = self.user_record(id).await? else {
            return Err(StoreError::UserNotFound(id));
        };
        let claim = user_claim(&kv_record.user);
        for _ in 0..MAX_EDIT_ATTEMPTS {
            let (live, latest) = self.edit_read(&claim).await?;
            if !live {
                return Err(StoreError::UserNotFound(id));
            }
            let (version, base) = match latest {
                Some(latest) => (latest.version, latest.record),
                None => (0, kv_record.clone()),
            };
            let stored = edit.apply(&base.user)?;
            if stored == base.user {
                return Ok(stored);
            }
            let key_changed = base.user.api_key_digest != stored.api_key_digest;
            if key_changed {
                self.check_key_free(&stored.api_key_digest, stored.id)
                    .await?;
            }
            let record = UserRecord {
                v: FORMAT,
                user: stored.clone(),
                order: base.order.clone(),
            };
            let commit = Op::EditCommit {
                claim: claim.clone(),
                version,
                record: record.clone(),
                admin: rules::counts_as_admin(&stored),
            };
            let version = match self.registry(&commit).await? {
                Answer::Committed { version } => version,
                Answer::Conflict => continue,
                Answer::LastAdmin => return Err(StoreError::LastAdmin),
                Answer::Moved => return Err(StoreError::UserNotFound(id)),
                other => return Err(backend("registry", format!("unexpected {other:?}"))),
            };
            self.write_user_record(&record).await?;
            if key_changed {
                // Already dead: readers check the entity's digest.
                self.delete(&keys::api_key(&base.user.api_key_digest))
                    .await?;
            }
            self.settle_user(&claim, version, &record).await?;
            self.append_after_change(edit.audit_entry(&base.user, &stored))
                .await;
            return Ok(stored);
        }
        Err(backend(
            "update_user",
            "too many concurrent edits of this user; try again",
        ))
    }

    async fn delete_user(&self, id: Uuid, audit: Option<AuditEntry>) -> StoreResult<User> {
        let Some(old) = self.user_record(id).await? else {
            return Err(StoreError::UserNotFound(id));
        };
        let user = old.user;
        // Drops the admin (refusing the last one) and bars any update from confirming, before
        // the entity goes: see `update_user`.
        match self
            .registry(&Op::Retire {
                claim: user_claim(&user),
            })
            .await?
        {
            Answer::Done => {}
            Answer::LastAdmin => return Err(StoreError::LastAdmin),
            other => return Err(backend("registry", format!("unexpected {other:?}"))),
        }
        self.delete(&keys::user(id)).await?;
        let mut pairs = Vec::new();
        for (stamp, ws) in self.ordering(&keys::user_workspaces_prefix(id)).await? {
            self.remove_member_keys(ws, id, &stamp).await?;
            pairs.push((ws, id));
        }
        self.forget_members(&pairs).await?;
        self.delete(&keys::username(&user.username)).await?;
        self.delete(&keys::api_key(&user.api_key_digest)).await?;
        self.delete(&keys::user_order(&old.order, id)).await?;
        let release = Op::Release {
            claims: vec![user_claim(&user)],
        };
        self.registry(&release).await?;
        self.append_after_change(audit).await;
        Ok(user)
    }

    async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
        self.workspaces_in_order(keys::WORKSPACES_BY_TIME).await
    }

    async fn workspace_by_id(&self, id: Uuid) -> StoreResult<Option<Workspace>> {
        Ok(self.workspace_record(id).await?.map(|r| r.workspace))
    }

    async fn workspace_by_name(&self, name: &str) -> StoreResult<Option<Workspace>> {
        let Some(index) = self.get::<IdRecord>(&keys::workspace_name(name)).await? else {
            return Ok(None);
        };
        Ok(self
            .workspace_by_id(index.id)
            .await?
            .filter(|w| w.name == name))
    }

    async fn create_workspace(
        &self,
        workspace: Workspace,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        let claims = [Claim {
            kind: NameKind::Workspace,
            name: workspace.name.clone(),
            id: workspace.id,
            join: false,
        }];
        self.reserve(&claims).await?;
        self.write_workspace(&workspace).await?;
        let commit = Op::Commit {
            claims: claims.to_vec(),
            now_ms: self.now_ms(),
        };
        self.registry(&commit).await?;
        self.append_after_change(audit).await;
        Ok(workspace)
    }

    async fn delete_workspace(
        &self,
        id: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<Workspace> {
        let Some(old) = self.workspace_record(id).await? else {
            return Err(StoreError::WorkspaceNotFound(id));
        };
        let ws = old.workspace;
        self.delete(&keys::workspace(id)).await?;
        let mut pairs = Vec::new();
        for (stamp, user) in self.ordering(&keys::workspace_members_prefix(id)).await? {
            self.remove_member_keys(id, user, &stamp).await?;
            pairs.push((id, user));
        }
        self.forget_members(&pairs).await?;
        self.delete(&keys::workspace_name(&ws.name)).await?;
        self.delete(&keys::workspace_order(&old.order, id)).await?;
        let release = Op::Release {
            claims: vec![Claim {
                kind: NameKind::Workspace,
                name: ws.name.clone(),
                id,
                join: false,
            }],
        };
        self.registry(&release).await?;
        self.append_after_change(audit).await;
        Ok(ws)
    }

    async fn workspaces_of(&self, user: Uuid) -> StoreResult<Vec<Workspace>> {
        let ids = self
            .live_memberships(&keys::user_workspaces_prefix(user), |ws| (ws, user))
            .await?;
        let keys: Vec<String> = ids.iter().map(|id| keys::workspace(*id)).collect();
        let records: Vec<Option<WorkspaceRecord>> = self.get_many_as(&keys).await?;
        Ok(ids
            .iter()
            .zip(records)
            .filter_map(|(id, r)| r.filter(|r| r.workspace.id == *id).map(|r| r.workspace))
            .collect())
    }

    async fn members_of(&self, workspace: Uuid) -> StoreResult<Vec<User>> {
        let ids = self
            .live_memberships(&keys::workspace_members_prefix(workspace), |user| {
                (workspace, user)
            })
            .await?;
        let keys: Vec<String> = ids.iter().map(|id| keys::user(*id)).collect();
        let records: Vec<Option<UserRecord>> = self.get_many_as(&keys).await?;
        Ok(ids
            .iter()
            .zip(records)
            .filter_map(|(id, r)| r.filter(|r| r.user.id == *id).map(|r| r.user))
            .collect())
    }

    /// For more than a few users: one listing of every membership ordering key, then bulk gets
    /// of the pair keys and the workspaces, instead of a listing per user.
    async fn workspace_names_of_users(&self, users: &[Uuid]) -> StoreResult<Vec<Vec<String>>> {
        if users.len() <= 3 {
            let mut out = Vec::with_capacity(users.len());
            for user in users {
                let names = self.workspaces_of(*user).await?.into_iter().map(|w| w.name);
                out.push(names.collect());
            }
            return Ok(out);
        }
        let listed = self.list(keys::USER_WORKSPACES, None).await?;
        let entries: Vec<(Uuid, String, Uuid)> = listed
            .iter()
            .filter_map(|(k, _)| keys::parse_user_workspace(k))
            .filter(|(user, _, _)| users.contains(user))
            .map(|(user, stamp, ws)| (user, stamp.to_string(), ws))
            .collect();
        let pair_keys: Vec<String> = entries
            .iter()
            .map(|(user, _, ws)| keys::member(*ws, *user))
            .collect();
        let pairs: Vec<Option<MemberRecord>> = self.get_many_as(&pair_keys).await?;
        let live: Vec<&(Uuid, String, Uuid)> = entries
            .iter()
            .zip(pairs)
            .filter(|((_, stamp, _), p)| p.as_ref().is_some_and(|p| &p.order == stamp))
            .map(|(e, _)| e)
            .collect();
        let mut ws_ids: Vec<Uuid> = live.iter().map(|(_, _, ws)| *ws).collect();
        ws_ids.sort();
        ws_ids.dedup();
        let ws_keys: Vec<String> = ws_ids.iter().map(|id| keys::workspace(*id)).collect();
        let records: Vec<Option<WorkspaceRecord>> = self.get_many_as(&ws_keys).await?;
        let names: std::collections::HashMap<Uuid, String> = ws_ids
            .iter()
            .zip(records)
            .filter_map(|(id, r)| {
                r.filter(|r| r.workspace.id == *id)
                    .map(|r| (*id, r.workspace.name))
            })
            .collect();
        // Keys list in (user, stamp) order, so each user's names come out by membership time.
        Ok(users
            .iter()
            .map(|user| {
                live.iter()
                    .filter(|(u, _, _)| u == user)
                    .filter_map(|(_, _, ws)| names.get(ws).cloned())
                    .collect()
            })
            .collect())
    }

    /// One listing of every membership ordering key (by user), bulk gets of the pair keys;
    /// the live ones, sorted by their stamp: the order they were added in.
    async fn memberships(&self) -> StoreResult<Vec<workgate_core::store::Membership>> {
        let listed = self.list(keys::USER_WORKSPACES, None).await?;
        let entries: Vec<(Uuid, String, Uuid)> = listed
            .iter()
            .filter_map(|(k, _)| keys::parse_user_workspace(k))
            .map(|(user, stamp, ws)| (user, stamp.to_string(), ws))
            .collect();
        let pair_keys: Vec<String> = entries
            .iter()
            .map(|(user, _, ws)| keys::member(*ws, *user))
            .collect();
        let pairs: Vec<Option<MemberRecord>> = self.get_many_as(&pair_keys).await?;
        let mut live: Vec<(String, workgate_core::store::Membership)> = entries
            .into_iter()
            .zip(pairs)
            .filter_map(|((user, stamp, workspace), pair)| {
                let pair = pair.filter(|p| p.order == stamp)?;
                Some((
                    stamp,
                    workgate_core::store::Membership {
                        workspace,
                        user,
                        at: pair.at,
                    },
                ))
            })
            .collect();
        live.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(live.into_iter().map(|(_, m)| m).collect())
    }

    async fn add_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        at: Timestamp,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        if self.workspace_record(workspace).await?.is_none() {
            return Err(StoreError::WorkspaceNotFound(workspace));
        }
        if self.user_record(user).await?.is_none() {
            return Err(StoreError::UserNotFound(user));
        }
        if self
            .get::<MemberRecord>(&keys::member(workspace, user))
            .await?
            .is_some()
        {
            return Err(StoreError::AlreadyMember { workspace, user });
        }
        // Concurrent adds of one pair, anywhere: the registry lets exactly one through.
        let claims = [member_claim(&self.platform, workspace, user)];
        match self.reserve(&claims).await {
            Ok(_) => {}
            Err(StoreError::Backend(m)) if m.starts_with("membership ") => {
                return Err(StoreError::AlreadyMember { workspace, user });
            }
            Err(e) => return Err(e),
        }
        self.write_member(workspace, user, at).await?;
        let commit = Op::Commit {
            claims: claims.to_vec(),
            now_ms: self.now_ms(),
        };
        self.registry(&commit).await?;
        self.append_after_change(audit).await;
        Ok(())
    }

    async fn remove_member(
        &self,
        workspace: Uuid,
        user: Uuid,
        audit: Option<AuditEntry>,
    ) -> StoreResult<()> {
        let Some(pair) = self
            .get::<MemberRecord>(&keys::member(workspace, user))
            .await?
        else {
            return Err(StoreError::NotMember { workspace, user });
        };
        self.remove_member_keys(workspace, user, &pair.order)
            .await?;
        self.forget_members(&[(workspace, user)]).await?;
        self.append_after_change(audit).await;
        Ok(())
    }
}

#[async_trait::async_trait(?Send)]
impl AuditLog for KvStore {
    async fn append_audit(&self, entry: AuditEntry) -> StoreResult<()> {
        let stamp = self.stamps.next_reversed(self.platform.now());
        let key = keys::audit(&stamp, entry.id);
        let record = AuditRecord { v: FORMAT, entry };
        let text = serde_json::to_string(&record).map_err(|e| backend(&key, e))?;
        let mut put = self
            .kv
            .put(&self.full(&key), text.as_str())
            .map_err(|e| backend(&key, e))?;
        // Small entries ride along as metadata, so listing the log needs no reads.
        if text.len() <= METADATA_LIMIT {
            put = put.metadata(&record).map_err(|e| backend(&key, e))?;
        }
        put.execute().await.map_err(|e| backend(&key, e))
    }

    async fn audit(&self, limit: u32, offset: u32) -> StoreResult<Vec<AuditEntry>> {
        let wanted = offset as usize + limit as usize;
        let listed = self.list(keys::AUDIT, Some(wanted)).await?;
        let page = listed
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize);
        let records = try_join_all(page.map(|(key, metadata)| async move {
            match metadata.and_then(|m| serde_json::from_value::<AuditRecord>(m).ok()) {
                Some(r) if r.v == FORMAT => Ok(Some(r)),
                _ => self.get::<AuditRecord>(&key).await,
            }
        }))
        .await?;
        Ok(records.into_iter().flatten().map(|r| r.entry).collect())
    }
}

#[async_trait::async_trait(?Send)]
impl Secrets for KvStore {
    async fn token_secret(&self, candidate: Vec<u8>) -> StoreResult<Vec<u8>> {
        let op = Op::TokenSecret {
            candidate_hex: hex::encode(&candidate),
        };
        match self.registry(&op).await? {
            Answer::Secret { hex } => {
                hex::decode(&hex).map_err(|_| backend("registry", "token secret is not hex"))
            }
            other => Err(backend("registry", format!("unexpected {other:?}"))),
        }
    }
}

/// The registry claim of a user's username.
fn user_claim(user: &User) -> Claim {
    Claim {
        kind: NameKind::User,
        name: user.username.clone(),
        id: user.id,
        join: false,
    }
}

/// The registry claim for an `add_member` of this pair (a fresh random id per attempt, so a
/// retry of the same request is told apart from a concurrent one).
fn member_claim(platform: &WorkerPlatform, workspace: Uuid, user: Uuid) -> Claim {
    let mut id = [0u8; 16];
    platform.fill_random(&mut id);
    Claim {
        kind: NameKind::Member,
        name: format!("{workspace}/{user}"),
        id: uuid::Builder::from_random_bytes(id).into_uuid(),
        join: false,
    }
}
