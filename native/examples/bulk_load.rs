//! Fills a workgate database with many users, workspaces and memberships in one transaction,
//! for `cargo xtask bench-native`.
//!
//! `bulk_load DB USERS WORKSPACES MEMBERSHIPS_PER_USER`
//!
//! DB is a SQLite file, or a `postgresql://` URL of an empty database (then the rows are made
//! by `generate_series` on the server, with triggers off for the load and the directory
//! generation bumped once after it).
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
    let password_hash = hash_password(
        "benchpass1",
        PasswordCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        },
        [7; 16],
    )?;
    if args[1].starts_with("postgres") {
        return tokio::runtime::Runtime::new()?.block_on(load_postgres(
            &args[1],
            users,
            workspaces,
            per_user,
            &password_hash,
        ));
    }
    drop(SqliteStore::open(&db)?);

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

/// The same rows on PostgreSQL, made by the server (user `i` has seq `i + 1`, workspace `j`
/// seq `j + 1`: the database is empty and migrated here).
async fn load_postgres(
    url: &str,
    users: u64,
    workspaces: u64,
    per_user: u64,
    password_hash: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let parsed: workgate::postgres::PostgresUrl = url.parse()?;
    drop(workgate::PostgresStore::open(&parsed, 1).await?);
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let base_time: i64 = 1_700_000_000_000_000;
    let (users, workspaces, per_user) = (users as i64, workspaces as i64, per_user as i64);
    client
        .batch_execute("BEGIN; SET LOCAL session_replication_role = replica;")
        .await?;
    client
        .execute(
            "INSERT INTO workspaces (id, name, inserted_at, updated_at) \
             SELECT ('57530000-0000-4000-8000-' || lpad(to_hex(j), 12, '0'))::uuid, 'ws' || j, \
                    $1::bigint + j, $1::bigint + j \
             FROM generate_series(0::bigint, $2::bigint - 1) j ORDER BY j",
            &[&base_time, &workspaces],
        )
        .await?;
    client
        .execute(
            "INSERT INTO users (id, username, first_name, role, password_hash, api_key_digest, \
                                api_key_prefix, security_stamp, disabled, counts_as_admin, \
                                inserted_at, updated_at) \
             SELECT ('55530000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'user' || i, \
                    'User ' || i, CASE WHEN i = 0 THEN 'admin' ELSE 'annotator' END, $3::text, \
                    sha256(convert_to('bench-key-' || i, 'UTF8')), \
                    left('bench-key-' || i, $4::int), lpad(to_hex(i), 32, '0'), false, i = 0, \
                    $1::bigint + 1000000 + i, $1::bigint + 1000000 + i \
             FROM generate_series(0::bigint, $2::bigint - 1) i ORDER BY i",
            &[
                &base_time,
                &users,
                &password_hash,
                &(workgate_core::credentials::api_key_prefix("0123456789abcdef").len() as i32),
            ],
        )
        .await?;
    client
        .execute(
            "INSERT INTO memberships (workspace_seq, user_seq, inserted_at) \
             SELECT (i * $3::bigint + k) % $2::bigint + 1, i + 1, $1::bigint + 1000000 + i \
             FROM generate_series(0::bigint, $4::bigint - 1) i, generate_series(0::bigint, $3::bigint - 1) k \
             ORDER BY i, k",
            &[&base_time, &workspaces, &per_user, &users],
        )
        .await?;
    client
        .batch_execute("UPDATE directory_generation SET value = value + 1; COMMIT; ANALYZE;")
        .await?;
    println!(
        "loaded {users} users, {workspaces} workspaces, {} memberships into PostgreSQL",
        users * per_user
    );
    Ok(())
}
