//! API.md section 5: workspace membership, `/api/workspaces/{workspace_id}/users[/{user_id}]`.

use workgate_conformance::errors;
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

fn members_path(workspace_id: &str) -> String {
    format!("/api/workspaces/{workspace_id}/users")
}

fn member_path(workspace_id: &str, user_id: &str) -> String {
    format!("/api/workspaces/{workspace_id}/users/{user_id}")
}

#[test]
fn members_are_listed_as_users_in_membership_order() {
    let workspace = t().create_workspace();
    let created_first = t().create_user("annotator");
    let created_second = t().create_user("admin");
    t().add_member(&workspace.id, &created_second.id);
    t().add_member(&workspace.id, &created_first.id);
    let answer = t()
        .get(&members_path(&workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    let members = answer.expect(200);
    let ids: Vec<&str> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(ids, [created_second.id.as_str(), created_first.id.as_str()]);
    assert_eq!(members[1]["username"], created_first.username.as_str());
    assert_eq!(
        members[1]["workspaces"],
        json!([created_first.username, workspace.name])
    );
}

#[test]
fn listing_members_of_a_missing_workspace_is_404() {
    let id = random_id();
    t().get(&members_path(&id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &id));
}

#[test]
fn adding_a_member_answers_the_user_with_its_workspaces_updated() {
    let workspace = t().create_workspace();
    let user = t().create_user("annotator");
    let answer = t()
        .post(&member_path(&workspace.id, &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    let body = answer.expect(200);
    assert_eq!(body["id"], user.id.as_str());
    assert_eq!(body["username"], user.username.as_str());
    assert_eq!(body["workspaces"], json!([user.username, workspace.name]));
}

#[test]
fn adding_a_member_twice_is_409_naming_the_user_id() {
    let workspace = t().create_workspace();
    let user = t().create_user("annotator");
    t().add_member(&workspace.id, &user.id);
    t().post(&member_path(&workspace.id, &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(409, &errors::already_exists("User", &user.id));
}

#[test]
fn a_user_is_already_a_member_of_its_personal_workspace() {
    let user = t().create_user("annotator");
    let workspaces = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let at = position_of(workspaces.expect(200), "name", &user.username).unwrap();
    let personal_id = workspaces.json[at]["id"].as_str().unwrap();
    t().post(&member_path(personal_id, &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(409, &errors::already_exists("User", &user.id));
}

#[test]
fn adding_to_a_missing_workspace_is_404_workspace_before_user() {
    let (workspace_id, user_id) = (random_id(), random_id());
    t().post(&member_path(&workspace_id, &user_id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &workspace_id));
}

#[test]
fn adding_a_missing_user_is_404_user() {
    let workspace = t().create_workspace();
    let user_id = random_id();
    t().post(&member_path(&workspace.id, &user_id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &user_id));
}

#[test]
fn removing_a_member_answers_the_user_after_removal() {
    let workspace = t().create_workspace();
    let user = t().create_user("annotator");
    t().add_member(&workspace.id, &user.id);
    let answer = t()
        .delete(&member_path(&workspace.id, &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    let body = answer.expect(200);
    assert_eq!(body["id"], user.id.as_str());
    assert_eq!(body["workspaces"], json!([user.username]));
    let members = t()
        .get(&members_path(&workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert!(position_of(members.expect(200), "id", &user.id).is_none());
}

#[test]
fn removing_a_non_member_is_404_naming_the_user_id() {
    let workspace = t().create_workspace();
    let user = t().create_user("annotator");
    t().delete(&member_path(&workspace.id, &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &user.id));
}

#[test]
fn removing_a_missing_user_is_404_naming_the_user_id() {
    let workspace = t().create_workspace();
    let user_id = random_id();
    t().delete(&member_path(&workspace.id, &user_id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &user_id));
}

#[test]
fn membership_decides_whether_an_annotator_may_read_a_workspace() {
    let annotator = t().create_user("annotator");
    let workspace = t().create_workspace();
    let path = format!("/api/v1/workspaces/{}", workspace.id);
    t().get(&path)
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
    t().add_member(&workspace.id, &annotator.id);
    t().get(&path).key(&annotator.api_key).send().expect(200);
    t().delete(&member_path(&workspace.id, &annotator.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    t().get(&path)
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn membership_shows_in_the_members_own_lists() {
    let annotator = t().create_user("annotator");
    let workspace = t().create_workspace();
    t().add_member(&workspace.id, &annotator.id);
    let me = t().get("/api/me").key(&annotator.api_key).send();
    assert_eq!(
        me.expect(200)["workspaces"],
        json!([annotator.username, workspace.name])
    );
    let listed = t().get("/api/workspaces").key(&annotator.api_key).send();
    assert!(position_of(listed.expect(200), "id", &workspace.id).is_some());
}

#[test]
fn removing_from_a_missing_workspace_is_404_naming_the_user_id() {
    // As Argilla: the membership is looked up as one thing, and a missing one names the user.
    let user = t().create_user("annotator");
    t().delete(&member_path(&random_id(), &user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &user.id));
}
