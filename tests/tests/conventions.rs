//! API.md sections 1 and 2: wire conventions, error envelopes, routing errors and the order in
//! which checks are made.

use workgate_conformance::errors::{self, bad_uuid, missing, not_a_dict, not_a_string};
use workgate_conformance::formats::{is_timestamp, is_uuid_v4};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

// ---- 1. Conventions ---------------------------------------------------------------------------

#[test]
fn ids_are_uuid_v4_strings_with_dashes() {
    let user = t().create_user("annotator");
    let workspace = t().create_workspace();
    assert!(is_uuid_v4(&user.id), "user id {}", user.id);
    assert!(is_uuid_v4(&workspace.id), "workspace id {}", workspace.id);
}

#[test]
fn timestamps_are_naive_utc_with_microseconds_and_no_zone() {
    let user = t().create_user("annotator");
    let workspace = t().create_workspace();
    for entity in [&user.json, &workspace.json] {
        for field in ["inserted_at", "updated_at"] {
            let value = entity[field].as_str().unwrap_or_default();
            assert!(is_timestamp(value), "{field} = {value:?} in {entity}");
        }
    }
}

#[test]
fn updated_at_equals_inserted_at_on_insert() {
    let user = t().create_user("annotator");
    let workspace = t().create_workspace();
    assert_eq!(user.json["updated_at"], user.json["inserted_at"]);
    assert_eq!(workspace.json["updated_at"], workspace.json["inserted_at"]);
}

#[test]
fn null_fields_are_omitted_not_sent_as_null() {
    let username = unique("u");
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Solo", "username": username, "password": "12345678"}))
        .send();
    let created = answer.expect(200).clone();
    assert!(created.get("last_name").is_none(), "{created}");
    assert_eq!(created["full_name"], "Solo");

    let key = created["api_key"].as_str().unwrap();
    let me = t().get("/api/me").key(key).send();
    assert!(me.expect(200).get("last_name").is_none(), "{}", me.json);
    let users = t().get("/api/users").key(DEFAULT_ADMIN_KEY).send();
    let listed = &users.expect(200)[position_of(&users.json, "username", &username).unwrap()];
    assert!(listed.get("last_name").is_none(), "{listed}");
}

#[test]
fn full_name_is_first_name_space_last_name() {
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Ada", "last_name": "Lovelace", "username": unique("u"), "password": "12345678"}))
        .send();
    assert_eq!(answer.expect(200)["full_name"], "Ada Lovelace");
}

#[test]
fn user_fields_are_sent_in_the_declared_order() {
    let user = t().create_user("annotator");
    let answer = t().get("/api/me").key(&user.api_key).send();
    answer.expect(200);
    assert_eq!(
        answer.key_order(),
        [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "username",
            "role",
            "workspaces",
            "api_key",
            "inserted_at",
            "updated_at"
        ]
    );
}

#[test]
fn workspace_fields_are_id_name_inserted_at_updated_at() {
    let name = unique("ws");
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": name}))
        .send();
    answer.expect(200);
    assert_eq!(
        answer.key_order(),
        ["id", "name", "inserted_at", "updated_at"]
    );
}

#[test]
fn users_are_listed_in_insertion_order() {
    let first = t().create_user("annotator");
    let second = t().create_user("admin");
    let third = t().create_user("annotator");
    let users = t().get("/api/users").key(DEFAULT_ADMIN_KEY).send();
    users.expect(200);
    let at = |u: &CreatedUser| position_of(&users.json, "id", &u.id).expect("listed");
    assert!(at(&first) < at(&second) && at(&second) < at(&third));
}

#[test]
fn workspaces_are_listed_in_insertion_order() {
    let first = t().create_workspace();
    let second = t().create_workspace();
    let list = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    list.expect(200);
    let at = |w: &CreatedWorkspace| position_of(&list.json, "id", &w.id).expect("listed");
    assert!(at(&first) < at(&second));
}

#[test]
fn creates_answer_200_not_201() {
    let user = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "username": unique("u"), "password": "12345678"}))
        .send();
    assert_eq!(user.status, 200, "{}", user.text());
    let workspace = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": unique("ws")}))
        .send();
    assert_eq!(workspace.status, 200, "{}", workspace.text());
}

#[test]
fn deletes_answer_200_with_the_deleted_entity_not_204() {
    let user = t().create_user("annotator");
    let answer = t()
        .delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send();
    assert_eq!(answer.expect(200)["id"], user.id.as_str());
    assert_eq!(answer.json["username"], user.username.as_str());
}

#[test]
fn unknown_fields_in_request_bodies_are_ignored() {
    let name = unique("ws");
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(
            &json!({"name": name, "colour": "blue", "id": "00000000-0000-4000-8000-000000000000"}),
        )
        .send();
    assert_eq!(answer.expect(200)["name"], name.as_str());
    assert_ne!(answer.json["id"], "00000000-0000-4000-8000-000000000000");
}

#[test]
fn an_api_key_given_at_user_creation_is_ignored() {
    let chosen = unique("my-key");
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "username": unique("u"), "password": "12345678", "api_key": chosen}))
        .send();
    assert_ne!(answer.expect(200)["api_key"], chosen.as_str());
    t().get("/api/me")
        .key(&chosen)
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn json_null_for_an_optional_field_means_not_given() {
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "last_name": null, "role": null, "username": unique("u"), "password": "12345678"}))
        .send();
    let user = answer.expect(200);
    assert!(user.get("last_name").is_none(), "{user}");
    assert_eq!(user["role"], "annotator");
}

#[test]
fn a_json_body_without_content_type_is_still_read() {
    let name = unique("ws");
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json_without_content_type(&json!({"name": name}))
        .send();
    assert_eq!(answer.expect(200)["name"], name.as_str());
}

#[test]
fn a_json_content_type_with_parameters_is_json() {
    let name = unique("ws");
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .header("Content-Type", "application/json; charset=utf-8")
        .raw_body(json!({"name": name}).to_string())
        .send();
    assert_eq!(answer.expect(200)["name"], name.as_str());
}

#[test]
fn a_form_body_on_a_json_endpoint_is_422_type_error_dict() {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .form(&[("name", &unique("ws"))])
        .send()
        .expect_json(422, &errors::validation(vec![not_a_dict()]));
}

#[test]
fn a_json_body_that_is_not_an_object_is_422_type_error_dict() {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!(["name"]))
        .send()
        .expect_json(422, &errors::validation(vec![not_a_dict()]));
}

#[test]
fn a_body_that_is_not_json_is_422_jsondecode_at_a_character_position() {
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .header("Content-Type", "application/json")
        .raw_body(r#"{"name": "#)
        .send();
    let body = answer.expect(422);
    assert_eq!(
        body["detail"]["code"],
        "argilla.api.errors::ValidationError"
    );
    let items = body["detail"]["params"]["errors"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{body}");
    assert_eq!(items[0]["type"], "value_error.jsondecode");
    assert_eq!(items[0]["loc"][0], "body");
    assert!(items[0]["loc"][1].is_u64(), "{body}");
    assert!(
        items[0]["msg"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Invalid JSON"),
        "{body}"
    );
}

#[test]
fn an_empty_body_where_one_is_needed_is_422_body_missing() {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .header("Content-Type", "application/json")
        .send()
        .expect_json(422, &errors::validation(vec![missing(json!(["body"]))]));
}

#[test]
fn a_number_where_a_string_is_expected_is_coerced_to_a_string() {
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": 42, "username": unique("u"), "password": "12345678"}))
        .send();
    assert_eq!(answer.expect(200)["first_name"], "42");
}

#[test]
fn a_list_where_a_string_is_expected_is_422_str_type_expected() {
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": ["A"], "username": unique("u"), "password": "12345678"}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![not_a_string(json!(["body", "first_name"]))]),
        );
}

#[test]
fn json_answers_carry_content_type_application_json() {
    let ok = t().get("/api/me").key(DEFAULT_ADMIN_KEY).send();
    let error = t().get("/api/me").send();
    for answer in [ok, error] {
        let content_type = answer.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "{}: content-type {content_type:?}",
            answer.request
        );
    }
}

// ---- 2. Errors: routing -----------------------------------------------------------------------

#[test]
fn a_known_path_with_a_wrong_method_is_405() {
    let answer = t()
        .put("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .off_contract()
        .send();
    answer.expect_json(405, &errors::method_not_allowed());
    let allow = answer.header("allow").unwrap_or_default().to_string();
    assert!(
        allow.contains("GET") && allow.contains("POST"),
        "Allow: {allow:?}"
    );
}

#[test]
fn get_on_a_post_only_path_is_405() {
    t().get("/api/security/token")
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
    t().get("/api/users/00000000-0000-4000-8000-000000000000/api-key")
        .key(DEFAULT_ADMIN_KEY)
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
}

#[test]
fn delete_on_api_me_is_405() {
    t().delete("/api/me")
        .key(DEFAULT_ADMIN_KEY)
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
}

#[test]
fn a_wrong_method_is_405_even_without_credentials() {
    t().put("/api/users")
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
}

#[test]
fn an_unknown_path_under_api_is_404_not_found() {
    for path in [
        "/api/nothing-here",
        "/api/users/00000000-0000-4000-8000-000000000000/friends",
        "/api/v1/nothing",
    ] {
        t().get(path)
            .key(DEFAULT_ADMIN_KEY)
            .off_contract()
            .send()
            .expect_json(404, &errors::route_not_found());
    }
}

#[test]
fn an_unknown_path_is_404_even_without_credentials() {
    t().get("/api/nothing-here")
        .off_contract()
        .send()
        .expect_json(404, &errors::route_not_found());
}

// ---- 2. Errors: envelopes ---------------------------------------------------------------------

#[test]
fn a_400_is_a_bad_request_error_envelope() {
    let user = t().create_user("annotator");
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": "not-the-password", "new_password": "12345678"}))
        .send()
        .expect_json(400, &errors::bad_request("Current password is incorrect"));
}

#[test]
fn a_401_is_an_unauthorized_error_envelope_with_www_authenticate_bearer() {
    let answer = t().get("/api/me").send();
    answer.expect_json(401, &errors::unauthorized());
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn a_403_is_a_forbidden_operation_error_envelope() {
    let annotator = t().create_user("annotator");
    t().get("/api/users")
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn a_404_is_an_entity_not_found_error_envelope() {
    let id = random_id();
    t().delete(&format!("/api/users/{id}"))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(404, &errors::not_found("User", &id));
}

#[test]
fn a_409_is_an_entity_already_exists_error_envelope() {
    let workspace = t().create_workspace();
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": workspace.name}))
        .send()
        .expect_json(409, &errors::already_exists("Workspace", &workspace.name));
}

#[test]
fn a_422_is_a_validation_error_envelope_with_model_request() {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![missing(json!(["body", "name"]))]),
        );
}

#[test]
fn a_429_is_a_too_many_requests_error_envelope_with_retry_after() {
    let user = t().create_user("annotator");
    for _ in 0..5 {
        t().post("/api/security/token")
            .form(&[("username", &user.username), ("password", "wrong-password")])
            .send()
            .expect(401);
    }
    let answer = t()
        .post("/api/security/token")
        .form(&[("username", &user.username), ("password", "wrong-password")])
        .send();
    answer.expect(429);
    let retry_after: u64 = answer
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("a whole-seconds Retry-After header");
    answer.expect_json(429, &errors::too_many_requests(retry_after));
}

// ---- 2. Order of checks: 401 → 422 → 403 → 404/409 ------------------------------------------

#[test]
fn authentication_comes_before_validation() {
    t().post("/api/users")
        .json(&json!({"username": "Not Valid"}))
        .send()
        .expect_json(401, &errors::unauthorized());
    t().delete("/api/users/not-a-uuid")
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn validation_comes_before_authorisation() {
    let annotator = t().create_user("annotator");
    t().post("/api/workspaces")
        .key(&annotator.api_key)
        .json(&json!({"name": "Not Valid"}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![errors::bad_name(json!(["body", "name"]))]),
        );
    t().delete("/api/users/not-a-uuid")
        .key(&annotator.api_key)
        .send()
        .expect_json(
            422,
            &errors::validation(vec![bad_uuid(json!(["path", "user_id"]))]),
        );
}

#[test]
fn authorisation_comes_before_conflicts() {
    let annotator = t().create_user("annotator");
    let existing = t().create_workspace();
    t().post("/api/workspaces")
        .key(&annotator.api_key)
        .json(&json!({"name": existing.name}))
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn authorisation_comes_before_existence_when_listing_members() {
    let annotator = t().create_user("annotator");
    let missing_workspace = random_id();
    t().get(&format!("/api/workspaces/{missing_workspace}/users"))
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn authorisation_comes_before_existence_when_adding_a_member() {
    let annotator = t().create_user("annotator");
    let (workspace, user) = (random_id(), random_id());
    t().post(&format!("/api/workspaces/{workspace}/users/{user}"))
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn exception_deleting_a_missing_user_is_404_before_403() {
    let annotator = t().create_user("annotator");
    let missing_user = random_id();
    t().delete(&format!("/api/users/{missing_user}"))
        .key(&annotator.api_key)
        .send()
        .expect_json(404, &errors::not_found("User", &missing_user));
    let existing = t().create_user("annotator");
    t().delete(&format!("/api/users/{}", existing.id))
        .key(&annotator.api_key)
        .send()
        .expect_json(403, &errors::forbidden());
}

#[test]
fn exception_removing_a_non_member_is_404_before_403() {
    let annotator = t().create_user("annotator");
    let workspace = t().create_workspace();
    let outsider = t().create_user("annotator");
    t().delete(&format!(
        "/api/workspaces/{}/users/{}",
        workspace.id, outsider.id
    ))
    .key(&annotator.api_key)
    .send()
    .expect_json(404, &errors::not_found("User", &outsider.id));
}

#[test]
fn removing_a_member_from_a_missing_workspace_is_404_before_403() {
    // As Argilla: the membership is looked up first, and a missing one names the user.
    let annotator = t().create_user("annotator");
    let missing_workspace = random_id();
    t().delete(&format!(
        "/api/workspaces/{missing_workspace}/users/{}",
        annotator.id
    ))
    .key(&annotator.api_key)
    .send()
    .expect_json(404, &errors::not_found("User", &annotator.id));
}

#[test]
fn getting_a_missing_workspace_is_404_before_403() {
    let annotator = t().create_user("annotator");
    let missing_workspace = random_id();
    t().get(&format!("/api/v1/workspaces/{missing_workspace}"))
        .key(&annotator.api_key)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &missing_workspace));
}

#[test]
fn a_body_over_one_mebibyte_is_413_and_changes_nothing() {
    // DECISIONS.md: core refuses bodies over 1 MiB on every host. Over HTTP the answer must
    // reach a client that is still sending: hosts read an over-limit body away (within
    // bounds) before they answer, rather than closing on it.
    let name = unique("big");
    let padding = "x".repeat(1024 * 1024);
    let body = format!(r#"{{"name": "{name}", "padding": "{padding}"}}"#);
    let answer = t()
        .post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .header("content-type", "application/json")
        .raw_body(body)
        .send();
    answer.expect(413);
    assert_eq!(
        answer.json["detail"]["code"],
        "argilla.api.errors::BadRequestError"
    );
    let listed = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    assert!(
        !listed.expect(200).to_string().contains(&name),
        "nothing created"
    );
}
