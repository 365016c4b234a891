// Static checks of the web app's sources: nothing is rendered as HTML, nothing inline that
// the strict CSP would block (scripts, style attributes, event-handler attributes), every
// script is type-checked, and no rule of the server is restated.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const www = fileURLToPath(new URL("..", import.meta.url));

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "pkg" || name === "e2e" || name === "vendor" ? [] : files(path, ext);
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

test("every script is type-checked against the browser package's declarations", () => {
  // `cargo xtask test` runs tsc over www/tsconfig.json; a script without @ts-check would
  // still be listed there, but its errors would be silenced.
  for (const file of files(join(www, "js"), ".js")) {
    assert.equal(readFileSync(file, "utf8").split("\n")[0], "// @ts-check", `${file} starts with // @ts-check`);
  }
  const tsconfig = readFileSync(join(www, "tsconfig.json"), "utf8");
  assert.match(tsconfig, /"checkJs": true/);
  assert.match(tsconfig, /"strict": true/);
});

test("no field rule or default credential is restated: they come from the package and the server", () => {
  // The field rules are asked of the browser package (rules.js); whether an account still has
  // a default password or key is asked of GET /api/me/credentials.
  const restated = /minlength|maxlength|\bpattern:|\[a-z0-9|"1234"|'1234'|argilla\.apikey|isDefaultAdminPassword|\.length\s*[<>]=?\s*\d/;
  for (const file of files(join(www, "js"), ".js")) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      assert.ok(!restated.test(line), `${file}:${i + 1}: ${line.trim()}`);
    });
  }
  const rules = readFileSync(join(www, "js/rules.js"), "utf8");
  for (const name of ["isValidName", "isValidPasswordLength", "namePattern", "passwordLength"]) {
    assert.ok(rules.includes(name), `rules.js uses the package's ${name}`);
  }
  assert.ok(readFileSync(join(www, "js/main.js"), "utf8").includes("/api/me/credentials"));
});
