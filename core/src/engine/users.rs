//! User endpoints: list, create, update, delete, key rotation, password reset.

use uuid::Uuid;

use crate::access::{Action, Resource};
use crate::credentials::{self, ApiKeyDigest};
use crate::domain::{NewUser, Role, User, Workspace};
use crate::http::{Request, Response};
use crate::store::{StoreError, UserEdit};
use crate::timestamp::Timestamp;

use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::input::{self, Fields};
use super::{AuditTarget, Engine, authorize, ok};

/// The deepest an audit listing may page (keeps every store's listing bounded).
const MAX_AUDIT_OFFSET: u32 = 100_000;

/// What creating a user needs, however it is asked for (API, command line, bootstrap).
pub(crate) struct UserDraft {
    pub username: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub role: Role,
    /// A password hash (already computed).
    pub password_hash: String,
    pub api_key: String,
    pub disabled: bool,
    /// Team workspaces to join besides the personal one.
    pub workspaces: Vec<String>,
}

impl Engine {
    /// A new API key from 256 host-random bits.
    pub(crate) fn new_api_key(&self) -> String {
        credentials::new_api_key(self.random::<32>())
    }

    /// Builds the store record for a new user and its workspaces: the personal one (named
    /// after the username) first, then the team ones.
    pub(crate) fn new_user(&self, draft: UserDraft, now: Timestamp) -> NewUser {
        let user = User {
            id: self.new_id(),
            username: draft.username,
            first_name: draft.first_name,
            last_name: draft.last_name,
            role: draft.role,
            password_hash: draft.password_hash,
            api_key_digest: ApiKeyDigest::of(&draft.api_key),
            api_key_prefix: credentials::api_key_prefix(&draft.api_key),
            security_stamp: self.new_stamp(),
            disabled: draft.disabled,
            inserted_at: now,
            updated_at: now,
        };
        let workspaces =
            crate::rules::workspaces_joined_at_creation(&user.username, draft.workspaces, |name| {
                Workspace {
                    id: self.new_id(),
                    name,
                    inserted_at: now,
                    updated_at: now,
                }
            });
        NewUser { user, workspaces }
    }

    async fn find_user(&self, id: Option<Uuid>) -> ApiResult<Option<User>> {
        match id {
            Some(id) => Ok(self.stores.directory.user_by_id(id).await?),
            None => Ok(None),
        }
    }

    pub(crate) async fn list_users(&self, caller: &Caller) -> ApiResult<Response> {
        authorize(
            &self.caller_subject(caller).await?,
            Action::ListUsers,
            &Resource::Instance,
        )?;
        let users = self.stores.directory.users().await?;
        ok(&self.users_out(&users, caller).await?)
    }

    pub(crate) async fn create_user(&self, caller: &Caller, req: &Request) -> ApiResult<Response> {
        let body = input::json_object(req)?;
        let mut fields = Fields::new(&body);
        let first_name = fields.person_name("first_name", true);
        let last_name = fields.person_name("last_name", false);
        let username = fields.entity_name("username");
        let role = fields.role("role");
        let password = fields.password("password", true);
        fields.finish()?;
        let (Some(first_name), Some(username), Some(password)) = (first_name, username, password)
        else {
            return Err(ApiError::Validation(Vec::new()));
        };
        authorize(
            &self.caller_subject(caller).await?,
            Action::CreateUser,
            &Resource::Instance,
        )?;
        if self
            .stores
            .directory
            .user_by_username(&username)
            .await?
            .is_some()
        {
            return Err(StoreError::UsernameTaken(username).into());
        }
        let api_key = self.new_api_key();
        let draft = UserDraft {
            username,
            first_name,
            last_name,
            role: role.unwrap_or(Role::Annotator),
            password_hash: self.hash(&password).await?,
            api_key: api_key.clone(),
            disabled: false,
            workspaces: Vec::new(),
        };
        let new = self.new_user(draft, self.platform.now());
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.create",
            AuditTarget::User(&new.user),
            Some(format!("role={}", new.user.role)),
        );
        let user = self.stores.directory.create_user(new, Some(entry)).await?;
        ok(&self.user_out(&user, Some(caller), Some(&api_key)).await?)
    }

    pub(crate) async fn update_user(
        &self,
        caller: &Caller,
        raw_id: &str,
        req: &Request,
    ) -> ApiResult<Response> {
        let (id, body, errors) = input::path_id_and_body("user_id", raw_id, req)?;
        let empty = serde_json::Map::new();
        let mut fields = Fields::new(body.as_ref().unwrap_or(&empty));
        fields.errors = errors;
        let first_name = fields.person_name("first_name", false);
        let last_name = fields.person_name("last_name", false);
        let role = fields.role("role");
        let disabled = fields.boolean("disabled");
        fields.finish()?;

        let target = self.find_user(id).await?;
        let name = target.as_ref().map_or("", |u| u.username.as_str());
        authorize(
            &self.caller_subject(caller).await?,
            Action::UpdateUser,
            &Resource::User(name),
        )?;
        let Some(old) = target else {
            return Err(ApiError::user_not_found(
                id.map_or(raw_id.to_string(), |i| i.to_string()),
            ));
        };

        // Applied by the store to the current record, so a concurrent edit of other fields
        // (a key rotation, a password reset) is kept.
        let new_stamp = self.new_stamp();
        let now = self.platform.now();
        let edit = UserEdit::new(move |current| {
            let mut user = current.clone();
            if let Some(first_name) = &first_name {
                user.first_name = first_name.clone();
            }
            if last_name.is_some() {
                user.last_name = last_name.clone();
            }
            user.role = role.unwrap_or(user.role);
            if let Some(disabled) = disabled
                && disabled != user.disabled
            {
                user.disabled = disabled;
                // Disabling ends every session; enabling must not revive old tokens either.
                user.security_stamp = new_stamp.clone();
            }
            if user != *current {
                user.updated_at = now;
            }
            Ok(user)
        });
        if edit.apply(&old)? == old {
            return ok(&self.user_out(&old, Some(caller), None).await?);
        }
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.update",
            AuditTarget::User(&old),
            None,
        );
        let edit = edit.audited(entry, update_detail);
        let user = self.stores.directory.update_user(old.id, edit).await?;
        ok(&self.user_out(&user, Some(caller), None).await?)
    }

    /// `DELETE /api/users/{id}`: 404 before 403, as Argilla.
    pub(crate) async fn delete_user(&self, caller: &Caller, raw_id: &str) -> ApiResult<Response> {
        let mut errors = Vec::new();
        let id = input::path_uuid("user_id", raw_id, &mut errors);
        let (Some(id), true) = (id, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        let Some(user) = self.stores.directory.user_by_id(id).await? else {
            return Err(ApiError::user_not_found(id));
        };
        authorize(
            &self.caller_subject(caller).await?,
            Action::DeleteUser,
            &Resource::User(&user.username),
        )?;
        let out = self.user_out(&user, Some(caller), None).await?;
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.delete",
            AuditTarget::User(&user),
            None,
        );
        self.stores.directory.delete_user(id, Some(entry)).await?;
        ok(&out)
    }

    /// `POST /api/users/{id}/api-key`: admin, or the user itself (403 before 404).
    pub(crate) async fn rotate_api_key(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> ApiResult<Response> {
        let mut errors = Vec::new();
        let id = input::path_uuid("user_id", raw_id, &mut errors);
        let (Some(id), true) = (id, errors.is_empty()) else {
            return Err(ApiError::Validation(errors));
        };
        let target = self.stores.directory.user_by_id(id).await?;
        let name = target.as_ref().map_or("", |u| u.username.as_str());
        authorize(
            &self.caller_subject(caller).await?,
            Action::RotateApiKey,
            &Resource::User(name),
        )?;
        let Some(user) = target else {
            return Err(ApiError::user_not_found(id));
        };
        let api_key = self.new_api_key();
        let (digest, prefix) = (
            ApiKeyDigest::of(&api_key),
            credentials::api_key_prefix(&api_key),
        );
        let now = self.platform.now();
        let edit = UserEdit::new(move |current| {
            Ok(User {
                api_key_digest: digest,
                api_key_prefix: prefix.clone(),
                updated_at: now,
                ..current.clone()
            })
        });
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.api_key.rotate",
            AuditTarget::User(&user),
            None,
        );
        let edit = edit.audited(entry, |_, _| None);
        let updated = self.stores.directory.update_user(user.id, edit).await?;
        ok(&self
            .user_out(&updated, Some(caller), Some(&api_key))
            .await?)
    }

    /// `PUT /api/users/{id}/password` (admin).
    pub(crate) async fn reset_password(
        &self,
        caller: &Caller,
        raw_id: &str,
        req: &Request,
    ) -> ApiResult<Response> {
        let (id, body, errors) = input::path_id_and_body("user_id", raw_id, req)?;
        let empty = serde_json::Map::new();
        let mut fields = Fields::new(body.as_ref().unwrap_or(&empty));
        fields.errors = errors;
        let password = if body.is_some() {
            fields.password("password", true)
        } else {
            None
        };
        fields.finish()?;
        let target = self.find_user(id).await?;
        let name = target.as_ref().map_or("", |u| u.username.as_str());
        authorize(
            &self.caller_subject(caller).await?,
            Action::ResetPassword,
            &Resource::User(name),
        )?;
        let (Some(user), Some(password)) = (target, password) else {
            return Err(ApiError::user_not_found(
                id.map_or(raw_id.to_string(), |i| i.to_string()),
            ));
        };
        let hash = self.hash(&password).await?;
        // Applied to the current record: a change made while hashing (role, key, disable) stays.
        let new_stamp = self.new_stamp();
        let now = self.platform.now();
        let edit = UserEdit::new(move |current| {
            Ok(User {
                password_hash: hash.clone(),
                security_stamp: new_stamp.clone(),
                updated_at: now,
                ..current.clone()
            })
        });
        let entry = self.audit_entry(
            Some(caller.user()),
            "user.password.reset",
            AuditTarget::User(&user),
            None,
        );
        let edit = edit.audited(entry, |_, _| None);
        let updated = self.stores.directory.update_user(user.id, edit).await?;
        self.stores
            .throttle
            .clear_login_failures(&updated.username)
            .await?;
        ok(&self.user_out(&updated, Some(caller), None).await?)
    }

    /// `GET /api/audit`.
    pub(crate) async fn audit_log(&self, caller: &Caller, req: &Request) -> ApiResult<Response> {
        let mut errors = Vec::new();
        let limit = input::query_int(req, "limit", 100, 1, 1000, &mut errors);
        let offset = input::query_int(req, "offset", 0, 0, MAX_AUDIT_OFFSET, &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        authorize(
            &self.caller_subject(caller).await?,
            Action::ReadAuditLog,
            &Resource::Instance,
        )?;
        let entries = self.stores.audit.audit(limit, offset).await?;
        ok(&super::schema::AuditLog {
            items: entries.iter().map(Into::into).collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The user endpoints and the audit log, declared once (see `endpoint`).

use super::endpoint::{Answer, Body, Endpoint, Handler, Param};

/// Every endpoint of this module, in the order the OpenAPI description lists them.
pub(super) const ENDPOINTS: &[Endpoint] = &[
    LIST_USERS,
    CREATE_USER,
    UPDATE_USER,
    DELETE_USER,
    ROTATE_API_KEY,
    RESET_PASSWORD,
    AUDIT_LOG,
];

pub(super) const LIST_USERS: Endpoint = Endpoint {
    errors: &[403],
    ..Endpoint::new(
        "GET",
        "/api/users",
        "List users (admin)",
        Handler::Authenticated(|e, caller, _| Box::pin(e.list_users(caller))),
        Answer::ListOf("UserOut"),
    )
};

pub(super) const CREATE_USER: Endpoint = Endpoint {
    body: Some(Body::Json("UserCreate")),
    errors: &[403, 409],
    ..Endpoint::new(
        "POST",
        "/api/users",
        "Create a user (admin); the response carries the new API key once",
        Handler::Authenticated(|e, caller, call| Box::pin(e.create_user(caller, call.req))),
        Answer::Schema("UserOut"),
    )
};

pub(super) const UPDATE_USER: Endpoint = Endpoint {
    path_params: &[Param::uuid("user_id", "The user's id")],
    body: Some(Body::Json("UserUpdate")),
    errors: &[403, 404],
    ..Endpoint::new(
        "PATCH",
        "/api/users/{user_id}",
        "Update a user's names, role or disabled flag (admin)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.update_user(caller, call.param("user_id"), call.req))
        }),
        Answer::Schema("UserOut"),
    )
};

pub(super) const DELETE_USER: Endpoint = Endpoint {
    path_params: &[Param::uuid("user_id", "The user's id")],
    errors: &[403, 404],
    ..Endpoint::new(
        "DELETE",
        "/api/users/{user_id}",
        "Delete a user (admin); 404 before 403",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.delete_user(caller, call.param("user_id")))
        }),
        Answer::Schema("UserOut"),
    )
};

pub(super) const ROTATE_API_KEY: Endpoint = Endpoint {
    path_params: &[Param::uuid("user_id", "The user's id")],
    errors: &[403, 404],
    ..Endpoint::new(
        "POST",
        "/api/users/{user_id}/api-key",
        "Rotate an API key (admin, or the user itself); the new key is returned once",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.rotate_api_key(caller, call.param("user_id")))
        }),
        Answer::Schema("UserOut"),
    )
};

pub(super) const RESET_PASSWORD: Endpoint = Endpoint {
    path_params: &[Param::uuid("user_id", "The user's id")],
    body: Some(Body::Json("PasswordReset")),
    errors: &[403, 404],
    ..Endpoint::new(
        "PUT",
        "/api/users/{user_id}/password",
        "Reset a user's password (admin)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.reset_password(caller, call.param("user_id"), call.req))
        }),
        Answer::Schema("UserOut"),
    )
};

pub(super) const AUDIT_LOG: Endpoint = Endpoint {
    query_params: &[
        Param::integer("limit", "1 to 1000 entries (default 100)"),
        Param::integer("offset", "entries to skip (default 0)"),
    ],
    errors: &[403],
    ..Endpoint::new(
        "GET",
        "/api/audit",
        "The audit log, newest first (admin)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.audit_log(caller, call.req))),
        Answer::Schema("AuditLog"),
    )
};

/// The detail of a `user.update` entry: what changed.
fn update_detail(before: &User, after: &User) -> Option<String> {
    let mut changes = Vec::new();
    if before.role != after.role {
        changes.push(format!("role={}", after.role));
    }
    if before.disabled != after.disabled {
        changes.push(format!("disabled={}", after.disabled));
    }
    if before.first_name != after.first_name || before.last_name != after.last_name {
        changes.push("names".to_string());
    }
    Some(changes.join(","))
}
