//! Fixed times with microseconds, deterministic ids that do not sort in creation order, and
//! records built from them.

use uuid::Uuid;
use workgate_core::credentials::{ApiKeyDigest, api_key_prefix};
use workgate_core::domain::{AuditEntry, LoginFailures, NewUser, Role, User, Workspace};
use workgate_core::{FailureWindow, StoreResult, Stores, Timestamp, UserEdit};

use crate::{OrFail, Outcome};

// ---------------------------------------------------------------------------------------------
// Fixtures: fixed times with microseconds, deterministic ids that do not sort in creation order

/// 2023-11-14T22:13:20 UTC plus `n` steps of a little over a second, with microseconds, so a
/// store that drops precision or orders by id instead of time shows it.
pub(crate) fn at(n: i64) -> Timestamp {
    Timestamp::from_micros(1_700_000_000_000_000 + n * 1_000_037 + 123_457)
}

/// A v4-shaped id from `n`, scrambled so that ids do not sort in the order they were made.
pub(crate) fn id(n: u128) -> Uuid {
    let scrambled = n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ (n << 64);
    uuid::Builder::from_random_bytes(scrambled.to_be_bytes()).into_uuid()
}

pub(crate) fn user_id(n: u128) -> Uuid {
    id(0x1000 + n)
}

pub(crate) fn workspace_id(n: u128) -> Uuid {
    id(0x2000 + n)
}

/// The API key of fixture user `username`, rotation `generation`.
pub(crate) fn api_key(username: &str, generation: u32) -> String {
    format!("wg_fixture-{username}-{generation}")
}

/// A user record numbered `n` (its id and times follow from `n`).
pub(crate) fn user(n: u128, username: &str, role: Role) -> User {
    let key = api_key(username, 0);
    User {
        id: user_id(n),
        username: username.to_string(),
        first_name: format!("First {n}"),
        last_name: n.is_multiple_of(2).then(|| format!("Last {n}")),
        role,
        password_hash: format!("$argon2id$v=19$m=64,t=1,p=1$c2FsdC0{n}$aGFzaC0{username}"),
        api_key_digest: ApiKeyDigest::of(&key),
        api_key_prefix: api_key_prefix(&key),
        security_stamp: format!("stamp-{n}"),
        disabled: false,
        inserted_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

pub(crate) fn admin(n: u128, username: &str) -> User {
    user(n, username, Role::Admin)
}

pub(crate) fn annotator(n: u128, username: &str) -> User {
    user(n, username, Role::Annotator)
}

/// A workspace record numbered `n`.
pub(crate) fn workspace(n: u128, name: &str) -> Workspace {
    Workspace {
        id: workspace_id(n),
        name: name.to_string(),
        inserted_at: at(n as i64),
        updated_at: at(n as i64),
    }
}

/// `user` joining its personal workspace (record number `ws`) and then the named team
/// workspaces (records `ws + 1`, ...).
pub(crate) fn joining(user: User, ws: u128, teams: &[&str]) -> NewUser {
    let mut workspaces = vec![Workspace {
        id: workspace_id(ws),
        name: user.username.clone(),
        inserted_at: user.inserted_at,
        updated_at: user.inserted_at,
    }];
    for (i, name) in teams.iter().enumerate() {
        let mut w = workspace(ws + 1 + i as u128, name);
        w.inserted_at = user.inserted_at;
        w.updated_at = user.inserted_at;
        workspaces.push(w);
    }
    NewUser { user, workspaces }
}

pub(crate) fn audit_entry(n: u128, at: Timestamp) -> AuditEntry {
    AuditEntry {
        id: id(0x3000 + n),
        at,
        actor_id: (n % 2 == 1).then(|| user_id(n)),
        actor: if n % 2 == 1 {
            format!("user-{n}")
        } else {
            "system".to_string()
        },
        action: "workspace.member.add".to_string(),
        target_type: "Workspace".to_string(),
        target_id: workspace_id(n),
        target_name: format!("team-{n}"),
        detail: n.is_multiple_of(3).then(|| format!("detail {n} ✓")),
    }
}

pub(crate) fn names(workspaces: &[Workspace]) -> Vec<&str> {
    workspaces.iter().map(|w| w.name.as_str()).collect()
}

pub(crate) fn usernames(users: &[User]) -> Vec<&str> {
    users.iter().map(|u| u.username.as_str()).collect()
}

/// `update_user` with an edit that sets the whole record (the cases hold what they want).
pub(crate) async fn update(s: &Stores, user: User) -> StoreResult<User> {
    s.directory
        .update_user(user.id, UserEdit::replace_with(user))
        .await
}

/// `record_login_failure` at `now` with a window of `window_secs`, keeping every record since the
/// epoch (a value every host carries exactly: JSON numbers are doubles in a Worker; the
/// retention cases say otherwise).
pub(crate) async fn fail(
    s: &Stores,
    username: &str,
    now: Timestamp,
    window_secs: i64,
) -> StoreResult<LoginFailures> {
    let window = FailureWindow {
        now,
        window_secs,
        forget_before: Timestamp::from_micros(0),
    };
    s.throttle.record_login_failure(username, window).await
}

/// Creates users (each with its personal workspace), failing the case on any error.
pub(crate) async fn seed(s: &Stores, users: impl IntoIterator<Item = NewUser>) -> Outcome {
    for new in users {
        let name = new.user.username.clone();
        s.directory
            .create_user(new, None)
            .await
            .or_fail(&format!("create_user({name})"))?;
    }
    Ok(())
}

/// `value.tap(|v| ...)`: a changed copy, inline.
pub(crate) trait Tap: Sized {
    fn tap(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

impl<T> Tap for T {}
