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
  | "copyDataset"
  | "closeDataset"
  | "openDataset"
  | "deleteRecords"
  | "manageDatasetSettings";

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
 * One dataset, for the actions that depend on who created it (`deleteDataset`, `closeDataset`,
 * `openDataset`, `deleteRecords`): admins always; an annotator only while a member of
 * `workspace` and only if `createdBy` is its username. `createdBy` missing or `null` means the
 * creator is unknown, so only admins are allowed.
 */
export interface DatasetResource {
  /** The name of the dataset's workspace. */
  workspace: string;
  /** The username of the dataset's creator; missing or `null`: unknown. */
  createdBy?: string | null;
}

/**
 * What an action applies to. Workspace actions, and the dataset actions that do not depend on
 * the creator (`listDatasets`, `readDataset`, `writeDataset`, `createDataset`,
 * `manageDatasetSettings`), take `{workspace}`; `deleteDataset`, `closeDataset`, `openDataset`
 * and `deleteRecords` take a `DatasetResource` `{workspace, createdBy}`; user actions take
 * `{user}` (a username); `copyDataset` takes `{from, to}` (workspace names); instance-level
 * actions (`listWorkspaces`, `createWorkspace`, `listUsers`, `createUser`, `readAuditLog`) take
 * no resource. `allowedActions` tells the shapes apart by their fields: with a `createdBy`
 * field (even `null`) the resource is a dataset.
 */
export type Resource =
  | { workspace: string }
  | DatasetResource
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
