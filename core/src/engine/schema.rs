//! The wire types of API.md section 6 (and section 9's additions). Field order is the order of
//! the JSON; `None` fields are omitted. The OpenAPI description is derived from these.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{AuditEntry, User, Workspace};

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub full_name: String,
    pub username: String,
    /// `admin` or `annotator`.
    #[schema(example = "annotator")]
    pub role: &'static str,
    /// Workspace names: memberships in membership order (every workspace for an admin's `/api/me`).
    pub workspaces: Vec<String>,
    /// The full key only right after creation or rotation, or when it is the caller's own key
    /// and the caller authenticated with it; otherwise masked (first 6 characters + `…`).
    pub api_key: String,
    #[schema(example = "2023-03-16T11:11:59.871532")]
    pub inserted_at: String,
    #[schema(example = "2023-03-16T11:11:59.871532")]
    pub updated_at: String,
}

impl UserOut {
    pub fn new(user: &User, workspaces: Vec<String>, api_key: String) -> Self {
        UserOut {
            id: user.id,
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            full_name: user.full_name(),
            username: user.username.clone(),
            role: user.role.as_str(),
            workspaces,
            api_key,
            inserted_at: user.inserted_at.to_iso(),
            updated_at: user.updated_at.to_iso(),
        }
    }
}

/// A workspace.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceOut {
    pub id: Uuid,
    pub name: String,
    pub inserted_at: String,
    pub updated_at: String,
}

impl From<&Workspace> for WorkspaceOut {
    fn from(w: &Workspace) -> Self {
        WorkspaceOut {
            id: w.id,
            name: w.name.clone(),
            inserted_at: w.inserted_at.to_iso(),
            updated_at: w.updated_at.to_iso(),
        }
    }
}

/// `GET /api/v1/me/workspaces`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Workspaces {
    pub items: Vec<WorkspaceOut>,
}

/// `GET /api/me/credentials`: whether the caller's own account still has one of Argilla's
/// well-known default credentials (`1234`, `argilla.apikey`), so the web app can warn without
/// knowing them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Credentials {
    pub default_password: bool,
    pub default_api_key: bool,
}

/// A bearer token from login.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub access_token: String,
    #[schema(example = "bearer")]
    pub token_type: &'static str,
}

/// `GET /api/_info`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Info {
    /// The Argilla API level served (`1.8.0`): what Argilla's clients gate features on.
    pub version: &'static str,
    /// workgate's own version.
    pub workgate: &'static str,
}

/// Storage health in `GET /api/_status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorageStatus {
    /// `memory`, `sqlite` or `kv`.
    pub kind: &'static str,
    pub ok: bool,
}

/// `GET /api/_status`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    pub version: &'static str,
    pub storage: StorageStatus,
}

/// One audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub id: Uuid,
    pub at: String,
    /// Username of the actor, or `system` for host tasks.
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<Uuid>,
    #[schema(example = "user.create")]
    pub action: String,
    #[schema(example = "User")]
    pub target_type: String,
    pub target_id: Uuid,
    pub target_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl From<&AuditEntry> for AuditEntryOut {
    fn from(e: &AuditEntry) -> Self {
        AuditEntryOut {
            id: e.id,
            at: e.at.to_iso(),
            actor: e.actor.clone(),
            actor_id: e.actor_id,
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id,
            target_name: e.target_name.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// `GET /api/audit`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    pub items: Vec<AuditEntryOut>,
}

// ----- request bodies (documented here; parsed field by field in `input` for exact 422s) -----

/// `POST /api/users`. An `api_key` field is ignored: keys are always generated.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserCreate {
    pub first_name: String,
    pub last_name: Option<String>,
    #[schema(pattern = "^(?!-|_)[a-z0-9-_]+$", min_length = 1)]
    pub username: String,
    #[schema(example = "annotator")]
    pub role: Option<String>,
    #[schema(min_length = 8, max_length = 100)]
    pub password: String,
}

/// `PATCH /api/users/{user_id}`: every field optional.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role: Option<String>,
    pub disabled: Option<bool>,
}

/// `POST /api/workspaces`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceCreate {
    #[schema(pattern = "^(?!-|_)[a-z0-9-_]+$", min_length = 1)]
    pub name: String,
}

/// `PUT /api/me/password`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 100)]
    pub new_password: String,
}

/// `PUT /api/users/{user_id}/password`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasswordReset {
    #[schema(min_length = 8, max_length = 100)]
    pub password: String,
}

/// `POST /api/security/token`, form-encoded.
#[derive(Debug, Serialize, ToSchema)]
pub struct Login {
    pub username: String,
    pub password: String,
    /// `password` if given.
    pub grant_type: Option<String>,
}

/// Every error body: `{"detail": {"code": "argilla.api.errors::<Class>", "params": {...}}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub detail: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "argilla.api.errors::EntityNotFoundError")]
    pub code: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// `POST /api/datasets`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetCreate {
    pub name: String,
    /// `TextClassification`, `TokenClassification` or `Text2Text`.
    pub task: String,
    /// Else `?workspace=` or the `X-Argilla-Workspace` header.
    pub workspace: Option<String>,
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
}

/// `PATCH /api/datasets/{name}`: merged into the dataset's.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetUpdate {
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
}

/// `PUT /api/datasets/{name}:copy`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetCopy {
    pub name: String,
    pub target_workspace: Option<String>,
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
}

/// `POST /api/datasets/{name}/{task}:bulk`: Argilla 1.8's record models per task.
#[derive(Debug, Serialize, ToSchema)]
pub struct Bulk {
    pub tags: Option<std::collections::BTreeMap<String, String>>,
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
    /// Up to 5,000 records of up to 1 MiB each.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<serde_json::Value>,
}

/// `POST /api/datasets/{name}/records/:search`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Scan {
    /// `ids`, `status`, `metadata`, `annotated_by`, `predicted_by`, `annotated_as`,
    /// `predicted_as`, `has_annotation`, `has_prediction`; search-engine fields are refused.
    #[schema(value_type = Object)]
    pub query: Option<serde_json::Value>,
    /// `_source` patterns; `id` is always returned.
    pub fields: Option<Vec<String>>,
    #[schema(value_type = Vec<Object>)]
    pub sort_by: Option<Vec<serde_json::Value>>,
    /// Start after this id.
    pub next_idx: Option<String>,
    pub next_page_cfg: Option<String>,
}

/// `PATCH /api/datasets/{name}/{task}/settings`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetSettings {
    /// `{"labels": ["a", ...] | [{"id", "name", "description"?}, ...]}`.
    #[schema(value_type = Object)]
    pub label_schema: serde_json::Value,
}
