//! Reading a dump: every line parsed and checked before anything is written, so an import of
//! a bad dump changes nothing. The first problem found is the answer, as one line naming the
//! dump's line number (`line 7: ...`).
//!
//! Checked: the header (format name and version), each line's shape (one known key, no
//! unknown fields), the field rules a store relies on (names as API.md section 4 has them,
//! password hashes workgate can verify, 64-digit key digests, JSON-object record documents
//! without an `id` key — the line's `id` is the record's; a scan adds it to the document),
//! uniqueness (user ids, usernames, key digests; workspace ids and names; membership pairs;
//! audit ids; datasets per workspace; record ids per dataset), references to lines before (a
//! membership's user and workspace, a dataset's workspace, a record's dataset), and the end
//! line (present, last, with the right count: a cut-off dump is refused).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::Dump;
use super::format::{FORMAT_NAME, Header, Line, VERSION};
use crate::credentials::{ApiKeyDigest, is_supported_password_hash};
use crate::dataset::Record;
use crate::validation::is_valid_name;

/// Why a dump cannot be imported: what is wrong, and on which line (1-based; 0 when the dump
/// as a whole is wrong, e.g. empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DumpError {
    pub line: usize,
    pub message: String,
}

fn at(line: usize, message: impl Into<String>) -> DumpError {
    DumpError {
        line,
        message: message.into(),
    }
}

/// A serde error without its own position (the line number is ours; the column is kept).
fn shape(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &text[..i], e.column()),
        None => text,
    }
}

/// Reads and checks a whole dump.
pub fn read(text: &str) -> Result<Dump, DumpError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = body.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, first)) = lines.next().filter(|(_, l)| !l.trim().is_empty()) else {
        return Err(at(0, "the dump is empty"));
    };
    read_header(first)?;

    let mut state = State::default();
    let mut ended: Option<usize> = None;
    for (n, raw) in lines {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(end_line) = ended {
            if raw.trim().is_empty() {
                continue;
            }
            return Err(at(
                n,
                format!("nothing may follow the end line (line {end_line})"),
            ));
        }
        if raw.trim().is_empty() {
            return Err(at(n, "empty line"));
        }
        let line: Line = serde_json::from_str(raw).map_err(|e| at(n, shape(&e)))?;
        match line {
            Line::End(end) => {
                let entries = (n - 2) as u64;
                if end.entries != entries {
                    return Err(at(
                        n,
                        format!(
                            "the end line counts {} entries, but the dump has {entries}",
                            end.entries
                        ),
                    ));
                }
                ended = Some(n);
            }
            other => state.add(other).map_err(|m| at(n, m))?,
        }
    }
    if ended.is_none() {
        return Err(at(
            text.lines().count(),
            "the dump ends without its end line: it is cut off",
        ));
    }
    Ok(state.dump)
}

fn read_header(first: &str) -> Result<(), DumpError> {
    let first = first.strip_suffix('\r').unwrap_or(first);
    let value: serde_json::Value = serde_json::from_str(first)
        .map_err(|_| at(1, format!("not a workgate dump (the first line must be the header {{\"format\":\"{FORMAT_NAME}\",\"version\":{VERSION},...}})")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
        return Err(at(
            1,
            format!("not a workgate dump (the header's format must be \"{FORMAT_NAME}\")"),
        ));
    }
    match value.get("version").and_then(|v| v.as_u64()) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(v) => {
            return Err(at(
                1,
                format!(
                    "dump format version {v} is not supported (this workgate reads version {VERSION})"
                ),
            ));
        }
        None => return Err(at(1, "the header has no version")),
    }
    serde_json::from_value::<Header>(value).map_err(|e| at(1, shape(&e)))?;
    Ok(())
}

/// What the lines read so far hold, and the keys that must stay unique.
#[derive(Default)]
struct State {
    dump: Dump,
    user_ids: HashSet<Uuid>,
    usernames: HashSet<String>,
    digests: HashSet<ApiKeyDigest>,
    workspace_ids: HashSet<Uuid>,
    workspace_names: HashSet<String>,
    pairs: HashSet<(Uuid, Uuid)>,
    audit_ids: HashSet<Uuid>,
    /// (workspace, name) → index in `dump.datasets`.
    datasets: HashMap<(String, String), usize>,
    /// Record ids of each dataset, by its index.
    record_ids: Vec<HashSet<String>>,
}

impl State {
    fn add(&mut self, line: Line) -> Result<(), String> {
        match line {
            Line::Workspace(w) => {
                if !is_valid_name(&w.name) {
                    return Err(format!("workspace name {:?} is not a valid name", w.name));
                }
                if !self.workspace_ids.insert(w.id) {
                    return Err(format!("workspace id {} appears twice", w.id));
                }
                if !self.workspace_names.insert(w.name.clone()) {
                    return Err(format!("workspace name {:?} appears twice", w.name));
                }
                self.dump.workspaces.push(w.into_workspace());
            }
            Line::User(u) => {
                if !is_valid_name(&u.username) {
                    return Err(format!("username {:?} is not a valid name", u.username));
                }
                if u.first_name.trim().is_empty() {
                    return Err(format!("user {:?} has an empty first_name", u.username));
                }
                if !is_supported_password_hash(&u.password_hash) {
                    return Err(format!(
                        "user {:?}: password_hash is not an Argon2 or bcrypt hash workgate can verify",
                        u.username
                    ));
                }
                if u.security_stamp.is_empty() {
                    return Err(format!("user {:?} has an empty security_stamp", u.username));
                }
                let username = u.username.clone();
                let user = u
                    .into_user()
                    .map_err(|m| format!("user {username:?}: {m}"))?;
                if !self.user_ids.insert(user.id) {
                    return Err(format!("user id {} appears twice", user.id));
                }
                if !self.usernames.insert(user.username.clone()) {
                    return Err(format!("username {:?} appears twice", user.username));
                }
                if !self.digests.insert(user.api_key_digest) {
                    return Err(format!(
                        "user {:?} has the API key digest of an earlier user",
                        user.username
                    ));
                }
                self.dump.users.push(user);
            }
            Line::Member(m) => {
                if !self.workspace_ids.contains(&m.workspace) {
                    return Err(format!(
                        "membership names workspace {}, which no earlier line holds",
                        m.workspace
                    ));
                }
                if !self.user_ids.contains(&m.user) {
                    return Err(format!(
                        "membership names user {}, which no earlier line holds",
                        m.user
                    ));
                }
                if !self.pairs.insert((m.workspace, m.user)) {
                    return Err(format!(
                        "membership of user {} in workspace {} appears twice",
                        m.user, m.workspace
                    ));
                }
                self.dump.memberships.push(m.into_membership());
            }
            Line::Audit(a) => {
                if !self.audit_ids.insert(a.id) {
                    return Err(format!("audit entry {} appears twice", a.id));
                }
                self.dump.audit.push(a.into_entry());
            }
            Line::Dataset(d) => {
                if !self.workspace_names.contains(&d.workspace) {
                    return Err(format!(
                        "dataset {:?} is in workspace {:?}, which no earlier line holds",
                        d.name, d.workspace
                    ));
                }
                if d.name.is_empty() {
                    return Err("a dataset has an empty name".into());
                }
                let key = (d.workspace.clone(), d.name.clone());
                if self.datasets.contains_key(&key) {
                    return Err(format!(
                        "dataset {:?} of workspace {:?} appears twice",
                        d.name, d.workspace
                    ));
                }
                self.datasets.insert(key, self.dump.datasets.len());
                self.record_ids.push(HashSet::new());
                self.dump.datasets.push((d.into_dataset(), Vec::new()));
            }
            Line::Record(r) => {
                let key = (r.workspace.clone(), r.dataset.clone());
                let Some(&index) = self.datasets.get(&key) else {
                    return Err(format!(
                        "record {:?} is in dataset {:?} of workspace {:?}, which no earlier line holds",
                        r.id, r.dataset, r.workspace
                    ));
                };
                if r.id.is_empty() {
                    return Err("a record has an empty id".into());
                }
                if holds_id_key(r.doc.as_json()) {
                    return Err(format!(
                        "record {:?} of dataset {:?}: its doc holds an \"id\" key (the record's id is the line's \"id\"; a stored document never holds one)",
                        r.id, r.dataset
                    ));
                }
                if !self.record_ids[index].insert(r.id.clone()) {
                    return Err(format!(
                        "record {:?} of dataset {:?} appears twice",
                        r.id, r.dataset
                    ));
                }
                self.dump.datasets[index].1.push(Record {
                    id: r.id,
                    doc: r.doc,
                });
            }
            Line::End(_) => {}
        }
        Ok(())
    }
}

/// Whether a record document (a JSON object) has a top-level `id` key, however spelled
/// (`"\u0069d"` too) and whatever its value (`null` too). Values are skipped, not parsed.
fn holds_id_key(doc: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct IdKey {
        #[serde(default, deserialize_with = "present")]
        id: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| true)
    }
    use serde::Deserialize;
    // An error here is a repeated `id` key: it holds one.
    !matches!(serde_json::from_str::<IdKey>(doc), Ok(IdKey { id: false }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{PasswordCost, hash_password};

    fn hash() -> String {
        let cost = PasswordCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        hash_password("password", cost, [1; 16]).unwrap()
    }

    /// A small dump: one workspace, one admin in it, one dataset with one record.
    fn dump() -> Vec<String> {
        let digest = ApiKeyDigest::of("key").to_hex();
        vec![
            r#"{"format":"workgate-dump","version":1,"workgate":"0.1.0"}"#.into(),
            r#"{"workspace":{"id":"00000000-0000-4000-8000-000000000001","name":"ws","inserted_at":1,"updated_at":1}}"#.into(),
            format!(
                r#"{{"user":{{"id":"00000000-0000-4000-8000-000000000002","username":"ad","first_name":"Ad","role":"admin","disabled":false,"password_hash":"{}","api_key_digest":"{digest}","api_key_prefix":"key","security_stamp":"s","inserted_at":1,"updated_at":1}}}}"#,
                hash()
            ),
            r#"{"member":{"workspace":"00000000-0000-4000-8000-000000000001","user":"00000000-0000-4000-8000-000000000002","at":1}}"#.into(),
            r#"{"dataset":{"workspace":"ws","name":"d","task":"Text2Text","tags":{},"metadata":{},"created_at":1,"last_updated":1,"closed":false,"facts":{"records":1,"metadata_keys":[],"vector_names":[],"labels":[]}}}"#.into(),
            r#"{"record":{"workspace":"ws","dataset":"d","id":"r1","doc":{"text":"hi"}}}"#.into(),
            r#"{"end":{"entries":5}}"#.into(),
        ]
    }

    fn error(lines: &[String]) -> String {
        read(&lines.join("\n")).unwrap_err().to_string()
    }

    #[test]
    fn a_whole_dump_reads_with_crlf_and_a_trailing_newline() {
        let text = dump().join("\r\n") + "\r\n";
        let read = read(&text).unwrap();
        assert_eq!(read.counts().users, 1);
        assert_eq!(read.datasets[0].1[0].id, "r1");
    }

    #[test]
    fn every_problem_names_its_line() {
        let mut d = dump();
        d[2] = d[2].replace("\"role\":\"admin\"", "\"role\":\"owner\"");
        assert!(
            error(&d).starts_with("line 3: unknown variant `owner`"),
            "{}",
            error(&d)
        );

        let mut d = dump();
        d[1] = d[1].replace("\"updated_at\":1}", "\"updated_at\":1,\"colour\":\"red\"}");
        assert!(
            error(&d).starts_with("line 2: unknown field `colour`"),
            "{}",
            error(&d)
        );

        let mut d = dump();
        d.insert(3, String::new());
        assert_eq!(error(&d), "line 4: empty line");

        let mut d = dump();
        d.push(d[1].clone());
        assert_eq!(
            error(&d),
            "line 8: nothing may follow the end line (line 7)"
        );

        let mut d = dump();
        d[5] = d[5].replace("\"dataset\":\"d\"", "\"dataset\":\"e\"");
        assert!(error(&d).starts_with("line 6: record \"r1\" is in dataset \"e\""));

        let mut d = dump();
        d[5] = d[5].replace("{\"text\":\"hi\"}", "[1]");
        assert!(
            error(&d).contains("a record document must be a JSON object"),
            "{}",
            error(&d)
        );

        let mut d = dump();
        d[1] = d[1].replace("\"ws\"", "\"-ws\"");
        assert!(error(&d).starts_with("line 2: workspace name \"-ws\" is not a valid name"));

        assert_eq!(
            read("").unwrap_err().to_string(),
            "line 0: the dump is empty"
        );
    }

    #[test]
    fn a_record_document_holding_an_id_key_is_refused_naming_its_line() {
        let refused = "line 6: record \"r1\" of dataset \"d\": its doc holds an \"id\" key";
        for doc in [
            r#"{"id":"r1","text":"hi"}"#,
            r#"{"text":"hi","id":null}"#,
            r#"{"text":"hi","\u0069d":7}"#,
            r#"{"id":1,"id":2}"#,
        ] {
            let mut d = dump();
            d[5] = d[5].replace(r#"{"text":"hi"}"#, doc);
            assert!(error(&d).starts_with(refused), "{doc}: {}", error(&d));
        }
        // Only a top-level key: one inside a field is the record's own data.
        let mut d = dump();
        d[5] = d[5].replace(
            r#"{"text":"hi"}"#,
            r#"{"text":"hi","metadata":{"id":1},"inputs":{"id":"x"}}"#,
        );
        assert_eq!(read(&d.join("\n")).unwrap().datasets[0].1[0].id, "r1");
    }
}
