//! # workgate (native host)
//!
//! One binary that serves workgate's API and web app on SQLite and carries Argilla's admin
//! tasks. It translates and stores; it decides nothing. Every endpoint's behaviour, the access
//! model and the tasks' logic are in `workgate-core`; this crate supplies:
//!
//! - [`sqlite_store`]: core's `Store` on SQLite ([`schema`] holds its migrations),
//! - [`postgres`]: every store part on PostgreSQL, for several instances on one database,
//! - [`platform`]: core's `Platform` (clock, randomness, password hashing off the async
//!   workers),
//! - [`server`]: the app in front of `Engine::handle`, plus [`web_app`], the embedded `www/`;
//!   [`connections`] (the accept loop: connection caps, header and idle timeouts),
//!   [`request_body`] (body limits, readable 413s), [`request_id`], [`access_log`] and
//!   [`metrics`],
//! - [`batched_stderr`]: the log's cheap writer,
//! - [`cli`] and [`tasks`]: the command line and the tasks' Argilla-style output; [`moving`]:
//!   `export` and `import`, streaming core's dump format (`workgate_core::dump`),
//! - [`settings`]: flags and environment variables mapped onto `workgate_core::Config`.

pub mod access_log;
pub mod batched_stderr;
pub mod cli;
pub mod connections;
pub mod metrics;
pub mod moving;
pub mod platform;
pub mod postgres;
pub mod request_body;
pub mod request_id;
pub mod schema;
pub mod server;
pub mod settings;
pub mod sqlite_datasets;
pub mod sqlite_restore;
pub mod sqlite_store;
pub mod tasks;
mod wal_index;
pub mod web_app;

pub use platform::NativePlatform;
pub use postgres::PostgresStore;
pub use sqlite_store::SqliteStore;

/// Frees `value` on tokio's blocking pool when a runtime is running, else here: what a request
/// no longer needs (a parsed bulk of records takes milliseconds to free) leaves its path.
pub(crate) fn discard<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(move || drop(value));
        }
        Err(_) => drop(value),
    }
}
