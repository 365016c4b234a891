//! Argilla 1.8's record rules, once: reading a bulk body into stored documents (validation,
//! id coercion, metadata flattening, the server's derived fields), the re-log merge, the rules a
//! bulk must keep against what a dataset already holds (metadata-key and vector-name limits,
//! multi-label consistency, the label schema), and what a scan shows (filters, order,
//! projection). Stores only keep what these functions decide (research: argilla-datasets.md
//! §4.2, §4.3, §5).
//!
//! Deliberate differences from Argilla (API.md section 10): every bad record is a 422 whose
//! `loc` is `["body", "records", <index>, <field>...]` (Argilla answers some with 500: token
//! spans, non-dict metadata), and a refused bulk changes nothing.

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::dataset::{Dataset, Record, RecordDoc, RecordDocError, RecordFacts, Task};
use crate::engine::error::FieldError;
use crate::platform::Job;
use crate::timestamp::Timestamp;

/// Most records in one bulk.
pub const MAX_RECORDS_PER_BULK: usize = 5_000;
/// Largest record, as JSON.
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// Most distinct metadata keys per dataset (`ARGILLA_METADATA_FIELDS_LIMIT`).
pub const METADATA_KEYS_LIMIT: usize = 50;
/// Most distinct vector names per dataset (`ARGILLA_VECTORS_FIELDS_LIMIT`).
pub const VECTOR_NAMES_LIMIT: usize = 5;
/// Metadata strings are cut to their last this many characters.
pub const METADATA_STRING_CHARS: usize = 128;
/// Longest agent name.
pub const AGENT_MAX_CHARS: usize = 64;
/// Longest label (class or entity).
pub const LABEL_MAX_CHARS: usize = 128;

const STATUSES: [&str; 4] = ["Default", "Edited", "Discarded", "Validated"];

/// A parsed bulk request.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulk {
    pub tags: Map<String, Value>,
    pub metadata: Map<String, Value>,
    pub records: Vec<Incoming>,
    /// What the dataset's rules read of the records, each distinct set once (the records of a
    /// bulk mostly share theirs).
    keys: Vec<RecordKeys>,
}

/// One record of a bulk, as it will be stored (before the merge with a stored one).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub id: String,
    /// Its document written out as a JSON object, when the bulk was read: a new record is
    /// stored as this plus `last_updated`, so a store's write (under its write lock) neither
    /// serializes nor holds a parsed document per record.
    pub json: String,
    /// Its [`RecordKeys`], in [`Bulk::keys`].
    keys: usize,
}

impl Incoming {
    /// Its document as a map: only a re-logged record, merged into what was stored, needs it.
    fn doc(&self) -> Map<String, Value> {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

/// What the dataset's rules ([`apply_bulk`]) read of one record document: whether it is
/// multi-label, its metadata keys, vector names and labels.
#[derive(Debug, Clone, PartialEq, Default)]
struct RecordKeys {
    multi_label: bool,
    metadata: Vec<String>,
    vectors: Vec<String>,
    labels: Vec<String>,
}

impl RecordKeys {
    fn of(task: Task, doc: &Map<String, Value>) -> RecordKeys {
        RecordKeys {
            multi_label: multi_label_of(doc),
            metadata: keys_under(doc, "metadata").map(str::to_string).collect(),
            vectors: keys_under(doc, "vectors").map(str::to_string).collect(),
            labels: labels_of(task, doc).map(str::to_string).collect(),
        }
    }

    /// Whether these are `doc`'s keys (compared without building its own).
    fn are_of(&self, task: Task, doc: &Map<String, Value>) -> bool {
        self.multi_label == multi_label_of(doc)
            && self
                .metadata
                .iter()
                .map(String::as_str)
                .eq(keys_under(doc, "metadata"))
            && self
                .vectors
                .iter()
                .map(String::as_str)
                .eq(keys_under(doc, "vectors"))
            && self
                .labels
                .iter()
                .map(String::as_str)
                .eq(labels_of(task, doc))
    }
}

fn multi_label_of(doc: &Map<String, Value>) -> bool {
    doc.get("multi_label")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The keys of the object `doc[field]` (none when it is not an object).
fn keys_under<'d>(doc: &'d Map<String, Value>, field: &str) -> impl Iterator<Item = &'d str> {
    doc.get(field)
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.keys().map(String::as_str))
}

/// Why a bulk is refused after validation, against what the dataset holds (400s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkRefusal {
    MetadataLimit { len: usize, limit: usize },
    VectorLimit,
    MultiLabel { incoming_multi: bool },
    LabelNotInSchema { label: String },
}

// ---------------------------------------------------------------------------------------------
// Reading a bulk

/// Where errors are reported: a `loc` prefix. A child pushes its key onto the one `loc` and
/// pops it when dropped, so reading a valid record allocates no paths; one is copied only when
/// an error is reported.
struct At<'e> {
    loc: &'e mut Vec<Value>,
    errors: &'e mut Vec<FieldError>,
    pushed: bool,
}

impl<'e> At<'e> {
    fn root(loc: &'e mut Vec<Value>, errors: &'e mut Vec<FieldError>) -> At<'e> {
        At {
            loc,
            errors,
            pushed: false,
        }
    }

    fn child(&mut self, key: impl Into<Value>) -> At<'_> {
        self.loc.push(key.into());
        At {
            loc: &mut *self.loc,
            errors: &mut *self.errors,
            pushed: true,
        }
    }

    fn error(&mut self, msg: impl Into<String>, kind: &'static str) {
        self.errors
            .push(FieldError::new(self.loc.clone(), msg.into(), kind));
    }

    fn error_ctx(&mut self, msg: impl Into<String>, kind: &'static str, ctx: Value) {
        self.errors
            .push(FieldError::new(self.loc.clone(), msg.into(), kind).with_ctx(ctx));
    }

    fn missing(&mut self) {
        self.error("field required", "value_error.missing");
    }

    /// The loc of the record-level rules of the record `levels_up` levels above this one
    /// (0: this is the record): its `__root__`.
    fn record_root(&self, levels_up: usize) -> Vec<Value> {
        let mut loc = self.loc[..self.loc.len().saturating_sub(levels_up)].to_vec();
        loc.push(json!("__root__"));
        loc
    }
}

impl Drop for At<'_> {
    fn drop(&mut self) {
        if self.pushed {
            self.loc.pop();
        }
    }
}

/// A bulk body read only as far as its top level: each record is still its JSON text, so that
/// records are parsed and read apart, in pieces a host may run at once ([`read_bulk`]).
pub struct BulkBody<'a> {
    tags: Option<Value>,
    metadata: Option<Value>,
    records: Option<BulkRecords<'a>>,
}

enum BulkRecords<'a> {
    Items(Vec<&'a RawValue>),
    /// Not a list: refused.
    Other,
}

impl<'a> BulkBody<'a> {
    /// `None` when `body` is not a JSON object (the caller reports why, as for any body). A key
    /// given twice counts once, its last value (as a parsed object keeps it).
    pub fn parse(body: &'a [u8]) -> Option<BulkBody<'a>> {
        let top: TopLevel<'a> = serde_json::from_slice(body).ok()?;
        let mut out = BulkBody {
            tags: None,
            metadata: None,
            records: None,
        };
        for (key, raw) in top.0 {
            match key.as_ref() {
                "tags" => out.tags = Some(serde_json::from_str(raw.get()).ok()?),
                "metadata" => out.metadata = Some(serde_json::from_str(raw.get()).ok()?),
                "records" => {
                    out.records = Some(if raw.get().starts_with('[') {
                        BulkRecords::Items(serde_json::from_str(raw.get()).ok()?)
                    } else {
                        BulkRecords::Other
                    })
                }
                _ => {}
            }
        }
        Some(out)
    }
}

/// Records read by one job of [`read_bulk`].
#[derive(Default)]
struct ReadPiece {
    /// (id if the record gave one, document as JSON, its keys in `keys`).
    records: Vec<(Option<String>, String, usize)>,
    /// The distinct [`RecordKeys`] of this piece's records.
    keys: Vec<RecordKeys>,
    errors: Vec<FieldError>,
    /// `multi_label` of each TextClassification record read as an object, in order.
    multi: Vec<bool>,
}

/// Records per job of [`read_bulk`].
const RECORDS_PER_JOB: usize = 64;

/// Reads a bulk body for `task`. `new_id` makes the id of a record that has none (a UUIDv4
/// string from the host's randomness); `run` runs the pieces of the reading (records are
/// parsed and read in jobs of [`RECORDS_PER_JOB`], which a host may run at once). All errors
/// are collected, in the body's order: 422 with Argilla's items.
pub fn read_bulk(
    task: Task,
    body: &BulkBody<'_>,
    new_id: &mut dyn FnMut() -> String,
    run: &dyn Fn(Vec<Job<'_>>),
) -> Result<Bulk, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut loc = vec![json!("body")];
    let mut at = At::root(&mut loc, &mut errors);
    let tags = read_tags(body.tags.as_ref(), &mut at.child("tags"));
    let metadata = match &body.metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            at.child("metadata")
                .error("value is not a valid dict", "type_error.dict");
            Map::new()
        }
    };
    let mut records = Vec::new();
    let mut keys = Vec::new();
    match &body.records {
        None => at.child("records").missing(),
        Some(BulkRecords::Items(items)) => {
            if items.len() > MAX_RECORDS_PER_BULK {
                at.child("records").error_ctx(
                    format!("ensure this value has at most {MAX_RECORDS_PER_BULK} items"),
                    "value_error.list.max_items",
                    json!({"limit_value": MAX_RECORDS_PER_BULK}),
                );
            } else {
                let mut pieces: Vec<ReadPiece> = items
                    .chunks(RECORDS_PER_JOB)
                    .map(|_| ReadPiece::default())
                    .collect();
                let jobs: Vec<Job<'_>> = items
                    .chunks(RECORDS_PER_JOB)
                    .zip(pieces.iter_mut())
                    .enumerate()
                    .map(|(n, (chunk, piece))| -> Job<'_> {
                        Box::new(move || read_piece(task, n * RECORDS_PER_JOB, chunk, piece))
                    })
                    .collect();
                run(jobs);
                let mut multi = None;
                let mut mixed = false;
                for piece in pieces {
                    at.errors.extend(piece.errors);
                    for m in piece.multi {
                        match multi {
                            None => multi = Some(m),
                            Some(prev) if prev != m => mixed = true,
                            _ => {}
                        }
                    }
                    let first_keys = keys.len();
                    keys.extend(piece.keys);
                    for (id, json, k) in piece.records {
                        let id = id.unwrap_or_else(&mut *new_id);
                        records.push(Incoming {
                            id,
                            json,
                            keys: first_keys + k,
                        });
                    }
                }
                if mixed {
                    at.child("records").error(
                        "All records must be single/multi labelled",
                        "assertion_error",
                    );
                }
            }
        }
        Some(BulkRecords::Other) => at
            .child("records")
            .error("value is not a valid list", "type_error.list"),
    }
    drop(at);
    if errors.is_empty() {
        Ok(Bulk {
            tags,
            metadata,
            records,
            keys,
        })
    } else {
        Err(errors)
    }
}

/// One job of [`read_bulk`]: parses and reads the records `chunk`, the first of which is the
/// bulk's record `first`, into `piece`.
fn read_piece(task: Task, first: usize, chunk: &[&RawValue], piece: &mut ReadPiece) {
    let mut loc = vec![json!("body"), json!("records")];
    let mut at = At::root(&mut loc, &mut piece.errors);
    for (i, raw) in chunk.iter().enumerate() {
        let mut rec_at = at.child(first + i);
        // The body is valid JSON, but its top-level read does not count nesting: a record
        // nested deeper than the parser goes is refused here, by its index.
        let item: Value = match serde_json::from_str(raw.get()) {
            Ok(item) => item,
            Err(e) => {
                rec_at.error(format!("Invalid JSON: {e}"), "value_error.jsondecode");
                continue;
            }
        };
        if json_len_above(&item, MAX_RECORD_BYTES) {
            rec_at.error_ctx(
                format!("a record may hold at most {MAX_RECORD_BYTES} bytes of JSON"),
                "value_error.record.too_large",
                json!({"limit_value": MAX_RECORD_BYTES}),
            );
        } else if let Value::Object(obj) = item {
            if task == Task::TextClassification {
                piece.multi.push(multi_label_of(&obj));
            }
            if let Some((id, doc)) = read_record(task, obj, &mut rec_at) {
                // A document is about twice its record's text (a text-classification one
                // holds its inputs twice): written at once, without growing.
                let mut json = Vec::with_capacity(2 * raw.get().len() + 64);
                let json = match serde_json::to_writer(&mut json, &doc) {
                    Ok(()) => String::from_utf8(json).unwrap_or_else(|_| "{}".to_string()),
                    Err(_) => "{}".to_string(),
                };
                let keys = match piece.keys.last() {
                    Some(last) if last.are_of(task, &doc) => piece.keys.len() - 1,
                    _ => {
                        piece.keys.push(RecordKeys::of(task, &doc));
                        piece.keys.len() - 1
                    }
                };
                piece.records.push((id, json, keys));
            }
        } else {
            rec_at.error("value is not a valid dict", "type_error.dict");
        }
    }
}

/// A `tags` body field (`Dict[str, str]`) at `loc`, for the dataset endpoints.
pub fn read_tag_map(
    value: Option<&Value>,
    loc: Vec<Value>,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut loc = loc;
    let tags = read_tags(value, &mut At::root(&mut loc, &mut errors));
    if errors.is_empty() {
        Ok(tags)
    } else {
        Err(errors)
    }
}

/// `Dict[str, str]`: scalars coerced to strings, nested values refused.
fn read_tags(value: Option<&Value>, at: &mut At<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match scalar_string(v) {
                    Some(s) => {
                        out.insert(k.clone(), Value::String(s));
                    }
                    None => at
                        .child(k.as_str())
                        .error("str type expected", "type_error.str"),
                }
            }
        }
        Some(_) => at.error("value is not a valid dict", "type_error.dict"),
    }
    out
}

/// [`scalar_string`] of a value the caller gives up: a string is moved, not copied.
fn into_scalar_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        other => scalar_string(&other),
    }
}

/// A JSON scalar as pydantic's `str` reads it (numbers and booleans coerced).
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        _ => None,
    }
}

/// A record id as pydantic v1's `Union[int, str]` coerces it, as its stored string form:
/// integers (and strings that `int()` reads: surrounding spaces, a sign, `_` between digits,
/// leading zeros) become the integer's digits; floats are truncated; booleans are 1 or 0;
/// other strings stay as they are. `None` for a list or object.
pub fn coerce_id(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => format!("{}", f.trunc() as i128),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        Value::String(s) => Some(python_int(s).unwrap_or_else(|| s.clone())),
        _ => None,
    }
}

/// [`coerce_id`] of a value the caller gives up.
fn into_id(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(python_int(&s).unwrap_or(s)),
        other => coerce_id(&other),
    }
}

/// What Python's `int(s)` makes of a string, as digits: `" 5"` → 5, `"007"` → 7, `"-3"` → -3,
/// `"1_000"` → 1000; `None` when it raises.
fn python_int(s: &str) -> Option<String> {
    let t = s.trim();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let plain: String = digits.chars().filter(|c| *c != '_').collect();
    let trimmed = plain.trim_start_matches('0');
    let value = if trimmed.is_empty() { "0" } else { trimmed };
    Some(if value == "0" {
        "0".to_string()
    } else {
        format!("{sign}{value}")
    })
}

/// Reads one record: its id if it gives one (the caller makes one otherwise) and its document.
/// The record is taken apart: what it gives is moved into the document, not copied.
fn read_record(
    task: Task,
    mut obj: Map<String, Value>,
    at: &mut At<'_>,
) -> Option<(Option<String>, Map<String, Value>)> {
    let before = at.errors.len();
    let id = match obj.remove("id") {
        None | Some(Value::Null) => None,
        Some(v) => match into_id(v) {
            Some(id) => Some(id),
            None => {
                let mut id_at = at.child("id");
                id_at.error("value is not a valid integer", "type_error.integer");
                id_at.error("str type expected", "type_error.str");
                None
            }
        },
    };
    let mut doc = Map::new();
    match obj.remove("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            let mut flat = Map::new();
            flatten_metadata("", m, &mut flat);
            if !flat.is_empty() {
                doc.insert("metadata".into(), Value::Object(flat));
            }
        }
        Some(_) => at
            .child("metadata")
            .error("value is not a valid dict", "type_error.dict"),
    }
    match obj.remove("event_timestamp") {
        None | Some(Value::Null) => {}
        Some(v) => match read_timestamp(v) {
            Some(ts) => {
                doc.insert("event_timestamp".into(), Value::String(ts));
            }
            None => at
                .child("event_timestamp")
                .error("invalid datetime format", "value_error.datetime"),
        },
    }
    let status: &'static str = match obj.get("status") {
        None | Some(Value::Null) => "Default",
        Some(Value::String(s)) if let Some(known) = STATUSES.iter().find(|k| *k == s) => known,
        Some(_) => {
            at.child("status").error_ctx(
                "value is not a valid enumeration member; permitted: 'Default', 'Edited', \
                 'Discarded', 'Validated'",
                "type_error.enum",
                json!({"enum_values": STATUSES}),
            );
            ""
        }
    };
    doc.insert("status".into(), Value::String(status.to_string()));
    for (single, plural) in [("prediction", "predictions"), ("annotation", "annotations")] {
        // The by-agent form counts only without the single one.
        let mut value = obj.remove(single).filter(|v| !v.is_null());
        let by_agent = obj.remove(plural);
        if value.is_none()
            && let Some(Value::Object(by_agent)) = by_agent
            && let Some((agent, first)) = by_agent.into_iter().next()
        {
            let mut first = match first {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            first.insert("agent".into(), Value::String(agent));
            value = Some(Value::Object(first));
        }
        if let Some(v) = value
            && let Some(ann) = { read_annotation(task, v, &mut at.child(single)) }
        {
            let agent = ann["agent"].as_str().unwrap_or_default().to_string();
            let mut without = ann.clone();
            without.remove("agent");
            doc.insert(single.into(), Value::Object(ann));
            let mut by_agent = Map::new();
            by_agent.insert(agent, Value::Object(without));
            doc.insert(plural.into(), Value::Object(by_agent));
        }
    }
    match obj.remove("vectors") {
        None | Some(Value::Null) => {}
        Some(Value::Object(vectors)) => {
            let mut out = Map::new();
            for (name, v) in vectors {
                let mut v_at = at.child("vectors");
                let mut v_at = v_at.child(name.as_str());
                let Value::Object(vector) = v else {
                    v_at.error("value is not a valid dict", "type_error.dict");
                    continue;
                };
                match vector.get("value") {
                    Some(Value::Array(values)) if values.iter().all(Value::is_number) => {}
                    Some(_) => {
                        v_at.child("value")
                            .error("value is not a valid list of floats", "type_error.list");
                        continue;
                    }
                    None => {
                        v_at.child("value").missing();
                        continue;
                    }
                }
                drop(v_at);
                out.insert(name, Value::Object(vector));
            }
            if !out.is_empty() {
                doc.insert("vectors".into(), Value::Object(out));
            }
        }
        Some(_) => at
            .child("vectors")
            .error("value is not a valid dict", "type_error.dict"),
    }
    match task {
        Task::TextClassification => read_text_classification(obj, status, &mut doc, at),
        Task::TokenClassification => read_token_classification(obj, &mut doc, at),
        Task::Text2Text => read_text2text(obj, &mut doc, at),
    }
    if at.errors.len() > before {
        return None;
    }
    Some((id, doc))
}

/// Whether `value` written as compact JSON takes more than `limit` bytes. A cheap upper bound
/// (every string character escaped at worst as `\uXXXX`) answers for all but huge values,
/// which are then written out and measured.
fn json_len_above(value: &Value, limit: usize) -> bool {
    fn bound(v: &Value) -> usize {
        match v {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 32,
            Value::String(s) => 6 * s.len() + 2,
            Value::Array(items) => 2 + items.iter().map(|i| bound(i) + 1).sum::<usize>(),
            Value::Object(m) => {
                2 + m
                    .iter()
                    .map(|(k, v)| 6 * k.len() + 4 + bound(v))
                    .sum::<usize>()
            }
        }
    }
    bound(value) > limit && serde_json::to_vec(value).map_or(0, |b| b.len()) > limit
}

/// The loc of a record's `__root__` (record-level rules), `at` being the record.
fn at_root(at: &At<'_>) -> Vec<Value> {
    at.record_root(0)
}

/// Flattens nested metadata with `.`; drops `null` and `[]` values; cuts strings (also in
/// lists) to their last 128 characters.
fn flatten_metadata(prefix: &str, m: Map<String, Value>, out: &mut Map<String, Value>) {
    for (k, v) in m {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Value::Null => {}
            Value::Array(items) if items.is_empty() => {}
            Value::Object(inner) => flatten_metadata(&key, inner, out),
            Value::Array(items) => {
                out.insert(
                    key,
                    Value::Array(items.into_iter().map(cut_string).collect()),
                );
            }
            other => {
                out.insert(key, cut_string(other));
            }
        }
    }
}

fn cut_string(v: Value) -> Value {
    match v {
        Value::String(s) => {
            let n = s.chars().count();
            if n > METADATA_STRING_CHARS {
                Value::String(s.chars().skip(n - METADATA_STRING_CHARS).collect())
            } else {
                Value::String(s)
            }
        }
        other => other,
    }
}

/// An `event_timestamp`: an ISO 8601 date-time string (kept as given, zone included), or a
/// number of seconds since the epoch (returned in UTC with its zone, as Argilla does).
fn read_timestamp(v: Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            let micros = (secs * 1_000_000.0).round() as i64;
            let naive = Timestamp::from_micros(micros).to_iso();
            // Python's isoformat leaves out a zero fraction.
            let naive = naive.strip_suffix(".000000").unwrap_or(&naive).to_string();
            Some(format!("{naive}+00:00"))
        }
        Value::String(s) => is_iso_datetime(&s).then_some(s),
        _ => None,
    }
}

/// Whether `s` reads as pydantic v1's datetime: `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH[:]MM]`.
fn is_iso_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 16
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
    {
        return false;
    }
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        if !digits(i + 1..i + 3) {
            return false;
        }
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start || i - start > 6 {
                return false;
            }
        }
    }
    match b.get(i) {
        None => true,
        Some(b'Z') | Some(b'z') => i + 1 == b.len(),
        Some(b'+') | Some(b'-') => {
            let rest = &s[i + 1..];
            let rest = rest.replace(':', "");
            rest.len() == 4 && rest.bytes().all(|c| c.is_ascii_digit())
                || rest.len() == 2 && rest.bytes().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

fn read_score(v: Option<&Value>, at: &mut At<'_>) -> Option<f64> {
    match v {
        None | Some(Value::Null) => Some(1.0),
        Some(Value::Number(n)) => {
            let s = n.as_f64().unwrap_or(0.0);
            if s < 0.0 {
                at.error_ctx(
                    "ensure this value is greater than or equal to 0.0",
                    "value_error.number.not_ge",
                    json!({"limit_value": 0.0}),
                );
                None
            } else if s > 1.0 {
                at.error_ctx(
                    "ensure this value is less than or equal to 1.0",
                    "value_error.number.not_le",
                    json!({"limit_value": 1.0}),
                );
                None
            } else {
                Some(s)
            }
        }
        Some(_) => {
            at.error("value is not a valid float", "type_error.float");
            None
        }
    }
}

/// A prediction or annotation: `agent` (required, ≤ 64 characters) plus the task's parts.
fn read_annotation(task: Task, v: Value, at: &mut At<'_>) -> Option<Map<String, Value>> {
    // `at` is the record's `prediction` or `annotation`; its rules report at the record.
    let Value::Object(mut obj) = v else {
        at.error("value is not a valid dict", "type_error.dict");
        return None;
    };
    let before = at.errors.len();
    let mut out = Map::new();
    match obj.remove("agent") {
        None | Some(Value::Null) => {
            at.errors.push(FieldError::new(
                at.record_root(1),
                "Agent must be defined!".to_string(),
                "assertion_error",
            ));
        }
        Some(Value::String(agent)) if agent.chars().count() > AGENT_MAX_CHARS => {
            at.child("agent").error_ctx(
                format!("ensure this value has at most {AGENT_MAX_CHARS} characters"),
                "value_error.any_str.max_length",
                json!({"limit_value": AGENT_MAX_CHARS}),
            );
        }
        Some(v) => match into_scalar_string(v) {
            Some(agent) => {
                out.insert("agent".into(), Value::String(agent));
            }
            None => at
                .child("agent")
                .error("str type expected", "type_error.str"),
        },
    }
    match task {
        Task::TextClassification => {
            let mut labels = Vec::new();
            match obj.remove("labels") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    let mut l_at = at.child("labels");
                    for (i, item) in items.into_iter().enumerate() {
                        let mut item_at = l_at.child(i);
                        let Value::Object(mut label) = item else {
                            item_at.error("value is not a valid dict", "type_error.dict");
                            continue;
                        };
                        let class = match label.remove("class") {
                            Some(class) => Some(class),
                            None => label.remove("class_label"),
                        };
                        let class = match class.and_then(into_scalar_string) {
                            Some(c) if c.is_empty() => {
                                item_at
                                    .child("class")
                                    .error("Class name must not be empty", "assertion_error");
                                continue;
                            }
                            Some(c) if c.chars().count() > LABEL_MAX_CHARS => {
                                item_at.child("class").error(
                                    format!(
                                        "Class name '{c}' exceeds max length of {LABEL_MAX_CHARS}"
                                    ),
                                    "assertion_error",
                                );
                                continue;
                            }
                            Some(c) => c,
                            None => {
                                item_at.child("class").missing();
                                continue;
                            }
                        };
                        let Some(score) =
                            read_score(label.get("score"), &mut item_at.child("score"))
                        else {
                            continue;
                        };
                        labels.push((class, score));
                    }
                }
                Some(_) => at
                    .child("labels")
                    .error("value is not a valid list", "type_error.list"),
            }
            labels.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
            out.insert(
                "labels".into(),
                Value::Array(
                    labels
                        .into_iter()
                        .map(|(c, s)| json!({"class_label": c, "score": s}))
                        .collect(),
                ),
            );
        }
        Task::TokenClassification => {
            let mut entities = Vec::new();
            match obj.get("entities") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    let mut e_at = at.child("entities");
                    for (i, item) in items.iter().enumerate() {
                        let mut item_at = e_at.child(i);
                        let Some(entity) = item.as_object() else {
                            item_at.error("value is not a valid dict", "type_error.dict");
                            continue;
                        };
                        let start = read_int(entity.get("start"), &mut item_at.child("start"));
                        let end = read_int(entity.get("end"), &mut item_at.child("end"));
                        let label = match entity.get("label").and_then(scalar_string) {
                            Some(l) if l.is_empty() => {
                                item_at.child("label").error_ctx(
                                    "ensure this value has at least 1 characters",
                                    "value_error.any_str.min_length",
                                    json!({"limit_value": 1}),
                                );
                                None
                            }
                            Some(l) if l.chars().count() > LABEL_MAX_CHARS => {
                                item_at.child("label").error_ctx(
                                    format!(
                                        "ensure this value has at most {LABEL_MAX_CHARS} characters"
                                    ),
                                    "value_error.any_str.max_length",
                                    json!({"limit_value": LABEL_MAX_CHARS}),
                                );
                                None
                            }
                            Some(l) => Some(l),
                            None => {
                                item_at.child("label").missing();
                                None
                            }
                        };
                        let score = read_score(entity.get("score"), &mut item_at.child("score"));
                        if let (Some(start), Some(end)) = (start, end)
                            && end <= start
                        {
                            item_at.child("end").error(
                                "End character cannot be placed before the starting character, \
                                 it must be at least one character after.",
                                "assertion_error",
                            );
                            continue;
                        }
                        if let (Some(start), Some(end), Some(label), Some(score)) =
                            (start, end, label, score)
                        {
                            entities.push(
                                json!({"start": start, "end": end, "label": label, "score": score}),
                            );
                        }
                    }
                }
                Some(_) => at
                    .child("entities")
                    .error("value is not a valid list", "type_error.list"),
            }
            out.insert("entities".into(), Value::Array(entities));
            match obj.get("score") {
                None | Some(Value::Null) => {}
                Some(v @ Value::Number(_)) => {
                    out.insert("score".into(), v.clone());
                }
                Some(_) => at
                    .child("score")
                    .error("value is not a valid float", "type_error.float"),
            }
        }
        Task::Text2Text => {
            let mut sentences = Vec::new();
            match obj.get("sentences") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    let mut s_at = at.child("sentences");
                    for (i, item) in items.iter().enumerate() {
                        let mut item_at = s_at.child(i);
                        let Some(sentence) = item.as_object() else {
                            item_at.error("value is not a valid dict", "type_error.dict");
                            continue;
                        };
                        let text = match sentence.get("text").and_then(scalar_string) {
                            Some(t) => Some(t),
                            None => {
                                item_at.child("text").missing();
                                None
                            }
                        };
                        let score = read_score(sentence.get("score"), &mut item_at.child("score"));
                        if let (Some(text), Some(score)) = (text, score) {
                            sentences.push((text, score));
                        }
                    }
                }
                Some(_) => at
                    .child("sentences")
                    .error("value is not a valid list", "type_error.list"),
            }
            sentences.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
            out.insert(
                "sentences".into(),
                Value::Array(
                    sentences
                        .into_iter()
                        .map(|(t, s)| json!({"text": t, "score": s}))
                        .collect(),
                ),
            );
        }
    }
    (at.errors.len() == before).then_some(out)
}

fn read_int(v: Option<&Value>, at: &mut At<'_>) -> Option<i64> {
    match v {
        None | Some(Value::Null) => {
            at.missing();
            None
        }
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            n.as_f64().map(|f| f as i64)
        }
        Some(_) => {
            at.error("value is not a valid integer", "type_error.integer");
            None
        }
    }
}

fn read_text_classification(
    mut obj: Map<String, Value>,
    status: &str,
    doc: &mut Map<String, Value>,
    at: &mut At<'_>,
) {
    let mut inputs = Map::new();
    match obj.remove("inputs") {
        None | Some(Value::Null) => at.child("inputs").missing(),
        Some(Value::Object(m)) => {
            let mut in_at = at.child("inputs");
            if m.is_empty() {
                in_at.error("No inputs provided", "assertion_error");
            }
            for (k, v) in m {
                match v {
                    Value::Null => in_at.child(k.as_str()).error(
                        "none is not an allowed value",
                        "type_error.none.not_allowed",
                    ),
                    Value::Array(items) => {
                        let strings: Option<Vec<Value>> = items
                            .into_iter()
                            .map(|i| into_scalar_string(i).map(Value::String))
                            .collect();
                        match strings {
                            Some(list) => {
                                inputs.insert(k, Value::Array(list));
                            }
                            None => {
                                let mut k_at = in_at.child(k.as_str());
                                k_at.error("str type expected", "type_error.str");
                                k_at.error("value is not a valid list", "type_error.list");
                            }
                        }
                    }
                    other => match into_scalar_string(other) {
                        Some(s) => {
                            inputs.insert(k, Value::String(s));
                        }
                        None => {
                            let mut k_at = in_at.child(k.as_str());
                            k_at.error("str type expected", "type_error.str");
                            k_at.error("value is not a valid list", "type_error.list");
                        }
                    },
                }
            }
        }
        Some(_) => at
            .child("inputs")
            .error("value is not a valid dict", "type_error.dict"),
    }
    let multi_label = match obj.get("multi_label") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            at.child("multi_label")
                .error("value could not be parsed to a boolean", "type_error.bool");
            false
        }
    };
    if !multi_label {
        if let Some(labels) = doc
            .get("annotation")
            .and_then(|a| a.get("labels"))
            .and_then(Value::as_array)
            && labels.len() > 1
        {
            at.errors.push(FieldError::new(
                at_root(at),
                "Single label record must include only one annotation label".to_string(),
                "assertion_error",
            ));
        }
        if let Some(labels) = doc
            .get("prediction")
            .and_then(|a| a.get("labels"))
            .and_then(Value::as_array)
        {
            let sum: f64 = labels.iter().filter_map(|l| l["score"].as_f64()).sum();
            if sum > 1.001 {
                let listed: Vec<String> = labels
                    .iter()
                    .map(|l| {
                        format!(
                            "ClassPrediction(class_label='{}', score={})",
                            l["class_label"].as_str().unwrap_or_default(),
                            l["score"]
                        )
                    })
                    .collect();
                at.errors.push(FieldError::new(
                    at_root(at),
                    format!("Wrong score distributions: [{}]", listed.join(", ")),
                    "assertion_error",
                ));
            }
        }
        let annotated = doc
            .get("annotation")
            .and_then(|a| a.get("labels"))
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty());
        if status == "Validated" && !annotated {
            at.errors.push(FieldError::new(
                at_root(at),
                "Annotation must include some label for validated records".to_string(),
                "assertion_error",
            ));
        }
    }
    let text = inputs
        .values()
        .flat_map(|v| match v {
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    doc.insert("inputs".into(), Value::Object(inputs));
    doc.insert("multi_label".into(), Value::Bool(multi_label));
    match obj.remove("explanation") {
        None | Some(Value::Null) => {}
        Some(v @ Value::Object(_)) => {
            doc.insert("explanation".into(), v);
        }
        Some(_) => at
            .child("explanation")
            .error("value is not a valid dict", "type_error.dict"),
    }
    doc.insert(
        "metrics".into(),
        json!({"text_length": text.chars().count()}),
    );
    doc.insert("text".into(), Value::String(text));
}

fn read_token_classification(
    mut obj: Map<String, Value>,
    doc: &mut Map<String, Value>,
    at: &mut At<'_>,
) {
    let text = match obj.remove("text") {
        Some(text) => Some(text),
        None => obj.remove("raw_text"),
    };
    let text = match text {
        None | Some(Value::Null) => {
            at.child("text").missing();
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            at.errors.push(FieldError::new(
                at_root(at),
                "No text or empty text provided".to_string(),
                "assertion_error",
            ));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            at.child("text")
                .error("str type expected", "type_error.str");
            None
        }
    };
    let tokens: Option<Vec<String>> = match obj.remove("tokens") {
        None | Some(Value::Null) => {
            at.child("tokens").missing();
            None
        }
        Some(Value::Array(items)) if items.is_empty() => {
            at.child("tokens").error_ctx(
                "ensure this value has at least 1 items",
                "value_error.list.min_items",
                json!({"limit_value": 1}),
            );
            None
        }
        Some(Value::Array(items)) => {
            let tokens: Option<Vec<String>> = items.into_iter().map(into_scalar_string).collect();
            if tokens.is_none() {
                at.child("tokens")
                    .error("str type expected", "type_error.str");
            }
            tokens
        }
        Some(_) => {
            at.child("tokens")
                .error("value is not a valid list", "type_error.list");
            None
        }
    };
    let (Some(text), Some(tokens)) = (text, tokens) else {
        return;
    };
    // Token offsets in the text (Argilla's SpanUtils): each token searched from the end of the
    // previous one.
    let mut offsets = Vec::with_capacity(tokens.len());
    let mut from = 0;
    for token in &tokens {
        match text[from..].find(token.as_str()) {
            Some(pos) => {
                let start = from + pos;
                offsets.push((start, start + token.len()));
                from = start + token.len();
            }
            None => {
                at.child("tokens").error(
                    format!("Token '{token}' not found in text: {text}"),
                    "value_error.tokens",
                );
                return;
            }
        }
    }
    // Entity spans in characters, aligned with the tokens (after trimming whitespace).
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_of = |ch: i64| -> Option<usize> {
        if ch < 0 {
            return None;
        }
        let ch = ch as usize;
        if ch == chars.len() {
            Some(text.len())
        } else {
            chars.get(ch).map(|(b, _)| *b)
        }
    };
    let char_of = |byte: usize| text[..byte].chars().count() as i64;
    for part in ["prediction", "annotation"] {
        let Some(entities) = doc
            .get_mut(part)
            .and_then(|a| a.get_mut("entities"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        let mut misaligned: Vec<String> = Vec::new();
        for entity in entities.iter_mut() {
            let (Some(start), Some(end)) = (entity["start"].as_i64(), entity["end"].as_i64())
            else {
                continue;
            };
            let clamp = |c: i64| c.clamp(0, chars.len() as i64);
            let (mut s, mut e) = (clamp(start), clamp(end));
            while s < e
                && chars
                    .get(s as usize)
                    .is_some_and(|(_, c)| c.is_whitespace())
            {
                s += 1;
            }
            while e > s
                && chars
                    .get(e as usize - 1)
                    .is_some_and(|(_, c)| c.is_whitespace())
            {
                e -= 1;
            }
            let aligned = match (byte_of(s), byte_of(e)) {
                (Some(bs), Some(be)) => {
                    e > s
                        && offsets.iter().any(|(ts, _)| *ts == bs)
                        && offsets.iter().any(|(_, te)| *te == be)
                }
                _ => false,
            };
            if aligned {
                entity["start"] = json!(s);
                entity["end"] = json!(e);
            } else {
                let span_text = match (byte_of(clamp(start)), byte_of(clamp(end))) {
                    (Some(bs), Some(be)) if bs <= be => &text[bs..be],
                    _ => "",
                };
                misaligned.push(format!(
                    "('{}', {start}, {end}) - '{span_text}'",
                    entity["label"].as_str().unwrap_or_default()
                ));
            }
        }
        if !misaligned.is_empty() {
            let tokens_repr: Vec<String> = tokens.iter().map(|t| format!("'{t}'")).collect();
            at.child(part).child("entities").error(
                format!(
                    "Following entity spans are not aligned with provided tokenization\nSpans:\n{}\nTokens:\n[{}]",
                    misaligned.join("\n"),
                    tokens_repr.join(", ")
                ),
                "value_error.spans",
            );
        }
    }
    // Metrics, as Argilla stores them.
    let tokens_metrics: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"value": t, "capitalness": capitalness(t)}))
        .collect();
    let mentions = |part: &str| -> Value {
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        if let Some(entities) = doc
            .get(part)
            .and_then(|a| a.get("entities"))
            .and_then(Value::as_array)
        {
            for e in entities {
                let (Some(s), Some(en)) = (e["start"].as_i64(), e["end"].as_i64()) else {
                    continue;
                };
                let (Some(bs), Some(be)) = (byte_of(s), byte_of(en)) else {
                    continue;
                };
                let value = text[bs..be].to_string();
                if seen.contains(&value) {
                    continue;
                }
                seen.push(value.clone());
                out.push(json!({"value": value, "label": e["label"], "score": e["score"], "capitalness": capitalness(&value)}));
            }
        }
        json!({"mentions": out})
    };
    let _ = char_of;
    let metrics = json!({
        "text_length": text.chars().count(),
        "tokens": tokens_metrics,
        "predicted": mentions("prediction"),
        "annotated": mentions("annotation"),
    });
    doc.insert(
        "tokens".into(),
        Value::Array(tokens.into_iter().map(Value::String).collect()),
    );
    doc.insert("metrics".into(), metrics);
    doc.insert("text".into(), Value::String(text));
}

/// Argilla's `capitalness` of a token or mention.
fn capitalness(value: &str) -> Value {
    let has_alpha = value.chars().any(char::is_alphabetic);
    if has_alpha && value.chars().all(|c| !c.is_lowercase()) {
        return json!("UPPER");
    }
    if has_alpha && value.chars().all(|c| !c.is_uppercase()) {
        return json!("LOWER");
    }
    if value.chars().next().is_some_and(char::is_uppercase) {
        return json!("FIRST");
    }
    if value.chars().skip(1).any(char::is_uppercase) {
        return json!("MIDDLE");
    }
    Value::Null
}

fn read_text2text(mut obj: Map<String, Value>, doc: &mut Map<String, Value>, at: &mut At<'_>) {
    match obj.remove("text") {
        None | Some(Value::Null) => at.child("text").missing(),
        Some(Value::String(s)) => {
            doc.insert("metrics".into(), json!({"text_length": s.chars().count()}));
            doc.insert("text".into(), Value::String(s));
        }
        Some(_) => at
            .child("text")
            .error("str type expected", "type_error.str"),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing a bulk

/// Deep merge, as Elasticsearch's partial update does: objects merge key by key, anything else
/// is replaced.
pub fn deep_merge(stored: &mut Map<String, Value>, incoming: Map<String, Value>) {
    for (k, v) in incoming {
        match (stored.get_mut(&k), v) {
            (Some(Value::Object(old)), Value::Object(new)) => deep_merge(old, new),
            (_, v) => {
                stored.insert(k, v);
            }
        }
    }
}

/// The labels a stored document uses (predictions and annotations), for the label schema.
fn labels_of(task: Task, doc: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let (list, name) = match task {
        Task::TextClassification => ("labels", "class_label"),
        Task::TokenClassification => ("entities", "label"),
        Task::Text2Text => ("", ""),
    };
    ["prediction", "annotation"]
        .into_iter()
        .filter(move |_| !list.is_empty())
        .filter_map(move |part| doc.get(part)?.get(list)?.as_array())
        .flatten()
        .filter_map(move |l| l.get(name)?.as_str())
}

/// The label names of a dataset's schema, if it has one.
pub fn schema_labels(dataset: &Dataset) -> Option<Vec<String>> {
    let labels = dataset.settings.as_ref()?["label_schema"]["labels"].as_array()?;
    Some(
        labels
            .iter()
            .filter_map(|l| l["name"].as_str().map(str::to_string))
            .collect(),
    )
}

/// Applies a bulk to `dataset`, given the stored records of the bulk's ids (`existing[i]` for
/// `bulk.records[i]`, `None` when new): the rules against the dataset (metadata keys, vector
/// names, multi-label, label schema), the re-log merge, the dataset's tags, metadata, facts and
/// `last_updated`. Answers the records to store, in bulk order (a repeated id: the later entry
/// merged into the earlier). Nothing is decided by the store.
pub fn apply_bulk(
    dataset: &mut Dataset,
    existing: &[Option<Record>],
    bulk: &Bulk,
    now: Timestamp,
) -> Result<Vec<Record>, BulkRefusal> {
    let task = dataset.task;
    let now_iso = now.to_iso();
    let mut facts: RecordFacts = dataset.facts.clone();
    let mut last_added: Option<usize> = None;
    let mut written: Vec<Pending<'_>> = Vec::with_capacity(bulk.records.len());
    // Where each id of `written` is (a bulk may repeat an id).
    let mut position: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(bulk.records.len());
    for (i, incoming) in bulk.records.iter().enumerate() {
        // A repeated id merges into its earlier entry; otherwise into the stored record.
        let earlier = position
            .remove(incoming.id.as_str())
            .map(|at| written.remove(at));
        if earlier.is_some() {
            // Entries after the removed one moved one place down.
            position = written
                .iter()
                .enumerate()
                .map(|(at, p)| (p.id(), at))
                .collect();
        }
        let stored = match earlier {
            Some(p) => Some(p.into_merged(&now_iso)),
            None => existing
                .get(i)
                .and_then(Option::as_ref)
                .map(|r| r.doc.to_map()),
        };
        let entry = match stored {
            None => {
                facts.records += 1;
                Pending::Fresh(incoming)
            }
            Some(mut doc) => {
                deep_merge(&mut doc, incoming.doc());
                doc.insert("last_updated".into(), Value::String(now_iso.clone()));
                let keys = RecordKeys::of(task, &doc);
                Pending::Merged(&incoming.id, doc, keys)
            }
        };
        match &entry {
            // The keys added just before add nothing (a bulk's new records mostly share them).
            Pending::Fresh(incoming) if last_added == Some(incoming.keys) => {}
            Pending::Fresh(incoming) => {
                add_keys(task, &mut facts, &bulk.keys[incoming.keys])?;
                last_added = Some(incoming.keys);
            }
            Pending::Merged(_, _, keys) => add_keys(task, &mut facts, keys)?,
        }
        position.insert(entry.id(), written.len());
        written.push(entry);
    }
    if facts.metadata_keys.len() > METADATA_KEYS_LIMIT {
        return Err(BulkRefusal::MetadataLimit {
            len: facts.metadata_keys.len(),
            limit: METADATA_KEYS_LIMIT,
        });
    }
    if facts.vector_names.len() > VECTOR_NAMES_LIMIT {
        return Err(BulkRefusal::VectorLimit);
    }
    if let Some(schema) = schema_labels(dataset) {
        for entry in &written {
            for label in &entry.keys(bulk).labels {
                if !schema.iter().any(|l| l == label) {
                    return Err(BulkRefusal::LabelNotInSchema {
                        label: label.clone(),
                    });
                }
            }
        }
    }
    for (k, v) in &bulk.tags {
        dataset.tags.insert(k.clone(), v.clone());
    }
    for (k, v) in &bulk.metadata {
        dataset.metadata.insert(k.clone(), v.clone());
    }
    dataset.facts = facts;
    dataset.last_updated = now;
    Ok(written
        .into_iter()
        .map(|entry| entry.into_record(&now_iso))
        .collect())
}

/// Adds one document's keys to the dataset's facts, or refuses a label kind (single or multi)
/// other than the dataset's.
fn add_keys(task: Task, facts: &mut RecordFacts, keys: &RecordKeys) -> Result<(), BulkRefusal> {
    if task == Task::TextClassification {
        let multi = keys.multi_label;
        match facts.multi_label {
            Some(m) if m != multi => {
                return Err(BulkRefusal::MultiLabel {
                    incoming_multi: multi,
                });
            }
            None => facts.multi_label = Some(multi),
            _ => {}
        }
    }
    for k in &keys.metadata {
        if !facts.metadata_keys.contains(k) {
            facts.metadata_keys.push(k.clone());
        }
    }
    for k in &keys.vectors {
        if !facts.vector_names.contains(k) {
            facts.vector_names.push(k.clone());
        }
    }
    for label in &keys.labels {
        if !facts.labels.contains(label) {
            facts.labels.push(label.clone());
        }
    }
    Ok(())
}

/// A record of a bulk on its way to the store: a new one is the bulk's own document (written
/// out once, with `last_updated`, never copied); a re-logged one is merged into what was stored.
enum Pending<'b> {
    Fresh(&'b Incoming),
    Merged(&'b str, Map<String, Value>, RecordKeys),
}

impl<'b> Pending<'b> {
    fn id(&self) -> &'b str {
        match self {
            Pending::Fresh(incoming) => &incoming.id,
            Pending::Merged(id, _, _) => id,
        }
    }

    /// What the rules read of its document.
    fn keys<'s>(&'s self, bulk: &'b Bulk) -> &'s RecordKeys
    where
        'b: 's,
    {
        match self {
            Pending::Fresh(incoming) => &bulk.keys[incoming.keys],
            Pending::Merged(_, _, keys) => keys,
        }
    }

    /// Its document as a later entry of the same id merges into it.
    fn into_merged(self, now_iso: &str) -> Map<String, Value> {
        match self {
            Pending::Fresh(incoming) => {
                let mut doc = incoming.doc();
                doc.insert("last_updated".into(), Value::String(now_iso.to_string()));
                doc
            }
            Pending::Merged(_, doc, _) => doc,
        }
    }

    fn into_record(self, now_iso: &str) -> Record {
        match self {
            Pending::Fresh(incoming) => Record {
                id: incoming.id.clone(),
                doc: with_last_updated(&incoming.json, now_iso),
            },
            Pending::Merged(id, doc, _) => Record {
                id: id.to_string(),
                doc: RecordDoc::from_map(&doc),
            },
        }
    }
}

/// A new record's document as it is stored: the bulk's fields (`json`, a JSON object; a record
/// as [`read_record`] makes it has no `last_updated` of its own), then `last_updated` — what
/// inserting it into the map would give, without parsing or writing the map again.
fn with_last_updated(json: &str, now_iso: &str) -> RecordDoc {
    let fields = json.trim_end().strip_suffix('}').unwrap_or("{");
    let mut out = String::with_capacity(json.len() + now_iso.len() + 20);
    out.push_str(fields);
    if fields.trim_end() != "{" {
        out.push(',');
    }
    out.push_str("\"last_updated\":");
    push_json_string(&mut out, now_iso);
    out.push('}');
    RecordDoc::from_trusted_json(out)
}

/// A discarded record, as `DELETE /api/datasets/{name}/data?mark_as_discarded=true` leaves it:
/// status `Discarded`, `last_updated` now. Every store discards with this.
#[must_use]
pub fn discard(doc: &RecordDoc, now_iso: &str) -> RecordDoc {
    let mut fields = doc.to_map();
    fields.insert("status".into(), Value::String("Discarded".into()));
    fields.insert("last_updated".into(), Value::String(now_iso.to_string()));
    RecordDoc::from_map(&fields)
}

/// The dataset after `deleted` of its records were deleted. Every store counts with this.
pub fn after_deletion(dataset: &mut Dataset, deleted: u64) {
    dataset.facts.records = dataset.facts.records.saturating_sub(deleted);
}

// ---------------------------------------------------------------------------------------------
// Reading records back

/// Argilla's `_source` projection of a scan: a record shows a top-level key `k` when some
/// pattern matches it (`*` wildcards) or names a field under it (`k.`…); `id` always shows.
/// No patterns: every key. Each key's fate is decided once per page (records share their
/// keys), and a stored document that keeps every key is copied into the answer as it is.
pub struct Projection<'f> {
    fields: &'f [String],
    /// Each top-level key seen, and whether it is kept: a handful per dataset, searched in
    /// order (cheaper than hashing each key of each record).
    decided: Vec<(String, bool)>,
    /// Where in `decided` the next key is looked for first: a dataset's documents mostly have
    /// their keys in one order, so the key after the last one found is usually the next.
    next: usize,
}

impl<'f> Projection<'f> {
    pub fn new(fields: &'f [String]) -> Self {
        Projection {
            fields,
            decided: Vec::new(),
            next: 0,
        }
    }

    /// Whether the top-level key `k` is kept.
    pub fn keeps(&mut self, k: &str) -> bool {
        if self.fields.is_empty() || k == "id" {
            return true;
        }
        let found = match self.decided.get(self.next) {
            Some((seen, _)) if seen == k => Some(self.next),
            _ => self.decided.iter().position(|(seen, _)| seen == k),
        };
        if let Some(at) = found {
            self.next = at + 1;
            return self.decided[at].1;
        }
        let keep = self.fields.iter().any(|p| {
            wildcard_match(p, k)
                || (p.len() > k.len() && p.starts_with(k) && p.as_bytes()[k.len()] == b'.')
        });
        self.decided.push((k.to_string(), keep));
        self.next = self.decided.len();
        keep
    }

    /// Writes `record` as the scan shows it (its kept keys, then `id`) as JSON onto `out`.
    /// Splitting the document into its top-level fields checks it is JSON: a document that is
    /// not is an error, and nothing is written.
    pub fn write_record(
        &mut self,
        record: &Record,
        out: &mut String,
    ) -> Result<(), RecordDocError> {
        let not_an_object =
            || RecordDocError::new(format!("record {:?} is not a JSON object", record.id));
        let text = record.doc.as_json().trim();
        let top = TopLevel::of(text).ok_or_else(not_an_object)?;
        let written_before = out.len();
        out.push('{');
        // Kept members are copied from the stored text a run at a time: from just after the
        // `{` or `,` before a run's first member to the end of its last value (a document
        // whose keys are all kept is one run, copied whole).
        let mut member_start = 1;
        let mut run: Option<(usize, usize)> = None;
        let mut wrote = false;
        let mut flush = |run: &mut Option<(usize, usize)>, out: &mut String| -> Option<()> {
            if let Some((from, to)) = run.take() {
                let members = text.get(from..to)?;
                if wrote {
                    out.push(',');
                }
                out.push_str(members);
                wrote = true;
            }
            Some(())
        };
        let mut copy = || -> Option<()> {
            for (k, v) in &top.0 {
                // Borrowed from `text`, as a parsed `&str`'s raw values are.
                let (_, to) = span_in(text, v.get())?;
                if self.keeps(k) {
                    run = Some((run.map_or(member_start, |(start, _)| start), to));
                } else {
                    flush(&mut run, out)?;
                }
                // The next member starts after the `,` that follows this value.
                member_start = to + text.get(to..)?.find(',').map_or(0, |at| at + 1);
            }
            flush(&mut run, out)
        };
        if copy().is_none() {
            out.truncate(written_before);
            return Err(not_an_object());
        }
        if wrote {
            out.push(',');
        }
        push_id(out, &record.id);
        Ok(())
    }

    /// `record` as the scan shows it, as a JSON value.
    pub fn record(&mut self, record: &Record) -> Value {
        let mut out = String::new();
        match self.write_record(record, &mut out) {
            Ok(()) => serde_json::from_str(&out).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }
}

/// `"id":"…"}`: the end of a scanned record.
fn push_id(out: &mut String, id: &str) {
    out.push_str("\"id\":");
    push_json_string(out, id);
    out.push('}');
}

/// `s` as a JSON string.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Nothing to escape (JSON escapes only these).
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// Where `part`, a slice of `text`, lies in it: (start, end) byte offsets.
fn span_in(text: &str, part: &str) -> Option<(usize, usize)> {
    let from = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let to = from.checked_add(part.len())?;
    (to <= text.len()).then_some((from, to))
}

/// A document's top-level keys and their values as JSON text, in order, borrowed from it.
struct TopLevel<'a>(Vec<(std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue)>);

impl<'a> TopLevel<'a> {
    fn of(text: &'a str) -> Option<TopLevel<'a>> {
        serde_json::from_str(text).ok()
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for TopLevel<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Entries<'a> {
            type Value = TopLevel<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<TopLevel<'a>, M::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) =
                    map.next_entry::<std::borrow::Cow<'a, str>, &'a serde_json::value::RawValue>()?
                {
                    entries.push(entry);
                }
                Ok(TopLevel(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// `fnmatch`-style matching with `*` (any run) and `?` (one character).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_record_is_stored_as_its_fields_then_last_updated() {
        let now = "2026-12-01T10:00:00.000000";
        for fields in [
            json!({}),
            json!({"status": "Default"}),
            json!({"inputs": {"text": "a \"quoted\" }"}, "metrics": {"text_length": 13}}),
        ] {
            let Value::Object(map) = fields else {
                unreachable!()
            };
            let mut expected = map.clone();
            expected.insert("last_updated".into(), json!(now));
            let stored = with_last_updated(&serde_json::to_string(&map).unwrap(), now);
            assert_eq!(stored.as_json(), serde_json::to_string(&expected).unwrap());
        }
    }

    #[test]
    fn ids_coerce_as_pydantic_does() {
        let c = |v: Value| coerce_id(&v);
        assert_eq!(c(json!(2)), Some("2".into()));
        assert_eq!(c(json!("007")), Some("7".into()));
        assert_eq!(c(json!(" 5")), Some("5".into()));
        assert_eq!(c(json!("-3")), Some("-3".into()));
        assert_eq!(c(json!("1_000")), Some("1000".into()));
        assert_eq!(c(json!(1.7)), Some("1".into()));
        assert_eq!(c(json!(true)), Some("1".into()));
        assert_eq!(c(json!("1e3")), Some("1e3".into()));
        assert_eq!(c(json!("1.5")), Some("1.5".into()));
        assert_eq!(c(json!("abc")), Some("abc".into()));
        assert_eq!(c(json!("-0")), Some("0".into()));
        assert_eq!(c(json!([1])), None);
    }

    #[test]
    fn metadata_flattens_drops_empties_and_cuts_strings() {
        let mut out = Map::new();
        let long = "x".repeat(130) + "end";
        let Value::Object(metadata) =
            json!({"a": {"b": 1}, "n": null, "l": [], "s": long, "k": ["y"]})
        else {
            unreachable!()
        };
        flatten_metadata("", metadata, &mut out);
        assert_eq!(out["a.b"], json!(1));
        assert!(!out.contains_key("n") && !out.contains_key("l"));
        assert_eq!(out["s"].as_str().unwrap().chars().count(), 128);
        assert!(out["s"].as_str().unwrap().ends_with("end"));
    }

    #[test]
    fn projection_follows_argilla() {
        let doc =
            json!({"inputs": {"text": "a\"}"}, "metadata": {"k": 1}, "vectors": {}, "text": "a"});
        let record = Record {
            id: "1\"".into(),
            doc: RecordDoc::from_map(doc.as_object().unwrap()),
        };
        let fields = vec!["inputs.*".to_string(), "text".to_string()];
        assert_eq!(
            Projection::new(&fields).record(&record),
            json!({"inputs": {"text": "a\"}"}, "text": "a", "id": "1\""})
        );
        // Dropped keys between kept ones, and a document with spaces, keep the rest intact.
        let spaced = Record {
            id: "3".into(),
            doc: RecordDoc::from_json(
                r#"{ "a" : 1 , "dropped": {"x": ",}"} ,"text":"t\"", "last": [1, 2] }"#.into(),
            )
            .unwrap(),
        };
        let some = vec!["a".to_string(), "text".to_string(), "last".to_string()];
        let mut written = String::new();
        Projection::new(&some)
            .write_record(&spaced, &mut written)
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&written).unwrap(),
            json!({"a": 1, "text": "t\"", "last": [1, 2], "id": "3"})
        );
        let none_kept = vec!["other".to_string()];
        assert_eq!(
            Projection::new(&none_kept).record(&spaced),
            json!({"id": "3"})
        );
        let first_dropped = vec!["dropped".to_string(), "last".to_string()];
        assert_eq!(
            Projection::new(&first_dropped).record(&spaced),
            json!({"dropped": {"x": ",}"}, "last": [1, 2], "id": "3"})
        );
        let all = vec!["*".to_string()];
        assert_eq!(
            Projection::new(&all).record(&record),
            json!({"inputs": {"text": "a\"}"}, "metadata": {"k": 1}, "vectors": {}, "text": "a", "id": "1\""})
        );
        let empty = Record {
            id: "2".into(),
            doc: RecordDoc::empty(),
        };
        assert_eq!(Projection::new(&[]).record(&empty), json!({"id": "2"}));
        assert_eq!(Projection::new(&fields).record(&empty), json!({"id": "2"}));
        assert!(wildcard_match("annotation*", "annotations"));
        assert!(!wildcard_match("annotation*", "prediction"));
    }

    #[test]
    fn record_size_is_its_compact_json() {
        let limit = 100;
        let exact = json!({"t": "x".repeat(limit - 8)});
        assert_eq!(serde_json::to_vec(&exact).unwrap().len(), limit);
        assert!(!json_len_above(&exact, limit));
        let over = json!({"t": "x".repeat(limit - 7)});
        assert!(json_len_above(&over, limit));
        let escaped = json!({"t": "\u{1}".repeat(20)});
        assert_eq!(
            json_len_above(&escaped, limit),
            serde_json::to_vec(&escaped).unwrap().len() > limit
        );
    }

    #[test]
    fn timestamps() {
        assert!(is_iso_datetime("2026-12-01T06:46:15.760265"));
        assert!(is_iso_datetime("2023-06-01T10:00:00+00:00"));
        assert!(is_iso_datetime("2023-06-01 10:00"));
        assert!(!is_iso_datetime("yesterday"));
        assert_eq!(
            read_timestamp(json!(1685613600)),
            Some("2023-06-01T10:00:00+00:00".into())
        );
    }

    /// Reads `body` with the jobs run in order or (`reverse`) last first, as a host running
    /// them at once may finish them in any order.
    fn read_in_order(task: Task, body: &Value, reverse: bool) -> Result<Bulk, Vec<FieldError>> {
        let text = serde_json::to_vec(body).unwrap();
        let body = BulkBody::parse(&text).unwrap();
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("new-{n}")
        };
        let run = |jobs: Vec<Job<'_>>| {
            if reverse {
                jobs.into_iter().rev().for_each(|job| job());
            } else {
                crate::platform::one_after_another(jobs);
            }
        };
        read_bulk(task, &body, &mut new_id, &run)
    }

    #[test]
    fn a_bulk_reads_the_same_whatever_order_its_jobs_run_in() {
        let n = 3 * RECORDS_PER_JOB + 5;
        let good: Vec<Value> = (0..n)
            .map(|i| {
                if i % 7 == 0 {
                    json!({"inputs": {"text": format!("no id {i}")}})
                } else {
                    json!({"id": i, "inputs": {"text": format!("t{i}")}, "metadata": {"k": i}})
                }
            })
            .collect();
        let body = json!({"tags": {"a": 1}, "records": good});
        let forward = read_in_order(Task::TextClassification, &body, false).unwrap();
        let backward = read_in_order(Task::TextClassification, &body, true).unwrap();
        assert_eq!(forward, backward);
        assert_eq!(forward.records.len(), n);
        // Ids made in the body's order, given ones coerced.
        assert_eq!(forward.records[0].id, "new-1");
        assert_eq!(forward.records[7].id, "new-2");
        assert_eq!(forward.records[1].id, "1");
        // Each record's keys are its own, shared with the records before it that have the
        // same (the keyless records every seventh break the runs).
        for r in &forward.records {
            assert_eq!(
                forward.keys[r.keys],
                RecordKeys::of(Task::TextClassification, &r.doc())
            );
        }
        assert!(
            forward.keys.len() < n / 2,
            "{} key sets",
            forward.keys.len()
        );

        // Errors in several jobs come in the body's order, the mixed-label rule last.
        let mut bad = body["records"].as_array().unwrap().clone();
        let late = 2 * RECORDS_PER_JOB + 3;
        bad[late]["status"] = json!("nope");
        bad[1] = json!("not a record");
        bad[RECORDS_PER_JOB + 1]["multi_label"] = json!(true);
        let body = json!({"records": bad});
        let forward = read_in_order(Task::TextClassification, &body, false).unwrap_err();
        let backward = read_in_order(Task::TextClassification, &body, true).unwrap_err();
        assert_eq!(forward, backward);
        let locs: Vec<Value> = forward.iter().map(|e| json!(e.loc)).collect();
        assert_eq!(
            locs,
            vec![
                json!(["body", "records", 1]),
                json!(["body", "records", late, "status"]),
                json!(["body", "records"]),
            ]
        );
    }

    #[test]
    fn a_bulk_body_key_given_twice_counts_as_its_last_value() {
        let text = br#"{"records": 5, "tags": {"x": 1}, "records": [{"id": 1, "text": "t"}], "tags": null}"#;
        let body = BulkBody::parse(text).unwrap();
        let mut new_id = || unreachable!();
        let bulk = read_bulk(
            Task::Text2Text,
            &body,
            &mut new_id,
            &crate::platform::one_after_another,
        )
        .unwrap();
        assert_eq!(bulk.records.len(), 1);
        assert!(bulk.tags.is_empty());
        for not_an_object in [&b"[1]"[..], b"nope", b"\"{\"", b"{\"records\": [1,}"] {
            assert!(BulkBody::parse(not_an_object).is_none());
        }
    }
}
