//! The bulk-records parser and rules (`records::read_bulk` then `records::apply_bulk`, for each
//! task): any JSON body is read into records or refused with 422 items whose `loc` starts
//! `["body", ...]`, never a panic; an accepted bulk applied to an empty dataset writes each id
//! once, counts them, stamps them, keeps the dataset limits, and survives the stores' JSON round
//! trip; logging the same bulk again (Argilla's re-log) is accepted, adds no record, and stores
//! the same documents.
//!
//! Input: byte 0 picks the task, byte 1 whether the dataset has a label schema, the rest is the
//! body's JSON text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use workgate_core::dataset::{Dataset, Record, RecordDoc, RecordFacts, Task};
use workgate_core::records::{self, METADATA_KEYS_LIMIT, VECTOR_NAMES_LIMIT};
use workgate_core::{Timestamp, platform};

fn dataset(task: Task, schema: bool) -> Dataset {
    let at = Timestamp::from_micros(1_700_000_000_000_000);
    Dataset {
        workspace: "argilla".into(),
        name: "ds".into(),
        task,
        tags: Map::new(),
        metadata: Map::new(),
        created_by: Some("argilla".into()),
        created_at: at,
        last_updated: at,
        closed: false,
        settings: schema.then(|| {
            json!({"label_schema": {"labels": [
                {"id": "positive", "name": "positive"},
                {"id": "negative", "name": "negative"},
                {"id": "PER", "name": "PER"},
            ]}})
        }),
        facts: RecordFacts::default(),
    }
}

fn without_stamp(doc: &RecordDoc) -> Map<String, Value> {
    let mut doc = doc.to_map();
    doc.remove("last_updated");
    doc
}

fuzz_target!(|data: &[u8]| {
    let [task, schema, text @ ..] = data else {
        return;
    };
    let task = Task::ALL[usize::from(*task) % Task::ALL.len()];
    let Some(body) = records::BulkBody::parse(text) else {
        assert!(
            !matches!(serde_json::from_slice::<Value>(text), Ok(Value::Object(_))),
            "a JSON object the bulk reader refused"
        );
        return;
    };
    // Read to its top level only, a body nested deeper than the parser goes is read (its deep
    // record is refused by index); anything else it reads is a JSON object.
    match serde_json::from_slice::<Value>(text) {
        Ok(value) => assert!(value.is_object(), "the bulk reader read a non-object"),
        Err(e) => assert!(
            e.to_string().contains("recursion limit"),
            "the bulk reader read invalid JSON: {e}"
        ),
    }
    let mut counter = 0u64;
    let mut new_id = || {
        counter += 1;
        format!("00000000-0000-4000-8000-{counter:012}")
    };
    let bulk = match records::read_bulk(task, &body, &mut new_id, &platform::one_after_another) {
        Ok(bulk) => bulk,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            for error in &errors {
                assert_eq!(error.loc.first(), Some(&json!("body")), "{error:?}");
            }
            return;
        }
    };

    let mut ds = dataset(task, schema & 1 == 1);
    let first = Timestamp::from_micros(1_700_000_001_000_000);
    let none = vec![None; bulk.records.len()];
    let Ok(written) = records::apply_bulk(&mut ds, &none, &bulk, first) else {
        return;
    };
    let mut ids: Vec<&str> = written.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), written.len(), "an id written twice");
    assert_eq!(ds.facts.records, written.len() as u64);
    assert!(written.len() <= bulk.records.len());
    assert!(ds.facts.metadata_keys.len() <= METADATA_KEYS_LIMIT);
    assert!(ds.facts.vector_names.len() <= VECTOR_NAMES_LIMIT);
    for record in &written {
        // A stored document is a JSON object, and it reads back as itself.
        let doc: Map<String, Value> =
            serde_json::from_str(record.doc.as_json()).expect("a stored document is an object");
        assert_eq!(doc["last_updated"], first.to_iso());
        let read = RecordDoc::from_json(record.doc.as_json().to_string())
            .expect("a stored document reads back");
        assert_eq!(read.to_map(), doc, "the JSON round trip changed a record");
    }

    // The re-log: the same bulk again, over what was stored.
    let stored: Vec<Option<Record>> = bulk
        .records
        .iter()
        .map(|incoming| written.iter().find(|r| r.id == incoming.id).cloned())
        .collect();
    let facts = ds.facts.clone();
    let again = Timestamp::from_micros(1_700_000_002_000_000);
    let relogged = records::apply_bulk(&mut ds, &stored, &bulk, again)
        .unwrap_or_else(|refusal| panic!("a re-log of an accepted bulk is refused: {refusal:?}"));
    assert_eq!(ds.facts.records, facts.records, "a re-log added records");
    assert_eq!(relogged.len(), written.len());
    for (before, after) in written.iter().zip(&relogged) {
        assert_eq!(before.id, after.id);
        assert_eq!(
            without_stamp(&before.doc),
            without_stamp(&after.doc),
            "a re-log changed record {}",
            before.id
        );
    }
});
