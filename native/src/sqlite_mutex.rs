//! SQLite's mutexes, replaced by parking_lot's.
//!
//! Every connection to one database file in a process shares a few SQLite mutexes (the WAL
//! index's, the page cache's). SQLite's own are plain pthread mutexes: a reader that finds one
//! taken sleeps in the kernel at once, although the holder lets go within a microsecond or
//! two. With readers on every core, `GET /api/me` spent much of its time in `futex(2)` there.
//! parking_lot's mutexes spin briefly before sleeping, which suits these short sections.
//! SQLite documents this hook (`SQLITE_CONFIG_MUTEX`); it must be installed before SQLite
//! initialises, so [`install`] runs before the first connection opens.

use std::os::raw::c_int;

use lock_api::RawReentrantMutex;
use parking_lot::{RawMutex, RawThreadId};
use rusqlite::ffi;

/// One SQLite mutex. Always reentrant: SQLite asks for recursive mutexes in places, and a
/// reentrant mutex serves the other kinds as well.
struct SqliteMutex {
    raw: RawReentrantMutex<RawMutex, RawThreadId>,
    /// Statically allocated (SQLite's "static" mutexes) and so never freed.
    is_static: bool,
}

/// SQLite's static mutexes, types `SQLITE_MUTEX_STATIC_MAIN` (2) to `SQLITE_MUTEX_STATIC_VFS3`
/// (13): the same one must come back for the same type every time.
static STATICS: [SqliteMutex; 12] = {
    // An array initialiser needs a constant; each element is its own mutex.
    #[allow(clippy::declare_interior_mutable_const)]
    const STATIC_MUTEX: SqliteMutex = SqliteMutex {
        raw: RawReentrantMutex::INIT,
        is_static: true,
    };
    [STATIC_MUTEX; 12]
};

unsafe extern "C" fn init() -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn end() -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn alloc(kind: c_int) -> *mut ffi::sqlite3_mutex {
    match kind {
        ffi::SQLITE_MUTEX_FAST | ffi::SQLITE_MUTEX_RECURSIVE => {
            Box::into_raw(Box::new(SqliteMutex {
                raw: RawReentrantMutex::INIT,
                is_static: false,
            }))
            .cast()
        }
        2..=13 => (&STATICS[(kind - 2) as usize] as *const SqliteMutex)
            .cast_mut()
            .cast(),
        _ => std::ptr::null_mut(),
    }
}

/// # Safety
/// `p` came from [`alloc`] and is not used again.
unsafe extern "C" fn free(p: *mut ffi::sqlite3_mutex) {
    let mutex = p.cast::<SqliteMutex>();
    // SAFETY: `p` came from `alloc`; non-static ones were boxed there.
    unsafe {
        if !mutex.is_null() && !(*mutex).is_static {
            drop(Box::from_raw(mutex));
        }
    }
}

unsafe extern "C" fn enter(p: *mut ffi::sqlite3_mutex) {
    // SAFETY: SQLite passes a live mutex from `alloc`.
    unsafe { (*p.cast::<SqliteMutex>()).raw.lock() }
}

unsafe extern "C" fn try_enter(p: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: as above.
    if unsafe { (*p.cast::<SqliteMutex>()).raw.try_lock() } {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_BUSY
    }
}

unsafe extern "C" fn leave(p: *mut ffi::sqlite3_mutex) {
    // SAFETY: SQLite only leaves a mutex this thread entered.
    unsafe { (*p.cast::<SqliteMutex>()).raw.unlock() }
}

unsafe extern "C" fn held(p: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: as above; a null mutex counts as held (SQLite's convention for asserts).
    unsafe {
        c_int::from(p.is_null() || (*p.cast::<SqliteMutex>()).raw.is_owned_by_current_thread())
    }
}

unsafe extern "C" fn not_held(p: *mut ffi::sqlite3_mutex) -> c_int {
    // SAFETY: as above.
    unsafe {
        c_int::from(p.is_null() || !(*p.cast::<SqliteMutex>()).raw.is_owned_by_current_thread())
    }
}

static METHODS: ffi::sqlite3_mutex_methods = ffi::sqlite3_mutex_methods {
    xMutexInit: Some(init),
    xMutexEnd: Some(end),
    xMutexAlloc: Some(alloc),
    xMutexFree: Some(free),
    xMutexEnter: Some(enter),
    xMutexTry: Some(try_enter),
    xMutexLeave: Some(leave),
    xMutexHeld: Some(held),
    xMutexNotheld: Some(not_held),
};

/// Installs the mutexes. Returns SQLite's result code: `SQLITE_MISUSE` when SQLite was already
/// initialised (then its own mutexes stay, which is correct, only slower).
pub fn install() -> c_int {
    // SAFETY: SQLITE_CONFIG_MUTEX takes a pointer to a methods struct, which SQLite copies;
    // called before initialisation (or refused with SQLITE_MISUSE).
    unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MUTEX,
            &METHODS as *const ffi::sqlite3_mutex_methods,
        )
    }
}
