//! The `Registry` Durable Object: the one place where uniqueness and the last-admin rule are
//! decided, because KV has no transactions and no compare-and-set.
//!
//! A single instance (named `registry`) holds:
//! - a reservation per username, per workspace name and per membership added with
//!   `add_member`: `{id, at_ms, committed}`;
//! - the set of user ids known to be enabled admins (a subset of the real set, see README.md);
//! - per edited user, its latest committed edit and version;
//! - the generated token signing secret.
//!
//! Only writes come here (user and workspace creation and deletion, user edits, memberships
//! added with `add_member`), plus, once per isolate, the read of the generated token secret;
//! other reads never do. A Durable Object
//! runs one event at a time and its storage calls hold the input gate, so every operation
//! below is atomic. User edits are compare-and-set here (`EditRead`, `EditCommit`: the latest
//! committed record of each edited user and its version), so concurrent edits of one user
//! never lose each other's changes; a user deletion starts with `Retire` on the user's username
//! reservation, so an edit that raced a deletion learns it and undoes its write (README.md,
//! "Update against delete").

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use worker::{DurableObject, Env, Request, Response, Result, State};

use crate::durable;
use crate::keys::UserRecord;

/// The Durable Object binding in wrangler.toml.
pub const BINDING: &str = "REGISTRY";
/// The name of the single instance.
const INSTANCE: &str = "registry";

/// Which kind of name a reservation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    User,
    Workspace,
    /// A membership added by `add_member`, named `{workspace}/{user}`.
    Member,
}

/// A request to hold `name` for entity `id`. With `join`, a name already held is not a
/// conflict: the answer names its holder instead (a user joining an existing workspace).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub kind: NameKind,
    pub name: String,
    pub id: Uuid,
    pub join: bool,
}

impl Claim {
    fn storage_key(&self) -> String {
        name_key(self.kind, &self.name)
    }
}

fn name_key(kind: NameKind, name: &str) -> String {
    match kind {
        NameKind::User => format!("user:{name}"),
        NameKind::Workspace => format!("workspace:{name}"),
        NameKind::Member => format!("member:{name}"),
    }
}

/// Who holds a name, since when (milliseconds since the epoch), and whether the holder's
/// entity was completely written to KV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub id: Uuid,
    pub at_ms: i64,
    pub committed: bool,
    /// A username whose user is being deleted (`Retire`): no update may confirm it any more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retiring: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// All claims or none.
    Reserve { claims: Vec<Claim>, now_ms: i64 },
    /// Marks the claims' names as fully written (only where `id` still holds them).
    Commit { claims: Vec<Claim>, now_ms: i64 },
    /// Frees the claims' names (only where `id` still holds them).
    Release { claims: Vec<Claim> },
    /// Frees names whoever holds them (memberships, whose holder ids nobody keeps).
    Forget { names: Vec<(NameKind, String)> },
    /// Hands a name held by `previous` (an abandoned holder) to `claim.id`.
    Takeover {
        claim: Claim,
        previous: Uuid,
        now_ms: i64,
    },
    /// Records whether user `id` is an enabled admin; refuses to drop the last one.
    SetAdmin { id: Uuid, active: bool },
    /// Starts deleting user `claim.id`: drops it from the admins (refusing the last one) and
    /// marks its username as retiring, so that a concurrent edit can no longer commit.
    Retire { claim: Claim },
    /// The token secret: the stored one, else `candidate_hex`, stored.
    TokenSecret { candidate_hex: String },
    /// Where an edit of user `claim.id` starts: whether the user is live (holds its username
    /// and is not retiring) and the latest committed edit of it, if any (`Edit`).
    EditRead { claim: Claim },
    /// Commits an edit of user `claim.id` made on version `version` (compare-and-set): refused
    /// with `Conflict` when another edit committed meanwhile, `Moved` when the user is being
    /// deleted, `LastAdmin` when it would drop the last admin (core's rule over the admin set,
    /// applied with the commit). Answers `Committed` with the new version.
    EditCommit {
        claim: Claim,
        version: u64,
        record: UserRecord,
        admin: bool,
    },
}

/// The latest committed edit of a user: the record the next edit starts from (KV may still
/// show an older one for up to a minute) and its version, which only grows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Edited {
    pub version: u64,
    pub record: UserRecord,
}

fn edit_key(id: Uuid) -> String {
    format!("edit:{id}")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Done,
    /// Per claim, in order: the name's holder after the call (the claim's own id, or the
    /// existing holder of a joined name).
    Reserved {
        holders: Vec<Holder>,
    },
    Taken {
        kind: NameKind,
        name: String,
        holder: Holder,
    },
    /// `SetAdmin { active: false }` on the only admin left.
    LastAdmin,
    Secret {
        hex: String,
    },
    /// `Takeover` found another holder than `previous`; `EditCommit` on a user being deleted.
    Moved,
    /// `EditRead`'s answer.
    Edit {
        live: bool,
        latest: Option<Edited>,
    },
    /// `EditCommit` found a newer version than the edit started from.
    Conflict,
    /// `EditCommit` succeeded.
    Committed {
        version: u64,
    },
}

#[worker::durable_object(fetch)]
pub struct Registry {
    state: State,
}

impl DurableObject for Registry {
    fn new(state: State, _env: Env) -> Self {
        Registry { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op: Op = durable::read_op(&mut req).await?;
        Response::from_json(&self.apply(op).await?)
    }
}

impl Registry {
    async fn apply(&self, op: Op) -> Result<Answer> {
        let storage = self.state.storage();
        match op {
            Op::Reserve { claims, now_ms } => {
                let mut written: Vec<String> = Vec::new();
                let mut holders = Vec::with_capacity(claims.len());
                for claim in &claims {
                    let key = claim.storage_key();
                    match storage.get::<Holder>(&key).await? {
                        // A retry of our own reservation.
                        Some(h) if h.id == claim.id => holders.push(h),
                        Some(h) if claim.join => holders.push(h),
                        Some(holder) => {
                            if !written.is_empty() {
                                storage.delete_multiple(written).await?;
                            }
                            return Ok(Answer::Taken {
                                kind: claim.kind,
                                name: claim.name.clone(),
                                holder,
                            });
                        }
                        None => {
                            let h = Holder {
                                id: claim.id,
                                at_ms: now_ms,
                                committed: false,
                                retiring: false,
                            };
                            storage.put(&key, h).await?;
                            written.push(key);
                            holders.push(h);
                        }
                    }
                }
                Ok(Answer::Reserved { holders })
            }
            Op::Commit { claims, now_ms } => {
                for claim in &claims {
                    let key = claim.storage_key();
                    if let Some(h) = storage.get::<Holder>(&key).await?
                        && h.id == claim.id
                        && !h.committed
                    {
                        let h = Holder {
                            committed: true,
                            at_ms: now_ms,
                            ..h
                        };
                        storage.put(&key, h).await?;
                    }
                }
                Ok(Answer::Done)
            }
            Op::Release { claims } => {
                for claim in &claims {
                    let key = claim.storage_key();
                    if let Some(h) = storage.get::<Holder>(&key).await?
                        && h.id == claim.id
                    {
                        storage.delete(&key).await?;
                    }
                    if claim.kind == NameKind::User {
                        storage.delete(&edit_key(claim.id)).await?;
                    }
                }
                Ok(Answer::Done)
            }
            Op::Forget { names } => {
                let keys: Vec<String> = names.iter().map(|(k, n)| name_key(*k, n)).collect();
                if !keys.is_empty() {
                    storage.delete_multiple(keys).await?;
                }
                Ok(Answer::Done)
            }
            Op::Takeover {
                claim,
                previous,
                now_ms,
            } => {
                let key = claim.storage_key();
                match storage.get::<Holder>(&key).await? {
                    Some(h) if h.id != previous => Ok(Answer::Moved),
                    _ => {
                        let h = Holder {
                            id: claim.id,
                            at_ms: now_ms,
                            committed: false,
                            retiring: false,
                        };
                        storage.put(&key, h).await?;
                        Ok(Answer::Done)
                    }
                }
            }
            Op::SetAdmin { id, active } => self.set_admin(id, active).await,
            Op::Retire { claim } => {
                if let Answer::LastAdmin = self.set_admin(claim.id, false).await? {
                    return Ok(Answer::LastAdmin);
                }
                let key = claim.storage_key();
                if let Some(h) = storage.get::<Holder>(&key).await?
                    && h.id == claim.id
                    && !h.retiring
                {
                    storage
                        .put(
                            &key,
                            Holder {
                                retiring: true,
                                ..h
                            },
                        )
                        .await?;
                }
                Ok(Answer::Done)
            }
            Op::EditRead { claim } => Ok(Answer::Edit {
                live: self.live(&claim).await?,
                latest: storage.get::<Edited>(&edit_key(claim.id)).await?,
            }),
            Op::EditCommit {
                claim,
                version,
                record,
                admin,
            } => {
                if !self.live(&claim).await? {
                    return Ok(Answer::Moved);
                }
                let key = edit_key(claim.id);
                let current = storage.get::<Edited>(&key).await?.map_or(0, |e| e.version);
                if current != version {
                    return Ok(Answer::Conflict);
                }
                if let Answer::LastAdmin = self.set_admin(claim.id, admin).await? {
                    return Ok(Answer::LastAdmin);
                }
                let version = version + 1;
                storage.put(&key, Edited { version, record }).await?;
                Ok(Answer::Committed { version })
            }
            Op::TokenSecret { candidate_hex } => {
                let hex = match storage.get::<String>("token_secret").await? {
                    Some(hex) => hex,
                    None => {
                        storage.put("token_secret", &candidate_hex).await?;
                        candidate_hex
                    }
                };
                Ok(Answer::Secret { hex })
            }
        }
    }
}

impl Registry {
    /// Whether user `claim.id` holds its username and is not being deleted.
    async fn live(&self, claim: &Claim) -> Result<bool> {
        let holder = self
            .state
            .storage()
            .get::<Holder>(&claim.storage_key())
            .await?;
        Ok(holder.is_some_and(|h| h.id == claim.id && !h.retiring))
    }

    async fn set_admin(&self, id: Uuid, active: bool) -> Result<Answer> {
        let storage = self.state.storage();
        let mut admins: Vec<Uuid> = storage.get("admins").await?.unwrap_or_default();
        let present = admins.contains(&id);
        if active && !present {
            admins.push(id);
        } else if !active && present {
            // Core's last-admin rule, over the admins this registry knows.
            if workgate_core::rules::an_admin_may_go(admins.len() as u64).is_err() {
                return Ok(Answer::LastAdmin);
            }
            admins.retain(|a| *a != id);
        } else {
            return Ok(Answer::Done);
        }
        storage.put("admins", admins).await?;
        Ok(Answer::Done)
    }
}

/// Sends one operation to the registry instance (of the store under `prefix`).
pub async fn call(env: &Env, prefix: &str, op: &Op) -> Result<Answer> {
    let stub = env
        .durable_object(BINDING)?
        .get_by_name(&format!("{prefix}{INSTANCE}"))?;
    durable::call(&stub, op).await
}
