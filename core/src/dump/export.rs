//! Exporting: a store's contents as dump lines, through the store traits' listings (so every
//! host exports alike). Lines are handed to a sink one at a time: the native command writes
//! them to stdout as they come, the endpoint collects them.
//!
//! The listings are read one after the other, not in one snapshot: export a store nobody
//! writes to meanwhile (a stopped server, or a copy — `sqlite3 … ".backup …"`), or the dump may
//! hold, say, a membership of a user created after the users were listed (an import then
//! refuses it, naming the line: nothing is imported half).

use super::Counts;
use super::format::{
    AuditLine, DatasetLine, EndLine, Header, Line, MemberLine, RecordLine, UserLine, WorkspaceLine,
    to_line,
};
use crate::store::{StoreError, Stores};

/// Audit entries and records are read this many at a time.
const PAGE: usize = 1000;

/// Why an export stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
    /// The sink refused a line (e.g. stdout closed).
    #[error("cannot write the dump: {0}")]
    Sink(String),
}

/// Writes every line of `stores`' dump to `sink` (each line's JSON, without newline), header
/// first and end line last. Answers what it wrote.
pub async fn export<S>(stores: &Stores, sink: &mut S) -> Result<Counts, ExportError>
where
    S: FnMut(&str) -> Result<(), String>,
{
    let mut writer = Writer { sink, entries: 0 };
    writer.line(&Header::current(), false)?;
    let mut counts = Counts::default();

    let workspaces = stores.directory.workspaces().await?;
    for w in &workspaces {
        writer.line(&Line::Workspace(WorkspaceLine::from(w)), true)?;
    }
    counts.workspaces = workspaces.len();

    let users = stores.directory.users().await?;
    for u in &users {
        writer.line(&Line::User(UserLine::from(u)), true)?;
    }
    counts.users = users.len();

    let memberships = stores.directory.memberships().await?;
    for m in &memberships {
        writer.line(&Line::Member(MemberLine::from(m)), true)?;
    }
    counts.memberships = memberships.len();

    // The log lists newest first; the dump holds it oldest first, the order it is appended in.
    let mut audit = Vec::new();
    loop {
        let offset = u32::try_from(audit.len()).unwrap_or(u32::MAX);
        let page = stores.audit.audit(PAGE as u32, offset).await?;
        let last = page.len() < PAGE;
        audit.extend(page);
        if last {
            break;
        }
    }
    for entry in audit.iter().rev() {
        writer.line(&Line::Audit(AuditLine::from(entry)), true)?;
    }
    counts.audit = audit.len();

    if let Some(datasets) = &stores.datasets {
        let names: Vec<String> = workspaces.iter().map(|w| w.name.clone()).collect();
        for dataset in datasets.datasets(&names).await? {
            writer.line(&Line::Dataset(DatasetLine::from(&dataset)), true)?;
            counts.datasets += 1;
            let mut after: Option<String> = None;
            loop {
                let page = datasets
                    .records(&dataset.workspace, &dataset.name, after.as_deref(), PAGE)
                    .await?;
                for record in &page {
                    writer.line(&Line::Record(RecordLine::of(&dataset, record)), true)?;
                }
                counts.records += page.len();
                match page.last() {
                    Some(last) if page.len() == PAGE => after = Some(last.id.clone()),
                    _ => break,
                }
            }
        }
    }

    let entries = writer.entries;
    writer.line(&Line::End(EndLine { entries }), false)?;
    Ok(counts)
}

struct Writer<'a, S> {
    sink: &'a mut S,
    entries: u64,
}

impl<S: FnMut(&str) -> Result<(), String>> Writer<'_, S> {
    fn line<T: serde::Serialize>(&mut self, value: &T, entry: bool) -> Result<(), ExportError> {
        let text = to_line(value).map_err(ExportError::Sink)?;
        (self.sink)(&text).map_err(ExportError::Sink)?;
        if entry {
            self.entries += 1;
        }
        Ok(())
    }
}
