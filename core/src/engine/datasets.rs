//! The dataset endpoints (API.md section 10; Argilla 1.8's v0 dataset API): datasets in
//! workspaces, bulk logging, the scan `rg.load` uses, record deletion, copy, close/open and the
//! label-schema settings. Check order and error params are Argilla's (research:
//! argilla-datasets.md §5, §6.2); record rules are `crate::records`'.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::access::{Action, Resource, Subject};
use crate::dataset::{Dataset, Record, RecordFacts, Task};
use crate::http::{Request, Response};
use crate::records::{self, BulkRefusal};
use crate::store::{Datasets, RecordSelection, RecordWrite, WriteRefused};
use crate::validation::{NAME_PATTERN, is_valid_name};

use super::auth::Caller;
use super::endpoint::{Answer, Body, Call, Endpoint, Handler, Param};
use super::error::{ApiError, ApiResult, FieldError};
use super::{AuditTarget, Engine, input, ok};

/// Bulk bodies may be this large (32 MiB); every other endpoint keeps the default.
pub const BULK_BODY_LIMIT: usize = 32 << 20;
/// Largest scan page.
const MAX_SCAN_LIMIT: u32 = 1000;
/// The largest dataset a scan sorts (`sort_by`): a sorted page reads every record.
const MAX_SORTED_RECORDS: u64 = 100_000;
/// How many stored records the scan reads per store call while filtering.
const SCAN_BATCH: usize = 1000;

const GET_FORBIDDEN: &str = "You don't have the necessary permissions to get this dataset.";

// ---------------------------------------------------------------------------------------------
// Errors of the dataset API

fn coded(status: u16, class: &'static str, params: Value) -> ApiError {
    ApiError::Coded {
        status,
        class,
        params,
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::BadRequest(message.into())
}

fn not_available() -> ApiError {
    coded(
        501,
        "GenericServerError",
        json!({"type": "NotImplemented", "message": "Datasets are not available on this host yet"}),
    )
}

fn missing_workspace() -> ApiError {
    coded(
        400,
        "MissingInputParamError",
        json!({"message": "A workspace must be provided"}),
    )
}

fn dataset_not_found(name: &str) -> ApiError {
    coded(
        404,
        "EntityNotFoundError",
        json!({"name": name, "type": "ServiceDataset"}),
    )
}

fn workspace_not_found(name: &str) -> ApiError {
    coded(
        404,
        "EntityNotFoundError",
        json!({"name": name, "type": "Workspace"}),
    )
}

fn wrong_task(task: Task) -> ApiError {
    coded(
        400,
        "WrongTaskError",
        json!({"message": format!("Provided task {task} cannot be applied to dataset")}),
    )
}

fn forbidden(detail: &str) -> ApiError {
    ApiError::Forbidden(detail.to_string())
}

fn closed(name: &str) -> ApiError {
    bad_request(format!("Dataset '{name}' is closed"))
}

fn validation(errors: Vec<FieldError>) -> ApiError {
    ApiError::Validation(errors)
}

// ---------------------------------------------------------------------------------------------
// Wire shapes

/// A dataset as Argilla 1.8 answers it (`exclude_none`), in its field order.
pub fn dataset_out(d: &Dataset) -> Value {
    let mut out = Map::new();
    out.insert("tags".into(), Value::Object(d.tags.clone()));
    out.insert("metadata".into(), Value::Object(d.metadata.clone()));
    out.insert("name".into(), json!(d.name));
    out.insert("task".into(), json!(d.task.as_str()));
    out.insert("workspace".into(), json!(d.workspace));
    out.insert("id".into(), json!(d.id()));
    out.insert("owner".into(), json!(d.workspace));
    out.insert("created_at".into(), json!(d.created_at.to_iso()));
    if let Some(by) = &d.created_by {
        out.insert("created_by".into(), json!(by));
    }
    out.insert("last_updated".into(), json!(d.last_updated.to_iso()));
    Value::Object(out)
}

fn ok_value(v: &Value) -> ApiResult<Response> {
    ok(v)
}

// ---------------------------------------------------------------------------------------------
// Request parts

/// The query parameter `name`, if present and non-empty.
fn query_param(req: &Request, name: &str) -> Option<String> {
    let q = req.query.as_deref()?;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// The workspace of a dataset request: `?workspace=`, else the `X-Argilla-Workspace` header.
fn workspace_of(req: &Request) -> Option<String> {
    query_param(req, "workspace").or_else(|| {
        req.header_value("x-argilla-workspace")
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string)
    })
}

/// A body that may be absent (scan, delete records): `None` when empty or `null`.
fn optional_object(req: &Request) -> ApiResult<Option<Map<String, Value>>> {
    if req.body.iter().all(u8::is_ascii_whitespace) || req.body.trim_ascii() == b"null" {
        return Ok(None);
    }
    input::json_object(req).map(Some)
}

/// A dataset name in a path: Argilla's name rule (422 at `["path","name"]`).
fn path_name(raw: &str) -> ApiResult<String> {
    if is_valid_name(raw) {
        return Ok(raw.to_string());
    }
    Err(validation(vec![name_error(vec![
        json!("path"),
        json!("name"),
    ])]))
}

fn name_error(loc: Vec<Value>) -> FieldError {
    FieldError::new(
        loc,
        format!("string does not match regex \"{NAME_PATTERN}\""),
        "value_error.str.regex",
    )
    .with_ctx(json!({"pattern": NAME_PATTERN}))
}

/// A `metadata` body field: a JSON object (or absent).
fn metadata_field(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Map<String, Value> {
    match body.get("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            errors.push(FieldError::new(
                vec![json!("body"), json!("metadata")],
                "value is not a valid dict",
                "type_error.dict",
            ));
            Map::new()
        }
    }
}

fn tags_field(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Map<String, Value> {
    match records::read_tag_map(body.get("tags"), vec![json!("body"), json!("tags")]) {
        Ok(tags) => tags,
        Err(e) => {
            errors.extend(e);
            Map::new()
        }
    }
}

/// What an access decision about a dataset needs.
fn dataset_resource(d: &Dataset) -> Resource<'_> {
    Resource::Dataset {
        workspace: &d.workspace,
        created_by: d.created_by.as_deref(),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

impl Engine {
    fn datasets_store(&self) -> ApiResult<&Arc<dyn Datasets>> {
        self.stores.datasets.as_ref().ok_or_else(not_available)
    }

    /// The dataset of a request, Argilla's way: workspace (400), then the dataset (404), then
    /// read access (403).
    async fn readable_dataset(
        &self,
        caller: &Caller,
        req: &Request,
        raw_name: &str,
        task: Option<Task>,
    ) -> ApiResult<(Dataset, Subject)> {
        let store = self.datasets_store()?;
        // Argilla checks the name pattern on the settings paths only (research §4.5);
        // elsewhere a name that breaks it is simply not found.
        let name = if task.is_some() {
            path_name(raw_name)?
        } else {
            raw_name.to_string()
        };
        let workspace = workspace_of(req).ok_or_else(missing_workspace)?;
        let dataset = store
            .dataset(&workspace, &name)
            .await?
            .ok_or_else(|| dataset_not_found(&name))?;
        if let Some(task) = task
            && task != dataset.task
        {
            return Err(wrong_task(task));
        }
        let subject = self.caller_subject(caller).await?;
        if !crate::access::can(
            &subject,
            Action::ReadDataset,
            &Resource::Workspace(&workspace),
        ) {
            return Err(forbidden(GET_FORBIDDEN));
        }
        Ok((dataset, subject))
    }

    /// `GET /api/datasets` (`?workspace=` optional).
    pub(crate) async fn list_datasets(
        &self,
        caller: &Caller,
        req: &Request,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let subject = self.caller_subject(caller).await?;
        let workspaces: Vec<String> = match workspace_of(req) {
            Some(ws) => {
                let exists = self
                    .stores
                    .directory
                    .workspace_by_name(&ws)
                    .await?
                    .is_some();
                if !exists
                    || !crate::access::can(
                        &subject,
                        Action::ListDatasets,
                        &Resource::Workspace(&ws),
                    )
                {
                    return Err(workspace_not_found(&ws));
                }
                vec![ws]
            }
            None => self
                .caller_workspaces(caller)
                .await?
                .into_iter()
                .map(|w| w.name)
                .collect(),
        };
        let datasets = store.datasets(&workspaces).await?;
        ok_value(&Value::Array(datasets.iter().map(dataset_out).collect()))
    }

    /// `POST /api/datasets`.
    pub(crate) async fn create_dataset(
        &self,
        caller: &Caller,
        req: &Request,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let body = input::json_object(req)?;
        let mut errors = Vec::new();
        let name = match body.get("name") {
            Some(Value::String(n)) if is_valid_name(n) => Some(n.clone()),
            Some(Value::String(_)) => {
                errors.push(name_error(vec![json!("body"), json!("name")]));
                None
            }
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    vec![json!("body"), json!("name")],
                    "field required",
                    "value_error.missing",
                ));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(
                    vec![json!("body"), json!("name")],
                    "str type expected",
                    "type_error.str",
                ));
                None
            }
        };
        let task = match body.get("task") {
            Some(Value::String(t)) => match Task::parse(t) {
                Some(task) => Some(task),
                None => {
                    errors.push(task_error(vec![json!("body"), json!("task")]));
                    None
                }
            },
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    vec![json!("body"), json!("task")],
                    "field required",
                    "value_error.missing",
                ));
                None
            }
            Some(_) => {
                errors.push(task_error(vec![json!("body"), json!("task")]));
                None
            }
        };
        let tags = tags_field(&body, &mut errors);
        let metadata = metadata_field(&body, &mut errors);
        let body_ws = body
            .get("workspace")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .map(str::to_string);
        let (Some(name), Some(task), true) = (name, task, errors.is_empty()) else {
            return Err(validation(errors));
        };
        let workspace = body_ws
            .or_else(|| workspace_of(req))
            .ok_or_else(missing_workspace)?;
        if self
            .stores
            .directory
            .workspace_by_name(&workspace)
            .await?
            .is_none()
        {
            return Err(workspace_not_found(&workspace));
        }
        let subject = self.caller_subject(caller).await?;
        if !crate::access::can(
            &subject,
            Action::CreateDataset,
            &Resource::Workspace(&workspace),
        ) {
            return Err(forbidden(CREATE_FORBIDDEN));
        }
        let dataset = self.new_dataset(&workspace, &name, task, tags, metadata, caller);
        let entry = self.dataset_audit(caller, "dataset.create", &dataset, None);
        if !store.create_dataset(dataset.clone(), Some(entry)).await? {
            return Err(dataset_exists(&name, &workspace));
        }
        ok_value(&dataset_out(&dataset))
    }

    fn new_dataset(
        &self,
        workspace: &str,
        name: &str,
        task: Task,
        tags: Map<String, Value>,
        metadata: Map<String, Value>,
        caller: &Caller,
    ) -> Dataset {
        let now = self.platform.now();
        Dataset {
            workspace: workspace.to_string(),
            name: name.to_string(),
            task,
            tags,
            metadata,
            created_by: Some(caller.user().username.clone()),
            created_at: now,
            last_updated: now,
            closed: false,
            settings: None,
            facts: RecordFacts::default(),
        }
    }

    fn dataset_audit(
        &self,
        caller: &Caller,
        action: &str,
        dataset: &Dataset,
        detail: Option<String>,
    ) -> crate::domain::AuditEntry {
        self.audit_entry(
            Some(caller.user()),
            action,
            AuditTarget::Dataset(dataset),
            detail,
        )
    }

    /// `GET /api/datasets/{name}`.
    pub(crate) async fn get_dataset(
        &self,
        caller: &Caller,
        call: &Call<'_>,
    ) -> ApiResult<Response> {
        let (dataset, _) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        ok_value(&dataset_out(&dataset))
    }

    /// `PATCH /api/datasets/{name}`: tags and metadata merged in.
    pub(crate) async fn update_dataset(
        &self,
        caller: &Caller,
        call: &Call<'_>,
    ) -> ApiResult<Response> {
        let body = input::json_object(call.req)?;
        let mut errors = Vec::new();
        let tags = tags_field(&body, &mut errors);
        let metadata = metadata_field(&body, &mut errors);
        if !errors.is_empty() {
            return Err(validation(errors));
        }
        let (dataset, subject) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        if !crate::access::can(
            &subject,
            Action::WriteDataset,
            &Resource::Workspace(&dataset.workspace),
        ) {
            return Err(forbidden(GET_FORBIDDEN));
        }
        let now = self.platform.now();
        let edit = Arc::new(move |d: &Dataset| {
            let mut d = d.clone();
            for (k, v) in &tags {
                d.tags.insert(k.clone(), v.clone());
            }
            for (k, v) in &metadata {
                d.metadata.insert(k.clone(), v.clone());
            }
            d.last_updated = now;
            d
        });
        let updated = self
            .datasets_store()?
            .update_dataset(&dataset.workspace, &dataset.name, edit)
            .await?
            .ok_or_else(|| dataset_not_found(&dataset.name))?;
        ok_value(&dataset_out(&updated))
    }

    /// `DELETE /api/datasets/{name}`: a missing dataset is `200 null`, as Argilla.
    pub(crate) async fn delete_dataset(
        &self,
        caller: &Caller,
        call: &Call<'_>,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let name = call.param("name").to_string();
        let workspace = workspace_of(call.req).ok_or_else(missing_workspace)?;
        let Some(dataset) = store.dataset(&workspace, &name).await? else {
            return ok_value(&Value::Null);
        };
        let subject = self.caller_subject(caller).await?;
        if !crate::access::can(
            &subject,
            Action::ReadDataset,
            &Resource::Workspace(&workspace),
        ) {
            return Err(forbidden(GET_FORBIDDEN));
        }
        if !crate::access::can(&subject, Action::DeleteDataset, &dataset_resource(&dataset)) {
            return Err(forbidden(
                "You don't have the necessary permissions to delete this dataset. Only dataset \
                 creators or administrators can delete datasets",
            ));
        }
        let detail = Some(format!("records={}", dataset.facts.records));
        let entry = self.dataset_audit(caller, "dataset.delete", &dataset, detail);
        store.delete_dataset(&workspace, &name, Some(entry)).await?;
        ok_value(&Value::Null)
    }

    /// `PUT /api/datasets/{name}:copy`.
    pub(crate) async fn copy_dataset(
        &self,
        caller: &Caller,
        call: &Call<'_>,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let body = input::json_object(call.req)?;
        let mut errors = Vec::new();
        let copy_name = match body.get("name") {
            Some(Value::String(n)) if is_valid_name(n) => Some(n.clone()),
            Some(Value::String(_)) => {
                errors.push(name_error(vec![json!("body"), json!("name")]));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    vec![json!("body"), json!("name")],
                    "field required",
                    "value_error.missing",
                ));
                None
            }
        };
        let tags = tags_field(&body, &mut errors);
        let metadata = metadata_field(&body, &mut errors);
        let target = body
            .get("target_workspace")
            .and_then(Value::as_str)
            .filter(|w| !w.is_empty())
            .map(str::to_string);
        let (Some(copy_name), true) = (copy_name, errors.is_empty()) else {
            return Err(validation(errors));
        };
        let (source, subject) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        let target = target.unwrap_or_else(|| source.workspace.clone());
        if self
            .stores
            .directory
            .workspace_by_name(&target)
            .await?
            .is_none()
        {
            return Err(workspace_not_found(&target));
        }
        if store.dataset(&target, &copy_name).await?.is_some() {
            return Err(copy_exists(&copy_name, &target));
        }
        let resource = Resource::DatasetCopy {
            from: &source.workspace,
            to: &target,
        };
        if !crate::access::can(&subject, Action::CopyDataset, &resource) {
            return Err(forbidden(
                "You don't have the necessary permissions to copy this dataset. Only dataset \
                 creators or administrators can copy datasets",
            ));
        }
        let mut copy_tags = source.tags.clone();
        copy_tags.extend(tags);
        let mut copy_metadata = source.metadata.clone();
        copy_metadata.extend(metadata);
        copy_metadata.insert("source_workspace".into(), json!(source.workspace));
        copy_metadata.insert("copied_from".into(), json!(source.name));
        let mut copy = self.new_dataset(
            &target,
            &copy_name,
            source.task,
            copy_tags,
            copy_metadata,
            caller,
        );
        copy.settings = source.settings.clone();
        copy.facts = source.facts.clone();
        let detail = Some(format!("from={}", source.id()));
        let entry = self.dataset_audit(caller, "dataset.copy", &copy, detail);
        if !store
            .copy_dataset(&source.workspace, &source.name, copy.clone(), Some(entry))
            .await?
        {
            return Err(copy_exists(&copy_name, &target));
        }
        ok_value(&dataset_out(&copy))
    }

    /// `PUT /api/datasets/{name}:close` and `:open`.
    pub(crate) async fn set_closed(
        &self,
        caller: &Caller,
        call: &Call<'_>,
        closed_now: bool,
    ) -> ApiResult<Response> {
        let (dataset, subject) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        let action = if closed_now {
            Action::CloseDataset
        } else {
            Action::OpenDataset
        };
        if !crate::access::can(&subject, action, &dataset_resource(&dataset)) {
            let verb = if closed_now { "close" } else { "open" };
            return Err(forbidden(&format!(
                "You don't have the necessary permissions to {verb} this dataset. Only dataset \
                 creators or administrators can {verb} datasets"
            )));
        }
        let now = self.platform.now();
        let edit = Arc::new(move |d: &Dataset| Dataset {
            closed: closed_now,
            last_updated: now,
            ..d.clone()
        });
        self.datasets_store()?
            .update_dataset(&dataset.workspace, &dataset.name, edit)
            .await?
            .ok_or_else(|| dataset_not_found(&dataset.name))?;
        ok_value(&Value::Null)
    }

    /// `POST /api/datasets/{name}/{Task}:bulk`: Argilla's order — 422 body, 400 workspace, the
    /// dataset (another task: 400; not allowed: 403) or its creation (workspace 404, admin only
    /// 403, name 422), then the record rules against the dataset (400), all in one atomic write.
    pub(crate) async fn bulk(
        &self,
        caller: &Caller,
        call: &Call<'_>,
        task: Task,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let raw_name = call.param("name").to_string();
        input::json_body(call.req)?;
        let Some(body) = records::BulkBody::parse(&call.req.body) else {
            // Not a JSON object: the error any endpoint gives.
            input::json_object(call.req)?;
            return Err(input::not_a_dict());
        };
        let mut new_id = || self.new_id().to_string();
        let run = |jobs: Vec<crate::platform::Job<'_>>| self.platform.run_jobs(jobs);
        let bulk = records::read_bulk(task, &body, &mut new_id, &run).map_err(validation)?;
        let workspace = workspace_of(call.req).ok_or_else(missing_workspace)?;
        let subject = self.caller_subject(caller).await?;
        let existing = if is_valid_name(&raw_name) {
            store.dataset(&workspace, &raw_name).await?
        } else {
            None
        };
        let create = match &existing {
            Some(d) => {
                if d.task != task {
                    return Err(wrong_task(task));
                }
                if !crate::access::can(
                    &subject,
                    Action::WriteDataset,
                    &Resource::Workspace(&workspace),
                ) {
                    return Err(forbidden(GET_FORBIDDEN));
                }
                if d.closed {
                    return Err(closed(&d.name));
                }
                if bulk.records.is_empty() && d.facts.records > 0 {
                    // Argilla answers 500 here (IndexError); a clear 422 instead.
                    return Err(validation(vec![
                        FieldError::new(
                            vec![json!("body"), json!("records")],
                            "ensure this value has at least 1 items",
                            "value_error.list.min_items",
                        )
                        .with_ctx(json!({"limit_value": 1})),
                    ]));
                }
                None
            }
            None => {
                if self
                    .stores
                    .directory
                    .workspace_by_name(&workspace)
                    .await?
                    .is_none()
                {
                    return Err(workspace_not_found(&workspace));
                }
                if !crate::access::can(
                    &subject,
                    Action::CreateDataset,
                    &Resource::Workspace(&workspace),
                ) {
                    return Err(forbidden(CREATE_FORBIDDEN));
                }
                let name = path_name(&raw_name).map_err(|_| create_name_error())?;
                Some(self.new_dataset(&workspace, &name, task, Map::new(), Map::new(), caller))
            }
        };
        let processed = bulk.records.len();
        let ids: Vec<String> = bulk.records.iter().map(|r| r.id.clone()).collect();
        let now = self.platform.now();
        let created_entry = create
            .as_ref()
            .map(|d| self.dataset_audit(caller, "dataset.create", d, Some("by bulk".into())));
        let can_write = crate::access::can(
            &subject,
            Action::WriteDataset,
            &Resource::Workspace(&workspace),
        );
        let decide = Arc::new(
            move |current: Option<&Dataset>, stored: &[Option<Record>]| {
                let mut dataset = match (current, &create) {
                    (Some(d), _) => d.clone(),
                    (None, Some(new)) => new.clone(),
                    // Deleted between the lookup and the write, and this caller may not create.
                    (None, None) => return Err(WriteRefused::Rule("gone".into())),
                };
                if dataset.task != task {
                    return Err(WriteRefused::Rule("task".into()));
                }
                if dataset.closed {
                    return Err(WriteRefused::Rule("closed".into()));
                }
                if current.is_some() && !can_write {
                    return Err(WriteRefused::Rule("forbidden".into()));
                }
                match records::apply_bulk(&mut dataset, stored, &bulk, now) {
                    Ok(written) => Ok((dataset, written)),
                    Err(refusal) => Err(WriteRefused::Rule(refusal_code(&refusal))),
                }
            },
        );
        let write = RecordWrite {
            ids,
            decide,
            created: created_entry,
        };
        match store.write_records(&workspace, &raw_name, write).await? {
            Ok(_) => ok_value(&json!({"dataset": raw_name, "processed": processed, "failed": 0})),
            Err(WriteRefused::Rule(code)) => Err(refusal_error(&code, &raw_name, task)),
        }
    }

    /// `POST /api/datasets/{name}/records/:search?limit=`: the scan `rg.load` pages through.
    pub(crate) async fn scan(&self, caller: &Caller, call: &Call<'_>) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let mut errors = Vec::new();
        let mut limit = input::query_int(call.req, "limit", 100, 0, MAX_SCAN_LIMIT, &mut errors);
        let body = optional_object(call.req)?;
        let request = ScanRequest::read(body.as_ref(), &mut errors);
        if !errors.is_empty() {
            return Err(validation(errors));
        }
        let request = request?;
        let (dataset, _) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        if dataset.closed {
            return Err(closed(&dataset.name));
        }
        if limit == 0 {
            limit = 500;
        }
        let limit = limit as usize;
        let (ws, name) = (dataset.workspace.as_str(), dataset.name.as_str());
        let filter = &request.filter;
        let (page, next_idx, next_page_cfg): (Vec<Record>, Value, Value) = if !filter.ids.is_empty()
        {
            // `ids` overrides every other filter; paging still applies.
            let mut found = store.records_by_ids(ws, name, &filter.ids).await?;
            if let Some(after) = &request.next_idx {
                found.retain(|r| r.id.as_str() > after.as_str());
            }
            found.truncate(limit);
            let next = found
                .last()
                .map(|r| json!(r.id))
                .unwrap_or_else(|| json!(request.next_idx));
            (found, next, Value::Null)
        } else if !request.sort_by.is_empty() {
            // Sorting without a search engine reads every matching record for each page:
            // bounded, so a large dataset is a clear 400 rather than a page that takes minutes.
            if dataset.facts.records > MAX_SORTED_RECORDS {
                return Err(bad_request(format!(
                    "sort_by is not supported by this server on datasets of more than \
                     {MAX_SORTED_RECORDS} records: it needs a search engine"
                )));
            }
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let batch = store
                    .records(ws, name, after.as_deref(), SCAN_BATCH)
                    .await?;
                let done = batch.len() < SCAN_BATCH;
                after = batch.last().map(|r| r.id.clone());
                all.extend(
                    batch
                        .into_iter()
                        .filter(|r| filter.matches(dataset.task, r)),
                );
                if done {
                    break;
                }
            }
            sort_records(&mut all, &request.sort_by);
            let offset = request.offset.unwrap_or(0);
            let page: Vec<Record> = all.into_iter().skip(offset).take(limit).collect();
            let cfg = if page.is_empty() {
                Value::Null
            } else {
                json!(json!({"offset": offset + page.len()}).to_string())
            };
            (page, Value::Null, cfg)
        } else {
            let mut page = Vec::new();
            let mut after = request.next_idx.clone();
            loop {
                let batch = store
                    .records(ws, name, after.as_deref(), SCAN_BATCH.max(limit))
                    .await?;
                let done = batch.len() < SCAN_BATCH.max(limit);
                after = batch.last().map(|r| r.id.clone());
                for r in batch {
                    if page.len() < limit && filter.matches(dataset.task, &r) {
                        page.push(r);
                    }
                }
                if done || page.len() >= limit {
                    break;
                }
            }
            let next = page
                .last()
                .map(|r| json!(r.id))
                .unwrap_or_else(|| json!(request.next_idx));
            (page, next, Value::Null)
        };
        // The answer is written out directly: stored documents are copied in, not parsed.
        let mut projection = records::Projection::new(&request.fields);
        let mut body = String::with_capacity(
            page.iter()
                .map(|r| r.doc.as_json().len() + r.id.len() + 8)
                .sum::<usize>()
                + 64,
        );
        body.push_str("{\"records\":[");
        for (i, record) in page.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            projection
                .write_record(record, &mut body)
                .map_err(|e| crate::StoreError::Backend(e.to_string()))?;
        }
        body.push_str("],\"next_idx\":");
        body.push_str(&next_idx.to_string());
        body.push_str(",\"next_page_cfg\":");
        body.push_str(&next_page_cfg.to_string());
        body.push('}');
        Ok(Response {
            status: 200,
            headers: crate::http::json_headers(),
            body: body.into_bytes(),
        })
    }

    /// `DELETE /api/datasets/{name}/data?mark_as_discarded=`.
    pub(crate) async fn delete_records(
        &self,
        caller: &Caller,
        call: &Call<'_>,
    ) -> ApiResult<Response> {
        let store = self.datasets_store()?;
        let discard = match query_param(call.req, "mark_as_discarded").as_deref() {
            None => false,
            Some(v) if ["true", "True", "1", "yes", "on"].contains(&v) => true,
            Some(v) if ["false", "False", "0", "no", "off"].contains(&v) => false,
            Some(_) => {
                return Err(validation(vec![FieldError::new(
                    vec![json!("query"), json!("mark_as_discarded")],
                    "value could not be parsed to a boolean",
                    "type_error.bool",
                )]));
            }
        };
        let body = optional_object(call.req)?;
        // The query is the body itself (what client 1.8 sends first) or under `query` (its
        // retry after a 403): either way exactly the records it selects.
        let query = body
            .as_ref()
            .map(|b| match b.get("query") {
                Some(Value::Object(q)) => q.clone(),
                _ => b.clone(),
            })
            .unwrap_or_default();
        let mut errors = Vec::new();
        let filter = Filter::read(&query, &mut errors)?;
        if !errors.is_empty() {
            return Err(validation(errors));
        }
        let (dataset, subject) = self
            .readable_dataset(caller, call.req, call.param("name"), None)
            .await?;
        let allowed = if discard {
            crate::access::can(
                &subject,
                Action::WriteDataset,
                &Resource::Workspace(&dataset.workspace),
            )
        } else {
            crate::access::can(&subject, Action::DeleteRecords, &dataset_resource(&dataset))
        };
        if !allowed {
            return Err(forbidden(
                "You don't have the necessary permissions to delete records on this dataset. \
                 Only dataset creators or administrators can delete datasets",
            ));
        }
        let (ws, name) = (dataset.workspace.as_str(), dataset.name.as_str());
        let selection = if filter.is_empty() {
            RecordSelection::All
        } else if !filter.ids.is_empty() {
            let found = store.records_by_ids(ws, name, &filter.ids).await?;
            RecordSelection::Ids(found.into_iter().map(|r| r.id).collect())
        } else {
            let mut ids = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let batch = store
                    .records(ws, name, after.as_deref(), SCAN_BATCH)
                    .await?;
                let done = batch.len() < SCAN_BATCH;
                after = batch.last().map(|r| r.id.clone());
                ids.extend(
                    batch
                        .into_iter()
                        .filter(|r| filter.matches(dataset.task, r))
                        .map(|r| r.id),
                );
                if done {
                    break;
                }
            }
            RecordSelection::Ids(ids)
        };
        let matched = match &selection {
            RecordSelection::All => dataset.facts.records,
            RecordSelection::Ids(ids) => ids.len() as u64,
        };
        let action = if discard {
            "dataset.records.discard"
        } else {
            "dataset.records.delete"
        };
        let entry =
            self.dataset_audit(caller, action, &dataset, Some(format!("matched={matched}")));
        let now = discard.then(|| self.platform.now().to_iso());
        let processed = store
            .delete_records(ws, name, selection, now, Some(entry))
            .await?;
        let matched = if matches!(matched, 0) {
            processed
        } else {
            matched.max(processed)
        };
        ok_value(&json!({"matched": matched, "processed": processed}))
    }

    /// `GET`, `PATCH`, `DELETE /api/datasets/{name}/{Task}/settings`.
    pub(crate) async fn settings(
        &self,
        caller: &Caller,
        call: &Call<'_>,
        task: Task,
        method: &str,
    ) -> ApiResult<Response> {
        let body = if method == "PATCH" {
            Some(input::json_object(call.req)?)
        } else {
            None
        };
        let schema = match &body {
            Some(b) => Some(read_label_schema(b)?),
            None => None,
        };
        let (dataset, subject) = self
            .readable_dataset(caller, call.req, call.param("name"), Some(task))
            .await?;
        let settings_type = match task {
            Task::TextClassification => "TextClassificationSettings",
            _ => "TokenClassificationSettings",
        };
        match method {
            "GET" => match &dataset.settings {
                Some(s) => ok_value(s),
                None => Err(coded(
                    404,
                    "EntityNotFoundError",
                    json!({"name": dataset.name, "type": settings_type}),
                )),
            },
            _ => {
                if let Some(schema) = &schema {
                    let names: Vec<&str> = schema["label_schema"]["labels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l["name"].as_str())
                        .collect();
                    if let Some(missing) = dataset
                        .facts
                        .labels
                        .iter()
                        .find(|l| !names.contains(&l.as_str()))
                    {
                        return Err(bad_request(format!(
                            "The label {missing} was found in the dataset but not in provided labels schema. \nPlease, provide a valid labels schema according to stored records in the dataset"
                        )));
                    }
                }
                if !crate::access::can(
                    &subject,
                    Action::ManageDatasetSettings,
                    &Resource::Workspace(&dataset.workspace),
                ) {
                    let verb = if method == "PATCH" { "save" } else { "delete" };
                    return Err(forbidden(&format!(
                        "You don't have the necessary permissions to {verb} settings for this dataset."
                    )));
                }
                let now = self.platform.now();
                let new_settings = schema.clone();
                let edit = Arc::new(move |d: &Dataset| Dataset {
                    settings: new_settings.clone(),
                    last_updated: now,
                    ..d.clone()
                });
                self.datasets_store()?
                    .update_dataset(&dataset.workspace, &dataset.name, edit)
                    .await?
                    .ok_or_else(|| dataset_not_found(&dataset.name))?;
                match schema {
                    Some(s) => ok_value(&s),
                    None => ok_value(&Value::Null),
                }
            }
        }
    }

    /// `POST /api/datasets/{name}/{Task}:search`: Argilla's search with aggregations (and the
    /// vector search `rg.load(vector=...)` sends) needs a search engine: a 400 naming what.
    pub(crate) async fn task_search(
        &self,
        caller: &Caller,
        call: &Call<'_>,
        task: Task,
    ) -> ApiResult<Response> {
        let body = optional_object(call.req)?;
        let (_, _) = self
            .readable_dataset(caller, call.req, call.param("name"), Some(task))
            .await?;
        let query = body
            .as_ref()
            .and_then(|b| b.get("query"))
            .and_then(Value::as_object);
        let field = if query.is_some_and(|q| q.get("vector").is_some_and(|v| !v.is_null())) {
            "vector"
        } else {
            "aggregations"
        };
        Err(bad_request(format!(
            "{field} is not supported by this server: it needs a search engine; \
             POST /api/datasets/{{name}}/records/:search scans records"
        )))
    }

    /// `GET /api/v1/datasets`: Argilla 1.29's feedback datasets, which workgate does not keep:
    /// always none (client 1.29 lists them after any error of the v0 dataset API, and then
    /// reports the real error).
    pub(crate) async fn feedback_datasets(&self, _caller: &Caller) -> ApiResult<Response> {
        ok_value(&json!({"items": []}))
    }

    /// How many datasets the workspace holds (a workspace with datasets is not deleted).
    pub(crate) async fn datasets_in(&self, workspace: &str) -> ApiResult<usize> {
        match &self.stores.datasets {
            Some(store) => Ok(store.datasets(&[workspace.to_string()]).await?.len()),
            None => Ok(0),
        }
    }
}

const CREATE_FORBIDDEN: &str = "You don't have the necessary permissions to create datasets. Only administrators can create datasets";

fn task_error(loc: Vec<Value>) -> FieldError {
    FieldError::new(
        loc,
        "value is not a valid enumeration member; permitted: 'TextClassification', \
         'TokenClassification', 'Text2Text'",
        "type_error.enum",
    )
    .with_ctx(json!({"enum_values": ["TextClassification", "TokenClassification", "Text2Text"]}))
}

fn create_name_error() -> ApiError {
    // Argilla reports the auto-create's name check as its own model's 422.
    ApiError::Coded {
        status: 422,
        class: "ValidationError",
        params: json!({"model": "CreateDatasetRequest", "errors": [name_error(vec![json!("name")]).to_json()]}),
    }
}

fn dataset_exists(name: &str, workspace: &str) -> ApiError {
    coded(
        409,
        "EntityAlreadyExistsError",
        json!({"name": name, "type": "ServiceDataset", "workspace": workspace}),
    )
}

fn copy_exists(name: &str, workspace: &str) -> ApiError {
    coded(
        409,
        "EntityAlreadyExistsError",
        json!({"name": name, "type": "Dataset", "workspace": workspace}),
    )
}

/// A stable UUID for a dataset's audit entries (datasets have no UUID of their own): its
/// `<workspace>.<name>` id hashed into a v8-style UUID.
pub(super) fn dataset_uuid(id: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("workgate.dataset:{id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn refusal_code(r: &BulkRefusal) -> String {
    match r {
        BulkRefusal::MetadataLimit { len, limit } => format!("metadata:{len}:{limit}"),
        BulkRefusal::VectorLimit => "vectors".into(),
        BulkRefusal::MultiLabel { incoming_multi } => format!("multi:{incoming_multi}"),
        BulkRefusal::LabelNotInSchema { label } => format!("label:{label}"),
    }
}

fn refusal_error(code: &str, name: &str, task: Task) -> ApiError {
    if let Some(rest) = code.strip_prefix("metadata:") {
        let mut parts = rest.split(':').map(|p| p.parse::<u64>().unwrap_or(0));
        let (len, limit) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        return coded(
            400,
            "MetadataLimitExceededError",
            json!({"len": len, "limit": limit}),
        );
    }
    if code == "vectors" {
        return bad_request(format!(
            "Cannot create more than {} kind of vectors per dataset",
            records::VECTOR_NAMES_LIMIT
        ));
    }
    if let Some(multi) = code.strip_prefix("multi:") {
        // Argilla's message names the incoming kind twice (research §9.8); kept verbatim.
        let kind = if multi == "true" {
            "multi-label"
        } else {
            "single-label"
        };
        return bad_request(format!(
            "You cannot pass {kind} records for this dataset. Stored records are {kind}"
        ));
    }
    if let Some(label) = code.strip_prefix("label:") {
        return bad_request(format!(
            "Provided records contain the {label} label, that is not included in the labels schema.\nPlease, annotate your records using labels defined in the labels schema."
        ));
    }
    match code {
        "task" => wrong_task(task),
        "closed" => closed(name),
        "forbidden" => forbidden(GET_FORBIDDEN),
        _ => dataset_not_found(name),
    }
}

/// `{"label_schema": {"labels": [str | {id, name, description?}]}}`, strings normalised to
/// `{"id": s, "name": s}`.
fn read_label_schema(body: &Map<String, Value>) -> ApiResult<Value> {
    let loc = |rest: &[Value]| {
        let mut l = vec![json!("body"), json!("label_schema")];
        l.extend_from_slice(rest);
        l
    };
    let Some(schema) = body.get("label_schema").and_then(Value::as_object) else {
        return Err(validation(vec![FieldError::new(
            loc(&[]),
            "field required",
            "value_error.missing",
        )]));
    };
    let Some(labels) = schema.get("labels").and_then(Value::as_array) else {
        return Err(validation(vec![FieldError::new(
            loc(&[json!("labels")]),
            "field required",
            "value_error.missing",
        )]));
    };
    let mut out = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        match l {
            Value::String(s) => out.push(json!({"id": s, "name": s})),
            Value::Object(o) => {
                let name = o.get("name").and_then(Value::as_str);
                let id = o.get("id").and_then(Value::as_str).or(name);
                let (Some(id), Some(name)) = (id, name) else {
                    return Err(validation(vec![FieldError::new(
                        loc(&[json!("labels"), json!(i), json!("name")]),
                        "field required",
                        "value_error.missing",
                    )]));
                };
                let mut label = Map::new();
                label.insert("id".into(), json!(id));
                label.insert("name".into(), json!(name));
                if let Some(d) = o.get("description").filter(|d| !d.is_null()) {
                    label.insert("description".into(), d.clone());
                }
                out.push(Value::Object(label));
            }
            _ => {
                return Err(validation(vec![FieldError::new(
                    loc(&[json!("labels"), json!(i)]),
                    "str type expected",
                    "type_error.str",
                )]));
            }
        }
    }
    Ok(json!({"label_schema": {"labels": out}}))
}

// ---------------------------------------------------------------------------------------------
// Scan requests: filters, sort, paging

/// The fields of a records query that need a search engine: refused, by name.
const SEARCH_ENGINE_FIELDS: [&str; 5] = [
    "query_text",
    "vector",
    "advanced_query_dsl",
    "uncovered_by_rules",
    "raw_query",
];

/// Valid first segments of a `sort_by` id.
const SORT_FIELDS: [&str; 11] = [
    "id",
    "metadata",
    "score",
    "predicted",
    "predicted_as",
    "predicted_by",
    "annotated_as",
    "annotated_by",
    "status",
    "last_updated",
    "event_timestamp",
];

/// A records query, without a search engine (API.md section 10, "Filters").
#[derive(Debug, Default, Clone)]
struct Filter {
    ids: Vec<String>,
    status: Vec<String>,
    metadata: Vec<(String, Vec<String>)>,
    annotated_by: Vec<String>,
    predicted_by: Vec<String>,
    annotated_as: Vec<String>,
    predicted_as: Vec<String>,
    has_annotation: Option<bool>,
    has_prediction: Option<bool>,
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

impl Filter {
    /// Reads a query object; a field that needs a search engine is a 400 naming it.
    fn read(q: &Map<String, Value>, errors: &mut Vec<FieldError>) -> ApiResult<Filter> {
        for field in SEARCH_ENGINE_FIELDS {
            let used = match q.get(field) {
                None | Some(Value::Null) | Some(Value::Bool(false)) => false,
                Some(Value::String(s)) => !s.trim().is_empty(),
                Some(Value::Array(a)) => !a.is_empty(),
                Some(_) => true,
            };
            if used {
                return Err(bad_request(format!(
                    "{field} is not supported by this server: it needs a search engine"
                )));
            }
        }
        for field in ["predicted", "score"] {
            if q.get(field).is_some_and(|v| !v.is_null()) {
                return Err(bad_request(format!(
                    "{field} is not supported by this server as a filter"
                )));
            }
        }
        let mut filter = Filter::default();
        match q.get("ids") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match records::coerce_id(item) {
                        Some(id) => filter.ids.push(id),
                        None => errors.push(FieldError::new(
                            vec![json!("body"), json!("query"), json!("ids"), json!(i)],
                            "str type expected",
                            "type_error.str",
                        )),
                    }
                }
            }
            Some(_) => errors.push(FieldError::new(
                vec![json!("body"), json!("query"), json!("ids")],
                "value is not a valid list",
                "type_error.list",
            )),
        }
        if let Some(Value::Array(statuses)) = q.get("status") {
            for (i, s) in statuses.iter().enumerate() {
                match s.as_str() {
                    Some(s) if ["Default", "Edited", "Discarded", "Validated"].contains(&s) => {
                        filter.status.push(s.to_string())
                    }
                    _ => errors.push(
                        FieldError::new(
                            vec![json!("body"), json!("query"), json!("status"), json!(i)],
                            "value is not a valid enumeration member; permitted: 'Default', \
                             'Edited', 'Discarded', 'Validated'",
                            "type_error.enum",
                        )
                        .with_ctx(
                            json!({"enum_values": ["Default", "Edited", "Discarded", "Validated"]}),
                        ),
                    ),
                }
            }
        }
        if let Some(Value::Object(m)) = q.get("metadata") {
            for (k, v) in m {
                filter.metadata.push((k.clone(), string_list(Some(v))));
            }
        }
        filter.annotated_by = string_list(q.get("annotated_by"));
        filter.predicted_by = string_list(q.get("predicted_by"));
        filter.annotated_as = string_list(q.get("annotated_as"));
        filter.predicted_as = string_list(q.get("predicted_as"));
        filter.has_annotation = q.get("has_annotation").and_then(Value::as_bool);
        filter.has_prediction = q.get("has_prediction").and_then(Value::as_bool);
        Ok(filter)
    }

    fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.status.is_empty()
            && self.metadata.is_empty()
            && self.annotated_by.is_empty()
            && self.predicted_by.is_empty()
            && self.annotated_as.is_empty()
            && self.predicted_as.is_empty()
            && self.has_annotation.is_none()
            && self.has_prediction.is_none()
    }

    /// Whether a record matches every given filter (AND), as Argilla's derived fields say.
    fn matches(&self, task: Task, r: &Record) -> bool {
        if !self.ids.is_empty() {
            return self.ids.contains(&r.id);
        }
        if self.is_empty() {
            // No filter: the document is not even parsed.
            return true;
        }
        let doc = &r.doc.to_map();
        if !self.status.is_empty()
            && !doc
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| self.status.iter().any(|x| x == s))
        {
            return false;
        }
        for (key, wanted) in &self.metadata {
            let value = doc.get("metadata").and_then(|m| m.get(key));
            let values: Vec<String> = match value {
                Some(Value::Array(items)) => items.iter().map(term).collect(),
                Some(v) => vec![term(v)],
                None => Vec::new(),
            };
            if !wanted.iter().any(|w| values.contains(w)) {
                return false;
            }
        }
        let agent = |part: &str| {
            doc.get(part)
                .and_then(|p| p["agent"].as_str())
                .map(str::to_string)
        };
        if !self.annotated_by.is_empty()
            && !agent("annotation").is_some_and(|a| self.annotated_by.contains(&a))
        {
            return false;
        }
        if !self.predicted_by.is_empty()
            && !agent("prediction").is_some_and(|a| self.predicted_by.contains(&a))
        {
            return false;
        }
        if !self.annotated_as.is_empty()
            && !derived_as(task, doc.get("annotation"), doc)
                .iter()
                .any(|l| self.annotated_as.contains(l))
        {
            return false;
        }
        if !self.predicted_as.is_empty()
            && !derived_as(task, doc.get("prediction"), doc)
                .iter()
                .any(|l| self.predicted_as.contains(l))
        {
            return false;
        }
        if let Some(want) = self.has_annotation
            && doc.contains_key("annotation") != want
        {
            return false;
        }
        if let Some(want) = self.has_prediction
            && doc.contains_key("prediction") != want
        {
            return false;
        }
        true
    }
}

/// A metadata value as a keyword term.
fn term(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Argilla's `annotated_as` / `predicted_as`: the top label (single-label) or the labels with
/// score > 0.5 (multi-label); entity labels; sentence texts.
fn derived_as(task: Task, part: Option<&Value>, doc: &Map<String, Value>) -> Vec<String> {
    let Some(part) = part else { return Vec::new() };
    match task {
        Task::TextClassification => {
            let labels = part["labels"].as_array().cloned().unwrap_or_default();
            let multi = doc
                .get("multi_label")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if multi {
                labels
                    .iter()
                    .filter(|l| l["score"].as_f64().unwrap_or(0.0) > 0.5)
                    .filter_map(|l| l["class_label"].as_str().map(str::to_string))
                    .collect()
            } else {
                labels
                    .first()
                    .and_then(|l| l["class_label"].as_str())
                    .map(|s| vec![s.to_string()])
                    .unwrap_or_default()
            }
        }
        Task::TokenClassification => part["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["label"].as_str().map(str::to_string))
            .collect(),
        Task::Text2Text => part["sentences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["text"].as_str().map(str::to_string))
            .collect(),
    }
}

/// A scan body.
struct ScanRequest {
    filter: Filter,
    fields: Vec<String>,
    sort_by: Vec<(String, bool)>,
    next_idx: Option<String>,
    /// From our own `next_page_cfg` (sorted scans); an unreadable one restarts, as Argilla.
    offset: Option<usize>,
}

impl ScanRequest {
    fn read(
        body: Option<&Map<String, Value>>,
        errors: &mut Vec<FieldError>,
    ) -> ApiResult<ScanRequest> {
        let empty = Map::new();
        let body = body.unwrap_or(&empty);
        let filter = match body.get("query") {
            None | Some(Value::Null) => Filter::default(),
            Some(Value::Object(q)) => Filter::read(q, errors)?,
            Some(_) => {
                errors.push(FieldError::new(
                    vec![json!("body"), json!("query")],
                    "value is not a valid dict",
                    "type_error.dict",
                ));
                Filter::default()
            }
        };
        let fields = string_list(body.get("fields"));
        let mut sort_by = Vec::new();
        if let Some(Value::Array(items)) = body.get("sort_by") {
            for item in items {
                let id = item["id"].as_str().unwrap_or_default().to_string();
                let first = id.split('.').next().unwrap_or_default();
                if !SORT_FIELDS.contains(&first) {
                    return Err(bad_request(format!(
                        "Wrong sort id {id}. Valid values are: [{}]",
                        SORT_FIELDS
                            .iter()
                            .map(|f| format!("'{f}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                let desc = item["order"].as_str() == Some("desc");
                sort_by.push((id, desc));
            }
        }
        let next_idx = body.get("next_idx").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let offset = body
            .get("next_page_cfg")
            .and_then(Value::as_str)
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| v["offset"].as_u64())
            .map(|o| o as usize);
        Ok(ScanRequest {
            filter,
            fields,
            sort_by,
            next_idx,
            offset,
        })
    }
}

/// Sorts by the given field paths, then by id (the tie-break Argilla lacks).
fn sort_records(records: &mut Vec<Record>, sort_by: &[(String, bool)]) {
    fn at<'a>(r: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
        if path == "id" {
            return None;
        }
        let mut parts = path.split('.');
        let first = parts.next()?;
        if first == "metadata" {
            let rest: Vec<&str> = parts.collect();
            return r.get("metadata")?.get(rest.join("."));
        }
        let mut v = r.get(first)?;
        for p in parts {
            v = v.get(p)?;
        }
        Some(v)
    }
    fn cmp_values(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        match (a, b) {
            (None, None) => Equal,
            (None, Some(_)) => Greater,
            (Some(_), None) => Less,
            (Some(Value::Number(x)), Some(Value::Number(y))) => {
                x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Equal)
            }
            (Some(x), Some(y)) => term(x).cmp(&term(y)),
        }
    }
    // Each document parsed once, not once per comparison.
    let mut keyed: Vec<(Map<String, Value>, Record)> =
        records.drain(..).map(|r| (r.doc.to_map(), r)).collect();
    keyed.sort_by(|(a_doc, a), (b_doc, b)| {
        for (path, desc) in sort_by {
            let o = if path == "id" {
                a.id.cmp(&b.id)
            } else {
                cmp_values(at(a_doc, path), at(b_doc, path))
            };
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.id.cmp(&b.id)
    });
    records.extend(keyed.into_iter().map(|(_, r)| r));
}

// ---------------------------------------------------------------------------------------------
// The dataset endpoints, declared once (see `endpoint`).

const NAME: Param = Param::string("name", "The dataset's name");
const WORKSPACE: Param = Param::string(
    "workspace",
    "The dataset's workspace (else the X-Argilla-Workspace header)",
);

/// Every dataset endpoint.
pub(super) const ENDPOINTS: &[Endpoint] = &[
    LIST_DATASETS,
    CREATE_DATASET,
    GET_DATASET,
    UPDATE_DATASET,
    DELETE_DATASET,
    COPY_DATASET,
    CLOSE_DATASET,
    OPEN_DATASET,
    BULK_TC,
    BULK_TOKEN,
    BULK_T2T,
    SCAN,
    SEARCH_TC,
    SEARCH_TOKEN,
    SEARCH_T2T,
    SEARCH_TC_311,
    SEARCH_TOKEN_311,
    SEARCH_T2T_311,
    FEEDBACK_DATASETS,
    DELETE_RECORDS,
    TC_SETTINGS[0],
    TC_SETTINGS[1],
    TC_SETTINGS[2],
    TOKEN_SETTINGS[0],
    TOKEN_SETTINGS[1],
    TOKEN_SETTINGS[2],
    TC_SETTINGS_311[0],
    TC_SETTINGS_311[1],
    TC_SETTINGS_311[2],
    TOKEN_SETTINGS_311[0],
    TOKEN_SETTINGS_311[1],
    TOKEN_SETTINGS_311[2],
];

pub(super) const LIST_DATASETS: Endpoint = Endpoint {
    query_params: &[WORKSPACE],
    ..Endpoint::new(
        "GET",
        "/api/datasets",
        "List the datasets of the workspaces the caller can access (or of one)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.list_datasets(caller, call.req))),
        Answer::AnyObject,
    )
};

pub(super) const CREATE_DATASET: Endpoint = Endpoint {
    query_params: &[WORKSPACE],
    body: Some(Body::Json("DatasetCreate")),
    errors: &[400, 403, 404, 409],
    ..Endpoint::new(
        "POST",
        "/api/datasets",
        "Create a dataset (admin)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.create_dataset(caller, call.req))),
        Answer::AnyObject,
    )
};

pub(super) const GET_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "GET",
        "/api/datasets/{name}",
        "Get a dataset",
        Handler::Authenticated(|e, caller, call| Box::pin(e.get_dataset(caller, call))),
        Answer::AnyObject,
    )
};

pub(super) const UPDATE_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    body: Some(Body::Json("DatasetUpdate")),
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "PATCH",
        "/api/datasets/{name}",
        "Merge tags and metadata into a dataset",
        Handler::Authenticated(|e, caller, call| Box::pin(e.update_dataset(caller, call))),
        Answer::AnyObject,
    )
};

pub(super) const DELETE_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    errors: &[400, 403],
    ..Endpoint::new(
        "DELETE",
        "/api/datasets/{name}",
        "Delete a dataset and its records (admin or its creator); a missing one is 200 null",
        Handler::Authenticated(|e, caller, call| Box::pin(e.delete_dataset(caller, call))),
        Answer::AnyObject,
    )
};

pub(super) const COPY_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    body: Some(Body::Json("DatasetCopy")),
    errors: &[400, 403, 404, 409],
    ..Endpoint::new(
        "PUT",
        "/api/datasets/{name}:copy",
        "Copy a dataset with its records (admin)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.copy_dataset(caller, call))),
        Answer::AnyObject,
    )
};

pub(super) const CLOSE_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "PUT",
        "/api/datasets/{name}:close",
        "Close a dataset: records kept, bulk and scan refused (admin or its creator)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.set_closed(caller, call, true))),
        Answer::AnyObject,
    )
};

pub(super) const OPEN_DATASET: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[WORKSPACE],
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "PUT",
        "/api/datasets/{name}:open",
        "Open a closed dataset (admin or its creator)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.set_closed(caller, call, false))),
        Answer::AnyObject,
    )
};

/// The bulk endpoint of one task, under its path spelling.
macro_rules! bulk_endpoint {
    ($path:literal, $task:expr) => {
        Endpoint {
            path_params: &[NAME],
            query_params: &[WORKSPACE],
            body: Some(Body::Json("Bulk")),
            body_limit: BULK_BODY_LIMIT,
            errors: &[400, 403, 404],
            ..Endpoint::new(
                "POST",
                $path,
                "Log records (upsert by id; creates the dataset if missing, admin only)",
                Handler::Authenticated(|e, caller, call| Box::pin(e.bulk(caller, call, $task))),
                Answer::AnyObject,
            )
        }
    };
}

/// The settings endpoints of one task, under one path spelling: GET, PATCH, DELETE.
macro_rules! settings_endpoints {
    ($path:literal, $task:expr) => {
        [
            Endpoint {
                path_params: &[NAME],
                query_params: &[WORKSPACE],
                errors: &[400, 403, 404],
                ..Endpoint::new(
                    "GET",
                    $path,
                    "A dataset's label schema",
                    Handler::Authenticated(|e, caller, call| {
                        Box::pin(e.settings(caller, call, $task, "GET"))
                    }),
                    Answer::AnyObject,
                )
            },
            Endpoint {
                path_params: &[NAME],
                query_params: &[WORKSPACE],
                body: Some(Body::Json("DatasetSettings")),
                errors: &[400, 403, 404],
                ..Endpoint::new(
                    "PATCH",
                    $path,
                    "Save a dataset's label schema (admin)",
                    Handler::Authenticated(|e, caller, call| {
                        Box::pin(e.settings(caller, call, $task, "PATCH"))
                    }),
                    Answer::AnyObject,
                )
            },
            Endpoint {
                path_params: &[NAME],
                query_params: &[WORKSPACE],
                errors: &[400, 403, 404],
                ..Endpoint::new(
                    "DELETE",
                    $path,
                    "Delete a dataset's label schema (admin)",
                    Handler::Authenticated(|e, caller, call| {
                        Box::pin(e.settings(caller, call, $task, "DELETE"))
                    }),
                    Answer::AnyObject,
                )
            },
        ]
    };
}

const BULK_TC: Endpoint = bulk_endpoint!(
    "/api/datasets/{name}/TextClassification:bulk",
    Task::TextClassification
);
const BULK_TOKEN: Endpoint = bulk_endpoint!(
    "/api/datasets/{name}/TokenClassification:bulk",
    Task::TokenClassification
);
const BULK_T2T: Endpoint = bulk_endpoint!("/api/datasets/{name}/Text2Text:bulk", Task::Text2Text);

/// The task search of one task, under one path spelling (refused: see `task_search`).
macro_rules! search_endpoint {
    ($path:literal, $task:expr) => {
        Endpoint {
            path_params: &[NAME],
            query_params: &[WORKSPACE],
            body: Some(Body::Json("Scan")),
            errors: &[400, 403, 404],
            ..Endpoint::new(
                "POST",
                $path,
                "Argilla's search with aggregations and vector search: needs a search engine (400)",
                Handler::Authenticated(|e, caller, call| {
                    Box::pin(e.task_search(caller, call, $task))
                }),
                Answer::AnyObject,
            )
        }
    };
}

const SEARCH_TC: Endpoint = search_endpoint!(
    "/api/datasets/{name}/TextClassification:search",
    Task::TextClassification
);
const SEARCH_TOKEN: Endpoint = search_endpoint!(
    "/api/datasets/{name}/TokenClassification:search",
    Task::TokenClassification
);
const SEARCH_T2T: Endpoint =
    search_endpoint!("/api/datasets/{name}/Text2Text:search", Task::Text2Text);
const SEARCH_TC_311: Endpoint = search_endpoint!(
    "/api/datasets/{name}/TaskType.text_classification:search",
    Task::TextClassification
);
const SEARCH_TOKEN_311: Endpoint = search_endpoint!(
    "/api/datasets/{name}/TaskType.token_classification:search",
    Task::TokenClassification
);
const SEARCH_T2T_311: Endpoint = search_endpoint!(
    "/api/datasets/{name}/TaskType.text2text:search",
    Task::Text2Text
);

const FEEDBACK_DATASETS: Endpoint = Endpoint::new(
    "GET",
    "/api/v1/datasets",
    "Argilla 1.29's feedback datasets: none are kept here (always an empty list)",
    Handler::Authenticated(|e, caller, _| Box::pin(e.feedback_datasets(caller))),
    Answer::AnyObject,
);

const TC_SETTINGS: [Endpoint; 3] = settings_endpoints!(
    "/api/datasets/{name}/TextClassification/settings",
    Task::TextClassification
);
const TOKEN_SETTINGS: [Endpoint; 3] = settings_endpoints!(
    "/api/datasets/{name}/TokenClassification/settings",
    Task::TokenClassification
);
// The spellings client 1.8 builds on Python ≥ 3.11 (research §2.8).
const TC_SETTINGS_311: [Endpoint; 3] = settings_endpoints!(
    "/api/datasets/{name}/TaskType.text_classification/settings",
    Task::TextClassification
);
const TOKEN_SETTINGS_311: [Endpoint; 3] = settings_endpoints!(
    "/api/datasets/{name}/TaskType.token_classification/settings",
    Task::TokenClassification
);

pub(super) const SCAN: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[
        WORKSPACE,
        Param::integer("limit", "Records per page: 1 to 1000 (default 100)"),
    ],
    body: Some(Body::Json("Scan")),
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "POST",
        "/api/datasets/{name}/records/:search",
        "Scan records in id order (what rg.load pages through)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.scan(caller, call))),
        Answer::AnyObject,
    )
};

pub(super) const DELETE_RECORDS: Endpoint = Endpoint {
    path_params: &[NAME],
    query_params: &[
        WORKSPACE,
        Param::string(
            "mark_as_discarded",
            "true: discard (members); false: delete (admin or creator)",
        ),
    ],
    errors: &[400, 403, 404],
    ..Endpoint::new(
        "DELETE",
        "/api/datasets/{name}/data",
        "Delete or discard the records a query selects (all without one)",
        Handler::Authenticated(|e, caller, call| Box::pin(e.delete_records(caller, call))),
        Answer::AnyObject,
    )
};
