//! From what JavaScript hands over to the types of `workgate_core::access`.
//!
//! Nothing here decides anything: it parses action names, reads the resource object an action
//! needs, and builds a [`Subject`] from the `GET /api/me` User JSON. Every malformed input
//! becomes an [`InputError`] whose sentence becomes the message of the JavaScript `Error`.
//! The strings handed to `workgate_core::validation` are read here too ([`read_text`]).
//!
//! The functions are plain Rust, generic over how an object's fields are read ([`Arg`]): the
//! wasm build reads JS values, the host-side parity test (`tests/decisions.rs`) reads
//! `serde_json` values, and both go through the same code and produce the same messages.

use workgate_core::access::{Action, Resource, ResourceKind, Subject};
use workgate_core::domain::Role;

/// Input that cannot be turned into a question for the access model; becomes a JS `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

fn error(message: impl Into<String>) -> InputError {
    InputError(message.into())
}

/// One field of an argument object, as far as these bindings care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Missing, or `undefined`.
    Absent,
    /// `null`.
    Null,
    /// A string.
    Text(String),
    /// An array whose items are all strings.
    Texts(Vec<String>),
    /// Anything else (a number, an object, an array with a non-string item, a field whose
    /// getter threw...).
    Other,
}

/// An argument that should be an object, with a way to read its fields by name.
pub enum Arg<F> {
    /// `undefined` or `null`.
    Absent,
    /// Not a plain object: a string, a number, an array...
    NotAnObject,
    /// An object; `F` reads the field of that name.
    Object(F),
}

/// Parses a camelCase action name such as `"readWorkspace"` (`None`: not a string).
pub fn parse_action(name: Option<&str>) -> Result<Action, InputError> {
    let Some(name) = name else {
        return Err(error(
            "the action must be a string, one of the names actions() lists",
        ));
    };
    Action::from_name(name).ok_or_else(|| {
        error(format!(
            "unknown action {name:?}; actions() lists the valid names"
        ))
    })
}

/// Reads a string argument; anything else is an error naming the call and the argument,
/// e.g. `"isValidName(name): the name must be a string"`.
pub fn read_text(value: Value, argument: &str) -> Result<String, InputError> {
    match value {
        Value::Text(s) => Ok(s),
        _ => Err(error(format!("{argument} must be a string"))),
    }
}

/// A resource with owned names; [`OwnedResource::as_resource`] lends it to [`workgate_core::can`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedResource {
    Instance,
    Workspace(String),
    User(String),
    DatasetCopy {
        from: String,
        to: String,
    },
    /// A dataset: its workspace and creator (`None` when unknown).
    Dataset {
        workspace: String,
        created_by: Option<String>,
    },
}

impl OwnedResource {
    pub fn as_resource(&self) -> Resource<'_> {
        match self {
            OwnedResource::Instance => Resource::Instance,
            OwnedResource::Workspace(name) => Resource::Workspace(name),
            OwnedResource::User(name) => Resource::User(name),
            OwnedResource::DatasetCopy { from, to } => Resource::DatasetCopy { from, to },
            OwnedResource::Dataset {
                workspace,
                created_by,
            } => Resource::Dataset {
                workspace,
                created_by: created_by.as_deref(),
            },
        }
    }
}

/// How the resource of an action of this kind is written in JavaScript, for error messages.
fn expected_shape(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::Instance => "no resource",
        ResourceKind::Workspace => "a resource {workspace: \"<name>\"}",
        ResourceKind::User => "a resource {user: \"<username>\"}",
        ResourceKind::DatasetCopy => "a resource {from: \"<workspace>\", to: \"<workspace>\"}",
        ResourceKind::Dataset => {
            "a resource {workspace: \"<name>\", createdBy: \"<username>\"} (createdBy may be null)"
        }
    }
}

/// Reads the resource that `action` applies to. Only the fields of the action's resource kind
/// are read (that keeps a call cheap, and extra fields are ignored); a missing or non-string
/// field, or a resource given to an instance-level action, is an error saying what the action
/// takes. A dataset's `createdBy` may be missing or `null` (the creator is unknown: only admins
/// are allowed).
pub fn read_resource<F>(action: Action, arg: Arg<F>) -> Result<OwnedResource, InputError>
where
    F: Fn(&'static str) -> Value,
{
    let kind = action.resource_kind();
    let field = match arg {
        Arg::Absent if kind == ResourceKind::Instance => return Ok(OwnedResource::Instance),
        Arg::Object(field) if kind != ResourceKind::Instance => field,
        _ => return Err(error(format!("{action} takes {}", expected_shape(kind)))),
    };
    let text = |key: &'static str| match field(key) {
        Value::Text(s) => Ok(s),
        _ => Err(error(format!(
            "{action} takes {}; `{key}` is missing or not a string",
            expected_shape(kind)
        ))),
    };
    Ok(match kind {
        ResourceKind::Instance => OwnedResource::Instance,
        ResourceKind::Workspace => OwnedResource::Workspace(text("workspace")?),
        ResourceKind::User => OwnedResource::User(text("user")?),
        ResourceKind::DatasetCopy => OwnedResource::DatasetCopy {
            from: text("from")?,
            to: text("to")?,
        },
        ResourceKind::Dataset => OwnedResource::Dataset {
            workspace: text("workspace")?,
            created_by: match field("createdBy") {
                Value::Text(s) => Some(s),
                // Missing or `null`: the creator is unknown.
                Value::Absent | Value::Null => None,
                _ => {
                    return Err(error(format!(
                        "{action} takes {}; `createdBy` is neither a string nor null",
                        expected_shape(kind)
                    )));
                }
            },
        },
    })
}

/// Reads a resource of whichever kind its fields say, `{workspace}`, `{workspace, createdBy}`
/// (a dataset: `createdBy` present, a username or `null` for unknown), `{user}` or `{from, to}`
/// (no resource: the instance), to list the actions allowed on it.
pub fn read_any_resource<F>(arg: Arg<F>) -> Result<OwnedResource, InputError>
where
    F: Fn(&'static str) -> Value,
{
    let field = match arg {
        Arg::Absent => return Ok(OwnedResource::Instance),
        Arg::NotAnObject => None,
        Arg::Object(field) => Some(field),
    };
    let read = |key| field.as_ref().map_or(Value::Absent, |field| field(key));
    let text = |key| match read(key) {
        Value::Text(s) => Some(s),
        _ => None,
    };
    let shapes = "a resource is one of {workspace}, {workspace, createdBy}, {user} or {from, to}, \
                  with string values (createdBy may be null)";
    match (text("workspace"), text("user"), text("from"), text("to")) {
        (Some(workspace), None, None, None) => match read("createdBy") {
            Value::Absent => Ok(OwnedResource::Workspace(workspace)),
            Value::Null => Ok(OwnedResource::Dataset {
                workspace,
                created_by: None,
            }),
            Value::Text(created_by) => Ok(OwnedResource::Dataset {
                workspace,
                created_by: Some(created_by),
            }),
            Value::Texts(_) | Value::Other => Err(error(shapes)),
        },
        (None, Some(u), None, None) => Ok(OwnedResource::User(u)),
        (None, None, Some(from), Some(to)) => Ok(OwnedResource::DatasetCopy { from, to }),
        _ => Err(error(shapes)),
    }
}

/// The start of every error about the user argument.
pub const USER_ERROR: &str =
    "expected the User JSON of GET /api/me, an object {username, role, workspaces, ...}";

/// A subject as the access model sees it, plus the workspace names in the order `GET /api/me`
/// gave them (membership time), for listing.
#[derive(Debug, Clone)]
pub struct MeSubject {
    pub subject: Subject,
    pub workspaces: Vec<String>,
}

/// Builds the subject from the User JSON of `GET /api/me`. Only `username`, `role` and
/// `workspaces` are read; the other fields are ignored.
pub fn read_user<F>(arg: Arg<F>) -> Result<MeSubject, InputError>
where
    F: Fn(&'static str) -> Value,
{
    let Arg::Object(field) = arg else {
        return Err(error(USER_ERROR));
    };
    let username = match field("username") {
        Value::Text(s) if !s.is_empty() => s,
        _ => {
            return Err(error(format!(
                "{USER_ERROR}: `username` is missing or not a non-empty string"
            )));
        }
    };
    let role = match field("role") {
        Value::Text(s) => Role::parse(&s).ok_or_else(|| {
            error(format!(
                "{USER_ERROR}: unknown role {s:?}; expected \"admin\" or \"annotator\""
            ))
        })?,
        _ => {
            return Err(error(format!(
                "{USER_ERROR}: `role` is missing or not a string"
            )));
        }
    };
    let workspaces = match field("workspaces") {
        Value::Texts(names) => names,
        _ => {
            return Err(error(format!(
                "{USER_ERROR}: `workspaces` is missing or not an array of names"
            )));
        }
    };
    Ok(MeSubject {
        subject: Subject::new(username, role, workspaces.iter().cloned()),
        workspaces,
    })
}

/// The actions of the kind that fits `resource` which the subject may take on it, in
/// `Action::ALL` order: what a page shows controls for.
pub fn allowed_actions(subject: &Subject, resource: &OwnedResource) -> Vec<Action> {
    workgate_core::access::allowed_actions(subject, &resource.as_resource())
}

/// The names among `candidates` whose workspace the subject may read, in the given order.
pub fn accessible_workspaces(subject: &Subject, candidates: &[String]) -> Vec<String> {
    workgate_core::access::accessible_workspaces(subject, candidates.iter().map(String::as_str))
        .into_iter()
        .map(str::to_string)
        .collect()
}
