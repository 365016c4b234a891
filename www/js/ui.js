// Small building blocks shared by the views: form fields, error and notice boxes, tables,
// dialogs and the one-time API key panel. Everything is built with el() (text, never HTML).

import { el, uid } from "./dom.js";

/** A labelled input (or <select> when `options` is given). Returns the wrapper; `.input` is the control. */
export function field({ label, name, type = "text", value = "", required = false, autocomplete, hint, options, minlength, maxlength, pattern }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : undefined;
  let control;
  if (options) {
    control = el("select", { id, name, required, "aria-describedby": hintId },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text)));
  } else {
    control = el("input", { id, name, type, required, autocomplete, minlength, maxlength, pattern, "aria-describedby": hintId, spellcheck: type === "text" ? "false" : undefined });
    control.value = value ?? "";
  }
  const wrapper = el("div", { class: "field" },
    el("label", { for: id }, label, required || options ? null : el("span", { class: "optional" }, " (optional)")),
    control,
    hint ? el("p", { class: "hint", id: hintId }, hint) : null);
  wrapper.input = control;
  return wrapper;
}

/** A box that shows an error: its message, and the 422 items as a list. */
export function errorBox(error) {
  const items = Array.isArray(error?.items) ? error.items : [];
  return el("div", { class: "alert error", role: "alert" },
    el("p", {}, error?.message || String(error)),
    items.length ? el("ul", {}, items.map((item) => el("li", {}, item))) : null);
}

/** A success or information box. */
export function notice(text, kind = "success") {
  return el("div", { class: `alert ${kind}`, role: "status" }, text);
}

/** A slot for messages under a form: show(error|notice), clear(). */
export function messageSlot() {
  const slot = el("div", { class: "messages", "aria-live": "polite" });
  slot.show = (node) => slot.replaceChildren(node);
  slot.clear = () => slot.replaceChildren();
  return slot;
}

export function badge(text, kind = "") {
  return el("span", { class: `badge ${kind}`.trim() }, text);
}

/**
 * A table. `columns`: [{label, cell: row => node|string, class?}]; `empty`: the text shown
 * when there are no rows.
 */
export function table({ columns, rows, empty, caption, testid }) {
  if (!rows.length) return el("p", { class: "empty", "data-testid": testid ? `${testid}-empty` : undefined }, empty);
  return el("div", { class: "table-wrap" },
    el("table", { "data-testid": testid },
      caption ? el("caption", { class: "visually-hidden" }, caption) : null,
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", class: c.class }, c.label)))),
      el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => el("td", { class: c.class }, c.cell(row))))))));
}

export function button(label, onclick, { kind = "secondary", type = "button", testid, label: aria } = {}) {
  return el("button", { type, class: `btn ${kind}`, onclick, "data-testid": testid, "aria-label": aria }, label);
}

/** Disables a form's controls while `work` runs. */
export async function busy(form, work) {
  const controls = [...form.querySelectorAll("button, input, select")];
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
    const first = form.querySelector("input, select");
    (first ?? form.querySelector("button[type=submit]")).focus();
  });
}

/** Asks for confirmation; resolves true when confirmed (after `action` succeeded, if given). */
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
 */
export function oneTimeKey({ key, username, workspace, heading = "New API key" }) {
  const keyBox = el("code", { class: "key", tabindex: "0", "aria-label": `API key of ${username}`, "data-testid": "one-time-key" }, key);
  const select = () => {
    const range = document.createRange();
    range.selectNodeContents(keyBox);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
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

/** "2023-03-16T11:11:59.871532" (naive UTC) → a short local date and time. */
export function formatTime(ts) {
  if (typeof ts !== "string") return "";
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? ts : `${ts}Z`);
  if (Number.isNaN(d.getTime())) return ts;
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
