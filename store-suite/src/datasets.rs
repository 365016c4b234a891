//! Cases for datasets and records (`workgate_core::Datasets`). A host without a datasets part
//! yet skips them, and the report says so.
//!
//! The decisions a store is handed here are simple stand-ins for core's (`records::apply_bulk`
//! is tested with core); what these cases check is the store's part: uniqueness, byte order,
//! paging, all-or-nothing writes, the stored records a decision sees, copies, deletions, the
//! audit entry with its change, and — joined — that parallel bulks into one new dataset create
//! it once and lose nothing.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::{Map, Value, json};
use workgate_core::dataset::{Dataset, Record, RecordFacts, Task};
use workgate_core::{Datasets, RecordSelection, RecordWrite, Stores, WriteRefused};

use crate::fixtures::*;
use crate::{OrFail, Outcome};

/// The names of the cases that need a datasets part.
pub const NAMES: &[&str] = &[
    "datasets_are_unique_per_workspace_and_round_trip",
    "records_are_listed_in_byte_order_of_the_id_and_paged",
    "a_refused_write_changes_nothing",
    "a_write_sees_the_stored_records_of_its_ids",
    "a_copy_holds_every_record_and_a_taken_name_is_refused",
    "records_are_deleted_or_discarded_as_selected",
    "dataset_changes_write_their_audit_entries",
    "parallel_bulks_into_one_new_dataset_create_it_once_and_keep_every_record",
];

fn store(s: &Stores) -> Result<&Arc<dyn Datasets>, String> {
    s.datasets
        .as_ref()
        .ok_or_else(|| "no datasets part".to_string())
}

fn dataset(n: i64, workspace: &str, name: &str) -> Dataset {
    Dataset {
        workspace: workspace.into(),
        name: name.into(),
        task: Task::TextClassification,
        tags: Map::new(),
        metadata: json!({"n": n}).as_object().cloned().unwrap_or_default(),
        created_by: Some("root".into()),
        created_at: at(n),
        last_updated: at(n),
        closed: false,
        settings: None,
        facts: RecordFacts::default(),
    }
}

fn record(id: &str, text: &str) -> Record {
    Record {
        id: id.into(),
        doc: json!({"inputs": {"text": text}, "status": "Default", "text": text})
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into(),
    }
}

/// A write of `records` that creates `create` when the dataset is missing and counts new
/// records in the dataset's facts (as core's decision does).
fn write_of(create: Dataset, records: Vec<Record>) -> RecordWrite {
    let ids = records.iter().map(|r| r.id.clone()).collect();
    RecordWrite {
        ids,
        decide: Arc::new(move |current, stored| {
            let mut d = current.cloned().unwrap_or_else(|| create.clone());
            d.facts.records += stored.iter().filter(|s| s.is_none()).count() as u64;
            Ok((d, records.clone()))
        }),
        created: None,
    }
}

fn ids(records: &[Record]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

pub(crate) async fn datasets_are_unique_per_workspace_and_round_trip(s: &Stores) -> Outcome {
    let d = store(s)?;
    let a = dataset(1, "team", "reviews");
    ensure!(d.create_dataset(a.clone(), None).await.or_fail("create")?);
    ensure!(
        !d.create_dataset(dataset(2, "team", "reviews"), None)
            .await
            .or_fail("create again")?,
        "a taken name in the same workspace is refused"
    );
    let b = dataset(3, "other", "reviews");
    ensure!(
        d.create_dataset(b.clone(), None)
            .await
            .or_fail("create in another workspace")?
    );
    let c = dataset(4, "team", "apples");
    ensure!(d.create_dataset(c.clone(), None).await.or_fail("create")?);
    ensure_eq!(
        d.dataset("team", "reviews").await.or_fail("dataset")?,
        Some(a.clone())
    );
    ensure_eq!(d.dataset("team", "nope").await.or_fail("dataset")?, None);
    ensure_eq!(
        d.datasets(&["other".to_string(), "team".to_string()])
            .await
            .or_fail("datasets")?,
        vec![b.clone(), c.clone(), a.clone()],
        "every dataset, by workspace then name"
    );
    ensure_eq!(
        d.datasets(&["team".to_string()])
            .await
            .or_fail("datasets(team)")?,
        vec![c.clone(), a.clone()]
    );
    let edited = d
        .update_dataset(
            "team",
            "reviews",
            Arc::new(|x: &Dataset| Dataset {
                closed: true,
                ..x.clone()
            }),
        )
        .await
        .or_fail("update")?;
    ensure_eq!(edited.map(|x| x.closed), Some(true));
    ensure_eq!(
        d.dataset("team", "reviews")
            .await
            .or_fail("dataset")?
            .map(|x| x.closed),
        Some(true),
        "the edit is stored"
    );
    ensure_eq!(
        d.update_dataset("team", "nope", Arc::new(|x: &Dataset| x.clone()))
            .await
            .or_fail("update missing")?,
        None
    );
    ensure!(
        d.delete_dataset("team", "reviews", None)
            .await
            .or_fail("delete")?
            .is_some()
    );
    ensure!(
        d.delete_dataset("team", "reviews", None)
            .await
            .or_fail("delete again")?
            .is_none()
    );
    ensure_eq!(
        d.dataset("other", "reviews").await.or_fail("dataset")?,
        Some(b)
    );
    Ok(())
}

pub(crate) async fn records_are_listed_in_byte_order_of_the_id_and_paged(s: &Stores) -> Outcome {
    let d = store(s)?;
    let written = ["b", "a", "10", "2", "é", "Z", "", "1"];
    let records: Vec<Record> = written.iter().map(|id| record(id, id)).collect();
    d.write_records("team", "ds", write_of(dataset(1, "team", "ds"), records))
        .await
        .or_fail("write")?
        .map_err(|e| format!("refused: {e:?}"))?;
    let mut expected: Vec<&str> = written.to_vec();
    expected.sort_unstable(); // byte order of UTF-8
    let all = d
        .records("team", "ds", None, 100)
        .await
        .or_fail("records")?;
    ensure_eq!(ids(&all), expected, "every record, in byte order");
    let page = d
        .records("team", "ds", Some("10"), 2)
        .await
        .or_fail("records after 10")?;
    ensure_eq!(
        ids(&page),
        vec!["2", "Z"],
        "after is exclusive, limit holds"
    );
    let tail = d
        .records("team", "ds", Some("é"), 10)
        .await
        .or_fail("records after the last")?;
    ensure!(tail.is_empty(), "past the end: {tail:?}");
    ensure_eq!(
        d.records("team", "missing", None, 10)
            .await
            .or_fail("records of a missing dataset")?,
        Vec::<Record>::new()
    );
    let found = d
        .records_by_ids(
            "team",
            "ds",
            &["Z".into(), "nope".into(), "a".into(), "a".into()],
        )
        .await
        .or_fail("records_by_ids")?;
    ensure_eq!(
        ids(&found),
        vec!["Z", "a"],
        "existing ids, once each, in byte order"
    );
    ensure_eq!(found[1], record("a", "a"), "documents round-trip");
    Ok(())
}

pub(crate) async fn a_refused_write_changes_nothing(s: &Stores) -> Outcome {
    let d = store(s)?;
    let refusing = |records: Vec<Record>| RecordWrite {
        ids: records.iter().map(|r| r.id.clone()).collect(),
        decide: Arc::new(|_, _| Err(WriteRefused::Rule("no".into()))),
        created: Some(audit_entry(9, at(9))),
    };
    let answer = d
        .write_records("team", "new", refusing(vec![record("1", "x")]))
        .await
        .or_fail("write")?;
    ensure_eq!(answer, Err(WriteRefused::Rule("no".into())));
    ensure_eq!(
        d.dataset("team", "new").await.or_fail("dataset")?,
        None,
        "no dataset created"
    );
    ensure!(
        s.audit.audit(10, 0).await.or_fail("audit")?.is_empty(),
        "no entry"
    );
    d.write_records(
        "team",
        "ds",
        write_of(dataset(1, "team", "ds"), vec![record("1", "kept")]),
    )
    .await
    .or_fail("write")?
    .map_err(|e| format!("refused: {e:?}"))?;
    let before = d.dataset("team", "ds").await.or_fail("dataset")?;
    let _ = d
        .write_records(
            "team",
            "ds",
            refusing(vec![record("1", "changed"), record("2", "new")]),
        )
        .await
        .or_fail("write")?;
    ensure_eq!(d.dataset("team", "ds").await.or_fail("dataset")?, before);
    ensure_eq!(
        d.records("team", "ds", None, 10).await.or_fail("records")?,
        vec![record("1", "kept")]
    );
    Ok(())
}

pub(crate) async fn a_write_sees_the_stored_records_of_its_ids(s: &Stores) -> Outcome {
    let d = store(s)?;
    d.write_records(
        "team",
        "ds",
        write_of(dataset(1, "team", "ds"), vec![record("1", "one")]),
    )
    .await
    .or_fail("write")?
    .map_err(|e| format!("refused: {e:?}"))?;
    let seen: Arc<std::sync::Mutex<Vec<Option<Record>>>> = Arc::default();
    let keep = seen.clone();
    let write = RecordWrite {
        ids: vec!["2".into(), "1".into()],
        decide: Arc::new(move |current, stored| {
            *keep.lock().unwrap_or_else(|e| e.into_inner()) = stored.to_vec();
            let d = current
                .cloned()
                .ok_or(WriteRefused::Rule("missing".into()))?;
            Ok((d, vec![record("2", "two"), record("1", "one again")]))
        }),
        created: None,
    };
    d.write_records("team", "ds", write)
        .await
        .or_fail("write")?
        .map_err(|e| format!("refused: {e:?}"))?;
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    ensure_eq!(
        seen,
        vec![None, Some(record("1", "one"))],
        "stored records, in the ids' order"
    );
    ensure_eq!(
        d.records("team", "ds", None, 10).await.or_fail("records")?,
        vec![record("1", "one again"), record("2", "two")]
    );
    Ok(())
}

pub(crate) async fn a_copy_holds_every_record_and_a_taken_name_is_refused(s: &Stores) -> Outcome {
    let d = store(s)?;
    let records: Vec<Record> = (0..30).map(|i| record(&format!("r{i:02}"), "x")).collect();
    d.write_records(
        "team",
        "ds",
        write_of(dataset(1, "team", "ds"), records.clone()),
    )
    .await
    .or_fail("write")?
    .map_err(|e| format!("refused: {e:?}"))?;
    let copy = dataset(2, "other", "ds-copy");
    ensure!(
        d.copy_dataset("team", "ds", copy.clone(), None)
            .await
            .or_fail("copy")?
    );
    ensure_eq!(
        d.dataset("other", "ds-copy").await.or_fail("dataset")?,
        Some(copy.clone())
    );
    ensure_eq!(
        d.records("other", "ds-copy", None, 100)
            .await
            .or_fail("records")?,
        records
    );
    ensure!(
        !d.copy_dataset("team", "ds", copy, None)
            .await
            .or_fail("copy again")?,
        "a taken name is refused"
    );
    ensure!(
        !d.copy_dataset("team", "missing", dataset(3, "other", "x"), None)
            .await
            .or_fail("copy of a missing dataset")?,
        "a missing source is refused"
    );
    ensure_eq!(d.dataset("other", "x").await.or_fail("dataset")?, None);
    // The copy is independent.
    d.delete_records("team", "ds", RecordSelection::All, None, None)
        .await
        .or_fail("delete_records")?;
    ensure_eq!(
        d.records("other", "ds-copy", None, 100)
            .await
            .or_fail("records")?
            .len(),
        30
    );
    Ok(())
}

pub(crate) async fn records_are_deleted_or_discarded_as_selected(s: &Stores) -> Outcome {
    let d = store(s)?;
    let records: Vec<Record> = ["a", "b", "c", "d"].iter().map(|i| record(i, i)).collect();
    d.write_records("team", "ds", write_of(dataset(1, "team", "ds"), records))
        .await
        .or_fail("write")?
        .map_err(|e| format!("refused: {e:?}"))?;
    let now = at(5).to_iso();
    let discarded = d
        .delete_records(
            "team",
            "ds",
            RecordSelection::Ids(vec!["b".into(), "zz".into()]),
            Some(now.clone()),
            None,
        )
        .await
        .or_fail("discard")?;
    ensure_eq!(discarded, 1, "only existing records are touched");
    let b = d
        .records_by_ids("team", "ds", &["b".into()])
        .await
        .or_fail("records_by_ids")?;
    let discarded = b[0].doc.to_map();
    ensure_eq!(discarded.get("status"), Some(&json!("Discarded")));
    ensure_eq!(discarded.get("last_updated"), Some(&Value::String(now)));
    let deleted = d
        .delete_records(
            "team",
            "ds",
            RecordSelection::Ids(vec!["a".into(), "c".into()]),
            None,
            None,
        )
        .await
        .or_fail("delete")?;
    ensure_eq!(deleted, 2);
    ensure_eq!(
        ids(&d.records("team", "ds", None, 10).await.or_fail("records")?),
        vec!["b", "d"]
    );
    ensure_eq!(
        d.dataset("team", "ds")
            .await
            .or_fail("dataset")?
            .map(|x| x.facts.records),
        Some(2),
        "the record count follows deletions"
    );
    let rest = d
        .delete_records("team", "ds", RecordSelection::All, None, None)
        .await
        .or_fail("delete all")?;
    ensure_eq!(rest, 2);
    ensure!(
        d.records("team", "ds", None, 10)
            .await
            .or_fail("records")?
            .is_empty()
    );
    ensure!(
        d.dataset("team", "ds").await.or_fail("dataset")?.is_some(),
        "the dataset stays"
    );
    Ok(())
}

pub(crate) async fn dataset_changes_write_their_audit_entries(s: &Stores) -> Outcome {
    let d = store(s)?;
    let created = audit_entry(1, at(1));
    d.create_dataset(dataset(1, "team", "a"), Some(created.clone()))
        .await
        .or_fail("create")?;
    ensure!(
        !d.create_dataset(dataset(2, "team", "a"), Some(audit_entry(2, at(2))))
            .await
            .or_fail("create again")?
    );
    let by_bulk = audit_entry(3, at(3));
    let mut write = write_of(dataset(3, "team", "b"), vec![record("1", "x")]);
    write.created = Some(by_bulk.clone());
    d.write_records("team", "b", write)
        .await
        .or_fail("write")?
        .map_err(|e| format!("{e:?}"))?;
    // A bulk into an existing dataset writes no creation entry.
    let mut again = write_of(dataset(4, "team", "b"), vec![record("2", "y")]);
    again.created = Some(audit_entry(4, at(4)));
    d.write_records("team", "b", again)
        .await
        .or_fail("write")?
        .map_err(|e| format!("{e:?}"))?;
    let copied = audit_entry(5, at(5));
    d.copy_dataset("team", "b", dataset(5, "team", "c"), Some(copied.clone()))
        .await
        .or_fail("copy")?;
    let records_gone = audit_entry(6, at(6));
    d.delete_records(
        "team",
        "c",
        RecordSelection::All,
        None,
        Some(records_gone.clone()),
    )
    .await
    .or_fail("delete_records")?;
    let gone = audit_entry(7, at(7));
    d.delete_dataset("team", "a", Some(gone.clone()))
        .await
        .or_fail("delete")?;
    ensure!(
        d.delete_dataset("team", "a", Some(audit_entry(8, at(8))))
            .await
            .or_fail("delete")?
            .is_none()
    );
    ensure_eq!(
        s.audit.audit(20, 0).await.or_fail("audit")?,
        vec![gone, records_gone, copied, by_bulk, created],
        "entries of the changes that happened, newest first"
    );
    Ok(())
}

pub(crate) async fn parallel_bulks_into_one_new_dataset_create_it_once_and_keep_every_record(
    s: &Stores,
) -> Outcome {
    let d = store(s)?;
    let writes = (0..10).map(|w| {
        let records: Vec<Record> = (0..20)
            .map(|i| record(&format!("w{w:02}-r{i:02}"), "x"))
            .collect();
        d.write_records(
            "team",
            "shared",
            write_of(dataset(w, "team", "shared"), records),
        )
    });
    for answer in join_all(writes).await {
        answer
            .or_fail("write")?
            .map_err(|e| format!("refused: {e:?}"))?;
    }
    let all = d
        .datasets(&["team".to_string()])
        .await
        .or_fail("datasets")?;
    ensure_eq!(all.len(), 1, "the dataset exists once");
    let records = d
        .records("team", "shared", None, 1000)
        .await
        .or_fail("records")?;
    ensure_eq!(records.len(), 200, "every record of every bulk");
    ensure_eq!(
        all[0].facts.records,
        200,
        "no bulk's update of the dataset was lost"
    );
    Ok(())
}
