//! One scenario for two `workgate serve` instances on one database (PostgreSQL, or one SQLite
//! file): the observer has the caller in its cache (each check is preceded by two requests on
//! it), a change is made on the other instance — or behind both, in SQL — and the observer's
//! very next request is refused or changed. Its metrics show the cache was in use.

#![allow(dead_code)]

use serde_json::json;

use crate::common::{Answer, Served, agent, answer, get, login, post_json};

const ADMIN_KEY: &str = "argilla.apikey";

fn ok(a: &Answer) {
    assert!((200..300).contains(&a.status), "{} {}", a.status, a.body);
}

fn bearer(server: &Served, path: &str, token: &str) -> u16 {
    answer(
        agent()
            .get(&server.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .call(),
    )
    .status
}

fn send(server: &Served, method: &str, path: &str, body: serde_json::Value) -> Answer {
    let url = server.url(path);
    let request = match method {
        "PATCH" => agent().patch(&url),
        "PUT" => agent().put(&url),
        _ => unreachable!("{method}"),
    };
    answer(
        request
            .header("X-Argilla-Api-Key", ADMIN_KEY)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    )
}

fn delete(server: &Served, path: &str) -> Answer {
    answer(
        agent()
            .delete(&server.url(path))
            .header("X-Argilla-Api-Key", ADMIN_KEY)
            .call(),
    )
}

fn workspaces(server: &Served, key: &str) -> Vec<String> {
    let me = get(&server.url("/api/me"), Some(key));
    assert_eq!(me.status, 200, "{}", me.body);
    me.json()["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect()
}

/// Two requests with `key` on `server`: the second is served from the cache.
fn warm(server: &Served, key: &str, path: &str, status: u16) {
    for _ in 0..2 {
        let got = get(&server.url(path), Some(key));
        assert_eq!(got.status, status, "warming {path}: {}", got.body);
    }
}

/// The scenario: changes on `a` (and by `sql`, run on the database directly), seen by `b`
/// whose metrics are at `b_metrics`.
pub fn revocations_hold_on_the_next_request(
    a: &Served,
    b: &Served,
    b_metrics: &str,
    sql: &dyn Fn(&str),
) {
    let created = post_json(
        &a.url("/api/users"),
        ADMIN_KEY,
        &json!({"first_name": "Ann", "username": "ann", "password": "password-1"}),
    );
    ok(&created);
    let ann_id = created.json()["id"].as_str().unwrap().to_string();
    let mut key = created.json()["api_key"].as_str().unwrap().to_string();
    let team = post_json(
        &a.url("/api/workspaces"),
        ADMIN_KEY,
        &json!({"name": "team"}),
    );
    ok(&team);
    let team_id = team.json()["id"].as_str().unwrap().to_string();
    let membership = format!("/api/workspaces/{team_id}/users/{ann_id}");
    ok(&post_json(&a.url(&membership), ADMIN_KEY, &json!({})));

    // A removed membership: gone from B's next answer.
    warm(b, &key, "/api/me", 200);
    assert!(workspaces(b, &key).contains(&"team".to_string()));
    ok(&delete(a, &membership));
    assert_eq!(workspaces(b, &key), ["ann"]);

    // A deleted workspace: gone for the member and for the admin.
    ok(&post_json(&a.url(&membership), ADMIN_KEY, &json!({})));
    warm(b, &key, "/api/me", 200);
    warm(b, ADMIN_KEY, "/api/me", 200);
    assert!(workspaces(b, &key).contains(&"team".to_string()));
    ok(&delete(a, &format!("/api/workspaces/{team_id}")));
    assert_eq!(workspaces(b, &key), ["ann"]);
    assert!(!workspaces(b, ADMIN_KEY).contains(&"team".to_string()));

    // A demoted admin: admin-only endpoints refused at once.
    let user_path = format!("/api/users/{ann_id}");
    ok(&send(a, "PATCH", &user_path, json!({"role": "admin"})));
    warm(b, &key, "/api/users", 200);
    ok(&send(a, "PATCH", &user_path, json!({"role": "annotator"})));
    assert_eq!(get(&b.url("/api/users"), Some(&key)).status, 403);

    // A rotated key: the old one refused, the new one accepted.
    warm(b, &key, "/api/me", 200);
    let rotated = post_json(
        &a.url(&format!("/api/users/{ann_id}/api-key")),
        ADMIN_KEY,
        &json!({}),
    );
    ok(&rotated);
    let old_key = std::mem::replace(&mut key, rotated.json()["api_key"].as_str().unwrap().into());
    assert_eq!(get(&b.url("/api/me"), Some(&old_key)).status, 401);
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 200);

    // A password reset: tokens issued before refused.
    let token = login(&a.url("/api/security/token"), "ann", "password-1");
    assert_eq!(token.status, 200, "{}", token.body);
    let token = token.json()["access_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        assert_eq!(bearer(b, "/api/me", &token), 200);
    }
    ok(&send(
        a,
        "PUT",
        &format!("{user_path}/password"),
        json!({"password": "password-2"}),
    ));
    assert_eq!(bearer(b, "/api/me", &token), 401);

    // Disabled, then enabled again.
    warm(b, &key, "/api/me", 200);
    ok(&send(a, "PATCH", &user_path, json!({"disabled": true})));
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 401);
    ok(&send(a, "PATCH", &user_path, json!({"disabled": false})));
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 200);

    // Disabled behind both instances' backs (an older binary, a SQL session): the triggers
    // move the generation too.
    warm(b, &key, "/api/me", 200);
    sql("UPDATE users SET disabled = (1 = 1) WHERE username = 'ann'");
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 401);
    sql("UPDATE users SET disabled = (1 = 0) WHERE username = 'ann'");
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 200);

    // Deleted.
    warm(b, &key, "/api/me", 200);
    ok(&delete(a, &user_path));
    assert_eq!(get(&b.url("/api/me"), Some(&key)).status, 401);

    // B answered from its cache all along.
    let metrics = answer(agent().get(b_metrics).call());
    assert_eq!(metrics.status, 200);
    let hits = metrics
        .body
        .lines()
        .find_map(|l| l.strip_prefix("workgate_caller_cache_hits_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no cache hits figure in\n{}", metrics.body));
    assert!(hits >= 8.0, "{hits} hits\n{}", metrics.body);
}

/// A free port on 127.0.0.1 for `--metrics-addr`.
pub fn free_metrics_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    format!("127.0.0.1:{}", listener.local_addr().unwrap().port())
}
