// The decision table (decisions.json) through the built package in Node: every case must
// answer exactly what the hand-reviewed expectations say, as tests/decisions.rs checks
// natively. Build first: `cargo xtask build-web`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

import init, { Subject, actions } from "../pkg/node/index.mjs";
import { decisionTableJson } from "./expectations.mjs";

await init();
const tableText = readFileSync(new URL("./decisions.json", import.meta.url), "utf8");
const table = JSON.parse(tableText);

/** What `new Subject(user).can(action, resource)` answers: {allowed} or {error}. */
function decide(Subject, c) {
  const user = "subject" in c ? table.subjects[c.subject].user : c.user;
  try {
    const s = new Subject(user);
    try {
      const allowed = "resource" in c ? s.can(c.action, c.resource) : s.can(c.action);
      return { allowed };
    } finally {
      s.free();
    }
  } catch (e) {
    assert.ok(e instanceof Error, `threw a non-Error: ${e}`);
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `wasm trap: ${e.message}`);
    return { error: e.message };
  }
}

function check(Subject) {
  const failures = [];
  for (const [i, c] of table.cases.entries()) {
    const got = decide(Subject, c);
    const ok = "allowed" in c ? got.allowed === c.allowed : got.error?.includes(c.error);
    if (!ok) failures.push(`case ${i}: ${JSON.stringify(c)}\n  got ${JSON.stringify(got)}`);
  }
  assert.equal(failures.length, 0, `${failures.length} cases differ:\n${failures.join("\n")}`);
}

test("decisions.json is what expectations.mjs generates (no hand edits, no drift)", () => {
  assert.equal(tableText, decisionTableJson(), "run `node wasm/browser/tests/expectations.mjs`");
});

test("the table has every action and many cases", () => {
  assert.deepEqual(table.actions, actions());
  assert.ok(table.cases.length > 500);
});

test("every case of the decision table, through the ES module entry", () => {
  check(Subject);
});

test("every case of the decision table, through the CommonJS build", () => {
  const require = createRequire(import.meta.url);
  check(require("../pkg/node/workgate_browser.js").Subject);
});
