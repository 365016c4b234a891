// Users (admins): list, create (the new API key is shown once), edit names and role (PATCH),
// reset a password, rotate a key, delete. The server protects the last admin; its 403 message
// is shown as it comes.

import { el, replace } from "../dom.js";
import { badge, busy, button, confirm, dialog, errorBox, field, formatTime, messageSlot, notice, oneTimeKey, table } from "../ui.js";

const ROLES = [["annotator", "Annotator"], ["admin", "Admin"]];
const USERNAME_HINT = "Lowercase letters, digits, “-” and “_”; not starting with “-” or “_”. It cannot be changed later, and names the user's personal workspace.";

/** `flash`: nodes shown at the top after the page is drawn (a notice, a one-time key). */
export async function render(app, main, flash = null) {
  const s = app.subject;
  const users = await app.api("GET", "/api/users");
  const messages = messageSlot();
  const top = el("div", { class: "flash" }, flash);
  const done = async (text, extra = null) => {
    await app.refreshMe();
    if (!app.subject.can("listUsers")) return app.navigate("profile");
    await render(app, main, [notice(text), extra]);
  };

  const columns = [
    { label: "Username", cell: (u) => [el("span", { class: "username" }, u.username), u.id === app.me.id ? badge("you", "muted") : null] },
    { label: "Name", cell: (u) => el("span", { "data-testid": `name-${u.username}` }, u.full_name ?? u.first_name ?? "") },
    { label: "Role", cell: (u) => badge(u.role, u.role === "admin" ? "admin" : "") },
    { label: "Workspaces", cell: (u) => (u.workspaces?.length ? el("span", { class: "tags" }, u.workspaces.map((w) => el("span", { class: "tag" }, w))) : el("span", { class: "muted" }, "none")) },
    { label: "Created", cell: (u) => formatTime(u.inserted_at), class: "nowrap" },
    {
      label: "Actions",
      class: "actions-col",
      cell: (u) => el("div", { class: "row-actions" },
        s.can("updateUser", { user: u.username })
          ? button("Edit", () => edit(u), { kind: "secondary small", testid: `edit-${u.username}`, label: `Edit ${u.username}` }) : null,
        s.can("resetPassword", { user: u.username })
          ? button("Reset password", () => resetPassword(u), { kind: "secondary small", testid: `reset-${u.username}`, label: `Reset the password of ${u.username}` }) : null,
        s.can("rotateApiKey", { user: u.username })
          ? button("New key", () => rotateKey(u), { kind: "secondary small", testid: `rotate-${u.username}`, label: `Issue a new API key for ${u.username}` }) : null,
        s.can("deleteUser", { user: u.username })
          ? button("Delete", () => remove(u), { kind: "danger small", testid: `delete-${u.username}`, label: `Delete ${u.username}` }) : null),
    },
  ];

  async function edit(u) {
    const first = field({ label: "First name", name: "first_name", required: true, value: u.first_name ?? "" });
    const last = field({ label: "Last name", name: "last_name", value: u.last_name ?? "" });
    const role = field({ label: "Role", name: "role", options: ROLES, value: u.role });
    const saved = await dialog({
      title: `Edit ${u.username}`,
      body: [first, last, role],
      testid: "edit-user-dialog",
      onSubmit: () => {
        const body = { first_name: first.input.value, role: role.input.value };
        if (last.input.value.trim()) body.last_name = last.input.value;
        return app.api("PATCH", `/api/users/${encodeURIComponent(u.id)}`, { json: body });
      },
    });
    if (saved) await done(`${u.username} was updated.`);
  }

  async function resetPassword(u) {
    const pw = field({ label: "New password", name: "password", type: "password", required: true, autocomplete: "new-password", hint: "8 to 100 characters. Tell it to the user through a safe channel." });
    const ok = await dialog({
      title: `Reset the password of ${u.username}`,
      body: [pw],
      submitLabel: "Reset password",
      testid: "reset-password-dialog",
      onSubmit: () => app.api("PUT", `/api/users/${encodeURIComponent(u.id)}/password`, { json: { password: pw.input.value } }),
    });
    if (ok) await done(`The password of ${u.username} was reset. Their sessions have ended.`);
  }

  async function rotateKey(u) {
    let user = null;
    const ok = await confirm({
      title: `Issue a new API key for ${u.username}?`,
      message: `The current key of ${u.username} stops working at once.`,
      confirmLabel: "Issue new key",
      testid: "confirm-rotate",
      action: async () => { user = await app.api("POST", `/api/users/${encodeURIComponent(u.id)}/api-key`); },
    });
    if (ok && user) await done(`${u.username} has a new API key.`, oneTimeKey({ key: user.api_key, username: u.username, workspace: u.username, heading: `New API key of ${u.username}` }));
  }

  async function remove(u) {
    const ok = await confirm({
      title: `Delete ${u.username}?`,
      message: `${u.username} can no longer sign in, and their API key stops working. Their personal workspace “${u.username}” and its datasets are kept.`,
      testid: "confirm-delete-user",
      action: () => app.api("DELETE", `/api/users/${encodeURIComponent(u.id)}`),
    });
    if (ok) await done(`${u.username} was deleted.`);
  }

  replace(main,
    el("h1", {}, "Users"),
    top,
    s.can("createUser") ? createForm(app, main, done) : null,
    messages,
    el("section", { class: "card", "aria-labelledby": "users-title" },
      el("h2", { id: "users-title" }, `All users (${users.length})`),
      table({ columns, rows: users, empty: "There are no users.", caption: "Users", testid: "users-table" })));
  top.querySelector(".key-card")?.focus();
}

function createForm(app, main, done) {
  const first = field({ label: "First name", name: "first_name", required: true, autocomplete: "off" });
  const last = field({ label: "Last name", name: "last_name", autocomplete: "off" });
  const username = field({ label: "Username", name: "username", required: true, hint: USERNAME_HINT, autocomplete: "off" });
  const role = field({ label: "Role", name: "role", options: ROLES, value: "annotator" });
  const password = field({ label: "Password", name: "password", type: "password", required: true, autocomplete: "new-password", hint: "8 to 100 characters." });
  const messages = messageSlot();
  const form = el("form", { class: "form-grid", "data-testid": "create-user-form" },
    first, last, username, role, password,
    el("div", { class: "actions span-all" }, el("button", { type: "submit", class: "btn primary" }, "Create user")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    const body = {
      first_name: first.input.value,
      username: username.input.value.trim(),
      role: role.input.value,
      password: password.input.value,
    };
    if (last.input.value.trim()) body.last_name = last.input.value;
    try {
      const user = await busy(form, () => app.api("POST", "/api/users", { json: body }));
      await done(`${user.username} was created, with the personal workspace “${user.username}”.`,
        oneTimeKey({ key: user.api_key, username: user.username, workspace: user.username, heading: `API key of ${user.username}` }));
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "new-user-title" },
    el("h2", { id: "new-user-title" }, "New user"), form, messages);
}
