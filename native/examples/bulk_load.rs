//! Fills a workgate database with many users, workspaces and memberships in one transaction,
//! for `cargo xtask bench-native`.
//!
//! `bulk_load DB USERS WORKSPACES MEMBERSHIPS_PER_USER`
//!
//! Creates (or migrates) the schema through `SqliteStore::open`, then inserts with plain SQL:
//! user `i` is `user{i}` with API key `bench-key-{i}` (user 0 is an admin, the rest are
//! annotators), workspaces are `ws{j}`, and user `i` joins workspaces `(i * M + k) % W` for
//! `k < M`. Every user shares one password hash (of `benchpass1`), computed once.

use rusqlite::params;
use workgate::SqliteStore;
use workgate_core::credentials::{ApiKeyDigest, PasswordCost, api_key_prefix, hash_password};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        return Err("usage: bulk_load DB USERS WORKSPACES MEMBERSHIPS_PER_USER".into());
    }
    let db = std::path::PathBuf::from(&args[1]);
    let users: u64 = args[2].parse()?;
    let workspaces: u64 = args[3].parse()?;
    let per_user: u64 = args[4].parse()?;
    drop(SqliteStore::open(&db)?);

    let password_hash = hash_password(
        "benchpass1",
        PasswordCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        [7; 16],
    )?;
    let base_time: i64 = 1_700_000_000_000_000;
    let mut conn = rusqlite::Connection::open(&db)?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = OFF;")?;
    let tx = conn.transaction()?;
    {
        let mut insert_ws = tx.prepare(
            "INSERT INTO workspaces (seq, id, name, inserted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        for j in 0..workspaces {
            let id = uuid::Uuid::from_u64_pair(0x5753_0000_0000_4000, 0x8000_0000_0000_0000 | j);
            insert_ws.execute(params![
                j as i64 + 1,
                id.to_string(),
                format!("ws{j}"),
                base_time + j as i64
            ])?;
        }
        let mut insert_user = tx.prepare(
            "INSERT INTO users (seq, id, username, first_name, last_name, role, password_hash, \
             api_key_digest, api_key_prefix, security_stamp, disabled, inserted_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?10)",
        )?;
        let mut insert_member = tx.prepare(
            "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) VALUES (?1, ?2, ?3)",
        )?;
        for i in 0..users {
            let key = format!("bench-key-{i}");
            let id = uuid::Uuid::from_u64_pair(0x5553_0000_0000_4000, 0x8000_0000_0000_0000 | i);
            let at = base_time + 1_000_000 + i as i64;
            insert_user.execute(params![
                i as i64 + 1,
                id.to_string(),
                format!("user{i}"),
                format!("User {i}"),
                if i == 0 { "admin" } else { "annotator" },
                password_hash,
                &ApiKeyDigest::of(&key).0[..],
                api_key_prefix(&key),
                format!("{i:032x}"),
                at
            ])?;
            for k in 0..per_user {
                let ws = (i * per_user + k) % workspaces;
                insert_member.execute(params![ws as i64 + 1, i as i64 + 1, at])?;
            }
        }
    }
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    println!(
        "loaded {users} users, {workspaces} workspaces, {} memberships into {}",
        users * per_user,
        db.display()
    );
    Ok(())
}
