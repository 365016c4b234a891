// @ts-check
// Workspaces: everyone sees the ones they can access (GET /api/workspaces); admins also create
// and delete workspaces and manage members (#/workspaces/<id>). Which controls show is asked of
// the access model (app.subject.can), the same rules the server applies. What a form or a row
// action says lands in its own card.

import { el, replace } from "../dom.js";
import { NAME_HINT, formProblems, nameProblem } from "../rules.js";
import { badge, busy, button, confirm, errorBox, field, formatTime, messageSlot, notice, table } from "../ui.js";

/** @typedef {import("../main.js").Render} Render */
/** @typedef {import("../api.js").UserOut} UserOut */
/** @typedef {import("../api.js").WorkspaceOut} WorkspaceOut */
/** @typedef {import("../dom.js").Child} Child */

/**
 * What a re-render shows in each card: the form's (`create`, or `add` on the members page) and
 * the list's (`list`).
 * @typedef {{create?: Child[], add?: Child[], list?: Child[]}} Flash
 */

/**
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {Flash} [flash]
 */
export async function render(app, main, flash = {}) {
  const id = location.hash.replace(/^#\/?/, "").split("/")[1];
  if (id) return renderMembers(app, main, decodeURIComponent(id), flash);
  const s = app.subject;
  /** @type {[WorkspaceOut[], UserOut[]]} */
  const [all, users] = await Promise.all([
    app.api("GET", "/api/workspaces"),
    s.can("listUsers") ? app.api("GET", "/api/users") : Promise.resolve([]),
  ]);
  const visible = new Set(s.workspaces(all.map((w) => w.name)));
  const workspaces = all.filter((w) => visible.has(w.name));
  const owners = new Map(users.map((u) => [u.username, u]));
  const listMessages = messageSlot("workspaces-messages");
  if (flash.list) listMessages.show(flash.list);

  /** @type {import("../ui.js").Column<WorkspaceOut>[]} */
  const columns = [
    {
      label: "Name",
      cell: (w) => [
        el("span", { class: "ws-name" }, w.name),
        w.name === app.me.username
          ? badge("your personal workspace", "personal")
          : owners.has(w.name) ? badge("personal", "personal muted") : null,
      ],
    },
    { label: "Created", cell: (w) => formatTime(w.inserted_at), class: "nowrap" },
  ];
  /** @param {WorkspaceOut} w */
  const controls = (w) => [
    s.can("listMembers", { workspace: w.name })
      ? el("a", { class: "btn secondary small", href: `#/workspaces/${encodeURIComponent(w.id)}`, "data-testid": `members-${w.name}` }, "Members")
      : null,
    s.can("deleteWorkspace", { workspace: w.name })
      ? button("Delete", () => remove(w), { kind: "danger small", testid: `delete-ws-${w.name}`, label: `Delete workspace ${w.name}` })
      : null,
  ];
  if (workspaces.some((w) => controls(w).some(Boolean))) {
    columns.push({ label: "Actions", cell: (w) => el("div", { class: "row-actions" }, controls(w)), class: "actions-col" });
  }

  /** @param {WorkspaceOut} w */
  async function remove(w) {
    listMessages.clear();
    try {
      const ok = await confirm({
        title: `Delete workspace “${w.name}”?`,
        message: "Its memberships are removed. This cannot be undone.",
        testid: "confirm-delete-ws",
        action: () => app.api("DELETE", `/api/workspaces/${encodeURIComponent(w.id)}`),
      });
      if (ok) await render(app, main, { list: [notice(`Workspace “${w.name}” was deleted.`)] });
    } catch (err) {
      listMessages.show(errorBox(err));
    }
  }

  replace(main,
    el("h1", {}, "Workspaces"),
    s.can("createWorkspace") ? createCard(app, main, flash.create) : null,
    el("section", { class: "card", "aria-labelledby": "ws-list-title", "data-testid": "workspaces-card" },
      el("h2", { id: "ws-list-title" }, s.isAdmin ? "All workspaces" : "Workspaces you can access"),
      listMessages,
      table({
        columns,
        rows: workspaces,
        empty: s.isAdmin ? "There are no workspaces yet. Create one above." : "You cannot access any workspace yet. Ask an admin to add you to one.",
        caption: "Workspaces",
        testid: "workspaces-table",
      })));
}

/**
 * The "New workspace" card: the form, and what creating said.
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {Child[]} [flash] shown in the card's messages
 */
function createCard(app, main, flash) {
  const name = field({ label: "Name", name: "name", required: true, hint: NAME_HINT, autocomplete: "off" });
  const messages = messageSlot("create-workspace-messages");
  if (flash) messages.show(flash);
  const form = el("form", { class: "inline-form", "data-testid": "create-workspace-form" },
    name, el("button", { type: "submit", class: "btn primary" }, "Create workspace"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    const value = name.input.value.trim();
    const problems = formProblems([nameProblem("Name", value)]);
    if (problems) {
      messages.show(errorBox(problems));
      name.input.focus();
      return;
    }
    try {
      /** @type {WorkspaceOut} */
      const ws = await busy(form, () => app.api("POST", "/api/workspaces", { json: { name: value } }));
      await render(app, main, { create: [notice(`Workspace “${ws.name}” was created.`)] });
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "ws-new-title", "data-testid": "create-workspace-card" },
    el("h2", { id: "ws-new-title" }, "New workspace"), form, messages);
}

/**
 * A workspace's members (#/workspaces/<id>).
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {string} id
 * @param {Flash} flash
 */
async function renderMembers(app, main, id, flash) {
  const s = app.subject;
  /** @type {WorkspaceOut} */
  const workspace = await app.api("GET", `/api/v1/workspaces/${encodeURIComponent(id)}`);
  const res = { workspace: workspace.name };
  /** @type {[UserOut[], UserOut[]]} */
  const [members, users] = await Promise.all([
    s.can("listMembers", res) ? app.api("GET", `/api/workspaces/${encodeURIComponent(id)}/users`) : Promise.resolve([]),
    s.can("addMember", res) && s.can("listUsers") ? app.api("GET", "/api/users") : Promise.resolve([]),
  ]);
  const listMessages = messageSlot("members-messages");
  if (flash.list) listMessages.show(flash.list);
  const memberIds = new Set(members.map((m) => m.id));
  /** @param {Flash} flash */
  const rerender = (flash) => renderMembers(app, main, id, flash);

  /** @type {import("../ui.js").Column<UserOut>[]} */
  const columns = [
    { label: "Username", cell: (u) => [el("span", {}, u.username), u.username === workspace.name ? badge("personal", "personal") : null] },
    { label: "Name", cell: (u) => u.full_name ?? u.first_name ?? "" },
    { label: "Role", cell: (u) => badge(u.role, u.role === "admin" ? "admin" : "") },
  ];
  if (s.can("removeMember", res)) {
    columns.push({
      label: "Actions",
      class: "actions-col",
      cell: (u) => button("Remove", async () => {
        listMessages.clear();
        try {
          const ok = await confirm({
            title: `Remove ${u.username} from “${workspace.name}”?`,
            message: `${u.username} loses access to the workspace and its datasets.`,
            confirmLabel: "Remove",
            testid: "confirm-remove-member",
            action: () => app.api("DELETE", `/api/workspaces/${encodeURIComponent(id)}/users/${encodeURIComponent(u.id)}`),
          });
          if (ok) await rerender({ list: [notice(`${u.username} was removed from “${workspace.name}”.`)] });
        } catch (err) {
          listMessages.show(errorBox(err));
        }
      }, { kind: "danger small", testid: `remove-member-${u.username}`, label: `Remove ${u.username}` }),
    });
  }

  let addCard = null;
  if (s.can("addMember", res)) {
    const candidates = users.filter((u) => !memberIds.has(u.id));
    const select = field({
      label: "User",
      name: "user",
      required: true,
      options: [["", candidates.length ? "Choose a user…" : "Every user is a member"], ...candidates.map((u) => /** @type {[string, string]} */ ([u.id, `${u.username} (${u.full_name ?? u.first_name ?? ""})`]))],
    });
    const messages = messageSlot("add-member-messages");
    if (flash.add) messages.show(flash.add);
    const form = el("form", { class: "inline-form", "data-testid": "add-member-form" },
      select, el("button", { type: "submit", class: "btn primary", disabled: !candidates.length }, "Add member"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      messages.clear();
      const userId = select.input.value;
      if (!userId) {
        messages.show(errorBox({ message: "Choose a user to add." }));
        return;
      }
      try {
        /** @type {UserOut} */
        const user = await busy(form, () => app.api("POST", `/api/workspaces/${encodeURIComponent(id)}/users/${encodeURIComponent(userId)}`));
        await rerender({ add: [notice(`${user.username} was added to “${workspace.name}”.`)] });
      } catch (err) {
        messages.show(errorBox(err));
      }
    });
    addCard = el("section", { class: "card", "aria-labelledby": "add-member-title", "data-testid": "add-member-card" },
      el("h2", { id: "add-member-title" }, "Add a member"), form, messages);
  }

  replace(main,
    el("p", { class: "crumbs" }, el("a", { href: "#/workspaces" }, "← Workspaces")),
    el("h1", {}, "Workspace ", el("span", { class: "ws-name", "data-testid": "workspace-title" }, workspace.name)),
    addCard,
    el("section", { class: "card", "aria-labelledby": "members-title", "data-testid": "members-card" },
      el("h2", { id: "members-title" }, "Members"),
      listMessages,
      s.can("listMembers", res)
        ? table({ columns, rows: members, empty: "This workspace has no members yet.", caption: "Members", testid: "members-table" })
        : el("p", { class: "empty" }, "Only admins see the members of a workspace.")));
}
