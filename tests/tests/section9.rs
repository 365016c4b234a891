//! API.md section 9 and docs/DECISIONS.md: where workgate deliberately differs from Argilla —
//! API key masking and rotation, user updates, passwords, the audit log, workspace deletion,
//! last-admin protection, login throttling and the default user.

use workgate_conformance::errors;
use workgate_conformance::formats::{is_timestamp, is_uuid_v4, masked};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

fn login_answer(t: &Target, username: &str, password: &str) -> Answer {
    t.post("/api/security/token")
        .form(&[("username", username), ("password", password)])
        .send()
}

fn retry_after_header(answer: &Answer) -> u64 {
    answer
        .header("retry-after")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{}: a whole-seconds Retry-After header", answer.request))
}

/// The audit entries that concern `target_id`, newest first, back to and including the entry
/// with action `oldest` (the target's creation). Pages through the log, since on a shared host
/// other tests keep appending; new entries only push old ones to later pages, so nothing is
/// missed (duplicates are dropped by id).
fn audit_entries_for(target_id: &str, oldest: &str) -> Vec<Value> {
    let mut found: Vec<Value> = Vec::new();
    for page in 0..50 {
        let answer = t()
            .get(&format!("/api/audit?limit=1000&offset={}", page * 1000))
            .key(DEFAULT_ADMIN_KEY)
            .send();
        let items = answer.expect(200)["items"]
            .as_array()
            .unwrap_or_else(|| panic!("an items list: {}", answer.text()))
            .clone();
        for entry in items.iter().filter(|e| e["target_id"] == target_id) {
            if !found.iter().any(|f| f["id"] == entry["id"]) {
                found.push(entry.clone());
            }
        }
        if items.len() < 1000 || found.iter().any(|e| e["action"] == oldest) {
            break;
        }
    }
    found
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect()
}

// ---- 9.2 API keys: masking ----------------------------------------------------------------------

#[test]
fn the_own_key_is_shown_when_authenticated_with_it() {
    let user = t().create_user("annotator");
    let me = t().get("/api/me").key(&user.api_key).send();
    assert_eq!(me.expect(200)["api_key"], user.api_key.as_str());
    let default = t().get("/api/me").key(DEFAULT_ADMIN_KEY).send();
    assert_eq!(default.expect(200)["api_key"], DEFAULT_ADMIN_KEY);
}

#[test]
fn the_own_key_is_masked_when_authenticated_by_token() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    let me = t().get("/api/me").bearer(&token).send();
    assert_eq!(me.expect(200)["api_key"], masked(&user.api_key).as_str());
}

#[test]
fn other_users_keys_are_masked() {
    let admin = t().create_user("admin");
    let other = t().create_user("annotator");
    let answer = t().get("/api/users").key(&admin.api_key).send();
    let users = answer.expect(200);
    let listed_other = &users[position_of(users, "id", &other.id).unwrap()];
    assert_eq!(listed_other["api_key"], masked(&other.api_key).as_str());
    let listed_self = &users[position_of(users, "id", &admin.id).unwrap()];
    assert_eq!(listed_self["api_key"], admin.api_key.as_str());
    let listed_default = &users[position_of(users, "username", "argilla").unwrap()];
    assert_eq!(
        listed_default["api_key"],
        masked(DEFAULT_ADMIN_KEY).as_str()
    );
}

#[test]
fn keys_are_masked_in_answers_about_other_users() {
    let user = t().create_user("annotator");
    let workspace = t().create_workspace();
    let want = json!(masked(&user.api_key));
    let added = t().add_member(&workspace.id, &user.id);
    assert_eq!(added["api_key"], want, "member add");
    let members = t()
        .get(&format!("/api/workspaces/{}/users", workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert_eq!(members.expect(200)[0]["api_key"], want, "member list");
    let patched = t()
        .patch(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Patched"}))
        .send();
    assert_eq!(patched.expect(200)["api_key"], want, "patch");
    let deleted = t()
        .delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert_eq!(deleted.expect(200)["api_key"], want, "delete");
}

// ---- 9.7 API keys: rotation ---------------------------------------------------------------------

#[test]
fn an_admin_rotating_a_key_gets_the_new_full_key_and_the_old_one_fails_at_once() {
    let user = t().create_user("annotator");
    let answer = t()
        .post(&format!("/api/users/{}/api-key", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    let rotated = answer.expect(200);
    assert_eq!(rotated["id"], user.id.as_str());
    let new_key = rotated["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, user.api_key);
    assert!(!new_key.contains('…'), "the full key: {new_key}");
    t().get("/api/me")
        .key(&user.api_key)
        .send()
        .expect_json(401, &errors::unauthorized());
    assert_eq!(t().whoami_by_key(&new_key), Some(user.username));
}

#[test]
fn a_user_can_rotate_its_own_key() {
    let user = t().create_user("annotator");
    let answer = t()
        .post(&format!("/api/users/{}/api-key", user.id))
        .key(&user.api_key)
        .send();
    let new_key = answer.expect(200)["api_key"].as_str().unwrap().to_string();
    assert_ne!(new_key, user.api_key);
    t().get("/api/me")
        .key(&user.api_key)
        .send()
        .expect_json(401, &errors::unauthorized());
    let me = t().get("/api/me").key(&new_key).send();
    assert_eq!(me.expect(200)["api_key"], new_key.as_str());
}

#[test]
fn an_annotator_rotating_another_users_key_is_403_whether_or_not_it_exists() {
    let annotator = t().create_user("annotator");
    let other = t().create_user("annotator");
    for id in [other.id.clone(), random_id()] {
        t().post(&format!("/api/users/{id}/api-key"))
            .key(&annotator.api_key)
            .send()
            .expect_json(403, &errors::forbidden());
    }
    assert_eq!(t().whoami_by_key(&other.api_key), Some(other.username));
}

#[test]
fn an_admin_rotating_a_missing_users_key_is_404() {
    let id = random_id();
    t().post(&format!("/api/users/{id}/api-key"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &id));
}

// ---- 9.7 PATCH /api/users/{user_id} -------------------------------------------------------------

#[test]
fn patching_a_user_updates_its_names() {
    let user = t().create_user("annotator");
    let answer = t()
        .patch(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": " Ada ", "last_name": "Byron"}))
        .send();
    let patched = answer.expect(200);
    assert_eq!(patched["first_name"], "Ada");
    assert_eq!(patched["last_name"], "Byron");
    assert_eq!(patched["full_name"], "Ada Byron");
    assert_eq!(patched["username"], user.username.as_str());
    assert_eq!(patched["role"], "annotator");
    assert_eq!(patched["inserted_at"], user.json["inserted_at"]);
    let updated_at = patched["updated_at"].as_str().unwrap_or_default();
    assert!(is_timestamp(updated_at));
    assert!(updated_at >= user.json["inserted_at"].as_str().unwrap());
    let me = t().get("/api/me").key(&user.api_key).send();
    assert_eq!(me.expect(200)["full_name"], "Ada Byron");
}

#[test]
fn patching_with_nulls_or_nothing_changes_nothing() {
    let user = t().create_user("annotator");
    for body in [
        json!({}),
        json!({"first_name": null, "last_name": null, "role": null, "disabled": null}),
    ] {
        let answer = t()
            .patch(&format!("/api/users/{}", user.id))
            .key(DEFAULT_ADMIN_KEY)
            .json(&body)
            .send();
        let patched = answer.expect(200);
        assert_eq!(patched["first_name"], "Test", "{body}");
        assert_eq!(patched["last_name"], "User", "{body}");
        assert_eq!(patched["role"], "annotator", "{body}");
    }
    assert_eq!(t().whoami_by_key(&user.api_key), Some(user.username));
}

#[test]
fn the_username_cannot_be_patched() {
    let user = t().create_user("annotator");
    let answer = t()
        .patch(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"username": unique("u")}))
        .send();
    assert_eq!(answer.expect(200)["username"], user.username.as_str());
}

#[test]
fn patching_the_role_changes_what_the_user_may_do() {
    let user = t().create_user("annotator");
    let path = format!("/api/users/{}", user.id);
    t().get("/api/users").key(&user.api_key).send().expect(403);
    let promoted = t()
        .patch(&path)
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"role": "admin"}))
        .send();
    assert_eq!(promoted.expect(200)["role"], "admin");
    t().get("/api/users").key(&user.api_key).send().expect(200);
    t().patch(&path)
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"role": "annotator"}))
        .send()
        .expect(200);
    t().get("/api/users").key(&user.api_key).send().expect(403);
}

#[test]
fn patching_a_missing_user_is_404() {
    let id = random_id();
    t().patch(&format!("/api/users/{id}"))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Nobody"}))
        .send()
        .expect_json(404, &errors::not_found("User", &id));
}

#[test]
fn a_disabled_user_can_be_enabled_again() {
    let user = t().create_user("annotator");
    let path = format!("/api/users/{}", user.id);
    for (disabled, whoami) in [(true, None), (false, Some(user.username.clone()))] {
        t().patch(&path)
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"disabled": disabled}))
            .send()
            .expect(200);
        assert_eq!(
            t().whoami_by_key(&user.api_key),
            whoami,
            "disabled={disabled}"
        );
    }
}

// ---- 9.7 passwords ----------------------------------------------------------------------------

#[test]
fn changing_ones_own_password_answers_the_user_and_swaps_the_password() {
    let user = t().create_user("annotator");
    let answer = t()
        .put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": user.password, "new_password": "my-new-password"}))
        .send();
    assert_eq!(answer.expect(200)["id"], user.id.as_str());
    login_answer(t(), &user.username, &user.password).expect_json(401, &errors::unauthorized());
    login_answer(t(), &user.username, "my-new-password").expect(200);
}

#[test]
fn a_wrong_current_password_is_400() {
    let user = t().create_user("annotator");
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": "not-my-password", "new_password": "my-new-password"}))
        .send()
        .expect_json(400, &errors::bad_request("Current password is incorrect"));
    login_answer(t(), &user.username, &user.password).expect(200);
}

#[test]
fn an_admin_reset_answers_the_user_and_sets_the_password() {
    let user = t().create_user("annotator");
    let answer = t()
        .put(&format!("/api/users/{}/password", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "set-by-admin"}))
        .send();
    assert_eq!(answer.expect(200)["id"], user.id.as_str());
    login_answer(t(), &user.username, &user.password).expect_json(401, &errors::unauthorized());
    login_answer(t(), &user.username, "set-by-admin").expect(200);
}

#[test]
fn resetting_a_missing_users_password_is_404() {
    let id = random_id();
    t().put(&format!("/api/users/{id}/password"))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "set-by-admin"}))
        .send()
        .expect_json(404, &errors::not_found("User", &id));
}

// ---- 9.7 audit log ----------------------------------------------------------------------------

#[test]
fn creating_a_user_is_audited_with_actor_and_target() {
    let admin = t().create_user("admin");
    let created = t().create_user_as(&admin.api_key, "annotator");
    let entries = audit_entries_for(&created.id, "user.create");
    let entry = entries
        .iter()
        .find(|e| e["action"] == "user.create")
        .unwrap_or_else(|| panic!("a user.create entry for {}: {entries:?}", created.id));
    assert!(
        is_uuid_v4(entry["id"].as_str().unwrap_or_default()),
        "{entry}"
    );
    assert!(
        is_timestamp(entry["at"].as_str().unwrap_or_default()),
        "{entry}"
    );
    assert_eq!(entry["actor"], admin.username.as_str());
    assert_eq!(entry["actor_id"], admin.id.as_str());
    assert_eq!(entry["target_name"], created.username.as_str());
    assert!(entry["target_type"].is_string(), "{entry}");
}

#[test]
fn every_change_is_audited_newest_first() {
    let user = t().create_user("annotator");
    let user_path = format!("/api/users/{}", user.id);
    t().patch(&user_path)
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Changed"}))
        .send()
        .expect(200);
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": user.password, "new_password": "changed-password"}))
        .send()
        .expect(200);
    t().put(&format!("{user_path}/password"))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "reset-password"}))
        .send()
        .expect(200);
    t().post(&format!("{user_path}/api-key"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    t().delete(&user_path)
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    let entries: Vec<Value> = audit_entries_for(&user.id, "user.create")
        .into_iter()
        .filter(|e| {
            e["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("user.")
        })
        .collect();
    assert_eq!(
        actions(&entries),
        [
            "user.delete",
            "user.api_key.rotate",
            "user.password.reset",
            "user.password.change",
            "user.update",
            "user.create"
        ]
    );
    assert_eq!(entries[3]["actor"], user.username.as_str());
    assert_eq!(entries[0]["actor"], "argilla");
}

#[test]
fn workspace_changes_are_audited() {
    let user = t().create_user("annotator");
    let workspace = t().create_workspace();
    t().add_member(&workspace.id, &user.id);
    t().delete(&format!(
        "/api/workspaces/{}/users/{}",
        workspace.id, user.id
    ))
    .key(DEFAULT_ADMIN_KEY)
    .send()
    .expect(200);
    t().delete(&format!("/api/workspaces/{}", workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    // A membership entry may name the workspace or the user as its target.
    let mut entries = audit_entries_for(&workspace.id, "workspace.create");
    entries.extend(audit_entries_for(&user.id, "user.create"));
    entries.retain(|e| {
        e["action"]
            .as_str()
            .unwrap_or_default()
            .starts_with("workspace.")
    });
    entries.sort_by(|a, b| b["at"].as_str().cmp(&a["at"].as_str()));
    let created = entries
        .iter()
        .position(|e| e["action"] == "workspace.create")
        .unwrap_or_else(|| panic!("a workspace.create entry: {entries:?}"));
    entries.truncate(created + 1);
    assert_eq!(
        actions(&entries),
        [
            "workspace.delete",
            "workspace.member.remove",
            "workspace.member.add",
            "workspace.create"
        ]
    );
    assert_eq!(entries[0]["target_id"], workspace.id.as_str());
    assert_eq!(entries[0]["target_name"], workspace.name.as_str());
}

#[test]
fn the_audit_log_is_append_only() {
    for method in ["DELETE", "PUT", "POST", "PATCH"] {
        t().request(method, "/api/audit")
            .key(DEFAULT_ADMIN_KEY)
            .off_contract()
            .send()
            .expect_json(405, &errors::method_not_allowed());
    }
}

#[test]
fn the_audit_log_pages_with_limit_and_offset() {
    let Some(t) = Target::fresh() else { return };
    for _ in 0..3 {
        t.create_workspace();
    }
    let all = t.get("/api/audit").key(DEFAULT_ADMIN_KEY).send();
    let all = all.expect(200)["items"].as_array().unwrap().clone();
    assert!(all.len() >= 3, "{all:?}");
    let page = t
        .get("/api/audit?limit=2&offset=1")
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert_eq!(page.expect(200)["items"], json!(all[1..3]));
    let first = t.get("/api/audit?limit=1").key(DEFAULT_ADMIN_KEY).send();
    assert_eq!(first.expect(200)["items"], json!(all[0..1]));
}

// ---- 9.7 DELETE /api/workspaces/{workspace_id} --------------------------------------------------

#[test]
fn deleting_a_workspace_answers_it_and_removes_its_memberships() {
    let workspace = t().create_workspace();
    let member = t().create_user("annotator");
    t().add_member(&workspace.id, &member.id);
    t().delete(&format!("/api/workspaces/{}", workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(200, &workspace.json);
    t().get(&format!("/api/v1/workspaces/{}", workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &workspace.id));
    let list = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    assert!(position_of(list.expect(200), "id", &workspace.id).is_none());
    let me = t().get("/api/me").key(&member.api_key).send();
    assert_eq!(me.expect(200)["workspaces"], json!([member.username]));
}

#[test]
fn deleting_a_missing_workspace_is_404() {
    let id = random_id();
    t().delete(&format!("/api/workspaces/{id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &id));
}

#[test]
fn the_personal_workspace_of_an_existing_user_cannot_be_deleted() {
    let user = t().create_user("annotator");
    let list = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let at = position_of(list.expect(200), "name", &user.username).unwrap();
    let personal_id = list.json[at]["id"].as_str().unwrap().to_string();
    let name = &user.username;
    t().delete(&format!("/api/workspaces/{personal_id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(
            403,
            &errors::forbidden_because(&format!(
                "Workspace '{name}' is the personal workspace of user '{name}'; delete the user first"
            )),
        );
    t().delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    t().delete(&format!("/api/workspaces/{personal_id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
}

// ---- 9.8 the last admin -------------------------------------------------------------------------

#[track_caller]
fn expect_last_admin_refusal(answer: &Answer) {
    let body = answer.expect(403);
    assert_eq!(
        body["detail"]["code"],
        "argilla.api.errors::ForbiddenOperationError",
        "{}",
        answer.text()
    );
    let sentence = body["detail"]["params"]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sentence.to_lowercase().contains("admin") && sentence != "Operation not allowed",
        "a sentence saying why: {sentence:?}"
    );
}

fn default_admin_id(t: &Target) -> String {
    t.get("/api/me").key(DEFAULT_ADMIN_KEY).send().expect(200)["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_last_admin_cannot_be_deleted() {
    let Some(t) = Target::fresh() else { return };
    let id = default_admin_id(&t);
    expect_last_admin_refusal(
        &t.delete(&format!("/api/users/{id}"))
            .key(DEFAULT_ADMIN_KEY)
            .send(),
    );
    assert_eq!(
        t.whoami_by_key(DEFAULT_ADMIN_KEY).as_deref(),
        Some("argilla")
    );
}

#[test]
fn the_last_admin_cannot_be_demoted_or_disabled() {
    let Some(t) = Target::fresh() else { return };
    let id = default_admin_id(&t);
    for body in [json!({"role": "annotator"}), json!({"disabled": true})] {
        expect_last_admin_refusal(
            &t.patch(&format!("/api/users/{id}"))
                .key(DEFAULT_ADMIN_KEY)
                .json(&body)
                .send(),
        );
    }
    let me = t.get("/api/me").key(DEFAULT_ADMIN_KEY).send();
    assert_eq!(me.expect(200)["role"], "admin");
}

#[test]
fn an_admin_can_be_removed_while_another_enabled_admin_remains() {
    let Some(t) = Target::fresh() else { return };
    let id = default_admin_id(&t);
    let second = t.create_user("admin");
    t.patch(&format!("/api/users/{}", second.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"disabled": true}))
        .send()
        .expect(200);
    // A disabled admin does not count.
    expect_last_admin_refusal(
        &t.delete(&format!("/api/users/{id}"))
            .key(DEFAULT_ADMIN_KEY)
            .send(),
    );
    t.patch(&format!("/api/users/{}", second.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"disabled": false}))
        .send()
        .expect(200);
    t.patch(&format!("/api/users/{id}"))
        .key(&second.api_key)
        .json(&json!({"role": "annotator"}))
        .send()
        .expect(200);
    expect_last_admin_refusal(
        &t.delete(&format!("/api/users/{}", second.id))
            .key(&second.api_key)
            .send(),
    );
}

// ---- 9.6 login throttling -----------------------------------------------------------------------

#[test]
fn the_sixth_login_after_five_failures_is_429_even_with_the_right_password() {
    let user = t().create_user("annotator");
    for attempt in 1..=5 {
        let answer = login_answer(t(), &user.username, "wrong-password");
        assert_eq!(answer.status, 401, "attempt {attempt}: {}", answer.text());
    }
    let locked = login_answer(t(), &user.username, "wrong-password");
    let retry_after = retry_after_header(&locked);
    assert!((1..=30).contains(&retry_after), "Retry-After {retry_after}");
    locked.expect_json(429, &errors::too_many_requests(retry_after));
    let right = login_answer(t(), &user.username, &user.password);
    right.expect(429);
    assert_eq!(
        right.json["detail"]["code"],
        "argilla.api.errors::TooManyRequestsError"
    );
    assert!(right.header("retry-after").is_some());
}

#[test]
fn throttling_one_username_leaves_others_alone() {
    let locked = t().create_user("annotator");
    let other = t().create_user("annotator");
    for _ in 0..6 {
        login_answer(t(), &locked.username, "wrong-password");
    }
    login_answer(t(), &locked.username, &locked.password).expect(429);
    login_answer(t(), &other.username, &other.password).expect(200);
    // Keys and tokens are not logins: the locked user's key still works.
    assert_eq!(t().whoami_by_key(&locked.api_key), Some(locked.username));
}

#[test]
fn unknown_usernames_are_throttled_like_known_ones() {
    let nobody = unique("nobody");
    for _ in 0..5 {
        login_answer(t(), &nobody, "wrong-password").expect_json(401, &errors::unauthorized());
    }
    let answer = login_answer(t(), &nobody, "wrong-password");
    answer.expect_json(429, &errors::too_many_requests(retry_after_header(&answer)));
}

#[test]
fn a_successful_login_clears_the_failure_count() {
    let user = t().create_user("annotator");
    for _ in 0..4 {
        login_answer(t(), &user.username, "wrong-password").expect(401);
    }
    login_answer(t(), &user.username, &user.password).expect(200);
    for _ in 0..4 {
        login_answer(t(), &user.username, "wrong-password").expect(401);
    }
    login_answer(t(), &user.username, &user.password).expect(200);
}

#[test]
fn a_wrong_current_password_counts_as_a_failed_login() {
    let user = t().create_user("annotator");
    for _ in 0..5 {
        t().put("/api/me/password")
            .key(&user.api_key)
            .json(&json!({"current_password": "wrong-password", "new_password": "whatever-new"}))
            .send()
            .expect(400);
    }
    login_answer(t(), &user.username, &user.password).expect(429);
}

#[test]
fn an_admin_password_reset_clears_the_throttle() {
    let user = t().create_user("annotator");
    for _ in 0..6 {
        login_answer(t(), &user.username, "wrong-password");
    }
    login_answer(t(), &user.username, &user.password).expect(429);
    t().put(&format!("/api/users/{}/password", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "after-reset"}))
        .send()
        .expect(200);
    login_answer(t(), &user.username, "after-reset").expect(200);
}

#[test]
fn a_lock_lasts_30_seconds_then_doubles_with_each_further_failure() {
    let Some(t) = Target::fresh() else { return };
    let user = t.create_user("annotator");
    for _ in 0..5 {
        login_answer(&t, &user.username, "wrong-password").expect(401);
    }
    let locked = login_answer(&t, &user.username, &user.password);
    locked.expect(429);
    assert!(retry_after_header(&locked) <= 30);
    t.advance_clock(31);
    // The lock is over; one more failure locks for 60 s.
    login_answer(&t, &user.username, "wrong-password").expect(401);
    let relocked = login_answer(&t, &user.username, &user.password);
    relocked.expect(429);
    let retry_after = retry_after_header(&relocked);
    assert!(
        (31..=60).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    t.advance_clock(61);
    login_answer(&t, &user.username, &user.password).expect(200);
}

// ---- section 8: the default user ----------------------------------------------------------------

#[test]
fn an_empty_store_gets_the_default_admin_and_its_workspace() {
    let Some(t) = Target::fresh() else { return };
    let users = t.get("/api/users").key(DEFAULT_ADMIN_KEY).send();
    let users = users.expect(200);
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    assert_eq!(users[0]["username"], "argilla");
    assert_eq!(users[0]["role"], "admin");
    assert_eq!(users[0]["workspaces"], json!(["argilla"]));
    let workspaces = t.get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let workspaces = workspaces.expect(200);
    assert_eq!(workspaces.as_array().map(Vec::len), Some(1), "{workspaces}");
    assert_eq!(workspaces[0]["name"], "argilla");
    let token = t.login("argilla", "1234");
    assert_eq!(t.whoami_by_token(&token).as_deref(), Some("argilla"));
    let audit = t.get("/api/audit").key(DEFAULT_ADMIN_KEY).send();
    let created = audit.expect(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "user.create" && e["target_name"] == "argilla")
        .cloned()
        .unwrap_or_else(|| panic!("a user.create entry for argilla: {}", audit.text()));
    assert_eq!(created["actor"], "system");
}

// ---- 9.12 GET /api/me/credentials --------------------------------------------------------------

#[test]
fn me_credentials_flags_the_default_admins_well_known_password_and_key() {
    let answer = t().get("/api/me/credentials").key(DEFAULT_ADMIN_KEY).send();
    assert_eq!(
        answer.expect(200),
        &json!({"default_password": true, "default_api_key": true}),
        "{}",
        answer.request
    );
}

#[test]
fn me_credentials_of_a_new_user_flags_nothing_by_key_token_or_after_a_reset() {
    let user = t().create_user("annotator");
    let by_key = t().get("/api/me/credentials").key(&user.api_key).send();
    assert_eq!(
        by_key.expect(200),
        &json!({"default_password": false, "default_api_key": false})
    );
    // Bearer tokens work as well as keys.
    let token = t().login(&user.username, &user.password);
    let by_token = t().get("/api/me/credentials").bearer(&token).send();
    assert_eq!(
        by_token.expect(200),
        &json!({"default_password": false, "default_api_key": false})
    );
    // A reset to another password (the well-known `1234` is too short to set) stays unflagged.
    t().put(&format!("/api/users/{}/password", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "12345678"}))
        .send()
        .expect(200);
    let answer = t().get("/api/me/credentials").key(&user.api_key).send();
    assert_eq!(answer.expect(200)["default_password"], json!(false));
}

#[test]
fn me_credentials_needs_authentication() {
    let answer = t().get("/api/me/credentials").send();
    answer.expect(401);
    let answer = t()
        .post("/api/me/credentials")
        .key(DEFAULT_ADMIN_KEY)
        .off_contract()
        .send();
    answer.expect(405);
}
