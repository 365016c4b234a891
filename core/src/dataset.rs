//! Datasets and their records, as the stores keep them (API.md section 10).
//!
//! A dataset lives in a workspace, has one [`Task`], and holds records. A record is stored
//! whole, as the JSON document Argilla 1.8 keeps (its `exclude_none` form, with the server's
//! additions: status, metrics, the `predictions`/`annotations` maps, the joined `text` of a
//! text-classification record), under its id as a string. Which records a bulk writes, how a
//! re-log merges, and what a dataset's record-derived facts are (metadata keys, multi-label) are
//! decided by [`crate::records`]; stores keep them atomically.

use serde::{Deserialize, Serialize};
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
    pub doc: Map<String, Value>,
}
