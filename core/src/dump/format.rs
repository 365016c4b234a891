//! The dump's lines, version 1. Each line is one JSON object with one key naming what it is.
//! These are the format's own types, not the stores' records, so the format changes only with
//! its version. Unknown keys and fields are refused (a dump of a newer format is not half read).
//!
//! Times are integers: microseconds since the Unix epoch (exact, and what every store keeps).
//!
//! | line | fields |
//! |---|---|
//! | header (first) | `format` = `"workgate-dump"`, `version` = 1, `workgate` (the writer's version) |
//! | `workspace` | `id`, `name`, `inserted_at`, `updated_at` |
//! | `user` | `id`, `username`, `first_name`, `last_name`?, `role`, `disabled`, `password_hash` (PHC Argon2 or bcrypt), `api_key_digest` (SHA-256, 64 hex digits), `api_key_prefix`, `security_stamp`, `inserted_at`, `updated_at` |
//! | `member` | `workspace` (id), `user` (id), `at` |
//! | `audit` | `id`, `at`, `actor_id`?, `actor`, `action`, `target_type`, `target_id`, `target_name`, `detail`? |
//! | `dataset` | `workspace` (name), `name`, `task`, `tags`, `metadata`, `created_by`?, `created_at`, `last_updated`, `closed`, `settings`?, `facts` {`records`, `metadata_keys`, `vector_names`, `multi_label`?, `labels`} |
//! | `record` | `workspace`, `dataset` (names), `id`, `doc` (the stored JSON object, without an `id` key: the line's `id` is the record's) |
//! | `end` (last) | `entries`: the number of lines between header and end |

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::credentials::ApiKeyDigest;
use crate::dataset::{Dataset, Record, RecordDoc, RecordFacts, Task};
use crate::domain::{AuditEntry, Role, User, Workspace};
use crate::store::Membership;
use crate::timestamp::Timestamp;

/// The header's `format`.
pub const FORMAT_NAME: &str = "workgate-dump";
/// The version this workgate writes and reads.
pub const VERSION: u32 = 1;

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The workgate version that wrote it (informative).
    pub workgate: String,
}

impl Header {
    pub fn current() -> Header {
        Header {
            format: FORMAT_NAME.to_string(),
            version: VERSION,
            workgate: crate::VERSION.to_string(),
        }
    }
}

/// Any line after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Line {
    Workspace(WorkspaceLine),
    User(UserLine),
    Member(MemberLine),
    Audit(AuditLine),
    Dataset(DatasetLine),
    Record(RecordLine),
    End(EndLine),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceLine {
    pub id: Uuid,
    pub name: String,
    pub inserted_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserLine {
    pub id: Uuid,
    pub username: String,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub password_hash: String,
    pub api_key_digest: String,
    pub api_key_prefix: String,
    pub security_stamp: String,
    pub inserted_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberLine {
    pub workspace: Uuid,
    pub user: Uuid,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditLine {
    pub id: Uuid,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Uuid,
    pub target_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetLine {
    pub workspace: String,
    pub name: String,
    pub task: Task,
    pub tags: Map<String, Value>,
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: i64,
    pub last_updated: i64,
    pub closed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Value>,
    pub facts: FactsLine,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactsLine {
    pub records: u64,
    pub metadata_keys: Vec<String>,
    pub vector_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_label: Option<bool>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordLine {
    pub workspace: String,
    pub dataset: String,
    pub id: String,
    pub doc: RecordDoc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndLine {
    /// Lines between the header and this one.
    pub entries: u64,
}

// ----- from the stores' records -----

impl From<&Workspace> for WorkspaceLine {
    fn from(w: &Workspace) -> Self {
        WorkspaceLine {
            id: w.id,
            name: w.name.clone(),
            inserted_at: w.inserted_at.micros(),
            updated_at: w.updated_at.micros(),
        }
    }
}

impl From<&User> for UserLine {
    fn from(u: &User) -> Self {
        UserLine {
            id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            role: u.role,
            disabled: u.disabled,
            password_hash: u.password_hash.clone(),
            api_key_digest: u.api_key_digest.to_hex(),
            api_key_prefix: u.api_key_prefix.clone(),
            security_stamp: u.security_stamp.clone(),
            inserted_at: u.inserted_at.micros(),
            updated_at: u.updated_at.micros(),
        }
    }
}

impl From<&Membership> for MemberLine {
    fn from(m: &Membership) -> Self {
        MemberLine {
            workspace: m.workspace,
            user: m.user,
            at: m.at.micros(),
        }
    }
}

impl From<&AuditEntry> for AuditLine {
    fn from(e: &AuditEntry) -> Self {
        AuditLine {
            id: e.id,
            at: e.at.micros(),
            actor_id: e.actor_id,
            actor: e.actor.clone(),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id,
            target_name: e.target_name.clone(),
            detail: e.detail.clone(),
        }
    }
}

impl From<&Dataset> for DatasetLine {
    fn from(d: &Dataset) -> Self {
        DatasetLine {
            workspace: d.workspace.clone(),
            name: d.name.clone(),
            task: d.task,
            tags: d.tags.clone(),
            metadata: d.metadata.clone(),
            created_by: d.created_by.clone(),
            created_at: d.created_at.micros(),
            last_updated: d.last_updated.micros(),
            closed: d.closed,
            settings: d.settings.clone(),
            facts: FactsLine {
                records: d.facts.records,
                metadata_keys: d.facts.metadata_keys.clone(),
                vector_names: d.facts.vector_names.clone(),
                multi_label: d.facts.multi_label,
                labels: d.facts.labels.clone(),
            },
        }
    }
}

impl RecordLine {
    pub fn of(dataset: &Dataset, record: &Record) -> RecordLine {
        RecordLine {
            workspace: dataset.workspace.clone(),
            dataset: dataset.name.clone(),
            id: record.id.clone(),
            doc: record.doc.clone(),
        }
    }
}

// ----- into the stores' records (field rules are checked in `read`) -----

impl WorkspaceLine {
    pub fn into_workspace(self) -> Workspace {
        Workspace {
            id: self.id,
            name: self.name,
            inserted_at: Timestamp(self.inserted_at),
            updated_at: Timestamp(self.updated_at),
        }
    }
}

impl UserLine {
    /// The user, or why its digest is unreadable.
    pub fn into_user(self) -> Result<User, String> {
        let digest = ApiKeyDigest::from_hex(&self.api_key_digest)
            .ok_or("api_key_digest must be 64 hexadecimal digits (a SHA-256 digest)")?;
        Ok(User {
            id: self.id,
            username: self.username,
            first_name: self.first_name,
            last_name: self.last_name,
            role: self.role,
            password_hash: self.password_hash,
            api_key_digest: digest,
            api_key_prefix: self.api_key_prefix,
            security_stamp: self.security_stamp,
            disabled: self.disabled,
            inserted_at: Timestamp(self.inserted_at),
            updated_at: Timestamp(self.updated_at),
        })
    }
}

impl MemberLine {
    pub fn into_membership(self) -> Membership {
        Membership {
            workspace: self.workspace,
            user: self.user,
            at: Timestamp(self.at),
        }
    }
}

impl AuditLine {
    pub fn into_entry(self) -> AuditEntry {
        AuditEntry {
            id: self.id,
            at: Timestamp(self.at),
            actor_id: self.actor_id,
            actor: self.actor,
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id,
            target_name: self.target_name,
            detail: self.detail,
        }
    }
}

impl DatasetLine {
    pub fn into_dataset(self) -> Dataset {
        Dataset {
            workspace: self.workspace,
            name: self.name,
            task: self.task,
            tags: self.tags,
            metadata: self.metadata,
            created_by: self.created_by,
            created_at: Timestamp(self.created_at),
            last_updated: Timestamp(self.last_updated),
            closed: self.closed,
            settings: self.settings,
            facts: RecordFacts {
                records: self.facts.records,
                metadata_keys: self.facts.metadata_keys,
                vector_names: self.facts.vector_names,
                multi_label: self.facts.multi_label,
                labels: self.facts.labels,
            },
        }
    }
}

/// One line's JSON text (no newline).
pub(crate) fn to_line<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| format!("cannot encode a dump line: {e}"))
}
