// @ts-check
// Small building blocks shared by the views: form fields, error and notice boxes, tables,
// dialogs and the one-time API key panel. Everything is built with el() (text, never HTML).

import { append, el, uid } from "./dom.js";

/** @typedef {import("./dom.js").Child} Child */

/**
 * A labelled control; `input` is the control itself.
 * @typedef {HTMLDivElement & {input: HTMLInputElement | HTMLSelectElement}} Field
 */

/**
 * A labelled input (or <select> when `options` is given).
 * @param {object} spec
 * @param {string} spec.label
 * @param {string} spec.name
 * @param {string} [spec.type]
 * @param {string} [spec.value]
 * @param {boolean} [spec.required]
 * @param {string} [spec.autocomplete]
 * @param {string} [spec.hint]
 * @param {[value: string, text: string][]} [spec.options]
 * @returns {Field}
 */
export function field({ label, name, type = "text", value = "", required = false, autocomplete, hint, options }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : undefined;
  /** @type {HTMLInputElement | HTMLSelectElement} */
  let control;
  if (options) {
    control = el("select", { id, name, required, "aria-describedby": hintId },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
  } else {
    control = el("input", { id, name, type, required, autocomplete, "aria-describedby": hintId, spellcheck: type === "text" ? "false" : undefined });
    control.value = value ?? "";
  }
  const wrapper = el("div", { class: "field" },
    el("label", { for: id }, label, required || options ? null : el("span", { class: "optional" }, " (optional)")),
    control,
    hint ? el("p", { class: "hint", id: hintId }, hint) : null);
  return Object.assign(wrapper, { input: control });
}

/**
 * What errorBox() shows: an ApiError, an Error, or a form's own {message, items}.
 * @typedef {{message?: string, items?: string[]} | Error | unknown} Problem
 */

/**
 * A box that shows an error: its message, and the 422 items as a list.
 * @param {Problem} error
 */
export function errorBox(error) {
  const e = /** @type {{message?: unknown, items?: unknown}} */ (error ?? {});
  const items = Array.isArray(e.items) ? e.items : [];
  return el("div", { class: "alert error", role: "alert" },
    el("p", {}, typeof e.message === "string" && e.message ? e.message : String(error)),
    items.length ? el("ul", {}, items.map((item) => el("li", {}, String(item)))) : null);
}

/**
 * A success or information box.
 * @param {string} text
 * @param {"success" | "info"} [kind]
 */
export function notice(text, kind = "success") {
  return el("div", { class: `alert ${kind}`, role: "status" }, text);
}

/**
 * A card's slot for its own messages: show(nodes...) replaces them, clear() removes them. Every
 * card that can succeed or fail has one, so a message lands in the card it is about.
 * @typedef {HTMLDivElement & {show: (...nodes: Child[]) => void, clear: () => void}} MessageSlot
 */

/**
 * @param {string} [testid] names the slot for tests (data-testid)
 * @returns {MessageSlot}
 */
export function messageSlot(testid) {
  const slot = el("div", { class: "messages", "aria-live": "polite", "data-testid": testid });
  return Object.assign(slot, {
    /** @param {...Child} nodes */
    show: (...nodes) => { slot.replaceChildren(); append(slot, nodes); },
    clear: () => slot.replaceChildren(),
  });
}

/**
 * @param {string} text
 * @param {string} [kind]
 */
export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind}`.trim() }, text);
}

/**
 * A table column: its heading and how a row's cell is drawn.
 * @template Row
 * @typedef {{label: string, cell: (row: Row) => Child, class?: string}} Column
 */

/**
 * A table. `empty`: the text shown when there are no rows.
 * @template Row
 * @param {{columns: Column<Row>[], rows: Row[], empty: string, caption?: string, testid?: string}} spec
 */
export function table({ columns, rows, empty, caption, testid }) {
  if (!rows.length) return el("p", { class: "empty", "data-testid": testid ? `${testid}-empty` : undefined }, empty);
  return el("div", { class: "table-wrap" },
    el("table", { "data-testid": testid },
      caption ? el("caption", { class: "visually-hidden" }, caption) : null,
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.class }, c.label)))),
      el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => el("td", { class: c.class }, c.cell(row))))))));
}

/**
 * @param {string} label
 * @param {(event: MouseEvent) => unknown} onclick
 * @param {{kind?: string, type?: "button" | "submit", testid?: string, label?: string}} [options]
 *   `label`: the accessible name, when the visible one is not enough
 */
export function button(label, onclick, { kind = "secondary", type = "button", testid, label: aria } = {}) {
  return el("button", { type, class: `btn ${kind}`, onclick, "data-testid": testid, "aria-label": aria }, label);
}

/**
 * Disables a form's controls while `work` runs.
 * @template T
 * @param {HTMLElement} form
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(form, work) {
  /** @type {(HTMLButtonElement | HTMLInputElement | HTMLSelectElement)[]} */
  const controls = [...form.querySelectorAll("button, input, select")].map((c) => /** @type {HTMLButtonElement} */ (c));
  const was = controls.map((c) => c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    controls.forEach((c, i) => { c.disabled = was[i]; });
    form.removeAttribute("aria-busy");
  }
}

/**
 * A modal dialog with a form. `body`: nodes shown above the buttons. `onSubmit(form)` runs on
 * submit; when it resolves the dialog closes with its value; when it throws, the error shows
 * in the dialog and it stays open. Resolves to the value, or null when cancelled.
 * @param {object} spec
 * @param {string} spec.title
 * @param {Child[]} [spec.body]
 * @param {string} [spec.submitLabel]
 * @param {string} [spec.kind]
 * @param {(form: HTMLFormElement) => Promise<unknown>} [spec.onSubmit]
 * @param {string} [spec.testid]
 * @returns {Promise<unknown>}
 */
export function dialog({ title, body = [], submitLabel = "Save", kind = "primary", onSubmit = async () => true, testid }) {
  return new Promise((resolve) => {
    const messages = messageSlot();
    const titleId = uid("dlg");
    const cancel = button("Cancel", () => finish(null));
    const form = el("form", { method: "dialog", class: "dialog-form" },
      el("h2", { id: titleId }, title),
      body,
      messages,
      el("div", { class: "actions" }, cancel, el("button", { type: "submit", class: `btn ${kind}`, "data-testid": "dialog-submit" }, submitLabel)));
    const dlg = el("dialog", { "aria-labelledby": titleId, "data-testid": testid }, form);
    let done = false;
    /** @param {unknown} value */
    function finish(value) {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(value);
    }
    dlg.addEventListener("cancel", (e) => { e.preventDefault(); finish(null); });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      messages.clear();
      try {
        const value = await busy(form, () => onSubmit(form));
        finish(value ?? true);
      } catch (err) {
        messages.show(errorBox(err));
      }
    });
    document.body.append(dlg);
    dlg.showModal();
    /** @type {HTMLElement | null} */
    const first = form.querySelector("input, select") ?? form.querySelector("button[type=submit]");
    first?.focus();
  });
}

/**
 * Asks for confirmation; resolves true when confirmed (after `action` succeeded, if given).
 * @param {{title: string, message: string, confirmLabel?: string, action?: () => Promise<unknown>, testid?: string}} spec
 * @returns {Promise<boolean>}
 */
export function confirm({ title, message, confirmLabel = "Delete", action, testid }) {
  return dialog({
    title,
    body: [el("p", {}, message)],
    submitLabel: confirmLabel,
    kind: "danger",
    testid,
    onSubmit: async () => {
      if (action) await action();
      return true;
    },
  }).then((v) => v === true);
}

/**
 * Shows a freshly issued API key once: the key, a copy button, and how to use it with the
 * Argilla Python client.
 * @param {{key: string, username: string, workspace: string, heading?: string}} spec
 */
export function oneTimeKey({ key, username, workspace, heading = "New API key" }) {
  const keyBox = el("code", { class: "key", tabindex: "0", "aria-label": `API key of ${username}`, "data-testid": "one-time-key" }, key);
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(keyBox);
    getSelection()?.removeAllRanges();
    getSelection()?.addRange(range);
  };
  keyBox.addEventListener("focus", select);
  const status = el("span", { class: "copy-status", "aria-live": "polite" });
  const copy = button("Copy", async () => {
    select();
    try {
      await navigator.clipboard.writeText(key);
      status.textContent = "Copied.";
    } catch {
      // No clipboard permission (plain http, old browser): the key is selected for Ctrl+C.
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  }, { kind: "primary", testid: "copy-key" });
  const snippet = [
    "import argilla as rg",
    "",
    "rg.init(",
    `    api_url=${JSON.stringify(location.origin)},`,
    `    api_key=${JSON.stringify(key)},`,
    `    workspace=${JSON.stringify(workspace)},`,
    ")",
  ].join("\n");
  return el("section", { class: "card key-card", "aria-label": heading, "data-testid": "key-card", tabindex: "-1" },
    el("h3", {}, heading),
    el("p", {}, "Copy it now: it is shown only once, and it cannot be looked up later. ",
      "It works in place of a password for scripts and the Python client; anyone who has it acts as ",
      el("strong", {}, username), "."),
    el("div", { class: "key-row" }, keyBox, copy, status),
    el("p", {}, "To use it with the Argilla Python client:"),
    el("pre", { class: "code" }, el("code", {}, snippet)),
    el("p", { class: "hint" }, "Or send it in the ", el("code", {}, "X-Argilla-Api-Key"), " header of HTTP requests."));
}

/**
 * "2023-03-16T11:11:59.871532" (naive UTC) → a short local date and time.
 * @param {unknown} ts
 */
export function formatTime(ts) {
  if (typeof ts !== "string") return "";
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`);
  if (Number.isNaN(d.getTime())) return ts;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
