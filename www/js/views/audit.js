// @ts-check
// The audit log (admins): GET /api/audit, newest first, a page at a time.

import { el, replace } from "../dom.js";
import { busy, button, errorBox, formatTime, messageSlot, table } from "../ui.js";

/** @typedef {import("../main.js").Render} Render */
/** @typedef {import("../api.js").AuditEntry} AuditEntry */

const PAGE = 50;

/** @type {Record<string, string>} */
const ACTIONS = {
  "user.create": "created user",
  "user.update": "updated user",
  "user.delete": "deleted user",
  "user.password.change": "changed own password",
  "user.password.reset": "reset the password of",
  "user.api_key.rotate": "issued a new API key for",
  "workspace.create": "created workspace",
  "workspace.delete": "deleted workspace",
  "workspace.member.add": "added a member to",
  "workspace.member.remove": "removed a member from",
  "dump.export": "exported a dump of",
  "dump.import": "imported a dump into",
};

/**
 * @param {Render} app
 * @param {HTMLElement} main
 */
export async function render(app, main) {
  /** @type {AuditEntry[]} */
  const entries = [];
  const messages = messageSlot("audit-messages");
  const body = el("div");
  const more = button("Show older entries", () => load(), { testid: "audit-more" });
  const pager = el("div", { class: "actions start" }, more);

  async function load() {
    messages.clear();
    try {
      /** @type {{items?: AuditEntry[]}} */
      const page = await busy(pager, () => app.api("GET", `/api/audit?limit=${PAGE}&offset=${entries.length}`));
      const items = Array.isArray(page?.items) ? page.items : [];
      entries.push(...items);
      pager.hidden = items.length < PAGE;
      draw();
    } catch (err) {
      messages.show(errorBox(err));
    }
  }

  function draw() {
    replace(body, table({
      columns: [
        { label: "When", cell: (e) => formatTime(e.at), class: "nowrap" },
        { label: "Who", cell: (e) => e.actor },
        { label: "What", cell: (e) => el("span", { title: e.action }, ACTIONS[e.action] ?? e.action) },
        { label: "Target", cell: (e) => [el("span", { class: "muted" }, `${e.target_type ?? ""} `), e.target_name ?? e.target_id ?? ""] },
        { label: "Detail", cell: (e) => e.detail ?? "" },
      ],
      rows: entries,
      empty: "Nothing has been changed yet.",
      caption: "Audit log",
      testid: "audit-table",
    }));
  }

  replace(main,
    el("h1", {}, "Audit log"),
    el("p", { class: "muted" }, "Who changed what, newest first. Entries cannot be edited or removed."),
    el("section", { class: "card", "data-testid": "audit-card" }, messages, body, pager));
  await load();
}
