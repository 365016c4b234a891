// The JavaScript face of the package: its exports resolve in Node (import and require), the
// TypeScript declarations cover the whole API, the listing helpers agree with can(), the field
// rules are core's, and no input, however odd, traps the wasm: bad input throws an Error with a
// message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RULES } from "./expectations.mjs";

import { createRequire } from "node:module";

import * as esm from "../pkg/node/index.mjs";
import init, { Subject, actions, isValidName, isValidPasswordLength, namePattern, passwordLength } from "../pkg/node/index.mjs";

await init();
const pkgDir = fileURLToPath(new URL("../pkg/", import.meta.url));

const ann = { id: "x", username: "ann", role: "annotator", workspaces: ["ann", "team"], first_name: "Ann" };
const root = { username: "argilla", role: "admin", workspaces: ["argilla", "team", "ann"] };

test("the package's exports resolve for import and require", async () => {
  const dir = mkdtempSync(join(tmpdir(), "workgate-browser-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(pkgDir, join(dir, "node_modules/workgate-browser"), "dir");
    writeFileSync(join(dir, "esm.mjs"),
      'import init, { Subject, actions } from "workgate-browser";\n' +
      "await init();\nexport const answer = new Subject(" + JSON.stringify(ann) + ").can('readWorkspace', {workspace: 'team'});\n" +
      "export const count = actions().length;\n");
    writeFileSync(join(dir, "cjs.cjs"),
      'const { Subject } = require("workgate-browser");\n' +
      "module.exports = new Subject(" + JSON.stringify(ann) + ").can('createUser');\n");
    const esm = await import(pathToFileURL(join(dir, "esm.mjs")).href);
    assert.equal(esm.answer, true);
    assert.equal(esm.count, 26);
    assert.equal(createRequire(join(dir, "x.js"))(join(dir, "cjs.cjs")), false);
    const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    assert.equal(manifest.name, "workgate-browser");
    for (const target of ["./web/workgate_browser.js", "./web/workgate_browser.d.ts", "./node/index.mjs", "./node/index.cjs", "./workerd/index.mjs"]) {
      assert.ok(JSON.stringify(manifest.exports).includes(target), `exports names ${target}`);
      readFileSync(join(pkgDir, target)); // exists
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the TypeScript declarations cover the whole API", () => {
  for (const dts of ["web/workgate_browser.d.ts", "node/workgate_browser.d.ts"]) {
    const text = readFileSync(join(pkgDir, dts), "utf8");
    const union = text.match(/export type Action =([^;]*);/);
    assert.ok(union, `${dts}: Action type`);
    assert.deepEqual([...union[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]), actions(), `${dts}: Action lists actions()`);
    for (const decl of [
      "export type Role", "export interface User", "export interface DatasetResource", "export type Resource",
      "export class Subject", "constructor(user: User)", "can(action: Action, resource?: Resource): boolean",
      "allowedActions(resource?: Resource): Action[]", "workspaceActions(name: string): Action[]",
      "workspaces(candidates?: string[]): string[]", "readonly isAdmin: boolean", "readonly role: Role",
      "readonly username: string", "export function actions(): Action[]",
      "export interface PasswordLength", "export function isValidName(name: string): boolean",
      "export function isValidPasswordLength(password: string): boolean",
      "export function namePattern(): string", "export function passwordLength(): PasswordLength",
    ]) {
      assert.ok(text.includes(decl), `${dts} declares ${decl}`);
    }
  }
  // Every runtime export is declared.
  const cjs = readFileSync(join(pkgDir, "node/workgate_browser.d.ts"), "utf8");
  for (const name of Object.keys(Subject.prototype).concat(Object.getOwnPropertyNames(Subject.prototype))) {
    if (name === "constructor" || name.startsWith("__")) continue;
    assert.ok(cjs.includes(name), `Subject.${name} is declared`);
  }
  // PasswordLength declares exactly the fields passwordLength() answers.
  const declared = cjs.match(/export interface PasswordLength \{([^}]*)\}/);
  assert.ok(declared, "PasswordLength interface");
  assert.deepEqual([...declared[1].matchAll(/^\s*(\w+): number;/gm)].map((m) => m[1]), Object.keys(passwordLength()));
  // Every function of the CommonJS build is declared, and exported by the ES module entry.
  const require = createRequire(import.meta.url);
  for (const name of Object.keys(require("../pkg/node/workgate_browser.js"))) {
    if (name.startsWith("__")) continue;
    assert.ok(cjs.includes(`export function ${name}(`) || cjs.includes(`export class ${name} `), `${name} is declared`);
    assert.ok(name in esm, `index.mjs exports ${name}`);
  }
  assert.ok(readFileSync(join(pkgDir, "web/workgate_browser.d.ts"), "utf8").includes("export default function __wbg_init"));
  assert.ok(readFileSync(join(pkgDir, "node/index.d.mts"), "utf8").includes("export default function init"));
});

test("a subject from the /api/me JSON", () => {
  const s = new Subject(ann);
  assert.equal(s.username, "ann");
  assert.equal(s.role, "annotator");
  assert.equal(s.isAdmin, false);
  assert.equal(new Subject(root).isAdmin, true);
  assert.equal(actions().length, 26);
  assert.ok(actions().every((a) => /^[a-z][A-Za-z]+$/.test(a)));
});

test("listing helpers agree with can()", () => {
  for (const user of [ann, root]) {
    const s = new Subject(user);
    assert.deepEqual(s.workspaces(), user.role === "admin" ? user.workspaces : ["ann", "team"]);
    assert.deepEqual(s.workspaces(["other", "team", "ann"]), user.role === "admin" ? ["other", "team", "ann"] : ["team", "ann"]);
    const resources = [
      [undefined, "instance"], [{ workspace: "team" }, "workspace"], [{ workspace: "other" }, "workspace"],
      [{ workspace: "team", createdBy: "ann" }, "dataset"], [{ workspace: "team", createdBy: "bob" }, "dataset"],
      [{ workspace: "team", createdBy: null }, "dataset"], [{ workspace: "other", createdBy: "ann" }, "dataset"],
      [{ user: "ann" }, "user"], [{ user: "bob" }, "user"], [{ from: "ann", to: "team" }, "copy"],
    ];
    for (const [resource, kind] of resources) {
      // The actions of the resource's kind (RULES, by hand), and can() accepts the resource for each.
      const ofKind = actions().filter((a) => RULES[a][0] === kind);
      for (const a of ofKind) assert.doesNotThrow(() => s.can(a, resource), `${a} ${JSON.stringify(resource)}`);
      assert.deepEqual(s.allowedActions(resource), ofKind.filter((a) => s.can(a, resource)), JSON.stringify(resource));
    }
    for (const ws of ["team", "other"]) assert.deepEqual(s.workspaceActions(ws), s.allowedActions({ workspace: ws }));
  }
  assert.deepEqual(new Subject(ann).workspaceActions("team"), ["readWorkspace", "listDatasets", "readDataset", "writeDataset"]);
  assert.deepEqual(new Subject(ann).workspaceActions("other"), []);
  assert.deepEqual(new Subject(ann).allowedActions(), ["listWorkspaces"]);
  assert.deepEqual(new Subject(ann).allowedActions({ workspace: "team", createdBy: "ann" }), ["deleteDataset", "closeDataset", "openDataset", "deleteRecords"]);
  assert.deepEqual(new Subject(ann).allowedActions({ workspace: "team", createdBy: null }), []);
  assert.deepEqual(new Subject(root).allowedActions({ workspace: "other", createdBy: null }), ["deleteDataset", "closeDataset", "openDataset", "deleteRecords"]);
});

test("odd input throws an Error with a message, never traps, and leaves the subject usable", () => {
  const s = new Subject(ann);
  const throwing = new Proxy({}, { get() { throw new Error("boom"); } });
  const odd = [undefined, null, 0, 1n, -1, NaN, true, "", "x".repeat(100000), Symbol("s"), [], [1], {}, () => 1, throwing, new Map(), Object.create(null)];
  const calls = [];
  for (const v of odd) {
    calls.push(() => new Subject(v));
    calls.push(() => new Subject({ username: v, role: "admin", workspaces: [] }));
    calls.push(() => new Subject({ username: "a", role: v, workspaces: [] }));
    calls.push(() => new Subject({ username: "a", role: "admin", workspaces: v }));
    calls.push(() => s.can(v));
    calls.push(() => s.can("readWorkspace", v));
    calls.push(() => s.can("readWorkspace", { workspace: v }));
    calls.push(() => s.can("copyDataset", { from: "a", to: v }));
    calls.push(() => s.can("deleteDataset", { workspace: "team", createdBy: v }));
    calls.push(() => s.allowedActions({ workspace: "team", createdBy: v }));
    calls.push(() => s.allowedActions(v));
    calls.push(() => s.workspaceActions(v));
    calls.push(() => s.workspaces(v));
  }
  let threw = 0;
  for (const call of calls) {
    try {
      call();
    } catch (e) {
      threw++;
      assert.ok(e instanceof Error, `a non-Error was thrown: ${String(e)}`);
      assert.ok(!(e instanceof WebAssembly.RuntimeError), `wasm trap: ${e.message} in ${call}`);
      assert.ok(e.message.length > 10, `a clear message: ${e.message}`);
    }
  }
  assert.ok(threw > calls.length / 2);
  assert.equal(s.can("readWorkspace", { workspace: "team" }), true, "still usable");
  assert.equal(s.can("readWorkspace", { workspace: "x".repeat(100000) }), false);
  // A createdBy whose getter throws is not taken for an unknown creator (nor for anyone).
  const creatorThrows = { workspace: "team", get createdBy() { throw new Error("boom"); } };
  assert.throws(() => new Subject(root).can("deleteDataset", creatorThrows), { message: /`createdBy` is neither a string nor null/ });
  assert.throws(() => s.allowedActions(creatorThrows), { message: /a resource is one of/ });
});

test("the field rules are core's: name pattern and password length (decisions.json fieldRules)", () => {
  const { fieldRules } = JSON.parse(readFileSync(new URL("./decisions.json", import.meta.url), "utf8"));
  assert.equal(namePattern(), fieldRules.namePattern);
  assert.deepEqual(passwordLength(), fieldRules.passwordLength);
  const pattern = new RegExp(namePattern());
  for (const [name, valid, why] of fieldRules.names) {
    assert.equal(isValidName(name), valid, `isValidName(${JSON.stringify(name)}): ${why}`);
    assert.equal(pattern.test(name), valid, `new RegExp(namePattern()) agrees: ${why}`);
  }
  const { min, max } = passwordLength();
  for (const [password, valid, why] of fieldRules.passwords) {
    assert.equal(isValidPasswordLength(password), valid, `isValidPasswordLength: ${why}`);
    const chars = [...password].length;
    assert.equal(chars >= min && chars <= max, valid, `passwordLength() agrees: ${why}`);
  }
});

test("the field rules throw on anything but a string", () => {
  for (const v of [undefined, null, 5, 12345678, true, ["argilla"], { toString: () => "argilla" }, Symbol("s"), 1n]) {
    assert.throws(() => isValidName(v), { message: "isValidName(name): the name must be a string" });
    assert.throws(() => isValidPasswordLength(v), { message: "isValidPasswordLength(password): the password must be a string" });
  }
  assert.equal(isValidName("x".repeat(100000)), true);
  assert.equal(isValidPasswordLength("x".repeat(100000)), false);
});

test("a freed subject throws instead of answering", () => {
  const s = new Subject(ann);
  s.free();
  assert.throws(() => s.can("listWorkspaces"), Error);
});
