//! Durability: SIGKILL the server in the middle of a stream of concurrent writes, restart it,
//! and every write that was answered 200 is there; the database passes `integrity_check`.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Home, get, post_json};

#[test]
fn sigkill_during_concurrent_writes_loses_no_acknowledged_write() {
    let home = Home::new();
    let server = home.serve();
    let base = server.base_url.clone();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let deadline = Instant::now() + Duration::from_secs(20);

    let writers: Vec<_> = (0..8)
        .map(|t| {
            let (base, acknowledged) = (base.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let agent = common::agent();
                for i in 0..10_000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let name = format!("w{t}-{i}");
                    let sent = agent
                        .post(&format!("{base}/api/workspaces"))
                        .header("X-Argilla-Api-Key", "argilla.apikey")
                        .header("Content-Type", "application/json")
                        .send(format!(r#"{{"name":"{name}"}}"#));
                    match sent {
                        Ok(response) if response.status() == 200 => {
                            acknowledged.lock().unwrap().insert(name);
                        }
                        Ok(response) => panic!("unexpected status {}", response.status()),
                        // The server is gone: stop writing.
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();

    // Let writes pile up, then kill without warning.
    let start = Instant::now();
    while acknowledged.lock().unwrap().len() < 200 && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.kill();
    for w in writers {
        w.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 200,
        "only {} writes",
        acknowledged.len()
    );

    let conn = rusqlite::Connection::open(home.db()).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);

    let server = home.serve();
    let listed = get(&server.url("/api/workspaces"), Some("argilla.apikey"));
    assert_eq!(listed.status, 200);
    let present: BTreeSet<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<_> = acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "lost {} acknowledged writes: {lost:?}",
        lost.len()
    );
    // The server still takes writes after the crash.
    let after = post_json(
        &server.url("/api/workspaces"),
        "argilla.apikey",
        &serde_json::json!({"name": "after-restart"}),
    );
    assert_eq!(after.status, 200);
}
