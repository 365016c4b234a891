//! Cases for users: creating (one and in a batch), updating, deleting, lookups.

use crate::fixtures::*;
use crate::{OrFail, Outcome};
#[allow(unused_imports)]
use uuid::Uuid;
use workgate_core::credentials::{ApiKeyDigest, api_key_prefix};
use workgate_core::domain::{LoginFailures, NewUser, Role, User};
use workgate_core::{StoreError, Stores};

// ---------------------------------------------------------------------------------------------
// Basics

pub(crate) async fn kind_is_named_and_ping_answers(s: &Stores) -> Outcome {
    ensure!(!s.directory.kind().is_empty(), "kind() is empty");
    ensure!(
        s.directory
            .kind()
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-'),
        "kind() {:?} should be a short lower-case name",
        s.directory.kind()
    );
    s.directory.ping().await.or_fail("ping")?;
    Ok(())
}

pub(crate) async fn empty_store_finds_nothing(s: &Stores) -> Outcome {
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    ensure!(s.directory.users().await.or_fail("users")?.is_empty());
    ensure!(
        s.directory
            .workspaces()
            .await
            .or_fail("workspaces")?
            .is_empty()
    );
    ensure_eq!(
        s.directory
            .user_by_id(user_id(1))
            .await
            .or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("argilla")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ApiKeyDigest::of("argilla.apikey"))
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(workspace_id(1))
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("argilla")
            .await
            .or_fail("workspace_by_name")?,
        None
    );
    ensure!(s.audit.audit(100, 0).await.or_fail("audit")?.is_empty());
    ensure_eq!(
        s.throttle
            .login_failures("argilla")
            .await
            .or_fail("login_failures")?,
        LoginFailures::default()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Creating users

pub(crate) async fn create_user_round_trips_every_field(s: &Stores) -> Outcome {
    let mut ann = annotator(1, "ann");
    ann.first_name = "Ann-Marie Ünïcødé 名前 \u{1F600}".to_string();
    ann.last_name = Some("O'Brien \"quoted\" \\ back".to_string());
    ann.updated_at = at(7);
    ann.password_hash = "$2b$12$abcdefghijklmnopqrstuuC6Xv4rpWJd4U6zGKjCFh0t1JvO5Y8xK".into();
    let mut root = admin(2, "root");
    root.last_name = None;
    root.disabled = true;

    let created = s
        .directory
        .create_user(joining(ann.clone(), 1, &[]), None)
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(created, ann, "create_user returns the stored user");
    let created = s
        .directory
        .create_user(
            NewUser {
                user: root.clone(),
                workspaces: vec![],
            },
            None,
        )
        .await
        .or_fail("create_user(root) without workspaces")?;
    ensure_eq!(created, root, "create_user returns the stored user");

    for u in [&ann, &root] {
        ensure_eq!(
            s.directory.user_by_id(u.id).await.or_fail("user_by_id")?,
            Some(u.clone()),
            "user_by_id({})",
            u.username
        );
        ensure_eq!(
            s.directory
                .user_by_username(&u.username)
                .await
                .or_fail("user_by_username")?,
            Some(u.clone()),
            "user_by_username({})",
            u.username
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&u.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(u.clone()),
            "user_by_api_key({})",
            u.username
        );
    }
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![ann, root.clone()]
    );
    ensure!(
        s.directory
            .workspaces_of(root.id)
            .await
            .or_fail("workspaces_of")?
            .is_empty(),
        "a user created with no workspaces is a member of none"
    );
    Ok(())
}

pub(crate) async fn create_user_creates_its_workspaces_from_the_records(s: &Stores) -> Outcome {
    let new = joining(annotator(1, "ann"), 10, &["team-a", "team-b"]);
    let expected = new.workspaces.clone();
    s.directory
        .create_user(new, None)
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        expected
    );
    for w in &expected {
        ensure_eq!(
            s.directory
                .workspace_by_id(w.id)
                .await
                .or_fail("workspace_by_id")?,
            Some(w.clone()),
            "workspace_by_id({})",
            w.name
        );
        ensure_eq!(
            s.directory
                .workspace_by_name(&w.name)
                .await
                .or_fail("workspace_by_name")?,
            Some(w.clone()),
            "workspace_by_name({})",
            w.name
        );
    }
    ensure_eq!(
        s.directory
            .workspaces_of(user_id(1))
            .await
            .or_fail("workspaces_of")?,
        expected
    );
    Ok(())
}

pub(crate) async fn create_user_joins_an_existing_workspace_of_the_personal_name(
    s: &Stores,
) -> Outcome {
    // A workspace called "bob" exists before user bob does (made by an admin, or left behind
    // by a deleted bob).
    let existing = workspace(1, "bob");
    s.directory
        .create_workspace(existing.clone(), None)
        .await
        .or_fail("create_workspace(bob)")?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone(), None)
        .await
        .or_fail("create_workspace(team)")?;

    let bob = annotator(3, "bob");
    let new = joining(bob.clone(), 30, &["team"]);
    let (unused_personal, unused_team) = (new.workspaces[0].clone(), new.workspaces[1].clone());
    s.directory
        .create_user(new, None)
        .await
        .or_fail("create_user(bob)")?;

    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![existing.clone(), team.clone()],
        "no workspace is created when one of the name exists"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(unused_personal.id)
            .await
            .or_fail("workspace_by_id")?,
        None,
        "the unused personal workspace record"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(unused_team.id)
            .await
            .or_fail("workspace_by_id")?,
        None,
        "the unused team workspace record"
    );
    ensure_eq!(
        s.directory
            .workspaces_of(bob.id)
            .await
            .or_fail("workspaces_of")?,
        vec![existing.clone(), team],
        "bob joined the existing workspaces"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(existing.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob"]
    );
    Ok(())
}

pub(crate) async fn create_user_adds_memberships_in_the_order_given(s: &Stores) -> Outcome {
    // "zeta" exists already; the others are created by create_user. The order given is
    // neither alphabetical nor by id.
    s.directory
        .create_workspace(workspace(1, "zeta"), None)
        .await
        .or_fail("create_workspace(zeta)")?;
    let ann = annotator(2, "ann");
    s.directory
        .create_user(joining(ann.clone(), 20, &["mid", "zeta", "alpha"]), None)
        .await
        .or_fail("create_user(ann)")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "mid", "zeta", "alpha"]
    );
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["zeta", "ann", "mid", "alpha"],
        "workspaces in insertion order"
    );
    Ok(())
}

pub(crate) async fn usernames_are_unique_and_a_refused_create_writes_nothing(
    s: &Stores,
) -> Outcome {
    let ann = annotator(1, "ann");
    s.directory
        .create_user(joining(ann.clone(), 10, &["team"]), None)
        .await
        .or_fail("create_user(ann)")?;
    let before_workspaces = s.directory.workspaces().await.or_fail("workspaces")?;

    // Same username, everything else new: another id, key, and workspaces to create.
    let mut again = annotator(2, "ann");
    again.api_key_digest = ApiKeyDigest::of(&api_key("ann", 1));
    let mut new = joining(again.clone(), 20, &["team", "fresh"]);
    new.workspaces[0].name = "ann-2".into();
    ensure_err!(
        s.directory.create_user(new, None).await,
        StoreError::UsernameTaken("ann".into())
    );

    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![ann.clone()]
    );
    ensure_eq!(
        s.directory
            .user_by_id(again.id)
            .await
            .or_fail("user_by_id")?,
        None,
        "the refused user's id"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&again.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the refused user's key"
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(ann.clone()),
        "the first ann is untouched"
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        before_workspaces,
        "no workspace of the refused user is created"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"],
        "no membership of the refused user is added"
    );
    Ok(())
}

/// Names that a LIKE pattern (`_` is a wildcard) or a key-prefix scan would confuse.
pub(crate) async fn similar_names_are_distinct(s: &Stores) -> Outcome {
    let all = ["ann", "anna", "an", "a_n", "axn", "a-n"];
    for (i, name) in all.iter().enumerate() {
        seed(
            s,
            [joining(
                annotator(i as u128 + 1, name),
                10 * i as u128 + 10,
                &[],
            )],
        )
        .await?;
    }
    for (i, name) in all.iter().enumerate() {
        let u = s
            .directory
            .user_by_username(name)
            .await
            .or_fail("user_by_username")?
            .ok_or_else(|| format!("user {name} not found"))?;
        ensure_eq!(u.id, user_id(i as u128 + 1), "user_by_username({name})");
        let w = s
            .directory
            .workspace_by_name(name)
            .await
            .or_fail("workspace_by_name")?
            .ok_or_else(|| format!("workspace {name} not found"))?;
        ensure_eq!(
            w.id,
            workspace_id(10 * i as u128 + 10),
            "workspace_by_name({name})"
        );
        ensure_eq!(
            usernames(&s.directory.members_of(w.id).await.or_fail("members_of")?),
            vec![*name],
            "members_of({name})"
        );
        ensure_eq!(
            names(
                &s.directory
                    .workspaces_of(u.id)
                    .await
                    .or_fail("workspaces_of")?
            ),
            vec![*name],
            "workspaces_of({name})"
        );
    }
    for missing in ["a", "anna2", "a%", "_nn", "ANN", "ann "] {
        ensure_eq!(
            s.directory
                .user_by_username(missing)
                .await
                .or_fail("user_by_username")?,
            None,
            "user_by_username({missing:?})"
        );
        ensure_eq!(
            s.directory
                .workspace_by_name(missing)
                .await
                .or_fail("workspace_by_name")?,
            None,
            "workspace_by_name({missing:?})"
        );
    }
    // Failures and deletions of one do not touch the others.
    fail(s, "an", at(100), 900)
        .await
        .or_fail("record_login_failure")?;
    ensure_eq!(
        s.throttle
            .login_failures("ann")
            .await
            .or_fail("login_failures")?,
        LoginFailures::default()
    );
    s.directory
        .delete_user(user_id(1), None)
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(
        usernames(&s.directory.users().await.or_fail("users")?),
        vec!["anna", "an", "a_n", "axn", "a-n"]
    );
    Ok(())
}

pub(crate) async fn user_count_follows_creates_and_deletes(s: &Stores) -> Outcome {
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(annotator(2, "ann"), 20, &[]),
        ],
    )
    .await?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 2);
    s.directory
        .create_users(
            vec![
                joining(annotator(3, "bob"), 30, &[]),
                joining(annotator(4, "cat"), 40, &[]),
            ],
            Vec::new(),
        )
        .await
        .or_fail("create_users")?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 4);
    s.directory
        .delete_user(user_id(2), None)
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 3);
    let _ = s
        .directory
        .create_user(joining(annotator(5, "bob"), 50, &[]), None)
        .await;
    ensure_eq!(
        s.directory.user_count().await.or_fail("user_count")?,
        3,
        "a refused create does not count"
    );
    Ok(())
}

pub(crate) async fn has_users_follows_creates_and_deletes(s: &Stores) -> Outcome {
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        false,
        "empty store"
    );
    seed(s, [joining(annotator(2, "ann"), 20, &[])]).await?;
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        true,
        "one user"
    );
    s.directory
        .delete_user(user_id(2), None)
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(
        s.directory.has_users().await.or_fail("has_users")?,
        false,
        "its only user deleted"
    );
    Ok(())
}

pub(crate) async fn users_are_listed_in_insertion_order(s: &Stores) -> Outcome {
    // Ids are scrambled, names are not alphabetical, and three users share one inserted_at:
    // ties go by insertion.
    let mut users = vec![
        annotator(1, "zed"),
        admin(2, "mia"),
        annotator(3, "bob"),
        annotator(4, "ann"),
        annotator(5, "kim"),
    ];
    for u in &mut users[2..] {
        u.inserted_at = at(3);
        u.updated_at = at(3);
    }
    for (i, u) in users.iter().enumerate() {
        seed(s, [joining(u.clone(), 10 * i as u128 + 10, &[])]).await?;
    }
    ensure_eq!(s.directory.users().await.or_fail("users")?, users);

    // An update does not move a user; a deletion leaves the others in order.
    let mut bob = users[2].clone();
    bob.first_name = "Robert".into();
    bob.updated_at = at(50);
    update(s, bob.clone()).await.or_fail("update_user(bob)")?;
    s.directory
        .delete_user(users[0].id, None)
        .await
        .or_fail("delete_user(zed)")?;
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![users[1].clone(), bob, users[3].clone(), users[4].clone()]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Updating users

pub(crate) async fn update_user_replaces_the_mutable_fields(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &["team"]),
        ],
    )
    .await?;

    let key = api_key("ann", 1);
    let changed = User {
        first_name: "Annie".into(),
        last_name: None,
        role: Role::Admin,
        password_hash: "$argon2id$v=19$m=64,t=1,p=1$bmV3$bmV3aGFzaA".into(),
        api_key_digest: ApiKeyDigest::of(&key),
        api_key_prefix: api_key_prefix(&key),
        security_stamp: "stamp-new".into(),
        disabled: true,
        updated_at: at(99),
        ..ann.clone()
    };
    let stored = update(s, changed.clone())
        .await
        .or_fail("update_user(ann)")?;
    ensure_eq!(stored, changed, "update_user returns the stored user");
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        Some(changed.clone())
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(changed.clone())
    );

    // And back: last_name from None to Some, enabled again.
    let back = User {
        last_name: Some("Smith".into()),
        disabled: false,
        role: Role::Annotator,
        updated_at: at(100),
        ..changed
    };
    update(s, back.clone())
        .await
        .or_fail("update_user(ann) again")?;
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        Some(back.clone())
    );
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![root, back],
        "users() sees the update"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "team"],
        "an update keeps memberships"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    let members = s
        .directory
        .members_of(team.id)
        .await
        .or_fail("members_of")?;
    ensure_eq!(
        members.first().map(|u| u.first_name.as_str()),
        Some("Annie"),
        "members_of sees the update"
    );
    Ok(())
}

pub(crate) async fn update_user_keeps_id_username_and_inserted_at(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(
        s,
        [
            joining(admin(2, "root"), 20, &[]),
            joining(ann.clone(), 10, &[]),
        ],
    )
    .await?;
    let attempt = User {
        username: "renamed".into(),
        inserted_at: at(77),
        first_name: "Ann".into(),
        updated_at: at(78),
        ..ann.clone()
    };
    let stored = update(s, attempt).await.or_fail("update_user(ann)")?;
    let expected = User {
        first_name: "Ann".into(),
        updated_at: at(78),
        ..ann.clone()
    };
    ensure_eq!(stored, expected, "usernames and inserted_at are immutable");
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(expected)
    );
    ensure_eq!(
        s.directory
            .user_by_username("renamed")
            .await
            .or_fail("user_by_username")?,
        None
    );
    Ok(())
}

pub(crate) async fn update_user_of_an_unknown_user_is_not_found(s: &Stores) -> Outcome {
    seed(s, [joining(admin(1, "root"), 10, &[])]).await?;
    let ghost = annotator(2, "ghost");
    ensure_err!(
        update(s, ghost.clone()).await,
        StoreError::UserNotFound(ghost.id)
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    ensure_eq!(
        s.directory
            .user_by_id(ghost.id)
            .await
            .or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("ghost")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ghost.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    Ok(())
}

pub(crate) async fn api_key_lookup_follows_a_rotated_digest(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &[]),
        ],
    )
    .await?;
    let mut current = ann.clone();
    for generation in 1..=3 {
        let old = current.api_key_digest;
        let key = api_key("ann", generation);
        current = User {
            api_key_digest: ApiKeyDigest::of(&key),
            api_key_prefix: api_key_prefix(&key),
            updated_at: at(50 + i64::from(generation)),
            ..current
        };
        update(s, current.clone())
            .await
            .or_fail("update_user(ann) with a new key")?;
        ensure_eq!(
            s.directory
                .user_by_api_key(&old)
                .await
                .or_fail("user_by_api_key")?,
            None,
            "the old key after rotation {generation}"
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&current.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(current.clone()),
            "the new key after rotation {generation}"
        );
    }
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the first key"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&root.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(root),
        "another user's key is untouched"
    );
    // An update that keeps the key keeps it working.
    let renamed = User {
        first_name: "Annie".into(),
        ..current.clone()
    };
    update(s, renamed.clone())
        .await
        .or_fail("update_user(ann) keeping the key")?;
    ensure_eq!(
        s.directory
            .user_by_api_key(&current.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(renamed)
    );
    Ok(())
}

pub(crate) async fn update_user_keeps_the_last_enabled_admin(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(ann.clone(), 20, &[]),
        ],
    )
    .await?;

    let demoted = User {
        role: Role::Annotator,
        ..root.clone()
    };
    ensure_err!(update(s, demoted).await, StoreError::LastAdmin);
    let disabled = User {
        disabled: true,
        ..root.clone()
    };
    ensure_err!(update(s, disabled).await, StoreError::LastAdmin);
    ensure_eq!(
        s.directory
            .user_by_id(root.id)
            .await
            .or_fail("user_by_id")?,
        Some(root.clone()),
        "the refused updates changed nothing"
    );

    // The last admin can still change anything else.
    let renamed = User {
        first_name: "Rooty".into(),
        updated_at: at(40),
        ..root.clone()
    };
    update(s, renamed.clone())
        .await
        .or_fail("update_user(root) keeping the role")?;

    // With a second enabled admin, one of them can go; then the other is the last.
    let promoted = User {
        role: Role::Admin,
        ..ann.clone()
    };
    update(s, promoted.clone())
        .await
        .or_fail("update_user(ann) to admin")?;
    update(
        s,
        User {
            role: Role::Annotator,
            ..renamed.clone()
        },
    )
    .await
    .or_fail("update_user(root) to annotator with ann admin")?;
    ensure_err!(
        update(
            s,
            User {
                role: Role::Annotator,
                ..promoted.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        update(
            s,
            User {
                disabled: true,
                ..promoted
            }
        )
        .await,
        StoreError::LastAdmin
    );
    Ok(())
}

pub(crate) async fn disabled_admins_do_not_count_as_admins(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let off = User {
        disabled: true,
        ..admin(2, "off")
    };
    let ann = annotator(3, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &[]),
            joining(off.clone(), 20, &[]),
            joining(ann.clone(), 30, &[]),
        ],
    )
    .await?;

    ensure_err!(
        update(
            s,
            User {
                role: Role::Annotator,
                ..root.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        update(
            s,
            User {
                disabled: true,
                ..root.clone()
            }
        )
        .await,
        StoreError::LastAdmin
    );
    ensure_err!(
        s.directory.delete_user(root.id, None).await,
        StoreError::LastAdmin
    );

    // The disabled admin is not protected: it can be changed and deleted.
    update(
        s,
        User {
            first_name: "Still off".into(),
            ..off.clone()
        },
    )
    .await
    .or_fail("update_user(off)")?;
    // Enabling it makes two enabled admins, so root can be demoted...
    update(s, off.clone().tap(|u| u.disabled = false))
        .await
        .or_fail("update_user(off) enabled")?;
    update(
        s,
        User {
            role: Role::Annotator,
            ..root.clone()
        },
    )
    .await
    .or_fail("update_user(root) to annotator with off enabled")?;
    // ...and then off is the last one.
    ensure_err!(
        s.directory.delete_user(off.id, None).await,
        StoreError::LastAdmin
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 3);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Deleting users

pub(crate) async fn delete_user_removes_memberships_and_keeps_the_personal_workspace(
    s: &Stores,
) -> Outcome {
    let root = admin(1, "root");
    let ann = annotator(2, "ann");
    let bob = annotator(3, "bob");
    seed(
        s,
        [
            joining(root.clone(), 10, &["team"]),
            joining(ann.clone(), 20, &["team"]),
            joining(bob.clone(), 30, &["team"]),
        ],
    )
    .await?;
    let workspaces_before = s.directory.workspaces().await.or_fail("workspaces")?;

    let deleted = s
        .directory
        .delete_user(ann.id, None)
        .await
        .or_fail("delete_user(ann)")?;
    ensure_eq!(deleted, ann, "delete_user returns the deleted user");
    ensure_eq!(
        s.directory.user_by_id(ann.id).await.or_fail("user_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        None
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None
    );
    ensure_eq!(
        usernames(&s.directory.users().await.or_fail("users")?),
        vec!["root", "bob"]
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        workspaces_before,
        "every workspace stays, the personal one included"
    );
    let personal = s
        .directory
        .workspace_by_name("ann")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("ann's personal workspace is gone")?;
    ensure!(
        s.directory
            .members_of(personal.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "ann's personal workspace has no members left"
    );
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is gone")?;
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["root", "bob"]
    );
    let ann_workspaces = s.directory.workspaces_of(ann.id).await;
    ensure!(
        matches!(&ann_workspaces, Ok(w) if w.is_empty())
            || ann_workspaces == Err(StoreError::UserNotFound(ann.id)),
        "workspaces_of(deleted ann): expected no workspaces, got {ann_workspaces:?}"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob", "team"]
    );
    Ok(())
}

pub(crate) async fn delete_user_of_an_unknown_user_is_not_found(s: &Stores) -> Outcome {
    seed(s, [joining(admin(1, "root"), 10, &[])]).await?;
    ensure_err!(
        s.directory.delete_user(user_id(9), None).await,
        StoreError::UserNotFound(user_id(9))
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 1);
    Ok(())
}

pub(crate) async fn delete_user_keeps_the_last_enabled_admin(s: &Stores) -> Outcome {
    let root = admin(1, "root");
    let boss = admin(2, "boss");
    let ann = annotator(3, "ann");
    seed(
        s,
        [
            joining(root.clone(), 10, &["team"]),
            joining(boss.clone(), 20, &["team"]),
            joining(ann.clone(), 30, &["team"]),
        ],
    )
    .await?;
    s.directory
        .delete_user(ann.id, None)
        .await
        .or_fail("delete_user(ann)")?;
    s.directory
        .delete_user(boss.id, None)
        .await
        .or_fail("delete_user(boss)")?;
    ensure_err!(
        s.directory.delete_user(root.id, None).await,
        StoreError::LastAdmin
    );
    ensure_eq!(
        s.directory
            .user_by_id(root.id)
            .await
            .or_fail("user_by_id")?,
        Some(root.clone()),
        "the refused delete changed nothing"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(root.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["root", "team"],
        "the refused delete kept the memberships"
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&root.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        Some(root)
    );
    Ok(())
}

pub(crate) async fn a_deleted_username_can_be_created_again(s: &Stores) -> Outcome {
    let ann = annotator(2, "ann");
    seed(
        s,
        [
            joining(admin(1, "root"), 10, &[]),
            joining(ann.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let personal = s
        .directory
        .workspace_by_name("ann")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("ann's workspace is missing")?;
    s.directory
        .delete_user(ann.id, None)
        .await
        .or_fail("delete_user(ann)")?;

    let mut again = annotator(3, "ann");
    again.api_key_digest = ApiKeyDigest::of(&api_key("ann", 1));
    let created = s
        .directory
        .create_user(joining(again.clone(), 30, &[]), None)
        .await
        .or_fail("create_user(ann) again")?;
    ensure_eq!(created, again);
    ensure_eq!(
        s.directory
            .user_by_username("ann")
            .await
            .or_fail("user_by_username")?,
        Some(again.clone())
    );
    ensure_eq!(
        s.directory
            .workspaces_of(again.id)
            .await
            .or_fail("workspaces_of")?,
        vec![personal.clone()],
        "the new ann joins the personal workspace the old one left, and nothing else"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(personal.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"]
    );
    ensure_eq!(
        s.directory
            .user_by_api_key(&ann.api_key_digest)
            .await
            .or_fail("user_by_api_key")?,
        None,
        "the old ann's key"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Creating users in a batch

pub(crate) async fn create_users_creates_all_in_order_and_shared_workspaces_once(
    s: &Stores,
) -> Outcome {
    let existing = workspace(1, "old-team");
    s.directory
        .create_workspace(existing.clone(), None)
        .await
        .or_fail("create_workspace(old-team)")?;

    let batch = vec![
        joining(annotator(2, "zoe"), 20, &["shared", "old-team"]),
        joining(admin(3, "adam"), 30, &[]),
        joining(annotator(4, "mo"), 40, &["shared"]),
    ];
    let first_shared = batch[0].workspaces[1].clone();
    let expected_users: Vec<User> = batch.iter().map(|n| n.user.clone()).collect();
    let created = s
        .directory
        .create_users(batch, Vec::new())
        .await
        .or_fail("create_users")?;
    ensure_eq!(
        created,
        expected_users,
        "create_users returns the users in order"
    );
    ensure_eq!(s.directory.users().await.or_fail("users")?, expected_users);
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["old-team", "zoe", "shared", "adam", "mo"],
        "each workspace created once, in order"
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("shared")
            .await
            .or_fail("workspace_by_name")?,
        Some(first_shared.clone()),
        "a shared workspace comes from the first record that names it"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(first_shared.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["zoe", "mo"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(existing.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["zoe"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(user_id(2))
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["zoe", "shared", "old-team"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(user_id(4))
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["mo", "shared"]
    );
    for u in &expected_users {
        ensure_eq!(
            s.directory
                .user_by_api_key(&u.api_key_digest)
                .await
                .or_fail("user_by_api_key")?,
            Some(u.clone()),
            "user_by_api_key({})",
            u.username
        );
    }
    Ok(())
}

pub(crate) async fn create_users_with_a_repeated_username_writes_nothing(s: &Stores) -> Outcome {
    let mut dup = annotator(4, "amy");
    dup.api_key_digest = ApiKeyDigest::of(&api_key("amy", 1));
    let batch = vec![
        joining(annotator(2, "amy"), 20, &["shared"]),
        joining(annotator(3, "ben"), 30, &["shared"]),
        joining(dup, 40, &[]),
    ];
    ensure_err!(
        s.directory.create_users(batch, Vec::new()).await,
        StoreError::UsernameTaken("amy".into())
    );
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    ensure!(s.directory.users().await.or_fail("users")?.is_empty());
    ensure!(
        s.directory
            .workspaces()
            .await
            .or_fail("workspaces")?
            .is_empty(),
        "no workspace of the refused batch is created"
    );
    for name in ["amy", "ben"] {
        ensure_eq!(
            s.directory
                .user_by_username(name)
                .await
                .or_fail("user_by_username")?,
            None,
            "user_by_username({name})"
        );
        ensure_eq!(
            s.directory
                .user_by_api_key(&ApiKeyDigest::of(&api_key(name, 0)))
                .await
                .or_fail("user_by_api_key")?,
            None,
            "user_by_api_key({name})"
        );
    }
    Ok(())
}

pub(crate) async fn create_users_with_an_existing_username_writes_nothing(s: &Stores) -> Outcome {
    let cat = annotator(1, "cat");
    seed(s, [joining(cat.clone(), 10, &["team"])]).await?;
    let workspaces_before = s.directory.workspaces().await.or_fail("workspaces")?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;

    let mut cat_again = annotator(4, "cat");
    cat_again.api_key_digest = ApiKeyDigest::of(&api_key("cat", 1));
    let batch = vec![
        joining(annotator(2, "amy"), 20, &["team", "brand-new"]),
        joining(annotator(3, "ben"), 30, &[]),
        joining(cat_again, 40, &["team"]),
    ];
    ensure_err!(
        s.directory.create_users(batch, Vec::new()).await,
        StoreError::UsernameTaken("cat".into())
    );
    ensure_eq!(
        s.directory.users().await.or_fail("users")?,
        vec![cat.clone()]
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        workspaces_before,
        "no workspace of the refused batch is created"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["cat"],
        "no membership of the refused batch is added to an existing workspace"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(cat.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["cat", "team"]
    );
    Ok(())
}

pub(crate) async fn create_users_of_an_empty_batch_is_empty(s: &Stores) -> Outcome {
    let created = s
        .directory
        .create_users(vec![], Vec::new())
        .await
        .or_fail("create_users([])")?;
    ensure!(created.is_empty());
    ensure_eq!(s.directory.user_count().await.or_fail("user_count")?, 0);
    Ok(())
}
