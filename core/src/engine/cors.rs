//! Cross-origin requests (API.md section 2 and section 9, item 11): which origins may call the
//! API from a browser, the answer to a CORS preflight, and the headers every `/api` answer
//! carries — decided here once, so every host (and every answer a host makes on its own, such as
//! an over-limit body) behaves the same.
//!
//! What it does, following Starlette's `CORSMiddleware` as Argilla 1.8 configures it
//! (`ARGILLA_CORS_ORIGINS`, default `["*"]`), with no credentials mode:
//!
//! - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) on any `/api`
//!   path is answered here, before routing and authentication: 204 with the allowed origin,
//!   methods, request headers and a max-age when the origin, method and every requested header
//!   are allowed; otherwise 400 `BadRequestError` "Disallowed CORS origin, method, headers"
//!   (naming what failed, in Starlette's words).
//! - Every other `/api` answer gets `Access-Control-Allow-Origin` when the request's `Origin` is
//!   allowed (`*` when every origin is), `Access-Control-Expose-Headers`, and `Vary: Origin`, so
//!   a cache never hands one origin's answer to another.
//! - Never `Access-Control-Allow-Credentials`: workgate authenticates by header
//!   (`X-Argilla-Api-Key`, `Authorization`), never by cookie, so a page on another origin can
//!   only send credentials its own script already holds. That is why every origin is a safe
//!   default (docs/DECISIONS.md, "CORS").

use crate::http::{Request, Response};

use super::error::ApiError;

/// The methods a cross-origin page may use: those the API's endpoints are declared with
/// (a test checks that every declared method is here).
pub const ALLOWED_METHODS: [&str; 5] = ["DELETE", "GET", "PATCH", "POST", "PUT"];

/// The request headers a cross-origin page may send, lower-case and sorted: the credentials,
/// the dataset API's workspace, the request id, and the CORS-safelisted ones (Starlette lists
/// those too, so a `Content-Type: application/json` preflight passes).
pub const ALLOWED_HEADERS: [&str; 8] = [
    "accept",
    "accept-language",
    "authorization",
    "content-language",
    "content-type",
    "x-argilla-api-key",
    "x-argilla-workspace",
    "x-request-id",
];

/// The answer headers a cross-origin script may read besides the safelisted ones: the
/// throttle's `Retry-After` and the request id.
pub const EXPOSED_HEADERS: &str = "retry-after, x-request-id";

/// How long a browser may keep a preflight's answer, in seconds (Starlette's default).
pub const MAX_AGE_SECS: u32 = 600;

/// Which origins may call the API from a browser. The default allows every origin, as Argilla's
/// `ARGILLA_CORS_ORIGINS` default `["*"]` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Every origin (`["*"]`): answers carry `Access-Control-Allow-Origin: *`.
    #[default]
    AnyOrigin,
    /// Exactly these origins (serialised as browsers send them: `scheme://host[:port]`,
    /// lower-case). An empty list turns cross-origin access off.
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// Parses `ARGILLA_CORS_ORIGINS`: a JSON list of origins, or `["*"]` (as pydantic reads
    /// Argilla's `List[str]` setting). A `"*"` anywhere in the list allows every origin, as in
    /// Starlette. The error is one line and says what an origin looks like.
    pub fn parse(json: &str) -> Result<CorsPolicy, String> {
        let list: Vec<String> = serde_json::from_str(json).map_err(|_| {
            "must be a JSON list of origins, e.g. [\"https://app.example.com\"], or [\"*\"] for \
             every origin"
                .to_string()
        })?;
        if list.iter().any(|o| o == "*") {
            return Ok(CorsPolicy::AnyOrigin);
        }
        let mut origins = Vec::with_capacity(list.len());
        for entry in list {
            let origin = origin_of(&entry)?;
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
        Ok(CorsPolicy::Origins(origins))
    }

    /// Whether a page on `origin` (an `Origin` header's value) may call the API.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsPolicy::AnyOrigin => true,
            CorsPolicy::Origins(list) => list.iter().any(|o| o == origin),
        }
    }

    /// The value of `Access-Control-Allow-Origin` for an allowed `origin`.
    fn allow_origin_value(&self, origin: &str) -> String {
        match self {
            CorsPolicy::AnyOrigin => "*".to_string(),
            CorsPolicy::Origins(_) => origin.to_string(),
        }
    }

    /// Whether answers depend on `Origin` at all (not when no origin is ever allowed).
    fn varies(&self) -> bool {
        !matches!(self, CorsPolicy::Origins(list) if list.is_empty())
    }

    /// The answer to `request` if it is a CORS preflight on an `/api` path, else `None` (the
    /// request goes on to routing). Decided before authentication: a browser never sends
    /// credentials with a preflight.
    pub fn preflight(&self, request: &Request) -> Option<Response> {
        if request.method != "OPTIONS" || !is_api_path(&request.path) {
            return None;
        }
        let origin = request.header_value("origin")?;
        let method = request.header_value("access-control-request-method")?;

        let mut failures = Vec::new();
        let origin_allowed = self.allows(origin);
        if !origin_allowed {
            failures.push("origin");
        }
        // Compared exactly, as browsers upper-case the standard methods and send others as
        // written (`patch` is not `PATCH`).
        if !ALLOWED_METHODS.contains(&method.trim()) {
            failures.push("method");
        }
        let requested = request
            .header_value("access-control-request-headers")
            .unwrap_or("");
        if requested
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .any(|h| !h.is_empty() && !ALLOWED_HEADERS.contains(&h.as_str()))
        {
            failures.push("headers");
        }

        let mut response = if failures.is_empty() {
            Response {
                status: 204,
                headers: Vec::new(),
                body: Vec::new(),
            }
        } else {
            ApiError::BadRequest(format!("Disallowed CORS {}", failures.join(", "))).into_response()
        };
        let headers = &mut response.headers;
        if origin_allowed {
            headers.push((
                "access-control-allow-origin".into(),
                self.allow_origin_value(origin).into(),
            ));
        }
        headers.push((
            "access-control-allow-methods".into(),
            ALLOWED_METHODS.join(", ").into(),
        ));
        headers.push((
            "access-control-allow-headers".into(),
            ALLOWED_HEADERS.join(", ").into(),
        ));
        headers.push((
            "access-control-max-age".into(),
            MAX_AGE_SECS.to_string().into(),
        ));
        if self.varies() {
            headers.push(("vary".into(), "Origin".into()));
        }
        Some(response)
    }

    /// Adds the CORS headers to the answer to a request on `path` that came with `origin` (its
    /// `Origin` header, if any). Answers outside `/api` (the web app, served same-origin) are
    /// left as they are.
    pub fn decorate(&self, path: &str, origin: Option<&str>, response: &mut Response) {
        if !is_api_path(path) {
            return;
        }
        if let Some(origin) = origin.filter(|o| self.allows(o)) {
            response.headers.push((
                "access-control-allow-origin".into(),
                self.allow_origin_value(origin).into(),
            ));
            response.headers.push((
                "access-control-expose-headers".into(),
                EXPOSED_HEADERS.into(),
            ));
        }
        if self.varies() {
            response.headers.push(("vary".into(), "Origin".into()));
        }
    }
}

/// Whether `path` is the API's (`/api` or below), the only part CORS applies to.
pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// One configured origin, checked and lower-cased the way a browser serialises an `Origin`
/// header (`scheme://host[:port]`): a path, even a lone trailing slash, would never match one.
fn origin_of(entry: &str) -> Result<String, String> {
    let shown: String = entry.chars().take(80).collect();
    let bad = |why: &str| format!("{shown:?} is not an origin ({why})");
    if entry == "null" {
        return Err(bad(
            "sandboxed pages and file: URLs all send \"null\"; use [\"*\"] to allow every origin",
        ));
    }
    let Some((scheme, authority)) = entry.split_once("://") else {
        return Err(bad(
            "expected scheme://host[:port], e.g. https://app.example.com",
        ));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return Err(bad(
            "expected scheme://host[:port], e.g. https://app.example.com",
        ));
    }
    if authority
        .chars()
        .any(|c| matches!(c, '/' | '?' | '#' | '@' | '*') || c.is_whitespace() || c.is_control())
    {
        return Err(bad(
            "no path, trailing slash, query, user or wildcard: scheme://host[:port]",
        ));
    }
    // An IPv6 host is bracketed (`[::1]`); any other host has no colon before the port.
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, "")) => (ip, None),
            Some((ip, after)) => match after.strip_prefix(':') {
                Some(port) => (ip, Some(port)),
                None => return Err(bad("expected [ipv6]:port")),
            },
            None => return Err(bad("an IPv6 host needs its closing bracket")),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    if let Some(port) = port
        && (port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return Err(bad("the port must be a number from 0 to 65535"));
    }
    Ok(entry.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preflight(origin: &str, method: &str, headers: Option<&str>) -> Request {
        let mut r = Request::new("OPTIONS", "/api/me")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method);
        if let Some(h) = headers {
            r = r.header("Access-Control-Request-Headers", h);
        }
        r
    }

    fn list(origins: &[&str]) -> CorsPolicy {
        CorsPolicy::Origins(origins.iter().map(|o| o.to_string()).collect())
    }

    #[test]
    fn parses_argillas_setting() {
        assert_eq!(CorsPolicy::parse(r#"["*"]"#), Ok(CorsPolicy::AnyOrigin));
        assert_eq!(
            CorsPolicy::parse(r#"["https://a.example", "*"]"#),
            Ok(CorsPolicy::AnyOrigin)
        );
        assert_eq!(
            CorsPolicy::parse(
                r#" ["https://App.Example:8443", "http://localhost:3000", "https://app.example:8443"] "#
            ),
            Ok(list(&["https://app.example:8443", "http://localhost:3000"]))
        );
        assert_eq!(
            CorsPolicy::parse(r#"["http://[::1]:8080", "tauri://localhost"]"#),
            Ok(list(&["http://[::1]:8080", "tauri://localhost"]))
        );
        assert_eq!(CorsPolicy::parse("[]"), Ok(list(&[])));
    }

    #[test]
    fn refuses_what_never_matches_an_origin_header() {
        for bad in [
            "*",
            "https://a.example",
            r#"{"origins": []}"#,
            r#"[1]"#,
            r#"["https://a.example/"]"#,
            r#"["https://a.example/app"]"#,
            r#"["a.example"]"#,
            r#"["https://"]"#,
            r#"["https://a.example:port"]"#,
            r#"["https://a.example:99999"]"#,
            r#"["https://*.example"]"#,
            r#"["null"]"#,
            r#"["https://user@a.example"]"#,
            r#"["1http://a.example"]"#,
        ] {
            let err = CorsPolicy::parse(bad).expect_err(bad);
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn allowed_preflight_is_204_with_the_allowed_methods_and_headers() {
        let answer = CorsPolicy::AnyOrigin
            .preflight(&preflight(
                "https://a.example",
                "GET",
                Some("X-Argilla-Api-Key, content-type"),
            ))
            .unwrap();
        assert_eq!(answer.status, 204);
        assert!(answer.body.is_empty());
        assert_eq!(
            answer.header_value("access-control-allow-origin"),
            Some("*")
        );
        assert_eq!(
            answer.header_value("access-control-allow-methods"),
            Some("DELETE, GET, PATCH, POST, PUT")
        );
        let allowed = answer.header_value("access-control-allow-headers").unwrap();
        for h in [
            "x-argilla-api-key",
            "authorization",
            "content-type",
            "x-request-id",
        ] {
            assert!(allowed.contains(h), "{allowed}");
        }
        assert_eq!(answer.header_value("access-control-max-age"), Some("600"));
        assert_eq!(
            answer.header_value("access-control-allow-credentials"),
            None
        );
    }

    #[test]
    fn listed_origin_is_echoed_with_vary() {
        let policy = list(&["https://a.example"]);
        let answer = policy
            .preflight(&preflight("https://a.example", "PATCH", None))
            .unwrap();
        assert_eq!(answer.status, 204);
        assert_eq!(
            answer.header_value("access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(answer.header_value("vary"), Some("Origin"));
    }

    #[test]
    fn disallowed_preflight_is_400_naming_every_failure() {
        let policy = list(&["https://a.example"]);
        let answer = policy
            .preflight(&preflight("https://b.example", "TRACE", Some("x-custom")))
            .unwrap();
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.json_body()["detail"]["params"]["message"],
            "Disallowed CORS origin, method, headers"
        );
        assert_eq!(answer.header_value("access-control-allow-origin"), None);

        let answer = policy
            .preflight(&preflight("https://a.example", "GET", Some("x-custom")))
            .unwrap();
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.json_body()["detail"]["params"]["message"],
            "Disallowed CORS headers"
        );
        // Lower-case `patch` is not the method `PATCH` (browsers send it as written).
        let answer = policy
            .preflight(&preflight("https://a.example", "patch", None))
            .unwrap();
        assert_eq!(answer.status, 400);
    }

    #[test]
    fn only_api_preflights_are_answered() {
        let policy = CorsPolicy::AnyOrigin;
        let mut r = preflight("https://a.example", "GET", None);
        r.path = "/index.html".into();
        assert!(policy.preflight(&r).is_none());
        // Not a preflight without Access-Control-Request-Method: routing answers (405).
        let r = Request::new("OPTIONS", "/api/me").header("Origin", "https://a.example");
        assert!(policy.preflight(&r).is_none());
        let r = Request::new("OPTIONS", "/api/me").header("Access-Control-Request-Method", "GET");
        assert!(policy.preflight(&r).is_none());
    }

    #[test]
    fn decorates_api_answers_only() {
        let policy = list(&["https://a.example"]);
        let mut answer = Response::json(200, &serde_json::json!({}));
        policy.decorate("/api/me", Some("https://a.example"), &mut answer);
        assert_eq!(
            answer.header_value("access-control-allow-origin"),
            Some("https://a.example")
        );
        assert_eq!(answer.header_value("vary"), Some("Origin"));
        assert_eq!(
            answer.header_value("access-control-allow-credentials"),
            None
        );

        let mut answer = Response::json(200, &serde_json::json!({}));
        policy.decorate("/api/me", Some("https://b.example"), &mut answer);
        assert_eq!(answer.header_value("access-control-allow-origin"), None);
        assert_eq!(answer.header_value("vary"), Some("Origin"));

        let mut answer = Response::json(200, &serde_json::json!({}));
        policy.decorate("/", Some("https://a.example"), &mut answer);
        assert!(answer.header_value("vary").is_none());

        let mut answer = Response::json(200, &serde_json::json!({}));
        list(&[]).decorate("/api/me", Some("https://a.example"), &mut answer);
        assert_eq!(
            answer.headers,
            Response::json(200, &serde_json::json!({})).headers
        );
    }

    #[test]
    fn every_declared_method_is_allowed() {
        for endpoint in super::super::routes::endpoints() {
            assert!(
                ALLOWED_METHODS.contains(&endpoint.method),
                "{} {} is not in ALLOWED_METHODS",
                endpoint.method,
                endpoint.path
            );
        }
    }
}
