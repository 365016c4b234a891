// Workspaces: everyone sees the ones they can access (GET /api/workspaces); admins also create
// and delete workspaces and manage members (#/workspaces/<id>). Which controls show is asked of
// the access model (app.subject.can), the same rules the server applies.

import { el, replace } from "../dom.js";
import { badge, busy, button, confirm, errorBox, field, formatTime, messageSlot, notice, table } from "../ui.js";

const NAME_HINT = "Lowercase letters, digits, “-” and “_”; not starting with “-” or “_”.";

export async function render(app, main) {
  const id = location.hash.replace(/^#\/?/, "").split("/")[1];
  if (id) return renderMembers(app, main, decodeURIComponent(id));
  const s = app.subject;
  const [all, users] = await Promise.all([
    app.api("GET", "/api/workspaces"),
    s.can("listUsers") ? app.api("GET", "/api/users") : Promise.resolve([]),
  ]);
  const visible = new Set(s.workspaces(all.map((w) => w.name)));
  const workspaces = all.filter((w) => visible.has(w.name));
  const owners = new Map(users.map((u) => [u.username, u]));
  const messages = messageSlot();

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

  async function remove(w) {
    messages.clear();
    const ok = await confirm({
      title: `Delete workspace “${w.name}”?`,
      message: "Its memberships are removed. This cannot be undone.",
      testid: "confirm-delete-ws",
      action: () => app.api("DELETE", `/api/workspaces/${encodeURIComponent(w.id)}`),
    });
    if (ok) {
      await render(app, main);
      main.querySelector(".messages")?.replaceChildren(notice(`Workspace “${w.name}” was deleted.`));
    }
  }

  replace(main,
    el("h1", {}, "Workspaces"),
    s.can("createWorkspace") ? createForm(app, main) : null,
    messages,
    el("section", { class: "card", "aria-labelledby": "ws-list-title" },
      el("h2", { id: "ws-list-title" }, s.isAdmin ? "All workspaces" : "Workspaces you can access"),
      table({
        columns,
        rows: workspaces,
        empty: s.isAdmin ? "There are no workspaces yet. Create one above." : "You cannot access any workspace yet. Ask an admin to add you to one.",
        caption: "Workspaces",
        testid: "workspaces-table",
      })));
}

function createForm(app, main) {
  const name = field({ label: "Name", name: "name", required: true, hint: NAME_HINT, autocomplete: "off" });
  const messages = messageSlot();
  const form = el("form", { class: "inline-form", "data-testid": "create-workspace-form" },
    name, el("button", { type: "submit", class: "btn primary" }, "Create workspace"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    try {
      const ws = await busy(form, () => app.api("POST", "/api/workspaces", { json: { name: name.input.value.trim() } }));
      await render(app, main);
      main.querySelector(".messages")?.replaceChildren(notice(`Workspace “${ws.name}” was created.`));
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "ws-new-title" },
    el("h2", { id: "ws-new-title" }, "New workspace"), form, messages);
}

async function renderMembers(app, main, id) {
  const s = app.subject;
  const workspace = await app.api("GET", `/api/v1/workspaces/${encodeURIComponent(id)}`);
  const res = { workspace: workspace.name };
  const [members, users] = await Promise.all([
    s.can("listMembers", res) ? app.api("GET", `/api/workspaces/${encodeURIComponent(id)}/users`) : Promise.resolve([]),
    s.can("addMember", res) && s.can("listUsers") ? app.api("GET", "/api/users") : Promise.resolve([]),
  ]);
  const messages = messageSlot();
  const memberIds = new Set(members.map((m) => m.id));
  const rerender = async (text) => {
    await renderMembers(app, main, id);
    if (text) main.querySelector(".messages")?.replaceChildren(notice(text));
  };

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
        messages.clear();
        const ok = await confirm({
          title: `Remove ${u.username} from “${workspace.name}”?`,
          message: `${u.username} loses access to the workspace and its datasets.`,
          confirmLabel: "Remove",
          testid: "confirm-remove-member",
          action: () => app.api("DELETE", `/api/workspaces/${encodeURIComponent(id)}/users/${encodeURIComponent(u.id)}`),
        });
        if (ok) await rerender(`${u.username} was removed from “${workspace.name}”.`);
      }, { kind: "danger small", testid: `remove-member-${u.username}`, label: `Remove ${u.username}` }),
    });
  }

  let addForm = null;
  if (s.can("addMember", res)) {
    const candidates = users.filter((u) => !memberIds.has(u.id));
    const select = field({
      label: "User",
      name: "user",
      required: true,
      options: [["", candidates.length ? "Choose a user…" : "Every user is a member"], ...candidates.map((u) => [u.id, `${u.username} (${u.full_name ?? u.first_name ?? ""})`])],
    });
    const formMessages = messageSlot();
    addForm = el("form", { class: "inline-form", "data-testid": "add-member-form" },
      select, el("button", { type: "submit", class: "btn primary", disabled: !candidates.length }, "Add member"));
    addForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      formMessages.clear();
      const userId = select.input.value;
      if (!userId) {
        formMessages.show(errorBox({ message: "Choose a user to add." }));
        return;
      }
      try {
        const user = await busy(addForm, () => app.api("POST", `/api/workspaces/${encodeURIComponent(id)}/users/${encodeURIComponent(userId)}`));
        await rerender(`${user.username} was added to “${workspace.name}”.`);
      } catch (err) {
        formMessages.show(errorBox(err));
      }
    });
    addForm = el("section", { class: "card", "aria-labelledby": "add-member-title" },
      el("h2", { id: "add-member-title" }, "Add a member"), addForm, formMessages);
  }

  replace(main,
    el("p", { class: "crumbs" }, el("a", { href: "#/workspaces" }, "← Workspaces")),
    el("h1", {}, "Workspace ", el("span", { class: "ws-name", "data-testid": "workspace-title" }, workspace.name)),
    addForm,
    messages,
    el("section", { class: "card", "aria-labelledby": "members-title" },
      el("h2", { id: "members-title" }, "Members"),
      s.can("listMembers", res)
        ? table({ columns, rows: members, empty: "This workspace has no members yet.", caption: "Members", testid: "members-table" })
        : el("p", { class: "empty" }, "Only admins see the members of a workspace.")));
}
