// The web app's shell: loads the access model (wasm), restores the tab's session, draws the
// top bar and routes between views (#/profile, #/workspaces, #/users, #/audit).
//
// What each person sees is decided by the browser package: the same `can` the server asks.
// Hiding a control is only for display; the server refuses whatever it should refuse.

import init, { Subject } from "../pkg/workgate_browser.js";
import { call, signIn } from "./api.js";
import { el, replace } from "./dom.js";
import { badge, button } from "./ui.js";
import * as session from "./session.js";
import * as login from "./views/login.js";
import * as profile from "./views/profile.js";
import * as workspaces from "./views/workspaces.js";
import * as users from "./views/users.js";
import * as audit from "./views/audit.js";

const $ = (id) => document.getElementById(id);

const ROUTES = [
  { path: "profile", label: "Profile", view: profile, allowed: () => true },
  { path: "workspaces", label: "Workspaces", view: workspaces, allowed: (s) => s.can("listWorkspaces") },
  { path: "users", label: "Users", view: users, allowed: (s) => s.can("listUsers") },
  { path: "audit", label: "Audit log", view: audit, allowed: (s) => s.can("readAuditLog") },
];

/** The state every view gets. */
const app = {
  token: null,
  /** The User JSON of GET /api/me. */
  me: null,
  /** The access model's subject for `me`. */
  subject: null,
  defaultPassword: false,

  /** Calls the API as the signed-in user; an expired session sends the user to sign in. */
  async api(method, path, options = {}) {
    try {
      return await call(method, path, { ...options, token: this.token });
    } catch (e) {
      if (e.status === 401 && this.token) {
        await this.signOut("Your session has ended. Please sign in again.");
      }
      throw e;
    }
  },

  /** Re-reads GET /api/me (role and memberships may have changed) and rebuilds the subject. */
  async refreshMe() {
    const me = await this.api("GET", "/api/me");
    this.subject?.free();
    this.me = me;
    this.subject = new Subject(me);
    drawChrome();
    return me;
  },

  async signIn(username, password) {
    const token = await signIn(username, password);
    this.token = token;
    this.defaultPassword = session.isDefaultAdminPassword(username, password);
    session.save({ token, defaultPassword: this.defaultPassword });
    await this.refreshMe();
    if (!location.hash || location.hash === "#/" || location.hash === "#/login") location.hash = "#/profile";
    else await route();
  },

  /** After changing one's own password: the old token stops working; sign in with the new one. */
  async passwordChanged(newPassword) {
    this.defaultPassword = false;
    this.token = await signIn(this.me.username, newPassword);
    session.save({ token: this.token, defaultPassword: false });
    drawChrome();
  },

  async signOut(message) {
    session.clear();
    this.token = null;
    this.me = null;
    this.subject?.free();
    this.subject = null;
    this.defaultPassword = false;
    drawChrome();
    history.replaceState(null, "", "#/login");
    showLogin(message);
  },

  navigate(path) {
    location.hash = `#/${path}`;
  },
};

function drawChrome() {
  const nav = $("nav");
  const who = $("who");
  const banner = $("banner");
  if (!app.subject) {
    nav.hidden = true;
    who.hidden = true;
    banner.hidden = true;
    replace(nav);
    replace(who);
    return;
  }
  const current = currentPath();
  replace(nav, ROUTES.filter((r) => r.allowed(app.subject)).map((r) =>
    el("a", { href: `#/${r.path}`, class: "nav-link", "aria-current": r.path === current ? "page" : undefined, "data-testid": `nav-${r.path}` }, r.label)));
  nav.hidden = false;
  replace(who,
    el("span", { class: "who-name", "data-testid": "who" }, app.me.full_name || app.me.username),
    " ",
    badge(app.me.role, app.me.role === "admin" ? "admin" : ""),
    button("Sign out", () => app.signOut("You have signed out."), { testid: "sign-out" }));
  who.hidden = false;
  if (app.defaultPassword) {
    replace(banner,
      el("strong", {}, "Change the default password. "),
      "You signed in as the default admin “argilla” with its default password, which anyone can guess. ",
      el("a", { href: "#/profile/password", "data-testid": "banner-change" }, "Change it now"), ".");
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

function currentPath() {
  return location.hash.replace(/^#\/?/, "").split("/")[0] || "profile";
}

function showLogin(message) {
  const main = $("main");
  document.title = "Sign in · workgate";
  login.render(app, main, message);
}

async function route() {
  if (!app.subject) return showLogin();
  const path = currentPath();
  const entry = ROUTES.find((r) => r.path === path && r.allowed(app.subject)) ?? ROUTES[0];
  if (entry.path !== path) history.replaceState(null, "", `#/${entry.path}`);
  const main = $("main");
  document.title = `${entry.label} · workgate`;
  drawChrome();
  replace(main, el("p", { class: "loading" }, "Loading…"));
  try {
    await app.refreshMe();
    await entry.view.render(app, main);
  } catch (e) {
    if (!app.subject) return; // signed out meanwhile
    replace(main, el("div", { class: "alert error", role: "alert" }, e.message || String(e)));
  }
  main.focus({ preventScroll: true });
}

async function start() {
  try {
    await init();
  } catch (e) {
    replace($("main"), el("div", { class: "alert error", role: "alert" }, `The access model could not be loaded: ${e.message}`));
    return;
  }
  window.addEventListener("hashchange", () => { route(); });
  const saved = session.load();
  try {
    if (saved) {
      app.token = saved.token;
      app.defaultPassword = saved.defaultPassword;
      try {
        await app.refreshMe();
      } catch {
        if (app.token) await app.signOut("Your session has ended. Please sign in again.");
        return;
      }
    }
    await route();
  } finally {
    document.body.dataset.ready = "1";
  }
}

start();
