//! API errors and the one place they become responses (API.md section 2).

use serde_json::{Value, json};

use crate::http::Response;
use crate::store::StoreError;

/// The kind of entity named in 404 and 409 bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityType {
    User,
    Workspace,
}

impl EntityType {
    fn as_str(self) -> &'static str {
        match self {
            EntityType::User => "User",
            EntityType::Workspace => "Workspace",
        }
    }
}

/// One item of a 422 body.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub loc: Vec<Value>,
    pub msg: String,
    pub kind: &'static str,
    pub ctx: Option<Value>,
}

impl FieldError {
    pub fn new(loc: Vec<Value>, msg: impl Into<String>, kind: &'static str) -> Self {
        FieldError {
            loc,
            msg: msg.into(),
            kind,
            ctx: None,
        }
    }

    pub fn with_ctx(mut self, ctx: Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    pub fn to_json(&self) -> Value {
        let mut item = json!({"loc": self.loc, "msg": self.msg, "type": self.kind});
        if let Some(ctx) = &self.ctx {
            item["ctx"] = ctx.clone();
        }
        item
    }
}

/// Every way a request can fail.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized,
    Forbidden(String),
    NotFound {
        name: String,
        kind: EntityType,
    },
    AlreadyExists {
        name: String,
        kind: EntityType,
    },
    Validation(Vec<FieldError>),
    TooManyRequests {
        retry_after: i64,
    },
    /// The request body is larger than its endpoint's limit ([`super::body_limit`]), in bytes.
    PayloadTooLarge {
        limit: usize,
    },
    /// The host could not read the request body (the client went away, a broken transfer
    /// encoding). Never answered as a missing body.
    BodyUnreadable,
    /// The host cannot start the engine with its settings; the message names the setting,
    /// never its value.
    Configuration(String),
    /// The host gave up on the request (a timeout).
    Unavailable,
    /// No route for the path.
    RouteNotFound,
    /// The path exists, but not with this method.
    MethodNotAllowed {
        allow: Vec<&'static str>,
    },
    /// An Argilla error of a class of its own (the dataset API's `MissingInputParamError`,
    /// `WrongTaskError`, `ServiceDataset` 404s, ...): its status, class and params.
    Coded {
        status: u16,
        class: &'static str,
        params: Value,
    },
    /// A storage or internal failure; `kind` and `message` are shown and must be generic.
    Internal {
        kind: &'static str,
        message: &'static str,
    },
}

pub type ApiResult<T> = Result<T, ApiError>;

pub const OPERATION_NOT_ALLOWED: &str = "Operation not allowed";

impl ApiError {
    pub fn forbidden() -> Self {
        ApiError::Forbidden(OPERATION_NOT_ALLOWED.to_string())
    }

    pub fn user_not_found(name: impl ToString) -> Self {
        ApiError::NotFound {
            name: name.to_string(),
            kind: EntityType::User,
        }
    }

    pub fn workspace_not_found(name: impl ToString) -> Self {
        ApiError::NotFound {
            name: name.to_string(),
            kind: EntityType::Workspace,
        }
    }

    pub fn field(loc: Vec<Value>, msg: impl Into<String>, kind: &'static str) -> Self {
        ApiError::Validation(vec![FieldError::new(loc, msg, kind)])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) | ApiError::BodyUnreadable => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound { .. } | ApiError::RouteNotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::AlreadyExists { .. } => 409,
            ApiError::Validation(_) => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::Unavailable => 503,
            ApiError::Internal { .. } | ApiError::Configuration(_) => 500,
            ApiError::Coded { status, .. } => *status,
        }
    }

    /// The response for this error: Argilla's envelope, or FastAPI's bare `detail` for routing.
    pub fn into_response(self) -> Response {
        let status = self.status();
        let envelope = |class: &str, params: Value| json!({"detail": {"code": format!("argilla.api.errors::{class}"), "params": params}});
        let mut extra_headers: Vec<crate::http::Header> = Vec::new();
        let body = match self {
            ApiError::BadRequest(message) => {
                envelope("BadRequestError", json!({"message": message}))
            }
            ApiError::Unauthorized => {
                extra_headers.push(("www-authenticate".into(), "Bearer".into()));
                envelope(
                    "UnauthorizedError",
                    json!({"detail": "Could not validate credentials"}),
                )
            }
            ApiError::Forbidden(detail) => {
                envelope("ForbiddenOperationError", json!({"detail": detail}))
            }
            ApiError::NotFound { name, kind } => envelope(
                "EntityNotFoundError",
                json!({"name": name, "type": kind.as_str()}),
            ),
            ApiError::AlreadyExists { name, kind } => envelope(
                "EntityAlreadyExistsError",
                json!({"name": name, "type": kind.as_str()}),
            ),
            ApiError::Validation(errors) => envelope(
                "ValidationError",
                json!({"model": "Request", "errors": errors.iter().map(FieldError::to_json).collect::<Vec<_>>()}),
            ),
            ApiError::TooManyRequests { retry_after } => {
                let retry_after = retry_after.max(1);
                extra_headers.push(("retry-after".into(), retry_after.to_string().into()));
                envelope(
                    "TooManyRequestsError",
                    json!({"detail": "Too many failed login attempts; try again later", "retry_after": retry_after}),
                )
            }
            ApiError::PayloadTooLarge { limit } => envelope(
                "BadRequestError",
                json!({"message": format!("The request body is larger than {}", size(limit))}),
            ),
            ApiError::BodyUnreadable => envelope(
                "BadRequestError",
                json!({"message": "The request body could not be read"}),
            ),
            ApiError::Coded { class, params, .. } => envelope(class, params),
            ApiError::Configuration(message) => envelope(
                "GenericServerError",
                json!({"type": "ConfigurationError", "message": message}),
            ),
            ApiError::Unavailable => envelope(
                "GenericServerError",
                json!({"type": "Timeout", "message": "The request took too long; try again"}),
            ),
            ApiError::RouteNotFound => json!({"detail": "Not Found"}),
            ApiError::MethodNotAllowed { allow } => {
                extra_headers.push(("allow".into(), allow.join(", ").into()));
                json!({"detail": "Method Not Allowed"})
            }
            ApiError::Internal { kind, message } => envelope(
                "GenericServerError",
                json!({"type": kind, "message": message}),
            ),
        };
        let mut response = Response::json(status, &body);
        response.headers.extend(extra_headers);
        response
    }
}

impl From<StoreError> for ApiError {
    /// Store errors that reach a handler unmapped are failures of the backend; the message is
    /// deliberately generic (the store's own message may name internals).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken(name) => ApiError::AlreadyExists {
                name,
                kind: EntityType::User,
            },
            StoreError::WorkspaceNameTaken(name) => ApiError::AlreadyExists {
                name,
                kind: EntityType::Workspace,
            },
            StoreError::UserNotFound(id) => ApiError::user_not_found(id),
            StoreError::WorkspaceNotFound(id) => ApiError::workspace_not_found(id),
            StoreError::AlreadyMember { user, .. } => ApiError::AlreadyExists {
                name: user.to_string(),
                kind: EntityType::User,
            },
            StoreError::NotMember { user, .. } => ApiError::user_not_found(user),
            StoreError::LastAdmin => ApiError::Forbidden(LAST_ADMIN.to_string()),
            // An edit that refused the current record ends the caller's credentials (its
            // handlers map it where another answer fits).
            StoreError::Stale(_) => ApiError::Unauthorized,
            StoreError::Backend(_) => ApiError::Internal {
                kind: "StorageError",
                message: "The storage backend failed; try again",
            },
        }
    }
}

/// A byte count as a limit is spoken of: `1 MiB`, `32 MiB`, else bytes.
fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

pub const LAST_ADMIN: &str =
    "The last admin cannot be deleted, demoted or disabled: make another user admin first";
