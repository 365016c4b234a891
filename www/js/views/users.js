// @ts-check
// Users (admins): list, create (the new API key is shown once), edit names and role (PATCH),
// reset a password, rotate a key, delete. The server protects the last admin; its 403 message
// is shown as it comes. What a form or a row action says lands in its own card: the "New user"
// card tells how creating went, the list card how a row action went.

import { el, replace } from "../dom.js";
import { NAME_HINT, formProblems, nameProblem, passwordHint, passwordProblem } from "../rules.js";
import { badge, busy, button, confirm, dialog, errorBox, field, formatTime, messageSlot, notice, oneTimeKey, table } from "../ui.js";

/** @typedef {import("../main.js").Render} Render */
/** @typedef {import("../api.js").UserOut} UserOut */
/** @typedef {import("../dom.js").Child} Child */

/** @type {[value: string, text: string][]} */
const ROLES = [["annotator", "Annotator"], ["admin", "Admin"]];
const USERNAME_HINT = `${NAME_HINT} It cannot be changed later, and names the user's personal workspace.`;

/**
 * What a re-render shows in each card: after creating a user (`create`), after a row action
 * (`list`).
 * @typedef {{create?: Child[], list?: Child[]}} Flash
 */

/**
 * @param {Render} app
 * @param {HTMLElement} main
 * @param {Flash} [flash]
 */
export async function render(app, main, flash = {}) {
  const s = app.subject;
  /** @type {UserOut[]} */
  const users = await app.api("GET", "/api/users");
  const listMessages = messageSlot("users-messages");
  if (flash.list) listMessages.show(flash.list);
  /**
   * Redraws the view with `flash` in its cards (the signed-in user may have changed too).
   * @param {Flash} flash
   */
  const done = async (flash) => {
    await app.refreshMe();
    if (!app.subject.can("listUsers")) return app.navigate("profile");
    await render(app, main, flash);
  };

  /** @type {import("../ui.js").Column<UserOut>[]} */
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

  /**
   * Runs a row action; what went wrong after its dialog closed shows in the list card.
   * @param {() => Promise<void>} action
   */
  const rowAction = async (action) => {
    listMessages.clear();
    try {
      await action();
    } catch (err) {
      listMessages.show(errorBox(err));
    }
  };

  /** @param {UserOut} u */
  const edit = (u) => rowAction(async () => {
    const first = field({ label: "First name", name: "first_name", required: true, value: u.first_name ?? "" });
    const last = field({ label: "Last name", name: "last_name", value: u.last_name ?? "" });
    const role = field({ label: "Role", name: "role", options: ROLES, value: u.role });
    const saved = await dialog({
      title: `Edit ${u.username}`,
      body: [first, last, role],
      testid: "edit-user-dialog",
      onSubmit: () => {
        /** @type {Record<string, string>} */
        const body = { first_name: first.input.value, role: role.input.value };
        if (last.input.value.trim()) body.last_name = last.input.value;
        return app.api("PATCH", `/api/users/${encodeURIComponent(u.id)}`, { json: body });
      },
    });
    if (saved) await done({ list: [notice(`${u.username} was updated.`)] });
  });

  /** @param {UserOut} u */
  const resetPassword = (u) => rowAction(async () => {
    const pw = field({ label: "New password", name: "password", type: "password", required: true, autocomplete: "new-password", hint: `${passwordHint()} Tell it to the user through a safe channel.` });
    const ok = await dialog({
      title: `Reset the password of ${u.username}`,
      body: [pw],
      submitLabel: "Reset password",
      testid: "reset-password-dialog",
      onSubmit: async () => {
        const problems = formProblems([passwordProblem("New password", pw.input.value)]);
        if (problems) throw problems;
        return app.api("PUT", `/api/users/${encodeURIComponent(u.id)}/password`, { json: { password: pw.input.value } });
      },
    });
    if (ok) await done({ list: [notice(`The password of ${u.username} was reset. Their sessions have ended.`)] });
  });

  /** @param {UserOut} u */
  const rotateKey = (u) => rowAction(async () => {
    /** @type {UserOut | null} */
    let user = null;
    const ok = await confirm({
      title: `Issue a new API key for ${u.username}?`,
      message: `The current key of ${u.username} stops working at once.`,
      confirmLabel: "Issue new key",
      testid: "confirm-rotate",
      action: async () => { user = await app.api("POST", `/api/users/${encodeURIComponent(u.id)}/api-key`); },
    });
    if (!ok || !user) return;
    const { api_key: key } = /** @type {UserOut} */ (user);
    if (u.id === app.me.id) await app.keyRotated();
    await done({ list: [notice(`${u.username} has a new API key.`), oneTimeKey({ key, username: u.username, workspace: u.username, heading: `New API key of ${u.username}` })] });
  });

  /** @param {UserOut} u */
  const remove = (u) => rowAction(async () => {
    const ok = await confirm({
      title: `Delete ${u.username}?`,
      message: `${u.username} can no longer sign in, and their API key stops working. Their personal workspace “${u.username}” and its datasets are kept.`,
      testid: "confirm-delete-user",
      action: () => app.api("DELETE", `/api/users/${encodeURIComponent(u.id)}`),
    });
    if (ok) await done({ list: [notice(`${u.username} was deleted.`)] });
  });

  replace(main,
    el("h1", {}, "Users"),
    s.can("createUser") ? createCard(app, done, flash.create) : null,
    el("section", { class: "card", "aria-labelledby": "users-title", "data-testid": "users-card" },
      el("h2", { id: "users-title" }, `All users (${users.length})`),
      listMessages,
      table({ columns, rows: users, empty: "There are no users.", caption: "Users", testid: "users-table" })));
  /** @type {HTMLElement | null} */ (main.querySelector(".key-card"))?.focus();
}

/**
 * The "New user" card: the form, and what creating said (an error, or the new user's key).
 * @param {Render} app
 * @param {(flash: Flash) => Promise<void>} done redraws the view with messages in its cards
 * @param {Child[]} [flash] shown in the card's messages
 */
function createCard(app, done, flash) {
  const first = field({ label: "First name", name: "first_name", required: true, autocomplete: "off" });
  const last = field({ label: "Last name", name: "last_name", autocomplete: "off" });
  const username = field({ label: "Username", name: "username", required: true, hint: USERNAME_HINT, autocomplete: "off" });
  const role = field({ label: "Role", name: "role", options: ROLES, value: "annotator" });
  const password = field({ label: "Password", name: "password", type: "password", required: true, autocomplete: "new-password", hint: passwordHint() });
  const messages = messageSlot("create-user-messages");
  if (flash) messages.show(flash);
  const form = el("form", { class: "form-grid", "data-testid": "create-user-form" },
    first, last, username, role, password,
    el("div", { class: "actions span-all" }, el("button", { type: "submit", class: "btn primary" }, "Create user")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    /** @type {Record<string, string>} */
    const body = {
      first_name: first.input.value,
      username: username.input.value.trim(),
      role: role.input.value,
      password: password.input.value,
    };
    if (last.input.value.trim()) body.last_name = last.input.value;
    const problems = formProblems([nameProblem("Username", body.username), passwordProblem("Password", body.password)]);
    if (problems) {
      messages.show(errorBox(problems));
      (nameProblem("Username", body.username) ? username : password).input.focus();
      return;
    }
    try {
      /** @type {UserOut} */
      const user = await busy(form, () => app.api("POST", "/api/users", { json: body }));
      await done({ create: [
        notice(`${user.username} was created, with the personal workspace “${user.username}”.`),
        oneTimeKey({ key: user.api_key, username: user.username, workspace: user.username, heading: `API key of ${user.username}` }),
      ] });
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "new-user-title", "data-testid": "create-user-card" },
    el("h2", { id: "new-user-title" }, "New user"), form, messages);
}
