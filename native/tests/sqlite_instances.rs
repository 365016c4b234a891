//! Two `workgate serve` processes on one SQLite file: with the caller cached in one, every
//! kind of revocation made through the other (or by `sqlite3`) holds on its next request —
//! the directory generation, bumped by triggers, is checked on every request (read again
//! whenever the WAL-index header shows a commit since the last read; `revocation`).

mod common;
mod revocation;

use std::process::Stdio;

use common::{Home, Served};

#[test]
fn revocations_hold_on_the_next_request_with_the_caller_cached() {
    let home = Home::new();
    let metrics = revocation::free_metrics_addr();
    let start = |extra: &[&str]| {
        let mut args = vec!["serve", "--port", "0"];
        args.extend_from_slice(extra);
        let mut cmd = home.command(&args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Served::start(cmd)
    };
    let a = start(&[]);
    let b = start(&["--metrics-addr", &metrics]);
    let db = home.db();
    let sql = |statement: &str| {
        let conn = rusqlite::Connection::open(&db).expect("open the database");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        conn.execute_batch(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    };
    revocation::revocations_hold_on_the_next_request(
        &a,
        &b,
        &format!("http://{metrics}/metrics"),
        &sql,
    );
    drop((a, b));
}
