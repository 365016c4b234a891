//! Workspace and membership endpoints.

use uuid::Uuid;

use crate::access::{Action, Resource};
use crate::domain::Workspace;
use crate::http::{Request, Response};
use crate::store::StoreError;

use super::auth::Caller;
use super::error::{ApiError, ApiResult, EntityType};
use super::input::{self, Fields};
use super::schema::WorkspaceOut;
use super::{AuditTarget, Engine, authorize, ok};

/// Parses path ids, reporting every malformed one (422 before 403).
fn path_ids<const N: usize>(params: [(&'static str, &str); N]) -> ApiResult<[Uuid; N]> {
    let mut errors = Vec::new();
    let ids =
        params.map(|(name, raw)| input::path_uuid(name, raw, &mut errors).unwrap_or_default());
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::Validation(errors))
    }
}

impl Engine {
    async fn workspace(&self, id: Uuid) -> ApiResult<Workspace> {
        self.stores
            .directory
            .workspace_by_id(id)
            .await?
            .ok_or_else(|| ApiError::workspace_not_found(id))
    }

    /// An admin-only workspace action's lookup, in the order Argilla checks: 403 for a caller
    /// who may not act on it (whether it exists or not), then 404 if it does not exist.
    async fn authorized_workspace(
        &self,
        caller: &Caller,
        id: Uuid,
        action: Action,
    ) -> ApiResult<Workspace> {
        let found = self.stores.directory.workspace_by_id(id).await?;
        let name = found.as_ref().map_or("", |w| w.name.as_str());
        authorize(
            &self.caller_subject(caller).await?,
            action,
            &Resource::Workspace(name),
        )?;
        found.ok_or_else(|| ApiError::workspace_not_found(id))
    }

    pub(crate) async fn list_workspaces(&self, caller: &Caller) -> ApiResult<Response> {
        authorize(
            &self.caller_subject(caller).await?,
            Action::ListWorkspaces,
            &Resource::Instance,
        )?;
        let workspaces = self.caller_workspaces(caller).await?;
        ok(&workspaces
            .iter()
            .map(WorkspaceOut::from)
            .collect::<Vec<_>>())
    }

    pub(crate) async fn create_workspace(
        &self,
        caller: &Caller,
        req: &Request,
    ) -> ApiResult<Response> {
        let body = input::json_object(req)?;
        let mut fields = Fields::new(&body);
        let name = fields.entity_name("name");
        fields.finish()?;
        let Some(name) = name else {
            return Err(ApiError::Validation(Vec::new()));
        };
        authorize(
            &self.caller_subject(caller).await?,
            Action::CreateWorkspace,
            &Resource::Instance,
        )?;
        let now = self.platform.now();
        let new = Workspace {
            id: self.new_id(),
            name,
            inserted_at: now,
            updated_at: now,
        };
        let entry = self.audit_entry(
            Some(caller.user()),
            "workspace.create",
            AuditTarget::Workspace(&new),
            None,
        );
        let workspace = self
            .stores
            .directory
            .create_workspace(new, Some(entry))
            .await?;
        ok(&WorkspaceOut::from(&workspace))
    }

    /// `DELETE /api/workspaces/{id}` (admin; 403 before 404). A workspace that is the personal
    /// workspace of an existing user is refused.
    pub(crate) async fn delete_workspace(
        &self,
        caller: &Caller,
        raw_id: &str,
    ) -> ApiResult<Response> {
        let [id] = path_ids([("workspace_id", raw_id)])?;
        let workspace = self
            .authorized_workspace(caller, id, Action::DeleteWorkspace)
            .await?;
        if self
            .stores
            .directory
            .user_by_username(&workspace.name)
            .await?
            .is_some()
        {
            return Err(ApiError::Forbidden(format!(
                "Workspace '{0}' is the personal workspace of user '{0}'; delete the user first",
                workspace.name
            )));
        }
        let datasets = self.datasets_in(&workspace.name).await?;
        if datasets > 0 {
            let noun = if datasets == 1 { "dataset" } else { "datasets" };
            return Err(ApiError::Forbidden(format!(
                "Workspace '{}' holds {datasets} {noun}; delete them first",
                workspace.name
            )));
        }
        let entry = self.audit_entry(
            Some(caller.user()),
            "workspace.delete",
            AuditTarget::Workspace(&workspace),
            None,
        );
        let deleted = self
            .stores
            .directory
            .delete_workspace(id, Some(entry))
            .await?;
        ok(&WorkspaceOut::from(&deleted))
    }

    /// `GET /api/v1/workspaces/{id}`: looked up first, then authorised (as Argilla 1.8).
    pub(crate) async fn get_workspace(&self, caller: &Caller, raw_id: &str) -> ApiResult<Response> {
        let [id] = path_ids([("workspace_id", raw_id)])?;
        let workspace = self.workspace(id).await?;
        authorize(
            &self.caller_subject(caller).await?,
            Action::ReadWorkspace,
            &Resource::Workspace(&workspace.name),
        )?;
        ok(&WorkspaceOut::from(&workspace))
    }

    /// `GET /api/workspaces/{id}/users` (admin; 403 before 404).
    pub(crate) async fn list_members(&self, caller: &Caller, raw_id: &str) -> ApiResult<Response> {
        let [id] = path_ids([("workspace_id", raw_id)])?;
        let workspace = self
            .authorized_workspace(caller, id, Action::ListMembers)
            .await?;
        let members = self.stores.directory.members_of(workspace.id).await?;
        ok(&self.users_out(&members, caller).await?)
    }

    /// `POST /api/workspaces/{id}/users/{user_id}` (admin; 403, then 404 Workspace, 404 User, 409).
    pub(crate) async fn add_member(
        &self,
        caller: &Caller,
        raw_ws: &str,
        raw_user: &str,
    ) -> ApiResult<Response> {
        let [ws_id, user_id] = path_ids([("workspace_id", raw_ws), ("user_id", raw_user)])?;
        let workspace = self
            .authorized_workspace(caller, ws_id, Action::AddMember)
            .await?;
        let Some(user) = self.stores.directory.user_by_id(user_id).await? else {
            return Err(ApiError::user_not_found(user_id));
        };
        let entry = self.audit_entry(
            Some(caller.user()),
            "workspace.member.add",
            AuditTarget::Workspace(&workspace),
            Some(format!("user={}", user.username)),
        );
        match self
            .stores
            .directory
            .add_member(workspace.id, user.id, self.platform.now(), Some(entry))
            .await
        {
            Ok(()) => {}
            Err(StoreError::AlreadyMember { .. }) => {
                return Err(ApiError::AlreadyExists {
                    name: user_id.to_string(),
                    kind: EntityType::User,
                });
            }
            Err(e) => return Err(e.into()),
        }
        ok(&self.user_out(&user, Some(caller), None).await?)
    }

    /// `DELETE /api/workspaces/{id}/users/{user_id}` (admin). As Argilla, the membership is
    /// looked up first: a missing one (a missing workspace included) is 404 naming the user,
    /// before 403.
    pub(crate) async fn remove_member(
        &self,
        caller: &Caller,
        raw_ws: &str,
        raw_user: &str,
    ) -> ApiResult<Response> {
        let [ws_id, user_id] = path_ids([("workspace_id", raw_ws), ("user_id", raw_user)])?;
        let user = self.stores.directory.user_by_id(user_id).await?;
        let workspace = match &user {
            Some(_) => self
                .stores
                .directory
                .workspaces_of(user_id)
                .await?
                .into_iter()
                .find(|w| w.id == ws_id),
            None => None,
        };
        let (Some(user), Some(workspace)) = (user, workspace) else {
            return Err(ApiError::user_not_found(user_id));
        };
        authorize(
            &self.caller_subject(caller).await?,
            Action::RemoveMember,
            &Resource::Workspace(&workspace.name),
        )?;
        let entry = self.audit_entry(
            Some(caller.user()),
            "workspace.member.remove",
            AuditTarget::Workspace(&workspace),
            Some(format!("user={}", user.username)),
        );
        match self
            .stores
            .directory
            .remove_member(ws_id, user_id, Some(entry))
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotMember { .. }) => return Err(ApiError::user_not_found(user_id)),
            Err(e) => return Err(e.into()),
        }
        ok(&self.user_out(&user, Some(caller), None).await?)
    }
}

// ---------------------------------------------------------------------------------------------
// The workspace and membership endpoints, declared once (see `endpoint`).

use super::endpoint::{Answer, Body, Endpoint, Handler, Param};

/// Every endpoint of this module, in the order the OpenAPI description lists them.
pub(super) const ENDPOINTS: &[Endpoint] = &[
    LIST_WORKSPACES,
    CREATE_WORKSPACE,
    DELETE_WORKSPACE,
    GET_WORKSPACE,
    LIST_MEMBERS,
    ADD_MEMBER,
    REMOVE_MEMBER,
];

pub(super) const LIST_WORKSPACES: Endpoint = Endpoint::new(
    "GET",
    "/api/workspaces",
    "List workspaces (annotators: their own)",
    Handler::Authenticated(|e, caller, _| Box::pin(e.list_workspaces(caller))),
    Answer::ListOf("WorkspaceOut"),
);

pub(super) const CREATE_WORKSPACE: Endpoint = Endpoint {
    body: Some(Body::Json("WorkspaceCreate")),
    errors: &[403, 409],
    ..Endpoint::new(
        "POST",
        "/api/workspaces",
        "Create a workspace (admin)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.create_workspace(caller, call.req))),
        Answer::Schema("WorkspaceOut"),
    )
};

pub(super) const DELETE_WORKSPACE: Endpoint = Endpoint {
    path_params: &[Param::uuid("workspace_id", "The workspace's id")],
    errors: &[403, 404],
    ..Endpoint::new(
        "DELETE",
        "/api/workspaces/{workspace_id}",
        "Delete a workspace and its memberships (admin)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.delete_workspace(caller, call.param("workspace_id")))
        }),
        Answer::Schema("WorkspaceOut"),
    )
};

pub(super) const GET_WORKSPACE: Endpoint = Endpoint {
    path_params: &[Param::uuid("workspace_id", "The workspace's id")],
    errors: &[403, 404],
    ..Endpoint::new(
        "GET",
        "/api/v1/workspaces/{workspace_id}",
        "Get a workspace (admin, or a member)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.get_workspace(caller, call.param("workspace_id")))
        }),
        Answer::Schema("WorkspaceOut"),
    )
};

pub(super) const LIST_MEMBERS: Endpoint = Endpoint {
    path_params: &[Param::uuid("workspace_id", "The workspace's id")],
    errors: &[403, 404],
    ..Endpoint::new(
        "GET",
        "/api/workspaces/{workspace_id}/users",
        "List a workspace's members (admin)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.list_members(caller, call.param("workspace_id")))
        }),
        Answer::ListOf("UserOut"),
    )
};

pub(super) const ADD_MEMBER: Endpoint = Endpoint {
    path_params: &[
        Param::uuid("workspace_id", "The workspace's id"),
        Param::uuid("user_id", "The user's id"),
    ],
    errors: &[403, 404, 409],
    ..Endpoint::new(
        "POST",
        "/api/workspaces/{workspace_id}/users/{user_id}",
        "Add a member (admin)",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.add_member(caller, call.param("workspace_id"), call.param("user_id")))
        }),
        Answer::Schema("UserOut"),
    )
};

pub(super) const REMOVE_MEMBER: Endpoint = Endpoint {
    path_params: &[
        Param::uuid("workspace_id", "The workspace's id"),
        Param::uuid("user_id", "The user's id"),
    ],
    errors: &[403, 404],
    ..Endpoint::new(
        "DELETE",
        "/api/workspaces/{workspace_id}/users/{user_id}",
        "Remove a member (admin); 404 before 403",
        Handler::Authenticated(|e, caller, call| {
            Box::pin(e.remove_member(caller, call.param("workspace_id"), call.param("user_id")))
        }),
        Answer::Schema("UserOut"),
    )
};
