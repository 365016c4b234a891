//! Admin tasks (API.md section 8): default-user bootstrap, `users create`,
//! `users create-default`, `users migrate` (YAML import). Hosts call these; the native command
//! line prints their outcomes in Argilla's words.

use serde::Deserialize;

use crate::credentials::{self, ApiKeyDigest};
use crate::domain::{Role, User};
use crate::store::StoreError;

use super::input::is_valid_name;
use super::schema::Credentials;
use super::users::UserDraft;
use super::{AuditTarget, Engine};

/// The well-known default credentials; while either is in use, hosts warn.
pub const DEFAULT_PASSWORD: &str = "1234";
pub const DEFAULT_API_KEY: &str = "argilla.apikey";

/// The file `users migrate` reads when none is given (Argilla's default).
pub const DEFAULT_USERS_FILE: &str = ".users.yml";

/// Why a task failed. Displays as one line, fit for a command line's stderr.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("storage failure: {0}")]
    Store(String),
}

impl From<StoreError> for TaskError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken(name) => {
                TaskError::AlreadyExists(format!("User with username {name:?} already exists"))
            }
            StoreError::WorkspaceNameTaken(name) => {
                TaskError::AlreadyExists(format!("Workspace {name:?} already exists"))
            }
            StoreError::Backend(m) => TaskError::Store(m),
            other => TaskError::Invalid(other.to_string()),
        }
    }
}

/// `users create`: what the operator gave.
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub username: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub role: Role,
    pub password: String,
    /// The key to give the user; generated when `None`.
    pub api_key: Option<String>,
    /// Team workspaces to join (created if missing) besides the personal one.
    pub workspaces: Vec<String>,
}

/// Why `users create` skips a user (Argilla's task exits 0 with a message then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateSkipped {
    /// A user of that username exists.
    UsernameTaken,
    /// A user with that API key exists.
    ApiKeyTaken,
}

/// A role as Argilla's task takes it: case-insensitive, surrounding spaces ignored.
pub fn parse_task_role(s: &str) -> Result<Role, TaskError> {
    Role::parse(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
        TaskError::Invalid(format!(
            "invalid role '{s}': expected 'admin' or 'annotator'"
        ))
    })
}

/// A created user and its key in full (shown once).
#[derive(Debug, Clone)]
pub struct CreatedUser {
    pub user: User,
    pub api_key: String,
    pub workspaces: Vec<String>,
}

/// The outcome of `users create-default`.
#[derive(Debug, Clone)]
pub enum DefaultUserOutcome {
    Created(Box<CreatedUser>),
    AlreadyExists,
}

/// One entry of Argilla's `.users.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YamlUser {
    username: String,
    hashed_password: String,
    api_key: String,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    email: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
    /// Absent: admin. Present (even empty): annotator with these team workspaces.
    #[serde(default)]
    workspaces: Option<Vec<String>>,
}

fn check_name(what: &str, name: &str) -> Result<(), TaskError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(TaskError::Invalid(format!(
            "invalid {what} {name:?}: it must match {} (lowercase letters, digits, - and _, not starting with - or _)",
            super::input::NAME_PATTERN
        )))
    }
}

fn check_password(password: &str) -> Result<(), TaskError> {
    let len = password.chars().count();
    if (8..=100).contains(&len) {
        Ok(())
    } else {
        Err(TaskError::Invalid(
            "invalid password: it must have 8 to 100 characters".into(),
        ))
    }
}

fn check_api_key(key: &str) -> Result<(), TaskError> {
    if key.trim().is_empty() || key.trim() != key {
        Err(TaskError::Invalid(
            "invalid API key: it must be non-empty, without surrounding white space".into(),
        ))
    } else {
        Ok(())
    }
}

impl Engine {
    /// Creates the default admin (API.md section 8) when the store has no users and the
    /// default user is enabled. Idempotent and safe to race: returns the user if this call
    /// created it.
    pub async fn bootstrap_default_user(&self) -> Result<Option<User>, StoreError> {
        let config = &self.config.default_user;
        if !config.enabled || self.stores.directory.has_users().await? {
            return Ok(None);
        }
        match self
            .create_default_user(Some(config.password.clone()), Some(config.api_key.clone()))
            .await
        {
            Ok(DefaultUserOutcome::Created(created)) => Ok(Some(created.user)),
            Ok(DefaultUserOutcome::AlreadyExists) => Ok(None),
            Err(TaskError::AlreadyExists(_)) => Ok(None),
            Err(TaskError::Store(m)) => Err(StoreError::Backend(m)),
            Err(TaskError::Invalid(m)) => {
                Err(StoreError::Backend(format!("default user settings: {m}")))
            }
        }
    }

    /// Work done once at a host's start rather than on some first request: computes the decoy
    /// hash that failed logins for unknown usernames verify, so the first such login takes no
    /// longer than the rest. The native server calls it at start; the Worker does not (it would
    /// cost every new isolate a password hash of CPU), so there the decoy is made lazily.
    pub async fn prepare(&self) {
        let _ = self.decoy_hash().await;
    }

    /// Whether the default admin may still have the well-known credentials, without hashing:
    /// its stored key is the well-known one, or the configured default password is. For hosts
    /// where a hash per start is too costly (Workers); it may warn for a password changed
    /// through the API while the configuration still names `1234`.
    pub async fn default_credentials_maybe_in_use(&self) -> Result<bool, StoreError> {
        let Some(user) = self
            .stores
            .directory
            .user_by_username(&self.config.default_user.username)
            .await?
        else {
            return Ok(false);
        };
        Ok(user.api_key_digest == ApiKeyDigest::of(DEFAULT_API_KEY)
            || self.config.default_user.password == DEFAULT_PASSWORD)
    }

    /// Whether the default admin still has the well-known password or key (hosts warn then).
    pub async fn default_credentials_in_use(&self) -> Result<bool, StoreError> {
        let Some(user) = self
            .stores
            .directory
            .user_by_username(&self.config.default_user.username)
            .await?
        else {
            return Ok(false);
        };
        let found = self.default_credentials_of(&user).await;
        Ok(found.default_password || found.default_api_key)
    }

    /// Which of `user`'s credentials are Argilla's well-known defaults (`1234`,
    /// `argilla.apikey`): the key by digest, the password by one hash verification. Values an
    /// operator configured for the default user (`WORKGATE_DEFAULT_USER_*`) are their own
    /// secrets and are not flagged.
    pub(crate) async fn default_credentials_of(&self, user: &User) -> Credentials {
        let default_api_key = user.api_key_digest == ApiKeyDigest::of(DEFAULT_API_KEY);
        let check = self
            .platform
            .verify_password(
                DEFAULT_PASSWORD.to_string(),
                user.password_hash.clone(),
                self.config.password_cost,
            )
            .await;
        Credentials {
            default_password: check.matches,
            default_api_key,
        }
    }

    /// `users create-default`: the default admin with the given (or configured) password and
    /// key, member of its personal workspace; nothing if that username exists.
    pub async fn create_default_user(
        &self,
        password: Option<String>,
        api_key: Option<String>,
    ) -> Result<DefaultUserOutcome, TaskError> {
        let config = &self.config.default_user;
        if self
            .stores
            .directory
            .user_by_username(&config.username)
            .await?
            .is_some()
        {
            return Ok(DefaultUserOutcome::AlreadyExists);
        }
        let password = password.unwrap_or_else(|| config.password.clone());
        let api_key = api_key.unwrap_or_else(|| config.api_key.clone());
        check_api_key(&api_key)?;
        if password.is_empty() {
            return Err(TaskError::Invalid(
                "invalid password: it must not be empty".into(),
            ));
        }
        let draft = UserDraft {
            username: config.username.clone(),
            first_name: "Argilla".into(),
            last_name: None,
            role: Role::Admin,
            password_hash: self.task_hash(&password).await?,
            api_key: api_key.clone(),
            disabled: false,
            workspaces: Vec::new(),
        };
        match self.create_with_audit(draft, api_key).await {
            Ok(created) => Ok(DefaultUserOutcome::Created(Box::new(created))),
            Err(TaskError::AlreadyExists(_)) => Ok(DefaultUserOutcome::AlreadyExists),
            Err(e) => Err(e),
        }
    }

    /// Whether `users create` skips this user, checked before anything is validated, as
    /// Argilla's task does: the username first, then the key.
    pub async fn create_user_skipped(
        &self,
        username: &str,
        api_key: Option<&str>,
    ) -> Result<Option<CreateSkipped>, TaskError> {
        let directory = &self.stores.directory;
        if directory.user_by_username(username).await?.is_some() {
            return Ok(Some(CreateSkipped::UsernameTaken));
        }
        if let Some(key) = api_key
            && directory
                .user_by_api_key(&ApiKeyDigest::of(key))
                .await?
                .is_some()
        {
            return Ok(Some(CreateSkipped::ApiKeyTaken));
        }
        Ok(None)
    }

    /// `users create`: validates like the API (plus the chosen key and team workspaces).
    pub async fn create_user_task(&self, spec: UserSpec) -> Result<CreatedUser, TaskError> {
        check_name("username", &spec.username)?;
        let first_name = spec.first_name.trim().to_string();
        if first_name.is_empty() {
            return Err(TaskError::Invalid(
                "invalid first name: it must not be empty".into(),
            ));
        }
        let last_name = spec.last_name.map(|l| l.trim().to_string());
        if last_name.as_deref() == Some("") {
            return Err(TaskError::Invalid(
                "invalid last name: it must not be empty when given".into(),
            ));
        }
        check_password(&spec.password)?;
        for w in &spec.workspaces {
            check_name("workspace name", w)?;
        }
        if let Some(key) = &spec.api_key {
            check_api_key(key)?;
            if self
                .stores
                .directory
                .user_by_api_key(&ApiKeyDigest::of(key))
                .await?
                .is_some()
            {
                return Err(TaskError::AlreadyExists(
                    "That API key is already in use by another user".into(),
                ));
            }
        }
        if self
            .stores
            .directory
            .user_by_username(&spec.username)
            .await?
            .is_some()
        {
            return Err(StoreError::UsernameTaken(spec.username).into());
        }
        let api_key = spec.api_key.unwrap_or_else(|| self.new_api_key());
        let draft = UserDraft {
            username: spec.username,
            first_name,
            last_name,
            role: spec.role,
            password_hash: self.task_hash(&spec.password).await?,
            api_key: api_key.clone(),
            disabled: false,
            workspaces: spec.workspaces,
        };
        self.create_with_audit(draft, api_key).await
    }

    /// `users migrate`: imports Argilla's `.users.yml` as one all-or-nothing unit.
    pub async fn import_users_yaml(&self, yaml: &str) -> Result<Vec<User>, TaskError> {
        let entries: Vec<YamlUser> = serde_yaml_ng::from_str(yaml).map_err(|e| {
            TaskError::Invalid(format!("invalid users file: {}", one_line(&e.to_string())))
        })?;
        let now = self.platform.now();
        let mut batch = Vec::with_capacity(entries.len());
        let mut seen_names = std::collections::HashSet::new();
        let mut seen_keys = std::collections::HashSet::new();
        for (i, entry) in entries.into_iter().enumerate() {
            let at = |m: String| {
                TaskError::Invalid(format!(
                    "users file entry {} ({:?}): {m}",
                    i + 1,
                    entry.username
                ))
            };
            check_name("username", &entry.username).map_err(|e| at(e.to_string()))?;
            if !credentials::is_supported_password_hash(&entry.hashed_password) {
                return Err(at(
                    "hashed_password is not a bcrypt ($2a$/$2b$/$2y$) or Argon2 hash".into(),
                ));
            }
            check_api_key(&entry.api_key).map_err(|e| at(e.to_string()))?;
            for w in entry.workspaces.iter().flatten() {
                check_name("workspace name", w).map_err(|e| at(e.to_string()))?;
            }
            if !seen_names.insert(entry.username.clone()) {
                return Err(at("the username appears twice in the file".into()));
            }
            let digest = ApiKeyDigest::of(&entry.api_key);
            if !seen_keys.insert(digest)
                || self
                    .stores
                    .directory
                    .user_by_api_key(&digest)
                    .await?
                    .is_some()
            {
                return Err(at("the api_key is already used by another user".into()));
            }
            if self
                .stores
                .directory
                .user_by_username(&entry.username)
                .await?
                .is_some()
            {
                return Err(TaskError::AlreadyExists(format!(
                    "User with username {:?} already exists",
                    entry.username
                )));
            }
            let (first_name, last_name) =
                split_full_name(entry.full_name.as_deref(), &entry.username);
            let draft = UserDraft {
                role: if entry.workspaces.is_none() {
                    Role::Admin
                } else {
                    Role::Annotator
                },
                username: entry.username,
                first_name,
                last_name,
                password_hash: entry.hashed_password,
                api_key: entry.api_key,
                disabled: entry.disabled.unwrap_or(false),
                workspaces: entry.workspaces.unwrap_or_default(),
            };
            batch.push(self.new_user(draft, now));
        }
        let entries = batch
            .iter()
            .map(|new| {
                self.audit_entry(
                    None,
                    "user.create",
                    AuditTarget::User(&new.user),
                    Some("users migrate".into()),
                )
            })
            .collect();
        Ok(self.stores.directory.create_users(batch, entries).await?)
    }

    async fn task_hash(&self, password: &str) -> Result<String, TaskError> {
        self.hash(password)
            .await
            .map_err(|_| TaskError::Store("could not hash the password".into()))
    }

    async fn create_with_audit(
        &self,
        draft: UserDraft,
        api_key: String,
    ) -> Result<CreatedUser, TaskError> {
        let new = self.new_user(draft, self.platform.now());
        let workspaces = new.workspaces.iter().map(|w| w.name.clone()).collect();
        let entry = self.audit_entry(
            None,
            "user.create",
            AuditTarget::User(&new.user),
            Some(format!("role={}", new.user.role)),
        );
        let user = self.stores.directory.create_user(new, Some(entry)).await?;
        Ok(CreatedUser {
            user,
            api_key,
            workspaces,
        })
    }
}

/// Argilla's YAML has one `full_name`; workgate keeps first and last names. The first word is
/// the first name and the rest the last name; no name at all falls back to the username.
fn split_full_name(full_name: Option<&str>, username: &str) -> (String, Option<String>) {
    let full = full_name
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or(username);
    match full.split_once(char::is_whitespace) {
        Some((first, rest)) if !rest.trim().is_empty() => {
            (first.to_string(), Some(rest.trim().to_string()))
        }
        _ => (full.to_string(), None),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
