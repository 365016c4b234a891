//! What the dataset tests (API.md section 10) share: a scene of users around one workspace, the
//! requests `rg.log` / `rg.load` / `rg.copy` / `rg.delete` send, records shaped as client 1.8
//! sends them, and the dataset error bodies of research §5 and §6.2.

use serde_json::{Value, json};

use crate::{Answer, Call, CreatedUser, CreatedWorkspace, DEFAULT_ADMIN_KEY, Target};

/// The three record tasks and their bulk path segments.
pub const TEXT_CLASSIFICATION: &str = "TextClassification";
pub const TOKEN_CLASSIFICATION: &str = "TokenClassification";
pub const TEXT2TEXT: &str = "Text2Text";

/// The header client 1.8 names the active workspace with, on every dataset call.
pub const WORKSPACE_HEADER: &str = "X-Argilla-Workspace";

/// The fields `rg.load` asks the scan for (research §2.2, without `vectors.*` and `metrics.*`).
pub const CLIENT_FIELDS: [&str; 11] = [
    "metadata.*",
    "status",
    "event_timestamp",
    "annotation*",
    "prediction*",
    "search_keywords",
    "inputs.*",
    "multi_label",
    "explanation*",
    "text",
    "tokens",
];

fn t() -> &'static Target {
    Target::shared()
}

// ---- the scene ---------------------------------------------------------------------------------

/// A team workspace and the callers of research §6.2 around it: an admin created for the scene,
/// an annotator member and an annotator non-member.
pub struct Scene {
    pub workspace: CreatedWorkspace,
    pub admin: CreatedUser,
    pub member: CreatedUser,
    pub non_member: CreatedUser,
}

impl Default for Scene {
    fn default() -> Self {
        Scene::new()
    }
}

impl Scene {
    pub fn new() -> Scene {
        let workspace = t().create_workspace();
        let admin = t().create_user("admin");
        let member = t().create_user("annotator");
        let non_member = t().create_user("annotator");
        t().add_member(&workspace.id, &member.id);
        Scene {
            workspace,
            admin,
            member,
            non_member,
        }
    }

    /// The scene's workspace name.
    pub fn ws(&self) -> &str {
        &self.workspace.name
    }

    /// `method path` as `key`, in the scene's workspace (the header, as client 1.8 sends it).
    pub fn call(&self, method: &str, path: &str, key: &str) -> Call<'static> {
        t().request(method, path)
            .key(key)
            .header(WORKSPACE_HEADER, self.ws())
    }

    /// A member of the workspace who created `name` while an admin, then was made an annotator:
    /// the only way an annotator is a dataset's `created_by` (annotators cannot create).
    pub fn demoted_creator_of(&self, name: &str, task: &str) -> CreatedUser {
        let creator = t().create_user("admin");
        t().add_member(&self.workspace.id, &creator.id);
        self.create(&creator.api_key, name, task).expect(200);
        t().patch(&format!("/api/users/{}", creator.id))
            .key(DEFAULT_ADMIN_KEY)
            .json(&json!({"role": "annotator"}))
            .send()
            .expect(200);
        creator
    }

    /// `POST /api/datasets` with `{name, task}` in the scene's workspace.
    pub fn create(&self, key: &str, name: &str, task: &str) -> Answer {
        self.call("POST", "/api/datasets", key)
            .json(&json!({"name": name, "task": task}))
            .send()
    }

    /// `GET /api/datasets/{name}` as the scene's admin.
    pub fn get(&self, name: &str) -> Answer {
        self.call("GET", &format!("/api/datasets/{name}"), &self.admin.api_key)
            .send()
    }

    /// `POST /api/datasets/{name}/{task}:bulk` with the body `rg.log` sends.
    pub fn bulk(&self, key: &str, name: &str, task: &str, records: Value) -> Answer {
        self.bulk_body(
            key,
            name,
            task,
            &json!({"tags": {}, "metadata": {}, "records": records}),
        )
    }

    /// `POST /api/datasets/{name}/{task}:bulk` with this body.
    pub fn bulk_body(&self, key: &str, name: &str, task: &str, body: &Value) -> Answer {
        self.call("POST", &format!("/api/datasets/{name}/{task}:bulk"), key)
            .json(body)
            .send()
    }

    /// Logs `records` as the scene's admin and checks the BulkResponse.
    #[track_caller]
    pub fn log(&self, name: &str, task: &str, records: Value) {
        let count = records.as_array().map_or(0, Vec::len);
        self.bulk(&self.admin.api_key, name, task, records)
            .expect_json(
                200,
                &json!({"dataset": name, "processed": count, "failed": 0}),
            );
    }

    /// `POST /api/datasets/{name}/records/:search[?limit=]` with this body.
    pub fn scan_as(&self, key: &str, name: &str, limit: Option<u32>, body: &Value) -> Answer {
        let path = match limit {
            Some(limit) => format!("/api/datasets/{name}/records/:search?limit={limit}"),
            None => format!("/api/datasets/{name}/records/:search"),
        };
        self.call("POST", &path, key).json(body).send()
    }

    /// One scan page as the scene's admin.
    pub fn scan(&self, name: &str, limit: Option<u32>, body: &Value) -> Answer {
        self.scan_as(&self.admin.api_key, name, limit, body)
    }

    /// Every page of a scan with pages of `page`, as client 1.8's `rg.load` loop reads them
    /// (research §2.2 step 6): resend the request with the answer's non-null cursors until a
    /// page is empty or no cursor comes back.
    #[track_caller]
    pub fn scan_pages(&self, name: &str, page: u32, body: &Value) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut request = body.clone();
        for _ in 0..10_000 {
            let answer = self.scan(name, Some(page), &request);
            let records = answer.expect(200)["records"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: a records list: {}", answer.request, answer.text()))
                .clone();
            if records.is_empty() {
                return pages;
            }
            pages.push(records);
            let mut cursor = false;
            for key in ["next_idx", "next_page_cfg"] {
                let value = &answer.json[key];
                if !value.is_null() && value != "" {
                    request[key] = value.clone();
                    cursor = true;
                }
            }
            if !cursor {
                return pages;
            }
        }
        panic!("a scan of {name} that never ends");
    }

    /// Every record of `name` (pages of 1000).
    #[track_caller]
    pub fn records(&self, name: &str) -> Vec<Value> {
        self.scan_pages(name, 1000, &json!({}))
            .into_iter()
            .flatten()
            .collect()
    }

    /// The record of `name` with this (string) id.
    #[track_caller]
    pub fn record(&self, name: &str, id: &str) -> Value {
        let answer = self.scan(name, None, &json!({"query": {"ids": [id]}}));
        let records = answer.expect(200)["records"].clone();
        assert_eq!(
            records.as_array().map(Vec::len),
            Some(1),
            "one record {id} in {name}: {records}"
        );
        records[0].clone()
    }
}

/// The `id`s of scanned records, as strings.
pub fn ids_of(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The `id`s of one scan answer.
pub fn ids_in(answer: &Answer) -> Vec<String> {
    ids_of(answer.json["records"].as_array().map_or(&[], Vec::as_slice))
}

/// These ids, sorted by the bytes of their string form (the scan order, research §4.3.3).
pub fn in_byte_order<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    let mut sorted: Vec<String> = ids.iter().map(|s| s.as_ref().to_string()).collect();
    sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    sorted
}

// ---- records as client 1.8 sends them (research §2.1) ------------------------------------------

/// A TextClassification record with every key present, `null` where empty.
pub fn text_record(id: Value, text: &str) -> Value {
    json!({
        "id": id,
        "metadata": {},
        "event_timestamp": "2023-06-01T10:00:00.123456",
        "status": "Default",
        "prediction": null,
        "annotation": null,
        "vectors": null,
        "metrics": {},
        "search_keywords": null,
        "inputs": {"text": text},
        "multi_label": false,
        "explanation": null,
    })
}

/// A TokenClassification record over `text` split at spaces.
pub fn token_record(id: Value, text: &str) -> Value {
    let tokens: Vec<&str> = text.split(' ').collect();
    json!({
        "id": id,
        "metadata": {},
        "event_timestamp": "2023-06-01T10:00:00.123456",
        "status": "Default",
        "prediction": null,
        "annotation": null,
        "vectors": null,
        "metrics": {},
        "search_keywords": null,
        "tokens": tokens,
        "text": text,
    })
}

/// A Text2Text record.
pub fn text2text_record(id: Value, text: &str) -> Value {
    json!({
        "id": id,
        "metadata": {},
        "event_timestamp": "2023-06-01T10:00:00.123456",
        "status": "Default",
        "prediction": null,
        "annotation": null,
        "vectors": null,
        "metrics": {},
        "search_keywords": null,
        "text": text,
    })
}

/// `record` with the top-level keys of `changes` replaced (or added).
pub fn with(mut record: Value, changes: Value) -> Value {
    if let (Some(record), Value::Object(changes)) = (record.as_object_mut(), changes) {
        for (key, value) in changes {
            record.insert(key, value);
        }
    }
    record
}

/// A TextClassification prediction or annotation: `{"agent", "labels": [{"class", "score"}]}`.
pub fn labels(agent: &str, labels: &[(&str, f64)]) -> Value {
    let labels: Vec<Value> = labels
        .iter()
        .map(|(class, score)| json!({"class": class, "score": score}))
        .collect();
    json!({"agent": agent, "labels": labels})
}

/// A TokenClassification prediction or annotation over `(start, end, label)` spans.
pub fn entities(agent: &str, spans: &[(u64, u64, &str)]) -> Value {
    let entities: Vec<Value> = spans
        .iter()
        .map(
            |(start, end, label)| json!({"start": start, "end": end, "label": label, "score": 1.0}),
        )
        .collect();
    json!({"agent": agent, "entities": entities, "score": null})
}

/// A Text2Text prediction or annotation.
pub fn sentences(agent: &str, sentences: &[(&str, f64)]) -> Value {
    let sentences: Vec<Value> = sentences
        .iter()
        .map(|(text, score)| json!({"text": text, "score": score}))
        .collect();
    json!({"agent": agent, "sentences": sentences})
}

// ---- audit --------------------------------------------------------------------------------------

/// The audit entries with this action that name dataset `name` of workspace `ws` (as its
/// target name or id, alone or as `<ws>.<name>`). Pages through the whole log.
pub fn audit_entries(action: &str, ws: &str, name: &str) -> Vec<Value> {
    let qualified = format!("{ws}.{name}");
    let mut found = Vec::new();
    for page in 0..100 {
        let answer = t()
            .get(&format!("/api/audit?limit=1000&offset={}", page * 1000))
            .key(DEFAULT_ADMIN_KEY)
            .send();
        let items = answer.expect(200)["items"]
            .as_array()
            .unwrap_or_else(|| panic!("an items list: {}", answer.text()))
            .clone();
        found.extend(
            items
                .iter()
                .filter(|e| {
                    e["action"] == action
                        && ["target_name", "target_id"]
                            .iter()
                            .any(|k| e[k] == name || e[k] == qualified.as_str())
                })
                .cloned(),
        );
        if items.len() < 1000 {
            break;
        }
    }
    found
}

// ---- error bodies (research §5, §6.2) -----------------------------------------------------------

fn envelope(class: &str, params: Value) -> Value {
    json!({"detail": {"code": format!("argilla.api.errors::{class}"), "params": params}})
}

/// 400 `MissingInputParamError`: no workspace in the query, header (or create body).
pub fn missing_workspace() -> Value {
    envelope(
        "MissingInputParamError",
        json!({"message": "A workspace must be provided"}),
    )
}

/// 404 for a dataset that is not in the workspace.
pub fn dataset_not_found(name: &str) -> Value {
    envelope(
        "EntityNotFoundError",
        json!({"name": name, "type": "ServiceDataset"}),
    )
}

/// 409 on create: the name is taken in the workspace (by a dataset of any task).
pub fn dataset_exists(name: &str, ws: &str) -> Value {
    envelope(
        "EntityAlreadyExistsError",
        json!({"name": name, "type": "ServiceDataset", "workspace": ws}),
    )
}

/// 409 on copy: the copy's name is taken in the target workspace.
pub fn copy_exists(name: &str, ws: &str) -> Value {
    envelope(
        "EntityAlreadyExistsError",
        json!({"name": name, "type": "Dataset", "workspace": ws}),
    )
}

/// 400 `WrongTaskError`: the path's task is not the dataset's.
pub fn wrong_task(task: &str) -> Value {
    envelope(
        "WrongTaskError",
        json!({"message": format!("Provided task {task} cannot be applied to dataset")}),
    )
}

/// 400 while a dataset is closed.
pub fn closed(name: &str) -> Value {
    bad_request(&format!("Dataset '{name}' is closed"))
}

/// 404 for settings that were never saved; `task` is `TextClassification` or
/// `TokenClassification`.
pub fn settings_not_found(name: &str, task: &str) -> Value {
    envelope(
        "EntityNotFoundError",
        json!({"name": name, "type": format!("{task}Settings")}),
    )
}

/// 400 `MetadataLimitExceededError`.
pub fn metadata_limit(len: u64) -> Value {
    envelope(
        "MetadataLimitExceededError",
        json!({"len": len, "limit": 50}),
    )
}

/// 400 `BadRequestError`.
pub fn bad_request(message: &str) -> Value {
    envelope("BadRequestError", json!({"message": message}))
}

/// 403 `ForbiddenOperationError` with one of the sentences below.
pub fn forbidden(sentence: &str) -> Value {
    envelope("ForbiddenOperationError", json!({"detail": sentence}))
}

pub const CANNOT_GET: &str = "You don't have the necessary permissions to get this dataset.";
pub const CANNOT_CREATE: &str = "You don't have the necessary permissions to create datasets. \
     Only administrators can create datasets";
pub const CANNOT_COPY: &str = "You don't have the necessary permissions to copy this dataset. \
     Only dataset creators or administrators can copy datasets";
pub const CANNOT_DELETE: &str = "You don't have the necessary permissions to delete this dataset. \
     Only dataset creators or administrators can delete datasets";
pub const CANNOT_DELETE_RECORDS: &str = "You don't have the necessary permissions to delete \
     records on this dataset. Only dataset creators or administrators can delete datasets";
pub const CANNOT_SAVE_SETTINGS: &str =
    "You don't have the necessary permissions to save settings for this dataset.";
pub const CANNOT_DELETE_SETTINGS: &str =
    "You don't have the necessary permissions to delete settings for this dataset.";

/// A 422 item without `ctx`.
pub fn item(loc: Value, msg: &str, kind: &str) -> Value {
    json!({"loc": loc, "msg": msg, "type": kind})
}

/// A 422 item with `ctx`.
pub fn item_ctx(loc: Value, msg: &str, kind: &str, ctx: Value) -> Value {
    json!({"loc": loc, "msg": msg, "type": kind, "ctx": ctx})
}

/// Whether a 422 item's `loc` starts with these elements.
pub fn loc_starts_with(item: &Value, prefix: &Value) -> bool {
    match (item["loc"].as_array(), prefix.as_array()) {
        (Some(loc), Some(prefix)) => loc.len() >= prefix.len() && loc[..prefix.len()] == prefix[..],
        _ => false,
    }
}

/// Asserts a 422 `ValidationError` and returns its items.
#[track_caller]
pub fn validation_items(answer: &Answer) -> Vec<Value> {
    let body = answer.expect(422);
    assert_eq!(
        body["detail"]["code"],
        "argilla.api.errors::ValidationError",
        "{}: {}",
        answer.request,
        answer.text()
    );
    body["detail"]["params"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: an errors list: {}", answer.request, answer.text()))
        .clone()
}

/// Asserts a 422 whose items include one at `loc` with this `msg` (and `type`, if given);
/// for the record errors whose Argilla form is a 500 or a service-model error (API.md section
/// 10: their `loc` is `["body", "records", <index>, <field>...]`).
#[track_caller]
pub fn expect_record_error(answer: &Answer, loc: Value, msg: &str, kind: Option<&str>) {
    let items = validation_items(answer);
    assert!(
        items.iter().any(|i| i["loc"] == loc
            && i["msg"] == msg
            && kind.is_none_or(|kind| i["type"] == kind)),
        "{}: expected an item at {loc} with msg {msg:?}{}, got {}",
        answer.request,
        kind.map(|k| format!(" and type {k}")).unwrap_or_default(),
        answer.text()
    );
}
