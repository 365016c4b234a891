//! Cases that start many operations on one store at once and join them: what a store's atomic
//! sections are for. On a store whose operations really interleave (SQLite's blocking pool, KV
//! and Durable Objects in workerd, PostgreSQL) they race for real; the racy faults of
//! [`crate::faults`] show that each case catches a store that checks outside its atomic
//! section, on any store.

use futures_util::future::join_all;
use workgate_core::domain::User;
use workgate_core::{StoreError, Stores, UserEdit, rules};

use crate::fixtures::*;
use crate::{OrFail, Outcome};

/// How many results are `Ok`, and whether every other one is `expected`.
fn tally<T>(
    results: &[Result<T, StoreError>],
    expected: impl Fn(&StoreError) -> bool,
) -> Result<usize, String> {
    let mut ok = 0;
    for r in results {
        match r {
            Ok(_) => ok += 1,
            Err(e) if expected(e) => {}
            Err(e) => return Err(format!("unexpected error {e:?}")),
        }
    }
    Ok(ok)
}

pub(crate) async fn fifty_creates_of_one_username_make_one_user(s: &Stores) -> Outcome {
    let creates = (0..50u128).map(|n| {
        let mut new = joining(annotator(100 + n, "contested"), 1000 + n * 2, &[]);
        // Each attempt its own key, so only the username collides.
        let key = api_key("contested", n as u32);
        new.user.api_key_digest = workgate_core::credentials::ApiKeyDigest::of(&key);
        s.directory.create_user(new, None)
    });
    let results = join_all(creates).await;
    let created = tally(&results, |e| matches!(e, StoreError::UsernameTaken(_)))?;
    ensure_eq!(created, 1, "creates that succeeded");
    let users = s.directory.users().await.or_fail("users")?;
    ensure_eq!(usernames(&users), vec!["contested"]);
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    let winner = results.iter().find_map(|r| r.as_ref().ok()).cloned();
    ensure_eq!(
        s.directory
            .user_by_username("contested")
            .await
            .or_fail("user_by_username")?,
        winner,
        "the stored user is the one whose create succeeded"
    );
    Ok(())
}

async fn enabled_admins(s: &Stores) -> Result<Vec<User>, String> {
    Ok(s.directory
        .users()
        .await
        .or_fail("users")?
        .into_iter()
        .filter(rules::counts_as_admin)
        .collect())
}

pub(crate) async fn parallel_demotions_of_the_last_two_admins_leave_one(s: &Stores) -> Outcome {
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(admin(2, "boss"), 20, &[]),
            joining(annotator(3, "ann"), 30, &[]),
        ],
    )
    .await?;
    let demote = |n| {
        let mut u = admin(n, if n == 1 { "root" } else { "boss" });
        u.role = workgate_core::Role::Annotator;
        update(s, u)
    };
    let results = join_all([demote(1), demote(2)]).await;
    let demoted = tally(&results, |e| *e == StoreError::LastAdmin)?;
    ensure_eq!(demoted, 1, "demotions that succeeded");
    ensure_eq!(enabled_admins(s).await?.len(), 1, "enabled admins left");
    Ok(())
}

pub(crate) async fn parallel_deletions_of_the_last_two_admins_leave_one(s: &Stores) -> Outcome {
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(admin(2, "boss"), 20, &[]),
        ],
    )
    .await?;
    let results = join_all([
        s.directory.delete_user(user_id(1), None),
        s.directory.delete_user(user_id(2), None),
    ])
    .await;
    let deleted = tally(&results, |e| *e == StoreError::LastAdmin)?;
    ensure_eq!(deleted, 1, "deletions that succeeded");
    ensure_eq!(enabled_admins(s).await?.len(), 1, "enabled admins left");
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    Ok(())
}

pub(crate) async fn parallel_adds_of_one_membership_make_one(s: &Stores) -> Outcome {
    seed(s, [joining(annotator(1, "ann"), 10, &[])]).await?;
    s.directory
        .create_workspace(workspace(50, "team"), None)
        .await
        .or_fail("create_workspace")?;
    let adds = (0..10).map(|i| {
        s.directory
            .add_member(workspace_id(50), user_id(1), at(5 + i), None)
    });
    let results = join_all(adds).await;
    let added = tally(&results, |e| matches!(e, StoreError::AlreadyMember { .. }))?;
    ensure_eq!(added, 1, "adds that succeeded");
    let members = s
        .directory
        .members_of(workspace_id(50))
        .await
        .or_fail("members_of")?;
    ensure_eq!(usernames(&members), vec!["ann"]);
    Ok(())
}

pub(crate) async fn parallel_member_adds_and_removes_all_land(s: &Stores) -> Outcome {
    let names: Vec<String> = (1..=10).map(|n| format!("user-{n}")).collect();
    seed(
        s,
        names
            .iter()
            .enumerate()
            .map(|(i, name)| joining(annotator(i as u128 + 1, name), 100 + i as u128 * 2, &[])),
    )
    .await?;
    s.directory
        .create_workspace(workspace(50, "team"), None)
        .await
        .or_fail("create_workspace")?;
    // Users 6 to 10 are members to begin with.
    for n in 6..=10u128 {
        s.directory
            .add_member(workspace_id(50), user_id(n), at(20), None)
            .await
            .or_fail("add_member")?;
    }
    // At once: users 1 to 5 join, users 6 to 10 leave.
    let adds = (1..=5u128).map(|n| {
        s.directory
            .add_member(workspace_id(50), user_id(n), at(30 + n as i64), None)
    });
    let removes = (6..=10u128).map(|n| {
        s.directory
            .remove_member(workspace_id(50), user_id(n), None)
    });
    let (added, removed) = futures_util::future::join(join_all(adds), join_all(removes)).await;
    for r in added.iter().chain(&removed) {
        ensure!(r.is_ok(), "an add or remove failed: {r:?}");
    }
    let members = s
        .directory
        .members_of(workspace_id(50))
        .await
        .or_fail("members_of")?;
    let mut got: Vec<&str> = usernames(&members);
    got.sort_unstable();
    let mut want: Vec<&str> = names[..5].iter().map(String::as_str).collect();
    want.sort_unstable();
    ensure_eq!(got, want, "the members after the adds and removes");
    for n in 1..=10u128 {
        let of = s
            .directory
            .workspaces_of(user_id(n))
            .await
            .or_fail("workspaces_of")?;
        let in_team = of.iter().any(|w| w.name == "team");
        ensure_eq!(in_team, n <= 5, "user-{n} in team");
    }
    Ok(())
}

pub(crate) async fn parallel_failed_logins_are_all_counted(s: &Stores) -> Outcome {
    let failures = (0..40).map(|i| fail(s, "victim", at(1).plus_secs(i % 3), 900));
    for r in join_all(failures).await {
        r.or_fail("record_login_failure")?;
    }
    ensure_eq!(
        s.throttle
            .login_failures("victim")
            .await
            .or_fail("login_failures")?
            .count,
        40,
        "failures counted"
    );
    Ok(())
}

pub(crate) async fn concurrent_edits_of_one_user_are_all_kept(s: &Stores) -> Outcome {
    seed(s, [joining(annotator(1, "ann"), 10, &[])]).await?;
    let key = api_key("ann", 7);
    let digest = workgate_core::credentials::ApiKeyDigest::of(&key);
    let prefix = workgate_core::credentials::api_key_prefix(&key);
    let edits = [
        UserEdit::new(|u| {
            Ok(User {
                first_name: "Annie".into(),
                ..u.clone()
            })
        }),
        UserEdit::new(|u| {
            Ok(User {
                last_name: Some("Jones".into()),
                ..u.clone()
            })
        }),
        UserEdit::new(move |u| {
            Ok(User {
                api_key_digest: digest,
                api_key_prefix: prefix.clone(),
                ..u.clone()
            })
        }),
        UserEdit::new(|u| {
            Ok(User {
                password_hash: "$argon2id$v=19$m=64,t=1,p=1$bmV3$bmV3LWhhc2g".into(),
                ..u.clone()
            })
        }),
        UserEdit::new(|u| {
            Ok(User {
                security_stamp: "stamp-new".into(),
                ..u.clone()
            })
        }),
    ];
    let results = join_all(
        edits
            .into_iter()
            .map(|edit| s.directory.update_user(user_id(1), edit)),
    )
    .await;
    for r in results {
        r.or_fail("update_user")?;
    }
    let stored = s
        .directory
        .user_by_id(user_id(1))
        .await
        .or_fail("user_by_id")?
        .ok_or("ann is gone")?;
    ensure_eq!(stored.first_name, "Annie", "the first name edit");
    ensure_eq!(
        stored.last_name.as_deref(),
        Some("Jones"),
        "the last name edit"
    );
    ensure_eq!(stored.api_key_digest, digest, "the key edit");
    ensure_eq!(
        stored.password_hash,
        "$argon2id$v=19$m=64,t=1,p=1$bmV3$bmV3LWhhc2g",
        "the password edit"
    );
    ensure_eq!(stored.security_stamp, "stamp-new", "the stamp edit");
    ensure!(
        s.directory
            .user_by_api_key(&digest)
            .await
            .or_fail("user_by_api_key")?
            .is_some(),
        "the new key finds the user"
    );
    Ok(())
}
