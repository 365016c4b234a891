// The `workerd` export condition: a tiny Worker that imports "workgate-browser" is bundled by
// the repository's wrangler (which resolves the `workerd` condition) and run on its local
// workerd, offline, and answers permission questions without calling init() — the workerd
// entry instantiates the wasm on import from the module the bundler links in. The web entry
// would answer nothing here: its init() fetches the wasm by URL, which workerd cannot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const { unstable_dev } = await import("wrangler");

const pkgDir = fileURLToPath(new URL("../pkg/", import.meta.url));

const WORKER = `
import init, { Subject, isValidName } from "workgate-browser";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const user = JSON.parse(url.searchParams.get("user"));
    const resource = JSON.parse(url.searchParams.get("resource") ?? "null") ?? undefined;
    const answer = {
      can: new Subject(user).can(url.searchParams.get("action"), resource),
      validName: isValidName(user.username),
    };
    await init(); // resolves at once: nothing left to load
    return Response.json(answer);
  },
};
`;

test("a Worker importing the package under the workerd condition answers", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "workgate-browser-workerd-"));
  let worker;
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(pkgDir, join(dir, "node_modules/workgate-browser"), "dir");
    writeFileSync(join(dir, "worker.mjs"), WORKER);
    writeFileSync(
      join(dir, "wrangler.toml"),
      'name = "workgate-browser-check"\nmain = "worker.mjs"\ncompatibility_date = "2026-04-01"\n',
    );
    worker = await unstable_dev(join(dir, "worker.mjs"), {
      config: join(dir, "wrangler.toml"),
      ip: "127.0.0.1",
      logLevel: "warn",
      experimental: { disableExperimentalWarning: true, disableDevRegistry: true },
    });
    const ask = async (user, action, resource) => {
      const query = new URLSearchParams({ user: JSON.stringify(user), action });
      if (resource) query.set("resource", JSON.stringify(resource));
      const response = await worker.fetch(`/?${query}`);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      return JSON.parse(text);
    };
    const ann = { username: "ann", role: "annotator", workspaces: ["ann", "team"] };
    assert.deepEqual(await ask(ann, "readWorkspace", { workspace: "team" }), { can: true, validName: true });
    assert.deepEqual(await ask(ann, "readWorkspace", { workspace: "other" }), { can: false, validName: true });
    assert.deepEqual(await ask(ann, "createUser"), { can: false, validName: true });
    const root = { username: "root", role: "admin", workspaces: [] };
    assert.deepEqual(await ask(root, "createUser"), { can: true, validName: true });
  } finally {
    await worker?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
