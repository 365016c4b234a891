// The HTTP API (API.md): JSON in and out, errors turned into ApiError with a readable message
// taken from the error envelope {"detail": {"code", "params"}}.

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} message a sentence for people
   * @param {object} extra {code, items (422: ["field: msg"]), retryAfter (429: seconds)}
   */
  constructor(status, message, extra = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = extra.code ?? null;
    this.items = extra.items ?? [];
    this.retryAfter = extra.retryAfter ?? null;
  }
}

const FIELD_NAMES = {
  first_name: "First name",
  last_name: "Last name",
  username: "Username",
  password: "Password",
  role: "Role",
  name: "Name",
  current_password: "Current password",
  new_password: "New password",
};

/** "body.first_name" → "First name"; query and path parameters keep their names. */
function fieldName(loc) {
  const parts = (Array.isArray(loc) ? loc : []).slice(1).map(String);
  if (parts.length === 0) return "Request";
  return FIELD_NAMES[parts[0]] ?? parts.join(".");
}

/** The readable message of an error response (status, parsed body or null, headers). */
export function errorFromResponse(status, body, headers) {
  const detail = body?.detail;
  if (typeof detail === "string") return new ApiError(status, detail);
  const code = typeof detail?.code === "string" ? detail.code : null;
  const params = detail?.params ?? {};
  const klass = code?.split("::").pop();
  switch (klass) {
    case "ValidationError": {
      const items = (Array.isArray(params.errors) ? params.errors : []).map(
        (e) => `${fieldName(e?.loc)}: ${e?.msg ?? "invalid"}`,
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
  const text = params.detail ?? params.message;
  if (typeof text === "string" && text) return new ApiError(status, text, { code });
  return new ApiError(status, `The server answered ${status}${body ? "" : " (no details)"}.`, { code });
}

function quote(name) {
  return name === undefined || name === null ? "" : `“${name}”`;
}

/**
 * Calls the API. `token` authenticates (Bearer); `json` is sent as a JSON body, `form` as a
 * form-encoded one. Resolves to the parsed JSON body; rejects with ApiError.
 */
export async function call(method, path, { token, json, form } = {}) {
  const headers = { Accept: "application/json" };
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
    response = await fetch(path, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "The server could not be reached. Check your connection and try again.");
  }
  let parsed = null;
  const text = await response.text();
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

/** POST /api/security/token: the access token for a username and password. */
export async function signIn(username, password) {
  const body = await call("POST", "/api/security/token", { form: { username, password } });
  return body.access_token;
}
