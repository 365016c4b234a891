//! Several `workgate serve` processes on one PostgreSQL database (`WORKGATE_TEST_POSTGRES_URL`,
//! set by `cargo xtask test`), requests alternating between them: what one instance writes, the
//! next request on another sees — users, keys, tokens, revocations — and the invariants hold
//! when the instances race: one user per name, never zero admins, every failed login counted.

mod common;
mod postgres_support;
mod revocation;

use std::process::Stdio;
use std::sync::Barrier;

use common::{Answer, Home, Served, agent, answer, get, login, post_json};
use postgres_support::{TestDatabase, cluster_url};
use serde_json::json;

const ADMIN_KEY: &str = "argilla.apikey";

/// A database and `n` servers on it, started at once (so they also race to migrate and to
/// create the default admin).
struct Deployment {
    runtime: tokio::runtime::Runtime,
    db: Option<TestDatabase>,
    servers: Vec<Served>,
    _homes: Vec<Home>,
}

impl Deployment {
    fn start(test: &str, n: usize) -> Option<Deployment> {
        let cluster = cluster_url(test)?;
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let db = runtime.block_on(TestDatabase::create(&cluster, "instances", ""));
        let homes: Vec<Home> = (0..n).map(|_| Home::new()).collect();
        let servers = std::thread::scope(|scope| {
            let started: Vec<_> = homes
                .iter()
                .map(|home| {
                    let url = db.url.clone();
                    scope.spawn(move || {
                        let mut cmd =
                            home.command(&["serve", "--port", "0", "--database-url", &url]);
                        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
                        Served::start(cmd)
                    })
                })
                .collect();
            started
                .into_iter()
                .map(|s| s.join().expect("server start"))
                .collect()
        });
        Some(Deployment {
            runtime,
            db: Some(db),
            servers,
            _homes: homes,
        })
    }

    /// Instance `i` (modulo the number of instances).
    fn on(&self, i: usize) -> &Served {
        &self.servers[i % self.servers.len()]
    }

    /// One value from the database, read directly.
    fn sql_i64(&self, sql: &str, param: &str) -> Option<i64> {
        let db = self.db.as_ref().expect("database");
        self.runtime.block_on(async {
            let client = db.connect().await;
            client
                .query_opt(sql, &[&param])
                .await
                .expect("query")
                .map(|r| r.get(0))
        })
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        // Servers first, then their database.
        self.servers.clear();
        self.db.take();
    }
}

fn create_user(server: &Served, username: &str, role: &str) -> Answer {
    post_json(
        &server.url("/api/users"),
        ADMIN_KEY,
        &json!({"first_name": username, "username": username, "password": "password-1", "role": role}),
    )
}

fn bearer_me(server: &Served, token: &str) -> u16 {
    answer(
        agent()
            .get(&server.url("/api/me"))
            .header("Authorization", format!("Bearer {token}"))
            .call(),
    )
    .status
}

fn patch(server: &Served, key: &str, path: &str, body: serde_json::Value) -> Answer {
    patch_url(&server.url(path), key, body)
}

fn patch_url(url: &str, key: &str, body: serde_json::Value) -> Answer {
    answer(
        agent()
            .patch(url)
            .header("X-Argilla-Api-Key", key)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    )
}

fn put(server: &Served, key: &str, path: &str, body: serde_json::Value) -> Answer {
    answer(
        agent()
            .put(&server.url(path))
            .header("X-Argilla-Api-Key", key)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    )
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

#[test]
fn what_one_instance_writes_the_next_request_on_another_sees() {
    let Some(d) = Deployment::start(
        "what_one_instance_writes_the_next_request_on_another_sees",
        3,
    ) else {
        return;
    };
    // Three instances started at once on an empty database made one default admin.
    let users = get(&d.on(0).url("/api/users"), Some(ADMIN_KEY));
    assert_eq!(users.status, 200, "{}", users.body);
    assert_eq!(
        users.json().as_array().map(Vec::len),
        Some(1),
        "{}",
        users.body
    );

    // Create on A, use on B.
    let created = create_user(d.on(0), "alice", "annotator");
    assert!(is_success(created.status), "{}", created.body);
    let alice = created.json();
    let alice_id = alice["id"].as_str().unwrap().to_string();
    let first_key = alice["api_key"].as_str().unwrap().to_string();
    let me = get(&d.on(1).url("/api/me"), Some(&first_key));
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["username"], "alice");

    // A workspace made on B, joined on C, seen on A.
    let ws = post_json(
        &d.on(1).url("/api/workspaces"),
        ADMIN_KEY,
        &json!({"name": "team"}),
    );
    assert!(is_success(ws.status), "{}", ws.body);
    let ws_id = ws.json()["id"].as_str().unwrap().to_string();
    let joined = post_json(
        &d.on(2)
            .url(&format!("/api/workspaces/{ws_id}/users/{alice_id}")),
        ADMIN_KEY,
        &json!({}),
    );
    assert!(is_success(joined.status), "{}", joined.body);
    let me = get(&d.on(0).url("/api/me"), Some(&first_key)).json();
    assert!(
        me["workspaces"]
            .as_array()
            .unwrap()
            .contains(&json!("team")),
        "{me}"
    );

    // A token from A works on B (one generated signing secret for every instance).
    let token = login(&d.on(0).url("/api/security/token"), "alice", "password-1");
    assert_eq!(token.status, 200, "{}", token.body);
    let token = token.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(bearer_me(d.on(1), &token), 200);

    // Rotate the key on A: the old key is refused by B on the very next request.
    let rotated = post_json(
        &d.on(0).url(&format!("/api/users/{alice_id}/api-key")),
        ADMIN_KEY,
        &json!({}),
    );
    assert!(is_success(rotated.status), "{}", rotated.body);
    let second_key = rotated.json()["api_key"].as_str().unwrap().to_string();
    assert_ne!(second_key, first_key);
    assert_eq!(get(&d.on(1).url("/api/me"), Some(&first_key)).status, 401);
    assert_eq!(get(&d.on(2).url("/api/me"), Some(&first_key)).status, 401);
    assert_eq!(get(&d.on(1).url("/api/me"), Some(&second_key)).status, 200);

    // A password reset on B: the token issued before is refused by C and A.
    let reset = put(
        d.on(1),
        ADMIN_KEY,
        &format!("/api/users/{alice_id}/password"),
        json!({"password": "password-2"}),
    );
    assert!(is_success(reset.status), "{}", reset.body);
    assert_eq!(bearer_me(d.on(2), &token), 401);
    assert_eq!(bearer_me(d.on(0), &token), 401);
    let token = login(&d.on(2).url("/api/security/token"), "alice", "password-2");
    assert_eq!(token.status, 200, "{}", token.body);
    let token = token.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(bearer_me(d.on(0), &token), 200);

    // Disabled on C: key and token refused by A and B at once.
    let disabled = patch(
        d.on(2),
        ADMIN_KEY,
        &format!("/api/users/{alice_id}"),
        json!({"disabled": true}),
    );
    assert!(is_success(disabled.status), "{}", disabled.body);
    assert_eq!(get(&d.on(0).url("/api/me"), Some(&second_key)).status, 401);
    assert_eq!(bearer_me(d.on(1), &token), 401);

    // Deleted on A: gone on B.
    let deleted = answer(
        agent()
            .delete(&d.on(0).url(&format!("/api/users/{alice_id}")))
            .header("X-Argilla-Api-Key", ADMIN_KEY)
            .call(),
    );
    assert!(is_success(deleted.status), "{}", deleted.body);
    let listed = get(&d.on(1).url("/api/users"), Some(ADMIN_KEY)).json();
    assert!(
        !listed
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "alice"),
        "{listed}"
    );
}

/// With the caller cached on B, every kind of revocation made on A (or in SQL) holds on B's
/// next request: the directory generation is read on every request (`revocation`).
#[test]
fn revocations_hold_on_the_next_request_with_the_caller_cached() {
    let Some(cluster) = cluster_url("revocations_hold_on_the_next_request_with_the_caller_cached")
    else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(TestDatabase::create(&cluster, "revocations", ""));
    let (home_a, home_b) = (Home::new(), Home::new());
    let metrics = revocation::free_metrics_addr();
    let start = |home: &Home, extra: &[&str]| {
        let mut args = vec!["serve", "--port", "0", "--database-url", &db.url];
        args.extend_from_slice(extra);
        let mut cmd = home.command(&args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Served::start(cmd)
    };
    let a = start(&home_a, &[]);
    let b = start(&home_b, &["--metrics-addr", &metrics]);
    let sql = |statement: &str| {
        runtime.block_on(async {
            db.connect()
                .await
                .batch_execute(statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"))
        })
    };
    revocation::revocations_hold_on_the_next_request(
        &a,
        &b,
        &format!("http://{metrics}/metrics"),
        &sql,
    );
    drop((a, b));
}

#[test]
fn fifty_parallel_creates_of_one_name_over_three_instances_make_one() {
    let Some(d) = Deployment::start(
        "fifty_parallel_creates_of_one_name_over_three_instances_make_one",
        3,
    ) else {
        return;
    };
    for (path, body) in [
        (
            "/api/users",
            json!({"first_name": "Dup", "username": "dup", "password": "password-1"}),
        ),
        ("/api/workspaces", json!({"name": "dup-team"})),
    ] {
        let barrier = Barrier::new(50);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..50)
                .map(|i| {
                    let (url, barrier, body) = (d.on(i).url(path), &barrier, body.clone());
                    scope.spawn(move || {
                        barrier.wait();
                        post_json(&url, ADMIN_KEY, &body).status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let ok = statuses.iter().filter(|s| is_success(**s)).count();
        assert_eq!(ok, 1, "{path}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| is_success(*s) || *s == 409),
            "{path}: {statuses:?}"
        );
    }
    let users = get(&d.on(1).url("/api/users"), Some(ADMIN_KEY)).json();
    let dups = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["username"] == "dup")
        .count();
    assert_eq!(dups, 1);
}

#[test]
fn parallel_demotions_of_the_last_two_admins_on_two_instances_leave_one() {
    let Some(d) = Deployment::start(
        "parallel_demotions_of_the_last_two_admins_on_two_instances_leave_one",
        2,
    ) else {
        return;
    };
    let me = get(&d.on(0).url("/api/me"), Some(ADMIN_KEY)).json();
    let root_id = me["id"].as_str().unwrap().to_string();
    let second = create_user(d.on(0), "second-admin", "admin").json();
    let second_id = second["id"].as_str().unwrap().to_string();
    let second_key = second["api_key"].as_str().unwrap().to_string();
    let key_of = |id: &str| {
        if id == root_id {
            ADMIN_KEY.to_string()
        } else {
            second_key.clone()
        }
    };

    for round in 0..10 {
        // The same caller demotes the other admin on A and itself on B, at once: if both
        // landed there would be no admin left.
        let caller = if round % 2 == 0 { &root_id } else { &second_id };
        let other = if caller == &root_id {
            &second_id
        } else {
            &root_id
        };
        let key = key_of(caller);
        let barrier = Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = [(0, other), (1, caller)]
                .into_iter()
                .map(|(i, target)| {
                    let url = d.on(i).url(&format!("/api/users/{target}"));
                    let (barrier, key) = (&barrier, key.clone());
                    scope.spawn(move || {
                        barrier.wait();
                        patch_url(&url, &key, json!({"role": "annotator"})).status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses.iter().filter(|s| is_success(**s)).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(statuses.contains(&403), "round {round}: {statuses:?}");
        let admins: Vec<String> =
            d.db.as_ref()
                .map(|_| {
                    [&root_id, &second_id]
                        .into_iter()
                        .filter(|id| {
                            d.sql_i64(
                                "SELECT count(*) FROM users WHERE id::text = $1 AND role = 'admin'",
                                id,
                            ) == Some(1)
                        })
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
        assert_eq!(admins.len(), 1, "round {round}: admins {admins:?}");
        // The remaining admin promotes the other back, for the next round.
        let remaining = &admins[0];
        let demoted = if remaining == &root_id {
            &second_id
        } else {
            &root_id
        };
        let promoted = patch(
            d.on(round),
            &key_of(remaining),
            &format!("/api/users/{demoted}"),
            json!({"role": "admin"}),
        );
        assert!(is_success(promoted.status), "{}", promoted.body);
    }
}

#[test]
fn parallel_wrong_logins_over_the_instances_are_all_counted() {
    let Some(d) = Deployment::start(
        "parallel_wrong_logins_over_the_instances_are_all_counted",
        3,
    ) else {
        return;
    };
    // Workgate locks a username after 5 failures in the window: 5 wrong guesses at once per
    // user, spread over the instances, must all be counted, so the right password is then
    // refused with 429. One lost count and it would be let in.
    let victims = ["victim-a", "victim-b", "victim-c", "victim-d"];
    for name in victims {
        assert!(is_success(create_user(d.on(0), name, "annotator").status));
    }
    let barrier = Barrier::new(victims.len() * 5);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..victims.len() * 5)
            .map(|i| {
                let url = d.on(i).url("/api/security/token");
                let (barrier, name) = (&barrier, victims[i % victims.len()]);
                scope.spawn(move || {
                    barrier.wait();
                    login(&url, name, "wrong-password").status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    for (i, name) in victims.iter().enumerate() {
        assert_eq!(
            d.sql_i64("SELECT count FROM login_failures WHERE username = $1", name),
            Some(5),
            "{name}"
        );
        let right = login(&d.on(i).url("/api/security/token"), name, "password-1");
        assert_eq!(right.status, 429, "{name}: {}", right.body);
    }
}

/// Needs no server: a refused URL or an unreachable server is one line on stderr, exit 1,
/// without the password.
#[test]
fn bad_or_unreachable_postgres_urls_fail_in_one_line() {
    let home = Home::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = format!("postgresql+asyncpg://argilla:hunter2@127.0.0.1:{port}/argilla");
    for (url, needle) in [
        (
            "postgresql://argilla:hunter2@db/argilla?sslmode=maybe",
            "unknown sslmode",
        ),
        (
            "postgresql+odbc://argilla:hunter2@db/argilla",
            "unknown PostgreSQL driver",
        ),
        (unreachable.as_str(), "cannot connect to PostgreSQL at"),
    ] {
        let out = common::Outcome::from(
            home.command(&["database", "migrate", "--database-url", url])
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 1, "{url}: {out:?}");
        assert!(out.stderr.contains(needle), "{url}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{}", out.stderr);
    }
}

/// The admin tasks work on PostgreSQL too: a user created by `users create` logs in on a
/// server, and `database migrate` reports the schema current.
#[test]
fn admin_tasks_run_on_postgres() {
    let Some(cluster) = cluster_url("admin_tasks_run_on_postgres") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(TestDatabase::create(&cluster, "tasks", ""));
    let home = Home::new();
    let created = home.run(&[
        "users",
        "create",
        "--database-url",
        &db.url,
        "--first-name",
        "Bob",
        "--username",
        "bob",
        "--password",
        "password-1",
    ]);
    assert_eq!(created.code, 0, "{created:?}");
    assert!(
        created.stdout.contains("User successfully created"),
        "{created:?}"
    );
    let migrated = home.run(&["database", "migrate", "--database-url", &db.url]);
    assert_eq!(migrated.code, 0, "{migrated:?}");
    assert!(
        migrated
            .stdout
            .contains("Database schema is up to date (version 2)."),
        "{migrated:?}"
    );
    let mut cmd = home.command(&["serve", "--port", "0", "--database-url", &db.url]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let server = Served::start(cmd);
    let token = login(&server.url("/api/security/token"), "bob", "password-1");
    assert_eq!(token.status, 200, "{}", token.body);
    drop(server);
    drop(db);
}
