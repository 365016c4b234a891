//! API.md section 5: `/api/workspaces`, `/api/v1/workspaces/{id}` and `/api/v1/me/workspaces`.

use workgate_conformance::errors;
use workgate_conformance::formats::{is_timestamp, is_uuid_v4};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

fn item_names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list, got {list}"))
        .iter()
        .map(|w| w["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn creating_a_workspace_answers_the_workspace() {
    let name = unique("ws");
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": name}))
        .send();
    let workspace = answer.expect(200);
    assert!(is_uuid_v4(workspace["id"].as_str().unwrap_or_default()));
    assert_eq!(workspace["name"], name.as_str());
    assert!(is_timestamp(
        workspace["inserted_at"].as_str().unwrap_or_default()
    ));
    assert_eq!(workspace["updated_at"], workspace["inserted_at"]);
    assert_eq!(
        workspace.as_object().map(|o| o.len()),
        Some(4),
        "{workspace}"
    );
}

#[test]
fn a_duplicate_workspace_name_is_409() {
    let workspace = t().create_workspace();
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": workspace.name}))
        .send()
        .expect_json(409, &errors::already_exists("Workspace", &workspace.name));
}

#[test]
fn a_workspace_name_is_required() {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"title": "x"}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![errors::missing(json!(["body", "name"]))]),
        );
}

#[test]
fn admins_list_every_workspace_as_created() {
    let workspace = t().create_workspace();
    let admin = t().create_user("admin");
    let answer = t().get("/api/workspaces").key(&admin.api_key).send();
    let list = answer.expect(200);
    let listed = &list[position_of(list, "id", &workspace.id).expect("listed")];
    assert_eq!(listed, &workspace.json);
}

#[test]
fn annotators_list_only_their_own_workspaces() {
    let annotator = t().create_user("annotator");
    let joined = t().create_workspace();
    let other = t().create_workspace();
    t().add_member(&joined.id, &annotator.id);
    let answer = t().get("/api/workspaces").key(&annotator.api_key).send();
    assert_eq!(
        item_names(answer.expect(200)),
        [annotator.username.clone(), joined.name]
    );
    assert!(position_of(&answer.json, "id", &other.id).is_none());
}

#[test]
fn get_workspace_by_id_answers_the_workspace() {
    let workspace = t().create_workspace();
    t().get(&format!("/api/v1/workspaces/{}", workspace.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(200, &workspace.json);
}

#[test]
fn a_member_can_get_its_workspace_by_id() {
    let annotator = t().create_user("annotator");
    let workspace = t().create_workspace();
    t().add_member(&workspace.id, &annotator.id);
    t().get(&format!("/api/v1/workspaces/{}", workspace.id))
        .key(&annotator.api_key)
        .send()
        .expect_json(200, &workspace.json);
}

#[test]
fn getting_a_missing_workspace_is_404_in_the_envelope() {
    let id = random_id();
    t().get(&format!("/api/v1/workspaces/{id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &id));
}

#[test]
fn my_workspaces_for_an_annotator_are_its_memberships() {
    let annotator = t().create_user("annotator");
    let joined = t().create_workspace();
    let other = t().create_workspace();
    t().add_member(&joined.id, &annotator.id);
    let answer = t()
        .get("/api/v1/me/workspaces")
        .key(&annotator.api_key)
        .send();
    let body = answer.expect(200);
    assert_eq!(
        item_names(&body["items"]),
        [annotator.username.clone(), joined.name]
    );
    assert_eq!(body["items"][1], joined.json);
    assert!(position_of(&body["items"], "id", &other.id).is_none());
}

#[test]
fn my_workspaces_for_an_admin_are_all_workspaces() {
    let admin = t().create_user("admin");
    let not_joined = t().create_workspace();
    let answer = t().get("/api/v1/me/workspaces").key(&admin.api_key).send();
    let items = &answer.expect(200)["items"];
    let at = position_of(items, "id", &not_joined.id).expect("every workspace is listed");
    assert_eq!(items[at], not_joined.json);
}
