// @ts-check
// Sign in: POST /api/security/token with the username and password (form-encoded).

import { ApiError } from "../api.js";
import { el, replace } from "../dom.js";
import { busy, errorBox, field, messageSlot, notice } from "../ui.js";

/**
 * @param {{signIn: (username: string, password: string) => Promise<void>}} app
 * @param {HTMLElement} main
 * @param {string} [message] shown above the button, e.g. why the session ended
 */
export function render(app, main, message) {
  const username = field({ label: "Username", name: "username", required: true, autocomplete: "username" });
  const password = field({ label: "Password", name: "password", type: "password", required: true, autocomplete: "current-password" });
  const messages = messageSlot("login-messages");
  if (message) messages.show(notice(message, "info"));
  const form = el("form", { class: "stack", "data-testid": "login-form", novalidate: true },
    username, password, messages,
    el("button", { type: "submit", class: "btn primary wide", "data-testid": "sign-in" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const u = username.input.value.trim();
    const p = password.input.value;
    if (!u || !p) {
      messages.show(errorBox({ message: "Enter your username and password." }));
      (u ? password.input : username.input).focus();
      return;
    }
    messages.clear();
    try {
      await busy(form, () => app.signIn(u, p));
    } catch (err) {
      password.input.value = "";
      if (err instanceof ApiError && err.status === 401) {
        messages.show(errorBox({ message: "Wrong username or password." }));
      } else {
        messages.show(errorBox(err));
      }
      password.input.focus();
    }
  });
  replace(main,
    el("section", { class: "card login", "aria-labelledby": "login-title" },
      el("h1", { id: "login-title" }, "Sign in"),
      el("p", { class: "muted" }, "Users, workspaces and API keys of this Argilla server."),
      form));
  username.input.focus();
}
