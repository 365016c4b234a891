//! The error bodies of API.md section 2 and docs/DECISIONS.md, built the way the contract writes
//! them, so tests can say `answer.expect_json(404, &errors::not_found("User", &id))`.

use serde_json::{Value, json};

/// The username and workspace-name pattern of API.md section 4.
pub const NAME_PATTERN: &str = "^(?!-|_)[a-z0-9-_]+$";

fn envelope(class: &str, params: Value) -> Value {
    json!({"detail": {"code": format!("argilla.api.errors::{class}"), "params": params}})
}

/// 400 `BadRequestError`.
pub fn bad_request(message: &str) -> Value {
    envelope("BadRequestError", json!({"message": message}))
}

/// 401 `UnauthorizedError`.
pub fn unauthorized() -> Value {
    envelope(
        "UnauthorizedError",
        json!({"detail": "Could not validate credentials"}),
    )
}

/// 403 `ForbiddenOperationError` with the generic sentence.
pub fn forbidden() -> Value {
    forbidden_because("Operation not allowed")
}

/// 403 `ForbiddenOperationError` with a specific sentence.
pub fn forbidden_because(sentence: &str) -> Value {
    envelope("ForbiddenOperationError", json!({"detail": sentence}))
}

/// 404 `EntityNotFoundError`; `kind` is `User` or `Workspace`.
pub fn not_found(kind: &str, name: &str) -> Value {
    envelope("EntityNotFoundError", json!({"name": name, "type": kind}))
}

/// 409 `EntityAlreadyExistsError`; `kind` is `User` or `Workspace`.
pub fn already_exists(kind: &str, name: &str) -> Value {
    envelope(
        "EntityAlreadyExistsError",
        json!({"name": name, "type": kind}),
    )
}

/// 422 `ValidationError` with these items, in this order.
pub fn validation(items: Vec<Value>) -> Value {
    envelope(
        "ValidationError",
        json!({"model": "Request", "errors": items}),
    )
}

/// 429 `TooManyRequestsError` for a locked login.
pub fn too_many_requests(retry_after: u64) -> Value {
    envelope(
        "TooManyRequestsError",
        json!({"detail": "Too many failed login attempts; try again later", "retry_after": retry_after}),
    )
}

/// The bare routing bodies (FastAPI's, not the envelope).
pub fn route_not_found() -> Value {
    json!({"detail": "Not Found"})
}

pub fn method_not_allowed() -> Value {
    json!({"detail": "Method Not Allowed"})
}

/// A validation item: `field required`.
pub fn missing(loc: Value) -> Value {
    json!({"loc": loc, "msg": "field required", "type": "value_error.missing"})
}

/// A validation item: a name that does not match [`NAME_PATTERN`].
pub fn bad_name(loc: Value) -> Value {
    json!({
        "loc": loc,
        "msg": format!("string does not match regex \"{NAME_PATTERN}\""),
        "type": "value_error.str.regex",
        "ctx": {"pattern": NAME_PATTERN},
    })
}

/// A validation item: shorter than `limit` characters.
pub fn too_short(loc: Value, limit: u64) -> Value {
    json!({
        "loc": loc,
        "msg": format!("ensure this value has at least {limit} characters"),
        "type": "value_error.any_str.min_length",
        "ctx": {"limit_value": limit},
    })
}

/// A validation item: longer than `limit` characters.
pub fn too_long(loc: Value, limit: u64) -> Value {
    json!({
        "loc": loc,
        "msg": format!("ensure this value has at most {limit} characters"),
        "type": "value_error.any_str.max_length",
        "ctx": {"limit_value": limit},
    })
}

/// A validation item: a role that is neither `admin` nor `annotator`.
pub fn bad_role(loc: Value) -> Value {
    json!({
        "loc": loc,
        "msg": "value is not a valid enumeration member; permitted: 'admin', 'annotator'",
        "type": "type_error.enum",
        "ctx": {"enum_values": ["admin", "annotator"]},
    })
}

/// A validation item: a path id that is not a UUID.
pub fn bad_uuid(loc: Value) -> Value {
    json!({"loc": loc, "msg": "value is not a valid uuid", "type": "type_error.uuid"})
}

/// A validation item: a body that is not a JSON object.
pub fn not_a_dict() -> Value {
    json!({"loc": ["body"], "msg": "value is not a valid dict", "type": "type_error.dict"})
}

/// A validation item: a non-string where a string is expected.
pub fn not_a_string(loc: Value) -> Value {
    json!({"loc": loc, "msg": "str type expected", "type": "type_error.str"})
}
