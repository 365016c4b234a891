// Initialising from bytes, for test runners that load the web build but cannot fetch its wasm
// by URL (Jest with a browser-like environment, Vitest, ...): `initSync({module})` with the
// bytes of `workgate-browser/workgate_browser_bg.wasm`, read with fs.readFileSync. The Node
// entries offer the same `initSync` (a no-op there), so one setup file works everywhere.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("../pkg/", import.meta.url));
const ann = { username: "ann", role: "annotator", workspaces: ["ann", "team"] };

/** The package installed under node_modules of a scratch directory, as a user would have it. */
function installed(body) {
  const dir = mkdtempSync(join(tmpdir(), "workgate-browser-init-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(pkgDir, join(dir, "node_modules/workgate-browser"), "dir");
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the web build initialises synchronously from the wasm file's bytes", async () => {
  const web = await import("../pkg/web/workgate_browser.js");
  assert.equal(typeof web.initSync, "function");
  // Not initialised yet: the web build needs init() or initSync() before use.
  assert.throws(() => new web.Subject(ann));
  const bytes = installed((dir) => {
    const require = createRequire(join(dir, "setup.cjs"));
    return readFileSync(require.resolve("workgate-browser/workgate_browser_bg.wasm"));
  });
  web.initSync({ module: bytes });
  const subject = new web.Subject(ann);
  assert.equal(subject.can("readWorkspace", { workspace: "team" }), true);
  assert.equal(subject.can("createUser"), false);
  assert.equal(web.isValidName("team-2"), true);
  // A second initialisation changes nothing.
  web.initSync({ module: bytes });
  assert.equal(new web.Subject(ann).can("readWorkspace", { workspace: "other" }), false);
});

test("the web build also takes a compiled WebAssembly.Module", async () => {
  // A fresh copy of the module (its own wasm instance), through a query string.
  const web = await import("../pkg/web/workgate_browser.js?compiled");
  const module = new WebAssembly.Module(readFileSync(join(pkgDir, "web/workgate_browser_bg.wasm")));
  web.initSync({ module });
  assert.equal(new web.Subject({ username: "root", role: "admin", workspaces: [] }).can("createUser"), true);
});

test("the Node entries accept the same initSync call and ignore it", async () => {
  await installed(async (dir) => {
    const require = createRequire(join(dir, "setup.cjs"));
    const cjs = require("workgate-browser");
    const bytes = readFileSync(require.resolve("workgate-browser/workgate_browser_bg.wasm"));
    assert.equal(cjs.initSync({ module: bytes }), undefined);
    await cjs.default();
    assert.equal(new cjs.Subject(ann).can("readWorkspace", { workspace: "ann" }), true);

    const esm = await import("../pkg/node/index.mjs");
    assert.equal(esm.initSync({ module: bytes }), undefined);
    assert.equal(new esm.Subject(ann).can("deleteWorkspace", { workspace: "ann" }), false);
  });
  const dts = readFileSync(join(pkgDir, "node/index.d.mts"), "utf8");
  assert.ok(dts.includes("export function initSync("), "node/index.d.mts declares initSync");
  assert.ok(readFileSync(join(pkgDir, "web/workgate_browser.d.ts"), "utf8").includes("export function initSync("));
});
