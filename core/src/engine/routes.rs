//! The route table: every endpoint of API.md, once. The router matches requests against it and
//! the OpenAPI description is generated from it, so the two cannot drift.

/// Every endpoint the engine serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Login,
    Info,
    Status,
    OpenApi,
    Me,
    MyCredentials,
    ChangeOwnPassword,
    MyWorkspaces,
    ListUsers,
    CreateUser,
    UpdateUser,
    DeleteUser,
    RotateApiKey,
    ResetPassword,
    ListWorkspaces,
    CreateWorkspace,
    DeleteWorkspace,
    GetWorkspace,
    ListMembers,
    AddMember,
    RemoveMember,
    AuditLog,
}

/// One row of the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Path template with `{param}` segments.
    pub path: &'static str,
    pub endpoint: Endpoint,
    /// Whether the endpoint needs an authenticated caller.
    pub authenticated: bool,
    pub summary: &'static str,
    /// Name of the request body schema (`"form:Login"` for the form-encoded login).
    pub request: Option<&'static str>,
    /// Name of the success response schema.
    pub response: &'static str,
    /// The error statuses the endpoint can answer besides 401/422.
    pub errors: &'static [u16],
}

#[allow(clippy::too_many_arguments)] // one row of a table, read positionally
const fn route(
    method: &'static str,
    path: &'static str,
    endpoint: Endpoint,
    authenticated: bool,
    summary: &'static str,
    request: Option<&'static str>,
    response: &'static str,
    errors: &'static [u16],
) -> Route {
    Route {
        method,
        path,
        endpoint,
        authenticated,
        summary,
        request,
        response,
        errors,
    }
}

use Endpoint::*;

/// The whole API (API.md sections 3, 5 and 9).
pub const ROUTES: &[Route] = &[
    route(
        "POST",
        "/api/security/token",
        Login,
        false,
        "Log in with username and password (form-encoded)",
        Some("form:Login"),
        "Token",
        &[429],
    ),
    route(
        "GET",
        "/api/_info",
        Info,
        false,
        "Server version",
        None,
        "Info",
        &[],
    ),
    route(
        "GET",
        "/api/_status",
        Status,
        false,
        "Server version and storage health",
        None,
        "Status",
        &[],
    ),
    route(
        "GET",
        "/api/docs/spec.json",
        OpenApi,
        false,
        "This OpenAPI description",
        None,
        "OpenApi",
        &[],
    ),
    route(
        "GET",
        "/api/me",
        Me,
        true,
        "The authenticated user",
        None,
        "User",
        &[],
    ),
    route(
        "GET",
        "/api/me/credentials",
        MyCredentials,
        true,
        "Whether the caller's own account still has a default password or API key",
        None,
        "Credentials",
        &[],
    ),
    route(
        "PUT",
        "/api/me/password",
        ChangeOwnPassword,
        true,
        "Change one's own password (current password required)",
        Some("PasswordChange"),
        "User",
        &[400, 429],
    ),
    route(
        "GET",
        "/api/v1/me/workspaces",
        MyWorkspaces,
        true,
        "Workspaces the caller can access",
        None,
        "Workspaces",
        &[],
    ),
    route(
        "GET",
        "/api/users",
        ListUsers,
        true,
        "List users (admin)",
        None,
        "UserList",
        &[403],
    ),
    route(
        "POST",
        "/api/users",
        CreateUser,
        true,
        "Create a user (admin); the response carries the new API key once",
        Some("UserCreate"),
        "User",
        &[403, 409],
    ),
    route(
        "PATCH",
        "/api/users/{user_id}",
        UpdateUser,
        true,
        "Update a user's names, role or disabled flag (admin)",
        Some("UserUpdate"),
        "User",
        &[403, 404],
    ),
    route(
        "DELETE",
        "/api/users/{user_id}",
        DeleteUser,
        true,
        "Delete a user (admin); 404 before 403",
        None,
        "User",
        &[403, 404],
    ),
    route(
        "POST",
        "/api/users/{user_id}/api-key",
        RotateApiKey,
        true,
        "Rotate an API key (admin, or the user itself); the new key is returned once",
        None,
        "User",
        &[403, 404],
    ),
    route(
        "PUT",
        "/api/users/{user_id}/password",
        ResetPassword,
        true,
        "Reset a user's password (admin)",
        Some("PasswordReset"),
        "User",
        &[403, 404],
    ),
    route(
        "GET",
        "/api/workspaces",
        ListWorkspaces,
        true,
        "List workspaces (annotators: their own)",
        None,
        "WorkspaceList",
        &[],
    ),
    route(
        "POST",
        "/api/workspaces",
        CreateWorkspace,
        true,
        "Create a workspace (admin)",
        Some("WorkspaceCreate"),
        "Workspace",
        &[403, 409],
    ),
    route(
        "DELETE",
        "/api/workspaces/{workspace_id}",
        DeleteWorkspace,
        true,
        "Delete a workspace and its memberships (admin)",
        None,
        "Workspace",
        &[403, 404],
    ),
    route(
        "GET",
        "/api/v1/workspaces/{workspace_id}",
        GetWorkspace,
        true,
        "Get a workspace (admin, or a member)",
        None,
        "Workspace",
        &[403, 404],
    ),
    route(
        "GET",
        "/api/workspaces/{workspace_id}/users",
        ListMembers,
        true,
        "List a workspace's members (admin)",
        None,
        "UserList",
        &[403, 404],
    ),
    route(
        "POST",
        "/api/workspaces/{workspace_id}/users/{user_id}",
        AddMember,
        true,
        "Add a member (admin)",
        None,
        "User",
        &[403, 404, 409],
    ),
    route(
        "DELETE",
        "/api/workspaces/{workspace_id}/users/{user_id}",
        RemoveMember,
        true,
        "Remove a member (admin); 404 before 403",
        None,
        "User",
        &[403, 404],
    ),
    route(
        "GET",
        "/api/audit",
        AuditLog,
        true,
        "The audit log, newest first (admin)",
        None,
        "AuditLog",
        &[403],
    ),
];

/// The outcome of matching a request line against [`ROUTES`].
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch<'a> {
    Found {
        route: &'static Route,
        params: Vec<(&'static str, &'a str)>,
    },
    /// The path exists with other methods.
    WrongMethod {
        allow: Vec<&'static str>,
    },
    NotFound,
}

/// Matches `method` and `path` (one trailing slash ignored) against the route table.
pub fn match_route<'a>(method: &str, path: &'a str) -> RouteMatch<'a> {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let mut allow = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_template(route.path, path) {
            if route.method == method {
                return RouteMatch::Found { route, params };
            }
            allow.push(route.method);
        }
    }
    if allow.is_empty() {
        RouteMatch::NotFound
    } else {
        RouteMatch::WrongMethod { allow }
    }
}

fn match_template<'a>(
    template: &'static str,
    path: &'a str,
) -> Option<Vec<(&'static str, &'a str)>> {
    let mut params = Vec::new();
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(params),
            (Some(ts), Some(ps)) => {
                if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    if ps.is_empty() {
                        return None;
                    }
                    params.push((name, ps));
                } else if ts != ps {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_params_and_methods() {
        match match_route("POST", "/api/workspaces/abc/users/def/") {
            RouteMatch::Found { route, params } => {
                assert_eq!(route.endpoint, Endpoint::AddMember);
                assert_eq!(params, vec![("workspace_id", "abc"), ("user_id", "def")]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            match_route("GET", "/api/security/token"),
            RouteMatch::WrongMethod {
                allow: vec!["POST"]
            }
        );
        assert_eq!(match_route("GET", "/api/nope"), RouteMatch::NotFound);
        assert_eq!(
            match_route("GET", "/api/users//users"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route("GET", "/api/users/x/extra/deep"),
            RouteMatch::NotFound
        );
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {}",
                    a.method,
                    a.path
                );
            }
        }
    }
}
