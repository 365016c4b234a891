//! The framework-neutral request and response the API engine speaks.
//!
//! Hosts translate their framework's types (axum, workers-rs) to and from these; the
//! conformance suite builds them directly for in-process runs.

use std::borrow::Cow;

/// An HTTP request as the engine sees it. Its `Debug` form hides credentials and the body.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// The path without the query string, e.g. `/api/me`.
    pub path: String,
    /// The raw query string without `?`, if any.
    pub query: Option<String>,
    /// Header names are matched case-insensitively.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = ["authorization", "x-argilla-api-key", "cookie"]
                    .iter()
                    .any(|s| k.eq_ignore_ascii_case(s));
                (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query.as_ref().map(|_| "<redacted>"))
            .field("headers", &headers)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Request {
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.to_string(), None),
        };
        Request {
            method: method.to_ascii_uppercase(),
            path,
            query,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name` (case-insensitive), one of [`READ_HEADERS`].
    pub fn header_value(&self, name: &str) -> Option<&str> {
        debug_assert!(
            is_read_header(name),
            "the engine reads header {name:?}: add it to READ_HEADERS"
        );
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every request header the engine reads, in lower case. A host may copy only these into a
/// [`Request`]: the engine never looks at any other ([`Request::header_value`] checks, in
/// debug builds, that it is asked for one of these).
pub const READ_HEADERS: &[&str] = &[
    "x-argilla-api-key",
    "authorization",
    "x-argilla-workspace",
    "content-type",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
];

/// Whether the engine reads request header `name` (any case; see [`READ_HEADERS`]).
pub fn is_read_header(name: &str) -> bool {
    READ_HEADERS
        .iter()
        .any(|read| read.eq_ignore_ascii_case(name))
}

/// A response header: name (lower case) and value, each borrowed when it is a constant, so
/// the headers most answers carry cost no allocation.
pub type Header = (Cow<'static, str>, Cow<'static, str>);

/// An HTTP response from the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Response {
            status,
            headers: json_headers(),
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// An HTML page, under [`CONTENT_SECURITY_POLICY`].
    pub fn html(status: u16, page: &str) -> Self {
        Response {
            status,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                (
                    "content-security-policy".into(),
                    CONTENT_SECURITY_POLICY.into(),
                ),
                ("referrer-policy".into(), "no-referrer".into()),
            ],
            body: page.as_bytes().to_vec(),
        }
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The body parsed as JSON (`Null` if it is not JSON).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// The policy of every HTML page workgate serves (the web app's, and the API reference at
/// `/api/docs`): the page's own scripts, styles and WebAssembly, nothing inline, no other origin.
/// The Worker's static assets send the same from `www/_headers` (a native test compares them).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The headers of every JSON answer: its type, and no content sniffing.
pub fn json_headers() -> Vec<Header> {
    // Room for the CORS headers `decorate` adds.
    let mut headers = Vec::with_capacity(5);
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("x-content-type-options".into(), "nosniff".into()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_headers_are_lower_case_and_found_in_any_case() {
        for name in READ_HEADERS {
            assert_eq!(*name, name.to_ascii_lowercase());
            assert!(is_read_header(&name.to_ascii_uppercase()));
        }
        assert!(!is_read_header("x-request-id"));
        let request = Request::new("GET", "/api/me").header("X-Argilla-Api-Key", "k");
        assert_eq!(request.header_value("x-argilla-api-key"), Some("k"));
    }
}
