// The sign-in session, kept for this browser tab only (sessionStorage): the access token and
// whether the user signed in with the default admin password. The password itself is never
// stored.

const KEY = "workgate.session";

export function load() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return s && typeof s.token === "string" ? { token: s.token, defaultPassword: s.defaultPassword === true } : null;
  } catch {
    return null;
  }
}

export function save(session) {
  sessionStorage.setItem(KEY, JSON.stringify({ token: session.token, defaultPassword: session.defaultPassword === true }));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}

/** The default admin of a fresh store (API.md section 8). */
export function isDefaultAdminPassword(username, password) {
  return username === "argilla" && password === "1234";
}
