//! The invariants every store keeps, each written once as a pure function over what the store
//! read inside its atomic section. Stores call these and keep no rule of their own (see
//! `store`); each rule has a planted-bug case in `core/tests/store_suite_catches_faults.rs`
//! that the store suite catches on every store.

use crate::domain::{LoginFailures, User, Workspace};
use crate::engine::ThrottlePolicy;
use crate::store::{FailureWindow, StoreError, StoreResult};
use crate::timestamp::Timestamp;

/// Whether `user` counts towards the "at least one enabled admin" rule.
pub fn counts_as_admin(user: &User) -> bool {
    user.is_active_admin()
}

/// Whether changing `before` into `after` (`None`: deleting it) takes an enabled admin away —
/// then, and only then, a store must count the enabled admins for [`an_admin_remains`].
pub fn takes_an_admin_away(before: &User, after: Option<&User>) -> bool {
    counts_as_admin(before) && !after.is_some_and(counts_as_admin)
}

/// The last-admin rule (API.md 9.8): a change may not leave the store without an enabled admin.
/// `enabled_admins` is the number of enabled admins before the change, `before` included; a
/// store only needs to count them when [`takes_an_admin_away`].
pub fn an_admin_remains(
    before: &User,
    after: Option<&User>,
    enabled_admins: u64,
) -> StoreResult<()> {
    if takes_an_admin_away(before, after) {
        return an_admin_may_go(enabled_admins);
    }
    Ok(())
}

/// The last-admin rule for a store that tracks only the set of enabled admins (the Worker's
/// `Registry`): one of `enabled_admins` may stop being one only if another remains.
pub fn an_admin_may_go(enabled_admins: u64) -> StoreResult<()> {
    if enabled_admins <= 1 {
        return Err(StoreError::LastAdmin);
    }
    Ok(())
}

/// The personal-workspace rule (API.md section 7): a new user joins its personal workspace —
/// the one named after its username — first, then the team workspaces asked for, each once.
/// Every entry is joined if a workspace of that name exists and created from the record
/// otherwise; `new_workspace` makes the record (id and times) for a name.
pub fn workspaces_joined_at_creation(
    username: &str,
    team: Vec<String>,
    mut new_workspace: impl FnMut(String) -> Workspace,
) -> Vec<Workspace> {
    let mut names = vec![username.to_string()];
    for name in team {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.into_iter().map(&mut new_workspace).collect()
}

/// Throttle retention: what a store is told when it counts a failure at `now` under `policy`.
/// A record matters while its window is open (from its first failure, for `window_secs`) and
/// while it can still lock (from its last failure, for at most `max_lockout_secs`); after both,
/// it may go.
pub fn failure_window(now: Timestamp, policy: &ThrottlePolicy) -> FailureWindow {
    let keep_secs = policy.window_secs.max(policy.max_lockout_secs).max(0);
    FailureWindow {
        now,
        window_secs: policy.window_secs,
        forget_before: now.plus_secs(keep_secs.saturating_neg()),
    }
}

/// Whether a stored failure record may be forgotten (see [`failure_window`]).
pub fn failures_forgettable(record: &LoginFailures, window: &FailureWindow) -> bool {
    record
        .last_at
        .is_none_or(|last| last < window.forget_before)
}

/// The record a store keeps after one more failure: a forgettable record counts as none (so
/// retention is the same rule whether the store has deleted it yet or not), then
/// [`LoginFailures::after_failure`].
pub fn next_failures(current: LoginFailures, window: &FailureWindow) -> LoginFailures {
    let kept = if failures_forgettable(&current, window) {
        LoginFailures::default()
    } else {
        current
    };
    kept.after_failure(window.now, window.window_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::ApiKeyDigest;
    use crate::domain::Role;
    use uuid::Uuid;

    fn user(role: Role, disabled: bool) -> User {
        User {
            id: Uuid::nil(),
            username: "u".into(),
            first_name: "U".into(),
            last_name: None,
            role,
            password_hash: String::new(),
            api_key_digest: ApiKeyDigest([0; 32]),
            api_key_prefix: String::new(),
            security_stamp: String::new(),
            disabled,
            inserted_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn the_last_enabled_admin_stays() {
        let admin = user(Role::Admin, false);
        let demoted = user(Role::Annotator, false);
        let disabled = user(Role::Admin, true);
        for after in [Some(&demoted), Some(&disabled), None] {
            assert_eq!(
                an_admin_remains(&admin, after, 1),
                Err(StoreError::LastAdmin)
            );
            assert_eq!(an_admin_remains(&admin, after, 2), Ok(()));
        }
        assert_eq!(an_admin_remains(&admin, Some(&admin), 1), Ok(()));
        assert_eq!(an_admin_remains(&demoted, None, 0), Ok(()));
        assert!(!takes_an_admin_away(&disabled, None));
    }

    #[test]
    fn personal_workspace_first_and_each_once() {
        let ws = workspaces_joined_at_creation(
            "ann",
            vec!["team".into(), "ann".into(), "team".into()],
            |name| Workspace {
                id: Uuid::nil(),
                name,
                inserted_at: Timestamp(0),
                updated_at: Timestamp(0),
            },
        );
        let names: Vec<_> = ws.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["ann", "team"]);
    }

    #[test]
    fn retention_covers_window_and_lockout() {
        let policy = ThrottlePolicy {
            window_secs: 60,
            max_lockout_secs: 600,
            ..ThrottlePolicy::default()
        };
        let now = Timestamp::from_secs(10_000);
        let w = failure_window(now, &policy);
        assert_eq!(w.forget_before, Timestamp::from_secs(9_400));
        let rec = |last| LoginFailures {
            count: 9,
            first_at: Some(Timestamp::from_secs(last)),
            last_at: Some(Timestamp::from_secs(last)),
        };
        assert!(failures_forgettable(&rec(9_399), &w));
        assert!(!failures_forgettable(&rec(9_400), &w));
    }
}
