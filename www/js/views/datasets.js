// @ts-check
// Datasets (Argilla 1.8's dataset API, API.md section 10): the datasets of one workspace at a
// time (#/datasets/<workspace>, picked among the workspaces the user can access), each with its
// record count; a dataset's page (#/datasets/<workspace>/<name>) with its facts, a preview of
// its first records, Copy and Delete. Which controls show is asked of the access model
// (app.subject.can: deleteDataset needs the dataset's creator, copyDataset a target workspace);
// the server refuses whatever it should anyway, and its answer shows in the card it is about.
//
// Picking another workspace or opening a dataset is a route change, so a slow answer for the
// workspace or dataset the user has left never replaces the one on screen (main.js's Render):
// its reads, scans included, are cancelled.
//
// A host without datasets answers the dataset API 501 (GenericServerError "NotImplemented");
// the view then says "Datasets are not available on this server".

import { ApiError } from "../api.js";
import { el, replace } from "../dom.js";
import { NAME_HINT, formProblems, nameProblem } from "../rules.js";
import { badge, busy, button, confirm, errorBox, field, formatTime, messageSlot, notice, table } from "../ui.js";

/** @typedef {import("../main.js").Render} Render */
/** @typedef {import("../dom.js").Child} Child */

/**
 * A dataset as GET /api/datasets lists it (research/argilla-datasets.md §4.1).
 * @typedef {object} DatasetOut
 * @property {string} name
 * @property {string} task TextClassification | TokenClassification | Text2Text | ...
 * @property {string} workspace
 * @property {string} id "<workspace>.<name>"
 * @property {string} [owner]
 * @property {Record<string, string>} [tags]
 * @property {Record<string, unknown>} [metadata]
 * @property {string} [created_at]
 * @property {string | null} [created_by] missing when unknown
 * @property {string} [last_updated]
 */

/**
 * A record as the scan returns it (§4.3.3); only what the preview shows is typed.
 * @typedef {object} RecordOut
 * @property {string | number} id
 * @property {string} [text]
 * @property {Record<string, unknown>} [inputs]
 * @property {string} [status]
 * @property {Annotation | null} [annotation]
 *
 * @typedef {object} Annotation
 * @property {string} [agent]
 * @property {{class_label?: string, class?: string}[]} [labels] TextClassification
 * @property {{label?: string}[]} [entities] TokenClassification
 * @property {{text?: string}[]} [sentences] Text2Text
 *
 * @typedef {{records?: RecordOut[], next_idx?: string | null}} ScanPage
 */

/**
 * How records are counted: GET /api/datasets does not say how many a dataset has, so the view
 * scans its ids (`fields: ["id"]`), COUNT_PAGE at a time, following `next_idx` until an empty or
 * short page (the scan returns fewer than `limit` records only at the end). It stops once it
 * has seen COUNT_CAP records and shows "10,000+" (at least that many): ten requests per dataset
 * at most, so that a workspace of big datasets stays quick to list. The exact count of a bigger
 * dataset is not shown anywhere; the counts run one dataset after the other, after the list
 * is on screen.
 */
const COUNT_PAGE = 1000;
const COUNT_CAP = 10000;
/** The preview shows the first records, in id order. */
const PREVIEW = 5;
/** A preview's text is cut after this many characters. */
const PREVIEW_TEXT = 300;

/**
 * What a re-render shows in the list's card (after a delete, here or on the dataset's page).
 * @typedef {{list?: Child[]}} Flash
 */

/**
 * A message for the list of one workspace, left by the dataset page before it went back to
 * the list (after deleting the dataset); the next list render of that workspace shows it.
 * @type {{workspace: string, nodes: Child[]} | null}
 */
let pending = null;

/** @param {unknown} e */
function unavailable(e) {
  return e instanceof ApiError && e.status === 501;
}

/** The view a host without datasets shows. */
function unavailableView() {
  return [
    el("h1", {}, "Datasets"),
    el("section", { class: "card", "data-testid": "datasets-unavailable" },
      notice("Datasets are not available on this server.", "info")),
  ];
}

/** @param {string} workspace */
const wsHeader = (workspace) => ({ "X-Argilla-Workspace": workspace });

/** @param {string} name */
const dsPath = (name) => `/api/datasets/${encodeURIComponent(name)}`;

/**
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {Flash} [flash]
 */
export async function render(app, main, flash = {}) {
  const [, ws, name] = location.hash.replace(/^#\/?/, "").split("/").map((part) => decodeURIComponent(part ?? ""));
  const s = app.subject;
  const workspaces = s.workspaces().filter((workspace) => s.can("listDatasets", { workspace }));
  const workspace = ws || workspaces[0];
  if (!workspace) {
    replace(main, el("h1", {}, "Datasets"), el("p", { class: "empty" }, "You cannot access any workspace yet."));
    return;
  }
  if (name) return renderDataset(app, main, workspace, name);
  return renderList(app, main, workspaces, workspace, flash);
}

/**
 * The datasets of one workspace.
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {string[]} workspaces the workspaces the picker offers
 * @param {string} workspace the one shown
 * @param {Flash} flash
 */
async function renderList(app, main, workspaces, workspace, flash) {
  const s = app.subject;
  /** @type {DatasetOut[]} */
  let datasets;
  try {
    datasets = await app.api("GET", `/api/datasets?workspace=${encodeURIComponent(workspace)}`);
  } catch (e) {
    if (unavailable(e)) return void replace(main, ...unavailableView());
    throw e;
  }
  const listMessages = messageSlot("datasets-messages");
  if (pending && pending.workspace === workspace) listMessages.show(pending.nodes);
  pending = null;
  if (flash.list) listMessages.show(flash.list);

  /** @type {Map<string, HTMLElement>} */
  const counts = new Map(datasets.map((d) => [d.name, el("span", { class: "muted", "data-testid": `count-${d.name}` }, "counting…")]));
  /** @param {DatasetOut} d */
  const deletable = (d) => s.can("deleteDataset", { workspace: d.workspace, createdBy: d.created_by ?? null });

  /** @type {import("../ui.js").Column<DatasetOut>[]} */
  const columns = [
    { label: "Name", cell: (d) => el("a", { href: `#/datasets/${encodeURIComponent(workspace)}/${encodeURIComponent(d.name)}`, class: "ws-name", "data-testid": `open-ds-${d.name}` }, d.name) },
    { label: "Task", cell: (d) => d.task },
    { label: "Records", cell: (d) => counts.get(d.name) ?? "", class: "nowrap" },
    { label: "Created by", cell: (d) => creator(d) },
    { label: "Last updated", cell: (d) => formatTime(d.last_updated), class: "nowrap" },
  ];
  if (datasets.some(deletable)) {
    columns.push({
      label: "Actions",
      class: "actions-col",
      cell: (d) => deletable(d)
        ? button("Delete", () => remove(d), { kind: "danger small", testid: `delete-ds-${d.name}`, label: `Delete dataset ${d.name}` })
        : null,
    });
  }

  /** @param {DatasetOut} d */
  async function remove(d) {
    listMessages.clear();
    try {
      const ok = await confirmDelete(app, d);
      if (ok) await renderList(app, main, workspaces, workspace, { list: [notice(`Dataset “${d.name}” was deleted.`)] });
    } catch (err) {
      listMessages.show(errorBox(err));
    }
  }

  const picker = field({
    label: "Workspace",
    name: "workspace",
    value: workspace,
    options: (workspaces.includes(workspace) ? workspaces : [workspace, ...workspaces]).map((w) => /** @type {[string, string]} */ ([w, w])),
  });
  picker.input.addEventListener("change", () => app.navigate(`datasets/${encodeURIComponent(picker.input.value)}`));
  const pickerForm = el("form", { class: "inline-form picker", "data-testid": "datasets-workspace-form" }, picker);
  pickerForm.addEventListener("submit", (e) => e.preventDefault());

  replace(main,
    el("h1", {}, "Datasets"),
    el("section", { class: "card", "aria-labelledby": "ds-list-title", "data-testid": "datasets-card" },
      pickerForm,
      el("h2", { id: "ds-list-title" }, "Datasets in ", el("span", { class: "ws-name", "data-testid": "datasets-workspace" }, workspace), ` (${datasets.length})`),
      listMessages,
      table({
        columns,
        rows: datasets,
        empty: "This workspace has no datasets yet. Log records into it with the Argilla Python client (rg.log).",
        caption: `Datasets in ${workspace}`,
        testid: "datasets-table",
      })));

  // The counts, one dataset after the other (at most COUNT_CAP / COUNT_PAGE requests each).
  for (const d of datasets) {
    const cell = /** @type {HTMLElement} */ (counts.get(d.name));
    if (!app.current || !cell.isConnected) return;
    await showCount(app, d, cell);
  }
}

/**
 * Counts a dataset's records into `cell` (see COUNT_PAGE); an error shows in the cell.
 * @param {Render} app
 * @param {DatasetOut} d
 * @param {HTMLElement} cell
 */
async function showCount(app, d, cell) {
  try {
    const { count, more } = await countRecords(app, d, () => cell.isConnected);
    replace(cell, more ? `${COUNT_CAP.toLocaleString()}+` : count.toLocaleString());
    cell.classList.remove("muted");
  } catch (e) {
    if (!app.current) return;
    const message = e instanceof Error ? e.message : String(e);
    replace(cell, el("span", { title: message }, "unknown"));
  }
}

/**
 * @param {Render} app
 * @param {DatasetOut} d
 * @param {() => boolean} wanted whether the count is still shown (stops when not)
 * @returns {Promise<{count: number, more: boolean}>} `more`: over COUNT_CAP records
 */
async function countRecords(app, d, wanted) {
  let count = 0;
  /** @type {string | null} */
  let after = null;
  while (wanted()) {
    /** @type {Record<string, unknown>} */
    const body = { fields: ["id"] };
    if (after !== null) body.next_idx = after;
    /** @type {ScanPage} */
    const page = await app.api("POST", `${dsPath(d.name)}/records/:search?limit=${COUNT_PAGE}`, { json: body, headers: wsHeader(d.workspace), read: true });
    const records = Array.isArray(page?.records) ? page.records : [];
    count += records.length;
    if (count >= COUNT_CAP) return { count: COUNT_CAP, more: true };
    if (records.length < COUNT_PAGE || typeof page.next_idx !== "string") break;
    after = page.next_idx;
  }
  return { count, more: false };
}

/** @param {DatasetOut} d */
function creator(d) {
  return d.created_by ? d.created_by : el("span", { class: "muted" }, "unknown");
}

/**
 * The confirmation dialog, then DELETE /api/datasets/{name}. Resolves true once deleted.
 * @param {Render} app
 * @param {DatasetOut} d
 */
function confirmDelete(app, d) {
  return confirm({
    title: `Delete dataset “${d.name}”?`,
    message: `Its records and settings are deleted from workspace “${d.workspace}”. This cannot be undone.`,
    testid: "confirm-delete-dataset",
    action: () => app.api("DELETE", dsPath(d.name), { headers: wsHeader(d.workspace) }),
  });
}

/**
 * One dataset (#/datasets/<workspace>/<name>): its facts, the first records, Copy and Delete.
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {string} workspace
 * @param {string} name
 */
async function renderDataset(app, main, workspace, name) {
  const s = app.subject;
  /** @type {DatasetOut} */
  let d;
  try {
    d = await app.api("GET", dsPath(name), { headers: wsHeader(workspace) });
  } catch (e) {
    if (unavailable(e)) return void replace(main, ...unavailableView());
    throw e;
  }
  const listHref = `#/datasets/${encodeURIComponent(workspace)}`;
  const count = el("span", { class: "muted", "data-testid": "dataset-count" }, "counting…");
  const tags = Object.entries(d.tags ?? {});
  /**
   * @param {string} term
   * @param {Child} value
   * @param {string} [testid]
   */
  const row = (term, value, testid) => [el("dt", {}, term), el("dd", { "data-testid": testid }, value)];
  const facts = el("section", { class: "card", "aria-labelledby": "ds-facts-title", "data-testid": "dataset-card" },
    el("h2", { id: "ds-facts-title" }, "About"),
    el("dl", { class: "facts" },
      row("Workspace", d.workspace),
      row("Task", d.task, "dataset-task"),
      row("Records", count),
      row("Created by", creator(d), "dataset-created-by"),
      row("Created", formatTime(d.created_at)),
      row("Last updated", formatTime(d.last_updated)),
      tags.length ? row("Tags", el("span", { class: "tags" }, tags.map(([k, v]) => el("span", { class: "tag" }, `${k}: ${v}`)))) : null));

  const previewMessages = messageSlot("preview-messages");
  const previewBody = el("div", {}, el("p", { class: "loading" }, "Loading…"));
  const preview = el("section", { class: "card", "aria-labelledby": "ds-preview-title", "data-testid": "preview-card" },
    el("h2", { id: "ds-preview-title" }, "First records"),
    el("p", { class: "muted" }, `The first ${PREVIEW} records, in id order.`),
    previewMessages, previewBody);

  const targets = s.workspaces().filter((to) => s.can("copyDataset", { from: d.workspace, to }));
  const mayDelete = s.can("deleteDataset", { workspace: d.workspace, createdBy: d.created_by ?? null });

  replace(main,
    el("p", { class: "crumbs" }, el("a", { href: listHref, "data-testid": "back-to-datasets" }, `← Datasets in ${workspace}`)),
    el("h1", {}, "Dataset ", el("span", { class: "ws-name", "data-testid": "dataset-title" }, d.name)),
    el("div", { class: "grid" }, facts, targets.length ? copyCard(app, d, targets) : null),
    preview,
    mayDelete ? deleteCard(app, d, listHref) : null);

  // The preview, then the count; each says what went wrong in its own place.
  try {
    /** @type {ScanPage} */
    const page = await app.api("POST", `${dsPath(d.name)}/records/:search?limit=${PREVIEW}`, { json: {}, headers: wsHeader(d.workspace), read: true });
    replace(previewBody, previewTable(Array.isArray(page?.records) ? page.records : []));
  } catch (e) {
    if (!app.current) return;
    replace(previewBody);
    previewMessages.show(errorBox(e));
  }
  await showCount(app, d, count);
}

/** @param {RecordOut[]} records */
function previewTable(records) {
  return table({
    columns: [
      { label: "ID", cell: (r) => el("code", {}, String(r.id)), class: "nowrap" },
      { label: "Text", cell: (r) => el("span", { class: "record-text" }, recordText(r)) },
      { label: "Status", cell: (r) => (r.status ? badge(r.status, r.status === "Validated" ? "personal" : "") : "") },
      { label: "Annotation", cell: (r) => annotationCell(r.annotation) },
    ],
    rows: records,
    empty: "This dataset has no records yet.",
    caption: "First records",
    testid: "preview-table",
  });
}

/**
 * A record's text: `text`, or its `inputs` joined (TextClassification), cut after PREVIEW_TEXT
 * characters.
 * @param {RecordOut} r
 */
function recordText(r) {
  let text = typeof r.text === "string" ? r.text : "";
  if (!text && r.inputs && typeof r.inputs === "object") {
    text = Object.values(r.inputs).map((v) => (Array.isArray(v) ? v.join("\n") : String(v))).join("\n");
  }
  const chars = [...text];
  return chars.length > PREVIEW_TEXT ? `${chars.slice(0, PREVIEW_TEXT).join("")}…` : text;
}

/**
 * The annotation's labels (TextClassification), entity labels (TokenClassification) or
 * sentences (Text2Text), and who annotated.
 * @param {Annotation | null | undefined} a
 */
function annotationCell(a) {
  if (!a || typeof a !== "object") return el("span", { class: "muted" }, "none");
  /** @type {string[]} */
  const labels = [
    ...(Array.isArray(a.labels) ? a.labels.map((l) => l?.class_label ?? l?.class) : []),
    ...(Array.isArray(a.entities) ? a.entities.map((e) => e?.label) : []),
    ...(Array.isArray(a.sentences) ? a.sentences.map((t) => t?.text) : []),
  ].filter(/** @returns {l is string} */ (l) => typeof l === "string");
  return [
    labels.length ? el("span", { class: "tags" }, labels.map((l) => el("span", { class: "tag" }, l))) : el("span", { class: "muted" }, "no labels"),
    a.agent ? el("span", { class: "muted" }, ` by ${a.agent}`) : null,
  ];
}

/**
 * The Copy card: a new name and a target workspace (those copyDataset allows); what the copy
 * said shows in the card.
 * @param {Render} app
 * @param {DatasetOut} d
 * @param {string[]} targets
 */
function copyCard(app, d, targets) {
  const name = field({ label: "Name of the copy", name: "name", required: true, hint: NAME_HINT, autocomplete: "off" });
  const target = field({
    label: "Target workspace",
    name: "target_workspace",
    value: targets.includes(d.workspace) ? d.workspace : targets[0],
    options: targets.map((w) => /** @type {[string, string]} */ ([w, w])),
  });
  const messages = messageSlot("copy-messages");
  const form = el("form", { class: "stack", "data-testid": "copy-form" },
    name, target,
    el("div", { class: "actions start" }, el("button", { type: "submit", class: "btn primary" }, "Copy dataset")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    const value = name.input.value.trim();
    const to = target.input.value;
    const problems = formProblems([nameProblem("Name of the copy", value)]);
    if (problems) {
      messages.show(errorBox(problems));
      name.input.focus();
      return;
    }
    try {
      /** @type {DatasetOut} */
      const copy = await busy(form, () => app.api("PUT", `${dsPath(d.name)}:copy`, { json: { name: value, target_workspace: to }, headers: wsHeader(d.workspace) }));
      name.input.value = "";
      const ws = copy?.workspace ?? to;
      const copyName = copy?.name ?? value;
      messages.show(
        notice(`Copied to “${copyName}” in workspace “${ws}”.`),
        el("p", {}, el("a", { href: `#/datasets/${encodeURIComponent(ws)}/${encodeURIComponent(copyName)}`, "data-testid": "open-copy" }, "Open the copy")));
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "ds-copy-title", "data-testid": "copy-card" },
    el("h2", { id: "ds-copy-title" }, "Copy"),
    el("p", { class: "muted" }, "The copy gets the records, tags and metadata of this dataset, and you as its creator."),
    form, messages);
}

/**
 * The Delete card; after deleting, the list of the workspace says so.
 * @param {Render} app
 * @param {DatasetOut} d
 * @param {string} listHref
 */
function deleteCard(app, d, listHref) {
  const messages = messageSlot("delete-messages");
  const remove = button("Delete dataset", async () => {
    messages.clear();
    try {
      if (!(await confirmDelete(app, d))) return;
      pending = { workspace: d.workspace, nodes: [notice(`Dataset “${d.name}” was deleted.`)] };
      app.navigate(listHref.slice(2));
    } catch (err) {
      messages.show(errorBox(err));
    }
  }, { kind: "danger", testid: "delete-dataset", label: `Delete dataset ${d.name}` });
  return el("section", { class: "card", "aria-labelledby": "ds-delete-title", "data-testid": "delete-card" },
    el("h2", { id: "ds-delete-title" }, "Delete"),
    el("p", {}, "Deleting a dataset deletes its records and settings. This cannot be undone."),
    el("div", { class: "actions start" }, remove),
    messages);
}
