//! The domain: roles, users, workspaces, memberships and audit entries, as the stores keep them.
//!
//! These are storage records, not wire types: the JSON shapes of API.md section 6 live in
//! `engine::schema` and are built from these.

use serde::{Deserialize, Serialize};

/// A user's role (API.md section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    /// The default role of new users.
    #[default]
    Annotator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Annotator => "annotator",
        }
    }

    /// Parses the exact, case-sensitive role name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "annotator" => Some(Role::Annotator),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(feature = "engine")]
pub use records::*;

#[cfg(feature = "engine")]
mod records {
    use super::Role;
    use crate::credentials::ApiKeyDigest;
    use crate::timestamp::Timestamp;
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    /// A stored user account. Its `Debug` form hides the password hash and security stamp.
    #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct User {
        pub id: Uuid,
        pub username: String,
        pub first_name: String,
        pub last_name: Option<String>,
        pub role: Role,
        /// PHC string (`$argon2id$...`) or an imported bcrypt hash (`$2b$...`).
        pub password_hash: String,
        /// SHA-256 of the API key; the key itself is never stored.
        pub api_key_digest: ApiKeyDigest,
        /// The key's first characters, for the masked form shown to others (API.md 9.2).
        pub api_key_prefix: String,
        /// Changes whenever the password changes; bearer tokens carry it, so a password change
        /// invalidates every token issued before.
        pub security_stamp: String,
        /// A disabled user cannot authenticate by any means.
        pub disabled: bool,
        pub inserted_at: Timestamp,
        pub updated_at: Timestamp,
    }

    impl std::fmt::Debug for User {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("User")
                .field("id", &self.id)
                .field("username", &self.username)
                .field("role", &self.role)
                .field("disabled", &self.disabled)
                .field("api_key_prefix", &self.api_key_prefix)
                .finish_non_exhaustive()
        }
    }

    impl User {
        pub fn full_name(&self) -> String {
            match &self.last_name {
                Some(last) => format!("{} {}", self.first_name, last),
                None => self.first_name.clone(),
            }
        }

        /// Whether this user counts towards the "at least one admin" rule.
        pub fn is_active_admin(&self) -> bool {
            self.role == Role::Admin && !self.disabled
        }
    }

    /// A stored workspace. A user's personal workspace is the one named after its username.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Workspace {
        pub id: Uuid,
        pub name: String,
        pub inserted_at: Timestamp,
        pub updated_at: Timestamp,
    }

    /// A new user together with the workspaces it joins at creation: its personal workspace
    /// first, then any team workspaces. Each workspace is joined if one of that name exists,
    /// and created (with the given record's id and times) otherwise.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct NewUser {
        pub user: User,
        pub workspaces: Vec<Workspace>,
    }

    /// One line of the append-only audit log: who changed what.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct AuditEntry {
        pub id: Uuid,
        pub at: Timestamp,
        /// The acting user, or `None` for tasks run by the host (bootstrap, command line).
        pub actor_id: Option<Uuid>,
        pub actor: String,
        /// e.g. `user.create`, `workspace.member.add`.
        pub action: String,
        /// `User` or `Workspace`.
        pub target_type: String,
        pub target_id: Uuid,
        pub target_name: String,
        /// A short non-secret detail (e.g. the new role), if any.
        pub detail: Option<String>,
    }

    /// Failed-login bookkeeping for one username (API.md 9.6).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct LoginFailures {
        /// Consecutive failures inside the current window.
        pub count: u32,
        /// When the first failure of the window happened.
        pub first_at: Option<Timestamp>,
        /// When the last failure happened.
        pub last_at: Option<Timestamp>,
    }

    impl LoginFailures {
        /// The record after one more failure at `now` (see `Store::record_login_failure`):
        /// a window older than `window_secs` starts over. Every store counts with this.
        pub fn after_failure(self, now: Timestamp, window_secs: i64) -> LoginFailures {
            let window_open = self.first_at.is_some_and(|first| {
                now.micros() - first.micros() < window_secs.saturating_mul(1_000_000)
            });
            if window_open {
                LoginFailures {
                    count: self.count.saturating_add(1),
                    first_at: self.first_at,
                    last_at: Some(now),
                }
            } else {
                LoginFailures {
                    count: 1,
                    first_at: Some(now),
                    last_at: Some(now),
                }
            }
        }
    }
}
