// End-to-end test of the web app in headless Debian chromium (playwright-core), against a
// running workgate host that serves both the app and the API:
//
//   WORKGATE_BASE_URL=http://127.0.0.1:6990 WORKGATE_SCREENS=artifacts/screens/native \
//     node --test www/e2e/app.test.mjs
//
// (`cargo xtask test` runs it against the native server and the local worker.) The server is
// shared with other tests, so every name made here is random. One thing is not: the last test
// changes the default admin's password (it must, to see the default-password warning go), so
// it runs after anything that signs in as argilla/1234; the admin's API key is left as it is.
// Screenshots of the main screens go to $WORKGATE_SCREENS.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = (process.env.WORKGATE_BASE_URL ?? "").replace(/\/$/, "");
const SCREENS = process.env.WORKGATE_SCREENS ?? "";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!BASE) throw new Error("set WORKGATE_BASE_URL to a running workgate host");
if (SCREENS) mkdirSync(SCREENS, { recursive: true });

const run = randomBytes(4).toString("hex");
const annotator = { username: `ann-${run}`, password: `pw-${randomBytes(6).toString("hex")}`, first: "Ann", last: "Notator" };
const xss = { username: `xss-${run}`, password: `pw-${randomBytes(6).toString("hex")}`, first: "<img src=x onerror=alert(1)>" };
const team = `team-${run}`;
const spare = `spare-${run}`;
const ds = `ds-${run}`; // in the default admin's workspace "argilla"
const teamDs = `team-ds-${run}`; // in the team workspace, created by the admin
let annotatorKey = null;

let browser;
let context;
let page;
const problems = []; // page errors, CSP violations, dialogs: none may happen

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Failed HTTP requests (401, 403, 422...) are logged by the browser; they are expected here.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
  });
  page.on("dialog", async (d) => {
    problems.push(`dialog fired: ${d.type()} ${d.message()}`);
    await d.dismiss();
  });
});

after(async () => {
  await browser?.close();
});

async function shot(name, { fullPage = true } = {}) {
  if (!SCREENS) return;
  await page.screenshot({ path: join(SCREENS, `${name}.png`), fullPage });
}

async function open(hash = "") {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector("body[data-ready='1']");
}

async function signIn(username, password) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByTestId("sign-in").click();
}

async function signOut() {
  await page.getByTestId("sign-out").click();
  await page.getByTestId("login-form").waitFor();
}

async function token() {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem("workgate.session") ?? "null")?.token ?? null);
}

function noProblems() {
  assert.deepEqual(problems, [], "no page errors, CSP violations or dialogs");
}

/** The text of the messages of a card (its message slot's data-testid), "" when it has none. */
async function messages(testid) {
  const slot = page.getByTestId(testid);
  return (await slot.count()) ? ((await slot.textContent()) ?? "").trim() : "";
}

/**
 * Calls the API from the test itself as the default admin, by its API key (the last test
 * changes the admin's password, never its key).
 */
async function asAdmin(method, path, { workspace, json } = {}) {
  const headers = { "X-Argilla-Api-Key": "argilla.apikey", Accept: "application/json" };
  if (workspace) headers["X-Argilla-Workspace"] = workspace;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${BASE}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const body = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${body}`);
  return body ? JSON.parse(body) : null;
}

/** Logs TextClassification records into a dataset (made by the bulk if new) as the admin. */
function logRecords(workspace, name, records) {
  return asAdmin("POST", `/api/datasets/${name}/TextClassification:bulk`, { workspace, json: { records } });
}

/** The requests the page sends while `work` runs, as "METHOD /path". */
async function requestsDuring(work) {
  const seen = [];
  const listener = (r) => { const u = new URL(r.url()); if (u.pathname.startsWith("/api/")) seen.push(`${r.method()} ${u.pathname}`); };
  page.on("request", listener);
  try {
    await work();
  } finally {
    page.off("request", listener);
  }
  return seen;
}

test("the page loads under the strict CSP and shows the sign-in form", async () => {
  const response = await page.goto(`${BASE}/`);
  const csp = response.headers()["content-security-policy"] ?? "";
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.match(csp, /style-src 'self'/);
  await page.waitForSelector("body[data-ready='1']");
  await page.getByTestId("login-form").waitFor();
  await shot("01-sign-in");
  noProblems();
});

test("the API reference at /api/docs renders every operation from this origin only, and tries one out", async () => {
  const docs = await context.newPage();
  const seen = []; // console errors (CSP violations among them), page errors, other origins
  docs.on("console", (m) => { if (m.type() === "error") seen.push(`console error: ${m.text()}`); });
  docs.on("pageerror", (e) => seen.push(`page error: ${e.message}`));
  docs.on("response", (r) => { if (r.status() >= 400) seen.push(`${r.status()} for ${r.url()}`); });
  docs.on("request", (r) => { if (new URL(r.url()).origin !== new URL(BASE).origin && !r.url().startsWith("data:")) seen.push(`request to ${r.url()}`); });
  try {
    const response = await docs.goto(`${BASE}/api/docs`);
    assert.equal(response?.status(), 200);
    assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'self' 'wasm-unsafe-eval'; style-src 'self'/);
    await docs.locator(".opblock").first().waitFor();
    const spec = await (await fetch(`${BASE}/api/docs/spec.json`)).json();
    const operations = Object.values(spec.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    assert.equal(await docs.locator(".opblock").count(), operations, "one block per operation of the description");
    // Try `GET /api/_info` out from the page: it answers with the Argilla API level.
    const info = docs.locator(".opblock", { has: docs.locator('[data-path="/api/_info"]') });
    await info.locator(".opblock-summary").click();
    await info.locator(".try-out__btn").click();
    await info.locator(".execute").click();
    await info.locator(".live-responses-table .response-col_description").getByText('"1.8.0"').waitFor();
    if (SCREENS) await docs.screenshot({ path: join(SCREENS, "00-api-reference.png"), fullPage: false });
  } finally {
    await docs.close();
  }
  assert.deepEqual(seen, [], "no console or page errors, no request to another origin");
});

test("the default admin signs in and is warned about its default password and key, as the server says", async () => {
  const asked = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/me/credentials");
  await signIn("argilla", "1234");
  const answer = await (await asked).json();
  assert.deepEqual(answer, { default_password: true, default_api_key: true });
  await page.getByTestId("profile-username").waitFor();
  assert.equal(await page.getByTestId("profile-username").textContent(), "argilla");
  const banner = page.getByTestId("default-credentials");
  await banner.waitFor();
  assert.match(await banner.textContent(), /the default password and the default API key/);
  assert.equal(await page.getByTestId("banner-change").getAttribute("href"), "#/profile/password");
  assert.equal(await page.getByTestId("banner-rotate").getAttribute("href"), "#/profile/key");
  for (const nav of ["profile", "workspaces", "users", "audit"]) {
    assert.ok(await page.getByTestId(`nav-${nav}`).isVisible(), `admin sees ${nav}`);
  }
  await shot("02-admin-profile");
  // A restored session (reload) asks the server again: the password is not kept anywhere.
  assert.deepEqual(Object.keys(await page.evaluate(() => JSON.parse(sessionStorage.getItem("workgate.session")))), ["token"]);
  await open("#/profile");
  await page.getByTestId("default-credentials").waitFor();
  assert.match(await page.getByTestId("default-credentials").textContent(), /default password/);
  noProblems();
});

test("the admin creates an annotator and reads its one-time API key", async () => {
  await page.getByTestId("nav-users").click();
  const form = page.getByTestId("create-user-form");
  await form.waitFor();
  await form.getByLabel("First name").fill(annotator.first);
  await form.getByLabel("Last name").fill(annotator.last);
  await form.getByLabel("Username").fill(annotator.username);
  await form.getByLabel("Role").selectOption("annotator");
  await form.getByLabel("Password").fill(annotator.password);
  await form.getByRole("button", { name: "Create user" }).click();
  const key = page.getByTestId("create-user-messages").getByTestId("one-time-key");
  await key.waitFor();
  annotatorKey = await key.textContent();
  assert.match(await messages("create-user-messages"), new RegExp(`${annotator.username} was created`));
  assert.equal(await messages("users-messages"), "", "nothing in the list card");
  assert.ok(annotatorKey.length >= 16, `a full key: ${annotatorKey}`);
  assert.ok(!annotatorKey.includes("…"), "not masked");
  const card = await page.getByTestId("key-card").textContent();
  assert.match(card, /shown only once/);
  assert.match(card, /rg\.init\(/);
  assert.ok(card.includes(`workspace="${annotator.username}"`));
  const listed = await page.getByTestId("users-table").locator("span.username").allTextContents();
  assert.ok(listed.includes(annotator.username), "listed");
  await shot("03-admin-user-created");
  noProblems();
});

test("a first name that looks like HTML is shown as text", async () => {
  const form = page.getByTestId("create-user-form");
  await form.getByLabel("First name").fill(xss.first);
  await form.getByLabel("Username").fill(xss.username);
  await form.getByLabel("Password").fill(xss.password);
  await form.getByRole("button", { name: "Create user" }).click();
  await page.getByTestId("one-time-key").waitFor();
  const cell = page.getByTestId(`name-${xss.username}`);
  await cell.waitFor();
  assert.equal(await cell.textContent(), xss.first, "the text appears as typed");
  assert.equal(await page.locator("main img").count(), 0, "no element was made from it");
  await page.waitForTimeout(300); // an onerror would fire by now
  noProblems();
});

test("the New user form checks core's field rules before sending, and says so in its card", async () => {
  const form = page.getByTestId("create-user-form");
  await form.getByLabel("First name").fill("Bad");
  await form.getByLabel("Username").fill("Not Valid");
  await form.getByLabel("Password").fill("short");
  const sent = await requestsDuring(async () => {
    await form.getByRole("button", { name: "Create user" }).click();
    await page.getByTestId("create-user-messages").locator(".alert.error").waitFor();
  });
  assert.deepEqual(sent, [], "nothing was sent");
  const items = await page.getByTestId("create-user-messages").locator("li").allTextContents();
  assert.equal(items.length, 2, items.join(" | "));
  assert.match(items[0], /^Username: “Not Valid” does not match \^\(\?!-\|_\)\[a-z0-9-_\]\+\$/);
  assert.match(items[1], /^Password: 8 to 100 characters \(this one has 5\)\./);
  assert.equal(await messages("users-messages"), "", "nothing in the list card");
  await shot("04-admin-validation-error");
  // 100 characters of two UTF-16 units each pass the length rule, as on the server.
  await form.getByLabel("Username").fill("-dash");
  await form.getByLabel("Password").fill("\u{1F511}".repeat(100));
  await form.getByRole("button", { name: "Create user" }).click();
  await page.getByTestId("create-user-messages").locator("li", { hasText: "Username" }).waitFor();
  assert.deepEqual(await page.getByTestId("create-user-messages").locator("li").allTextContents().then((t) => t.map((x) => x.split(":")[0])), ["Username"]);
  // What only the server knows (a taken username) shows in the same card.
  await form.getByLabel("Username").fill(annotator.username);
  await form.getByLabel("Password").fill(annotator.password);
  await form.getByRole("button", { name: "Create user" }).click();
  await page.getByTestId("create-user-messages").getByText(`User “${annotator.username}” already exists.`).waitFor();
  assert.equal(await messages("users-messages"), "", "nothing in the list card");
  noProblems();
});

test("the admin deletes a user after confirming", async () => {
  await page.getByTestId(`delete-${xss.username}`).click();
  const dialog = page.getByTestId("confirm-delete-user");
  await dialog.waitFor();
  await shot("05-admin-confirm-delete", { fullPage: false });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "detached" });
  assert.equal(await page.getByTestId(`name-${xss.username}`).count(), 1, "cancel keeps the user");
  await page.getByTestId(`delete-${xss.username}`).click();
  await page.getByTestId("confirm-delete-user").getByTestId("dialog-submit").click();
  await page.getByTestId("users-messages").locator(".alert.success", { hasText: `${xss.username} was deleted.` }).waitFor();
  assert.equal(await messages("create-user-messages"), "", "nothing in the New user card");
  assert.equal(await page.getByTestId(`name-${xss.username}`).count(), 0, "gone from the list");
  noProblems();
});

test("the admin creates a team workspace and adds the annotator", async () => {
  await page.getByTestId("nav-workspaces").click();
  const form = page.getByTestId("create-workspace-form");
  await form.waitFor();
  await form.getByLabel("Name").fill("_team");
  await form.getByRole("button", { name: "Create workspace" }).click();
  await page.getByTestId("create-workspace-messages").getByText(/^Name: “_team” does not match/).waitFor();
  await form.getByLabel("Name").fill(team);
  await form.getByRole("button", { name: "Create workspace" }).click();
  await page.getByTestId(`members-${team}`).waitFor();
  assert.equal(await messages("create-workspace-messages"), `Workspace “${team}” was created.`);
  assert.equal(await messages("workspaces-messages"), "", "nothing in the list card");
  await shot("06-admin-workspaces");
  await page.getByTestId(`members-${team}`).click();
  await page.getByTestId("workspace-title").waitFor();
  assert.equal(await page.getByTestId("workspace-title").textContent(), team);
  const add = page.getByTestId("add-member-form");
  const option = await add.locator("option", { hasText: `${annotator.username} (` }).getAttribute("value");
  await add.getByLabel("User").selectOption(option);
  await add.getByRole("button", { name: "Add member" }).click();
  await page.getByTestId(`remove-member-${annotator.username}`).waitFor();
  assert.equal(await messages("add-member-messages"), `${annotator.username} was added to “${team}”.`);
  assert.equal(await messages("members-messages"), "", "nothing in the members card");
  assert.ok(await page.getByTestId("members-table").getByText(annotator.username, { exact: true }).isVisible());
  await shot("07-admin-members");
  noProblems();
});

test("the server's refusal is shown as it comes (a personal workspace cannot be deleted)", async () => {
  await page.getByTestId("nav-workspaces").click();
  await page.getByTestId(`delete-ws-${annotator.username}`).click();
  const dialog = page.getByTestId("confirm-delete-ws");
  await dialog.getByTestId("dialog-submit").click();
  const alert = dialog.locator(".alert.error");
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, /personal workspace/);
  assert.ok(text.includes(annotator.username));
  await shot("08-admin-refused", { fullPage: false });
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  noProblems();
});

test("a deleted workspace is reported in the list's card, not the form's", async () => {
  const form = page.getByTestId("create-workspace-form");
  await form.getByLabel("Name").fill(spare);
  await form.getByRole("button", { name: "Create workspace" }).click();
  await page.getByTestId(`delete-ws-${spare}`).waitFor();
  await page.getByTestId(`delete-ws-${spare}`).click();
  await page.getByTestId("confirm-delete-ws").getByTestId("dialog-submit").click();
  await page.getByTestId("workspaces-messages").getByText(`Workspace “${spare}” was deleted.`).waitFor();
  assert.equal(await messages("create-workspace-messages"), "", "the form's card says nothing");
  assert.equal(await page.getByTestId(`delete-ws-${spare}`).count(), 0);
  noProblems();
});

test("a slow view can no longer overwrite a newer one", async () => {
  // Hold the audit log's answer, go on to Users, then let the answer through.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let asked;
  const audit = new Promise((resolve) => { asked = resolve; });
  const isAudit = (url) => url.pathname === "/api/audit";
  await page.route(isAudit, async (route) => {
    asked();
    await held;
    await route.continue().catch(() => {}); // the page may have cancelled it meanwhile
  });
  try {
    await page.getByTestId("nav-audit").click();
    await audit;
    await page.getByTestId("nav-users").click();
    await page.getByTestId("users-table").waitFor();
    release();
    await page.waitForTimeout(500); // time for a late answer to land, were it still awaited
    assert.equal(await page.locator("#main > [data-view]").getAttribute("data-view"), "users");
    assert.equal(await page.locator("#main > [data-view]").count(), 1);
    assert.equal(await page.getByTestId("audit-table").count(), 0, "the audit log did not replace the users");
    assert.ok(await page.getByTestId("users-table").isVisible());
    assert.equal(await page.title(), "Users · workgate");
  } finally {
    release();
    await page.unroute(isAudit);
  }
  // The same when the slow view is the one the user comes back to: the newest render wins.
  await page.getByTestId("nav-audit").click();
  await page.getByTestId("audit-table").waitFor();
  noProblems();
});

test("the admin edits a user's names in a dialog", async () => {
  await page.getByTestId("nav-users").click();
  await page.getByTestId(`edit-${annotator.username}`).click();
  const dialog = page.getByTestId("edit-user-dialog");
  await dialog.getByLabel("Last name").fill("Tator");
  await dialog.getByTestId("dialog-submit").click();
  await dialog.waitFor({ state: "detached" });
  await page.getByTestId("users-messages").getByText(`${annotator.username} was updated.`).waitFor();
  assert.equal(await messages("create-user-messages"), "", "nothing in the New user card");
  assert.equal(await page.getByTestId(`name-${annotator.username}`).textContent(), "Ann Tator");
  annotator.last = "Tator";
  noProblems();
});

test("the audit log lists what the admin did", async () => {
  await page.getByTestId("nav-audit").click();
  const table = page.getByTestId("audit-table");
  await table.waitFor();
  const text = await table.textContent();
  assert.ok(text.includes(annotator.username) && text.includes(team), "the new user and workspace are in the log");
  await shot("09-admin-audit");
  noProblems();
});

test("the admin lists a workspace's datasets with their record counts, previews one, copies it and deletes the copy", async () => {
  await logRecords("argilla", ds, [
    { id: 1, inputs: { text: "hello" }, annotation: { agent: "a", labels: [{ class: "pos" }] } },
    { id: 2, inputs: { text: "<b>bold</b>" }, annotation: { agent: "a", labels: [{ class: "neg" }] } },
    { id: 3, inputs: { text: "not annotated" } },
  ]);
  await logRecords(team, teamDs, [{ id: "a", inputs: { text: "team one" } }, { id: "b", inputs: { text: "team two" } }]);
  assert.ok(await page.getByTestId("nav-datasets").isVisible(), "admin sees Datasets");
  await page.getByTestId("nav-datasets").click();
  const picker = page.getByTestId("datasets-workspace-form").getByLabel("Workspace");
  await picker.waitFor();
  const options = await picker.locator("option").allTextContents();
  assert.ok(options.includes("argilla") && options.includes(team) && options.includes(annotator.username), options.join(", "));
  await picker.selectOption(team);
  await page.getByTestId(`count-${teamDs}`).getByText("2", { exact: true }).waitFor();
  assert.equal(await page.getByTestId("datasets-workspace").textContent(), team);
  assert.ok(page.url().endsWith(`#/datasets/${team}`), page.url());
  await picker.selectOption("argilla");
  const count = page.getByTestId(`count-${ds}`);
  await count.getByText("3", { exact: true }).waitFor();
  const row = page.getByTestId("datasets-table").locator("tr", { has: page.getByTestId(`open-ds-${ds}`) });
  const cells = await row.locator("td").allTextContents();
  assert.equal(cells[1], "TextClassification");
  assert.equal(cells[3], "argilla", "created by");
  assert.ok(cells[4].length > 0, "last updated");
  assert.ok(await page.getByTestId(`delete-ds-${ds}`).isVisible(), "the admin may delete it");
  await shot("16-admin-datasets");

  // The preview: the first records, in id order, as text.
  await page.getByTestId(`open-ds-${ds}`).click();
  await page.getByTestId("dataset-title").getByText(ds, { exact: true }).waitFor();
  await page.getByTestId("dataset-count").getByText("3", { exact: true }).waitFor();
  assert.equal(await page.getByTestId("dataset-created-by").textContent(), "argilla");
  const previewRows = page.getByTestId("preview-table").locator("tbody tr");
  assert.equal(await previewRows.count(), 3);
  const first = await previewRows.nth(0).locator("td").allTextContents();
  assert.equal(first[0], "1");
  assert.equal(first[1], "hello");
  assert.equal(first[2], "Default");
  assert.match(first[3], /^pos by a$/);
  assert.equal((await previewRows.nth(1).locator("td").allTextContents())[1], "<b>bold</b>", "shown as text");
  assert.equal(await page.locator("main b").count(), 0);
  assert.match((await previewRows.nth(2).locator("td").allTextContents())[3], /none/);
  await shot("17-admin-dataset-preview");

  // Copy: the name rule is checked before sending; the server's refusal shows in the Copy card.
  const copy = `${ds}-copy`;
  const form = page.getByTestId("copy-form");
  await form.getByLabel("Name of the copy").fill("Not Valid");
  const sent = await requestsDuring(async () => {
    await form.getByRole("button", { name: "Copy dataset" }).click();
    await page.getByTestId("copy-messages").locator(".alert.error").waitFor();
  });
  assert.deepEqual(sent, [], "nothing was sent");
  await form.getByLabel("Name of the copy").fill(copy);
  await form.getByLabel("Target workspace").selectOption(team);
  await form.getByRole("button", { name: "Copy dataset" }).click();
  await page.getByTestId("copy-messages").getByText(`Copied to “${copy}” in workspace “${team}”.`).waitFor();
  await form.getByLabel("Name of the copy").fill(copy);
  await form.getByLabel("Target workspace").selectOption(team);
  await form.getByRole("button", { name: "Copy dataset" }).click();
  await page.getByTestId("copy-messages").locator(".alert.error", { hasText: copy }).waitFor();
  assert.match(await messages("copy-messages"), /already exists/);
  assert.equal(await messages("preview-messages"), "", "nothing in the preview card");
  await shot("18-admin-copy-refused");

  // The copy: its own page, then deleted after confirming; the list says so.
  await page.getByTestId("copy-form").getByLabel("Name of the copy").fill(`${copy}-2`);
  await page.getByTestId("copy-form").getByLabel("Target workspace").selectOption(team);
  await page.getByTestId("copy-form").getByRole("button", { name: "Copy dataset" }).click();
  await page.getByTestId("open-copy").waitFor();
  await page.getByTestId("open-copy").click();
  await page.getByTestId("dataset-title").getByText(`${copy}-2`, { exact: true }).waitFor();
  await page.getByTestId("dataset-count").getByText("3", { exact: true }).waitFor();
  await page.getByTestId("delete-dataset").click();
  const dialog = page.getByTestId("confirm-delete-dataset");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "detached" });
  await page.getByTestId("delete-dataset").click();
  await page.getByTestId("confirm-delete-dataset").getByTestId("dialog-submit").click();
  await page.getByTestId("datasets-messages").getByText(`Dataset “${copy}-2” was deleted.`).waitFor();
  assert.equal(await page.getByTestId("datasets-workspace").textContent(), team);
  assert.equal(await page.getByTestId(`open-ds-${copy}-2`).count(), 0, "gone from the list");

  // The first copy, from its row in the list.
  await page.getByTestId(`count-${copy}`).getByText("3", { exact: true }).waitFor();
  await page.getByTestId(`delete-ds-${copy}`).click();
  await page.getByTestId("confirm-delete-dataset").getByTestId("dialog-submit").click();
  await page.getByTestId("datasets-messages").getByText(`Dataset “${copy}” was deleted.`).waitFor();
  assert.equal(await page.getByTestId(`open-ds-${copy}`).count(), 0, "gone from the list");
  assert.ok(await page.getByTestId(`open-ds-${teamDs}`).isVisible(), "the team's own dataset stays");
  const left = await asAdmin("GET", `/api/datasets?workspace=${team}`);
  assert.deepEqual(left.map((d) => d.name), [teamDs]);
  noProblems();
});

test("a slow dataset list can no longer overwrite the workspace picked after it", async () => {
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let asked;
  const listing = new Promise((resolve) => { asked = resolve; });
  const isArgillaList = (url) => url.pathname === "/api/datasets" && url.searchParams.get("workspace") === "argilla";
  await page.route(isArgillaList, async (route) => {
    asked();
    await held;
    await route.continue().catch(() => {});
  });
  try {
    await page.getByTestId("datasets-workspace-form").getByLabel("Workspace").selectOption("argilla");
    await listing;
    await page.goto(`${BASE}/#/datasets/${team}`);
    await page.getByTestId(`open-ds-${teamDs}`).waitFor();
    release();
    await page.waitForTimeout(500);
    assert.equal(await page.getByTestId("datasets-workspace").textContent(), team);
    assert.equal(await page.getByTestId(`open-ds-${ds}`).count(), 0, "the argilla list did not replace the team's");
    assert.equal(await page.locator("#main > [data-view]").count(), 1);
  } finally {
    release();
    await page.unroute(isArgillaList);
  }
  noProblems();
});

test("signing out clears the session", async () => {
  await signOut();
  assert.equal(await token(), null);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await open();
  await page.getByTestId("login-form").waitFor();
  assert.ok(!(await page.getByTestId("sign-out").isVisible()));
  noProblems();
});

test("a wrong password shows an error", async () => {
  await signIn(annotator.username, "not-the-password");
  const alert = page.getByTestId("login-form").locator(".alert.error");
  await alert.waitFor();
  assert.equal((await alert.textContent()).trim(), "Wrong username or password.");
  assert.equal(await token(), null);
  await shot("10-wrong-password");
  noProblems();
});

test("the annotator sees only its personal and team workspaces, and no admin controls", async () => {
  const asked = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/me/credentials");
  await signIn(annotator.username, annotator.password);
  assert.deepEqual(await (await asked).json(), { default_password: false, default_api_key: false });
  await page.getByTestId("profile-username").waitFor();
  assert.ok(!(await page.locator("#banner").isVisible()), "no default-credentials banner");
  const chips = await page.getByTestId("my-workspaces").locator("li").evaluateAll((lis) => lis.map((li) => li.dataset.workspace));
  assert.deepEqual(chips.sort(), [annotator.username, team].sort());
  assert.ok(await page.getByTestId("my-workspaces").getByText("personal").isVisible(), "personal workspace marked");
  assert.ok(!(await page.getByTestId("nav-users").isVisible()), "no Users");
  assert.ok(!(await page.getByTestId("nav-audit").isVisible()), "no Audit log");
  await shot("11-annotator-profile");

  await page.getByTestId("nav-workspaces").click();
  const table = page.getByTestId("workspaces-table");
  await table.waitFor();
  const names = await table.locator("tbody .ws-name").allTextContents();
  assert.deepEqual(names.sort(), [annotator.username, team].sort());
  assert.equal(await page.getByTestId("create-workspace-form").count(), 0, "no create form");
  assert.equal(await page.locator("[data-testid^='delete-ws-'], [data-testid^='members-']").count(), 0, "no delete or member controls");
  await shot("12-annotator-workspaces");

  // Typing an admin route by hand leads back to the profile.
  await page.goto(`${BASE}/#/users`);
  await page.getByTestId("profile-username").waitFor();
  noProblems();
});

test("the server refuses an admin endpoint to the annotator (403)", async () => {
  const bearer = await token();
  assert.ok(bearer, "signed in");
  const answers = await page.evaluate(async ({ bearer, key }) => {
    const byToken = await fetch("/api/users", { headers: { Authorization: `Bearer ${bearer}` } });
    const byKey = await fetch("/api/users", { headers: { "X-Argilla-Api-Key": key } });
    const create = await fetch("/api/workspaces", { method: "POST", headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" }, body: JSON.stringify({ name: "nope" }) });
    return [byToken.status, byKey.status, create.status, (await byToken.json()).detail?.code];
  }, { bearer, key: annotatorKey });
  assert.deepEqual(answers, [403, 403, 403, "argilla.api.errors::ForbiddenOperationError"]);
});

test("the annotator sees the datasets of its workspaces, and no delete or copy for a dataset it did not create", async () => {
  await page.getByTestId("nav-datasets").click();
  const picker = page.getByTestId("datasets-workspace-form").getByLabel("Workspace");
  await picker.waitFor();
  assert.deepEqual((await picker.locator("option").allTextContents()).sort(), [annotator.username, team].sort());
  await picker.selectOption(team);
  await page.getByTestId(`count-${teamDs}`).getByText("2", { exact: true }).waitFor();
  const row = page.getByTestId("datasets-table").locator("tr", { has: page.getByTestId(`open-ds-${teamDs}`) });
  assert.equal((await row.locator("td").allTextContents())[3], "argilla", "created by the admin");
  assert.equal(await page.locator("[data-testid^='delete-ds-']").count(), 0, "no delete");
  await shot("19-annotator-datasets");
  await page.getByTestId(`open-ds-${teamDs}`).click();
  await page.getByTestId("dataset-count").getByText("2", { exact: true }).waitFor();
  assert.equal(await page.getByTestId("preview-table").locator("tbody tr").count(), 2);
  assert.equal(await page.getByTestId("delete-card").count(), 0, "no delete");
  assert.equal(await page.getByTestId("copy-card").count(), 0, "no copy: admins only");
  // The server agrees: deleting it is refused.
  const status = await page.evaluate(async ({ key, team, name }) =>
    (await fetch(`/api/datasets/${name}`, { method: "DELETE", headers: { "X-Argilla-Api-Key": key, "X-Argilla-Workspace": team } })).status,
  { key: annotatorKey, team, name: teamDs });
  assert.equal(status, 403);
  noProblems();
});

test("on a host without datasets (501) the view says so", async () => {
  const isDatasets = (url) => url.pathname.startsWith("/api/datasets");
  await page.route(isDatasets, (route) => route.fulfill({
    status: 501,
    contentType: "application/json",
    body: JSON.stringify({ detail: { code: "argilla.api.errors::GenericServerError", params: { type: "NotImplemented", message: "Datasets are not available on this host yet" } } }),
  }));
  try {
    await page.getByTestId("nav-datasets").click();
    const unavailable = page.getByTestId("datasets-unavailable");
    await unavailable.waitFor();
    assert.equal((await unavailable.textContent()).trim(), "Datasets are not available on this server.");
    await page.goto(`${BASE}/#/datasets/${team}/${teamDs}`);
    await page.getByTestId("datasets-unavailable").waitFor();
    assert.equal(await page.locator("main .alert.error").count(), 0, "not shown as an error");
    await shot("20-datasets-unavailable");
  } finally {
    await page.unroute(isDatasets);
  }
  noProblems();
});

test("the annotator rotates its own API key and changes its password", async () => {
  await page.getByTestId("nav-profile").click();
  await page.getByTestId("rotate-key").click();
  await page.getByTestId("confirm-rotate").getByTestId("dialog-submit").click();
  const key = page.getByTestId("key-messages").getByTestId("one-time-key");
  await key.waitFor();
  const fresh = await key.textContent();
  assert.notEqual(fresh, annotatorKey);
  await shot("13-annotator-new-key");
  const statuses = await page.evaluate(async ({ old, fresh }) => [
    (await fetch("/api/me", { headers: { "X-Argilla-Api-Key": old } })).status,
    (await fetch("/api/me", { headers: { "X-Argilla-Api-Key": fresh } })).status,
  ], { old: annotatorKey, fresh });
  assert.deepEqual(statuses, [401, 200], "the old key stops working at once");

  const form = page.getByTestId("password-form");
  const newPassword = `pw-${randomBytes(6).toString("hex")}`;
  // A wrong current password: the server's refusal, in the password card.
  await form.getByLabel("Current password").fill("not-the-password");
  await form.getByLabel("New password", { exact: true }).fill(newPassword);
  await form.getByLabel("New password, again").fill(newPassword);
  await form.getByRole("button", { name: "Change password" }).click();
  await page.getByTestId("password-messages").locator(".alert.error").waitFor();
  assert.ok(await page.getByTestId("key-messages").getByTestId("one-time-key").isVisible(), "the key card keeps its key");
  assert.equal(await page.getByTestId("key-messages").locator(".alert").count(), 0, "and gets no error");
  await form.getByLabel("Current password").fill(annotator.password);
  await form.getByLabel("New password", { exact: true }).fill(newPassword);
  await form.getByLabel("New password, again").fill(newPassword);
  await form.getByRole("button", { name: "Change password" }).click();
  await form.locator(".alert.success").waitFor();
  annotator.password = newPassword;
  // Still signed in (the app signed in again with the new password).
  await page.getByTestId("nav-workspaces").click();
  await page.getByTestId("workspaces-table").waitFor();
  await signOut();
  await signIn(annotator.username, newPassword);
  await page.getByTestId("profile-username").waitFor();
  await signOut();
  noProblems();
});

test("repeated failed sign-ins are throttled, with the time to wait", async () => {
  const nobody = `nobody-${run}`;
  let text = "";
  for (let i = 0; i < 8 && !/Try again in/.test(text); i++) {
    await signIn(nobody, `wrong-${i}`);
    const alert = page.getByTestId("login-form").locator(".alert.error");
    await alert.waitFor();
    await page.waitForFunction(() => !document.querySelector("[data-testid=login-form][aria-busy]"));
    text = await alert.textContent();
  }
  assert.match(text, /Too many failed sign-in attempts.*Try again in \d+ seconds?\./);
  await shot("14-throttled");
  noProblems();
});

test("the default admin changes its password and the warning about it goes; the key's stays", async () => {
  await signIn("argilla", "1234");
  await page.getByTestId("default-credentials").waitFor();
  await page.getByTestId("banner-change").click();
  const form = page.getByTestId("password-form");
  // Focused by the banner's link, once the profile view has rendered (it renders after the
  // route change, so wait for it rather than race it).
  await page.waitForFunction(() => document.activeElement?.getAttribute("name") === "current_password", null, { timeout: 5000 });
  await form.getByLabel("Current password").fill("1234");
  await form.getByLabel("New password", { exact: true }).fill("1234");
  await form.getByLabel("New password, again").fill("1234");
  await form.getByRole("button", { name: "Change password" }).click();
  await page.getByTestId("password-messages").getByText("New password: 8 to 100 characters (this one has 4).").waitFor();
  const newPassword = `pw-${randomBytes(6).toString("hex")}`;
  await form.getByLabel("New password", { exact: true }).fill(newPassword);
  await form.getByLabel("New password, again").fill(newPassword);
  const asked = page.waitForResponse((r) => new URL(r.url()).pathname === "/api/me/credentials");
  await form.getByRole("button", { name: "Change password" }).click();
  assert.deepEqual(await (await asked).json(), { default_password: false, default_api_key: true });
  await page.getByTestId("password-messages").locator(".alert.success").waitFor();
  const banner = page.getByTestId("default-credentials");
  await page.waitForFunction(() => !/password/.test(document.querySelector("[data-testid=default-credentials]")?.textContent ?? ""));
  assert.match(await banner.textContent(), /This account still has the default API key\./);
  assert.equal(await page.getByTestId("banner-change").count(), 0, "no password warning");
  assert.ok(await page.getByTestId("banner-rotate").isVisible(), "the key is still the default one");
  await shot("15-admin-password-changed");
  // Signing in again asks the server again: still no password warning.
  await signOut();
  await signIn("argilla", newPassword);
  await page.getByTestId("profile-username").waitFor();
  await banner.waitFor();
  assert.equal(await page.getByTestId("banner-change").count(), 0);
  await signOut();
  noProblems();
});
