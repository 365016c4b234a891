//! Datasets and their records, as the stores keep them (API.md section 10).
//!
//! A dataset lives in a workspace, has one [`Task`], and holds records. A record is stored
//! whole, as the JSON document Argilla 1.8 keeps (its `exclude_none` form, with the server's
//! additions: status, metrics, the `predictions`/`annotations` maps, the joined `text` of a
//! text-classification record), under its id as a string. Which records a bulk writes, how a
//! re-log merges, and what a dataset's record-derived facts are (metadata keys, multi-label) are
//! decided by [`crate::records`]; stores keep them atomically.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::timestamp::Timestamp;

/// A dataset's task: what its records look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    TextClassification,
    TokenClassification,
    Text2Text,
}

impl Task {
    pub const ALL: [Task; 3] = [
        Task::TextClassification,
        Task::TokenClassification,
        Task::Text2Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::TextClassification => "TextClassification",
            Task::TokenClassification => "TokenClassification",
            Task::Text2Text => "Text2Text",
        }
    }

    /// The task named in a path or body: Argilla's names, and the `TaskType.*` spellings that
    /// client 1.8 builds on Python ≥ 3.11 (research §2.8).
    pub fn parse(s: &str) -> Option<Task> {
        match s {
            "TextClassification" | "TaskType.text_classification" => Some(Task::TextClassification),
            "TokenClassification" | "TaskType.token_classification" => {
                Some(Task::TokenClassification)
            }
            "Text2Text" | "TaskType.text2text" => Some(Task::Text2Text),
            _ => None,
        }
    }

    /// Whether datasets of this task have a label schema (settings).
    pub fn has_settings(self) -> bool {
        !matches!(self, Task::Text2Text)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub workspace: String,
    pub name: String,
    pub task: Task,
    /// String values only (Argilla coerces).
    pub tags: Map<String, Value>,
    pub metadata: Map<String, Value>,
    /// The username of its creator, when known.
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub last_updated: Timestamp,
    /// A closed dataset keeps its records and settings; bulk and scan refuse it until opened.
    pub closed: bool,
    /// The label schema: `{"label_schema": {"labels": [{"id","name",...}]}}`, when saved.
    pub settings: Option<Value>,
    /// Facts about its records that bulk rules need, kept with the dataset.
    pub facts: RecordFacts,
}

/// What a dataset's records say about it, maintained by core with every write.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFacts {
    /// How many records it holds.
    pub records: u64,
    /// Every metadata key its records have had (Argilla's limit counts these).
    pub metadata_keys: Vec<String>,
    /// Every vector name its records have had.
    pub vector_names: Vec<String>,
    /// Whether its text-classification records are multi-label (set by the first record).
    pub multi_label: Option<bool>,
    /// The labels its records use (predictions and annotations), for the settings check.
    pub labels: Vec<String>,
}

impl Dataset {
    /// Argilla's dataset id: `<workspace>.<name>`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.workspace, self.name)
    }
}

/// One stored record: its id (as a string: the order key) and its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub doc: RecordDoc,
}

/// A record's stored document: a JSON object, kept as its compact text.
///
/// Stores keep and hand back the text as it is; core parses it only where a rule needs its
/// fields (filters, sorting, the re-log merge, discarding), so a scan copies stored documents
/// into its answer without building them up and writing them out again. Text read back from a
/// store is checked in full where it is used (a scan splits it into top-level fields, which
/// parses it), not once more on reading. It serializes as the JSON object itself (not a
/// string), so the Worker's Durable Object messages carry it as before.
#[derive(Clone)]
pub struct RecordDoc(String);

impl RecordDoc {
    /// The document of `map`.
    pub fn from_map(map: &Map<String, Value>) -> RecordDoc {
        RecordDoc::from_serialize(map)
    }

    /// The document `value` serializes to; `value` must serialize as a JSON object (core's
    /// documents do: maps of JSON values).
    pub(crate) fn from_serialize(value: &impl Serialize) -> RecordDoc {
        // Serializing JSON values cannot fail (their keys are strings).
        RecordDoc(serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string()))
    }

    /// A document core just wrote out as one JSON object.
    pub(crate) fn from_trusted_json(text: String) -> RecordDoc {
        RecordDoc(text)
    }

    /// `{}`.
    pub fn empty() -> RecordDoc {
        RecordDoc("{}".to_string())
    }

    /// A document read back from a store, where core wrote it: it must look like one JSON
    /// object (its content is checked where it is parsed).
    pub fn from_json(text: String) -> Result<RecordDoc, RecordDocError> {
        let t = text.trim();
        if t.starts_with('{') && t.ends_with('}') {
            Ok(RecordDoc(text))
        } else {
            Err(RecordDocError(
                "a record document must be a JSON object".into(),
            ))
        }
    }

    /// Its JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// Its fields, parsed (none if the stored text is not JSON).
    pub fn to_map(&self) -> Map<String, Value> {
        serde_json::from_str(&self.0).unwrap_or_default()
    }
}

impl Serialize for RecordDoc {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RecordDoc {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text: Box<str> = raw.into();
        RecordDoc::from_json(text.into()).map_err(serde::de::Error::custom)
    }
}

/// Equal documents: equal fields (not equal text).
impl PartialEq for RecordDoc {
    fn eq(&self, other: &Self) -> bool {
        self.as_json() == other.as_json() || self.to_map() == other.to_map()
    }
}

impl std::fmt::Debug for RecordDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_json())
    }
}

impl From<Map<String, Value>> for RecordDoc {
    fn from(map: Map<String, Value>) -> RecordDoc {
        RecordDoc::from_map(&map)
    }
}

/// Stored text that is not a record document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable record document: {0}")]
pub struct RecordDocError(String);

impl RecordDocError {
    pub fn new(why: impl Into<String>) -> RecordDocError {
        RecordDocError(why.into())
    }
}
