// Static checks of the web app's sources: nothing is rendered as HTML, nothing inline that
// the strict CSP would block (scripts, style attributes, event-handler attributes).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const www = fileURLToPath(new URL("..", import.meta.url));

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "pkg" || name === "e2e" ? [] : files(path, ext);
    return path.endsWith(ext) ? [path] : [];
  });
}

test("the app's scripts never parse HTML or set inline styles", () => {
  const sinks = /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|createContextualFragment|\.style\.|setAttribute\(\s*["'](style|on\w+)["']|\beval\(|new Function\(/;
  const scripts = files(join(www, "js"), ".js");
  assert.ok(scripts.length >= 5);
  for (const file of scripts) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      assert.ok(!sinks.test(line), `${file}:${i + 1}: ${line.trim()}`);
    });
  }
});

test("index.html has no inline script, style or event handler", () => {
  const html = readFileSync(join(www, "index.html"), "utf8");
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "inline <script>");
  assert.ok(!/<style/.test(html), "<style> element");
  assert.ok(!/\sstyle=/.test(html), "style attribute");
  assert.ok(!/\son[a-z]+=/.test(html), "event-handler attribute");
  assert.match(html, /<link rel="icon" href="data:,">/);
});
