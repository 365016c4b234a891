// @ts-check
// Everyone: the profile (GET /api/me), the workspaces one can access, changing one's own
// password (PUT /api/me/password) and rotating one's own API key (POST /api/users/{id}/api-key).
// Each card shows its own messages: the password card whether the change worked, the API key
// card the new key.

import { el, replace } from "../dom.js";
import { formProblems, passwordHint, passwordProblem } from "../rules.js";
import { badge, busy, button, confirm, errorBox, field, formatTime, messageSlot, notice, oneTimeKey } from "../ui.js";

/** @typedef {import("../main.js").Render} Render */
/** @typedef {import("../api.js").UserOut} UserOut */

/**
 * @param {Render} app
 * @param {HTMLElement} main
 */
export async function render(app, main) {
  const me = app.me;
  const s = app.subject;
  replace(main,
    el("h1", {}, "Your profile"),
    el("div", { class: "grid" },
      profileCard(me),
      workspacesCard(app),
      passwordCard(app),
      s.can("rotateApiKey", { user: me.username }) ? apiKeyCard(app) : null));
  /** @type {HTMLElement | null} */
  const focus = location.hash.endsWith("/password") ? main.querySelector("#change-password input")
    : location.hash.endsWith("/key") ? main.querySelector("[data-testid=rotate-key]") : null;
  focus?.focus();
}

/** @param {UserOut} me */
function profileCard(me) {
  /**
   * @param {string} term
   * @param {import("../dom.js").Child} value
   * @param {string} [testid]
   */
  const row = (term, value, testid) => [el("dt", {}, term), el("dd", { "data-testid": testid }, value)];
  return el("section", { class: "card", "aria-labelledby": "profile-title" },
    el("h2", { id: "profile-title" }, "Account"),
    el("dl", { class: "facts" },
      row("Name", me.full_name ?? me.first_name ?? "", "profile-name"),
      row("Username", me.username, "profile-username"),
      row("Role", me.role, "profile-role"),
      row("Member since", formatTime(me.inserted_at)),
      me.api_key ? row("API key", el("code", {}, me.api_key)) : null));
}

/** @param {Render} app */
function workspacesCard(app) {
  const me = app.me;
  const names = app.subject.workspaces();
  return el("section", { class: "card", "aria-labelledby": "my-ws-title" },
    el("h2", { id: "my-ws-title" }, "Your workspaces"),
    app.subject.isAdmin ? el("p", { class: "muted" }, "As an admin you can access every workspace.") : null,
    names.length
      ? el("ul", { class: "chips", "data-testid": "my-workspaces" }, names.map((name) =>
          el("li", { class: "chip", dataset: { workspace: name } }, name, name === me.username ? badge("personal", "personal") : null)))
      : el("p", { class: "empty", "data-testid": "my-workspaces-empty" }, "You are not a member of any workspace yet. Ask an admin to add you to one."),
    el("p", { class: "hint" }, "Your personal workspace carries your username."));
}

/** @param {Render} app */
function passwordCard(app) {
  const current = field({ label: "Current password", name: "current_password", type: "password", required: true, autocomplete: "current-password" });
  const next = field({ label: "New password", name: "new_password", type: "password", required: true, autocomplete: "new-password", hint: passwordHint() });
  const again = field({ label: "New password, again", name: "new_password_again", type: "password", required: true, autocomplete: "new-password" });
  const messages = messageSlot("password-messages");
  const form = el("form", { class: "stack", "data-testid": "password-form" },
    current, next, again, messages,
    el("div", { class: "actions" }, el("button", { type: "submit", class: "btn primary" }, "Change password")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    messages.clear();
    const problems = formProblems([passwordProblem("New password", next.input.value)]);
    if (problems) {
      messages.show(errorBox(problems));
      next.input.focus();
      return;
    }
    if (next.input.value !== again.input.value) {
      messages.show(errorBox({ message: "The two new passwords differ." }));
      again.input.focus();
      return;
    }
    try {
      await busy(form, async () => {
        await app.api("PUT", "/api/me/password", { json: { current_password: current.input.value, new_password: next.input.value } });
        await app.passwordChanged(next.input.value);
      });
      form.reset();
      messages.show(notice("Your password was changed. Other sessions signed in with the old password have ended."));
    } catch (err) {
      messages.show(errorBox(err));
    }
  });
  return el("section", { class: "card", "aria-labelledby": "pw-title", id: "change-password", "data-testid": "password-card" },
    el("h2", { id: "pw-title" }, "Change password"),
    form);
}

/** @param {Render} app */
function apiKeyCard(app) {
  const me = app.me;
  const messages = messageSlot("key-messages");
  const rotate = button("Rotate API key", async () => {
    messages.clear();
    /** @type {UserOut | null} */
    let user = null;
    try {
      const ok = await confirm({
        title: "Rotate your API key?",
        message: "A new key is issued and shown once. Your current key stops working at once, so scripts that use it must be given the new one.",
        confirmLabel: "Rotate key",
        testid: "confirm-rotate",
        action: async () => { user = await app.api("POST", `/api/users/${encodeURIComponent(me.id)}/api-key`); },
      });
      if (!ok || !user) return;
      const { api_key: key } = /** @type {UserOut} */ (user);
      messages.show(oneTimeKey({ key, username: me.username, workspace: me.username, heading: "Your new API key" }));
      /** @type {HTMLElement | null} */ (messages.querySelector(".key-card"))?.focus();
      await app.keyRotated();
    } catch (err) {
      messages.show(errorBox(err));
    }
  }, { kind: "primary", testid: "rotate-key" });
  return el("section", { class: "card", "aria-labelledby": "key-title", "data-testid": "api-key-card" },
    el("h2", { id: "key-title" }, "API key"),
    el("p", {}, "Scripts and the Argilla Python client sign in with an API key instead of your password."),
    el("div", { class: "actions start" }, rotate),
    messages);
}
