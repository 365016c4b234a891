//! The HTTP server: hyper (with axum's types) in front of the engine.
//!
//! This module only translates. Everything under `/api` becomes a core [`Request`] and goes to
//! [`Engine::handle`]; its [`Response`](workgate_core::Response) is copied back. Everything else
//! is the embedded web app. What the server adds is transport: the accept loop with its
//! connection caps and timeouts ([`connections`](crate::connections)), a body-size limit with
//! readable refusals ([`request_body`](crate::request_body)), a time limit, a request id and one
//! log line per request, the figures of [`metrics`](crate::metrics), and graceful shutdown on
//! SIGINT/SIGTERM (in-flight requests finish; then the process exits).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::borrow::Cow;
use std::future::Future;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tokio::net::TcpListener;
use workgate_core::{Engine, Request, http};

use workgate_core::engine::endpoint::DEFAULT_BODY_LIMIT;
use workgate_core::engine::error::ApiError;

use crate::access_log;
use crate::connections::{self, ConnectionLimits};
use crate::metrics::{self, Metrics};
use crate::request_body::{self, BodyRefusal};
use crate::request_id::{self, RequestId};
use crate::web_app;

/// The engine the native host runs.
pub type NativeEngine = Engine;

/// Longest a request may take, body included (503 after).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub use connections::SHUTDOWN_GRACE;

/// How the per-request log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line.
    #[default]
    Text,
    /// One JSON object, with the request's figures as fields.
    Json,
}

/// How `run` serves: the transport's settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub limits: ConnectionLimits,
    /// Where to serve `GET /metrics`; `None` keeps the figures unserved.
    pub metrics_addr: Option<SocketAddr>,
    pub log_format: LogFormat,
    /// The database pool's figures for the metrics, on PostgreSQL.
    pub pool: Option<metrics::PoolSource>,
}

/// The application: `/api` to the engine, the rest to the web app, every request observed
/// ([`App::answer`]). Called by the accept loop directly, with no router in between: there is
/// nothing to route but "API or web app", and the engine matches API routes itself.
#[derive(Clone)]
pub struct App(Arc<Shared>);

struct Shared {
    engine: Arc<NativeEngine>,
    /// `None` when no one can read the figures (no `--metrics-addr`): requests are not counted.
    metrics: Option<Arc<Metrics>>,
    log_format: LogFormat,
}

impl App {
    /// `metrics`: where request figures are counted, if anywhere.
    pub fn new(
        engine: Arc<NativeEngine>,
        metrics: Option<Arc<Metrics>>,
        log_format: LogFormat,
    ) -> App {
        App(Arc::new(Shared {
            engine,
            metrics,
            log_format,
        }))
    }

    /// Answers one request: its id (echoed in `X-Request-Id`), its figures, and one log line
    /// ([`access_log`]) around [`App::route`].
    pub async fn answer(self, request: axum::extract::Request) -> Response {
        let start = Instant::now();
        let id = RequestId::for_request(request.headers().get(request_id::HEADER));
        let method = request.method().clone();
        // Shares the request's buffer; the path is read after the request is handed on.
        let uri = request.uri().clone();
        let (mut response, route) = self.route(&method, uri.path(), request).await;
        let elapsed = start.elapsed();
        response
            .headers_mut()
            .insert(request_id::HEADER, id.header_value());
        let status = response.status().as_u16();
        if let Some(metrics) = &self.0.metrics {
            metrics.request(method.as_str(), route, status, elapsed);
        }
        access_log::record(
            self.0.log_format,
            &access_log::Line {
                id: &id,
                method: method.as_str(),
                path: uri.path(),
                route,
                status,
                elapsed,
            },
        );
        response
    }

    /// The answer and the route it is counted under: the engine's path template (or
    /// [`metrics::UNMATCHED_ROUTE`]) under `/api`, else [`metrics::WEB_APP_ROUTE`].
    async fn route(
        &self,
        method: &Method,
        path: &str,
        request: axum::extract::Request,
    ) -> (Response, &'static str) {
        if !is_api(path) {
            let response = web_app::respond(
                request.method(),
                path,
                request.headers().get(header::IF_NONE_MATCH),
            );
            return (response, metrics::WEB_APP_ROUTE);
        }
        let engine = &self.0.engine;
        let origin = request.headers().get(header::ORIGIN).cloned();
        let (response, template) =
            match tokio::time::timeout(REQUEST_TIMEOUT, api(engine, request)).await {
                Ok(Routed::ByEngine(response, template)) => (response, template),
                // Refused before the engine (body limit, timeout): matched here, rarely.
                Ok(Routed::Refused(response)) => (
                    response,
                    workgate_core::engine::route_template(method.as_str(), path),
                ),
                Err(_) => (
                    to_axum(engine.refuse(
                        path,
                        origin.as_ref().and_then(|v| v.to_str().ok()),
                        ApiError::Unavailable,
                    )),
                    workgate_core::engine::route_template(method.as_str(), path),
                ),
            };
        (
            headless(method, response),
            template.unwrap_or(metrics::UNMATCHED_ROUTE),
        )
    }
}

/// The answer to a `HEAD` request without its body (HTTP/1.1's encoder drops one, HTTP/2's
/// would send it), saying the length the body had. Other answers as they are.
fn headless(method: &Method, response: Response) -> Response {
    if method != Method::HEAD {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    if let Some(len) = axum::body::HttpBody::size_hint(&body).exact()
        && !parts.headers.contains_key(header::CONTENT_LENGTH)
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Response::from_parts(parts, Body::empty())
}

impl connections::Handler for App {
    fn handle(
        &self,
        request: axum::extract::Request,
    ) -> impl Future<Output = Response> + Send + 'static {
        self.clone().answer(request)
    }
}

/// An API request's answer: the engine's, with the path template it matched, or the host's
/// refusal before the engine saw it.
enum Routed {
    ByEngine(Response, Option<&'static str>),
    Refused(Response),
}

/// Binds `addr` (and the metrics address, if any), prints `workgate listening on
/// http://HOST:PORT` on stdout (then `workgate metrics on http://HOST:PORT/metrics`), and
/// serves until SIGINT or SIGTERM.
pub async fn run(
    engine: Arc<NativeEngine>,
    addr: SocketAddr,
    options: ServeOptions,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let metrics_listener = match options.metrics_addr {
        Some(addr) => Some(metrics::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot serve metrics on {addr}: {e}"))
        })?),
        None => None,
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "workgate listening on http://{bound}")?;
        if let Some(listener) = &metrics_listener {
            writeln!(
                out,
                "workgate metrics on http://{}/metrics",
                listener.local_addr()?
            )?;
        }
        out.flush()?;
    }
    let limits = options.limits;
    tracing::info!(
        "serving the API and the web app on http://{bound}; at most {} connections, {} per \
         client address; header timeout {:?}, idle timeout {:?}",
        limits.max_connections,
        limits.max_per_client,
        limits.header_timeout,
        limits.idle_timeout
    );

    let mut metrics = Metrics::new();
    metrics.read_from(metrics::Sources {
        engine: engine.clone(),
        pool: options.pool.clone(),
    });
    let metrics = Arc::new(metrics);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut stop_rx = stop_rx.clone();
        async move {
            let _ = stop_rx.wait_for(|stopped| *stopped).await;
        }
    };
    if let Some(listener) = metrics_listener {
        tracing::info!(
            "serving metrics on http://{}/metrics",
            listener.local_addr()?
        );
        let served = metrics::serve(listener, metrics.clone(), stopped());
        tokio::spawn(async move {
            if let Err(e) = served.await {
                tracing::error!("the metrics listener failed: {e}");
            }
        });
    }
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });
    let request_metrics = options.metrics_addr.map(|_| metrics.clone());
    let app = App::new(engine, request_metrics, options.log_format);
    connections::serve(listener, app, limits, metrics, stopped()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Translates an axum request into a core request and the engine's answer back.
async fn api(engine: &NativeEngine, request: axum::extract::Request) -> Routed {
    let (parts, body) = request.into_parts();
    let declared_len = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Core's limit for this endpoint, enforced here before reading. Every endpoint accepts at
    // least the default, so a request that declares no more than that (most: GETs declare
    // nothing) is read without matching its route twice; the engine matches it anyway.
    let chunked = parts.headers.contains_key(header::TRANSFER_ENCODING);
    let limit = if !chunked && declared_len.unwrap_or(0) <= DEFAULT_BODY_LIMIT as u64 {
        DEFAULT_BODY_LIMIT
    } else {
        workgate_core::engine::body_limit(parts.method.as_str(), parts.uri.path())
    };
    if let Some(declared) = declared_len.filter(|n| *n > limit as u64) {
        let expects_continue = parts
            .headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let drained = request_body::refuse_declared(body, declared, expects_continue).await;
        return Routed::Refused(too_large(engine, &parts, limit, drained));
    }
    let body = match request_body::read(body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyRefusal::TooLarge { drained }) => {
            return Routed::Refused(too_large(engine, &parts, limit, drained));
        }
        Err(BodyRefusal::Unreadable) => {
            return Routed::Refused(refused(engine, &parts, ApiError::BodyUnreadable));
        }
    };
    let core_request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        // Only what the engine reads (HeaderName is lower case, as READ_HEADERS is).
        headers: parts
            .headers
            .iter()
            .filter(|(name, _)| http::READ_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    let (answer, template) = engine.handle_routed(core_request).await;
    Routed::ByEngine(to_axum(answer), template)
}

/// The engine's answer as an axum response.
fn to_axum(answer: workgate_core::Response) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name.as_bytes()), header_value(value))
        {
            headers.append(name, value);
        }
    }
    response
}

/// A header value; a constant one (most are) without copying it.
fn header_value(
    value: Cow<'static, str>,
) -> Result<HeaderValue, axum::http::header::InvalidHeaderValue> {
    match value {
        // `from_static` accepts exactly this (and would panic on anything else).
        Cow::Borrowed(text)
            if text
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
        {
            Ok(HeaderValue::from_static(text))
        }
        other => HeaderValue::try_from(other.into_owned()),
    }
}

/// A request refused before the engine sees it, in core's words (and with its CORS headers).
fn refused(engine: &NativeEngine, parts: &axum::http::request::Parts, error: ApiError) -> Response {
    to_axum(engine.refuse(parts.uri.path(), origin_of(&parts.headers), error))
}

/// The request's `Origin` header, if it is text.
fn origin_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// The 413 answer; a body left partly unread means the connection cannot carry another
/// request, which the answer says.
fn too_large(
    engine: &NativeEngine,
    parts: &axum::http::request::Parts,
    limit: usize,
    drained: bool,
) -> Response {
    let mut response = refused(engine, parts, ApiError::PayloadTooLarge { limit });
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_answer_has_no_body_but_its_length() {
        let answer =
            || to_axum(workgate_core::engine::error::ApiError::RouteNotFound.into_response());
        let full = answer();
        let len = axum::body::HttpBody::size_hint(full.body())
            .exact()
            .unwrap();
        assert!(len > 0);
        let head = headless(&Method::HEAD, answer());
        assert_eq!(
            axum::body::HttpBody::size_hint(head.body()).exact(),
            Some(0)
        );
        assert_eq!(
            head.headers().get(header::CONTENT_LENGTH),
            Some(&HeaderValue::from(len))
        );
        assert_eq!(
            head.headers().get(header::CONTENT_TYPE),
            full.headers().get(header::CONTENT_TYPE)
        );
        let get = headless(&Method::GET, answer());
        assert_eq!(
            axum::body::HttpBody::size_hint(get.body()).exact(),
            Some(len)
        );
    }
}
