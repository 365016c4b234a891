//! API.md section 10: datasets, the Argilla 1.8 v0 dataset API that `rg.log`, `rg.load`,
//! `rg.copy`, `rg.delete`, `rg.delete_records` and the settings helpers speak. Wire formats,
//! validation, check order and error params are research/argilla-datasets.md's (cited as §n);
//! where API.md differs, API.md wins.
//!
//! A host that does not offer datasets yet answers every dataset endpoint 501 `NotImplemented`;
//! against such a host every test here prints `skipped: …` and passes, so the suite stays
//! runnable while the stores are built.

use std::sync::{Barrier, OnceLock};

use workgate_conformance::datasets::*;
use workgate_conformance::errors;
use workgate_conformance::formats::is_timestamp;
use workgate_conformance::*;

fn t() -> &'static Target {
    Target::shared()
}

/// Whether this host offers datasets: one probe, `GET /api/datasets` as the default admin.
/// Only a 501 `NotImplemented` answer means "not yet"; anything else is tested.
fn datasets_here() -> bool {
    static HERE: OnceLock<bool> = OnceLock::new();
    *HERE.get_or_init(|| {
        let answer = t().get("/api/datasets").key(DEFAULT_ADMIN_KEY).send();
        !(answer.status == 501
            && answer.json["detail"]["code"] == "argilla.api.errors::GenericServerError"
            && answer.json["detail"]["params"]["type"] == "NotImplemented")
    })
}

const TC: &str = TEXT_CLASSIFICATION;
const TOKEN: &str = TOKEN_CLASSIFICATION;
const T2T: &str = TEXT2TEXT;

/// The Dataset fields in the order Argilla 1.8 sends them (§4.1).
const DATASET_FIELDS: [&str; 10] = [
    "tags",
    "metadata",
    "name",
    "task",
    "workspace",
    "id",
    "owner",
    "created_at",
    "created_by",
    "last_updated",
];

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// `n` TextClassification records with ids `first..first+n`.
fn text_records(first: u64, n: u64) -> Value {
    Value::Array(
        (first..first + n)
            .map(|i| text_record(json!(i), &format!("text {i}")))
            .collect(),
    )
}

/// A scene with one TextClassification dataset holding `n` records (ids 1..=n), logged by the
/// scene's admin.
fn scene_with_records(n: u64) -> (Scene, String) {
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(&name, TC, text_records(1, n));
    (scene, name)
}

fn path(name: &str) -> String {
    format!("/api/datasets/{name}")
}

fn bulk_path(name: &str, task: &str) -> String {
    format!("/api/datasets/{name}/{task}:bulk")
}

fn scan_path(name: &str) -> String {
    format!("/api/datasets/{name}/records/:search")
}

fn settings_path(name: &str, task: &str) -> String {
    format!("/api/datasets/{name}/{task}/settings")
}

// ---- /api/_info ---------------------------------------------------------------------------------

#[test]
fn info_reports_the_argilla_api_level_1_8_0() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.3.5 / §8.1: client 1.8 gates rg.load (≥ 1.2.0) and the settings helpers (≥ 1.4.0).
    let answer = t().get("/api/_info").send();
    assert_eq!(answer.expect(200)["version"], "1.8.0", "{}", answer.text());
}

// ---- create, get, list ------------------------------------------------------------------------

#[test]
fn creating_a_dataset_answers_it_in_argillas_field_order() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let answer = scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({"name": name, "task": TC, "tags": {"a": "1"}, "metadata": {"m": 1}}))
        .send();
    let body = answer.expect(200).clone();
    assert_eq!(answer.key_order(), DATASET_FIELDS, "{}", answer.text());
    let created_at = body["created_at"].as_str().unwrap_or_default();
    assert!(is_timestamp(created_at), "{body}");
    let ws = scene.ws();
    assert_eq!(
        body,
        json!({
            "tags": {"a": "1"},
            "metadata": {"m": 1},
            "name": name,
            "task": TC,
            "workspace": ws,
            "id": format!("{ws}.{name}"),
            "owner": ws,
            "created_at": created_at,
            "created_by": scene.admin.username,
            "last_updated": created_at,
        })
    );
}

#[test]
fn a_dataset_reads_back_as_it_was_created() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let created = scene.create(&scene.admin.api_key, &name, TOKEN);
    let read = scene.get(&name);
    assert_eq!(read.expect(200), created.expect(200));
    assert_eq!(read.key_order(), DATASET_FIELDS);
}

#[test]
fn dataset_tags_are_coerced_to_strings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.1: tags are Dict[str, str]; numbers become strings, an object is a 422.
    let scene = Scene::new();
    let name = unique("ds");
    let answer = scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({"name": name, "task": TC, "tags": {"a": 1, "b": 2.5}}))
        .send();
    assert_eq!(answer.expect(200)["tags"], json!({"a": "1", "b": "2.5"}));
    scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({"name": unique("ds"), "task": TC, "tags": {"a": {"b": "c"}}}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![errors::not_a_string(json!(["body", "tags", "a"]))]),
        );
}

#[test]
fn create_requires_a_name_and_a_task() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![
                errors::missing(json!(["body", "name"])),
                errors::missing(json!(["body", "task"])),
            ]),
        );
}

#[test]
fn a_dataset_name_must_match_the_name_pattern() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    for bad in ["Upper", "-dash", "_under", "with space", "dot.ted"] {
        scene
            .call("POST", "/api/datasets", &scene.admin.api_key)
            .json(&json!({"name": bad, "task": TC}))
            .send()
            .expect_json(
                422,
                &errors::validation(vec![errors::bad_name(json!(["body", "name"]))]),
            );
    }
}

#[test]
fn a_dataset_task_is_one_of_argillas_tasks() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let answer = scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({"name": unique("ds"), "task": "Summarization"}))
        .send();
    let items = validation_items(&answer);
    assert_eq!(items.len(), 1, "{}", answer.text());
    assert_eq!(items[0]["loc"], json!(["body", "task"]));
    assert_eq!(items[0]["type"], "type_error.enum");
}

#[test]
fn create_takes_the_workspace_from_its_body() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.3.1: the body's workspace is enough; no header, no query.
    let scene = Scene::new();
    let name = unique("ds");
    let answer = t()
        .post("/api/datasets")
        .key(&scene.admin.api_key)
        .json(&json!({"name": name, "task": TC, "workspace": scene.ws()}))
        .send();
    assert_eq!(answer.expect(200)["workspace"], scene.ws());
    scene.get(&name).expect(200);
}

#[test]
fn create_without_any_workspace_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    t().post("/api/datasets")
        .key(&scene.admin.api_key)
        .json(&json!({"name": unique("ds"), "task": TC}))
        .send()
        .expect_json(400, &missing_workspace());
}

#[test]
fn create_in_a_missing_workspace_is_404_workspace_even_for_annotators() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.2 create: 404 workspace before the 403.
    let scene = Scene::new();
    let ghost = unique("ghost");
    for key in [&scene.admin.api_key, &scene.member.api_key] {
        t().post("/api/datasets")
            .key(key)
            .header(WORKSPACE_HEADER, &ghost)
            .json(&json!({"name": unique("ds"), "task": TC}))
            .send()
            .expect_json(404, &errors::not_found("Workspace", &ghost));
    }
}

#[test]
fn only_admins_create_datasets() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    for key in [&scene.member.api_key, &scene.non_member.api_key] {
        let name = unique("ds");
        scene
            .create(key, &name, TC)
            .expect_json(403, &forbidden(CANNOT_CREATE));
        scene.get(&name).expect_json(404, &dataset_not_found(&name));
    }
}

#[test]
fn a_taken_name_is_409_even_for_another_task() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    for task in [TC, TOKEN, T2T] {
        scene
            .create(&scene.admin.api_key, &name, task)
            .expect_json(409, &dataset_exists(&name, scene.ws()));
    }
}

#[test]
fn dataset_names_are_unique_per_workspace() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let other = t().create_workspace();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let answer = t()
        .post("/api/datasets")
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &other.name)
        .json(&json!({"name": name, "task": T2T}))
        .send();
    assert_eq!(answer.expect(200)["id"], format!("{}.{name}", other.name));
    assert_eq!(scene.get(&name).expect(200)["task"], TC);
}

#[test]
fn a_missing_dataset_is_404_service_dataset_even_for_non_members() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.2: dataset operations look the dataset up before authorising.
    let scene = Scene::new();
    let name = unique("ds");
    for key in [
        &scene.admin.api_key,
        &scene.member.api_key,
        &scene.non_member.api_key,
    ] {
        scene
            .call("GET", &path(&name), key)
            .send()
            .expect_json(404, &dataset_not_found(&name));
    }
}

#[test]
fn only_the_settings_paths_check_the_name_pattern() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §3: `GET /api/datasets/e1:copy` is a get of the dataset "e1:copy" (404); §4.5: the
    // settings paths are the ones that check the pattern (422 at ["path", "name"]).
    let scene = Scene::new();
    for name in ["Bad-Name", "e1:copy"] {
        scene
            .call("GET", &path(name), &scene.admin.api_key)
            .off_contract()
            .send()
            .expect_json(404, &dataset_not_found(name));
    }
    let answer = scene
        .call("DELETE", &path("Bad-Name"), &scene.admin.api_key)
        .send();
    answer.expect(200);
    assert_eq!(answer.text().trim(), "null");
}

#[test]
fn a_wrong_method_on_a_dataset_path_is_405() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    scene
        .call("PUT", &path(&name), &scene.admin.api_key)
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
    scene
        .call("GET", &bulk_path(&name, TC), &scene.admin.api_key)
        .off_contract()
        .send()
        .expect_json(405, &errors::method_not_allowed());
}

#[test]
fn members_read_a_dataset_and_non_members_are_403() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let read = scene
        .call("GET", &path(&name), &scene.member.api_key)
        .send();
    assert_eq!(read.expect(200), scene.get(&name).expect(200));
    scene
        .call("GET", &path(&name), &scene.non_member.api_key)
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
}

#[test]
fn dataset_calls_without_credentials_are_401() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5 step 1: authentication runs first, before the body is looked at.
    let (scene, name) = scene_with_records(1);
    let calls = [
        t().get("/api/datasets"),
        t().post("/api/datasets").json(&json!({})),
        t().get(&path(&name)),
        t().post(&bulk_path(&name, TC)).raw_body("nope"),
        t().post(&scan_path(&name)).json(&json!({})),
        t().delete(&path(&name)),
    ];
    for call in calls {
        call.header(WORKSPACE_HEADER, scene.ws())
            .send()
            .expect_json(401, &errors::unauthorized());
    }
}

#[test]
fn the_list_shows_the_datasets_of_the_workspaces_the_caller_can_access() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let id = format!("{}.{name}", scene.ws());
    for (key, listed) in [
        (&scene.admin.api_key, true),
        (&scene.member.api_key, true),
        (&scene.non_member.api_key, false),
    ] {
        let answer = t().get("/api/datasets").key(key).send();
        let list = answer.expect(200);
        assert_eq!(
            position_of(list, "id", &id).is_some(),
            listed,
            "{}: {}",
            answer.request,
            answer.text()
        );
    }
    let answer = t().get("/api/datasets").key(&scene.member.api_key).send();
    let list = answer.expect(200);
    let entry = &list[position_of(list, "id", &id).unwrap()];
    assert_eq!(keys(entry), DATASET_FIELDS);
    assert_eq!(entry, scene.get(&name).expect(200));
}

#[test]
fn an_annotator_with_no_datasets_lists_nothing() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let annotator = t().create_user("annotator");
    t().get("/api/datasets")
        .key(&annotator.api_key)
        .send()
        .expect_json(200, &json!([]));
}

#[test]
fn the_list_filters_by_the_workspace_in_the_query() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let other = t().create_workspace();
    let here = unique("ds");
    let there = unique("ds");
    scene.create(&scene.admin.api_key, &here, TC).expect(200);
    t().post("/api/datasets")
        .key(&scene.admin.api_key)
        .json(&json!({"name": there, "task": TC, "workspace": other.name}))
        .send()
        .expect(200);
    let answer = t()
        .get(&format!("/api/datasets?workspace={}", scene.ws()))
        .key(&scene.admin.api_key)
        .send();
    let names: Vec<&str> = answer
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, [here.as_str()], "{}", answer.text());
}

#[test]
fn the_list_filters_by_the_workspace_header_too() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.1: the list's optional workspace is the same query-or-header parameter.
    let scene = Scene::new();
    let other = t().create_workspace();
    let here = unique("ds");
    scene.create(&scene.admin.api_key, &here, TC).expect(200);
    t().post("/api/datasets")
        .key(&scene.admin.api_key)
        .json(&json!({"name": unique("ds"), "task": TC, "workspace": other.name}))
        .send()
        .expect(200);
    let answer = scene
        .call("GET", "/api/datasets", &scene.admin.api_key)
        .send();
    let names: Vec<&str> = answer
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, [here.as_str()], "{}", answer.text());
}

#[test]
fn listing_a_workspace_the_caller_cannot_access_is_404_workspace() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    t().get(&format!("/api/datasets?workspace={}", scene.ws()))
        .key(&scene.non_member.api_key)
        .send()
        .expect_json(404, &errors::not_found("Workspace", scene.ws()));
    let ghost = unique("ghost");
    t().get(&format!("/api/datasets?workspace={ghost}"))
        .key(&scene.admin.api_key)
        .send()
        .expect_json(404, &errors::not_found("Workspace", &ghost));
}

// ---- workspace resolution (§6.1) ----------------------------------------------------------------

#[test]
fn the_workspace_comes_from_the_query_before_the_header() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let answer = t()
        .get(&format!("/api/datasets/{name}?workspace={}", scene.ws()))
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &unique("ghost"))
        .send();
    assert_eq!(answer.expect(200)["workspace"], scene.ws());
    let scan = t()
        .post(&format!("{}?workspace={}", scan_path(&name), scene.ws()))
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &unique("ghost"))
        .json(&json!({}))
        .send();
    assert_eq!(ids_in(&scan), ["1"]);
}

#[test]
fn the_workspace_comes_from_the_header_without_a_query() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let elsewhere = t().create_workspace();
    scene.get(&name).expect(200);
    t().get(&path(&name))
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &elsewhere.name)
        .send()
        .expect_json(404, &dataset_not_found(&name));
}

#[test]
fn every_dataset_call_without_a_workspace_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let key = &scene.admin.api_key;
    let calls = [
        t().get(&path(&name)),
        t().patch(&path(&name)).json(&json!({"tags": {}})),
        t().delete(&path(&name)),
        t().put(&format!("/api/datasets/{name}:copy"))
            .json(&json!({"name": unique("copy")})),
        t().put(&format!("/api/datasets/{name}:close")),
        t().put(&format!("/api/datasets/{name}:open")),
        t().post(&bulk_path(&name, TC))
            .json(&json!({"records": text_records(2, 1)})),
        t().post(&scan_path(&name)).json(&json!({})),
        t().delete(&format!("/api/datasets/{name}/data"))
            .json(&json!({})),
        t().get(&settings_path(&name, TC)),
        t().patch(&settings_path(&name, TC))
            .json(&json!({"label_schema": {"labels": ["a"]}})),
        t().delete(&settings_path(&name, TC)),
    ];
    for call in calls {
        call.key(key).send().expect_json(400, &missing_workspace());
    }
    // An empty workspace counts as missing.
    t().get(&format!("/api/datasets/{name}?workspace="))
        .key(key)
        .header(WORKSPACE_HEADER, "")
        .send()
        .expect_json(400, &missing_workspace());
    assert_eq!(scene.records(&name).len(), 1, "nothing changed");
}

// ---- PATCH ----------------------------------------------------------------------------------

#[test]
fn patching_merges_tags_and_metadata_and_bumps_last_updated() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let created = scene
        .call("POST", "/api/datasets", &scene.admin.api_key)
        .json(&json!({"name": name, "task": TC, "tags": {"a": "1"}, "metadata": {"m": 1, "n": 2}}))
        .send()
        .expect(200)
        .clone();
    let answer = scene
        .call("PATCH", &path(&name), &scene.admin.api_key)
        .json(&json!({"tags": {"b": "2"}, "metadata": {"n": 3}}))
        .send();
    let patched = answer.expect(200).clone();
    assert_eq!(answer.key_order(), DATASET_FIELDS);
    assert_eq!(patched["tags"], json!({"a": "1", "b": "2"}));
    assert_eq!(patched["metadata"], json!({"m": 1, "n": 3}));
    assert_eq!(patched["created_at"], created["created_at"]);
    assert!(
        patched["last_updated"].as_str() >= created["last_updated"].as_str(),
        "{patched}"
    );
    assert_eq!(scene.get(&name).expect(200), &patched);
}

#[test]
fn members_may_patch_a_dataset_and_non_members_may_not() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let answer = scene
        .call("PATCH", &path(&name), &scene.member.api_key)
        .json(&json!({"tags": {"by": "member"}}))
        .send();
    assert_eq!(answer.expect(200)["tags"], json!({"by": "member"}));
    scene
        .call("PATCH", &path(&name), &scene.non_member.api_key)
        .json(&json!({"tags": {"by": "stranger"}}))
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    let missing = unique("ds");
    scene
        .call("PATCH", &path(&missing), &scene.admin.api_key)
        .json(&json!({"tags": {}}))
        .send()
        .expect_json(404, &dataset_not_found(&missing));
    assert_eq!(
        scene.get(&name).expect(200)["tags"],
        json!({"by": "member"})
    );
}

// ---- DELETE ---------------------------------------------------------------------------------

#[test]
fn deleting_a_dataset_answers_200_null_and_it_is_gone() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    let answer = scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send();
    answer.expect(200);
    assert_eq!(answer.text().trim(), "null");
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
    let listed = t().get("/api/datasets").key(&scene.admin.api_key).send();
    assert!(
        position_of(listed.expect(200), "name", &name).is_none(),
        "no longer listed"
    );
}

#[test]
fn deleting_a_dataset_deletes_its_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send()
        .expect(200);
    scene.log(&name, TC, text_records(10, 1));
    assert_eq!(ids_of(&scene.records(&name)), ["10"]);
}

#[test]
fn deleting_a_missing_dataset_is_200_null_for_anyone() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.2 delete: the 404 is swallowed, before any permission check.
    let scene = Scene::new();
    for key in [
        &scene.admin.api_key,
        &scene.member.api_key,
        &scene.non_member.api_key,
    ] {
        let answer = scene.call("DELETE", &path(&unique("ds")), key).send();
        answer.expect(200);
        assert_eq!(answer.text().trim(), "null");
    }
}

#[test]
fn only_admins_and_the_creator_delete_a_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let creator = scene.demoted_creator_of(&name, TC);
    scene
        .call("DELETE", &path(&name), &scene.non_member.api_key)
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    scene
        .call("DELETE", &path(&name), &scene.member.api_key)
        .send()
        .expect_json(403, &forbidden(CANNOT_DELETE));
    scene.get(&name).expect(200);
    scene
        .call("DELETE", &path(&name), &creator.api_key)
        .send()
        .expect(200);
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

// ---- copy -----------------------------------------------------------------------------------

#[test]
fn copying_clones_the_dataset_and_its_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let source = unique("ds");
    scene
        .bulk_body(
            &scene.admin.api_key,
            &source,
            TC,
            &json!({"tags": {"t": "1"}, "metadata": {"m": 1}, "records": text_records(1, 3)}),
        )
        .expect(200);
    let copy = unique("copy");
    // What rg.copy sends (§2.4).
    let answer = scene
        .call(
            "PUT",
            &format!("/api/datasets/{source}:copy"),
            &scene.admin.api_key,
        )
        .json(&json!({"tags": {}, "metadata": {"x": 1}, "name": copy, "target_workspace": null}))
        .send();
    let body = answer.expect(200).clone();
    assert_eq!(answer.key_order(), DATASET_FIELDS, "{}", answer.text());
    let ws = scene.ws();
    let created_at = body["created_at"].as_str().unwrap_or_default();
    assert!(is_timestamp(created_at), "{body}");
    assert_eq!(
        body,
        json!({
            "tags": {"t": "1"},
            "metadata": {"m": 1, "x": 1, "source_workspace": ws, "copied_from": source},
            "name": copy,
            "task": TC,
            "workspace": ws,
            "id": format!("{ws}.{copy}"),
            "owner": ws,
            "created_at": created_at,
            "created_by": scene.admin.username,
            "last_updated": created_at,
        })
    );
    assert_eq!(
        keys(&body["metadata"]),
        ["m", "x", "source_workspace", "copied_from"]
    );
    assert!(
        created_at
            > scene.get(&source).expect(200)["created_at"]
                .as_str()
                .unwrap(),
        "fresh timestamps"
    );
    let as_loaded = |name: &str| {
        scene
            .scan(name, None, &json!({"fields": CLIENT_FIELDS}))
            .expect(200)["records"]
            .clone()
    };
    assert_eq!(as_loaded(&copy), as_loaded(&source));
    assert_eq!(ids_of(&scene.records(&copy)), ["1", "2", "3"]);
}

#[test]
fn copying_into_another_workspace() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, source) = scene_with_records(2);
    let target = t().create_workspace();
    let copy = unique("copy");
    let copier = t().create_user("admin");
    let answer = scene
        .call(
            "PUT",
            &format!("/api/datasets/{source}:copy"),
            &copier.api_key,
        )
        .json(&json!({"name": copy, "target_workspace": target.name}))
        .send();
    let body = answer.expect(200);
    assert_eq!(body["created_by"], copier.username.as_str(), "the caller");
    assert_eq!(body["workspace"], target.name.as_str());
    assert_eq!(body["id"], format!("{}.{copy}", target.name));
    assert_eq!(body["metadata"]["source_workspace"], scene.ws());
    let in_target = t()
        .post(&scan_path(&copy))
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &target.name)
        .json(&json!({}))
        .send();
    assert_eq!(ids_in(&in_target), ["1", "2"]);
    scene.get(&copy).expect_json(404, &dataset_not_found(&copy));
}

#[test]
fn a_copy_is_independent_of_its_source() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, source) = scene_with_records(3);
    let copy = unique("copy");
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{source}:copy"),
            &scene.admin.api_key,
        )
        .json(&json!({"name": copy}))
        .send()
        .expect(200);
    scene
        .call(
            "DELETE",
            &format!("/api/datasets/{copy}/data?mark_as_discarded=false"),
            &scene.admin.api_key,
        )
        .json(&json!({"ids": [1]}))
        .send()
        .expect(200);
    scene.log(&copy, TC, text_records(9, 1));
    assert_eq!(ids_of(&scene.records(&copy)), ["2", "3", "9"]);
    assert_eq!(ids_of(&scene.records(&source)), ["1", "2", "3"]);
}

#[test]
fn a_copy_name_must_match_the_name_pattern() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, source) = scene_with_records(1);
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{source}:copy"),
            &scene.admin.api_key,
        )
        .json(&json!({"name": "Not Valid"}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![errors::bad_name(json!(["body", "name"]))]),
        );
}

#[test]
fn copying_a_missing_dataset_is_404_service_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let missing = unique("ds");
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{missing}:copy"),
            &scene.non_member.api_key,
        )
        .json(&json!({"name": unique("copy")}))
        .send()
        .expect_json(404, &dataset_not_found(&missing));
}

#[test]
fn copy_checks_in_argillas_order() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §6.2 copy: 404 source → 403 get → 404 target workspace → 409 → 403 copy (admin only).
    let (scene, source) = scene_with_records(1);
    let copy_path = format!("/api/datasets/{source}:copy");
    let ghost = unique("ghost");
    scene
        .call("PUT", &copy_path, &scene.non_member.api_key)
        .json(&json!({"name": unique("copy"), "target_workspace": ghost}))
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    scene
        .call("PUT", &copy_path, &scene.member.api_key)
        .json(&json!({"name": unique("copy"), "target_workspace": ghost}))
        .send()
        .expect_json(404, &errors::not_found("Workspace", &ghost));
    let taken = unique("taken");
    scene.create(&scene.admin.api_key, &taken, T2T).expect(200);
    scene
        .call("PUT", &copy_path, &scene.member.api_key)
        .json(&json!({"name": taken}))
        .send()
        .expect_json(409, &copy_exists(&taken, scene.ws()));
    let fresh = unique("copy");
    scene
        .call("PUT", &copy_path, &scene.member.api_key)
        .json(&json!({"name": fresh}))
        .send()
        .expect_json(403, &forbidden(CANNOT_COPY));
    scene
        .get(&fresh)
        .expect_json(404, &dataset_not_found(&fresh));
}

#[test]
fn copying_onto_a_taken_name_in_the_target_workspace_is_409_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, source) = scene_with_records(1);
    let target = t().create_workspace();
    let taken = unique("taken");
    t().post("/api/datasets")
        .key(&scene.admin.api_key)
        .json(&json!({"name": taken, "task": TC, "workspace": target.name}))
        .send()
        .expect(200);
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{source}:copy"),
            &scene.admin.api_key,
        )
        .json(&json!({"name": taken, "target_workspace": target.name}))
        .send()
        .expect_json(409, &copy_exists(&taken, &target.name));
}

// ---- close and open ---------------------------------------------------------------------------

#[test]
fn a_closed_dataset_refuses_bulk_and_scan_until_opened() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(2);
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{name}:close"),
            &scene.admin.api_key,
        )
        .send()
        .expect(200);
    for key in [&scene.admin.api_key, &scene.member.api_key] {
        scene
            .bulk(key, &name, TC, text_records(3, 1))
            .expect_json(400, &closed(&name));
        scene
            .scan_as(key, &name, None, &json!({}))
            .expect_json(400, &closed(&name));
    }
    scene.get(&name).expect(200);
    let listed = t().get("/api/datasets").key(&scene.member.api_key).send();
    assert!(
        position_of(listed.expect(200), "name", &name).is_some(),
        "a closed dataset stays listed: {}",
        listed.text()
    );
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{name}:open"),
            &scene.admin.api_key,
        )
        .send()
        .expect(200);
    assert_eq!(ids_of(&scene.records(&name)), ["1", "2"], "records kept");
    scene.log(&name, TC, text_records(3, 1));
    assert_eq!(ids_of(&scene.records(&name)), ["1", "2", "3"]);
}

#[test]
fn a_closed_dataset_keeps_its_settings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let saved = scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos", "neg"]}}))
        .send()
        .expect(200)
        .clone();
    for action in ["close", "open"] {
        scene
            .call(
                "PUT",
                &format!("/api/datasets/{name}:{action}"),
                &scene.admin.api_key,
            )
            .send()
            .expect(200);
    }
    let read = scene
        .call("GET", &settings_path(&name, TC), &scene.admin.api_key)
        .send();
    assert_eq!(read.expect(200), &saved);
}

#[test]
fn only_admins_and_the_creator_close_and_open() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let creator = scene.demoted_creator_of(&name, TC);
    for action in ["close", "open"] {
        let action_path = format!("/api/datasets/{name}:{action}");
        scene
            .call("PUT", &action_path, &scene.non_member.api_key)
            .send()
            .expect_json(403, &forbidden(CANNOT_GET));
        let answer = scene
            .call("PUT", &action_path, &scene.member.api_key)
            .send();
        answer.expect(403);
        assert_eq!(
            answer.json["detail"]["code"],
            "argilla.api.errors::ForbiddenOperationError"
        );
        scene
            .call("PUT", &action_path, &creator.api_key)
            .send()
            .expect(200);
    }
    let missing = unique("ds");
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{missing}:close"),
            &scene.admin.api_key,
        )
        .send()
        .expect_json(404, &dataset_not_found(&missing));
}

// ---- bulk: who, where, what comes back ------------------------------------------------------------

#[test]
fn bulk_auto_creates_a_text_classification_dataset_for_an_admin() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let answer = scene.bulk_body(
        &scene.admin.api_key,
        &name,
        TC,
        &json!({"tags": {"k": "v"}, "metadata": {"m": 1}, "records": text_records(1, 2)}),
    );
    answer.expect_json(200, &json!({"dataset": name, "processed": 2, "failed": 0}));
    assert_eq!(answer.key_order(), ["dataset", "processed", "failed"]);
    let dataset = scene.get(&name).expect(200).clone();
    assert_eq!(dataset["task"], TC);
    assert_eq!(dataset["tags"], json!({"k": "v"}));
    assert_eq!(dataset["metadata"], json!({"m": 1}));
    assert_eq!(dataset["created_by"], scene.admin.username.as_str());
    assert_eq!(ids_of(&scene.records(&name)), ["1", "2"]);
}

#[test]
fn bulk_logs_token_classification_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        token_record(json!(7), "Michael is a professor"),
        json!({
            "prediction": entities("m", &[(0, 7, "PER")]),
            "annotation": entities("a", &[(13, 22, "ROLE")]),
        }),
    );
    scene.log(&name, TOKEN, json!([record]));
    assert_eq!(scene.get(&name).expect(200)["task"], TOKEN);
    let stored = scene.record(&name, "7");
    assert_eq!(stored["id"], "7");
    assert_eq!(stored["tokens"], json!(["Michael", "is", "a", "professor"]));
    assert_eq!(stored["text"], "Michael is a professor");
    assert_eq!(stored["prediction"]["agent"], "m");
    assert_eq!(
        stored["prediction"]["entities"],
        json!([{"start": 0, "end": 7, "label": "PER", "score": 1.0}])
    );
    assert_eq!(
        stored["annotation"]["entities"],
        json!([{"start": 13, "end": 22, "label": "ROLE", "score": 1.0}])
    );
}

#[test]
fn bulk_logs_text2text_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text2text_record(json!("t1"), "hola"),
        json!({
            "prediction": sentences("m", &[("hello", 0.9), ("hi", 0.3)]),
            "annotation": sentences("a", &[("hello", 1.0)]),
        }),
    );
    scene.log(&name, T2T, json!([record]));
    assert_eq!(scene.get(&name).expect(200)["task"], T2T);
    let stored = scene.record(&name, "t1");
    assert_eq!(stored["text"], "hola");
    assert_eq!(
        stored["prediction"],
        json!({"agent": "m", "sentences": [{"text": "hello", "score": 0.9}, {"text": "hi", "score": 0.3}]})
    );
    assert_eq!(
        stored["annotation"],
        json!({"agent": "a", "sentences": [{"text": "hello", "score": 1.0}]})
    );
}

#[test]
fn a_member_logs_into_an_existing_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    scene
        .bulk(&scene.member.api_key, &name, TC, text_records(2, 2))
        .expect_json(200, &json!({"dataset": name, "processed": 2, "failed": 0}));
    assert_eq!(ids_of(&scene.records(&name)), ["1", "2", "3"]);
}

#[test]
fn a_member_cannot_log_into_a_missing_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5 step 5: not found → create, which is admin-only.
    let scene = Scene::new();
    let name = unique("ds");
    scene
        .bulk(&scene.member.api_key, &name, TC, text_records(1, 1))
        .expect_json(403, &forbidden(CANNOT_CREATE));
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn a_non_member_cannot_log() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    scene
        .bulk(&scene.non_member.api_key, &name, TC, text_records(2, 1))
        .expect_json(403, &forbidden(CANNOT_GET));
    let missing = unique("ds");
    scene
        .bulk(&scene.non_member.api_key, &missing, TC, text_records(2, 1))
        .expect_json(403, &forbidden(CANNOT_CREATE));
    assert_eq!(ids_of(&scene.records(&name)), ["1"]);
    scene
        .get(&missing)
        .expect_json(404, &dataset_not_found(&missing));
}

#[test]
fn logging_into_a_missing_workspace_is_404_workspace() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let ghost = unique("ghost");
    t().post(&bulk_path(&unique("ds"), TC))
        .key(&scene.admin.api_key)
        .header(WORKSPACE_HEADER, &ghost)
        .json(&json!({"records": text_records(1, 1)}))
        .send()
        .expect_json(404, &errors::not_found("Workspace", &ghost));
}

#[test]
fn a_wrong_task_is_400_before_403() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    for key in [
        &scene.admin.api_key,
        &scene.member.api_key,
        &scene.non_member.api_key,
    ] {
        scene
            .bulk(key, &name, TOKEN, json!([token_record(json!(1), "a b")]))
            .expect_json(400, &wrong_task(TOKEN));
        scene
            .bulk(key, &name, T2T, json!([text2text_record(json!(1), "a b")]))
            .expect_json(400, &wrong_task(T2T));
    }
    assert_eq!(scene.records(&name)[0]["inputs"], json!({"text": "text 1"}));
}

#[test]
fn bulk_validates_the_body_before_the_workspace_and_permissions() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5 steps 2–3: a bad body is 422 with no workspace, and for a non-member.
    let (scene, name) = scene_with_records(1);
    let want = errors::validation(vec![errors::missing(json!(["body", "records"]))]);
    t().post(&bulk_path(&name, TC))
        .key(&scene.admin.api_key)
        .json(&json!({}))
        .send()
        .expect_json(422, &want);
    scene
        .bulk_body(&scene.non_member.api_key, &name, TC, &json!({"tags": {}}))
        .expect_json(422, &want);
}

#[test]
fn bulk_merges_its_tags_and_metadata_into_an_existing_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let first = json!({"tags": {"a": "1"}, "metadata": {"m": 1}, "records": text_records(1, 1)});
    scene
        .bulk_body(&scene.admin.api_key, &name, TC, &first)
        .expect(200);
    let before = scene.get(&name).expect(200).clone();
    let second =
        json!({"tags": {"b": "2"}, "metadata": {"m": 2, "n": 3}, "records": text_records(2, 1)});
    scene
        .bulk_body(&scene.member.api_key, &name, TC, &second)
        .expect(200);
    let after = scene.get(&name).expect(200).clone();
    assert_eq!(after["tags"], json!({"a": "1", "b": "2"}));
    assert_eq!(after["metadata"], json!({"m": 2, "n": 3}));
    assert_eq!(after["created_at"], before["created_at"]);
    assert_eq!(after["created_by"], scene.admin.username.as_str());
    assert!(after["last_updated"].as_str() >= before["last_updated"].as_str());
}

#[test]
fn an_empty_batch_creates_the_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene
        .bulk(&scene.admin.api_key, &name, T2T, json!([]))
        .expect_json(200, &json!({"dataset": name, "processed": 0, "failed": 0}));
    assert_eq!(scene.get(&name).expect(200)["task"], T2T);
}

#[test]
fn an_empty_batch_into_a_dataset_with_records_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10: Argilla answers 500 (IndexError, §4.2).
    let (scene, name) = scene_with_records(1);
    let answer = scene.bulk(&scene.admin.api_key, &name, TC, json!([]));
    let items = validation_items(&answer);
    assert!(
        items
            .iter()
            .all(|i| i["loc"][0] == "body" && i["loc"][1] == "records"),
        "{}",
        answer.text()
    );
}

#[test]
fn bulk_into_a_dataset_with_a_bad_name_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5 step 5: the auto-create validates the name.
    let scene = Scene::new();
    scene
        .bulk(&scene.admin.api_key, "Bad-Name", TC, text_records(1, 1))
        .expect_json(
            422,
            &json!({"detail": {"code": "argilla.api.errors::ValidationError", "params": {
                "model": "CreateDatasetRequest",
                "errors": [errors::bad_name(json!(["name"]))],
            }}}),
        );
}

// ---- bulk: upsert and the stored record (§4.2, §4.3.3) ---------------------------------------------

#[test]
fn re_logging_an_id_deep_merges_into_the_stored_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let first = with(
        text_record(json!(1), "hello"),
        json!({
            "metadata": {"a": 1},
            "status": "Validated",
            "prediction": labels("m", &[("pos", 0.8), ("neg", 0.2)]),
            "annotation": labels("ann", &[("pos", 1.0)]),
        }),
    );
    scene.log(&name, TC, json!([first]));
    // What the client sends for the same id without annotation or prediction: nulls.
    let second = with(
        text_record(json!(1), "hello again"),
        json!({"metadata": {"b": 2}, "status": "Default"}),
    );
    scene.log(&name, TC, json!([second]));
    let stored = scene.record(&name, "1");
    assert_eq!(stored["inputs"], json!({"text": "hello again"}));
    assert_eq!(
        stored["metadata"],
        json!({"a": 1, "b": 2}),
        "metadata merged"
    );
    assert_eq!(stored["status"], "Default", "status overwritten");
    assert_eq!(
        stored["annotation"]["agent"], "ann",
        "annotation kept: {stored}"
    );
    assert_eq!(
        stored["annotation"]["labels"],
        json!([{"class_label": "pos", "score": 1.0}])
    );
    assert_eq!(
        stored["prediction"]["agent"], "m",
        "prediction kept: {stored}"
    );
    assert_eq!(scene.records(&name).len(), 1);
}

#[test]
fn re_logging_an_annotation_replaces_its_labels() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let annotated = |label: &str| {
        with(
            text_record(json!("r"), "x"),
            json!({"annotation": labels("ann", &[(label, 1.0)])}),
        )
    };
    scene.log(&name, TC, json!([annotated("pos")]));
    scene.log(&name, TC, json!([annotated("neg")]));
    assert_eq!(
        scene.record(&name, "r")["annotation"],
        json!({"agent": "ann", "labels": [{"class_label": "neg", "score": 1.0}]})
    );
}

#[test]
fn re_logging_keeps_the_annotations_of_every_agent() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.2: the server stores both forms; `annotations` is keyed by agent and deep-merged.
    let scene = Scene::new();
    let name = unique("ds");
    for agent in ["first", "second"] {
        let record = with(
            text_record(json!("r"), "x"),
            json!({"annotation": labels(agent, &[("pos", 1.0)])}),
        );
        scene.log(&name, TC, json!([record]));
    }
    let stored = scene.record(&name, "r");
    assert_eq!(stored["annotation"]["agent"], "second");
    assert_eq!(
        stored["annotations"],
        json!({
            "first": {"labels": [{"class_label": "pos", "score": 1.0}]},
            "second": {"labels": [{"class_label": "pos", "score": 1.0}]},
        })
    );
}

#[test]
fn scanned_records_carry_both_annotation_forms() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "hello world"),
        json!({
            "prediction": labels("m", &[("pos", 0.8), ("neg", 0.2)]),
            "annotation": labels("ann", &[("pos", 1.0)]),
        }),
    );
    scene.log(&name, TC, json!([record]));
    let stored = scene.record(&name, "1");
    assert_eq!(
        stored["predictions"],
        json!({"m": {"labels": [{"class_label": "pos", "score": 0.8}, {"class_label": "neg", "score": 0.2}]}})
    );
    assert_eq!(
        stored["annotations"],
        json!({"ann": {"labels": [{"class_label": "pos", "score": 1.0}]}})
    );
}

#[test]
fn the_dict_forms_predictions_and_annotations_are_accepted_as_input() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.2: the first entry of `annotations` / `predictions` becomes `annotation` / `prediction`.
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({
            "predictions": {"m": {"labels": [{"class": "pos", "score": 0.6}]}},
            "annotations": {"ann": {"labels": [{"class": "neg"}]}},
        }),
    );
    scene.log(&name, TC, json!([record]));
    let stored = scene.record(&name, "1");
    assert_eq!(
        stored["prediction"],
        json!({"agent": "m", "labels": [{"class_label": "pos", "score": 0.6}]})
    );
    assert_eq!(
        stored["annotation"],
        json!({"agent": "ann", "labels": [{"class_label": "neg", "score": 1.0}]})
    );
}

#[test]
fn text_classification_labels_are_sorted_by_score_and_classes_are_strings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.2: labels sorted by score, descending; an int class is stored as a string; the
    // scanned key is `class_label` (§4.3.3), and `class_label` is accepted as input.
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({
            "multi_label": true,
            "prediction": {"agent": "m", "labels": [
                {"class": 3, "score": 0.1},
                {"class_label": "b", "score": 0.7},
                {"class": "c", "score": 0.4},
            ]},
        }),
    );
    scene.log(&name, TC, json!([record]));
    assert_eq!(
        scene.record(&name, "1")["prediction"]["labels"],
        json!([
            {"class_label": "b", "score": 0.7},
            {"class_label": "c", "score": 0.4},
            {"class_label": "3", "score": 0.1},
        ])
    );
}

#[test]
fn text2text_sentences_are_sorted_by_score() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text2text_record(json!(1), "hola"),
        json!({"prediction": sentences("m", &[("hi", 0.3), ("hello", 0.9)])}),
    );
    scene.log(&name, T2T, json!([record]));
    assert_eq!(
        scene.record(&name, "1")["prediction"]["sentences"],
        json!([{"text": "hello", "score": 0.9}, {"text": "hi", "score": 0.3}])
    );
}

#[test]
fn text_classification_inputs_are_joined_into_text_and_numbers_become_strings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.2 inputs, §4.3.3: `text` = the inputs joined with "\n", list items flattened.
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({"inputs": {"a": "t", "b": ["x", "y"], "c": 5}}),
    );
    scene.log(&name, TC, json!([record]));
    let stored = scene.record(&name, "1");
    assert_eq!(
        stored["inputs"],
        json!({"a": "t", "b": ["x", "y"], "c": "5"})
    );
    assert_eq!(stored["text"], "t\nx\ny\n5");
}

#[test]
fn text_classification_and_text2text_records_carry_their_text_length() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.3.5: the metrics the server stores; the ones the client sends are ignored.
    let scene = Scene::new();
    let texts = unique("ds");
    scene.log(
        &texts,
        TC,
        json!([with(
            text_record(json!(1), "hello world"),
            json!({"metrics": {"mine": 1}})
        )]),
    );
    assert_eq!(
        scene.record(&texts, "1")["metrics"],
        json!({"text_length": 11})
    );
    let translations = unique("ds");
    scene.log(
        &translations,
        T2T,
        json!([text2text_record(json!(1), "hola")]),
    );
    assert_eq!(
        scene.record(&translations, "1")["metrics"],
        json!({"text_length": 4})
    );
}

#[test]
fn token_classification_records_carry_argillas_token_metrics() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // The §4.3.3 example.
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        token_record(json!(7), "Michael is a professor"),
        json!({
            "prediction": {"agent": "m", "entities": [{"start": 0, "end": 7, "label": "PER", "score": 0.5}]},
            "annotation": {"agent": "a", "entities": [{"start": 13, "end": 22, "label": "ROLE"}]},
        }),
    );
    scene.log(&name, TOKEN, json!([record]));
    assert_eq!(
        scene.record(&name, "7")["metrics"],
        json!({
            "text_length": 22,
            "tokens": [
                {"value": "Michael", "capitalness": "FIRST"},
                {"value": "is", "capitalness": "LOWER"},
                {"value": "a", "capitalness": "LOWER"},
                {"value": "professor", "capitalness": "LOWER"},
            ],
            "predicted": {"mentions": [
                {"value": "Michael", "label": "PER", "score": 0.5, "capitalness": "FIRST"},
            ]},
            "annotated": {"mentions": [
                {"value": "professor", "label": "ROLE", "score": 1.0, "capitalness": "LOWER"},
            ]},
        })
    );
}

#[test]
fn the_server_never_derives_validated_from_an_annotation() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = json!({
        "id": 1,
        "inputs": {"text": "x"},
        "annotation": labels("ann", &[("pos", 1.0)]),
    });
    scene.log(&name, TC, json!([record]));
    assert_eq!(scene.record(&name, "1")["status"], "Default");
}

#[test]
fn event_timestamps_keep_the_zone_they_were_given() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10, §4.2: an epoch number is UTC with its zone; ISO strings as given.
    let scene = Scene::new();
    let name = unique("ds");
    let records = json!([
        with(
            text_record(json!(1), "x"),
            json!({"event_timestamp": 1685613600})
        ),
        with(
            text_record(json!(2), "x"),
            json!({"event_timestamp": "2023-06-01T10:00:00.123456"})
        ),
        with(
            text_record(json!(3), "x"),
            json!({"event_timestamp": "2023-06-01T10:00:00.123456+02:00"})
        ),
    ]);
    scene.log(&name, TC, records);
    let stamps: Vec<Value> = scene
        .records(&name)
        .iter()
        .map(|r| r["event_timestamp"].clone())
        .collect();
    assert_eq!(
        stamps,
        [
            json!("2023-06-01T10:00:00+00:00"),
            json!("2023-06-01T10:00:00.123456"),
            json!("2023-06-01T10:00:00.123456+02:00"),
        ]
    );
}

#[test]
fn token_spans_with_surrounding_white_space_are_corrected() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5.3: (2,5) on "ab cd" is stored as (3,5); overlapping entities are accepted.
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        token_record(json!(1), "ab cd"),
        json!({"annotation": entities("a", &[(2, 5, "X"), (0, 5, "Y")])}),
    );
    scene.log(&name, TOKEN, json!([record]));
    assert_eq!(
        scene.record(&name, "1")["annotation"]["entities"],
        json!([
            {"start": 3, "end": 5, "label": "X", "score": 1.0},
            {"start": 0, "end": 5, "label": "Y", "score": 1.0},
        ])
    );
}

#[test]
fn token_classification_accepts_raw_text_for_text() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(
        &name,
        TOKEN,
        json!([{"id": 1, "tokens": ["a", "b"], "raw_text": "a b"}]),
    );
    assert_eq!(scene.record(&name, "1")["text"], "a b");
}

// ---- metadata (§4.2) -----------------------------------------------------------------------------

#[test]
fn record_metadata_is_flattened_with_dots() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({"metadata": {"a": {"b": 1, "c": {"d": "e"}}, "f": [1, 2]}}),
    );
    scene.log(&name, TC, json!([record]));
    assert_eq!(
        scene.record(&name, "1")["metadata"],
        json!({"a.b": 1, "a.c.d": "e", "f": [1, 2]})
    );
}

#[test]
fn null_and_empty_list_metadata_values_are_dropped() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({"metadata": {"keep": 0, "n": null, "l": [], "a": {"n": null}}}),
    );
    scene.log(&name, TC, json!([record]));
    assert_eq!(scene.record(&name, "1")["metadata"], json!({"keep": 0}));
}

#[test]
fn metadata_strings_keep_their_last_128_characters() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let long = format!("{}{}", "a".repeat(72), "b".repeat(128));
    let tail = "b".repeat(128);
    let exact = "c".repeat(128);
    let record = with(
        text_record(json!(1), "x"),
        json!({"metadata": {"long": long, "exact": exact, "list": [long, "short"], "deep": {"s": long}}}),
    );
    scene.log(&name, TC, json!([record]));
    assert_eq!(
        scene.record(&name, "1")["metadata"],
        json!({"long": tail, "exact": exact, "list": [tail, "short"], "deep.s": tail})
    );
}

#[test]
fn metadata_that_is_not_an_object_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10: Argilla answers 500 AttributeError (§5.1).
    let scene = Scene::new();
    let name = unique("ds");
    let records = json!([
        text_record(json!(1), "x"),
        with(text_record(json!(2), "x"), json!({"metadata": [1, 2]})),
    ]);
    let answer = scene.bulk(&scene.admin.api_key, &name, TC, records);
    expect_record_error(
        &answer,
        json!(["body", "records", 1, "metadata"]),
        "value is not a valid dict",
        Some("type_error.dict"),
    );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn fifty_distinct_metadata_keys_are_allowed() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let records: Vec<Value> = (0..50)
        .map(|i| {
            with(
                text_record(json!(i), "x"),
                json!({"metadata": {format!("k{i}"): i}}),
            )
        })
        .collect();
    scene.log(&name, TC, json!(records));
}

#[test]
fn a_batch_with_51_distinct_metadata_keys_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Keys are counted after flattening: "k<i>.nested" for 50 records, plus "same".
    let scene = Scene::new();
    let name = unique("ds");
    let records: Vec<Value> = (0..50)
        .map(|i| {
            with(
                text_record(json!(i), "x"),
                json!({"metadata": {"same": 1, format!("k{i}"): {"nested": i}}}),
            )
        })
        .collect();
    scene
        .bulk(&scene.admin.api_key, &name, TC, json!(records))
        .expect_json(400, &metadata_limit(51));
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn the_metadata_key_limit_counts_the_keys_already_in_the_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let keyed = |from: usize, to: usize| -> Value {
        let metadata: serde_json::Map<String, Value> =
            (from..to).map(|i| (format!("k{i}"), json!(i))).collect();
        json!([with(
            text_record(json!(from), "x"),
            json!({"metadata": metadata})
        )])
    };
    scene.log(&name, TC, keyed(0, 30));
    // 30 stored + 10 again + 21 new = 51 distinct.
    scene
        .bulk(&scene.admin.api_key, &name, TC, keyed(20, 51))
        .expect_json(400, &metadata_limit(51));
    assert_eq!(ids_of(&scene.records(&name)), ["0"], "nothing logged");
    scene.log(&name, TC, keyed(20, 50));
}

#[test]
fn more_than_five_vector_names_per_dataset_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let vectors = |names: std::ops::Range<usize>| -> Value {
        names
            .map(|i| (format!("v{i}"), json!({"value": [0.1, 0.2]})))
            .collect::<serde_json::Map<String, Value>>()
            .into()
    };
    scene.log(
        &name,
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"vectors": vectors(0..5)})
        )]),
    );
    scene
        .bulk(
            &scene.admin.api_key,
            &name,
            TC,
            json!([with(
                text_record(json!(2), "x"),
                json!({"vectors": vectors(5..6)})
            )]),
        )
        .expect_json(
            400,
            &bad_request("Cannot create more than 5 kind of vectors per dataset"),
        );
    assert_eq!(
        scene.record(&name, "1")["vectors"]["v0"],
        json!({"value": [0.1, 0.2]})
    );
}

// ---- ids (§4.2) ----------------------------------------------------------------------------------

#[test]
fn record_ids_are_coerced_as_argilla_coerces_them() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // pydantic Union[int, str]: int first, then the string form is the stored key.
    let scene = Scene::new();
    let name = unique("ds");
    let given = [
        json!("007"),
        json!("2"),
        json!(" 5"),
        json!("-3"),
        json!(1.7),
        json!("1e3"),
        json!("1.5"),
        json!("abc"),
        json!("0b6e0d3e-8a4f-4c9e-9d2a-1f1f6b7c8d9e"),
    ];
    let records: Vec<Value> = given
        .iter()
        .map(|id| text_record(id.clone(), "x"))
        .collect();
    scene.log(&name, TC, json!(records));
    let stored = ids_of(&scene.records(&name));
    assert_eq!(
        stored,
        in_byte_order(&[
            "7",
            "2",
            "5",
            "-3",
            "1",
            "1e3",
            "1.5",
            "abc",
            "0b6e0d3e-8a4f-4c9e-9d2a-1f1f6b7c8d9e",
        ])
    );
    assert!(
        scene.records(&name).iter().all(|r| r["id"].is_string()),
        "the scan returns string ids"
    );
}

#[test]
fn ids_007_and_7_name_the_same_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(&name, TC, json!([text_record(json!("007"), "first")]));
    scene.log(&name, TC, json!([text_record(json!(7), "second")]));
    let records = scene.records(&name);
    assert_eq!(ids_of(&records), ["7"]);
    assert_eq!(records[0]["inputs"], json!({"text": "second"}));
}

#[test]
fn a_record_without_an_id_gets_a_uuid() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(
        &name,
        TC,
        json!([text_record(Value::Null, "x"), {"inputs": {"text": "y"}}]),
    );
    let ids = ids_of(&scene.records(&name));
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(
        ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()),
        "{ids:?}"
    );
}

// ---- record validation: common (§5.1) ----------------------------------------------------------

/// Logs `records` into a fresh TextClassification dataset as an admin.
fn bulk_into_new(task: &str, records: Value) -> (Scene, String, Answer) {
    let scene = Scene::new();
    let name = unique("ds");
    let answer = scene.bulk(&scene.admin.api_key, &name, task, records);
    (scene, name, answer)
}

#[test]
fn records_are_required() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    scene
        .bulk_body(
            &scene.admin.api_key,
            &unique("ds"),
            TC,
            &json!({"tags": {}}),
        )
        .expect_json(
            422,
            &errors::validation(vec![errors::missing(json!(["body", "records"]))]),
        );
}

#[test]
fn records_must_be_a_list() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    scene
        .bulk_body(
            &scene.admin.api_key,
            &unique("ds"),
            TC,
            &json!({"records": {"a": 1}}),
        )
        .expect_json(
            422,
            &errors::validation(vec![item(
                json!(["body", "records"]),
                "value is not a valid list",
                "type_error.list",
            )]),
        );
}

#[test]
fn a_bulk_body_that_is_not_json_is_422_jsondecode() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let answer = scene
        .call("POST", &bulk_path(&unique("ds"), TC), &scene.admin.api_key)
        .header("Content-Type", "application/json")
        .raw_body("nope")
        .send();
    let items = validation_items(&answer);
    assert_eq!(items.len(), 1, "{}", answer.text());
    assert_eq!(items[0]["type"], "value_error.jsondecode");
    assert_eq!(items[0]["loc"][0], "body");
    assert_eq!(items[0]["loc"][1], 0);
}

#[test]
fn a_record_status_is_one_of_four() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(text_record(json!(1), "x"), json!({"status": "Done"}))]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item_ctx(
            json!(["body", "records", 0, "status"]),
            "value is not a valid enumeration member; permitted: 'Default', 'Edited', 'Discarded', 'Validated'",
            "type_error.enum",
            json!({"enum_values": ["Default", "Edited", "Discarded", "Validated"]}),
        )]),
    );
}

#[test]
fn an_annotation_needs_an_agent() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": {"labels": [{"class": "pos"}]}})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "__root__"]),
            "Agent must be defined!",
            "assertion_error",
        )]),
    );
}

#[test]
fn an_agent_has_at_most_64_characters() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let agent = "a".repeat(65);
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels(&agent, &[("pos", 1.0)])})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![errors::too_long(
            json!(["body", "records", 0, "annotation", "agent"]),
            64,
        )]),
    );
}

#[test]
fn a_record_id_is_an_int_or_a_string() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TC, json!([text_record(json!([1]), "x")]));
    let loc = json!(["body", "records", 0, "id"]);
    answer.expect_json(
        422,
        &errors::validation(vec![
            item(
                loc.clone(),
                "value is not a valid integer",
                "type_error.integer",
            ),
            item(loc, "str type expected", "type_error.str"),
        ]),
    );
}

#[test]
fn an_event_timestamp_is_a_datetime() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"event_timestamp": "yesterday"})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "event_timestamp"]),
            "invalid datetime format",
            "value_error.datetime",
        )]),
    );
}

#[test]
fn a_vector_is_an_object_with_a_value() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"vectors": {"v": [0.1, 0.2]}})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "vectors", "v"]),
            "value is not a valid dict",
            "type_error.dict",
        )]),
    );
}

#[test]
fn a_record_error_names_the_index_of_the_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([
            text_record(json!(1), "x"),
            text_record(json!(2), "x"),
            with(text_record(json!(3), "x"), json!({"status": "Done"})),
        ]),
    );
    let items = validation_items(&answer);
    assert_eq!(items.len(), 1, "{}", answer.text());
    assert_eq!(items[0]["loc"], json!(["body", "records", 2, "status"]));
}

#[test]
fn a_record_nested_too_deep_is_a_422_naming_the_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Valid JSON, but nested deeper than a JSON parser goes (128 levels): refused as that
    // record, the dataset not created.
    let mut deep = json!("x");
    for _ in 0..300 {
        deep = json!({"k": deep});
    }
    let (scene, name, answer) = bulk_into_new(
        TC,
        json!([
            text_record(json!(1), "x"),
            with(text_record(json!(2), "x"), json!({"metadata": deep})),
        ]),
    );
    let items = validation_items(&answer);
    assert_eq!(items.len(), 1, "{}", answer.text());
    assert_eq!(items[0]["loc"], json!(["body", "records", 1]));
    assert_eq!(items[0]["type"], "value_error.jsondecode");
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

// ---- record validation: TextClassification (§5.2) ------------------------------------------------

#[test]
fn text_classification_inputs_are_required() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TC, json!([{"id": 1}]));
    answer.expect_json(
        422,
        &errors::validation(vec![errors::missing(json!([
            "body", "records", 0, "inputs"
        ]))]),
    );
}

#[test]
fn text_classification_inputs_must_not_be_empty() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Argilla: model ServiceTextClassificationRecord, loc ["inputs"]; API.md section 10: the
    // record's loc.
    let (_, _, answer) = bulk_into_new(TC, json!([{"id": 1, "inputs": {}}]));
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "inputs"]),
            "No inputs provided",
            "assertion_error",
        )]),
    );
}

#[test]
fn a_text_classification_input_is_not_null() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TC, json!([{"id": 1, "inputs": {"a": null}}]));
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "inputs", "a"]),
            "none is not an allowed value",
            "type_error.none.not_allowed",
        )]),
    );
}

#[test]
fn a_text_classification_input_is_a_string_or_a_list_of_strings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TC, json!([{"id": 1, "inputs": {"a": {"b": "c"}}}]));
    let loc = json!(["body", "records", 0, "inputs", "a"]);
    answer.expect_json(
        422,
        &errors::validation(vec![
            item(loc.clone(), "str type expected", "type_error.str"),
            item(loc, "value is not a valid list", "type_error.list"),
        ]),
    );
}

#[test]
fn a_batch_is_all_single_label_or_all_multi_label() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name, answer) = bulk_into_new(
        TC,
        json!([
            text_record(json!(1), "x"),
            with(text_record(json!(2), "x"), json!({"multi_label": true})),
        ]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records"]),
            "All records must be single/multi labelled",
            "assertion_error",
        )]),
    );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn multi_label_records_into_a_single_label_dataset_are_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §5.2: the message repeats the incoming kind (Argilla's wording, kept).
    let (scene, name) = scene_with_records(1);
    scene
        .bulk(
            &scene.admin.api_key,
            &name,
            TC,
            json!([with(text_record(json!(2), "x"), json!({"multi_label": true}))]),
        )
        .expect_json(
            400,
            &bad_request(
                "You cannot pass multi-label records for this dataset. Stored records are multi-label",
            ),
        );
    assert_eq!(ids_of(&scene.records(&name)), ["1"]);
}

#[test]
fn single_label_records_into_a_multi_label_dataset_are_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(
        &name,
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"multi_label": true})
        )]),
    );
    scene
        .bulk(&scene.admin.api_key, &name, TC, text_records(2, 1))
        .expect_json(
            400,
            &bad_request(
                "You cannot pass single-label records for this dataset. Stored records are single-label",
            ),
        );
}

#[test]
fn a_single_label_annotation_has_one_label() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels("a", &[("pos", 1.0), ("neg", 1.0)])})
        )]),
    );
    expect_record_error(
        &answer,
        json!(["body", "records", 0, "__root__"]),
        "Single label record must include only one annotation label",
        None,
    );
}

#[test]
fn multi_label_records_take_any_number_of_labels_and_any_score_sum() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({
            "multi_label": true,
            "prediction": labels("m", &[("a", 0.9), ("b", 0.9), ("c", 0.9)]),
            "annotation": labels("ann", &[("a", 1.0), ("b", 1.0)]),
        }),
    );
    scene.log(&name, TC, json!([record]));
}

#[test]
fn single_label_prediction_scores_sum_to_at_most_one() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"prediction": labels("m", &[("x", 0.7), ("y", 0.7)])})
        )]),
    );
    expect_record_error(
        &answer,
        json!(["body", "records", 0, "__root__"]),
        "Wrong score distributions: [ClassPrediction(class_label='x', score=0.7), ClassPrediction(class_label='y', score=0.7)]",
        None,
    );
}

#[test]
fn a_validated_single_label_record_needs_an_annotation() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"status": "Validated"})
        )]),
    );
    expect_record_error(
        &answer,
        json!(["body", "records", 0, "__root__"]),
        "Annotation must include some label for validated records",
        None,
    );
}

#[test]
fn a_label_score_is_at_most_one() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"prediction": labels("m", &[("pos", 1.5)])})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item_ctx(
            json!(["body", "records", 0, "prediction", "labels", 0, "score"]),
            "ensure this value is less than or equal to 1.0",
            "value_error.number.not_le",
            json!({"limit_value": 1.0}),
        )]),
    );
}

#[test]
fn a_class_name_is_not_empty() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels("a", &[("", 1.0)])})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "annotation", "labels", 0, "class"]),
            "Class name must not be empty",
            "assertion_error",
        )]),
    );
}

#[test]
fn a_class_name_has_at_most_128_characters() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let class = "c".repeat(129);
    let (_, _, answer) = bulk_into_new(
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels("a", &[(&class, 1.0)])})
        )]),
    );
    expect_record_error(
        &answer,
        json!(["body", "records", 0, "annotation", "labels", 0, "class"]),
        &format!("Class name '{class}' exceeds max length of 128"),
        None,
    );
}

// ---- record validation: TokenClassification (§5.3) -----------------------------------------------

#[test]
fn token_classification_tokens_are_required() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TOKEN, json!([{"id": 1, "text": "a b"}]));
    answer.expect_json(
        422,
        &errors::validation(vec![errors::missing(json!([
            "body", "records", 0, "tokens"
        ]))]),
    );
}

#[test]
fn token_classification_tokens_are_not_empty() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TOKEN, json!([{"id": 1, "text": "a b", "tokens": []}]));
    answer.expect_json(
        422,
        &errors::validation(vec![item_ctx(
            json!(["body", "records", 0, "tokens"]),
            "ensure this value has at least 1 items",
            "value_error.list.min_items",
            json!({"limit_value": 1}),
        )]),
    );
}

#[test]
fn token_classification_text_is_not_blank() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(TOKEN, json!([{"id": 1, "text": "  ", "tokens": ["a"]}]));
    answer.expect_json(
        422,
        &errors::validation(vec![item(
            json!(["body", "records", 0, "__root__"]),
            "No text or empty text provided",
            "assertion_error",
        )]),
    );
}

#[test]
fn an_entity_ends_after_it_starts() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TOKEN,
        json!([with(
            token_record(json!(1), "ab cd"),
            json!({"prediction": entities("m", &[(3, 3, "X")])})
        )]),
    );
    expect_record_error(
        &answer,
        json!(["body", "records", 0, "prediction", "entities", 0, "end"]),
        "End character cannot be placed before the starting character, it must be at least one character after.",
        None,
    );
}

#[test]
fn an_entity_label_is_not_empty() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        TOKEN,
        json!([with(
            token_record(json!(1), "ab cd"),
            json!({"annotation": entities("a", &[(0, 2, "")])})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![errors::too_short(
            json!(["body", "records", 0, "annotation", "entities", 0, "label"]),
            1,
        )]),
    );
}

#[test]
fn a_token_missing_from_the_text_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10: Argilla answers 500 builtins.ValueError (§5.3).
    let (scene, name, answer) = bulk_into_new(
        TOKEN,
        json!([
            token_record(json!(1), "a b"),
            {"id": 2, "text": "a b", "tokens": ["a", "b", "c"]},
        ]),
    );
    let items = validation_items(&answer);
    assert!(
        items
            .iter()
            .any(|i| loc_starts_with(i, &json!(["body", "records", 1]))
                && i["msg"] == "Token 'c' not found in text: a b"),
        "{}",
        answer.text()
    );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn a_span_not_aligned_to_the_tokens_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10: Argilla answers 500 builtins.ValueError (§5.3).
    let (_, _, answer) = bulk_into_new(
        TOKEN,
        json!([with(
            token_record(json!(1), "ab cd"),
            json!({"prediction": entities("m", &[(1, 4, "X")])})
        )]),
    );
    let items = validation_items(&answer);
    assert!(
        items.iter().any(|i| loc_starts_with(i, &json!(["body", "records", 0]))
            && i["msg"]
                == "Following entity spans are not aligned with provided tokenization\nSpans:\n('X', 1, 4) - 'b c'\nTokens:\n['ab', 'cd']"),
        "{}",
        answer.text()
    );
}

// ---- record validation: Text2Text (§5.4) ---------------------------------------------------------

#[test]
fn text2text_text_is_required() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(T2T, json!([{"id": 1}]));
    answer.expect_json(
        422,
        &errors::validation(vec![errors::missing(json!(["body", "records", 0, "text"]))]),
    );
}

#[test]
fn a_sentence_score_is_at_most_one() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (_, _, answer) = bulk_into_new(
        T2T,
        json!([with(
            text2text_record(json!(1), "hola"),
            json!({"prediction": sentences("m", &[("hello", 1.2)])})
        )]),
    );
    answer.expect_json(
        422,
        &errors::validation(vec![item_ctx(
            json!(["body", "records", 0, "prediction", "sentences", 0, "score"]),
            "ensure this value is less than or equal to 1.0",
            "value_error.number.not_le",
            json!({"limit_value": 1.0}),
        )]),
    );
}

// ---- a refused bulk changes nothing (API.md section 10) ----------------------------------------------

#[test]
fn a_refused_bulk_does_not_leave_an_auto_created_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §9.6: Argilla leaves the auto-created dataset behind after a service-model 422.
    let (scene, name, answer) = bulk_into_new(TC, json!([{"id": 1, "inputs": {}}]));
    answer.expect(422);
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
    let listed = t().get("/api/datasets").key(&scene.admin.api_key).send();
    assert!(position_of(listed.expect(200), "name", &name).is_none());
}

#[test]
fn a_refused_bulk_into_an_existing_dataset_changes_nothing() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(2);
    let before_dataset = scene.get(&name).expect(200).clone();
    let before_records = scene.records(&name);
    let body = json!({
        "tags": {"new": "tag"},
        "metadata": {"new": 1},
        "records": [
            text_record(json!(1), "changed"),
            text_record(json!(5), "new"),
            {"id": 6, "inputs": {}},
        ],
    });
    scene
        .bulk_body(&scene.admin.api_key, &name, TC, &body)
        .expect(422);
    assert_eq!(scene.get(&name).expect(200), &before_dataset);
    assert_eq!(scene.records(&name), before_records);
}

// ---- limits (API.md section 10) ------------------------------------------------------------------

#[test]
fn a_bulk_of_more_than_5000_records_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let records: Vec<Value> = (0..5001)
        .map(|i| json!({"id": i, "inputs": {"text": "x"}}))
        .collect();
    scene
        .bulk(&scene.admin.api_key, &name, TC, json!(records))
        .expect_json(
            422,
            &errors::validation(vec![item_ctx(
                json!(["body", "records"]),
                "ensure this value has at most 5000 items",
                "value_error.list.max_items",
                json!({"limit_value": 5000}),
            )]),
        );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn a_bulk_of_5000_records_is_accepted() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let records: Vec<Value> = (0..5000)
        .map(|i| json!({"id": i, "inputs": {"text": "x"}}))
        .collect();
    scene.log(&name, TC, json!(records));
    // Keeps the shared store small for the tests that follow.
    scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send()
        .expect(200);
}

#[test]
fn a_record_over_one_mebibyte_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let big = "x".repeat(1024 * 1024 + 1);
    let records = json!([text_record(json!(1), "small"), text_record(json!(2), &big)]);
    let answer = scene.bulk(&scene.admin.api_key, &name, TC, records);
    let items = validation_items(&answer);
    assert!(
        items
            .iter()
            .any(|i| i["loc"] == json!(["body", "records", 1])),
        "an item at [body, records, 1]: {}",
        &answer.text()[..answer.text().len().min(600)]
    );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn a_bulk_body_over_32_mebibytes_is_413() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Over HTTP too: every host reads an over-limit body away (within bounds) before it
    // answers, so a client still sending reads the 413 rather than a broken pipe.
    let scene = Scene::new();
    let name = unique("ds");
    let padding = "x".repeat(32 * 1024 * 1024);
    let body = format!(r#"{{"padding": "{padding}", "records": []}}"#);
    let answer = scene
        .call("POST", &bulk_path(&name, TC), &scene.admin.api_key)
        .header("Content-Type", "application/json")
        .raw_body(body)
        .send();
    answer.expect(413);
    assert_eq!(
        answer.json["detail"]["code"],
        "argilla.api.errors::BadRequestError"
    );
    scene.get(&name).expect_json(404, &dataset_not_found(&name));
}

#[test]
fn a_bulk_body_of_a_few_mebibytes_is_read() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Over the 1 MiB default of the other endpoints (API.md section 10: up to 32 MiB).
    let scene = Scene::new();
    let name = unique("ds");
    let text = "y".repeat(500 * 1024);
    let records: Vec<Value> = (0..6).map(|i| text_record(json!(i), &text)).collect();
    scene.log(&name, TC, json!(records));
    // Keeps the shared store small for the tests that follow.
    scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send()
        .expect(200);
}

// ---- scan: paging and order (§4.3) ------------------------------------------------------------

#[test]
fn an_empty_scan_answers_all_three_keys_with_nulls() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let answer = scene.scan(&name, None, &json!({}));
    answer.expect_json(
        200,
        &json!({"records": [], "next_idx": null, "next_page_cfg": null}),
    );
    assert_eq!(answer.key_order(), ["records", "next_idx", "next_page_cfg"]);
}

#[test]
fn a_scan_returns_records_in_byte_order_of_their_string_ids() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let ids = [
        json!(2),
        json!("c0ff"),
        json!(10),
        json!("ad33"),
        json!(1),
        json!("B"),
        json!("a"),
    ];
    let records: Vec<Value> = ids.iter().map(|id| text_record(id.clone(), "x")).collect();
    scene.log(&name, TC, json!(records));
    let answer = scene.scan(&name, None, &json!({}));
    assert_eq!(ids_in(&answer), ["1", "10", "2", "B", "a", "ad33", "c0ff"]);
    assert_eq!(answer.json["next_idx"], "c0ff");
}

#[test]
fn a_full_load_in_pages_returns_every_record_exactly_once_in_id_order() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(25);
    let pages = scene.scan_pages(&name, 7, &json!({"fields": CLIENT_FIELDS, "query": {}}));
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [7, 7, 7, 4]);
    let all: Vec<Value> = pages.into_iter().flatten().collect();
    let want: Vec<String> = (1..=25).map(|i| i.to_string()).collect();
    assert_eq!(ids_of(&all), in_byte_order(&want));
}

#[test]
fn next_idx_is_exclusive_and_is_the_last_returned_id() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(5);
    let first = scene.scan(&name, Some(2), &json!({}));
    assert_eq!(ids_in(&first), ["1", "2"]);
    assert_eq!(first.json["next_idx"], "2");
    let second = scene.scan(&name, Some(2), &json!({"next_idx": "2"}));
    assert_eq!(ids_in(&second), ["3", "4"]);
    let between = scene.scan(&name, Some(10), &json!({"next_idx": "25"}));
    assert_eq!(
        ids_in(&between),
        ["3", "4", "5"],
        "a cursor need not be a stored id"
    );
}

#[test]
fn past_the_end_a_scan_is_empty_and_echoes_the_cursor() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(2);
    scene
        .scan(&name, Some(10), &json!({"next_idx": "2"}))
        .expect_json(
            200,
            &json!({"records": [], "next_idx": "2", "next_page_cfg": null}),
        );
}

#[test]
fn a_scan_page_is_100_records_by_default() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(120);
    assert_eq!(ids_in(&scene.scan(&name, None, &json!({}))).len(), 100);
}

#[test]
fn a_scan_limit_is_at_most_1000() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    assert_eq!(ids_in(&scene.scan(&name, Some(1000), &json!({}))).len(), 3);
    scene.scan(&name, Some(1001), &json!({})).expect_json(
        422,
        &errors::validation(vec![item_ctx(
            json!(["query", "limit"]),
            "ensure this value is less than or equal to 1000",
            "value_error.number.not_le",
            json!({"limit_value": 1000}),
        )]),
    );
}

#[test]
fn a_scan_limit_is_an_integer() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    scene
        .call(
            "POST",
            &format!("{}?limit=many", scan_path(&name)),
            &scene.admin.api_key,
        )
        .json(&json!({}))
        .send()
        .expect_json(
            422,
            &errors::validation(vec![item(
                json!(["query", "limit"]),
                "value is not a valid integer",
                "type_error.integer",
            )]),
        );
}

#[test]
fn a_scan_without_a_body_is_a_scan_of_everything() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(2);
    let answer = scene
        .call("POST", &scan_path(&name), &scene.admin.api_key)
        .send();
    assert_eq!(ids_in(&answer), ["1", "2"], "{}", answer.text());
    let null_body = scene.scan(&name, None, &Value::Null);
    assert_eq!(ids_in(&null_body), ["1", "2"], "{}", null_body.text());
}

#[test]
fn who_may_scan() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    assert_eq!(
        ids_in(&scene.scan_as(&scene.member.api_key, &name, None, &json!({}))),
        ["1"]
    );
    scene
        .scan_as(&scene.non_member.api_key, &name, None, &json!({}))
        .expect_json(403, &forbidden(CANNOT_GET));
    let missing = unique("ds");
    scene
        .scan_as(&scene.non_member.api_key, &missing, None, &json!({}))
        .expect_json(404, &dataset_not_found(&missing));
}

// ---- scan: fields (§7) ----------------------------------------------------------------------

#[test]
fn fields_keep_the_top_level_keys_they_match_and_always_the_id() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({
            "metadata": {"a": 1, "b": 2},
            "prediction": labels("m", &[("pos", 0.9)]),
            "annotation": labels("ann", &[("pos", 1.0)]),
        }),
    );
    scene.log(&name, TC, json!([record]));
    let scanned = |fields: Value| -> Value {
        let answer = scene.scan(&name, None, &json!({"fields": fields}));
        answer.expect(200)["records"][0].clone()
    };
    let mut got = keys(&scanned(json!(["status"])))
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    got.sort();
    assert_eq!(got, ["id", "status"]);
    // "annotation*" matches annotation and annotations; "metadata.a" keeps metadata (whole).
    let projected = scanned(json!(["annotation*", "metadata.a", "inputs.*"]));
    let mut got: Vec<&str> = keys(&projected);
    got.sort_unstable();
    assert_eq!(
        got,
        ["annotation", "annotations", "id", "inputs", "metadata"]
    );
    assert_eq!(projected["metadata"], json!({"a": 1, "b": 2}));
    assert_eq!(projected["id"], "1");
}

#[test]
fn the_client_field_set_returns_what_rg_load_needs_and_no_last_updated() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "hello world"),
        json!({"metadata": {"m": "v"}, "vectors": {"v": {"value": [0.1]}}}),
    );
    scene.log(&name, TC, json!([record]));
    let answer = scene.scan(&name, None, &json!({"fields": CLIENT_FIELDS}));
    let got = &answer.expect(200)["records"][0];
    assert_eq!(got["inputs"], json!({"text": "hello world"}));
    assert_eq!(got["status"], "Default");
    assert_eq!(got["multi_label"], false);
    assert_eq!(got["metadata"], json!({"m": "v"}));
    assert_eq!(got["event_timestamp"], "2023-06-01T10:00:00.123456");
    assert_eq!(got["id"], "1");
    assert!(got.get("last_updated").is_none(), "{got}");
    assert!(got.get("vectors").is_none(), "{got}");
}

#[test]
fn no_fields_or_empty_fields_return_every_field() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    for body in [json!({}), json!({"fields": null}), json!({"fields": []})] {
        let answer = scene.scan(&name, None, &body);
        let got = &answer.expect(200)["records"][0];
        for key in ["id", "inputs", "status", "last_updated", "event_timestamp"] {
            assert!(got.get(key).is_some(), "{body}: {key} in {got}");
        }
        assert!(
            got["last_updated"].as_str().is_some_and(is_timestamp),
            "{got}"
        );
    }
}

// ---- scan: filters (§4.3.2, API.md section 10) -----------------------------------------------------

/// A TextClassification dataset of five records for the filter tests:
///
/// | id | status    | metadata          | prediction (agent: labels)    | annotation (agent: label) |
/// |----|-----------|-------------------|-------------------------------|---------------------------|
/// | 1  | Default   | k=a, n=3          | m1: pos 0.8, neg 0.2          | –                         |
/// | 2  | Validated | k=b, n=1          | m2: neg 0.9                   | ann1: neg                 |
/// | 3  | Validated | k=a, n=2          | –                             | ann2: pos                 |
/// | 4  | Discarded | k=c               | m1: neg 0.6, pos 0.4          | ann1: pos                 |
/// | 5  | Default   | –                 | –                             | –                         |
fn filter_scene() -> (Scene, String) {
    let scene = Scene::new();
    let name = unique("ds");
    let records = json!([
        with(
            text_record(json!(1), "one"),
            json!({
                "metadata": {"k": "a", "n": 3},
                "prediction": labels("m1", &[("pos", 0.8), ("neg", 0.2)]),
            })
        ),
        with(
            text_record(json!(2), "two"),
            json!({
                "status": "Validated",
                "metadata": {"k": "b", "n": 1},
                "prediction": labels("m2", &[("neg", 0.9)]),
                "annotation": labels("ann1", &[("neg", 1.0)]),
            })
        ),
        with(
            text_record(json!(3), "three"),
            json!({
                "status": "Validated",
                "metadata": {"k": "a", "n": 2},
                "annotation": labels("ann2", &[("pos", 1.0)]),
            })
        ),
        with(
            text_record(json!(4), "four"),
            json!({
                "status": "Discarded",
                "metadata": {"k": "c"},
                "prediction": labels("m1", &[("neg", 0.6), ("pos", 0.4)]),
                "annotation": labels("ann1", &[("pos", 1.0)]),
            })
        ),
        text_record(json!(5), "five"),
    ]);
    scene.log(&name, TC, records);
    (scene, name)
}

fn filtered(scene: &Scene, name: &str, query: Value) -> Vec<String> {
    let answer = scene.scan(name, None, &json!({"query": query}));
    answer.expect(200);
    ids_in(&answer)
}

#[test]
fn the_ids_filter_selects_exactly_those_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"ids": [4, "2", 99]})),
        ["2", "4"]
    );
    assert_eq!(filtered(&scene, &name, json!({"ids": ["002"]})), ["2"]);
}

#[test]
fn non_empty_ids_override_every_other_filter() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(
            &scene,
            &name,
            json!({"ids": [1, 5], "status": ["Validated"], "metadata": {"k": "c"}})
        ),
        ["1", "5"]
    );
}

#[test]
fn empty_ids_are_no_filter() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"ids": []})),
        ["1", "2", "3", "4", "5"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"ids": [], "status": ["Discarded"]})),
        ["4"]
    );
}

#[test]
fn the_status_filter() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"status": ["Validated"]})),
        ["2", "3"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"status": ["Default", "Discarded"]})),
        ["1", "4", "5"]
    );
}

#[test]
fn a_bad_status_filter_is_422() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    let answer = scene.scan(&name, None, &json!({"query": {"status": ["Done"]}}));
    let items = validation_items(&answer);
    assert!(
        items
            .iter()
            .all(|i| i["loc"] == json!(["body", "query", "status", 0])
                && i["type"] == "type_error.enum"),
        "{}",
        answer.text()
    );
}

#[test]
fn the_metadata_filter_matches_exact_terms() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"metadata": {"k": "a"}})),
        ["1", "3"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"metadata": {"k": ["b", "c"]}})),
        ["2", "4"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"metadata": {"k": "a", "n": "2"}})),
        ["3"],
        "keys are AND-ed"
    );
    assert!(filtered(&scene, &name, json!({"metadata": {"k": "A"}})).is_empty());
}

#[test]
fn the_annotated_by_and_predicted_by_filters() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"annotated_by": ["ann1"]})),
        ["2", "4"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"predicted_by": ["m1", "m2"]})),
        ["1", "2", "4"]
    );
}

#[test]
fn the_annotated_as_and_predicted_as_filters_use_the_top_label() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §4.3.3: single-label: the top-scored label.
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"predicted_as": ["pos"]})),
        ["1"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"predicted_as": ["neg"]})),
        ["2", "4"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"annotated_as": ["pos"]})),
        ["3", "4"]
    );
}

#[test]
fn multi_label_predicted_as_is_every_label_above_one_half() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let record = with(
        text_record(json!(1), "x"),
        json!({
            "multi_label": true,
            "prediction": labels("m", &[("a", 0.9), ("b", 0.6), ("c", 0.3)]),
        }),
    );
    scene.log(&name, TC, json!([record]));
    assert_eq!(
        filtered(&scene, &name, json!({"predicted_as": ["b"]})),
        ["1"]
    );
    assert!(filtered(&scene, &name, json!({"predicted_as": ["c"]})).is_empty());
}

#[test]
fn token_and_text2text_annotated_as_are_entity_labels_and_sentences() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let tokens = unique("ds");
    scene.log(
        &tokens,
        TOKEN,
        json!([
            with(
                token_record(json!(1), "ab cd"),
                json!({"annotation": entities("a", &[(0, 2, "PER")])})
            ),
            with(
                token_record(json!(2), "ab cd"),
                json!({"annotation": entities("a", &[(3, 5, "LOC")])})
            ),
        ]),
    );
    assert_eq!(
        filtered(&scene, &tokens, json!({"annotated_as": ["LOC"]})),
        ["2"]
    );
    let texts = unique("ds");
    scene.log(
        &texts,
        T2T,
        json!([
            with(
                text2text_record(json!(1), "hola"),
                json!({"annotation": sentences("a", &[("hello", 1.0)])})
            ),
            with(
                text2text_record(json!(2), "adios"),
                json!({"annotation": sentences("a", &[("bye", 1.0)])})
            ),
        ]),
    );
    assert_eq!(
        filtered(&scene, &texts, json!({"annotated_as": ["hello"]})),
        ["1"]
    );
}

#[test]
fn the_has_annotation_and_has_prediction_filters() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(&scene, &name, json!({"has_annotation": true})),
        ["2", "3", "4"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"has_annotation": false})),
        ["1", "5"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"has_prediction": true})),
        ["1", "2", "4"]
    );
    assert_eq!(
        filtered(&scene, &name, json!({"has_prediction": false})),
        ["3", "5"]
    );
}

#[test]
fn filters_are_and_ed() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    assert_eq!(
        filtered(
            &scene,
            &name,
            json!({"status": ["Validated", "Discarded"], "annotated_by": ["ann1"], "metadata": {"k": "c"}})
        ),
        ["4"]
    );
}

#[test]
fn filtered_scans_page_with_next_idx() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    let pages = scene.scan_pages(&name, 1, &json!({"query": {"has_prediction": true}}));
    let all: Vec<Value> = pages.into_iter().flatten().collect();
    assert_eq!(ids_of(&all), ["1", "2", "4"]);
}

#[test]
fn sort_by_a_field_with_an_id_tie_break() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    let sorted = |sort: Value| -> Vec<String> {
        let answer = scene.scan(&name, None, &json!({"sort_by": sort}));
        answer.expect(200);
        ids_in(&answer)
    };
    assert_eq!(
        sorted(json!([{"id": "status", "order": "desc"}])),
        ["2", "3", "4", "1", "5"]
    );
    assert_eq!(sorted(json!([{"id": "status"}])), ["1", "5", "4", "2", "3"]);
    assert_eq!(
        sorted(json!([{"id": "id", "order": "desc"}])),
        ["5", "4", "3", "2", "1"]
    );
}

#[test]
fn sort_by_a_metadata_field_puts_records_without_it_last() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // ES's default for a missing sort value is `_last` (§4.3.1 sort_by).
    let (scene, name) = filter_scene();
    let answer = scene.scan(
        &name,
        None,
        &json!({"sort_by": [{"id": "metadata.n", "order": "asc"}]}),
    );
    answer.expect(200);
    assert_eq!(ids_in(&answer), ["2", "3", "1", "4", "5"]);
}

#[test]
fn a_sorted_scan_pages_through_every_record_once() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §2.2: rg.load(sort=…) pages with whatever cursor the answer carries; §8.2: a server that
    // honours sort_by must still let that loop reach every record.
    let (scene, name) = filter_scene();
    let pages = scene.scan_pages(
        &name,
        2,
        &json!({"sort_by": [{"id": "status", "order": "desc"}]}),
    );
    let all: Vec<Value> = pages.into_iter().flatten().collect();
    assert_eq!(ids_of(&all), ["2", "3", "4", "1", "5"]);
}

#[test]
fn a_sort_by_an_unknown_field_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    scene
        .scan(&name, None, &json!({"sort_by": [{"id": "inputs.text"}]}))
        .expect_json(
            400,
            &bad_request(
                "Wrong sort id inputs.text. Valid values are: ['id', 'metadata', 'score', 'predicted', 'predicted_as', 'predicted_by', 'annotated_as', 'annotated_by', 'status', 'last_updated', 'event_timestamp']",
            ),
        );
}

#[test]
fn filters_that_need_a_search_engine_are_400_naming_the_field() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = filter_scene();
    for (field, value) in [
        ("query_text", json!("one")),
        ("vector", json!({"name": "v", "value": [0.1]})),
        ("advanced_query_dsl", json!(true)),
        ("uncovered_by_rules", json!(["rule"])),
        ("raw_query", json!({"match_all": {}})),
    ] {
        let answer = scene.scan(&name, None, &json!({"query": {field: value}}));
        answer.expect(400);
        assert_eq!(
            answer.json["detail"]["code"],
            "argilla.api.errors::BadRequestError",
            "{field}: {}",
            answer.text()
        );
        let message = answer.json["detail"]["params"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(field), "{field}: {}", answer.text());
    }
}

#[test]
fn search_engine_fields_at_their_defaults_are_no_filter() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // JSON null means "not given" (API.md section 1); false and [] are the fields' defaults
    // (§4.3.2). Unknown query keys are ignored.
    let (scene, name) = filter_scene();
    let query = json!({
        "query_text": null,
        "vector": null,
        "advanced_query_dsl": false,
        "uncovered_by_rules": [],
        "raw_query": null,
        "unknown": 1,
    });
    assert_eq!(filtered(&scene, &name, query), ["1", "2", "3", "4", "5"]);
}

// ---- deleting and discarding records (§4.6, API.md section 10) ---------------------------------------

fn data_path(name: &str, discard: bool) -> String {
    format!("/api/datasets/{name}/data?mark_as_discarded={discard}")
}

#[test]
fn deleting_records_by_ids_as_client_1_8_sends_them() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §2.6: rg.delete_records(ids=…) sends the query itself: {"ids": [...]}.
    let (scene, name) = scene_with_records(4);
    let answer = scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .json(&json!({"ids": [1, 3, 99]}))
        .send();
    answer.expect_json(200, &json!({"matched": 2, "processed": 2}));
    assert_eq!(answer.key_order(), ["matched", "processed"]);
    assert_eq!(ids_of(&scene.records(&name)), ["2", "4"]);
}

#[test]
fn deleting_records_by_a_query_of_ids() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // API.md section 10: {"query": {"ids": [...]}} touches exactly those records.
    let (scene, name) = scene_with_records(4);
    scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .json(&json!({"query": {"ids": [2]}}))
        .send()
        .expect_json(200, &json!({"matched": 1, "processed": 1}));
    assert_eq!(ids_of(&scene.records(&name)), ["1", "3", "4"]);
}

#[test]
fn deleting_records_without_a_query_deletes_every_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .json(&json!({}))
        .send()
        .expect_json(200, &json!({"matched": 3, "processed": 3}));
    assert!(scene.records(&name).is_empty());
    scene.get(&name).expect(200);
    let (scene, name) = scene_with_records(2);
    scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .send()
        .expect_json(200, &json!({"matched": 2, "processed": 2}));
}

#[test]
fn mark_as_discarded_defaults_to_a_hard_delete() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    scene
        .call(
            "DELETE",
            &format!("/api/datasets/{name}/data"),
            &scene.admin.api_key,
        )
        .json(&json!({"ids": [2]}))
        .send()
        .expect_json(200, &json!({"matched": 1, "processed": 1}));
    assert_eq!(ids_of(&scene.records(&name)), ["1", "3"]);
}

#[test]
fn discarding_records_marks_them_discarded() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    scene
        .call("DELETE", &data_path(&name, true), &scene.member.api_key)
        .json(&json!({"query": {"ids": [1, 2]}}))
        .send()
        .expect_json(200, &json!({"matched": 2, "processed": 2}));
    let statuses: Vec<Value> = scene
        .records(&name)
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("Discarded"), json!("Discarded"), json!("Default")]
    );
}

#[test]
fn members_discard_but_only_admins_and_the_creator_delete_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let creator = scene.demoted_creator_of(&name, TC);
    scene.log(&name, TC, text_records(1, 3));
    scene
        .call("DELETE", &data_path(&name, false), &scene.member.api_key)
        .json(&json!({"ids": [1]}))
        .send()
        .expect_json(403, &forbidden(CANNOT_DELETE_RECORDS));
    scene
        .call("DELETE", &data_path(&name, true), &scene.non_member.api_key)
        .json(&json!({"ids": [1]}))
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    assert_eq!(ids_of(&scene.records(&name)), ["1", "2", "3"]);
    scene
        .call("DELETE", &data_path(&name, false), &creator.api_key)
        .json(&json!({"ids": [1]}))
        .send()
        .expect_json(200, &json!({"matched": 1, "processed": 1}));
    assert_eq!(ids_of(&scene.records(&name)), ["2", "3"]);
}

#[test]
fn the_client_fallback_after_a_403_discards_only_the_chosen_records() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §2.6: client 1.8 retries a refused delete as a discard with {"query": {"ids": [...]}}.
    let (scene, name) = scene_with_records(4);
    scene
        .call("DELETE", &data_path(&name, false), &scene.member.api_key)
        .json(&json!({"ids": [1]}))
        .send()
        .expect(403);
    scene
        .call("DELETE", &data_path(&name, true), &scene.member.api_key)
        .json(&json!({"query": {"ids": [1]}}))
        .send()
        .expect_json(200, &json!({"matched": 1, "processed": 1}));
    let discarded: Vec<String> = scene
        .records(&name)
        .iter()
        .filter(|r| r["status"] == "Discarded")
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(discarded, ["1"]);
}

#[test]
fn deleting_records_by_query_text_is_400() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(2);
    let answer = scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .json(&json!({"query_text": "text"}))
        .send();
    answer.expect(400);
    assert!(
        answer.json["detail"]["params"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("query_text")),
        "{}",
        answer.text()
    );
    assert_eq!(scene.records(&name).len(), 2);
}

#[test]
fn deleting_records_of_a_missing_dataset_is_404() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let missing = unique("ds");
    scene
        .call(
            "DELETE",
            &data_path(&missing, false),
            &scene.non_member.api_key,
        )
        .json(&json!({}))
        .send()
        .expect_json(404, &dataset_not_found(&missing));
}

// ---- settings (§4.5, §2.7, §2.8) ------------------------------------------------------------------

#[test]
fn settings_that_were_never_saved_are_404() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    for task in [TC, TOKEN] {
        let name = unique("ds");
        scene.create(&scene.admin.api_key, &name, task).expect(200);
        scene
            .call("GET", &settings_path(&name, task), &scene.admin.api_key)
            .send()
            .expect_json(404, &settings_not_found(&name, task));
    }
}

#[test]
fn saving_settings_normalises_label_strings_to_id_and_name() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let want = json!({"label_schema": {"labels": [
        {"id": "pos", "name": "pos"},
        {"id": "neg", "name": "neg"},
    ]}});
    scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos", "neg"]}}))
        .send()
        .expect_json(200, &want);
    scene
        .call("GET", &settings_path(&name, TC), &scene.member.api_key)
        .send()
        .expect_json(200, &want);
}

#[test]
fn settings_labels_may_be_objects_with_a_description() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TOKEN).expect(200);
    scene
        .call("PATCH", &settings_path(&name, TOKEN), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": [
            {"id": "PER", "name": "PER", "description": "a person"},
            {"id": "LOC", "name": "LOC"},
        ]}}))
        .send()
        .expect_json(
            200,
            &json!({"label_schema": {"labels": [
                {"id": "PER", "name": "PER", "description": "a person"},
                {"id": "LOC", "name": "LOC"},
            ]}}),
        );
}

#[test]
fn who_may_read_save_and_delete_settings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let settings = settings_path(&name, TC);
    let body = json!({"label_schema": {"labels": ["pos"]}});
    scene
        .call("PATCH", &settings, &scene.member.api_key)
        .json(&body)
        .send()
        .expect_json(403, &forbidden(CANNOT_SAVE_SETTINGS));
    scene
        .call("PATCH", &settings, &scene.non_member.api_key)
        .json(&body)
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    scene
        .call("PATCH", &settings, &scene.admin.api_key)
        .json(&body)
        .send()
        .expect(200);
    scene
        .call("GET", &settings, &scene.member.api_key)
        .send()
        .expect(200);
    scene
        .call("GET", &settings, &scene.non_member.api_key)
        .send()
        .expect_json(403, &forbidden(CANNOT_GET));
    scene
        .call("DELETE", &settings, &scene.member.api_key)
        .send()
        .expect_json(403, &forbidden(CANNOT_DELETE_SETTINGS));
    scene
        .call("GET", &settings, &scene.admin.api_key)
        .send()
        .expect(200);
}

#[test]
fn deleting_settings_removes_them() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    let settings = settings_path(&name, TC);
    scene
        .call("PATCH", &settings, &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos"]}}))
        .send()
        .expect(200);
    scene
        .call("DELETE", &settings, &scene.admin.api_key)
        .send()
        .expect(200);
    scene
        .call("GET", &settings, &scene.admin.api_key)
        .send()
        .expect_json(404, &settings_not_found(&name, TC));
    // Without a schema any label is accepted again.
    scene.log(
        &name,
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels("a", &[("other", 1.0)])})
        )]),
    );
}

#[test]
fn settings_of_another_task_are_400_wrong_task() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    for key in [&scene.admin.api_key, &scene.non_member.api_key] {
        scene
            .call("GET", &settings_path(&name, TOKEN), key)
            .send()
            .expect_json(400, &wrong_task(TOKEN));
    }
    scene
        .call("PATCH", &settings_path(&name, TOKEN), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["PER"]}}))
        .send()
        .expect_json(400, &wrong_task(TOKEN));
}

#[test]
fn settings_of_a_missing_dataset_are_404_service_dataset() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let missing = unique("ds");
    scene
        .call("GET", &settings_path(&missing, TC), &scene.admin.api_key)
        .send()
        .expect_json(404, &dataset_not_found(&missing));
    scene
        .call("PATCH", &settings_path(&missing, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos"]}}))
        .send()
        .expect_json(404, &dataset_not_found(&missing));
}

#[test]
fn a_settings_dataset_name_must_match_the_name_pattern() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    scene
        .call("GET", &settings_path("Bad-Name", TC), &scene.admin.api_key)
        .send()
        .expect_json(
            422,
            &errors::validation(vec![errors::bad_name(json!(["path", "name"]))]),
        );
}

#[test]
fn text2text_has_no_settings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, T2T).expect(200);
    scene
        .call("GET", &settings_path(&name, T2T), &scene.admin.api_key)
        .off_contract()
        .send()
        .expect_json(404, &errors::route_not_found());
}

#[test]
fn labels_outside_the_schema_are_refused_on_bulk() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos", "neg"]}}))
        .send()
        .expect(200);
    let refused = bad_request(
        "Provided records contain the other label, that is not included in the labels schema.\n\
         Please, annotate your records using labels defined in the labels schema.",
    );
    for field in ["prediction", "annotation"] {
        let record = with(
            text_record(json!(1), "x"),
            json!({field: labels("a", &[("other", 1.0)])}),
        );
        scene
            .bulk(&scene.admin.api_key, &name, TC, json!([record]))
            .expect_json(400, &refused);
    }
    assert!(scene.records(&name).is_empty());
    let inside = with(
        text_record(json!(1), "x"),
        json!({"annotation": labels("a", &[("neg", 1.0)])}),
    );
    scene.log(&name, TC, json!([inside]));
}

#[test]
fn a_label_outside_the_schema_late_in_a_bulk_refuses_the_whole_bulk() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // Records that share their labels and keys come first (read once per run), then one
    // whose label is outside the schema: the whole bulk is refused, nothing written.
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos", "neg"]}}))
        .send()
        .expect(200);
    let mut records: Vec<Value> = (0..150)
        .map(|i| {
            with(
                text_record(json!(i), "x"),
                json!({"annotation": labels("a", &[("pos", 1.0)]), "metadata": {"k": i}}),
            )
        })
        .collect();
    records.push(with(
        text_record(json!(150), "x"),
        json!({"annotation": labels("a", &[("other", 1.0)]), "metadata": {"k": 150}}),
    ));
    scene
        .bulk(&scene.admin.api_key, &name, TC, Value::Array(records))
        .expect_json(
            400,
            &bad_request(
                "Provided records contain the other label, that is not included in the labels \
                 schema.\nPlease, annotate your records using labels defined in the labels schema.",
            ),
        );
    assert!(scene.records(&name).is_empty());
}

#[test]
fn entity_labels_outside_the_schema_are_refused_on_bulk() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TOKEN).expect(200);
    scene
        .call("PATCH", &settings_path(&name, TOKEN), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["PER"]}}))
        .send()
        .expect(200);
    let record = with(
        token_record(json!(1), "ab cd"),
        json!({"annotation": entities("a", &[(0, 2, "other")])}),
    );
    let answer = scene.bulk(&scene.admin.api_key, &name, TOKEN, json!([record]));
    answer.expect(400);
    assert_eq!(
        answer.json["detail"]["code"],
        "argilla.api.errors::BadRequestError"
    );
    assert!(scene.records(&name).is_empty());
}

#[test]
fn a_schema_must_cover_the_labels_already_logged() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(
        &name,
        TC,
        json!([with(
            text_record(json!(1), "x"),
            json!({"annotation": labels("a", &[("neutral", 1.0)])})
        )]),
    );
    scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos", "neg"]}}))
        .send()
        .expect_json(
            400,
            &bad_request(
                "The label neutral was found in the dataset but not in provided labels schema. \n\
                 Please, provide a valid labels schema according to stored records in the dataset",
            ),
        );
}

#[test]
fn settings_are_served_under_the_python_3_11_task_spellings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // §2.8: client 1.8 on Python ≥ 3.11 builds /TaskType.text_classification/settings.
    let scene = Scene::new();
    for (task, alias, label) in [
        (TC, "TaskType.text_classification", "pos"),
        (TOKEN, "TaskType.token_classification", "PER"),
    ] {
        let name = unique("ds");
        scene.create(&scene.admin.api_key, &name, task).expect(200);
        let aliased = settings_path(&name, alias);
        scene
            .call("GET", &aliased, &scene.admin.api_key)
            .send()
            .expect_json(404, &settings_not_found(&name, task));
        let want = json!({"label_schema": {"labels": [{"id": label, "name": label}]}});
        scene
            .call("PATCH", &aliased, &scene.admin.api_key)
            .json(&json!({"label_schema": {"labels": [label]}}))
            .send()
            .expect_json(200, &want);
        scene
            .call("GET", &settings_path(&name, task), &scene.admin.api_key)
            .send()
            .expect_json(200, &want);
        scene
            .call("GET", &aliased, &scene.admin.api_key)
            .send()
            .expect_json(200, &want);
        scene
            .call("DELETE", &aliased, &scene.admin.api_key)
            .send()
            .expect(200);
        scene
            .call("GET", &settings_path(&name, task), &scene.admin.api_key)
            .send()
            .expect_json(404, &settings_not_found(&name, task));
    }
}

#[test]
fn deleting_a_dataset_deletes_its_settings() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    scene
        .call("PATCH", &settings_path(&name, TC), &scene.admin.api_key)
        .json(&json!({"label_schema": {"labels": ["pos"]}}))
        .send()
        .expect(200);
    scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send()
        .expect(200);
    scene.create(&scene.admin.api_key, &name, TC).expect(200);
    scene
        .call("GET", &settings_path(&name, TC), &scene.admin.api_key)
        .send()
        .expect_json(404, &settings_not_found(&name, TC));
}

// ---- workspaces that hold datasets (API.md section 10) ---------------------------------------------

#[test]
fn a_workspace_that_holds_datasets_cannot_be_deleted() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let first = unique("ds");
    let second = unique("ds");
    scene.create(&scene.admin.api_key, &first, TC).expect(200);
    scene.log(&second, T2T, json!([text2text_record(json!(1), "x")]));
    let workspace_path = format!("/api/workspaces/{}", scene.workspace.id);
    let answer = t().delete(&workspace_path).key(DEFAULT_ADMIN_KEY).send();
    answer.expect(403);
    assert_eq!(
        answer.json["detail"]["code"],
        "argilla.api.errors::ForbiddenOperationError"
    );
    let sentence = answer.json["detail"]["params"]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(
        sentence.contains('2') && sentence.contains("delete them first"),
        "names the count and what to do: {sentence:?}"
    );
    scene.get(&first).expect(200);
    for name in [&first, &second] {
        scene
            .call("DELETE", &path(name), &scene.admin.api_key)
            .send()
            .expect(200);
    }
    t().delete(&workspace_path)
        .key(DEFAULT_ADMIN_KEY)
        .send()
        .expect(200);
}

// ---- audit (API.md section 10) -------------------------------------------------------------------

#[test]
fn dataset_creates_copies_deletes_and_record_deletes_are_audited() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(3);
    let copy = unique("copy");
    scene
        .call(
            "PUT",
            &format!("/api/datasets/{name}:copy"),
            &scene.admin.api_key,
        )
        .json(&json!({"name": copy}))
        .send()
        .expect(200);
    scene
        .call("DELETE", &data_path(&name, false), &scene.admin.api_key)
        .json(&json!({"ids": [1]}))
        .send()
        .expect(200);
    scene
        .call("DELETE", &path(&name), &scene.admin.api_key)
        .send()
        .expect(200);
    let ws = scene.ws();
    for (action, datasets) in [
        ("dataset.create", vec![&name]),
        // A copy's entry may name the source or the copy.
        ("dataset.copy", vec![&name, &copy]),
        ("dataset.records.delete", vec![&name]),
        ("dataset.delete", vec![&name]),
    ] {
        let mut entries: Vec<Value> = Vec::new();
        for dataset in datasets {
            for entry in audit_entries(action, ws, dataset) {
                if !entries.iter().any(|e| e["id"] == entry["id"]) {
                    entries.push(entry);
                }
            }
        }
        assert_eq!(
            entries.len(),
            1,
            "one {action} entry for {name}: {entries:?}"
        );
        assert_eq!(
            entries[0]["actor"],
            scene.admin.username.as_str(),
            "{action}"
        );
        assert!(
            entries[0]["at"].as_str().is_some_and(is_timestamp),
            "{:?}",
            entries[0]
        );
    }
}

#[test]
fn creating_a_dataset_through_the_create_endpoint_is_audited() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    scene.create(&scene.admin.api_key, &name, TOKEN).expect(200);
    let entries = audit_entries("dataset.create", scene.ws(), &name);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor_id"], scene.admin.id.as_str());
}

#[test]
fn a_refused_dataset_change_writes_no_audit_entry() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let (scene, name) = scene_with_records(1);
    let fresh = unique("ds");
    scene.create(&scene.member.api_key, &fresh, TC).expect(403);
    scene
        .call("DELETE", &path(&name), &scene.member.api_key)
        .send()
        .expect(403);
    scene
        .call("DELETE", &data_path(&name, false), &scene.member.api_key)
        .json(&json!({}))
        .send()
        .expect(403);
    assert!(audit_entries("dataset.create", scene.ws(), &fresh).is_empty());
    assert!(audit_entries("dataset.delete", scene.ws(), &name).is_empty());
    assert!(audit_entries("dataset.records.delete", scene.ws(), &name).is_empty());
}

// ---- concurrent bulks (API.md section 10: a bulk is atomic) ----------------------------------------

const RACERS: usize = 8;

/// Runs `request(i)` for i in 0..RACERS from threads released at the same moment.
fn race(request: impl Fn(usize) -> Answer + Sync) -> Vec<Answer> {
    let barrier = Barrier::new(RACERS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let (barrier, request) = (&barrier, &request);
                scope.spawn(move || {
                    barrier.wait();
                    request(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racer finished"))
            .collect()
    })
}

#[test]
fn parallel_bulks_into_a_new_dataset_create_it_once_and_keep_every_record() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    let scene = Scene::new();
    let name = unique("ds");
    let answers = race(|i| {
        scene.bulk(
            &scene.admin.api_key,
            &name,
            TC,
            text_records(i as u64 * 10, 3),
        )
    });
    for answer in &answers {
        answer.expect_json(200, &json!({"dataset": name, "processed": 3, "failed": 0}));
    }
    assert_eq!(scene.records(&name).len(), RACERS * 3);
    assert_eq!(audit_entries("dataset.create", scene.ws(), &name).len(), 1);
}

#[test]
fn parallel_re_logs_of_one_record_merge_every_metadata_key() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // The deep merge is read-merge-write of the stored record: no lost update.
    let (scene, name) = scene_with_records(1);
    let answers = race(|i| {
        let record = with(
            text_record(json!(1), "text 1"),
            json!({"metadata": {format!("k{i}"): i}}),
        );
        scene.bulk(&scene.member.api_key, &name, TC, json!([record]))
    });
    for answer in &answers {
        answer.expect(200);
    }
    let metadata = scene.record(&name, "1")["metadata"].clone();
    let mut got: Vec<&str> = keys(&metadata);
    got.sort_unstable();
    let want: Vec<String> = (0..RACERS).map(|i| format!("k{i}")).collect();
    assert_eq!(got, want, "{metadata}");
}

#[test]
fn parallel_bulks_count_metadata_keys_together() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // 8 bulks of 7 new keys each onto 0 stored: at most 7 of them fit under 50 keys.
    let (scene, name) = scene_with_records(1);
    let answers = race(|i| {
        let metadata: serde_json::Map<String, Value> =
            (0..7).map(|k| (format!("r{i}k{k}"), json!(k))).collect();
        let record = with(
            text_record(json!(100 + i), "x"),
            json!({"metadata": metadata}),
        );
        scene.bulk(&scene.admin.api_key, &name, TC, json!([record]))
    });
    let accepted = answers.iter().filter(|a| a.status == 200).count();
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.expect(400);
        assert_eq!(
            answer.json["detail"]["code"],
            "argilla.api.errors::MetadataLimitExceededError"
        );
    }
    assert_eq!(accepted, 7, "7 × 7 = 49 keys fit, the eighth bulk does not");
    assert_eq!(scene.records(&name).len(), 1 + accepted);
}

#[test]
fn the_task_search_and_vector_search_are_400_naming_what_needs_a_search_engine() {
    if !datasets_here() {
        eprintln!("skipped: this host does not offer datasets yet");
        return;
    }
    // research §2.3 / §8.1 #9: `rg.load(vector=...)` posts to `{Task}:search`.
    let scene = Scene::new();
    let name = unique("ds");
    scene.log(&name, TC, json!([text_record(json!(1), "hello")]));
    for task in [TC, "TaskType.text_classification"] {
        let answer = scene
            .call(
                "POST",
                &format!("/api/datasets/{name}/{task}:search"),
                &scene.admin.api_key,
            )
            .json(&json!({"query": {"vector": {"name": "v", "value": [0.1, 0.2]}}}))
            .send();
        answer.expect(400);
        let message = answer.json["detail"]["params"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.starts_with("vector is not supported"),
            "{}",
            answer.text()
        );
    }
    let plain = scene
        .call(
            "POST",
            &format!("/api/datasets/{name}/{TC}:search"),
            &scene.admin.api_key,
        )
        .json(&json!({}))
        .send();
    plain.expect(400);
    // Another task than the dataset's: Argilla's WrongTaskError first.
    scene
        .call(
            "POST",
            &format!("/api/datasets/{name}/{TOKEN}:search"),
            &scene.admin.api_key,
        )
        .json(&json!({}))
        .send()
        .expect_json(400, &wrong_task(TOKEN));
}

#[test]
fn feedback_datasets_are_an_empty_list() {
    // Client 1.29 lists them after any error of the v0 dataset API.
    let answer = t().get("/api/v1/datasets").key(DEFAULT_ADMIN_KEY).send();
    answer.expect_json(200, &json!({"items": []}));
    t().get("/api/v1/datasets").send().expect(401);
}
