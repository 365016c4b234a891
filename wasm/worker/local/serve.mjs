// Serves the built Worker on local workerd through Miniflare directly, configured from
// wrangler.toml (bindings, Durable Objects, assets and their _headers) exactly as `wrangler dev`
// would, but without wrangler's dev proxy in front. That proxy answers a POST with 503 "Your
// worker restarted mid-request" when it loses a request (seen under load with the 8-thread
// conformance suite); tests need every request to reach the Worker.
//
//   node local/serve.mjs PORT STATE_DIR [SCRIPT] [NAME=VALUE...]     (from wasm/worker)
//
// Prints "ready <url>" when it answers. `cargo xtask worker-dev` keeps using `wrangler dev`.
import { Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";

const [port, state, script = "build/index.js", ...vars] = process.argv.slice(2);
const { workerOptions } = unstable_getMiniflareWorkerOptions("wrangler.toml");
const overrides = Object.fromEntries(vars.map((v) => [v.slice(0, v.indexOf("=")), v.slice(v.indexOf("=") + 1)]));
const mf = new Miniflare({
  ...workerOptions,
  modules: true,
  scriptPath: script,
  modulesRules: [
    { type: "CompiledWasm", include: ["**/*.wasm"] },
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
  ],
  host: "127.0.0.1",
  port: Number(port),
  defaultPersistRoot: state,
  bindings: { ...(workerOptions.bindings ?? {}), ...overrides },
});
const url = await mf.ready;
console.log(`ready ${url.href}`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => mf.dispose().finally(() => process.exit(0)));
}
