//! Cases for workspaces and memberships.

use crate::fixtures::*;
use crate::{OrFail, Outcome};
#[allow(unused_imports)]
use uuid::Uuid;
use workgate_core::domain::Workspace;
use workgate_core::{StoreError, Stores};

// ---------------------------------------------------------------------------------------------
// Workspaces

pub(crate) async fn create_workspace_round_trips(s: &Stores) -> Outcome {
    let w = Workspace {
        updated_at: at(9),
        ..workspace(1, "team-1_x")
    };
    let created = s
        .directory
        .create_workspace(w.clone(), None)
        .await
        .or_fail("create_workspace")?;
    ensure_eq!(created, w, "create_workspace returns the stored workspace");
    ensure_eq!(
        s.directory
            .workspace_by_id(w.id)
            .await
            .or_fail("workspace_by_id")?,
        Some(w.clone())
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team-1_x")
            .await
            .or_fail("workspace_by_name")?,
        Some(w.clone())
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![w.clone()]
    );
    ensure!(
        s.directory
            .members_of(w.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "a new workspace has no members"
    );
    Ok(())
}

pub(crate) async fn workspace_names_are_unique(s: &Stores) -> Outcome {
    let first = workspace(1, "team");
    s.directory
        .create_workspace(first.clone(), None)
        .await
        .or_fail("create_workspace(team)")?;
    let second = workspace(2, "team");
    ensure_err!(
        s.directory.create_workspace(second.clone(), None).await,
        StoreError::WorkspaceNameTaken("team".into())
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(second.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team")
            .await
            .or_fail("workspace_by_name")?,
        Some(first.clone())
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?,
        vec![first]
    );

    // A personal workspace's name is taken too.
    seed(s, [joining(annotator(3, "ann"), 30, &[])]).await?;
    ensure_err!(
        s.directory
            .create_workspace(workspace(4, "ann"), None)
            .await,
        StoreError::WorkspaceNameTaken("ann".into())
    );
    Ok(())
}

pub(crate) async fn workspaces_are_listed_in_insertion_order(s: &Stores) -> Outcome {
    let mut all = vec![
        workspace(1, "zulu"),
        workspace(2, "alpha"),
        workspace(3, "mike"),
        workspace(4, "bravo"),
        workspace(5, "yankee"),
    ];
    for w in &mut all[1..4] {
        w.inserted_at = at(2);
        w.updated_at = at(2);
    }
    for w in &all {
        s.directory
            .create_workspace(w.clone(), None)
            .await
            .or_fail("create_workspace")?;
    }
    ensure_eq!(s.directory.workspaces().await.or_fail("workspaces")?, all);
    s.directory
        .delete_workspace(all[2].id, None)
        .await
        .or_fail("delete_workspace(mike)")?;
    all.remove(2);
    let late = workspace(6, "charlie");
    s.directory
        .create_workspace(late.clone(), None)
        .await
        .or_fail("create_workspace(charlie)")?;
    all.push(late);
    ensure_eq!(s.directory.workspaces().await.or_fail("workspaces")?, all);
    Ok(())
}

pub(crate) async fn delete_workspace_removes_its_memberships(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    let bob = annotator(2, "bob");
    seed(
        s,
        [
            joining(admin(3, "root"), 30, &[]),
            joining(ann.clone(), 10, &["team", "other"]),
            joining(bob.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;

    let deleted = s
        .directory
        .delete_workspace(team.id, None)
        .await
        .or_fail("delete_workspace(team)")?;
    ensure_eq!(
        deleted,
        team,
        "delete_workspace returns the deleted workspace"
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    ensure_eq!(
        s.directory
            .workspace_by_name("team")
            .await
            .or_fail("workspace_by_name")?,
        None
    );
    ensure_eq!(
        names(&s.directory.workspaces().await.or_fail("workspaces")?),
        vec!["root", "ann", "other", "bob"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob"]
    );
    ensure_eq!(
        s.directory.user_count().await.or_fail("user_count")?,
        3,
        "the members stay"
    );
    let members = s.directory.members_of(team.id).await;
    ensure!(
        matches!(&members, Ok(m) if m.is_empty())
            || members == Err(StoreError::WorkspaceNotFound(team.id)),
        "members_of(deleted team): expected none, got {members:?}"
    );

    // The name is free again, and the new workspace starts with no members (and the old id
    // does not come back to life through it).
    let again = workspace(9, "team");
    s.directory
        .create_workspace(again.clone(), None)
        .await
        .or_fail("create_workspace(team) again")?;
    ensure!(
        s.directory
            .members_of(again.id)
            .await
            .or_fail("members_of")?
            .is_empty(),
        "a re-created workspace has no members"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?,
        None
    );
    Ok(())
}

pub(crate) async fn delete_workspace_of_an_unknown_workspace_is_not_found(s: &Stores) -> Outcome {
    s.directory
        .create_workspace(workspace(1, "team"), None)
        .await
        .or_fail("create_workspace")?;
    ensure_err!(
        s.directory.delete_workspace(workspace_id(2), None).await,
        StoreError::WorkspaceNotFound(workspace_id(2))
    );
    ensure_eq!(
        s.directory.workspaces().await.or_fail("workspaces")?.len(),
        1
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Memberships

pub(crate) async fn memberships_are_listed_by_membership_time(s: &Stores) -> Outcome {
    // Users and workspaces are inserted in one order and joined in another.
    let (u1, u2, u3) = (annotator(1, "ann"), annotator(2, "bob"), annotator(3, "cy"));
    seed(
        s,
        [
            joining(u1.clone(), 10, &[]),
            joining(u2.clone(), 20, &[]),
            joining(u3.clone(), 30, &[]),
        ],
    )
    .await?;
    let (w1, w2, w3) = (
        workspace(41, "w-one"),
        workspace(42, "w-two"),
        workspace(43, "w-three"),
    );
    for w in [&w1, &w2, &w3] {
        s.directory
            .create_workspace(w.clone(), None)
            .await
            .or_fail("create_workspace")?;
    }
    let mut t = 50;
    for (w, u) in [
        (&w3, &u3),
        (&w3, &u1),
        (&w1, &u3),
        (&w2, &u2),
        (&w3, &u2),
        (&w2, &u3),
    ] {
        t += 1;
        s.directory
            .add_member(w.id, u.id, at(t), None)
            .await
            .or_fail(&format!("add_member({}, {})", w.name, u.username))?;
    }
    ensure_eq!(
        usernames(&s.directory.members_of(w3.id).await.or_fail("members_of")?),
        vec!["cy", "ann", "bob"]
    );
    ensure_eq!(
        usernames(&s.directory.members_of(w2.id).await.or_fail("members_of")?),
        vec!["bob", "cy"]
    );
    ensure_eq!(
        s.directory
            .workspaces_of(u3.id)
            .await
            .or_fail("workspaces_of")?,
        vec![
            workspace(30, "cy").tap(|w| {
                w.inserted_at = u3.inserted_at;
                w.updated_at = u3.inserted_at;
            }),
            w3.clone(),
            w1.clone(),
            w2.clone()
        ],
        "workspaces_of(cy): full records, personal first"
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(u1.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "w-three"]
    );
    let members = s.directory.members_of(w3.id).await.or_fail("members_of")?;
    ensure_eq!(
        members,
        vec![u3.clone(), u1.clone(), u2.clone()],
        "members_of(w-three): full records"
    );
    // A user created later with an existing workspace joins it after the members before.
    seed(s, [joining(annotator(4, "dee"), 60, &["w-three"])]).await?;
    ensure_eq!(
        usernames(&s.directory.members_of(w3.id).await.or_fail("members_of")?),
        vec!["cy", "ann", "bob", "dee"]
    );
    Ok(())
}

pub(crate) async fn membership_pairs_are_unique(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(s, [joining(ann.clone(), 10, &[])]).await?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone(), None)
        .await
        .or_fail("create_workspace")?;
    s.directory
        .add_member(team.id, ann.id, at(20), None)
        .await
        .or_fail("add_member")?;
    ensure_err!(
        s.directory.add_member(team.id, ann.id, at(21), None).await,
        StoreError::AlreadyMember {
            workspace: team.id,
            user: ann.id
        }
    );
    let personal = workspace_id(10);
    ensure_err!(
        s.directory.add_member(personal, ann.id, at(22), None).await,
        StoreError::AlreadyMember {
            workspace: personal,
            user: ann.id
        }
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "team"],
        "no duplicate membership"
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["ann"],
        "no duplicate member"
    );
    Ok(())
}

pub(crate) async fn add_member_needs_both_to_exist(s: &Stores) -> Outcome {
    let ann = annotator(1, "ann");
    seed(s, [joining(ann.clone(), 10, &[])]).await?;
    let team = workspace(2, "team");
    s.directory
        .create_workspace(team.clone(), None)
        .await
        .or_fail("create_workspace")?;
    ensure_err!(
        s.directory
            .add_member(workspace_id(99), ann.id, at(20), None)
            .await,
        StoreError::WorkspaceNotFound(workspace_id(99))
    );
    ensure_err!(
        s.directory
            .add_member(team.id, user_id(99), at(21), None)
            .await,
        StoreError::UserNotFound(user_id(99))
    );
    ensure!(
        s.directory
            .members_of(team.id)
            .await
            .or_fail("members_of")?
            .is_empty()
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann"]
    );
    // A deleted user is no longer there to add.
    let bob = annotator(3, "bob");
    seed(
        s,
        [
            joining(admin(4, "root"), 40, &[]),
            joining(bob.clone(), 30, &[]),
        ],
    )
    .await?;
    s.directory
        .delete_user(bob.id, None)
        .await
        .or_fail("delete_user(bob)")?;
    ensure_err!(
        s.directory.add_member(team.id, bob.id, at(22), None).await,
        StoreError::UserNotFound(bob.id)
    );
    Ok(())
}

pub(crate) async fn remove_member_removes_one_membership(s: &Stores) -> Outcome {
    let (ann, bob) = (annotator(1, "ann"), annotator(2, "bob"));
    seed(
        s,
        [
            joining(ann.clone(), 10, &["team", "other"]),
            joining(bob.clone(), 20, &["team"]),
        ],
    )
    .await?;
    let team = s
        .directory
        .workspace_by_name("team")
        .await
        .or_fail("workspace_by_name")?
        .ok_or("team is missing")?;
    s.directory
        .remove_member(team.id, ann.id, None)
        .await
        .or_fail("remove_member(team, ann)")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob"]
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(bob.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["bob", "team"],
        "other users' memberships stay"
    );
    ensure!(
        s.directory
            .workspace_by_id(team.id)
            .await
            .or_fail("workspace_by_id")?
            .is_some(),
        "the workspace stays"
    );
    // Joining again is a new membership: last by membership time.
    s.directory
        .add_member(team.id, ann.id, at(90), None)
        .await
        .or_fail("add_member(team, ann) again")?;
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann", "other", "team"]
    );
    ensure_eq!(
        usernames(
            &s.directory
                .members_of(team.id)
                .await
                .or_fail("members_of")?
        ),
        vec!["bob", "ann"]
    );
    Ok(())
}

pub(crate) async fn remove_member_without_membership_is_not_member(s: &Stores) -> Outcome {
    let (ann, bob) = (annotator(1, "ann"), annotator(2, "bob"));
    seed(
        s,
        [joining(ann.clone(), 10, &[]), joining(bob.clone(), 20, &[])],
    )
    .await?;
    let bobs = workspace_id(20);
    ensure_err!(
        s.directory.remove_member(bobs, ann.id, None).await,
        StoreError::NotMember {
            workspace: bobs,
            user: ann.id
        }
    );
    s.directory
        .remove_member(bobs, bob.id, None)
        .await
        .or_fail("remove_member(bob, bob)")?;
    ensure_err!(
        s.directory.remove_member(bobs, bob.id, None).await,
        StoreError::NotMember {
            workspace: bobs,
            user: bob.id
        }
    );
    // "NotMember if there is none": also when the workspace or user does not exist.
    ensure_err!(
        s.directory
            .remove_member(workspace_id(99), ann.id, None)
            .await,
        StoreError::NotMember {
            workspace: workspace_id(99),
            user: ann.id
        }
    );
    ensure_err!(
        s.directory.remove_member(bobs, user_id(99), None).await,
        StoreError::NotMember {
            workspace: bobs,
            user: user_id(99)
        }
    );
    ensure_eq!(
        names(
            &s.directory
                .workspaces_of(ann.id)
                .await
                .or_fail("workspaces_of")?
        ),
        vec!["ann"]
    );
    Ok(())
}

/// The trait does not say what the membership lists of an id that does not exist are; an
/// empty list and the matching not-found error are both fine, anything else is not.
pub(crate) async fn membership_lists_of_unknown_ids(s: &Stores) -> Outcome {
    seed(s, [joining(annotator(1, "ann"), 10, &[])]).await?;
    let ws = s.directory.workspaces_of(user_id(99)).await;
    ensure!(
        matches!(&ws, Ok(w) if w.is_empty()) || ws == Err(StoreError::UserNotFound(user_id(99))),
        "workspaces_of(unknown user): expected none or UserNotFound, got {ws:?}"
    );
    let members = s.directory.members_of(workspace_id(99)).await;
    ensure!(
        matches!(&members, Ok(m) if m.is_empty())
            || members == Err(StoreError::WorkspaceNotFound(workspace_id(99))),
        "members_of(unknown workspace): expected none or WorkspaceNotFound, got {members:?}"
    );
    Ok(())
}
