//! Reading and validating request input: JSON and form bodies, path ids, query parameters, and
//! the field rules of API.md section 4, producing pydantic-v1-style 422 items.

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::error::{ApiError, ApiResult, FieldError};
use crate::domain::Role;
use crate::http::Request;

pub use crate::validation::{NAME_PATTERN, is_valid_name};
use crate::validation::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};

/// Reads the body as a JSON object (API.md section 1): no `Content-Type` still means JSON; a
/// form or other non-JSON content type is `type_error.dict`; an empty body is a missing body.
pub fn json_object(req: &Request) -> ApiResult<Map<String, Value>> {
    json_body(req)?;
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(not_a_dict()),
        Err(e) => {
            let mut position = char_position(&req.body, e.line(), e.column());
            // Python's decoder points at the start of a bad literal (`nope`: 0); serde_json at
            // the character where it gave up. Back up over the literal's letters.
            while position > 0
                && req
                    .body
                    .get(position - 1)
                    .is_some_and(|b| b.is_ascii_alphanumeric())
                && req
                    .body
                    .get(position)
                    .is_none_or(|b| b.is_ascii_alphanumeric())
            {
                position -= 1;
            }
            Err(ApiError::field(
                vec![json!("body"), json!(position)],
                format!("Invalid JSON: {e}"),
                "value_error.jsondecode",
            ))
        }
    }
}

/// The checks of [`json_object`] before parsing: a JSON (or no) content type, a body that is
/// not empty. For an endpoint that parses its body its own way, and calls [`json_object`] for
/// the error when that fails.
pub fn json_body(req: &Request) -> ApiResult<()> {
    if let Some(ct) = req.header_value("content-type") {
        let ct = ct.to_ascii_lowercase();
        if !ct.trim().is_empty() && !ct.contains("json") {
            return Err(not_a_dict());
        }
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field(
            vec![json!("body")],
            "field required",
            "value_error.missing",
        ));
    }
    Ok(())
}

pub(crate) fn not_a_dict() -> ApiError {
    ApiError::field(
        vec![json!("body")],
        "value is not a valid dict",
        "type_error.dict",
    )
}

/// The 0-based byte offset of serde_json's 1-based line/column.
fn char_position(body: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in body.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column.saturating_sub(1);
        }
        offset += l.len() + 1;
    }
    offset
}

/// Reads a form-encoded body into (name, value) pairs. A JSON content type reads as no fields
/// (as FastAPI's `Form` parameters do).
pub fn form_fields(req: &Request) -> Vec<(String, String)> {
    let is_json = req
        .header_value("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if is_json {
        return Vec::new();
    }
    form_urlencoded::parse(&req.body).into_owned().collect()
}

/// Parses a path parameter as a UUID (`type_error.uuid` otherwise).
pub fn path_uuid(name: &'static str, raw: &str, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    match Uuid::try_parse(raw) {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new(
                vec![json!("path"), json!(name)],
                "value is not a valid uuid",
                "type_error.uuid",
            ));
            None
        }
    }
}

/// What [`path_id_and_body`] read: the id, the body, and the 422 items so far.
pub type PathIdAndBody = (Option<Uuid>, Option<Map<String, Value>>, Vec<FieldError>);

/// A path id and a JSON object body read together, so that a bad id and a bad body are reported
/// in one 422 (path first). The body is `None` when it could not be read (its errors are in the
/// list); other failures (none today) pass through.
pub fn path_id_and_body(name: &'static str, raw: &str, req: &Request) -> ApiResult<PathIdAndBody> {
    let mut errors = Vec::new();
    let id = path_uuid(name, raw, &mut errors);
    let body = match json_object(req) {
        Ok(body) => Some(body),
        Err(ApiError::Validation(mut e)) => {
            errors.append(&mut e);
            None
        }
        Err(other) => return Err(other),
    };
    Ok((id, body, errors))
}

/// Collects the fields of a JSON body in declaration order, recording every failure.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> Self {
        Fields {
            obj,
            errors: Vec::new(),
        }
    }

    fn loc(name: &str) -> Vec<Value> {
        vec![json!("body"), json!(name)]
    }

    fn missing(&mut self, name: &str) {
        self.errors.push(FieldError::new(
            Self::loc(name),
            "field required",
            "value_error.missing",
        ));
    }

    /// A string field: `Ok(None)` when absent or `null`. Numbers are coerced, as pydantic v1 does.
    fn raw_string(&mut self, name: &str) -> Result<Option<String>, ()> {
        match self.obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => {
                self.errors.push(FieldError::new(
                    Self::loc(name),
                    "str type expected",
                    "type_error.str",
                ));
                Err(())
            }
        }
    }

    fn length_ok(&mut self, name: &str, value: &str, min: usize, max: Option<usize>) -> bool {
        let len = value.chars().count();
        if len < min {
            self.errors.push(
                FieldError::new(
                    Self::loc(name),
                    format!("ensure this value has at least {min} characters"),
                    "value_error.any_str.min_length",
                )
                .with_ctx(json!({"limit_value": min})),
            );
            return false;
        }
        if let Some(max) = max
            && len > max
        {
            self.errors.push(
                FieldError::new(
                    Self::loc(name),
                    format!("ensure this value has at most {max} characters"),
                    "value_error.any_str.max_length",
                )
                .with_ctx(json!({"limit_value": max})),
            );
            return false;
        }
        true
    }

    /// A person's name: stripped, then at least one character.
    pub fn person_name(&mut self, name: &str, required: bool) -> Option<String> {
        match self.raw_string(name) {
            Ok(Some(s)) => {
                let s = s.trim().to_string();
                self.length_ok(name, &s, 1, None).then_some(s)
            }
            Ok(None) => {
                if required {
                    self.missing(name);
                }
                None
            }
            Err(()) => None,
        }
    }

    /// A username or workspace name (API.md section 4).
    pub fn entity_name(&mut self, name: &str) -> Option<String> {
        match self.raw_string(name) {
            Ok(Some(s)) => {
                if !self.length_ok(name, &s, 1, None) {
                    return None;
                }
                if !is_valid_name(&s) {
                    self.errors.push(
                        FieldError::new(
                            Self::loc(name),
                            format!("string does not match regex \"{NAME_PATTERN}\""),
                            "value_error.str.regex",
                        )
                        .with_ctx(json!({"pattern": NAME_PATTERN})),
                    );
                    return None;
                }
                Some(s)
            }
            Ok(None) => {
                self.missing(name);
                None
            }
            Err(()) => None,
        }
    }

    /// A role; `None` when absent (the caller picks the default).
    pub fn role(&mut self, name: &str) -> Option<Role> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if Role::parse(s).is_some() => Role::parse(s),
            Some(_) => {
                self.errors.push(
                    FieldError::new(
                        Self::loc(name),
                        "value is not a valid enumeration member; permitted: 'admin', 'annotator'",
                        "type_error.enum",
                    )
                    .with_ctx(json!({"enum_values": ["admin", "annotator"]})),
                );
                None
            }
        }
    }

    /// A password: [`PASSWORD_MIN_CHARS`] to [`PASSWORD_MAX_CHARS`] characters.
    pub fn password(&mut self, name: &str, required: bool) -> Option<String> {
        match self.raw_string(name) {
            Ok(Some(s)) => self
                .length_ok(name, &s, PASSWORD_MIN_CHARS, Some(PASSWORD_MAX_CHARS))
                .then_some(s),
            Ok(None) => {
                if required {
                    self.missing(name);
                }
                None
            }
            Err(()) => None,
        }
    }

    /// A required string of any content (e.g. the current password), at least 1 character.
    pub fn required_string(&mut self, name: &str) -> Option<String> {
        match self.raw_string(name) {
            Ok(Some(s)) if !s.is_empty() => Some(s),
            Ok(_) => {
                self.missing(name);
                None
            }
            Err(()) => None,
        }
    }

    /// An optional boolean.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.errors.push(FieldError::new(
                    Self::loc(name),
                    "value could not be parsed to a boolean",
                    "type_error.bool",
                ));
                None
            }
        }
    }

    /// Fails with every recorded error, if any.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// An optional integer query parameter within `min..=max`.
pub fn query_int(
    req: &Request,
    name: &'static str,
    default: u32,
    min: u32,
    max: u32,
    errors: &mut Vec<FieldError>,
) -> u32 {
    let raw = req.query.as_deref().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    });
    let Some(raw) = raw else { return default };
    let loc = vec![json!("query"), json!(name)];
    match raw.trim().parse::<i64>() {
        Err(_) => {
            errors.push(FieldError::new(
                loc,
                "value is not a valid integer",
                "type_error.integer",
            ));
            default
        }
        Ok(v) if v < i64::from(min) => {
            errors.push(
                FieldError::new(
                    loc,
                    format!("ensure this value is greater than or equal to {min}"),
                    "value_error.number.not_ge",
                )
                .with_ctx(json!({"limit_value": min})),
            );
            default
        }
        Ok(v) if v > i64::from(max) => {
            errors.push(
                FieldError::new(
                    loc,
                    format!("ensure this value is less than or equal to {max}"),
                    "value_error.number.not_le",
                )
                .with_ctx(json!({"limit_value": max})),
            );
            default
        }
        Ok(v) => v as u32,
    }
}
