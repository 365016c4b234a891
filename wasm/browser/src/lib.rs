//! # workgate-browser
//!
//! workgate's access model and field rules for JavaScript (browser and Node), as a wasm-bindgen
//! package. It binds `workgate_core::access` and `workgate_core::validation` and adds no rule of
//! its own: a control that the web app hides is exactly an operation the server refuses, because
//! both ask the same [`workgate_core::can`]; a name or password a form refuses is exactly one the
//! server would answer 422 for, because both ask the same `workgate_core::validation`.
//!
//! ```js
//! import init, { Subject, actions } from "workgate-browser";
//! await init();                                   // loads the wasm (a no-op in Node)
//! const me = new Subject(await (await fetch("/api/me", {headers})).json());
//! me.can("createUser");                           // instance-level: no resource
//! me.can("readWorkspace", { workspace: "team" });
//! me.can("rotateApiKey", { user: me.username });
//! me.can("copyDataset", { from: "a", to: "b" });
//! me.can("deleteDataset", { workspace: "team", createdBy: "ann" }); // its creator, or admins
//! me.workspaces();                                // names it can access
//! me.workspaceActions("team");                    // e.g. ["readWorkspace", "listDatasets", ...]
//! isValidName("team-1");                          // the username / workspace name rule
//! isValidPasswordLength(password);                // passwordLength() is {min, max}
//! ```
//!
//! Bad input (an unknown action, a resource of the wrong kind, a malformed user) throws an
//! `Error` with a sentence saying what was expected; nothing here panics on input.
//!
//! [`input`] does the translation in plain Rust, so the host-side parity test
//! (`tests/decisions.rs`) exercises the same paths as the wasm build.

pub mod input;

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use workgate_core::access::Action;
use workgate_core::validation;

use crate::input::{Arg, InputError, MeSubject, Value};

/// The TypeScript types of the API (`Action`, `Role`, `User`, `DatasetResource`, `Resource`,
/// `PasswordLength`), emitted into the package's `.d.ts`. The tests check them against core:
/// `Action` lists exactly `actions()`, `Role` core's roles, and `PasswordLength` is what
/// `passwordLength()` answers.
#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");

/// The TypeScript declarations above, for tests.
pub const TYPESCRIPT_TYPES: &str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// A resource object as JavaScript passes it. Its fields are read with plain property
    /// gets: one boundary crossing each, and no key string to pass. A getter that throws
    /// reads as a non-string.
    type JsResource;

    #[wasm_bindgen(method, getter, structural, catch)]
    fn workspace(this: &JsResource) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, structural, catch)]
    fn user(this: &JsResource) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, structural, catch)]
    fn from(this: &JsResource) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, structural, catch)]
    fn to(this: &JsResource) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter = createdBy, structural, catch)]
    fn created_by(this: &JsResource) -> Result<JsValue, JsValue>;
}

fn js_error(e: InputError) -> JsError {
    JsError::new(&e.0)
}

/// What a JS value is, as far as [`input`] cares.
fn value_of(v: JsValue) -> Value {
    if v.is_undefined() {
        return Value::Absent;
    }
    if v.is_null() {
        return Value::Null;
    }
    if let Some(s) = v.as_string() {
        return Value::Text(s);
    }
    if Array::is_array(&v) {
        let items: Option<Vec<String>> = Array::from(&v).iter().map(|i| i.as_string()).collect();
        return items.map_or(Value::Other, Value::Texts);
    }
    Value::Other
}

/// Classifies a JS value given where an object is expected, with `get` reading its fields. A
/// field whose getter throws reads as [`Value::Other`] (never as missing or `null`).
fn arg_of<'a, F>(value: &'a JsValue, get: F) -> Arg<impl Fn(&'static str) -> Value + 'a>
where
    F: Fn(&'a JsValue, &'static str) -> Result<JsValue, JsValue> + 'a,
{
    if value.is_undefined() || value.is_null() {
        Arg::Absent
    } else if !value.is_object() || Array::is_array(value) {
        Arg::NotAnObject
    } else {
        Arg::Object(move |key| get(value, key).map_or(Value::Other, value_of))
    }
}

/// A resource argument: `{workspace}`, `{workspace, createdBy}`, `{user}`, `{from, to}`, or
/// nothing.
fn resource_arg(value: &JsValue) -> Arg<impl Fn(&'static str) -> Value + '_> {
    arg_of(value, |value, key| {
        let object: &JsResource = value.unchecked_ref();
        match key {
            "workspace" => object.workspace(),
            "user" => object.user(),
            "from" => object.from(),
            "to" => object.to(),
            "createdBy" => object.created_by(),
            _ => Ok(JsValue::UNDEFINED),
        }
    })
}

fn action_names(actions: impl IntoIterator<Item = Action>) -> Array {
    actions
        .into_iter()
        .map(|a| JsValue::from_str(a.name()))
        .collect()
}

/// The names of every action, in a stable order.
#[wasm_bindgen(unchecked_return_type = "Action[]")]
pub fn actions() -> Array {
    action_names(Action::ALL)
}

/// Whether `name` is a valid username or workspace name: it matches `namePattern()` as a whole
/// (API.md section 4). Throws if `name` is not a string.
#[wasm_bindgen(js_name = isValidName)]
pub fn is_valid_name(
    #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
) -> Result<bool, JsError> {
    let name = input::read_text(value_of(name), "isValidName(name): the name").map_err(js_error)?;
    Ok(validation::is_valid_name(&name))
}

/// Whether `password` has an accepted length, `passwordLength()` `min` to `max` characters
/// (Unicode code points, as the server counts them, not UTF-16 units). Throws if `password`
/// is not a string.
#[wasm_bindgen(js_name = isValidPasswordLength)]
pub fn is_valid_password_length(
    #[wasm_bindgen(unchecked_param_type = "string")] password: JsValue,
) -> Result<bool, JsError> {
    let password = input::read_text(
        value_of(password),
        "isValidPasswordLength(password): the password",
    )
    .map_err(js_error)?;
    Ok(validation::is_valid_password_length(&password))
}

/// The name rule shared by usernames and workspace names, as the regular expression that the
/// server quotes in its 422 answers (`"^(?!-|_)[a-z0-9-_]+$"`). `new RegExp(namePattern())`
/// tests what `isValidName` answers.
#[wasm_bindgen(js_name = namePattern)]
pub fn name_pattern() -> String {
    validation::NAME_PATTERN.to_string()
}

/// The accepted password length in characters, `{min, max}` (both inclusive).
#[wasm_bindgen(js_name = passwordLength, unchecked_return_type = "PasswordLength")]
pub fn password_length() -> JsValue {
    let length = js_sys::Object::new();
    for (key, value) in [
        ("min", validation::PASSWORD_MIN_CHARS),
        ("max", validation::PASSWORD_MAX_CHARS),
    ] {
        // Setting a field of a fresh plain object cannot fail.
        let _ = Reflect::set(
            &length,
            &JsValue::from_str(key),
            &JsValue::from(value as u32),
        );
    }
    length.into()
}

/// The signed-in user as the access model sees it, built from the `GET /api/me` JSON.
#[wasm_bindgen]
pub struct Subject {
    inner: MeSubject,
}

#[wasm_bindgen]
impl Subject {
    /// Builds the subject from the User JSON of `GET /api/me` (the parsed object, as
    /// `response.json()` returns it). Throws if it is not one.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "User")] user: JsValue,
    ) -> Result<Subject, JsError> {
        let arg = arg_of(&user, |value, key| {
            Reflect::get(value, &JsValue::from_str(key))
        });
        let inner = input::read_user(arg).map_err(js_error)?;
        Ok(Subject { inner })
    }

    /// The subject's username (also the name of its personal workspace).
    #[wasm_bindgen(getter)]
    pub fn username(&self) -> String {
        self.inner.subject.username.clone()
    }

    /// `"admin"` or `"annotator"`.
    #[wasm_bindgen(getter, unchecked_return_type = "Role")]
    pub fn role(&self) -> String {
        self.inner.subject.role.as_str().to_string()
    }

    /// Whether the subject is an admin.
    #[wasm_bindgen(getter, js_name = isAdmin)]
    pub fn is_admin(&self) -> bool {
        self.inner.subject.is_admin()
    }

    /// May the subject take `action` on `resource`? Instance-level actions take no resource.
    /// Throws on an unknown action or a resource of the wrong shape.
    pub fn can(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Action")] action: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Resource")] resource: JsValue,
    ) -> Result<bool, JsError> {
        let action = input::parse_action(action.as_string().as_deref()).map_err(js_error)?;
        let resource = input::read_resource(action, resource_arg(&resource)).map_err(js_error)?;
        Ok(workgate_core::can(
            &self.inner.subject,
            action,
            &resource.as_resource(),
        ))
    }

    /// The actions the subject may take on `resource` (those of the kind that fits it; with no
    /// resource, the instance-level ones), in the order of `actions()`.
    #[wasm_bindgen(js_name = allowedActions, unchecked_return_type = "Action[]")]
    pub fn allowed_actions(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Resource")] resource: JsValue,
    ) -> Result<Array, JsError> {
        let resource = input::read_any_resource(resource_arg(&resource)).map_err(js_error)?;
        Ok(action_names(input::allowed_actions(
            &self.inner.subject,
            &resource,
        )))
    }

    /// The actions the subject may take on the workspace `name` and its datasets.
    #[wasm_bindgen(js_name = workspaceActions, unchecked_return_type = "Action[]")]
    pub fn workspace_actions(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> Result<Array, JsError> {
        let name = name.as_string().ok_or_else(|| {
            js_error(InputError(
                "workspaceActions(name): the name must be a string".into(),
            ))
        })?;
        Ok(action_names(input::allowed_actions(
            &self.inner.subject,
            &input::OwnedResource::Workspace(name),
        )))
    }

    /// The workspace names the subject can access: among `candidates` if given (say, the
    /// names of `GET /api/workspaces`), else among its own `workspaces`; in the order given.
    #[wasm_bindgen(unchecked_return_type = "string[]")]
    pub fn workspaces(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "string[]")] candidates: JsValue,
    ) -> Result<Array, JsError> {
        let accessible = if candidates.is_undefined() || candidates.is_null() {
            input::accessible_workspaces(&self.inner.subject, &self.inner.workspaces)
        } else {
            let Value::Texts(names) = value_of(candidates) else {
                return Err(js_error(InputError(
                    "workspaces(candidates): candidates must be an array of names".into(),
                )));
            };
            input::accessible_workspaces(&self.inner.subject, &names)
        };
        Ok(accessible.into_iter().map(JsValue::from).collect())
    }
}
