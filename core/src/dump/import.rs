//! Importing a checked dump ([`super::read`]) into a target store.
//!
//! **Into an empty target** ([`Mode::Empty`]): the target must hold no user, workspace, audit
//! entry or dataset, and a dump with users must hold an enabled admin (API.md 9.8: a store is
//! never without one).
//!
//! **Merging** ([`Mode::Merge`]): into a target that may hold data. An entity the target holds
//! identically (same id and every field equal; a membership: the same pair; a dataset: equal
//! fields, and each of its records the target has equal) is skipped; one that conflicts — the
//! same id with other fields, a username, workspace name or key digest held under another
//! id, a record of the same id with another document — refuses the whole import, naming it.
//! What remains is written. So importing one dump twice writes nothing the second time, and a
//! merge finishes an import that stopped halfway.
//!
//! **All or nothing.** Everything is decided before anything is written ([`Plan`]). A backend
//! with transactions writes the plan in one ([`crate::store::Restore`]: SQLite, PostgreSQL).
//! One without (the Worker's KV and Durable Objects) is written part by part through the store
//! traits, in the dump's order: workspaces, users, memberships, audit, datasets and records in
//! bulks of [`RECORDS_PER_WRITE`]; if a write fails there, what was written stays and the error
//! says so — the same import with merge then writes the rest. Such a backend may also be asked
//! to stop after so many writes ([`import_at_most`]): the Worker's limits on subrequests per
//! request then never cut an entity in half, and the same dump posted again with merge goes on
//! where the last request stopped, until [`Imported::complete`].

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{Counts, Dump, Plan};
use crate::dataset::{Dataset, Record};
use crate::domain::{AuditEntry, NewUser, User, Workspace};
use crate::store::{RecordWrite, StoreError, Stores};

/// Records written per `write_records` call when a plan is written part by part.
pub const RECORDS_PER_WRITE: usize = 500;

/// How an import treats what the target holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The target must be empty.
    Empty,
    /// Skip what the target holds identically, refuse conflicts, write the rest.
    Merge,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub written: Counts,
    /// Entities the target held identically (merge).
    pub skipped: Counts,
    /// Whether the plan was written in one transaction.
    pub in_one_transaction: bool,
    /// Whether everything the dump holds is in the target now (`false`: a write budget ran out;
    /// import the same dump again with merge).
    pub complete: bool,
}

/// Why an import wrote nothing (or, on a backend without transactions, stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the target is not empty (it holds {0}); import into an empty store, or merge into this one"
    )]
    NotEmpty(String),
    #[error("conflict with the target: {0}; nothing was imported")]
    Conflict(String),
    #[error("the dump has users but no enabled admin: the target would have none")]
    NoAdmin,
    #[error("the target keeps no datasets, and the dump has {0}")]
    NoDatasets(usize),
    #[error("cannot import: {0}; nothing was imported")]
    Store(#[from] StoreError),
    /// A backend without transactions failed after writing part of the plan.
    #[error(
        "the import stopped after writing {written}: {error}; run the same import again with merge to write the rest"
    )]
    Halfway { written: Counts, error: StoreError },
}

/// Imports `dump` into `stores`, and writes the audit entry `record` makes of what it did
/// (see [`import_at_most`]).
pub async fn import<F>(
    stores: &Stores,
    dump: Dump,
    mode: Mode,
    record: F,
) -> Result<Imported, ImportError>
where
    F: FnOnce(&Imported) -> AuditEntry,
{
    import_at_most(stores, dump, mode, None, record).await
}

/// [`import`], stopping after `max_writes` store writes (an entity, a membership, an audit
/// entry, a dataset, or a bulk of up to [`RECORDS_PER_WRITE`] records) where the plan is
/// written part by part; a backend that writes in one transaction writes it all.
///
/// **The import's own audit entry** (`record`, made from what was written and skipped; the
/// engine's `dump.import`) is written after the import's rows, so it is the target's latest
/// entry: with them, in the same transaction, by a [`crate::store::Restore`] (the last of the
/// plan's audit entries); part by part, once the writes are done (also when `max_writes` ran
/// out: that request wrote something). A refused import, or one that stopped halfway on an
/// error, writes no entry. It is not counted in [`Imported::written`].
pub async fn import_at_most<F>(
    stores: &Stores,
    dump: Dump,
    mode: Mode,
    max_writes: Option<usize>,
    record: F,
) -> Result<Imported, ImportError>
where
    F: FnOnce(&Imported) -> AuditEntry,
{
    // The target's datasets are read only in the workspaces the dump has datasets in (a
    // listing is one Durable Object call per workspace on the Worker): a target with any
    // dataset has a workspace, which makes it non-empty already.
    let mut dataset_workspaces: Vec<String> = dump
        .datasets
        .iter()
        .map(|(d, _)| d.workspace.clone())
        .collect();
    dataset_workspaces.dedup();
    let target = Target::read(stores, &dataset_workspaces).await?;
    if mode == Mode::Empty {
        if let Some(what) = target.contents() {
            return Err(ImportError::NotEmpty(what));
        }
        if !dump.users.is_empty() && !dump.users.iter().any(User::is_active_admin) {
            return Err(ImportError::NoAdmin);
        }
    }
    if !dump.datasets.is_empty() && stores.datasets.is_none() {
        return Err(ImportError::NoDatasets(dump.datasets.len()));
    }
    let total = dump.counts();
    let plan = target.plan(stores, dump).await?;
    let planned = plan.counts();
    let skipped = Counts {
        workspaces: total.workspaces - planned.workspaces,
        users: total.users - planned.users,
        memberships: total.memberships - planned.memberships,
        audit: total.audit - planned.audit,
        datasets: total.datasets - planned.datasets,
        records: total.records - planned.records,
    };
    let imported = |written: Counts| Imported {
        written,
        skipped,
        in_one_transaction: stores.restore.is_some(),
        complete: written == planned,
    };
    match &stores.restore {
        Some(restore) => {
            let done = imported(planned);
            let mut plan = plan;
            plan.audit.push(record(&done));
            restore.restore(&plan).await?;
            Ok(done)
        }
        None => {
            let written =
                write_part_by_part(stores, &plan, max_writes.unwrap_or(usize::MAX)).await?;
            let done = imported(written);
            let entry = record(&done);
            stores
                .audit
                .append_audit(entry)
                .await
                .map_err(|error| ImportError::Halfway { written, error })?;
            Ok(done)
        }
    }
}

/// What the target holds, as far as an import needs it.
struct Target {
    users: Vec<User>,
    workspaces: Vec<Workspace>,
    pairs: HashSet<(Uuid, Uuid)>,
    audit: HashMap<Uuid, AuditEntry>,
    /// Only those in the workspaces the dump has datasets in.
    datasets: HashMap<(String, String), Dataset>,
}

impl Target {
    async fn read(stores: &Stores, dataset_workspaces: &[String]) -> Result<Target, StoreError> {
        let users = stores.directory.users().await?;
        let workspaces = stores.directory.workspaces().await?;
        let pairs = stores
            .directory
            .memberships()
            .await?
            .into_iter()
            .map(|m| (m.workspace, m.user))
            .collect();
        let mut audit = HashMap::new();
        loop {
            let offset = u32::try_from(audit.len()).unwrap_or(u32::MAX);
            let page = stores.audit.audit(1000, offset).await?;
            let last = page.len() < 1000;
            audit.extend(page.into_iter().map(|e| (e.id, e)));
            if last {
                break;
            }
        }
        let mut datasets = HashMap::new();
        if let Some(part) = &stores.datasets {
            let names: Vec<String> = workspaces
                .iter()
                .filter(|w| dataset_workspaces.contains(&w.name))
                .map(|w| w.name.clone())
                .collect();
            for d in part.datasets(&names).await? {
                datasets.insert((d.workspace.clone(), d.name.clone()), d);
            }
        }
        Ok(Target {
            users,
            workspaces,
            pairs,
            audit,
            datasets,
        })
    }

    /// What it holds, when it holds anything.
    fn contents(&self) -> Option<String> {
        let counts = Counts {
            workspaces: self.workspaces.len(),
            users: self.users.len(),
            memberships: self.pairs.len(),
            audit: self.audit.len(),
            datasets: self.datasets.len(),
            records: 0,
        };
        let mut parts = Vec::new();
        for (n, what) in [
            (counts.users, "users"),
            (counts.workspaces, "workspaces"),
            (counts.audit, "audit entries"),
            (counts.datasets, "datasets"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The dump less what the target holds identically; a conflict refuses.
    async fn plan(&self, stores: &Stores, dump: Dump) -> Result<Plan, ImportError> {
        let conflict = |m: String| Err(ImportError::Conflict(m));
        let mut plan = Plan::default();

        let ws_by_id: HashMap<Uuid, &Workspace> =
            self.workspaces.iter().map(|w| (w.id, w)).collect();
        let ws_by_name: HashMap<&str, &Workspace> = self
            .workspaces
            .iter()
            .map(|w| (w.name.as_str(), w))
            .collect();
        for w in dump.workspaces {
            match (ws_by_id.get(&w.id), ws_by_name.get(w.name.as_str())) {
                (Some(held), _) if **held == w => continue,
                (Some(_), _) => {
                    return conflict(format!(
                        "workspace {} ({:?}) differs from the target's",
                        w.id, w.name
                    ));
                }
                (None, Some(held)) => {
                    return conflict(format!(
                        "the target has a workspace named {:?} with another id ({})",
                        w.name, held.id
                    ));
                }
                (None, None) => plan.workspaces.push(w),
            }
        }

        let by_id: HashMap<Uuid, &User> = self.users.iter().map(|u| (u.id, u)).collect();
        let by_name: HashMap<&str, &User> = self
            .users
            .iter()
            .map(|u| (u.username.as_str(), u))
            .collect();
        let by_digest: HashMap<_, &User> =
            self.users.iter().map(|u| (u.api_key_digest, u)).collect();
        for u in dump.users {
            match by_id.get(&u.id) {
                Some(held) if **held == u => continue,
                Some(_) => {
                    return conflict(format!(
                        "user {} ({:?}) differs from the target's",
                        u.id, u.username
                    ));
                }
                None => {}
            }
            if let Some(held) = by_name.get(u.username.as_str()) {
                return conflict(format!(
                    "the target has a user named {:?} with another id ({})",
                    u.username, held.id
                ));
            }
            if let Some(held) = by_digest.get(&u.api_key_digest) {
                return conflict(format!(
                    "user {:?} has the API key of the target's user {:?}",
                    u.username, held.username
                ));
            }
            plan.users.push(u);
        }

        plan.memberships = dump
            .memberships
            .into_iter()
            .filter(|m| !self.pairs.contains(&(m.workspace, m.user)))
            .collect();

        for entry in dump.audit {
            match self.audit.get(&entry.id) {
                Some(held) if *held == entry => {}
                Some(_) => {
                    return conflict(format!(
                        "audit entry {} differs from the target's",
                        entry.id
                    ));
                }
                None => plan.audit.push(entry),
            }
        }

        for (dataset, records) in dump.datasets {
            let key = (dataset.workspace.clone(), dataset.name.clone());
            let missing = match self.datasets.get(&key) {
                None => {
                    plan.datasets.push(dataset.clone());
                    records
                }
                Some(held) if *held == dataset => {
                    missing_records(stores, &dataset, records).await?
                }
                Some(_) => {
                    return conflict(format!(
                        "dataset {:?} of workspace {:?} differs from the target's",
                        dataset.name, dataset.workspace
                    ));
                }
            };
            if !missing.is_empty() {
                plan.records
                    .push((dataset.workspace, dataset.name, missing));
            }
        }
        Ok(plan)
    }
}

/// The records of a dataset the target holds identically that it does not hold yet; one it
/// holds with another document is a conflict.
async fn missing_records(
    stores: &Stores,
    dataset: &Dataset,
    records: Vec<Record>,
) -> Result<Vec<Record>, ImportError> {
    let Some(part) = &stores.datasets else {
        return Ok(records);
    };
    let mut missing = Vec::new();
    for chunk in records.chunks(1000) {
        let ids: Vec<String> = chunk.iter().map(|r| r.id.clone()).collect();
        let held: HashMap<String, Record> = part
            .records_by_ids(&dataset.workspace, &dataset.name, &ids)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        for record in chunk {
            match held.get(&record.id) {
                Some(h) if h == record => {}
                Some(_) => {
                    return Err(ImportError::Conflict(format!(
                        "record {:?} of dataset {:?} differs from the target's",
                        record.id, dataset.name
                    )));
                }
                None => missing.push(record.clone()),
            }
        }
    }
    Ok(missing)
}

/// Writes a plan through the store traits, in order, for a backend without transactions, at
/// most `budget` writes. Answers what it wrote.
async fn write_part_by_part(
    stores: &Stores,
    plan: &Plan,
    budget: usize,
) -> Result<Counts, ImportError> {
    let mut written = Counts::default();
    let mut writes = 0usize;
    // One more write, or stop here with what was written.
    macro_rules! spend {
        () => {
            if writes >= budget {
                return Ok(written);
            }
            writes += 1;
        };
    }
    let halfway =
        |written: Counts| move |error: StoreError| ImportError::Halfway { written, error };
    let dir = &stores.directory;
    for w in &plan.workspaces {
        spend!();
        dir.create_workspace(w.clone(), None)
            .await
            .map_err(halfway(written))?;
        written.workspaces += 1;
    }
    for u in &plan.users {
        spend!();
        let new = NewUser {
            user: u.clone(),
            workspaces: Vec::new(),
        };
        dir.create_user(new, None).await.map_err(halfway(written))?;
        written.users += 1;
    }
    for m in &plan.memberships {
        spend!();
        dir.add_member(m.workspace, m.user, m.at, None)
            .await
            .map_err(halfway(written))?;
        written.memberships += 1;
    }
    for entry in &plan.audit {
        spend!();
        stores
            .audit
            .append_audit(entry.clone())
            .await
            .map_err(halfway(written))?;
        written.audit += 1;
    }
    let Some(part) = &stores.datasets else {
        return Ok(written);
    };
    for dataset in &plan.datasets {
        spend!();
        let created = part
            .create_dataset(dataset.clone(), None)
            .await
            .map_err(halfway(written))?;
        if !created {
            return Err(halfway(written)(StoreError::Backend(format!(
                "dataset {:?} of workspace {:?} appeared meanwhile",
                dataset.name, dataset.workspace
            ))));
        }
        written.datasets += 1;
    }
    for (workspace, name, records) in &plan.records {
        let Some(dataset) = part
            .dataset(workspace, name)
            .await
            .map_err(halfway(written))?
        else {
            return Err(halfway(written)(StoreError::Backend(format!(
                "dataset {name:?} of workspace {workspace:?} went away meanwhile"
            ))));
        };
        for chunk in records.chunks(RECORDS_PER_WRITE) {
            spend!();
            let (keep, chunk_records) = (dataset.clone(), chunk.to_vec());
            let write = RecordWrite {
                ids: chunk.iter().map(|r| r.id.clone()).collect(),
                // The dataset as the dump has it (its facts count every record of the dump),
                // and the records as they are.
                decide: std::sync::Arc::new(move |_, _| Ok((keep.clone(), chunk_records.clone()))),
                created: None,
            };
            match part.write_records(workspace, name, write).await {
                Ok(Ok(_)) => written.records += chunk.len(),
                Ok(Err(refused)) => {
                    return Err(halfway(written)(StoreError::Backend(format!(
                        "records refused: {refused:?}"
                    ))));
                }
                Err(e) => return Err(halfway(written)(e)),
            }
        }
    }
    Ok(written)
}
