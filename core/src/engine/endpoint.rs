//! What an endpoint is: one [`Endpoint`] value per endpoint — method, path template, who may
//! call it, body limit, handler, and what the OpenAPI description says of it. Routing
//! ([`super::routes`]), dispatch, the per-route body limit and the OpenAPI description
//! ([`super::openapi`]) are all derived from these values, so they cannot drift apart.
//!
//! Each resource module (`auth`, `users`, `workspaces`, `service`) declares its endpoints next
//! to their handlers, in a `pub(super) const ENDPOINTS: &[Endpoint]`; `routes::ENDPOINTS` ties
//! the modules together. Adding an endpoint touches its declaration, its handler and tests.
//!
//! Path templates are literal text with `{param}` placeholders; a placeholder may share its
//! segment with literal text, as Argilla's dataset paths need (`/api/datasets/{name}:copy`,
//! `/api/datasets/{name}/records/:search`).

use std::future::Future;
use std::pin::Pin;

use super::Engine;
use super::auth::Caller;
use super::error::ApiResult;
use crate::http::{Request, Response};

/// A handler's future: `Send` on native targets (axum runs it on any worker thread), not on
/// wasm32 (workers-rs futures are not `Send`).
#[cfg(not(target_arch = "wasm32"))]
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + Send + 'a>>;
#[cfg(target_arch = "wasm32")]
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = ApiResult<Response>> + 'a>>;

/// One request as a handler sees it: the request and the path's parameters.
#[derive(Debug)]
pub struct Call<'a> {
    pub req: &'a Request,
    pub(crate) params: Vec<(&'static str, &'a str)>,
}

impl<'a> Call<'a> {
    /// The raw value of path parameter `name` (empty if the template has none of that name,
    /// which `routes`' tests rule out).
    pub fn param(&self, name: &str) -> &'a str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .unwrap_or_default()
    }
}

/// Who may call an endpoint, and the handler that answers it.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Anyone; no credentials are read.
    Public(for<'a> fn(&'a Engine, &'a Call<'a>) -> HandlerFuture<'a>),
    /// An authenticated caller (401 otherwise); the handler decides what it may do.
    Authenticated(for<'a> fn(&'a Engine, &'a Caller, &'a Call<'a>) -> HandlerFuture<'a>),
}

impl Handler {
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Handler::Authenticated(_))
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_authenticated() {
            "Handler::Authenticated"
        } else {
            "Handler::Public"
        })
    }
}

/// The type of a path or query parameter, for the OpenAPI description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Uuid,
    String,
    Integer,
    Boolean,
}

/// A path or query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamType,
    pub description: &'static str,
}

impl Param {
    pub const fn uuid(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            kind: ParamType::Uuid,
            description,
        }
    }

    pub const fn string(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            kind: ParamType::String,
            description,
        }
    }

    pub const fn integer(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            kind: ParamType::Integer,
            description,
        }
    }
}

/// A request body, by the name of its schema in the OpenAPI components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Json(&'static str),
    Form(&'static str),
}

/// A success answer's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A component schema by name.
    Schema(&'static str),
    /// An array of a component schema.
    ListOf(&'static str),
    /// Any JSON object (the OpenAPI description itself).
    AnyObject,
    /// An HTML page (the API reference).
    Html,
}

/// The largest request body an endpoint reads unless it says otherwise (1 MiB); larger ones
/// are 413.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// One endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    /// Path template (see the module docs).
    pub path: &'static str,
    pub handler: Handler,
    /// Bodies larger than this are refused with 413 before anything else.
    pub body_limit: usize,
    pub summary: &'static str,
    /// One entry per `{param}` of `path`, in order (a test checks).
    pub path_params: &'static [Param],
    pub query_params: &'static [Param],
    pub body: Option<Body>,
    pub answer: Answer,
    /// The error statuses it can answer besides 401 (authenticated endpoints) and 422
    /// (endpoints that read input).
    pub errors: &'static [u16],
}

impl Endpoint {
    /// An endpoint with the defaults: no parameters, no body, the default body limit, no
    /// errors of its own. Declarations override with struct update syntax.
    pub const fn new(
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        handler: Handler,
        answer: Answer,
    ) -> Endpoint {
        Endpoint {
            method,
            path,
            handler,
            body_limit: DEFAULT_BODY_LIMIT,
            summary,
            path_params: &[],
            query_params: &[],
            body: None,
            answer,
            errors: &[],
        }
    }

    /// Whether the endpoint reads input that can fail validation (a 422 in its description).
    pub fn reads_input(&self) -> bool {
        self.handler.is_authenticated()
            || self.body.is_some()
            || !self.path_params.is_empty()
            || !self.query_params.is_empty()
    }
}
