// @ts-check
// The HTTP API (API.md): JSON in and out, errors turned into ApiError with a readable message
// taken from the error envelope {"detail": {"code", "params"}}.

/**
 * The wire types of API.md section 6, as the views read them.
 *
 * @typedef {object} UserOut a User
 * @property {string} id
 * @property {string} first_name
 * @property {string} [last_name]
 * @property {string} full_name
 * @property {string} username
 * @property {import("../pkg/workgate_browser.js").Role} role
 * @property {string[]} workspaces
 * @property {string} api_key masked, except in the answer that issued it
 * @property {string} inserted_at
 * @property {string} updated_at
 *
 * @typedef {object} WorkspaceOut a Workspace
 * @property {string} id
 * @property {string} name
 * @property {string} inserted_at
 * @property {string} updated_at
 *
 * @typedef {object} Credentials GET /api/me/credentials: whether the caller's own account
 *   still has a default password or API key (one anyone can guess)
 * @property {boolean} default_password
 * @property {boolean} default_api_key
 *
 * @typedef {object} AuditEntry an entry of GET /api/audit
 * @property {string} at
 * @property {string} actor
 * @property {string} action
 * @property {string | null} [target_type]
 * @property {string | null} [target_id]
 * @property {string | null} [target_name]
 * @property {string | null} [detail]
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0: no answer)
   * @param {string} message a sentence for people
   * @param {{code?: string | null, kind?: string | null, items?: string[], retryAfter?: number | null}} extra
   *   the error code, the kind of a GenericServerError (its `type`, e.g. "NotImplemented"),
   *   the 422 items (["Field: msg"]), the 429 wait in seconds
   */
  constructor(status, message, extra = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = extra.code ?? null;
    this.kind = extra.kind ?? null;
    this.items = extra.items ?? [];
    this.retryAfter = extra.retryAfter ?? null;
  }
}

/** @type {Record<string, string>} */
const FIELD_NAMES = {
  first_name: "First name",
  last_name: "Last name",
  username: "Username",
  password: "Password",
  role: "Role",
  name: "Name",
  current_password: "Current password",
  new_password: "New password",
  target_workspace: "Target workspace",
};

/**
 * "body.first_name" → "First name"; query and path parameters keep their names.
 * @param {unknown} loc
 */
function fieldName(loc) {
  const parts = (Array.isArray(loc) ? loc : []).slice(1).map(String);
  if (parts.length === 0) return "Request";
  return FIELD_NAMES[parts[0]] ?? parts.join(".");
}

/**
 * The readable message of an error response.
 * @param {number} status
 * @param {any} body the parsed JSON body, or null
 * @param {Headers} [headers]
 * @returns {ApiError}
 */
export function errorFromResponse(status, body, headers) {
  const detail = body?.detail;
  if (typeof detail === "string") return new ApiError(status, detail);
  const code = typeof detail?.code === "string" ? detail.code : null;
  const params = detail?.params ?? {};
  const klass = code?.split("::").pop();
  switch (klass) {
    case "ValidationError": {
      const items = (Array.isArray(params.errors) ? params.errors : []).map(
        (/** @type {any} */ e) => `${fieldName(e?.loc)}: ${e?.msg ?? "invalid"}`,
      );
      return new ApiError(status, "Please correct the following:", { code, items });
    }
    case "EntityNotFoundError":
      return new ApiError(status, `${params.type ?? "Entity"} ${quote(params.name)} was not found.`, { code });
    case "EntityAlreadyExistsError":
      return new ApiError(status, `${params.type ?? "Entity"} ${quote(params.name)} already exists.`, { code });
    case "TooManyRequestsError": {
      const retryAfter = Number(params.retry_after ?? headers?.get?.("retry-after") ?? 0) || null;
      const wait = retryAfter ? ` Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.` : "";
      return new ApiError(status, `Too many failed sign-in attempts for this username.${wait}`, { code, retryAfter });
    }
  }
  const kind = klass === "GenericServerError" && typeof params.type === "string" ? params.type : null;
  const text = params.detail ?? params.message;
  if (typeof text === "string" && text) return new ApiError(status, text, { code, kind });
  return new ApiError(status, `The server answered ${status}${body ? "" : " (no details)"}.`, { code, kind });
}

/** @param {unknown} name */
function quote(name) {
  return name === undefined || name === null ? "" : `“${name}”`;
}

/**
 * @typedef {object} CallOptions
 * @property {string | null} [token] authenticates the call (Bearer)
 * @property {unknown} [json] sent as a JSON body
 * @property {Record<string, string>} [form] sent as a form-encoded body
 * @property {Record<string, string>} [headers] more request headers (e.g. X-Argilla-Workspace)
 * @property {boolean} [read] a POST that only reads (a records scan): a render cancels it
 *   when it ends, as it cancels its GETs
 * @property {AbortSignal} [signal] cancels the call: it then rejects with the signal's reason
 *   (an AbortError), never with an ApiError
 */

/**
 * Calls the API. Resolves to the parsed JSON body; rejects with ApiError.
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<any>}
 */
export async function call(method, path, { token, json, form, signal, headers: extra } = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...extra, Accept: "application/json" };
  /** @type {BodyInit | undefined} */
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal, credentials: "omit", cache: "no-store" });
  } catch (e) {
    if (signal?.aborted) throw signal.reason ?? e;
    throw new ApiError(0, "The server could not be reached. Check your connection and try again.");
  }
  let parsed = null;
  let text;
  try {
    text = await response.text();
  } catch (e) {
    if (signal?.aborted) throw signal.reason ?? e;
    throw new ApiError(0, "The server's answer was cut off. Check your connection and try again.");
  }
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) throw errorFromResponse(response.status, parsed, response.headers);
  return parsed;
}

/**
 * POST /api/security/token: the access token for a username and password.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<string>}
 */
export async function signIn(username, password) {
  const body = await call("POST", "/api/security/token", { form: { username, password } });
  return body.access_token;
}
