/** Every action the access model decides, by its camelCase name (see `actions()`). */
export type Action =
  | "listWorkspaces"
  | "readWorkspace"
  | "createWorkspace"
  | "deleteWorkspace"
  | "listMembers"
  | "addMember"
  | "removeMember"
  | "listUsers"
  | "readUser"
  | "createUser"
  | "updateUser"
  | "deleteUser"
  | "resetPassword"
  | "changeOwnPassword"
  | "rotateApiKey"
  | "readAuditLog"
  | "listDatasets"
  | "readDataset"
  | "writeDataset"
  | "createDataset"
  | "deleteDataset"
  | "copyDataset";

/** A user's role. */
export type Role = "admin" | "annotator";

/**
 * The User JSON of `GET /api/me`. Only `username`, `role` and `workspaces` are read; other
 * fields (`id`, `first_name`, `api_key`, ...) may be present and are ignored.
 */
export interface User {
  username: string;
  role: Role;
  /** Workspace names: memberships for annotators, every workspace for admins. */
  workspaces: string[];
  [field: string]: unknown;
}

/**
 * What an action applies to. Workspace and dataset actions take `{workspace}`, user actions
 * `{user}` (a username), `copyDataset` takes `{from, to}` (workspace names), and instance-level
 * actions (`listWorkspaces`, `createWorkspace`, `listUsers`, `createUser`, `readAuditLog`)
 * take no resource.
 */
export type Resource =
  | { workspace: string }
  | { user: string }
  | { from: string; to: string };

/**
 * The accepted password length (API.md section 4), as `passwordLength()` answers it: `min` to
 * `max` characters, both inclusive, counted in Unicode code points (`[...password].length`), as
 * the server counts them — not in UTF-16 units (`password.length`).
 */
export interface PasswordLength {
  min: number;
  max: number;
}
