//! The caller cache (`engine::caller_cache`): two engines over one memory store stand for two
//! instances on one database. Both have the caller cached; a change made through one takes
//! effect on the very next request on both — key rotation, deletion, disabling, demotion, a
//! password reset (tokens), a removed membership, a deleted workspace.

mod common;

use common::{ADMIN_KEY, TestPlatform, cheap_config};
use workgate_core::{Engine, MemoryStore, Request, Response};

struct World {
    /// Where changes are made.
    a: Engine,
    /// The other instance.
    b: Engine,
    ann_id: String,
    ann_key: String,
    ann_token: String,
    team_id: String,
}

async fn send(engine: &Engine, method: &str, path: &str, key: &str, body: &str) -> Response {
    let mut request = Request::new(method, path).header("content-type", "application/json");
    if !key.is_empty() {
        request = request.header("x-argilla-api-key", key);
    }
    engine.handle(request.body(body.to_string())).await
}

async fn me(engine: &Engine, key: &str) -> Response {
    send(engine, "GET", "/api/me", key, "").await
}

async fn me_by_token(engine: &Engine, token: &str) -> Response {
    engine
        .handle(Request::new("GET", "/api/me").header("authorization", &format!("Bearer {token}")))
        .await
}

fn field(r: &Response, name: &str) -> String {
    r.json_body()[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {:?}", r.json_body()))
        .to_string()
}

fn workspaces(r: &Response) -> Vec<String> {
    r.json_body()["workspaces"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Ann, an annotator in workspace `team`, with a key and a token; both engines have her
/// cached (by key and by token) and the admin too.
async fn world() -> World {
    let stores = MemoryStore::stores();
    let a = Engine::new(stores.clone(), TestPlatform::new(), cheap_config());
    let b = Engine::new(stores, TestPlatform::new(), cheap_config());
    a.bootstrap_default_user().await.unwrap().unwrap();
    let ann = send(
        &a,
        "POST",
        "/api/users",
        ADMIN_KEY,
        r#"{"first_name":"Ann","username":"ann","password":"ann-password"}"#,
    )
    .await;
    assert_eq!(ann.status, 200, "{:?}", ann.json_body());
    let team = send(
        &a,
        "POST",
        "/api/workspaces",
        ADMIN_KEY,
        r#"{"name":"team"}"#,
    )
    .await;
    let (ann_id, ann_key, team_id) = (
        field(&ann, "id"),
        field(&ann, "api_key"),
        field(&team, "id"),
    );
    let added = send(
        &a,
        "POST",
        &format!("/api/workspaces/{team_id}/users/{ann_id}"),
        ADMIN_KEY,
        "",
    )
    .await;
    assert_eq!(added.status, 200);
    let login = a
        .handle(
            Request::new("POST", "/api/security/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=ann&password=ann-password"),
        )
        .await;
    assert_eq!(login.status, 200);
    let ann_token = field(&login, "access_token");
    for engine in [&a, &b] {
        for _ in 0..2 {
            assert_eq!(me(engine, &ann_key).await.status, 200);
            assert_eq!(me(engine, ADMIN_KEY).await.status, 200);
            assert_eq!(me_by_token(engine, &ann_token).await.status, 200);
        }
        assert!(
            engine.caller_cache_figures().hits >= 3,
            "{:?}",
            engine.caller_cache_figures()
        );
    }
    World {
        a,
        b,
        ann_id,
        ann_key,
        ann_token,
        team_id,
    }
}

#[tokio::test]
async fn an_unchanged_caller_is_served_from_the_cache() {
    let w = world().await;
    let before = w.b.caller_cache_figures();
    let answer = me(&w.b, &w.ann_key).await;
    assert_eq!(answer.status, 200);
    assert_eq!(workspaces(&answer), ["ann", "team"]);
    let after = w.b.caller_cache_figures();
    assert_eq!(after.hits, before.hits + 1);
    assert_eq!(after.misses, before.misses);
    // Logins and their throttle never use it: five wrong passwords lock the sixth try.
    for _ in 0..5 {
        let wrong =
            w.b.handle(
                Request::new("POST", "/api/security/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("username=ann&password=wrong-password"),
            )
            .await;
        assert_eq!(wrong.status, 401);
    }
    let locked =
        w.a.handle(
            Request::new("POST", "/api/security/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("username=ann&password=ann-password"),
        )
        .await;
    assert_eq!(locked.status, 429);
}

#[tokio::test]
async fn a_rotated_key_is_refused_on_the_next_request() {
    let w = world().await;
    let rotated = send(
        &w.a,
        "POST",
        &format!("/api/users/{}/api-key", w.ann_id),
        ADMIN_KEY,
        "",
    )
    .await;
    assert_eq!(rotated.status, 200, "{:?}", rotated.json_body());
    let new_key = field(&rotated, "api_key");
    for engine in [&w.a, &w.b] {
        assert_eq!(me(engine, &w.ann_key).await.status, 401);
        assert_eq!(me(engine, &new_key).await.status, 200);
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_on_the_next_request() {
    let w = world().await;
    let path = format!("/api/users/{}", w.ann_id);
    let disabled = send(&w.a, "PATCH", &path, ADMIN_KEY, r#"{"disabled":true}"#).await;
    assert_eq!(disabled.status, 200, "{:?}", disabled.json_body());
    for engine in [&w.a, &w.b] {
        assert_eq!(me(engine, &w.ann_key).await.status, 401);
        assert_eq!(me_by_token(engine, &w.ann_token).await.status, 401);
    }
}

#[tokio::test]
async fn a_deleted_user_is_refused_on_the_next_request() {
    let w = world().await;
    let path = format!("/api/users/{}", w.ann_id);
    assert_eq!(send(&w.a, "DELETE", &path, ADMIN_KEY, "").await.status, 200);
    for engine in [&w.a, &w.b] {
        assert_eq!(me(engine, &w.ann_key).await.status, 401);
        assert_eq!(me_by_token(engine, &w.ann_token).await.status, 401);
    }
}

#[tokio::test]
async fn a_demoted_admin_loses_admin_rights_on_the_next_request() {
    let w = world().await;
    let path = format!("/api/users/{}", w.ann_id);
    let promoted = send(&w.a, "PATCH", &path, ADMIN_KEY, r#"{"role":"admin"}"#).await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.json_body());
    for engine in [&w.a, &w.b] {
        assert_eq!(
            send(engine, "GET", "/api/users", &w.ann_key, "")
                .await
                .status,
            200
        );
    }
    let demoted = send(&w.a, "PATCH", &path, ADMIN_KEY, r#"{"role":"annotator"}"#).await;
    assert_eq!(demoted.status, 200);
    for engine in [&w.a, &w.b] {
        assert_eq!(
            send(engine, "GET", "/api/users", &w.ann_key, "")
                .await
                .status,
            403
        );
        assert_eq!(field(&me(engine, &w.ann_key).await, "role"), "annotator");
    }
}

#[tokio::test]
async fn a_password_reset_ends_tokens_on_the_next_request() {
    let w = world().await;
    let reset = send(
        &w.a,
        "PUT",
        &format!("/api/users/{}/password", w.ann_id),
        ADMIN_KEY,
        r#"{"password":"another-password"}"#,
    )
    .await;
    assert_eq!(reset.status, 200, "{:?}", reset.json_body());
    for engine in [&w.a, &w.b] {
        assert_eq!(me_by_token(engine, &w.ann_token).await.status, 401);
        assert_eq!(
            me(engine, &w.ann_key).await.status,
            200,
            "the key still works"
        );
    }
}

#[tokio::test]
async fn a_removed_membership_is_gone_on_the_next_request() {
    let w = world().await;
    let path = format!("/api/workspaces/{}/users/{}", w.team_id, w.ann_id);
    assert_eq!(send(&w.a, "DELETE", &path, ADMIN_KEY, "").await.status, 200);
    for engine in [&w.a, &w.b] {
        assert_eq!(workspaces(&me(engine, &w.ann_key).await), ["ann"]);
        let listed = send(engine, "GET", "/api/workspaces", &w.ann_key, "").await;
        assert!(!String::from_utf8_lossy(&listed.body).contains("\"team\""));
    }
}

#[tokio::test]
async fn a_deleted_workspace_is_gone_on_the_next_request() {
    let w = world().await;
    let path = format!("/api/workspaces/{}", w.team_id);
    let deleted = send(&w.a, "DELETE", &path, ADMIN_KEY, "").await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.json_body());
    for engine in [&w.a, &w.b] {
        assert_eq!(workspaces(&me(engine, &w.ann_key).await), ["ann"]);
        assert!(!workspaces(&me(engine, ADMIN_KEY).await).contains(&"team".to_string()));
    }
}

#[tokio::test]
async fn a_new_workspace_shows_for_the_admin_on_the_next_request() {
    let w = world().await;
    let created = send(
        &w.a,
        "POST",
        "/api/workspaces",
        ADMIN_KEY,
        r#"{"name":"new"}"#,
    )
    .await;
    assert_eq!(created.status, 200);
    for engine in [&w.a, &w.b] {
        assert!(workspaces(&me(engine, ADMIN_KEY).await).contains(&"new".to_string()));
    }
}
