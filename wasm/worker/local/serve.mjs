// Serves the built Worker on local workerd through Miniflare directly, configured from
// wrangler.toml (bindings, Durable Objects, assets and their _headers) exactly as `wrangler dev`
// would, for tests.
//
// Why not `wrangler dev`: workerd closes a keep-alive connection after about 10-15 s idle. A test
// client that pools connections then sends its next request on a socket the server is closing;
// a POST fails ("Peer disconnected", or 503 "Your worker restarted mid-request" from wrangler's
// dev proxy, which retries only GET/HEAD). So a plain Node HTTP server with a long keep-alive
// timeout (like the native server's) takes the connections and hands each request to Miniflare.
//
//   node local/serve.mjs PORT STATE_DIR [SCRIPT] [NAME=VALUE...]     (from wasm/worker)
//
// Prints "ready <url>" when it answers. `cargo xtask worker-dev` keeps using `wrangler dev`.
import http from "node:http";
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
  port: 0,
  defaultPersistRoot: state,
  bindings: { ...(workerOptions.bindings ?? {}), ...overrides },
});
await mf.ready;

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]]));
    const answer = await mf.dispatchFetch(`http://${req.headers.host ?? "127.0.0.1"}${req.url}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      redirect: "manual",
    });
    const out = Buffer.from(await answer.arrayBuffer());
    const outHeaders = [];
    answer.headers.forEach((value, name) => {
      // Miniflare-internal headers (mf-*) and framing are not part of the answer.
      if (!name.startsWith("mf-") && name !== "content-length" && name !== "transfer-encoding") {
        outHeaders.push(name, value);
      }
    });
    outHeaders.push("content-length", String(out.length));
    res.writeHead(answer.status, outHeaders);
    res.end(out);
  } catch (e) {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`local/serve.mjs: ${e}`);
  }
});
server.keepAliveTimeout = 10 * 60 * 1000;
server.headersTimeout = server.keepAliveTimeout + 1000;
server.requestTimeout = 0;
server.listen(Number(port), "127.0.0.1", () => console.log(`ready http://127.0.0.1:${port}/`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close();
    mf.dispose().finally(() => process.exit(0));
  });
}
