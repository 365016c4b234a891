//! Cases for the audit log.

use crate::fixtures::*;
use crate::{OrFail, Outcome};
#[allow(unused_imports)]
use uuid::Uuid;
use workgate_core::domain::{AuditEntry, Role, User};
use workgate_core::{StoreError, Stores, UserEdit};

// ---------------------------------------------------------------------------------------------
// Audit log

pub(crate) async fn audit_is_newest_first_with_limit_and_offset(s: &Stores) -> Outcome {
    let entries: Vec<AuditEntry> = (1..=7).map(|n| audit_entry(n, at(n as i64))).collect();
    for e in &entries {
        s.audit
            .append_audit(e.clone())
            .await
            .or_fail("append_audit")?;
    }
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    ensure_eq!(
        s.audit.audit(100, 0).await.or_fail("audit(100, 0)")?,
        newest_first
    );
    ensure_eq!(
        s.audit.audit(7, 0).await.or_fail("audit(7, 0)")?,
        newest_first,
        "limit equal to the count"
    );
    ensure_eq!(
        s.audit.audit(2, 0).await.or_fail("audit(2, 0)")?,
        newest_first[0..2]
    );
    ensure_eq!(
        s.audit.audit(2, 2).await.or_fail("audit(2, 2)")?,
        newest_first[2..4]
    );
    ensure_eq!(
        s.audit.audit(3, 5).await.or_fail("audit(3, 5)")?,
        newest_first[5..7]
    );
    ensure_eq!(
        s.audit.audit(1, 6).await.or_fail("audit(1, 6)")?,
        newest_first[6..7]
    );
    ensure!(
        s.audit
            .audit(10, 7)
            .await
            .or_fail("audit(10, 7)")?
            .is_empty(),
        "an offset past the end"
    );
    ensure!(
        s.audit
            .audit(10, 1000)
            .await
            .or_fail("audit(10, 1000)")?
            .is_empty(),
        "an offset far past the end"
    );
    ensure!(
        s.audit.audit(0, 0).await.or_fail("audit(0, 0)")?.is_empty(),
        "limit 0"
    );
    ensure_eq!(
        s.audit
            .audit(u32::MAX, 0)
            .await
            .or_fail("audit(u32::MAX, 0)")?,
        newest_first,
        "a huge limit"
    );
    // Paging through, two at a time, yields each entry once.
    let mut paged = Vec::new();
    for page in 0..4 {
        paged.extend(s.audit.audit(2, page * 2).await.or_fail("audit paging")?);
    }
    ensure_eq!(paged, newest_first, "paging two at a time");
    Ok(())
}

pub(crate) async fn audit_round_trips_every_field_and_outlives_its_subjects(s: &Stores) -> Outcome {
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
    let by_root = AuditEntry {
        id: id(0x3001),
        at: at(30),
        actor_id: Some(root.id),
        actor: "root".into(),
        action: "user.delete".into(),
        target_type: "User".into(),
        target_id: ann.id,
        target_name: "ann".into(),
        detail: Some("role=annotator; name \"Ann\" ✓ 名前".into()),
    };
    let by_system = AuditEntry {
        id: id(0x3002),
        at: at(31),
        actor_id: None,
        actor: "system".into(),
        action: "workspace.create".into(),
        target_type: "Workspace".into(),
        target_id: workspace_id(10),
        target_name: "root".into(),
        detail: None,
    };
    s.audit
        .append_audit(by_root.clone())
        .await
        .or_fail("append_audit")?;
    s.audit
        .append_audit(by_system.clone())
        .await
        .or_fail("append_audit")?;
    s.directory
        .delete_user(ann.id, None)
        .await
        .or_fail("delete_user(ann)")?;
    s.directory
        .delete_workspace(workspace_id(20), None)
        .await
        .or_fail("delete_workspace(ann)")?;
    ensure_eq!(
        s.audit.audit(10, 0).await.or_fail("audit")?,
        vec![by_system, by_root],
        "entries come back whole, after their subjects are gone"
    );
    Ok(())
}

pub(crate) async fn audit_entries_at_the_same_time_are_newest_appended_first(
    s: &Stores,
) -> Outcome {
    // Ids scrambled, one timestamp: only the order of appending can tell them apart.
    let entries: Vec<AuditEntry> = (1..=5).map(|n| audit_entry(n, at(3))).collect();
    for e in &entries {
        s.audit
            .append_audit(e.clone())
            .await
            .or_fail("append_audit")?;
    }
    let newest_first: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    ensure_eq!(s.audit.audit(10, 0).await.or_fail("audit")?, newest_first);
    ensure_eq!(
        s.audit.audit(2, 1).await.or_fail("audit")?,
        newest_first[1..3]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit with the change

/// An entry for `action` on `target_id`, numbered `n`.
fn entry_for(
    n: u128,
    action: &str,
    target_type: &str,
    target_id: Uuid,
    target_name: &str,
) -> AuditEntry {
    AuditEntry {
        action: action.to_string(),
        target_type: target_type.to_string(),
        target_id,
        target_name: target_name.to_string(),
        detail: None,
        ..audit_entry(n, at(n as i64))
    }
}

pub(crate) async fn audit_entries_are_written_with_their_change(s: &Stores) -> Outcome {
    let root = joining(admin(1, "root"), 10, &[]);
    let ann = joining(annotator(2, "ann"), 20, &[]);
    let created = entry_for(1, "user.create", "User", user_id(1), "root");
    s.directory
        .create_user(root, Some(created.clone()))
        .await
        .or_fail("create_user(root)")?;
    let batch = vec![entry_for(2, "user.create", "User", user_id(2), "ann")];
    s.directory
        .create_users(vec![ann], batch.clone())
        .await
        .or_fail("create_users([ann])")?;
    let team = entry_for(3, "workspace.create", "Workspace", workspace_id(50), "team");
    s.directory
        .create_workspace(workspace(50, "team"), Some(team.clone()))
        .await
        .or_fail("create_workspace(team)")?;
    let add = entry_for(
        4,
        "workspace.member.add",
        "Workspace",
        workspace_id(50),
        "team",
    );
    s.directory
        .add_member(workspace_id(50), user_id(2), at(4), Some(add.clone()))
        .await
        .or_fail("add_member")?;
    // An update's entry gets its target and detail from the records before and after.
    let template = entry_for(5, "user.update", "User", Uuid::nil(), "");
    let edit = UserEdit::new(|u| {
        Ok(User {
            first_name: "Annie".into(),
            ..u.clone()
        })
    })
    .audited(template.clone(), |before, after| {
        Some(format!("{}->{}", before.first_name, after.first_name))
    });
    s.directory
        .update_user(user_id(2), edit)
        .await
        .or_fail("update_user(ann)")?;
    let updated = AuditEntry {
        target_id: user_id(2),
        target_name: "ann".into(),
        detail: Some("First 2->Annie".into()),
        ..template
    };
    // An edit that changes nothing writes nothing, its entry included.
    let unchanged = UserEdit::new(|u| Ok(u.clone())).audited(
        entry_for(6, "user.update", "User", Uuid::nil(), ""),
        |_, _| None,
    );
    s.directory
        .update_user(user_id(2), unchanged)
        .await
        .or_fail("update_user(ann) changing nothing")?;
    let remove = entry_for(
        7,
        "workspace.member.remove",
        "Workspace",
        workspace_id(50),
        "team",
    );
    s.directory
        .remove_member(workspace_id(50), user_id(2), Some(remove.clone()))
        .await
        .or_fail("remove_member")?;
    let gone = entry_for(8, "workspace.delete", "Workspace", workspace_id(50), "team");
    s.directory
        .delete_workspace(workspace_id(50), Some(gone.clone()))
        .await
        .or_fail("delete_workspace")?;
    let deleted = entry_for(9, "user.delete", "User", user_id(2), "ann");
    s.directory
        .delete_user(user_id(2), Some(deleted.clone()))
        .await
        .or_fail("delete_user(ann)")?;
    let log = s.audit.audit(100, 0).await.or_fail("audit")?;
    let newest_first = vec![
        deleted,
        gone,
        remove,
        updated,
        add,
        team,
        batch[0].clone(),
        created,
    ];
    ensure_eq!(log, newest_first, "the log, newest first");
    Ok(())
}

pub(crate) async fn a_refused_change_writes_no_audit_entry(s: &Stores) -> Outcome {
    seed(s, [joining(admin(1, "root"), 10, &[])]).await?;
    let again = joining(annotator(2, "root"), 20, &[]);
    let _ = s
        .directory
        .create_user(
            again,
            Some(entry_for(1, "user.create", "User", user_id(2), "root")),
        )
        .await;
    let _ = s
        .directory
        .create_workspace(
            workspace(11, "root"),
            Some(entry_for(
                2,
                "workspace.create",
                "Workspace",
                workspace_id(11),
                "root",
            )),
        )
        .await;
    let demote = UserEdit::new(|u| {
        Ok(User {
            role: Role::Annotator,
            ..u.clone()
        })
    })
    .audited(
        entry_for(3, "user.update", "User", Uuid::nil(), ""),
        |_, _| None,
    );
    ensure_err!(
        s.directory.update_user(user_id(1), demote).await,
        StoreError::LastAdmin
    );
    ensure_err!(
        s.directory
            .delete_user(
                user_id(1),
                Some(entry_for(4, "user.delete", "User", user_id(1), "root"))
            )
            .await,
        StoreError::LastAdmin
    );
    let _ = s
        .directory
        .add_member(
            workspace_id(10),
            user_id(1),
            at(5),
            Some(entry_for(
                5,
                "workspace.member.add",
                "Workspace",
                workspace_id(10),
                "root",
            )),
        )
        .await;
    let _ = s
        .directory
        .remove_member(
            workspace_id(99),
            user_id(1),
            Some(entry_for(
                6,
                "workspace.member.remove",
                "Workspace",
                workspace_id(99),
                "x",
            )),
        )
        .await;
    let _ = s
        .directory
        .delete_workspace(
            workspace_id(99),
            Some(entry_for(
                7,
                "workspace.delete",
                "Workspace",
                workspace_id(99),
                "x",
            )),
        )
        .await;
    ensure_eq!(
        s.audit.audit(100, 0).await.or_fail("audit")?,
        Vec::<AuditEntry>::new(),
        "entries of refused changes"
    );
    Ok(())
}
