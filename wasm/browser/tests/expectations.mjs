// The expected access decisions, written down by hand from API.md (sections 5, 7 and 9) and
// docs/DECISIONS.md, NOT derived from the implementation. Running this file writes
// decisions.json beside it, the one decision table that both the Rust test
// (tests/decisions.rs, through workgate-core natively) and the Node tests
// (tests/parity.test.mjs, through the built wasm package) check, case by case.
//
//   node wasm/browser/tests/expectations.mjs      # rewrites decisions.json
//
// parity.test.mjs fails if decisions.json differs from what this file generates, so the table
// cannot drift from the reviewed rules below. Review changes to RULES, EDGE_CASES and
// FIELD_RULES like changes to the contract.

import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Who may take each action. Every action applies to one kind of resource:
//   instance  - the service as a whole (no resource)
//   workspace - {workspace: name}: the workspace, or the datasets in it
//   dataset   - {workspace, createdBy}: one dataset, by its workspace and its creator's
//               username (createdBy missing or null: the creator is unknown)
//   user      - {user: username}
//   copy      - {from, to}: copying a dataset between two workspaces
// and is allowed to:
//   anyone  - every signed-in user
//   member  - admins, and annotators that are members of the workspace (by exact name)
//   creator - admins, and annotators that are members of the dataset's workspace AND whose
//             username is its createdBy (by exact name; an unknown creator is nobody's)
//   self    - admins, and the user itself
//   admin   - admins only
// An admin is a super-user: it may take every action on every resource of the right kind,
// member of the workspace or not (API.md 7).
export const RULES = {
  // Workspaces. Annotators may list workspaces; the list holds only their own (API.md 9.3).
  listWorkspaces: ["instance", "anyone"],
  readWorkspace: ["workspace", "member"], // GET /api/v1/workspaces/{id}: admin, or a member
  createWorkspace: ["instance", "admin"],
  deleteWorkspace: ["workspace", "admin"], // API.md 9.7
  listMembers: ["workspace", "admin"], // GET /api/workspaces/{id}/users: admin
  addMember: ["workspace", "admin"],
  removeMember: ["workspace", "admin"],
  // Users
  listUsers: ["instance", "admin"],
  readUser: ["user", "self"], // GET /api/me for oneself; user records of others: admin
  createUser: ["instance", "admin"],
  updateUser: ["user", "admin"], // PATCH /api/users/{id}: admin (not even one's own role)
  deleteUser: ["user", "admin"],
  resetPassword: ["user", "admin"], // PUT /api/users/{id}/password
  changeOwnPassword: ["user", "self"], // PUT /api/me/password
  rotateApiKey: ["user", "self"], // POST /api/users/{id}/api-key: admin, or the user itself
  readAuditLog: ["instance", "admin"], // GET /api/audit
  // Datasets: annotators read and write those of their workspaces (log records into an
  // existing dataset, patch its tags and metadata, discard records); only admins create and
  // copy them (API.md 7), even between two workspaces the annotator belongs to, and manage
  // their settings. Deleting, closing and opening a dataset and deleting its records (hard
  // deletion) need its creator: Argilla 1.8's DatasetPolicy (issue 10 item 5).
  listDatasets: ["workspace", "member"],
  readDataset: ["workspace", "member"],
  writeDataset: ["workspace", "member"],
  createDataset: ["workspace", "admin"],
  deleteDataset: ["dataset", "creator"],
  copyDataset: ["copy", "admin"],
  closeDataset: ["dataset", "creator"],
  openDataset: ["dataset", "creator"],
  deleteRecords: ["dataset", "creator"],
  manageDatasetSettings: ["workspace", "admin"], // PATCH /api/datasets/{name}/settings
};

/** A User as GET /api/me returns it (the extra fields must be ignored). */
function me(username, role, workspaces, extra = {}) {
  return {
    id: "6f4c1d2e-8a0b-4c3d-9e8f-0a1b2c3d4e5f",
    first_name: username,
    full_name: username,
    username,
    role,
    workspaces,
    api_key: "argill…",
    inserted_at: "2023-03-16T11:11:59.871532",
    updated_at: "2023-03-16T11:11:59.871532",
    ...extra,
  };
}

// The subjects: each with a note saying why it is here.
export const SUBJECTS = [
  ["admin; /api/me lists every workspace", me("root", "admin", ["root", "team", "ann", "solo", "other"])],
  ["admin that is a member of nothing: rights do not come from membership", me("bare", "admin", [])],
  ["annotator, member of its personal workspace and a team workspace", me("ann", "annotator", ["ann", "team"])],
  ["annotator with only its personal workspace", me("solo", "annotator", ["solo"])],
  [
    "annotator whose personal workspace is also the team workspace (username = team workspace name)",
    me("team", "annotator", ["team"]),
  ],
  [
    "annotator removed from its personal workspace: access is by membership, not by name",
    me("lost", "annotator", []),
  ],
];

// Resource names tried for every subject: the subject's own name is added to these.
const WORKSPACES = ["team", "other", "Team", "team ", ""];
const USERS = ["ann", "other", "Ann", ""];
// Creators tried for every dataset: the subject itself is added to these; null and a missing
// createdBy (MISSING) both mean an unknown creator.
const MISSING = Symbol("missing createdBy");
const CREATORS = ["other", null, MISSING];

function allowed(action, user, resource) {
  const [, who] = RULES[action];
  if (user.role === "admin") return true;
  switch (who) {
    case "anyone":
      return true;
    case "member":
      return user.workspaces.includes(resource.workspace);
    case "creator":
      return user.workspaces.includes(resource.workspace) && resource.createdBy === user.username;
    case "self":
      return resource.user === user.username;
    case "admin":
      return false;
  }
  throw new Error(`RULES.${action}: unknown rule ${who}`);
}

function resourcesFor(kind, user) {
  const uniq = (xs) => [...new Set(xs)];
  switch (kind) {
    case "instance":
      return [undefined];
    case "workspace":
      return uniq([user.username, ...user.workspaces, ...WORKSPACES]).map((workspace) => ({ workspace }));
    case "dataset":
      return uniq([user.username, ...user.workspaces, "other", "Team", ""]).flatMap((workspace) =>
        [user.username, ...CREATORS].map((createdBy) => (createdBy === MISSING ? { workspace } : { workspace, createdBy })),
      );
    case "user":
      return uniq([user.username, ...USERS]).map((u) => ({ user: u }));
    case "copy":
      return [
        { from: user.username, to: "team" },
        { from: "team", to: "team" },
        { from: "other", to: "team" },
        { from: "team", to: "other" },
      ];
  }
  throw new Error(`unknown kind ${kind}`);
}

// Inputs that must throw an Error whose message contains `error` (never trap, never answer).
const ann = me("ann", "annotator", ["ann", "team"]);
export const EDGE_CASES = [
  // actions
  { why: "unknown action", user: ann, action: "frobnicate", error: 'unknown action "frobnicate"' },
  { why: "action names are camelCase and case-sensitive", user: ann, action: "ReadWorkspace", resource: { workspace: "ann" }, error: "unknown action" },
  { why: "Rust-style action name", user: ann, action: "read_workspace", resource: { workspace: "ann" }, error: "unknown action" },
  { why: "action that is not a string", user: ann, action: 5, error: "the action must be a string" },
  { why: "missing action", user: ann, error: "the action must be a string" },
  // resources
  { why: "workspace action without a resource", user: ann, action: "readWorkspace", error: 'readWorkspace takes a resource {workspace: "<name>"}' },
  { why: "workspace action with a null resource", user: ann, action: "readWorkspace", resource: null, error: "readWorkspace takes a resource {workspace" },
  { why: "workspace action given a user resource", user: ann, action: "readWorkspace", resource: { user: "ann" }, error: "`workspace` is missing or not a string" },
  { why: "user action given a workspace resource", user: ann, action: "rotateApiKey", resource: { workspace: "ann" }, error: 'rotateApiKey takes a resource {user: "<username>"}' },
  { why: "instance action given a resource", user: ann, action: "createUser", resource: { workspace: "ann" }, error: "createUser takes no resource" },
  { why: "resource given as a bare string", user: ann, action: "readWorkspace", resource: "ann", error: "readWorkspace takes a resource" },
  { why: "resource given as an array", user: ann, action: "readWorkspace", resource: ["ann"], error: "readWorkspace takes a resource" },
  { why: "workspace name that is not a string", user: ann, action: "readWorkspace", resource: { workspace: 7 }, error: "`workspace` is missing or not a string" },
  { why: "copy without `to`", user: ann, action: "copyDataset", resource: { from: "ann" }, error: "`to` is missing or not a string" },
  { why: "copy given a workspace resource", user: ann, action: "copyDataset", resource: { workspace: "ann" }, error: "copyDataset takes a resource {from" },
  { why: "dataset action without a resource", user: ann, action: "deleteDataset", error: 'deleteDataset takes a resource {workspace: "<name>", createdBy: "<username>"}' },
  { why: "dataset action without its workspace", user: ann, action: "closeDataset", resource: { createdBy: "ann" }, error: "`workspace` is missing or not a string" },
  { why: "dataset action given a copy resource", user: ann, action: "deleteDataset", resource: { from: "ann", to: "team" }, error: "`workspace` is missing or not a string" },
  { why: "createdBy that is not a string", user: ann, action: "openDataset", resource: { workspace: "team", createdBy: 7 }, error: "`createdBy` is neither a string nor null" },
  { why: "createdBy that is an object", user: ann, action: "deleteRecords", resource: { workspace: "team", createdBy: { username: "ann" } }, error: "`createdBy` is neither a string nor null" },
  // users
  { why: "user that is not an object", user: "ann", action: "listWorkspaces", error: "expected the User JSON of GET /api/me" },
  { why: "user that is an array", user: ["ann"], action: "listWorkspaces", error: "expected the User JSON of GET /api/me" },
  { why: "user that is null", user: null, action: "listWorkspaces", error: "expected the User JSON of GET /api/me" },
  { why: "user without a username", user: { role: "admin", workspaces: [] }, action: "listWorkspaces", error: "`username` is missing" },
  { why: "user with an empty username", user: { username: "", role: "admin", workspaces: [] }, action: "listWorkspaces", error: "`username` is missing or not a non-empty string" },
  { why: "user without a role", user: { username: "ann", workspaces: [] }, action: "listWorkspaces", error: "`role` is missing" },
  { why: "roles are case-sensitive", user: { username: "ann", role: "Admin", workspaces: [] }, action: "listWorkspaces", error: 'unknown role "Admin"' },
  { why: "unknown role", user: { username: "ann", role: "owner", workspaces: [] }, action: "listWorkspaces", error: 'unknown role "owner"' },
  { why: "user without workspaces", user: { username: "ann", role: "annotator" }, action: "listWorkspaces", error: "`workspaces` is missing or not an array of names" },
  { why: "workspaces that is not an array", user: { username: "ann", role: "annotator", workspaces: "ann" }, action: "listWorkspaces", error: "`workspaces` is missing or not an array of names" },
  { why: "workspaces with a non-string item", user: { username: "ann", role: "annotator", workspaces: ["ann", 3] }, action: "listWorkspaces", error: "`workspaces` is missing or not an array of names" },
  // answers that are not errors
  { why: "extra resource fields are ignored", user: ann, action: "readWorkspace", resource: { workspace: "team", user: "x" }, allowed: true },
  { why: "an instance action with an explicit null resource", user: ann, action: "listWorkspaces", resource: null, allowed: true },
  { why: "createdBy is compared by exact name", user: ann, action: "deleteDataset", resource: { workspace: "team", createdBy: "Ann" }, allowed: false },
  { why: "an empty createdBy is nobody", user: ann, action: "deleteDataset", resource: { workspace: "team", createdBy: "" }, allowed: false },
  { why: "a creator-independent dataset action ignores createdBy", user: ann, action: "readDataset", resource: { workspace: "team", createdBy: "other" }, allowed: true },
  { why: "settings are admin-only, even for the creator", user: ann, action: "manageDatasetSettings", resource: { workspace: "team", createdBy: "ann" }, allowed: false },
  { why: "the creator may not copy its dataset", user: ann, action: "copyDataset", resource: { from: "team", to: "ann" }, allowed: false },
];

// The field rules of API.md section 4 that the package exposes to forms, written down by hand:
// the name pattern of usernames and workspace names, the password length, and inputs with the
// answer isValidName / isValidPasswordLength must give ([input, valid, why]).
const emoji = "\u{1F511}"; // one character, two UTF-16 units
export const FIELD_RULES = {
  namePattern: "^(?!-|_)[a-z0-9-_]+$",
  passwordLength: { min: 8, max: 100 },
  names: [
    ["argilla", true, "lowercase letters"],
    ["team-1_a", true, "digits, - and _ after the first character"],
    ["0", true, "one digit"],
    ["x-", true, "a trailing -"],
    ["", false, "empty"],
    ["-team", false, "starts with -"],
    ["_team", false, "starts with _"],
    ["Team", false, "uppercase"],
    ["team 1", false, "a space"],
    ["team\n", false, "a trailing newline"],
    ["équipe", false, "a non-ASCII letter"],
    ["team.1", false, "a dot"],
  ],
  passwords: [
    ["1234", false, "the default admin's password: too short to set"],
    ["1234567", false, "7 characters"],
    ["12345678", true, "8 characters"],
    ["x".repeat(100), true, "100 characters"],
    ["x".repeat(101), false, "101 characters"],
    ["é".repeat(100), true, "100 characters of two UTF-8 bytes"],
    [emoji.repeat(100), true, "100 characters of two UTF-16 units: counted as characters"],
    [emoji.repeat(101), false, "101 characters of two UTF-16 units"],
    [emoji.repeat(7), false, "7 characters of two UTF-16 units (14 units)"],
  ],
};

export function decisionTable() {
  const cases = [];
  for (const [, user] of SUBJECTS) {
    for (const [action, [kind]] of Object.entries(RULES)) {
      for (const resource of resourcesFor(kind, user)) {
        const c = { subject: user.username, action };
        if (resource !== undefined) c.resource = resource;
        c.allowed = allowed(action, user, resource ?? {});
        cases.push(c);
      }
    }
  }
  cases.push(...EDGE_CASES);
  return {
    about:
      "Generated by tests/expectations.mjs from hand-reviewed rules; do not edit by hand. " +
      "Each case: build a subject from `user` (or from subjects[`subject`]), then ask " +
      "can(action, resource) (resource omitted = none); expect `allowed`, or an Error whose " +
      "message contains `error`. `fieldRules`: isValidName and isValidPasswordLength answer " +
      "`valid` for each [input, valid, why]; namePattern() and passwordLength() answer the values given.",
    actions: Object.keys(RULES),
    fieldRules: FIELD_RULES,
    subjects: Object.fromEntries(SUBJECTS.map(([why, user]) => [user.username, { why, user }])),
    cases,
  };
}

/** The table as JSON text, one case (and one field-rule input) a line. */
export function decisionTableJson() {
  const { cases, fieldRules, ...head } = decisionTable();
  const top = JSON.stringify(head, null, 1).replace(/\n}$/, "");
  const { names, passwords, ...values } = fieldRules;
  const list = (items) => items.map((item) => "   " + JSON.stringify(item)).join(",\n");
  const rules = Object.entries(values).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},\n`).join("") +
    `  "names": [\n${list(names)}\n  ],\n  "passwords": [\n${list(passwords)}\n  ]`;
  return `${top},\n "fieldRules": {\n${rules}\n },\n "cases": [\n${cases.map((c) => "  " + JSON.stringify(c)).join(",\n")}\n ]\n}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = new URL("./decisions.json", import.meta.url);
  writeFileSync(out, decisionTableJson());
  console.log(`wrote ${fileURLToPath(out)}: ${decisionTable().cases.length} cases`);
}
