//! The web app: the repository's `www/` directory, embedded in the binary at build time.
//!
//! `www/` may be empty or missing when the binary is built (the browser package is built
//! separately); the server then answers 404 for pages and still serves the API. Release builds
//! embed the files; debug builds read them from `www/` at run time (rust-embed's behaviour),
//! so a rebuilt web app shows without recompiling the server.
//!
//! Every answer carries `X-Content-Type-Options: nosniff`; HTML also carries a strict
//! Content-Security-Policy that lets the page load its own scripts and WebAssembly and nothing
//! else.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../www/"]
#[allow_missing = true]
struct WebAppFiles;

/// The policy sent with every HTML page (core's, which the API reference page carries too).
pub use workgate_core::http::CONTENT_SECURITY_POLICY;

/// The Content-Type for a file name.
pub fn content_type(path: &str) -> &'static str {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ts" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers a request for a web-app path (anything outside `/api`).
pub fn respond(method: &Method, path: &str, if_none_match: Option<&HeaderValue>) -> Response {
    respond_from::<WebAppFiles>(method, path, if_none_match)
}

/// [`respond`] over any embedded folder (tests use a fixture).
fn respond_from<Files: RustEmbed>(
    method: &Method,
    path: &str,
    if_none_match: Option<&HeaderValue>,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(name) = file_name(path) else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some((name, file)) = Files::get(&name)
        .map(|f| (name.clone(), f))
        // Client-side routes (no extension) get the app's page.
        .or_else(|| {
            let last = name.rsplit('/').next().unwrap_or_default();
            (!last.contains('.'))
                .then(|| Files::get("index.html").map(|f| ("index.html".to_string(), f)))
                .flatten()
        })
    else {
        return plain(StatusCode::NOT_FOUND, "Not Found");
    };

    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..16]));
    let not_modified = if_none_match
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let content_type = content_type(&name);
    let body = if not_modified || method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(file.data.into_owned())
    };
    let mut builder = Response::builder()
        .status(if not_modified {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, content_type)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::ETAG, etag)
        // Files keep their names across builds: always revalidate (cheap, thanks to the ETag).
        .header(header::CACHE_CONTROL, "no-cache");
    if content_type.starts_with("text/html") {
        builder = builder
            .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
            .header(header::REFERRER_POLICY, "no-referrer")
            .header(header::X_FRAME_OPTIONS, "DENY");
    }
    builder
        .body(body)
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// The embedded file name for a URL path: `/` and directories map to their `index.html`;
/// anything that could climb out of `www/` is refused.
fn file_name(path: &str) -> Option<String> {
    let trimmed = path.trim_start_matches('/');
    if trimmed
        .split('/')
        .any(|seg| seg == ".." || seg == "." || seg.contains('\\') || seg.contains('\0'))
    {
        return None;
    }
    if trimmed.is_empty() || trimmed.ends_with('/') {
        return Some(format!("{trimmed}index.html"));
    }
    Some(trimmed.to_string())
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(content_type("pkg/app_bg.wasm"), "application/wasm");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
    }

    #[derive(RustEmbed)]
    #[folder = "tests/fixtures/www/"]
    struct Fixture;

    fn get(path: &str) -> Response {
        respond_from::<Fixture>(&Method::GET, path, None)
    }

    fn header(response: &Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn index_html_for_root_with_csp_and_nosniff() {
        let root = get("/");
        assert_eq!(root.status(), StatusCode::OK);
        assert_eq!(
            header(&root, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            header(&root, header::CONTENT_SECURITY_POLICY),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(
            header(&root, header::X_CONTENT_TYPE_OPTIONS),
            Some("nosniff")
        );
    }

    #[test]
    fn scripts_and_wasm_have_their_types_and_no_csp() {
        let js = get("/app.js");
        assert_eq!(
            header(&js, header::CONTENT_TYPE),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(header(&js, header::CONTENT_SECURITY_POLICY), None);
        assert_eq!(header(&js, header::X_CONTENT_TYPE_OPTIONS), Some("nosniff"));
        let wasm = get("/pkg/app_bg.wasm");
        assert_eq!(wasm.status(), StatusCode::OK);
        assert_eq!(
            header(&wasm, header::CONTENT_TYPE),
            Some("application/wasm")
        );
    }

    #[test]
    fn client_routes_get_the_page_and_missing_files_404() {
        let route = get("/users/settings");
        assert_eq!(route.status(), StatusCode::OK);
        assert_eq!(
            header(&route, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(get("/missing.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/../Cargo.toml").status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn etags_revalidate() {
        let first = get("/app.js");
        let etag = first.headers().get(header::ETAG).cloned().unwrap();
        let again = respond_from::<Fixture>(&Method::GET, "/app.js", Some(&etag));
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let post = respond_from::<Fixture>(&Method::POST, "/", None);
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name("/").as_deref(), Some("index.html"));
        assert_eq!(file_name("/pkg/x.js").as_deref(), Some("pkg/x.js"));
        assert_eq!(file_name("/docs/").as_deref(), Some("docs/index.html"));
        assert_eq!(file_name("/../Cargo.toml"), None);
        assert_eq!(file_name("/a/%2e%2e/b").as_deref(), Some("a/%2e%2e/b"));
    }

    #[test]
    fn the_worker_sends_the_same_policy() {
        // The Worker's static assets take their headers from www/_headers; both hosts must
        // send one policy.
        let worker_headers = include_str!("../../www/_headers");
        assert!(
            worker_headers.contains(&format!(
                "Content-Security-Policy: {CONTENT_SECURITY_POLICY}"
            )),
            "www/_headers and CONTENT_SECURITY_POLICY differ"
        );
    }
}
