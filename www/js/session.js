// @ts-check
// The sign-in session, kept for this browser tab only (sessionStorage): the access token and
// nothing else. The password is never stored; whether the account still has a default password
// or API key is asked of the server after sign-in (GET /api/me/credentials).

const KEY = "workgate.session";

/** @typedef {{token: string}} Session */

/** @returns {Session | null} */
export function load() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return s && typeof s.token === "string" ? { token: s.token } : null;
  } catch {
    return null;
  }
}

/** @param {Session} session */
export function save(session) {
  sessionStorage.setItem(KEY, JSON.stringify({ token: session.token }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}
