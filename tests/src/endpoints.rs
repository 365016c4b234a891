//! Every endpoint the suite speaks to, in one table (API.md section 5 and the section-9
//! additions of docs/DECISIONS.md). [`crate::Call::send`] refuses requests outside it, and the
//! OpenAPI test checks that the served description lists every row.

/// One endpoint: a method and a path template with `{param}` segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
}

const fn endpoint(method: &'static str, path: &'static str) -> Endpoint {
    Endpoint { method, path }
}

/// The API endpoints, as the OpenAPI description must list them.
pub const ENDPOINTS: &[Endpoint] = &[
    endpoint("POST", "/api/security/token"),
    endpoint("GET", "/api/_info"),
    endpoint("GET", "/api/_status"),
    endpoint("GET", "/api/docs"),
    endpoint("GET", "/api/me"),
    endpoint("GET", "/api/v1/me/workspaces"),
    endpoint("GET", "/api/users"),
    endpoint("POST", "/api/users"),
    endpoint("DELETE", "/api/users/{user_id}"),
    endpoint("GET", "/api/workspaces"),
    endpoint("POST", "/api/workspaces"),
    endpoint("GET", "/api/v1/workspaces/{workspace_id}"),
    endpoint("GET", "/api/workspaces/{workspace_id}/users"),
    endpoint("POST", "/api/workspaces/{workspace_id}/users/{user_id}"),
    endpoint("DELETE", "/api/workspaces/{workspace_id}/users/{user_id}"),
    // workgate additions (API.md section 9, docs/DECISIONS.md)
    endpoint("DELETE", "/api/workspaces/{workspace_id}"),
    endpoint("PATCH", "/api/users/{user_id}"),
    endpoint("PUT", "/api/me/password"),
    endpoint("GET", "/api/me/credentials"),
    endpoint("POST", "/api/users/{user_id}/api-key"),
    endpoint("PUT", "/api/users/{user_id}/password"),
    endpoint("GET", "/api/audit"),
    // datasets (API.md section 10, research/argilla-datasets.md §3)
    endpoint("GET", "/api/datasets"),
    endpoint("POST", "/api/datasets"),
    endpoint("GET", "/api/datasets/{name}"),
    endpoint("PATCH", "/api/datasets/{name}"),
    endpoint("DELETE", "/api/datasets/{name}"),
    endpoint("PUT", "/api/datasets/{name}:copy"),
    endpoint("PUT", "/api/datasets/{name}:close"),
    endpoint("PUT", "/api/datasets/{name}:open"),
    endpoint("POST", "/api/datasets/{name}/TextClassification:bulk"),
    endpoint("POST", "/api/datasets/{name}/TokenClassification:bulk"),
    endpoint("POST", "/api/datasets/{name}/Text2Text:bulk"),
    endpoint("POST", "/api/datasets/{name}/records/:search"),
    endpoint("POST", "/api/datasets/{name}/TextClassification:search"),
    endpoint("POST", "/api/datasets/{name}/TokenClassification:search"),
    endpoint("POST", "/api/datasets/{name}/Text2Text:search"),
    endpoint(
        "POST",
        "/api/datasets/{name}/TaskType.text_classification:search",
    ),
    endpoint("GET", "/api/v1/datasets"),
    endpoint("DELETE", "/api/datasets/{name}/data"),
    endpoint("GET", "/api/datasets/{name}/TextClassification/settings"),
    endpoint("PATCH", "/api/datasets/{name}/TextClassification/settings"),
    endpoint("DELETE", "/api/datasets/{name}/TextClassification/settings"),
    endpoint("GET", "/api/datasets/{name}/TokenClassification/settings"),
    endpoint("PATCH", "/api/datasets/{name}/TokenClassification/settings"),
    endpoint(
        "DELETE",
        "/api/datasets/{name}/TokenClassification/settings",
    ),
    // the task spellings client 1.8 builds on Python >= 3.11 (research §2.8)
    endpoint(
        "GET",
        "/api/datasets/{name}/TaskType.text_classification/settings",
    ),
    endpoint(
        "PATCH",
        "/api/datasets/{name}/TaskType.text_classification/settings",
    ),
    endpoint(
        "DELETE",
        "/api/datasets/{name}/TaskType.text_classification/settings",
    ),
    endpoint(
        "GET",
        "/api/datasets/{name}/TaskType.token_classification/settings",
    ),
    endpoint(
        "PATCH",
        "/api/datasets/{name}/TaskType.token_classification/settings",
    ),
    endpoint(
        "DELETE",
        "/api/datasets/{name}/TaskType.token_classification/settings",
    ),
    // moving a deployment (README "Moving a deployment")
    endpoint("GET", "/api/_dump"),
    endpoint("POST", "/api/_dump"),
];

/// The OpenAPI description itself (docs/DECISIONS.md); it need not describe itself.
pub const OPENAPI_SPEC: Endpoint = endpoint("GET", "/api/docs/spec.json");

/// The endpoint that `method path` (no query string) is a request to, if any.
pub fn find(method: &str, path: &str) -> Option<Endpoint> {
    ENDPOINTS
        .iter()
        .chain(std::iter::once(&OPENAPI_SPEC))
        .copied()
        .find(|e| e.method.eq_ignore_ascii_case(method) && template_matches(e.path, path))
}

fn template_matches(template: &str, path: &str) -> bool {
    let mut want = template.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') => {
                if g.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_whole_segments() {
        assert!(find("GET", "/api/users").is_some());
        assert!(find("DELETE", "/api/users/abc").is_some());
        assert!(find("DELETE", "/api/users/").is_none());
        assert!(find("GET", "/api/users/abc/x").is_none());
        assert!(find("PUT", "/api/users").is_none());
        assert_eq!(
            find("POST", "/api/workspaces/a/users/b").map(|e| e.path),
            Some("/api/workspaces/{workspace_id}/users/{user_id}")
        );
    }
}
