//! What most tests start from: fresh users and workspaces with unique names, made through the
//! API itself with the default admin's key.

use serde_json::{Value, json};

use crate::DEFAULT_ADMIN_KEY;
use crate::target::Target;

/// `<prefix>-<8 random hex digits>`: a name no other test (or earlier run) uses, valid as a
/// username and as a workspace name.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// A random UUIDv4 that names nothing in the store.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// A user created by [`Target::create_user`], with the secrets that only creation reveals.
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub id: String,
    pub username: String,
    pub password: String,
    /// The full key, as returned once by `POST /api/users`.
    pub api_key: String,
    /// The whole `POST /api/users` answer.
    pub json: Value,
}

/// A workspace created by [`Target::create_workspace`].
#[derive(Debug, Clone)]
pub struct CreatedWorkspace {
    pub id: String,
    pub name: String,
    pub json: Value,
}

fn string_field(json: &Value, field: &str) -> String {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("expected a string `{field}` in {json}"))
        .to_string()
}

impl Target {
    /// Creates a user with role `role` (`admin` or `annotator`), a unique username and a random
    /// password, as the default admin.
    #[track_caller]
    pub fn create_user(&self, role: &str) -> CreatedUser {
        self.create_user_as(DEFAULT_ADMIN_KEY, role)
    }

    /// Like [`Target::create_user`], authenticated with `admin_key`.
    #[track_caller]
    pub fn create_user_as(&self, admin_key: &str, role: &str) -> CreatedUser {
        let username = unique("u");
        let password = unique("pw");
        let answer = self
            .post("/api/users")
            .key(admin_key)
            .json(&json!({
                "first_name": "Test",
                "last_name": "User",
                "username": username,
                "role": role,
                "password": password,
            }))
            .send();
        let json = answer.expect(200).clone();
        CreatedUser {
            id: string_field(&json, "id"),
            username,
            password,
            api_key: string_field(&json, "api_key"),
            json,
        }
    }

    /// Creates a workspace with a unique name, as the default admin.
    #[track_caller]
    pub fn create_workspace(&self) -> CreatedWorkspace {
        let name = unique("ws");
        let answer = self
            .post("/api/workspaces")
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"name": name}))
            .send();
        let json = answer.expect(200).clone();
        CreatedWorkspace {
            id: string_field(&json, "id"),
            name,
            json,
        }
    }

    /// Makes the user a member of the workspace, as the default admin; returns the User.
    #[track_caller]
    pub fn add_member(&self, workspace_id: &str, user_id: &str) -> Value {
        self.post(&format!("/api/workspaces/{workspace_id}/users/{user_id}"))
            .key(DEFAULT_ADMIN_KEY)
            .send()
            .expect(200)
            .clone()
    }

    /// Logs in with a form-encoded username and password; returns the bearer token.
    #[track_caller]
    pub fn login(&self, username: &str, password: &str) -> String {
        let answer = self
            .post("/api/security/token")
            .form(&[("username", username), ("password", password)])
            .send();
        string_field(answer.expect(200), "access_token")
    }

    /// `GET /api/me` with this key; the answer's `username`, or `None` if not 200.
    pub fn whoami_by_key(&self, key: &str) -> Option<String> {
        let answer = self.get("/api/me").key(key).send();
        (answer.status == 200).then(|| string_field(&answer.json, "username"))
    }

    /// `GET /api/me` with this bearer token; the answer's `username`, or `None` if not 200.
    pub fn whoami_by_token(&self, token: &str) -> Option<String> {
        let answer = self.get("/api/me").bearer(token).send();
        (answer.status == 200).then(|| string_field(&answer.json, "username"))
    }
}

/// The position of the element of `list` whose `field` equals `value`.
pub fn position_of(list: &Value, field: &str, value: &str) -> Option<usize> {
    list.as_array()?
        .iter()
        .position(|item| item[field].as_str() == Some(value))
}
