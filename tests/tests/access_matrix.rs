//! API.md section 7: who may call what. Every endpoint is called by four callers, each in a scene
//! of its own (so destructive calls do not disturb each other):
//!
//! - `anonymous`: no credentials;
//! - `member`: an annotator that is a member of the scene's workspace;
//! - `non-member`: an annotator that is not;
//! - `admin`: an admin created for the scene (never the default admin).
//!
//! The scene also holds `target`, an annotator member of the workspace that user-management
//! calls act on. Expected statuses are listed in that order.

use workgate_conformance::errors;
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Member,
    NonMember,
    Admin,
}

const CALLERS: [Caller; 4] = [
    Caller::Anonymous,
    Caller::Member,
    Caller::NonMember,
    Caller::Admin,
];

struct Scene {
    workspace: CreatedWorkspace,
    member: CreatedUser,
    non_member: CreatedUser,
    admin: CreatedUser,
    target: CreatedUser,
}

impl Scene {
    fn new() -> Scene {
        let workspace = t().create_workspace();
        let member = t().create_user("annotator");
        let non_member = t().create_user("annotator");
        let admin = t().create_user("admin");
        let target = t().create_user("annotator");
        t().add_member(&workspace.id, &member.id);
        t().add_member(&workspace.id, &target.id);
        Scene {
            workspace,
            member,
            non_member,
            admin,
            target,
        }
    }

    fn user(&self, caller: Caller) -> Option<&CreatedUser> {
        match caller {
            Caller::Anonymous => None,
            Caller::Member => Some(&self.member),
            Caller::NonMember => Some(&self.non_member),
            Caller::Admin => Some(&self.admin),
        }
    }
}

/// Sends `request(scene, caller)` as each caller in a fresh scene and checks the statuses
/// `[anonymous, member, non-member, admin]`, and the bodies of 401 and 403 answers.
#[track_caller]
fn check(expected: [u16; 4], request: impl Fn(&Scene, Caller) -> Call<'static>) {
    let mut got = Vec::new();
    for caller in CALLERS {
        let scene = Scene::new();
        let mut call = request(&scene, caller);
        if let Some(user) = scene.user(caller) {
            call = call.key(&user.api_key);
        }
        let answer = call.send();
        match answer.status {
            401 => assert_eq!(answer.json, errors::unauthorized(), "{}", answer.request),
            403 => assert_eq!(answer.json, errors::forbidden(), "{}", answer.request),
            _ => {}
        }
        got.push((caller, answer.status, answer.request.clone(), answer.text()));
    }
    let statuses: Vec<u16> = got.iter().map(|(_, status, _, _)| *status).collect();
    assert!(
        statuses == expected,
        "expected [anonymous, member, non-member, admin] = {expected:?}, got {statuses:?}:\n{}",
        got.iter()
            .map(|(caller, status, request, body)| format!(
                "  {caller:?}: {request} -> {status} {body}"
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn login_is_open_to_anyone() {
    check([200, 200, 200, 200], |s, _| {
        t().post("/api/security/token").form(&[
            ("username", s.target.username.as_str()),
            ("password", s.target.password.as_str()),
        ])
    });
}

#[test]
fn info_is_open_to_anyone() {
    check([200, 200, 200, 200], |_, _| t().get("/api/_info"));
}

#[test]
fn status_is_open_to_anyone() {
    check([200, 200, 200, 200], |_, _| t().get("/api/_status"));
}

#[test]
fn get_me_is_for_any_user() {
    check([401, 200, 200, 200], |_, _| t().get("/api/me"));
}

#[test]
fn my_workspaces_are_for_any_user() {
    check([401, 200, 200, 200], |_, _| {
        t().get("/api/v1/me/workspaces")
    });
}

#[test]
fn listing_users_is_for_admins() {
    check([401, 403, 403, 200], |_, _| t().get("/api/users"));
}

#[test]
fn creating_users_is_for_admins() {
    check([401, 403, 403, 200], |_, _| {
        t().post("/api/users").json(&json!({
            "first_name": "New",
            "username": unique("u"),
            "password": "12345678",
        }))
    });
}

#[test]
fn deleting_users_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().delete(&format!("/api/users/{}", s.target.id))
    });
}

#[test]
fn listing_workspaces_is_for_any_user() {
    check([401, 200, 200, 200], |_, _| t().get("/api/workspaces"));
}

#[test]
fn creating_workspaces_is_for_admins() {
    check([401, 403, 403, 200], |_, _| {
        t().post("/api/workspaces")
            .json(&json!({"name": unique("ws")}))
    });
}

#[test]
fn reading_a_workspace_is_for_admins_and_members() {
    check([401, 200, 403, 200], |s, _| {
        t().get(&format!("/api/v1/workspaces/{}", s.workspace.id))
    });
}

#[test]
fn listing_members_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().get(&format!("/api/workspaces/{}/users", s.workspace.id))
    });
}

#[test]
fn adding_members_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        let newcomer = t().create_user("annotator");
        t().post(&format!(
            "/api/workspaces/{}/users/{}",
            s.workspace.id, newcomer.id
        ))
    });
}

#[test]
fn removing_members_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().delete(&format!(
            "/api/workspaces/{}/users/{}",
            s.workspace.id, s.target.id
        ))
    });
}

#[test]
fn deleting_workspaces_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().delete(&format!("/api/workspaces/{}", s.workspace.id))
    });
}

#[test]
fn updating_users_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().patch(&format!("/api/users/{}", s.target.id))
            .json(&json!({"first_name": "Renamed"}))
    });
}

#[test]
fn changing_ones_own_password_is_for_any_user() {
    check([401, 200, 200, 200], |s, caller| {
        let current = s.user(caller).map_or("12345678", |u| u.password.as_str());
        t().put("/api/me/password")
            .json(&json!({"current_password": current, "new_password": "another-password"}))
    });
}

#[test]
fn rotating_another_users_api_key_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().post(&format!("/api/users/{}/api-key", s.target.id))
    });
}

#[test]
fn rotating_ones_own_api_key_is_for_any_user() {
    check([401, 200, 200, 200], |s, caller| {
        let own_id = s
            .user(caller)
            .map_or(s.target.id.as_str(), |u| u.id.as_str());
        t().post(&format!("/api/users/{own_id}/api-key"))
    });
}

#[test]
fn resetting_passwords_is_for_admins() {
    check([401, 403, 403, 200], |s, _| {
        t().put(&format!("/api/users/{}/password", s.target.id))
            .json(&json!({"password": "reset-password"}))
    });
}

#[test]
fn reading_the_audit_log_is_for_admins() {
    check([401, 403, 403, 200], |_, _| t().get("/api/audit"));
}

#[test]
fn annotators_only_see_their_own_workspaces_in_the_list() {
    let s = Scene::new();
    for (user, should_see) in [(&s.member, true), (&s.non_member, false), (&s.admin, true)] {
        let answer = t().get("/api/workspaces").key(&user.api_key).send();
        assert_eq!(
            position_of(answer.expect(200), "id", &s.workspace.id).is_some(),
            should_see,
            "{}: {}",
            user.username,
            answer.text()
        );
    }
}
