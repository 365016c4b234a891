// A development server for the web app: serves www/ with the same security headers as the
// hosts (strict CSP, nosniff) and forwards /api/* to a running workgate host. Lets the app be
// tried against any API without rebuilding the server.
//
//   node www/e2e/dev-server.mjs --api http://127.0.0.1:6990 [--port 6991]
//
// Loopback only. Prints "listening on http://127.0.0.1:PORT" when ready.

import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".wasm": "application/wasm", ".json": "application/json", ".ts": "text/plain; charset=utf-8" };

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

export function start({ api, port = 0, root = fileURLToPath(new URL("..", import.meta.url)) }) {
  const upstream = new URL(api);
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (path === "/api" || path.startsWith("/api/")) {
      const proxied = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      proxied.on("error", () => { res.writeHead(502).end("bad gateway"); });
      req.pipe(proxied);
      return;
    }
    const rel = normalize(path.endsWith("/") ? `${path}index.html` : path);
    const file = join(root, rel);
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return res.writeHead(404).end();
    try {
      const body = await readFile(file);
      const type = TYPES[extname(file)] ?? "application/octet-stream";
      const headers = { "content-type": type, "x-content-type-options": "nosniff", "cache-control": "no-cache" };
      if (type.startsWith("text/html")) headers["content-security-policy"] = CSP;
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start({ api: arg("api", "http://127.0.0.1:6990"), port: Number(arg("port", 6991)) });
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
}
