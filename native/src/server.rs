//! The HTTP server: axum in front of the engine.
//!
//! This module only translates. Everything under `/api` becomes a core [`Request`] and goes to
//! [`Engine::handle`]; its [`Response`](workgate_core::Response) is copied back. Everything else
//! is the embedded web app. What the server adds is transport: a body-size limit, a time limit,
//! one log line per request, and graceful shutdown on SIGINT/SIGTERM (in-flight requests
//! finish; then the process exits).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::net::TcpListener;
use workgate_core::{Engine, Request};

use workgate_core::engine::endpoint::DEFAULT_BODY_LIMIT;
use workgate_core::engine::error::ApiError;

use crate::web_app;

/// The engine the native host runs.
pub type NativeEngine = Engine;

/// Longest a request may take, body included (503 after).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The application: `/api` to the engine, the rest to the web app.
pub fn app(engine: Arc<NativeEngine>) -> Router {
    Router::new()
        .fallback(route)
        .layer(axum::middleware::from_fn(log_request))
        .with_state(engine)
}

/// Binds `addr`, prints `workgate listening on http://HOST:PORT` on stdout, and serves until
/// SIGINT or SIGTERM.
pub async fn run(engine: Arc<NativeEngine>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "workgate listening on http://{bound}")?;
        out.flush()?;
    }
    tracing::info!("serving the API and the web app on http://{bound}");

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app(engine)).with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop_tx.send(true);
    });
    let mut stop_rx = stop_rx;
    let deadline = async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result?,
        () = deadline => tracing::warn!("shutdown grace period over; closing remaining connections"),
    }
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

async fn route(
    State(engine): State<Arc<NativeEngine>>,
    request: axum::extract::Request,
) -> Response {
    if is_api(request.uri().path()) {
        let path = request.uri().path().to_owned();
        let origin = origin_of(request.headers()).map(str::to_owned);
        match tokio::time::timeout(REQUEST_TIMEOUT, api(&engine, request)).await {
            Ok(response) => response,
            Err(_) => to_axum(engine.refuse(&path, origin.as_deref(), ApiError::Unavailable)),
        }
    } else {
        web_app::respond(
            request.method(),
            request.uri().path(),
            request.headers().get(header::IF_NONE_MATCH),
        )
    }
}

/// Translates an axum request into a core request and the engine's answer back.
async fn api(engine: &NativeEngine, request: axum::extract::Request) -> Response {
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
    if declared_len.is_some_and(|n| n > limit as u64) {
        return refused(engine, &parts, ApiError::PayloadTooLarge { limit });
    }
    let body: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(e) if is_length_limit(&e) => {
            return refused(engine, &parts, ApiError::PayloadTooLarge { limit });
        }
        Err(_) => return refused(engine, &parts, ApiError::BodyUnreadable),
    };
    let core_request = Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    };
    to_axum(engine.handle(core_request).await)
}

/// The engine's answer as an axum response.
fn to_axum(answer: workgate_core::Response) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    response
}

/// A request refused before the engine sees it, in core's words (and with its CORS headers).
fn refused(engine: &NativeEngine, parts: &axum::http::request::Parts, error: ApiError) -> Response {
    to_axum(engine.refuse(parts.uri.path(), origin_of(&parts.headers), error))
}

/// The request's `Origin` header, if it is text.
fn origin_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether reading the body failed because it passed the limit (rather than the client going
/// away mid-body).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// One line per request: method, path (never the query string), status, latency. Headers and
/// bodies are never logged, so keys, passwords and tokens stay out of the log.
async fn log_request(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let micros = start.elapsed().as_micros();
    tracing::info!(
        target: "workgate::http",
        "{method} {path} {} {}.{:03}ms",
        response.status().as_u16(),
        micros / 1000,
        micros % 1000
    );
    response
}
