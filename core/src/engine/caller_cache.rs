//! The authenticated caller, kept in process between requests.
//!
//! Authenticating a request by API key costs a store lookup (the key's digest → the user), and
//! `/api/me` another (the caller's workspaces); a bearer token costs the user's lookup by id.
//! This cache keeps both, keyed by the key's digest or the token's user id, for as long as the
//! directory does not change — and no longer:
//!
//! - **The check.** Every authenticated request first reads the directory's generation
//!   ([`Directory::generation`](crate::store::Directory::generation)), which grows with every
//!   change to users, workspaces or memberships, atomically with the change, whoever made it
//!   (this process, another instance on the same database, an older binary, a `psql` session —
//!   the SQLite and PostgreSQL stores bump it from triggers). An entry is used only by a
//!   request that read the generation the entry was stored under; any other generation is a
//!   miss, and a newer one empties the cache.
//! - **Why that is exact.** An entry stored under generation `g` was read from the store
//!   *after* `g` was read, so it shows at least the state of `g`. A later request that reads
//!   `g` again knows no change committed since, so the entry is still the store's state. A
//!   revocation (key rotated, user disabled, deleted or demoted, membership removed, workspace
//!   deleted, password changed) therefore takes effect on the next request that starts after
//!   it committed, on every instance: there is no window.
//! - **Shared reads.** Concurrent requests share generation reads ([`GenerationReads`]): a
//!   request may take the generation from a read that *started after the request arrived*
//!   (it waits for one, or starts one), never from an earlier one. Such a read sees every change committed
//!   before the request arrived, exactly as the request's own read would, so sharing keeps the
//!   guarantee above; under load a backend answers about one generation read per read's
//!   duration, however many requests arrive meanwhile (a round trip to PostgreSQL each). A
//!   store that can tell its generation at once, without I/O
//!   ([`Directory::generation_at_hand`](crate::store::Directory::generation_at_hand): the
//!   memory store's atomic, SQLite's WAL-index header unchanged since its last read), is
//!   asked that first; the look is the request's own, made after it arrived, so it keeps the
//!   guarantee without sharing.
//! - **What it saves.** One cheap read (an atomic load in memory; on SQLite a look at the
//!   WAL-index header, and a one-row select when it changed; on PostgreSQL a one-row select,
//!   shared as above) instead of the lookups; unknown keys are never kept, so
//!   guessing keys costs the lookups as before. Logins, and their throttle, never use it.
//! - **Bounded.** At most `capacity` entries; when full, an arbitrary entry makes room.
//!
//! A backend without a generation (`None`, the default: the Worker's KV) is never cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use uuid::Uuid;

use crate::credentials::ApiKeyDigest;
use crate::domain::{User, Workspace};
use crate::store::{Directory, StoreError, StoreResult};

/// How an entry is found: the key's digest, or a token's user id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum CacheKey {
    ApiKey(ApiKeyDigest),
    User(Uuid),
}

/// One authenticated caller as the store showed it at the entry's generation.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) user: User,
    /// The workspaces the user can access (every one for an admin), read after the user, the
    /// first time a request of this generation needed them.
    pub(crate) accessible: OnceLock<Arc<[Workspace]>>,
    /// The body of `GET /api/me` for this caller, written the first time it was asked for:
    /// it is made only of `user`, `accessible` and the key the entry was found by (an entry
    /// kept by key digest is only ever found with that key).
    pub(crate) me: OnceLock<Vec<u8>>,
}

impl Entry {
    pub(crate) fn new(user: User) -> Entry {
        Entry {
            user,
            accessible: OnceLock::new(),
            me: OnceLock::new(),
        }
    }
}

/// The cache's figures, for a host's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallerCacheFigures {
    /// Requests authenticated from the cache.
    pub hits: u64,
    /// Requests that looked the caller up in the store (on a backend with a generation).
    pub misses: u64,
    /// Entries kept now.
    pub entries: u64,
    /// The most entries kept.
    pub capacity: u64,
}

struct State {
    generation: u64,
    entries: HashMap<CacheKey, Arc<Entry>>,
}

pub(crate) struct CallerCache {
    state: RwLock<State>,
    /// Where requests read the generation they check entries against.
    pub(crate) reads: GenerationReads,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CallerCache {
    pub(crate) fn new(capacity: usize) -> CallerCache {
        CallerCache {
            state: RwLock::new(State {
                generation: 0,
                entries: HashMap::new(),
            }),
            reads: GenerationReads::new(),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The entry for `key` if it was stored under `generation`, the one the caller just read.
    pub(crate) fn get(&self, key: &CacheKey, generation: u64) -> Option<Arc<Entry>> {
        let found = self.state.read().ok().and_then(|state| {
            (state.generation == generation)
                .then(|| state.entries.get(key).cloned())
                .flatten()
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `user`, read after `generation` was, under `key`. A newer generation than the
    /// cache's empties it first; an older one (a request that raced a change) keeps nothing.
    pub(crate) fn insert(&self, key: CacheKey, generation: u64, user: User) -> Arc<Entry> {
        let entry = Arc::new(Entry::new(user));
        if self.capacity == 0 {
            return entry;
        }
        let Ok(mut state) = self.state.write() else {
            return entry;
        };
        if generation > state.generation {
            state.entries.clear();
            state.generation = generation;
        }
        if generation == state.generation {
            if state.entries.len() >= self.capacity
                && !state.entries.contains_key(&key)
                && let Some(victim) = state.entries.keys().next().cloned()
            {
                state.entries.remove(&victim);
            }
            state.entries.insert(key, entry.clone());
        }
        entry
    }

    pub(crate) fn figures(&self) -> CallerCacheFigures {
        CallerCacheFigures {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.state.read().map_or(0, |s| s.entries.len() as u64),
            capacity: self.capacity as u64,
        }
    }
}

/// Directory-generation reads shared between concurrent requests (see the module's
/// "Shared reads"). Reads are numbered as they start. A request notes how many had started
/// when it arrived; it then takes the answer of the first read to finish that started later,
/// starting one itself when none runs. Requests that arrive while a read runs therefore wait
/// for the next read, which the first of them to wake starts and the rest share: every waiter
/// is answered by the second read after its arrival at the latest (unless reads fail).
pub(crate) struct GenerationReads {
    state: Mutex<ReadState>,
    /// Notified (all listeners) whenever a read ends, however it ends.
    ended: event_listener::Event,
}

#[derive(Default)]
struct ReadState {
    /// How many reads have started.
    started: u64,
    /// Whether a read runs now.
    running: bool,
    /// The last read that succeeded: its number and what it read.
    last: (u64, Option<u64>),
}

/// Ends the running read when dropped: also when the request that ran it is cancelled (its
/// client went away), so the others never wait for a read nobody drives.
struct Running<'r> {
    reads: &'r GenerationReads,
    number: u64,
    read: Option<Option<u64>>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.reads.state.lock() {
            state.running = false;
            if let Some(generation) = self.read {
                state.last = (self.number, generation);
            }
        }
        self.reads.ended.notify(usize::MAX);
    }
}

impl GenerationReads {
    pub(crate) fn new() -> GenerationReads {
        GenerationReads {
            state: Mutex::new(ReadState::default()),
            ended: event_listener::Event::new(),
        }
    }

    /// `directory`'s generation as a read that started after this call did would see it.
    pub(crate) async fn generation(&self, directory: &dyn Directory) -> StoreResult<Option<u64>> {
        self.shared(|| directory.generation()).await
    }

    /// What `read` answers, from a read (this call's or another's) that started after this
    /// call did.
    async fn shared<F: Future<Output = StoreResult<Option<u64>>>>(
        &self,
        read: impl FnOnce() -> F,
    ) -> StoreResult<Option<u64>> {
        let mut arrived_after = None;
        let number = loop {
            // Listening before looking, so an end between the two is not missed.
            let ended = self.ended.listen();
            {
                let mut state = self.state.lock().map_err(|_| poisoned())?;
                let arrived_after = *arrived_after.get_or_insert(state.started);
                if state.last.0 > arrived_after {
                    return Ok(state.last.1);
                }
                if !state.running {
                    state.running = true;
                    state.started += 1;
                    break state.started;
                }
            }
            ended.await;
        };
        let mut running = Running {
            reads: self,
            number,
            read: None,
        };
        let generation = read().await?;
        running.read = Some(generation);
        Ok(generation)
    }
}

fn poisoned() -> StoreError {
    StoreError::Backend("the generation reads' lock was poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use crate::timestamp::Timestamp;

    fn user(name: &str) -> User {
        User {
            id: Uuid::from_u128(name.len() as u128),
            username: name.to_string(),
            first_name: name.to_string(),
            last_name: None,
            role: Role::Annotator,
            password_hash: String::new(),
            api_key_digest: ApiKeyDigest::of(name),
            api_key_prefix: String::new(),
            security_stamp: String::new(),
            disabled: false,
            inserted_at: Timestamp::from_micros(0),
            updated_at: Timestamp::from_micros(0),
        }
    }

    fn key(name: &str) -> CacheKey {
        CacheKey::ApiKey(ApiKeyDigest::of(name))
    }

    #[test]
    fn an_entry_serves_only_its_own_generation() {
        let cache = CallerCache::new(10);
        cache.insert(key("a"), 5, user("a"));
        assert!(cache.get(&key("a"), 5).is_some());
        assert!(
            cache.get(&key("a"), 6).is_none(),
            "a newer generation misses"
        );
        assert!(cache.get(&key("a"), 4).is_none(), "so does an older one");
        cache.insert(key("b"), 6, user("b"));
        assert!(
            cache.get(&key("a"), 5).is_none(),
            "a newer generation empties the cache"
        );
        cache.insert(key("a"), 5, user("a"));
        assert!(
            cache.get(&key("a"), 5).is_none(),
            "a request that raced a change keeps nothing"
        );
        assert!(cache.get(&key("b"), 6).is_some());
        let figures = cache.figures();
        assert_eq!((figures.hits, figures.misses, figures.entries), (2, 4, 1));
    }

    /// A request that arrives while a read runs never takes that read's answer (it may predate
    /// a change the request must see); it waits, and requests waiting together share one read.
    #[tokio::test]
    async fn a_request_takes_only_a_read_that_started_after_it_arrived() {
        use std::sync::atomic::AtomicUsize;
        let reads = Arc::new(GenerationReads::new());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let reads = reads.clone();
            async move {
                reads
                    .shared(|| async move {
                        let _ = started_tx.send(());
                        let _ = release_rx.await;
                        Ok(Some(1))
                    })
                    .await
            }
        });
        started_rx.await.unwrap();
        // A change commits now (generation 2), after the first read began.
        let later_reads = Arc::new(AtomicUsize::new(0));
        let waiting: Vec<_> = (0..3)
            .map(|_| {
                let (reads, later_reads) = (reads.clone(), later_reads.clone());
                tokio::spawn(async move {
                    reads
                        .shared(|| async move {
                            later_reads.fetch_add(1, Ordering::SeqCst);
                            Ok(Some(2))
                        })
                        .await
                })
            })
            .collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            later_reads.load(Ordering::SeqCst),
            0,
            "they wait their turn"
        );
        release_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), Some(1));
        for request in waiting {
            assert_eq!(
                request.await.unwrap().unwrap(),
                Some(2),
                "never the older read"
            );
        }
        assert_eq!(
            later_reads.load(Ordering::SeqCst),
            1,
            "one read shared by the three"
        );
        // Nothing runs now: the next request reads for itself.
        let after = reads.shared(|| async { Ok(Some(3)) }).await.unwrap();
        assert_eq!(after, Some(3));
    }

    #[tokio::test]
    async fn a_cancelled_read_does_not_hold_up_the_requests_waiting_for_it() {
        let reads = Arc::new(GenerationReads::new());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let stuck = tokio::spawn({
            let reads = reads.clone();
            async move {
                reads
                    .shared(|| async move {
                        let _ = started_tx.send(());
                        std::future::pending::<()>().await;
                        Ok(Some(1))
                    })
                    .await
            }
        });
        started_rx.await.unwrap();
        let waiting = tokio::spawn({
            let reads = reads.clone();
            async move { reads.shared(|| async { Ok(Some(2)) }).await }
        });
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished(), "it waits for the running read");
        stuck.abort();
        assert_eq!(waiting.await.unwrap().unwrap(), Some(2));
    }

    #[tokio::test]
    async fn a_failed_read_answers_its_own_request_and_the_next_reads_again() {
        let reads = GenerationReads::new();
        let failed = reads
            .shared(|| async { Err(crate::store::StoreError::Backend("down".into())) })
            .await;
        assert!(failed.is_err());
        assert_eq!(
            reads.shared(|| async { Ok(Some(7)) }).await.unwrap(),
            Some(7)
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = CallerCache::new(3);
        for name in ["a", "bb", "ccc", "dddd", "eeeee"] {
            cache.insert(key(name), 1, user(name));
        }
        assert_eq!(cache.figures().entries, 3);
        assert!(cache.get(&key("eeeee"), 1).is_some(), "the newest is kept");
        let none = CallerCache::new(0);
        none.insert(key("a"), 1, user("a"));
        assert_eq!(none.figures().entries, 0);
    }
}
