// @ts-check
// The web app's shell: loads the access model (wasm), restores the tab's session, draws the
// top bar and routes between views (#/profile, #/workspaces, #/datasets, #/users, #/audit).
//
// What each person sees is decided by the browser package: the same `can` the server asks.
// Hiding a control is only for display; the server refuses whatever it should refuse.
//
// Each route change draws its view as a new Render, in an outlet of its own, and ends the
// render before it: that one's pending reads are cancelled and its outlet is no longer on the
// page, so a slow answer for a view the user has left can never replace the current one.

import init, { Subject } from "../pkg/workgate_browser.js";
import { ApiError, call, signIn } from "./api.js";
import { el, replace } from "./dom.js";
import { badge, button, errorBox } from "./ui.js";
import * as session from "./session.js";
import * as login from "./views/login.js";
import * as profile from "./views/profile.js";
import * as workspaces from "./views/workspaces.js";
import * as datasets from "./views/datasets.js";
import * as users from "./views/users.js";
import * as audit from "./views/audit.js";

/** @typedef {import("./api.js").UserOut} UserOut */
/** @typedef {import("./api.js").Credentials} Credentials */
/** @typedef {import("./api.js").CallOptions} CallOptions */

/**
 * A view: draws itself into `outlet` for one render.
 * @typedef {{render: (render: Render, outlet: HTMLElement) => Promise<void>}} View
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {{path: string, label: string, view: View, allowed: (s: Subject) => boolean}[]} */
const ROUTES = [
  { path: "profile", label: "Profile", view: profile, allowed: () => true },
  { path: "workspaces", label: "Workspaces", view: workspaces, allowed: (s) => s.can("listWorkspaces") },
  { path: "datasets", label: "Datasets", view: datasets, allowed: (s) => s.workspaces().some((workspace) => s.can("listDatasets", { workspace })) },
  { path: "users", label: "Users", view: users, allowed: (s) => s.can("listUsers") },
  { path: "audit", label: "Audit log", view: audit, allowed: (s) => s.can("readAuditLog") },
];

/** The signed-in state, shared by every render. */
const app = {
  /** @type {string | null} */
  token: null,
  /** The User JSON of GET /api/me. @type {UserOut | null} */
  me: null,
  /** The access model's subject for `me`. @type {Subject | null} */
  subject: null,
  /** GET /api/me/credentials for the signed-in account; null until it answered. @type {Credentials | null} */
  credentials: null,

  /**
   * Calls the API as the signed-in user; an expired session sends the user to sign in.
   * @param {string} method
   * @param {string} path
   * @param {CallOptions} [options]
   */
  async api(method, path, options = {}) {
    try {
      return await call(method, path, { ...options, token: app.token });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401 && app.token) {
        await app.signOut("Your session has ended. Please sign in again.");
      }
      throw e;
    }
  },

  /**
   * Re-reads GET /api/me (role and memberships may have changed) and rebuilds the subject.
   * @param {AbortSignal} [signal]
   */
  async refreshMe(signal) {
    /** @type {UserOut} */
    const me = await app.api("GET", "/api/me", { signal });
    app.subject?.free();
    app.me = me;
    app.subject = new Subject(me);
    drawChrome();
    return me;
  },

  /**
   * Asks the server whether the signed-in account still has a default password or API key
   * (GET /api/me/credentials), and warns about it. The server verifies the password for this,
   * as costly as a sign-in, so it is asked only after sign-in, a restored session, and a
   * change of the account's own password or key. No answer: no warning.
   */
  async refreshCredentials() {
    try {
      app.credentials = await app.api("GET", "/api/me/credentials");
    } catch {
      app.credentials = null;
    }
    drawChrome();
  },

  /**
   * @param {string} username
   * @param {string} password
   */
  async signIn(username, password) {
    const token = await signIn(username, password);
    app.token = token;
    session.save({ token });
    await app.refreshMe();
    await app.refreshCredentials();
    if (!location.hash || location.hash === "#/" || location.hash === "#/login") location.hash = "#/profile";
    else await route();
  },

  /**
   * After changing one's own password: the old token stops working; sign in with the new one.
   * @param {string} newPassword
   */
  async passwordChanged(newPassword) {
    if (!app.me) return;
    app.token = await signIn(app.me.username, newPassword);
    session.save({ token: app.token });
    await app.refreshCredentials();
  },

  /** @param {string} [message] */
  async signOut(message) {
    session.clear();
    app.token = null;
    app.me = null;
    app.subject?.free();
    app.subject = null;
    app.credentials = null;
    drawChrome();
    history.replaceState(null, "", "#/login");
    showLogin(message);
  },
};

/** Cancels a superseded render's work; never shown. */
function superseded() {
  return new DOMException("a newer view replaced this one", "AbortError");
}

/**
 * One render of a view: what the view uses (the signed-in user, the API, navigation) for as
 * long as it is the view on screen. A route change ends it: its reads (GET) are cancelled, and
 * it can no longer navigate. Changes it sent (POST, PUT, DELETE...) run to completion, since the
 * server may already have made them; only their answer goes unseen.
 */
export class Render {
  /** @param {HTMLElement} outlet the element the view draws into */
  constructor(outlet) {
    this.outlet = outlet;
    this.controller = new AbortController();
  }

  /** Whether this render is still the one on screen. */
  get current() {
    return !this.controller.signal.aborted;
  }

  end() {
    this.controller.abort(superseded());
  }

  /** The signed-in user (GET /api/me). */
  get me() {
    return /** @type {UserOut} */ (app.me);
  }

  /** The access model's subject for `me`. */
  get subject() {
    return /** @type {Subject} */ (app.subject);
  }

  /**
   * Calls the API as the signed-in user. Rejects with an AbortError once the render has ended.
   * Its reads (GET, and a POST marked `read`, such as a records scan) are cancelled then.
   * @param {string} method
   * @param {string} path
   * @param {CallOptions} [options]
   */
  api(method, path, options = {}) {
    if (!this.current) return Promise.reject(superseded());
    const read = method === "GET" || options.read === true;
    return app.api(method, path, { ...options, signal: read ? this.controller.signal : undefined });
  }

  /** Re-reads GET /api/me and the subject (after a change that may touch the signed-in user). */
  refreshMe() {
    return app.refreshMe(this.controller.signal);
  }

  /**
   * After the signed-in user changed its own password.
   * @param {string} newPassword
   */
  passwordChanged(newPassword) {
    return app.passwordChanged(newPassword);
  }

  /** After the signed-in user's own API key was replaced. */
  keyRotated() {
    return app.refreshCredentials();
  }

  /** @param {string} path */
  navigate(path) {
    if (this.current) location.hash = `#/${path}`;
  }
}

/** The render on screen; the next route change ends it. @type {Render | null} */
let current = null;

function drawChrome() {
  const nav = $("nav");
  const who = $("who");
  const banner = $("banner");
  if (!app.subject || !app.me) {
    nav.hidden = true;
    who.hidden = true;
    banner.hidden = true;
    replace(nav);
    replace(who);
    return;
  }
  const me = app.me;
  const subject = app.subject;
  const path = currentPath();
  replace(nav, ROUTES.filter((r) => r.allowed(subject)).map((r) =>
    el("a", { href: `#/${r.path}`, class: "nav-link", "aria-current": r.path === path ? "page" : undefined, "data-testid": `nav-${r.path}` }, r.label)));
  nav.hidden = false;
  replace(who,
    el("span", { class: "who-name", "data-testid": "who" }, me.full_name || me.username),
    " ",
    badge(me.role, me.role === "admin" ? "admin" : ""),
    button("Sign out", () => app.signOut("You have signed out."), { testid: "sign-out" }));
  who.hidden = false;
  const warning = defaultCredentialsWarning(app.credentials);
  if (warning) replace(banner, warning);
  banner.hidden = !warning;
}

/**
 * The warning for an account that still has a default password or API key (one anyone can
 * guess), from the server's answer; null when there is nothing to warn about.
 * @param {Credentials | null} credentials
 */
function defaultCredentialsWarning(credentials) {
  const password = credentials?.default_password === true;
  const key = credentials?.default_api_key === true;
  if (!password && !key) return null;
  const what = password && key ? "the default password and the default API key" : password ? "the default password" : "the default API key";
  return el("span", { "data-testid": "default-credentials" },
    el("strong", {}, `This account still has ${what}. `),
    "Anyone can guess ", password && key ? "them" : "it", ". ",
    password ? el("a", { href: "#/profile/password", "data-testid": "banner-change" }, "Change the password") : null,
    password && key ? " and " : null,
    key ? el("a", { href: "#/profile/key", "data-testid": "banner-rotate" }, password ? "rotate the key" : "Rotate the key") : null,
    ".");
}

function currentPath() {
  return location.hash.replace(/^#\/?/, "").split("/")[0] || "profile";
}

/** @param {string} [message] */
function showLogin(message) {
  current?.end();
  current = null;
  document.title = "Sign in · workgate";
  login.render(app, $("main"), message);
}

async function route() {
  if (!app.subject) return showLogin();
  current?.end();
  const subject = app.subject;
  const path = currentPath();
  const entry = ROUTES.find((r) => r.path === path && r.allowed(subject)) ?? ROUTES[0];
  if (entry.path !== path) history.replaceState(null, "", `#/${entry.path}`);
  const main = $("main");
  document.title = `${entry.label} · workgate`;
  drawChrome();
  const outlet = el("div", { class: "view", "data-view": entry.path }, el("p", { class: "loading" }, "Loading…"));
  replace(main, outlet);
  const render = new Render(outlet);
  current = render;
  try {
    await render.refreshMe();
    await entry.view.render(render, outlet);
  } catch (e) {
    if (!render.current || !app.subject) return; // a newer view, or signed out meanwhile
    replace(outlet, errorBox(e));
  }
  // Focus the view for screen readers, unless it focused a control of its own.
  if (render.current && !outlet.contains(document.activeElement)) main.focus({ preventScroll: true });
}

async function start() {
  try {
    await init();
  } catch (e) {
    replace($("main"), errorBox({ message: `The access model could not be loaded: ${e instanceof Error ? e.message : e}` }));
    return;
  }
  window.addEventListener("hashchange", () => { route(); });
  const saved = session.load();
  try {
    if (saved) {
      app.token = saved.token;
      try {
        await app.refreshMe();
      } catch {
        if (app.token) await app.signOut("Your session has ended. Please sign in again.");
        return;
      }
      await app.refreshCredentials();
    }
    await route();
  } finally {
    document.body.dataset.ready = "1";
  }
}

start();
