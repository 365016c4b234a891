//! # workgate-core
//!
//! The whole behaviour of workgate, once: the Argilla user-and-workspace model, the access
//! decisions, credentials, the persistence traits and the HTTP API engine. It does no I/O and
//! reads no clock or random source; hosts (the axum server, the Cloudflare Worker, the browser
//! package) pass those in and translate requests. See ARCHITECTURE.md.
//!
//! With `default-features = false` only the access model ([`access`]) and [`domain::Role`] are
//! compiled: that is what the browser package carries.

pub mod access;
pub mod domain;
pub mod validation;

#[cfg(feature = "engine")]
pub mod credentials;
#[cfg(feature = "engine")]
pub mod dataset;
#[cfg(feature = "engine")]
pub mod dump;
#[cfg(feature = "engine")]
pub mod engine;
#[cfg(feature = "engine")]
pub mod http;
#[cfg(feature = "engine")]
pub mod memory_store;
#[cfg(feature = "engine")]
pub mod platform;
#[cfg(feature = "engine")]
pub mod records;
#[cfg(feature = "engine")]
pub mod rules;
#[cfg(feature = "engine")]
pub mod store;
#[cfg(feature = "engine")]
pub mod timestamp;

pub use access::{Action, Resource, Subject, can};
pub use domain::Role;

#[cfg(feature = "engine")]
pub use engine::{Config, DefaultUserConfig, Engine, ThrottlePolicy};
#[cfg(feature = "engine")]
pub use http::{Request, Response};
#[cfg(feature = "engine")]
pub use memory_store::MemoryStore;
#[cfg(feature = "engine")]
pub use platform::Platform;
#[cfg(feature = "engine")]
pub use store::{
    AuditLog, DatasetEdit, Datasets, Directory, FailureWindow, LoginThrottle, RecordSelection,
    RecordWrite, Secrets, StoreError, StoreResult, Stores, UserEdit, WriteRefused,
};
#[cfg(feature = "engine")]
pub use timestamp::Timestamp;

/// workgate's own version (the OpenAPI description, the command line).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Argilla API level workgate serves, reported by `/api/_info` and `/api/_status`: the
/// clients gate features on it (client 1.8's `rg.load` needs ≥ 1.2.0, its settings helpers
/// ≥ 1.4.0).
pub const API_LEVEL: &str = "1.8.0";
