//! Whether anything was committed to a SQLite database since a moment, answered without a
//! system call: from the WAL-index header in the database's `-shm` file.
//!
//! In WAL mode every connection of every process maps that file, and every commit rewrites its
//! header — the change counter `iChange` ("incremented with each transaction"), the frame
//! count, the salts and the header's checksum — before the commit returns; a reader finds the
//! commit only through that header. The format is SQLite's documented, stable file format
//! (<https://www.sqlite.org/walformat.html>, "The WAL-Index Header"): 48 bytes written twice,
//! the second copy first, so a reader that reads the first copy, then the second, and finds
//! them equal has read one whole header.
//!
//! [`SqliteStore::generation`](crate::SqliteStore) uses it as a filter in front of the
//! generation read: while the header is the one it saw when it last read the generation, no
//! transaction has committed since, in this process or any other, so the generation cannot
//! have changed. Anything else (the header changed, a writer between the two copies, no `-shm`
//! file) reads the generation from the database, as without the filter.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// One copy of the header, in 64-bit words.
const HEADER_WORDS: usize = 6;

/// The WAL-index header of one database, mapped.
pub(crate) struct WalIndex {
    map: memmap2::Mmap,
}

/// A header as read: both copies equal.
pub(crate) type Header = [u64; HEADER_WORDS];

impl WalIndex {
    /// Maps the header of the database at `db`, which must be open in WAL mode on a connection
    /// that stays open while the map lives: SQLite truncates a `-shm` file only when its first
    /// connection opens it, and never while a connection of any process holds it. `None` when
    /// there is no such file to map (the generation is then always read).
    pub(crate) fn open(db: &Path) -> Option<WalIndex> {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        let file = std::fs::File::open(shm).ok()?;
        // The first region (32 KiB) exists from a WAL-mode connection's first read.
        if file.metadata().ok()?.len() < 4096 {
            return None;
        }
        // SAFETY: read-only, shared with SQLite's own maps of the same file; kept from being
        // truncated as the function's documentation says. Its words are read atomically, as
        // other processes write them.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .len(2 * HEADER_WORDS * 8)
                .map(&file)
        }
        .ok()?;
        Some(WalIndex { map })
    }

    /// The header now, when its two copies agree and it has been written; `None` while a
    /// writer is between them.
    pub(crate) fn header(&self) -> Option<Header> {
        // SAFETY: the map is page-aligned and 96 bytes long: twelve aligned 64-bit words.
        let words: &[AtomicU64] = unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().cast::<AtomicU64>(), 2 * HEADER_WORDS)
        };
        let mut first: Header = [0; HEADER_WORDS];
        for (word, at) in first.iter_mut().zip(&words[..HEADER_WORDS]) {
            *word = at.load(Ordering::Acquire);
        }
        fence(Ordering::Acquire);
        let whole = words[HEADER_WORDS..]
            .iter()
            .zip(&first)
            .all(|(at, word)| at.load(Ordering::Acquire) == *word);
        // Byte 12 (`isInit`): the header has been written.
        let written = first[1].to_ne_bytes()[4] != 0;
        (whole && written).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn header_now(index: &WalIndex) -> Header {
        index.header().expect("no writer is between the copies")
    }

    #[test]
    fn every_commit_of_any_connection_changes_the_header_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let a = Connection::open(&path).unwrap();
        let mode: String = a
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        a.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let index = WalIndex::open(&path).expect("a WAL database has a -shm file");
        // Another connection stands for another process: it shares only the file.
        let b = Connection::open(&path).unwrap();
        let mut seen = vec![header_now(&index)];
        for (conn, n) in [(&a, 1), (&b, 2), (&a, 3), (&b, 4)] {
            let before = header_now(&index);
            let _: i64 = conn
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap();
            assert_eq!(header_now(&index), before, "a read changed the header");
            conn.execute("INSERT INTO t VALUES (?1)", [n]).unwrap();
            let after = header_now(&index);
            assert!(
                !seen.contains(&after),
                "commit {n} left a header seen before"
            );
            seen.push(after);
        }
        // A checkpoint that restarts the log still leaves a header not seen before at the
        // next commit.
        a.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
        b.execute("INSERT INTO t VALUES (5)", []).unwrap();
        assert!(!seen.contains(&header_now(&index)));
    }

    #[test]
    fn no_shm_file_is_no_index() {
        let dir = tempfile::tempdir().unwrap();
        assert!(WalIndex::open(&dir.path().join("none.sqlite")).is_none());
    }
}
