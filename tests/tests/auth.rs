//! API.md section 3: API keys, bearer tokens and login.

use workgate_conformance::errors::{self, missing, validation};
use workgate_conformance::formats::{with_alg_none, with_broken_signature, with_other_alg};
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

fn login_answer(fields: &[(&str, &str)]) -> Answer {
    t().post("/api/security/token").form(fields).send()
}

// ---- 3.1 API key ------------------------------------------------------------------------------

#[test]
fn the_api_key_header_authenticates_the_owner_of_the_key() {
    let user = t().create_user("annotator");
    let answer = t()
        .get("/api/me")
        .header("X-Argilla-Api-Key", &user.api_key)
        .send();
    assert_eq!(answer.expect(200)["username"], user.username.as_str());
    assert_eq!(answer.json["id"], user.id.as_str());
}

#[test]
fn the_api_key_header_name_is_case_insensitive() {
    let user = t().create_user("annotator");
    for name in [
        "x-argilla-api-key",
        "X-ARGILLA-API-KEY",
        "x-Argilla-Api-key",
    ] {
        let answer = t().get("/api/me").header(name, &user.api_key).send();
        assert_eq!(
            answer.expect(200)["username"],
            user.username.as_str(),
            "{name}"
        );
    }
}

#[test]
fn an_unknown_api_key_is_401() {
    t().get("/api/me")
        .key(&unique("no-such-key"))
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn an_unknown_api_key_is_401_even_with_a_valid_bearer_token() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().get("/api/me")
        .key(&unique("no-such-key"))
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn the_api_key_wins_over_a_bearer_token_of_another_user() {
    let key_owner = t().create_user("annotator");
    let token_owner = t().create_user("annotator");
    let token = t().login(&token_owner.username, &token_owner.password);
    let answer = t()
        .get("/api/me")
        .key(&key_owner.api_key)
        .bearer(&token)
        .send();
    assert_eq!(answer.expect(200)["username"], key_owner.username.as_str());
}

#[test]
fn an_empty_api_key_header_counts_as_absent() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    let answer = t().get("/api/me").key("").bearer(&token).send();
    assert_eq!(answer.expect(200)["username"], user.username.as_str());
    t().get("/api/me")
        .key("")
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn client_style_key_in_the_header_and_as_bearer_works() {
    // Argilla clients 1.6–1.8 send both; the header wins.
    let user = t().create_user("annotator");
    let answer = t()
        .get("/api/me")
        .key(&user.api_key)
        .bearer(&user.api_key)
        .send();
    assert_eq!(answer.expect(200)["username"], user.username.as_str());
}

#[test]
fn an_api_key_sent_only_as_a_bearer_token_is_not_a_token() {
    let user = t().create_user("annotator");
    t().get("/api/me")
        .bearer(&user.api_key)
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn no_credentials_is_401() {
    t().get("/api/me")
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn keys_and_tokens_are_never_read_from_the_query_string() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    for query in [
        format!("api_key={}", user.api_key),
        format!("X-Argilla-Api-Key={}", user.api_key),
        format!("x-argilla-api-key={}", user.api_key),
        format!("access_token={token}"),
        format!("token={token}"),
    ] {
        t().get(&format!("/api/me?{query}"))
            .send()
            .expect_json(401, &errors::unauthorized());
    }
}

#[test]
fn keys_and_tokens_are_never_read_from_cookies() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    for cookie in [
        format!("X-Argilla-Api-Key={}", user.api_key),
        format!("api_key={}", user.api_key),
        format!("access_token={token}"),
        format!("Authorization=Bearer {token}"),
    ] {
        t().get("/api/me")
            .header("Cookie", &cookie)
            .send()
            .expect_json(401, &errors::unauthorized());
    }
}

// ---- 3.2 Bearer token ---------------------------------------------------------------------------

#[test]
fn a_token_from_login_authenticates_its_user() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    assert_eq!(t().whoami_by_token(&token), Some(user.username));
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let answer = t()
            .get("/api/me")
            .header("Authorization", &format!("{scheme} {token}"))
            .send();
        assert_eq!(
            answer.expect(200)["username"],
            user.username.as_str(),
            "{scheme}"
        );
    }
}

#[test]
fn another_authorization_scheme_is_401() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().get("/api/me")
        .header("Authorization", &format!("Basic {token}"))
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn a_badly_signed_token_is_401() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().get("/api/me")
        .bearer(&with_broken_signature(&token))
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn a_token_with_alg_none_is_401() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().get("/api/me")
        .bearer(&with_alg_none(&token))
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn a_token_claiming_another_alg_is_401() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().get("/api/me")
        .bearer(&with_other_alg(&token))
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn a_garbage_token_is_401() {
    for token in ["garbage", "a.b.c", ""] {
        t().get("/api/me")
            .bearer(token)
            .send()
            .expect_json(401, &errors::unauthorized());
    }
}

#[test]
fn an_expired_token_is_401() {
    let Some(t) = Target::fresh() else { return };
    let token = t.login(DEFAULT_ADMIN_USERNAME, DEFAULT_ADMIN_PASSWORD);
    t.advance_clock(23 * 3600);
    assert_eq!(t.whoami_by_token(&token).as_deref(), Some("argilla"));
    t.advance_clock(3600 + 1);
    t.get("/api/me")
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn tokens_stop_working_when_the_user_is_deleted() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().delete(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
    t().get("/api/me")
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
    t().get("/api/me")
        .key(&user.api_key)
        .send()
        .expect_json(401, &errors::unauthorized());
}

#[test]
fn tokens_stop_working_when_the_user_changes_its_password() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().put("/api/me/password")
        .key(&user.api_key)
        .json(&json!({"current_password": user.password, "new_password": "a-new-password"}))
        .send()
        .expect(200);
    t().get("/api/me")
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
    let new_token = t().login(&user.username, "a-new-password");
    assert_eq!(t().whoami_by_token(&new_token), Some(user.username.clone()));
    assert_eq!(t().whoami_by_key(&user.api_key), Some(user.username));
}

#[test]
fn tokens_stop_working_when_an_admin_resets_the_password() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().put(&format!("/api/users/{}/password", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"password": "reset-password"}))
        .send()
        .expect(200);
    t().get("/api/me")
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
    let new_token = t().login(&user.username, "reset-password");
    assert_eq!(t().whoami_by_token(&new_token), Some(user.username));
}

#[test]
fn a_disabled_user_cannot_authenticate_by_token_key_or_login() {
    let user = t().create_user("annotator");
    let token = t().login(&user.username, &user.password);
    t().patch(&format!("/api/users/{}", user.id))
        .key(DEFAULT_ADMIN_KEY)
        .json(&json!({"disabled": true}))
        .send()
        .expect(200);
    t().get("/api/me")
        .bearer(&token)
        .send()
        .expect_json(401, &errors::unauthorized());
    t().get("/api/me")
        .key(&user.api_key)
        .send()
        .expect_json(401, &errors::unauthorized());
    login_answer(&[("username", &user.username), ("password", &user.password)])
        .expect_json(401, &errors::unauthorized());
}

// ---- Login ------------------------------------------------------------------------------------

#[test]
fn login_answers_an_access_token_of_type_bearer() {
    let user = t().create_user("annotator");
    let answer = login_answer(&[("username", &user.username), ("password", &user.password)]);
    let body = answer.expect(200);
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|token| !token.is_empty()),
        "{body}"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only access_token and token_type: {body}"
    );
    // API.md section 6: Token fields in this order.
    assert_eq!(answer.key_order(), ["access_token", "token_type"]);
}

#[test]
fn login_accepts_grant_type_password() {
    let user = t().create_user("annotator");
    login_answer(&[
        ("grant_type", "password"),
        ("username", &user.username),
        ("password", &user.password),
    ])
    .expect(200);
}

#[test]
fn login_refuses_any_other_grant_type() {
    let user = t().create_user("annotator");
    for grant_type in ["client_credentials", "passwords", "Password"] {
        let answer = login_answer(&[
            ("grant_type", grant_type),
            ("username", &user.username),
            ("password", &user.password),
        ]);
        let body = answer.expect(422);
        let items = body["detail"]["params"]["errors"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{grant_type}: {body}");
        assert_eq!(
            items[0]["loc"],
            json!(["body", "grant_type"]),
            "{grant_type}"
        );
    }
}

#[test]
fn login_without_fields_lists_both_as_missing() {
    login_answer(&[]).expect_json(
        422,
        &validation(vec![
            missing(json!(["body", "username"])),
            missing(json!(["body", "password"])),
        ]),
    );
}

#[test]
fn login_fields_that_are_empty_count_as_missing() {
    login_answer(&[("username", ""), ("password", "")]).expect_json(
        422,
        &validation(vec![
            missing(json!(["body", "username"])),
            missing(json!(["body", "password"])),
        ]),
    );
    login_answer(&[("username", "argilla"), ("password", "")])
        .expect_json(422, &validation(vec![missing(json!(["body", "password"]))]));
    login_answer(&[("username", ""), ("password", "12345678")])
        .expect_json(422, &validation(vec![missing(json!(["body", "username"]))]));
}

#[test]
fn login_with_a_json_body_is_422_with_both_fields_missing() {
    let user = t().create_user("annotator");
    t().post("/api/security/token")
        .json(&json!({"username": user.username, "password": user.password}))
        .send()
        .expect_json(
            422,
            &validation(vec![
                missing(json!(["body", "username"])),
                missing(json!(["body", "password"])),
            ]),
        );
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_401() {
    let user = t().create_user("annotator");
    let wrong_password = login_answer(&[("username", &user.username), ("password", "wrong-pass")]);
    let unknown_user = login_answer(&[("username", &unique("nobody")), ("password", "wrong-pass")]);
    wrong_password.expect_json(401, &errors::unauthorized());
    unknown_user.expect_json(401, &errors::unauthorized());
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(
        wrong_password.header("www-authenticate"),
        unknown_user.header("www-authenticate")
    );
}

#[test]
fn the_default_admin_can_log_in_with_its_default_password() {
    let token = t().login(DEFAULT_ADMIN_USERNAME, DEFAULT_ADMIN_PASSWORD);
    assert_eq!(t().whoami_by_token(&token).as_deref(), Some("argilla"));
}
