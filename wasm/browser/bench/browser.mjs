// Cost of one can() call from JavaScript in headless chromium: serves wasm/browser/ on
// 127.0.0.1, opens bench/index.html with playwright-core, prints what the page measured.
//   cargo xtask build-web && node wasm/browser/bench/browser.mjs
import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = fileURLToPath(new URL("..", import.meta.url));
const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
const server = http.createServer(async (req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  try {
    const body = await readFile(join(root, path));
    res.writeHead(200, { "content-type": types[extname(path)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/bench/index.html`);
  await page.waitForSelector("body[data-done='1']", { timeout: 120000 });
  const results = await page.evaluate(() => window.benchResults);
  console.log(`chromium ${browser.version()}: best of 5 rounds of 1,000,000 calls`);
  for (const r of results) console.log(`  ${r.case.padEnd(28)} ${r.nsPerCall} ns/call`);
} finally {
  await browser.close();
  server.close();
}
