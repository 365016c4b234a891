//! The KV key layout and the versioned JSON records stored under it.
//!
//! Every key starts with a fixed prefix naming what it holds; ids are UUIDs with dashes, API-key
//! digests lower-case hex. Entities are the truth; every other key is an index that readers
//! verify against the entity it points to (see README.md, "KV layout").
//!
//! | key | value |
//! |---|---|
//! | `user/{id}` | [`UserRecord`] |
//! | `username/{username}` | [`IdRecord`] (index) |
//! | `apikey/{sha256 hex}` | [`IdRecord`] (index) |
//! | `users-by-time/{stamp}/{id}` | empty (ordering) |
//! | `workspace/{id}` | [`WorkspaceRecord`] |
//! | `workspace-name/{name}` | [`IdRecord`] (index) |
//! | `workspaces-by-time/{stamp}/{id}` | empty (ordering) |
//! | `member/{workspace}/{user}` | [`MemberRecord`] (the membership itself) |
//! | `workspace-members/{workspace}/{stamp}/{user}` | empty (ordering) |
//! | `user-workspaces/{user}/{stamp}/{workspace}` | empty (ordering) |
//! | `audit/{reverse stamp}/{id}` | [`AuditRecord`], also as the key's metadata |
//!
//! A `stamp` sorts lexicographically in insertion order (see [`Stamps`]).

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use workgate_core::Timestamp;
use workgate_core::credentials::ApiKeyDigest;
use workgate_core::domain::{AuditEntry, User, Workspace};

/// The record format version written today. Readers reject records of other versions
/// (a newer deployment's data must be migrated, not misread).
pub const FORMAT: u32 = 1;

pub fn user(id: Uuid) -> String {
    format!("user/{id}")
}
pub fn username(name: &str) -> String {
    format!("username/{name}")
}
pub fn api_key(digest: &ApiKeyDigest) -> String {
    format!("apikey/{}", digest.to_hex())
}
pub const USERS_BY_TIME: &str = "users-by-time/";
pub fn user_order(stamp: &str, id: Uuid) -> String {
    format!("{USERS_BY_TIME}{stamp}/{id}")
}

pub fn workspace(id: Uuid) -> String {
    format!("workspace/{id}")
}
pub fn workspace_name(name: &str) -> String {
    format!("workspace-name/{name}")
}
pub const WORKSPACES_BY_TIME: &str = "workspaces-by-time/";
pub fn workspace_order(stamp: &str, id: Uuid) -> String {
    format!("{WORKSPACES_BY_TIME}{stamp}/{id}")
}

pub fn member(workspace: Uuid, user: Uuid) -> String {
    format!("member/{workspace}/{user}")
}
pub fn workspace_members_prefix(workspace: Uuid) -> String {
    format!("workspace-members/{workspace}/")
}
pub fn workspace_member(workspace: Uuid, stamp: &str, user: Uuid) -> String {
    format!("workspace-members/{workspace}/{stamp}/{user}")
}
pub const USER_WORKSPACES: &str = "user-workspaces/";
/// Splits `user-workspaces/{user}/{stamp}/{workspace}` into its parts.
pub fn parse_user_workspace(key: &str) -> Option<(Uuid, &str, Uuid)> {
    let mut parts = key.strip_prefix(USER_WORKSPACES)?.splitn(3, '/');
    let user = Uuid::parse_str(parts.next()?).ok()?;
    let stamp = parts.next()?;
    let workspace = Uuid::parse_str(parts.next()?).ok()?;
    Some((user, stamp, workspace))
}
pub fn user_workspaces_prefix(user: Uuid) -> String {
    format!("user-workspaces/{user}/")
}
pub fn user_workspace(user: Uuid, stamp: &str, workspace: Uuid) -> String {
    format!("user-workspaces/{user}/{stamp}/{workspace}")
}

pub const AUDIT: &str = "audit/";
pub fn audit(reverse_stamp: &str, id: Uuid) -> String {
    format!("{AUDIT}{reverse_stamp}/{id}")
}

/// Splits an ordering key `prefix{stamp}/{id}` into its stamp and id.
pub fn stamp_and_id<'a>(key: &'a str, prefix: &str) -> Option<(&'a str, Uuid)> {
    let rest = key.strip_prefix(prefix)?;
    let (stamp, id) = rest.rsplit_once('/')?;
    Some((stamp, Uuid::parse_str(id).ok()?))
}

/// `user/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub v: u32,
    pub user: User,
    /// The stamp of its `users-by-time` key, so an update keeps the user's place.
    pub order: String,
}

/// `workspace/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub v: u32,
    pub workspace: Workspace,
    pub order: String,
}

/// An index entry: the id of the entity it names.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdRecord {
    pub v: u32,
    pub id: Uuid,
}

/// `member/{workspace}/{user}`: the membership. `order` names the stamp of its two ordering
/// keys; ordering keys with another stamp are leftovers and ignored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberRecord {
    pub v: u32,
    pub at: Timestamp,
    pub order: String,
}

/// `audit/...`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub v: u32,
    pub entry: AuditEntry,
}

/// Sortable stamps: insertion order, as the `Store` lists need.
///
/// A stamp is this isolate's hybrid clock, 19 zero-padded decimal microseconds: the wall clock,
/// forced to grow by at least one per stamp, so two writes from one isolate in the same
/// millisecond (`Date.now()` has millisecond resolution and stands still during computation)
/// still sort in write order. Across isolates, writes sort by wall clock.
pub struct Stamps {
    last: Cell<i64>,
}

impl Stamps {
    pub const fn new() -> Self {
        Stamps { last: Cell::new(0) }
    }

    fn tick(&self, wall: Timestamp) -> i64 {
        let clock = wall.micros().max(self.last.get() + 1).max(0);
        self.last.set(clock);
        clock
    }

    pub fn next(&self, wall: Timestamp) -> String {
        format!("{:019}", self.tick(wall))
    }

    /// A stamp that sorts newest first (for the audit log).
    pub fn next_reversed(&self, wall: Timestamp) -> String {
        format!("{:019}", i64::MAX - self.tick(wall))
    }
}
