//! API.md sections 5–7: `/api/me`, `/api/users`, and the personal workspace every user gets.

use workgate_conformance::errors;
use workgate_conformance::formats::{is_timestamp, is_uuid_v4};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list, got {list}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("a name, got {v}"))
                .to_string()
        })
        .collect()
}

// ---- POST /api/users --------------------------------------------------------------------------

#[test]
fn creating_a_user_answers_the_user_with_its_full_new_api_key() {
    let username = unique("u");
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({
            "first_name": "Grace",
            "last_name": "Hopper",
            "username": username,
            "role": "annotator",
            "password": "12345678",
        }))
        .send();
    let user = answer.expect(200);
    assert!(
        is_uuid_v4(user["id"].as_str().unwrap_or_default()),
        "{user}"
    );
    assert_eq!(user["first_name"], "Grace");
    assert_eq!(user["last_name"], "Hopper");
    assert_eq!(user["full_name"], "Grace Hopper");
    assert_eq!(user["username"], username.as_str());
    assert_eq!(user["role"], "annotator");
    assert_eq!(user["workspaces"], json!([username]));
    assert!(is_timestamp(
        user["inserted_at"].as_str().unwrap_or_default()
    ));
    let key = user["api_key"].as_str().unwrap_or_default();
    assert!(!key.contains('…'), "the full key, not a masked one: {key}");
    assert_eq!(t().whoami_by_key(key), Some(username));
}

#[test]
fn every_new_user_gets_its_own_api_key() {
    let a = t().create_user("annotator");
    let b = t().create_user("annotator");
    assert_ne!(a.api_key, b.api_key);
}

#[test]
fn a_duplicate_username_is_409() {
    let user = t().create_user("annotator");
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Again", "username": user.username, "password": "12345678"}))
        .send()
        .expect_json(409, &errors::already_exists("User", &user.username));
}

#[test]
fn a_new_user_can_log_in_with_its_password() {
    let user = t().create_user("admin");
    let token = t().login(&user.username, &user.password);
    assert_eq!(t().whoami_by_token(&token), Some(user.username));
}

// ---- personal workspaces (section 7, 9.1) -------------------------------------------------------

#[test]
fn creating_a_user_creates_its_personal_workspace() {
    let user = t().create_user("annotator");
    assert_eq!(user.json["workspaces"], json!([user.username]));
    let workspaces = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let at = position_of(workspaces.expect(200), "name", &user.username)
        .expect("the personal workspace is listed");
    let workspace_id = workspaces.json[at]["id"].as_str().unwrap();
    let members = t()
        .get(&format!("/api/workspaces/{workspace_id}/users"))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert!(position_of(members.expect(200), "id", &user.id).is_some());
}

#[test]
fn creating_a_user_joins_an_existing_workspace_of_its_name() {
    let username = unique("u");
    let existing = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": username}))
        .send();
    let existing_id = existing.expect(200)["id"].clone();
    let created = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "username": username, "password": "12345678"}))
        .send();
    assert_eq!(created.expect(200)["workspaces"], json!([username]));
    let workspaces = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let same_name: Vec<&Value> = workspaces
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == username.as_str())
        .collect();
    assert_eq!(same_name.len(), 1, "one workspace named {username}");
    assert_eq!(same_name[0]["id"], existing_id);
}

#[test]
fn a_workspace_cannot_take_the_name_of_a_users_personal_workspace() {
    let user = t().create_user("annotator");
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": user.username}))
        .send()
        .expect_json(409, &errors::already_exists("Workspace", &user.username));
}

// ---- GET /api/me ------------------------------------------------------------------------------

#[test]
fn get_me_answers_the_caller() {
    let user = t().create_user("annotator");
    let answer = t().get("/api/me").key(&user.api_key).send();
    let me = answer.expect(200);
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["username"], user.username.as_str());
    assert_eq!(me["first_name"], "Test");
    assert_eq!(me["last_name"], "User");
    assert_eq!(me["full_name"], "Test User");
    assert_eq!(me["role"], "annotator");
    assert_eq!(me["workspaces"], json!([user.username]));
    assert_eq!(me["inserted_at"], user.json["inserted_at"]);
}

#[test]
fn get_me_for_an_annotator_lists_its_workspaces_by_membership_time() {
    let user = t().create_user("annotator");
    let first_created = t().create_workspace();
    let second_created = t().create_workspace();
    t().add_member(&second_created.id, &user.id);
    t().add_member(&first_created.id, &user.id);
    let me = t().get("/api/me").key(&user.api_key).send();
    assert_eq!(
        names(&me.expect(200)["workspaces"]),
        [
            user.username.clone(),
            second_created.name,
            first_created.name
        ]
    );
}

#[test]
fn get_me_for_an_admin_lists_every_workspace_name() {
    let admin = t().create_user("admin");
    let not_a_member_of = t().create_workspace();
    let me = t().get("/api/me").key(&admin.api_key).send();
    let workspaces = names(&me.expect(200)["workspaces"]);
    assert!(workspaces.contains(&not_a_member_of.name), "{workspaces:?}");
    assert!(workspaces.contains(&admin.username), "{workspaces:?}");
    assert!(
        workspaces.contains(&"argilla".to_string()),
        "{workspaces:?}"
    );
}

#[test]
fn the_default_admin_exists_with_its_default_key_and_workspace() {
    let me = t().get("/api/me").key(DEFAULT_ADMIN_KEY).send();
    let me = me.expect(200);
    assert_eq!(me["username"], "argilla");
    assert_eq!(me["role"], "admin");
    assert!(names(&me["workspaces"]).contains(&"argilla".to_string()));
}

// ---- GET /api/users ---------------------------------------------------------------------------

#[test]
fn listing_users_includes_every_user_as_a_user() {
    let user = t().create_user("annotator");
    let admin = t().create_user("admin");
    let users = t().get("/api/users").key(&admin.api_key).send();
    let list = users.expect(200);
    let listed = &list[position_of(list, "id", &user.id).expect("the annotator is listed")];
    assert_eq!(listed["username"], user.username.as_str());
    assert_eq!(listed["role"], "annotator");
    assert_eq!(listed["full_name"], "Test User");
    assert_eq!(listed["workspaces"], json!([user.username]));
    assert_eq!(listed["inserted_at"], user.json["inserted_at"]);
    assert!(position_of(list, "username", "argilla").is_some());
    assert!(position_of(list, "id", &admin.id).is_some());
}

// ---- DELETE /api/users/{user_id} ---------------------------------------------------------------

#[test]
fn deleting_a_user_answers_the_deleted_user_and_it_is_gone() {
    let user = t().create_user("annotator");
    let answer = t()
        .delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    let deleted = answer.expect(200);
    assert_eq!(deleted["id"], user.id.as_str());
    assert_eq!(deleted["username"], user.username.as_str());
    let users = t().get("/api/users").key(DEFAULT_ADMIN_KEY).send();
    assert!(position_of(users.expect(200), "id", &user.id).is_none());
    t().delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &user.id));
}

#[test]
fn deleting_a_missing_user_is_404_naming_the_id() {
    let id = random_id();
    t().delete(&format!("/api/users/{id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &id));
}

#[test]
fn deleting_a_user_keeps_its_personal_workspace_and_drops_its_memberships() {
    let user = t().create_user("annotator");
    let team = t().create_workspace();
    t().add_member(&team.id, &user.id);
    t().delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    let workspaces = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    assert!(position_of(workspaces.expect(200), "name", &user.username).is_some());
    let members = t()
        .get(&format!("/api/workspaces/{}/users", team.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert!(position_of(members.expect(200), "id", &user.id).is_none());
}
