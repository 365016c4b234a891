//! API.md section 4: what a valid username, workspace name, name, role, password and path id is,
//! and the exact 422 items for each rule.

use workgate_conformance::errors::{
    bad_name, bad_role, bad_uuid, missing, too_long, too_short, validation,
};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

/// `POST /api/users` as the default admin with a valid body, `field` set to `value`.
fn create_user_with(field: &str, value: Value) -> Answer {
    let mut body = json!({
        "first_name": "Test",
        "username": unique("u"),
        "password": "12345678",
    });
    body[field] = value;
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&body)
        .send()
}

fn create_workspace_named(name: &str) -> Answer {
    t().post("/api/workspaces")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"name": name}))
        .send()
}

// ---- username ---------------------------------------------------------------------------------

#[test]
fn usernames_of_lower_case_letters_digits_dashes_and_underscores_are_valid() {
    for username in [
        unique("u"),
        format!("{}_x", unique("u")),
        format!("7{}", unique("u")),
        format!("{}-", unique("u")),
        format!("{}_", unique("u")),
    ] {
        let answer = create_user_with("username", json!(username));
        assert_eq!(answer.expect(200)["username"], username.as_str());
    }
}

#[test]
fn a_one_character_username_is_valid() {
    // On a shared store it may exist already: any answer but 422 shows it is valid.
    let answer = create_user_with("username", json!("q"));
    assert!(
        answer.status == 200 || answer.status == 409,
        "{}",
        answer.text()
    );
}

#[test]
fn a_username_starting_with_a_dash_is_invalid() {
    create_user_with("username", json!(format!("-{}", unique("u")))).expect_json(
        422,
        &validation(vec![bad_name(json!(["body", "username"]))]),
    );
}

#[test]
fn a_username_starting_with_an_underscore_is_invalid() {
    create_user_with("username", json!(format!("_{}", unique("u")))).expect_json(
        422,
        &validation(vec![bad_name(json!(["body", "username"]))]),
    );
}

#[test]
fn a_username_with_upper_case_letters_is_invalid() {
    create_user_with("username", json!(format!("Ab{}", unique("u")))).expect_json(
        422,
        &validation(vec![bad_name(json!(["body", "username"]))]),
    );
}

#[test]
fn a_username_with_a_trailing_newline_is_invalid() {
    create_user_with("username", json!(format!("{}\n", unique("u")))).expect_json(
        422,
        &validation(vec![bad_name(json!(["body", "username"]))]),
    );
}

#[test]
fn a_username_with_non_ascii_letters_is_invalid() {
    create_user_with("username", json!(format!("josé{}", unique("u")))).expect_json(
        422,
        &validation(vec![bad_name(json!(["body", "username"]))]),
    );
}

#[test]
fn a_username_with_spaces_or_dots_is_invalid() {
    for username in [format!("a b{}", unique("u")), format!("a.b{}", unique("u"))] {
        create_user_with("username", json!(username)).expect_json(
            422,
            &validation(vec![bad_name(json!(["body", "username"]))]),
        );
    }
}

#[test]
fn an_empty_username_is_too_short() {
    create_user_with("username", json!("")).expect_json(
        422,
        &validation(vec![too_short(json!(["body", "username"]), 1)]),
    );
}

#[test]
fn a_missing_username_is_field_required() {
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "Test", "password": "12345678"}))
        .send()
        .expect_json(422, &validation(vec![missing(json!(["body", "username"]))]));
}

// ---- workspace name ---------------------------------------------------------------------------

#[test]
fn workspace_names_follow_the_username_pattern() {
    let name = format!("7{}_x-", unique("ws"));
    assert_eq!(
        create_workspace_named(&name).expect(200)["name"],
        name.as_str()
    );
}

#[test]
fn invalid_workspace_names_are_422_regex() {
    for name in [
        format!("-{}", unique("ws")),
        format!("_{}", unique("ws")),
        format!("Ws{}", unique("ws")),
        format!("{}\n", unique("ws")),
        format!("{}ü", unique("ws")),
        format!("{} x", unique("ws")),
    ] {
        create_workspace_named(&name)
            .expect_json(422, &validation(vec![bad_name(json!(["body", "name"]))]));
    }
}

#[test]
fn an_empty_workspace_name_is_too_short() {
    create_workspace_named("").expect_json(
        422,
        &validation(vec![too_short(json!(["body", "name"]), 1)]),
    );
}

// ---- first_name and last_name ------------------------------------------------------------------

#[test]
fn first_name_is_required() {
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"username": unique("u"), "password": "12345678"}))
        .send()
        .expect_json(
            422,
            &validation(vec![missing(json!(["body", "first_name"]))]),
        );
}

#[test]
fn names_have_surrounding_white_space_stripped() {
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({
            "first_name": "  Ada\t",
            "last_name": "\n Lovelace ",
            "username": unique("u"),
            "password": "12345678",
        }))
        .send();
    let user = answer.expect(200);
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["last_name"], "Lovelace");
    assert_eq!(user["full_name"], "Ada Lovelace");
}

#[test]
fn a_blank_first_name_is_too_short_after_stripping() {
    for blank in ["", "   "] {
        create_user_with("first_name", json!(blank)).expect_json(
            422,
            &validation(vec![too_short(json!(["body", "first_name"]), 1)]),
        );
    }
}

#[test]
fn a_given_last_name_must_not_be_blank() {
    for blank in ["", " \t "] {
        create_user_with("last_name", json!(blank)).expect_json(
            422,
            &validation(vec![too_short(json!(["body", "last_name"]), 1)]),
        );
    }
}

// ---- role -------------------------------------------------------------------------------------

#[test]
fn role_defaults_to_annotator() {
    let answer = t()
        .post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "username": unique("u"), "password": "12345678"}))
        .send();
    assert_eq!(answer.expect(200)["role"], "annotator");
}

#[test]
fn role_admin_and_annotator_are_accepted() {
    for role in ["admin", "annotator"] {
        assert_eq!(
            create_user_with("role", json!(role)).expect(200)["role"],
            role
        );
    }
}

#[test]
fn role_is_case_sensitive_and_closed() {
    for role in ["Admin", "ANNOTATOR", "owner", ""] {
        create_user_with("role", json!(role))
            .expect_json(422, &validation(vec![bad_role(json!(["body", "role"]))]));
    }
}

// ---- password ---------------------------------------------------------------------------------

#[test]
fn a_password_of_7_characters_is_too_short() {
    create_user_with("password", json!("1234567")).expect_json(
        422,
        &validation(vec![too_short(json!(["body", "password"]), 8)]),
    );
}

#[test]
fn passwords_of_8_and_100_characters_are_accepted() {
    for password in ["12345678".to_string(), "p".repeat(100)] {
        create_user_with("password", json!(password)).expect(200);
    }
}

#[test]
fn a_password_of_101_characters_is_too_long() {
    create_user_with("password", json!("p".repeat(101))).expect_json(
        422,
        &validation(vec![too_long(json!(["body", "password"]), 100)]),
    );
}

#[test]
fn password_length_counts_characters_not_bytes() {
    create_user_with("password", json!("é".repeat(8))).expect(200);
    create_user_with("password", json!("é".repeat(100))).expect(200);
    create_user_with("password", json!("é".repeat(7))).expect_json(
        422,
        &validation(vec![too_short(json!(["body", "password"]), 8)]),
    );
}

#[test]
fn a_missing_password_is_field_required() {
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A", "username": unique("u")}))
        .send()
        .expect_json(422, &validation(vec![missing(json!(["body", "password"]))]));
}

// ---- all failing fields, in declared order ------------------------------------------------------

#[test]
fn an_empty_object_lists_every_required_field_in_declared_order() {
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({}))
        .send()
        .expect_json(
            422,
            &validation(vec![
                missing(json!(["body", "first_name"])),
                missing(json!(["body", "username"])),
                missing(json!(["body", "password"])),
            ]),
        );
}

#[test]
fn every_failing_field_is_listed_in_declared_order_whatever_the_body_order() {
    // Fields sent in reverse order; errors come in the order of section 6.
    t().post("/api/users")
        .key(DEFAULT_ADMIN_KEY)
        .header("Content-Type", "application/json")
        .raw_body(
            r#"{"password": "short", "role": "boss", "username": "Bad Name", "last_name": "", "first_name": "  "}"#,
        )
        .send()
        .expect_json(
            422,
            &validation(vec![
                too_short(json!(["body", "first_name"]), 1),
                too_short(json!(["body", "last_name"]), 1),
                bad_name(json!(["body", "username"])),
                bad_role(json!(["body", "role"])),
                too_short(json!(["body", "password"]), 8),
            ]),
        );
}

// ---- path ids ---------------------------------------------------------------------------------

#[test]
fn a_user_id_that_is_not_a_uuid_is_422_type_error_uuid() {
    let expected = validation(vec![bad_uuid(json!(["path", "user_id"]))]);
    t().delete("/api/users/not-a-uuid")
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(422, &expected);
    t().patch("/api/users/123")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "A"}))
        .send()
        .expect_json(422, &expected);
    t().post("/api/users/xyz/api-key")
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(422, &expected);
    t().put("/api/users/xyz/password")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "12345678"}))
        .send()
        .expect_json(422, &expected);
}

#[test]
fn a_workspace_id_that_is_not_a_uuid_is_422_type_error_uuid() {
    let expected = validation(vec![bad_uuid(json!(["path", "workspace_id"]))]);
    for call in [
        t().get("/api/v1/workspaces/not-a-uuid"),
        t().get("/api/workspaces/not-a-uuid/users"),
        t().delete("/api/workspaces/not-a-uuid"),
    ] {
        call.key(DEFAULT_ADMIN_KEY)
            .send()
            .expect_json(422, &expected);
    }
}

#[test]
fn both_bad_path_ids_are_listed_workspace_id_first() {
    let expected = validation(vec![
        bad_uuid(json!(["path", "workspace_id"])),
        bad_uuid(json!(["path", "user_id"])),
    ]);
    t().post("/api/workspaces/ws/users/u")
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(422, &expected);
    t().delete("/api/workspaces/ws/users/u")
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect_json(422, &expected);
}

#[test]
fn a_bad_path_id_and_a_bad_body_are_both_listed() {
    t().patch("/api/users/not-a-uuid")
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"role": "boss"}))
        .send()
        .expect_json(
            422,
            &validation(vec![
                bad_uuid(json!(["path", "user_id"])),
                bad_role(json!(["body", "role"])),
            ]),
        );
}

// ---- section-9 bodies use the same rules --------------------------------------------------------

#[test]
fn patch_user_validates_like_create() {
    let user = t().create_user("annotator");
    t().patch(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"first_name": "  ", "last_name": "", "role": "Admin"}))
        .send()
        .expect_json(
            422,
            &validation(vec![
                too_short(json!(["body", "first_name"]), 1),
                too_short(json!(["body", "last_name"]), 1),
                bad_role(json!(["body", "role"])),
            ]),
        );
}

#[test]
fn own_password_change_requires_both_fields() {
    let user = t().create_user("annotator");
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({}))
        .send()
        .expect_json(
            422,
            &validation(vec![
                missing(json!(["body", "current_password"])),
                missing(json!(["body", "new_password"])),
            ]),
        );
}

#[test]
fn a_new_password_follows_the_password_rule() {
    let user = t().create_user("annotator");
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": user.password, "new_password": "short"}))
        .send()
        .expect_json(
            422,
            &validation(vec![too_short(json!(["body", "new_password"]), 8)]),
        );
    t().put(&format!("/api/users/{}/password", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "p".repeat(101)}))
        .send()
        .expect_json(
            422,
            &validation(vec![too_long(json!(["body", "password"]), 100)]),
        );
}

#[test]
fn audit_paging_parameters_are_validated() {
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=many", "limit"),
        ("offset=-1", "offset"),
    ] {
        let answer = t()
            .get(&format!("/api/audit?{query}"))
            .key(DEFAULT_ADMIN_KEY)
            .send();
        let body = answer.expect(422);
        assert_eq!(
            body["detail"]["code"], "argilla.api.errors::ValidationError",
            "{query}"
        );
        let items = body["detail"]["params"]["errors"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{query}: {body}");
        assert_eq!(items[0]["loc"], json!(["query", param]), "{query}");
    }
}
