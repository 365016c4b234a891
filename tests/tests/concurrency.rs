//! Uniqueness holds under concurrent requests: of N identical creates, exactly one wins and the
//! others are told the entity already exists.

use std::sync::Barrier;

use workgate_conformance::errors;
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

const RACERS: usize = 8;

/// Sends `request()` from `RACERS` threads released at the same moment; returns the answers.
fn race(request: impl Fn() -> Answer + Sync) -> Vec<Answer> {
    let barrier = Barrier::new(RACERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    request()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer finished"))
            .collect()
    })
}

#[track_caller]
fn exactly_one_wins(answers: &[Answer], conflict: &Value) {
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "exactly one 200: {statuses:?}"
    );
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.expect_json(409, conflict);
    }
}

#[test]
fn parallel_creates_of_one_username_make_one_user() {
    let username = unique("u");
    let answers = race(|| {
        t().post("/api/users")
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"first_name": "Racer", "username": username, "password": "12345678"}))
            .send()
    });
    exactly_one_wins(&answers, &errors::already_exists("User", &username));
    let users = t().get("/api/users").key(DEFAULT_ADMIN_KEY).send();
    let same: usize = users
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["username"] == username.as_str())
        .count();
    assert_eq!(same, 1);
}

#[test]
fn parallel_creates_of_one_workspace_name_make_one_workspace() {
    let name = unique("ws");
    let answers = race(|| {
        t().post("/api/workspaces")
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"name": name}))
            .send()
    });
    exactly_one_wins(&answers, &errors::already_exists("Workspace", &name));
    let list = t().get("/api/workspaces").key(DEFAULT_ADMIN_KEY).send();
    let same: usize = list
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == name.as_str())
        .count();
    assert_eq!(same, 1);
}

#[test]
fn parallel_adds_of_one_membership_make_one_membership() {
    let workspace = t().create_workspace();
    let user = t().create_user("annotator");
    let path = format!("/api/workspaces/{}/users/{}", workspace.id, user.id);
    let answers = race(|| t().post(&path).key(DEFAULT_ADMIN_KEY).send());
    exactly_one_wins(&answers, &errors::already_exists("User", &user.id));
    let me = t().get("/api/me").key(&user.api_key).send();
    assert_eq!(
        me.expect(200)["workspaces"],
        json!([user.username, workspace.name])
    );
}

#[test]
fn parallel_user_creates_with_distinct_names_all_succeed() {
    let answers = race(|| {
        t().post("/api/users")
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"first_name": "Racer", "username": unique("u"), "password": "12345678"}))
            .send()
    });
    for answer in &answers {
        answer.expect(200);
    }
}

#[test]
fn parallel_wrong_passwords_cannot_all_slip_under_the_login_limit() {
    // DECISIONS.md, Throttling: attempts are counted before the password is checked, so of
    // RACERS (8) simultaneous guesses at most 5 are even tried (401); the rest are 429.
    let user = t().create_user("annotator");
    let answers = race(|| {
        t().post("/api/security/token")
            .form(&[
                ("username", user.username.as_str()),
                ("password", "wrong-password"),
            ])
            .send()
    });
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "only 401 or 429: {statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 401).count() <= 5,
        "at most 5 guesses checked: {statuses:?}"
    );
    // And the right password is now refused too, while locked.
    t().post("/api/security/token")
        .form(&[
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .expect(429);
}
