//! Moving a deployment: the dump format, reading and checking it, exporting a store into it and
//! importing it into another — once, for every host (`workgate export` / `import` on the
//! native server, `GET` / `POST /api/_dump` on every host).
//!
//! A dump is **JSON lines**, versioned ([`format`] has the exact lines):
//!
//! ```text
//! {"format":"workgate-dump","version":1,"workgate":"0.1.0"}
//! {"workspace":{...}}    every workspace, in insertion order
//! {"user":{...}}         every user, in insertion order: role, password hash, API-key digest
//! {"member":{...}}       every membership, in insertion order, with its time
//! {"audit":{...}}        the audit log, oldest first
//! {"dataset":{...}}      each dataset, followed by its records
//! {"record":{...}}
//! {"end":{"entries":N}}  the number of lines between header and end: a cut-off dump is refused
//! ```
//!
//! Secrets stay what the stores keep: password hashes and SHA-256 digests of API keys, never a
//! password or key. Not in a dump: login-throttle records (transient, at most 15 minutes of
//! failed logins; keyed by any username tried, known or not) and the generated token secret (a
//! secret in plain form: bearer tokens of the old deployment stop working unless both run with
//! the same configured `ARGILLA_LOCAL_AUTH_SECRET_KEY`; API keys and passwords keep working).
//!
//! - [`read`]: the whole dump is parsed and checked before anything is written (version,
//!   every line's shape and field rules, duplicates, references to earlier lines, the end
//!   line); every error is one line naming the dump's line number.
//! - [`export`]: a store's contents as dump lines, through the store traits' listings.
//! - [`import`]: what to write into a target (empty, or merging: identical entities are
//!   skipped, conflicting ones refuse the whole import), written by the backend's
//!   [`crate::store::Restore`] in one transaction where it has one, else part by part.
//!
//! **Audit.** Moving data is audited (the engine's `Engine::export_dump` /
//! `Engine::import_dump`, which every host calls): `dump.export` is written *after* the
//! export has read the store, with the counts it handed out, so it is not in the dump it
//! records (the dump is the store as it was; the entry is in the next one); an export of an
//! empty store hands out nothing and writes none (the store stays importable). `dump.import`
//! is written after the import's rows (with them, in one transaction, where the backend has
//! one), so it is the target's latest entry; a refused import writes nothing. So a dump read
//! back after an import holds the imported dump's lines plus its `dump.import` entry.

pub mod export;
pub mod format;
pub mod import;
pub mod read;

use crate::dataset::{Dataset, Record};
use crate::domain::{AuditEntry, User, Workspace};
use crate::store::Membership;

pub use export::{ExportError, export};
pub use import::{ImportError, Imported, Mode, import, import_at_most};
pub use read::{DumpError, read};

/// A whole dump, read and checked ([`read`]), or a store's contents ([`export`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dump {
    pub workspaces: Vec<Workspace>,
    pub users: Vec<User>,
    pub memberships: Vec<Membership>,
    /// Oldest first.
    pub audit: Vec<AuditEntry>,
    /// Each dataset with its records (byte order of the id).
    pub datasets: Vec<(Dataset, Vec<Record>)>,
}

/// What an import writes: the dump's entities that the target does not hold yet, in the
/// dump's order. Made by [`import`]; written by a store's [`crate::store::Restore`] or part by
/// part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub workspaces: Vec<Workspace>,
    pub users: Vec<User>,
    pub memberships: Vec<Membership>,
    pub audit: Vec<AuditEntry>,
    /// Datasets to create (their records are in `records`).
    pub datasets: Vec<Dataset>,
    /// Records to add, per dataset (`workspace`, `name`): of a dataset in `datasets`, or of
    /// one the target holds identically already (a merge completing an earlier import).
    pub records: Vec<(String, String, Vec<Record>)>,
}

impl Plan {
    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.workspaces.is_empty()
            && self.users.is_empty()
            && self.memberships.is_empty()
            && self.audit.is_empty()
            && self.datasets.is_empty()
            && self.records.iter().all(|(_, _, r)| r.is_empty())
    }

    /// The number of records it writes.
    pub fn record_count(&self) -> usize {
        self.records.iter().map(|(_, _, r)| r.len()).sum()
    }
}

/// How many of each kind of entity, for what `export` and `import` report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub workspaces: usize,
    pub users: usize,
    pub memberships: usize,
    pub audit: usize,
    pub datasets: usize,
    pub records: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} workspaces, {} memberships, {} audit entries, {} datasets, {} records",
            self.users, self.workspaces, self.memberships, self.audit, self.datasets, self.records
        )
    }
}

impl Counts {
    /// The counts as an audit entry's detail: `users=5 workspaces=8 memberships=3 audit=40
    /// datasets=4 records=21`.
    pub fn detail(&self) -> String {
        format!(
            "users={} workspaces={} memberships={} audit={} datasets={} records={}",
            self.users, self.workspaces, self.memberships, self.audit, self.datasets, self.records
        )
    }
}

impl Dump {
    pub fn counts(&self) -> Counts {
        Counts {
            workspaces: self.workspaces.len(),
            users: self.users.len(),
            memberships: self.memberships.len(),
            audit: self.audit.len(),
            datasets: self.datasets.len(),
            records: self.datasets.iter().map(|(_, r)| r.len()).sum(),
        }
    }
}

impl Plan {
    pub fn counts(&self) -> Counts {
        Counts {
            workspaces: self.workspaces.len(),
            users: self.users.len(),
            memberships: self.memberships.len(),
            audit: self.audit.len(),
            datasets: self.datasets.len(),
            records: self.record_count(),
        }
    }
}
