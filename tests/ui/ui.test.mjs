// Browser tests of the bridge's web UI, in Debian's Chromium driven by playwright-core.
// Started by tests/tests/ui.rs, which brings up etcd, a Locust master, the bridge, two workers
// and a target, and passes their addresses in the environment.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const BRIDGE = process.env.BRIDGE_URL;
const TARGET = process.env.TARGET_URL;
const MASTER = process.env.MASTER_WEB;
const SHOTS = process.env.SCREENSHOT_DIR || "screenshots";
mkdirSync(SHOTS, { recursive: true });

let browser, page;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => { if (browser) await browser.close(); });

async function api(path) {
  const r = await fetch(`${BRIDGE}${path}`);
  return r.json();
}

async function createPlan(plan) {
  const r = await fetch(`${BRIDGE}/api/plans`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(plan) });
  assert.equal(r.status, 201);
  return r.json();
}

/** Opens the Collections page afresh (a full load: plans created through the API show). */
async function freshCollections(p) {
  await p.goto(`${BRIDGE}/#/collections`);
  await p.reload();
  await p.waitForSelector("#tree");
}

/** Clicks the tree row with exactly this text in its name. */
async function openRow(p, name) {
  await p.locator('.tree [role="treeitem"]').filter({ hasText: name }).first().click();
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core's WCAG 2.1 A/AA rules on the page as it is: the serious and critical violations. */
async function axeViolations(p) {
  if (!(await p.evaluate(() => typeof window.axe === "object"))) await p.addScriptTag({ content: AXE });
  return p.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  });
}

test("build a transaction by typing, send it, fix an error, save it", async () => {
  await page.goto(BRIDGE);
  await page.click("#new-collection");
  await page.fill('[aria-label="Collection name"]', "ui-shop");
  await page.fill('[aria-label="Host"]', TARGET);
  await page.click('.tree .row.selected [aria-label="Add transaction"]');
  // Variables in the URL are highlighted in place, red when nothing defines them.
  await page.fill("#url", "/items/{{nope}}?q={{$uuid}}");
  assert.equal(await page.textContent(".url-overlay .var.undefined"), "{{nope}}");
  assert.equal(await page.locator(".url-overlay .var").count(), 2);
  await page.screenshot({ path: `${SHOTS}/url-variables.png` });
  // A new request is selected: GET /
  await page.fill("#url", "/");
  await page.click("#send");
  await page.waitForSelector("#response-status");
  assert.equal((await page.textContent("#response-status")).trim(), "200 OK");
  assert.match(await page.textContent("#response-body"), /shop/);
  await page.screenshot({ path: `${SHOTS}/request-editor.png` });

  // A second request with a JSON body and an extractor, sent with the keyboard shortcut.
  await page.click('.tree .row:has-text("transaction") > span:first-child');
  await page.click('.tree .row.selected [aria-label="Add request"]');
  await page.selectOption('[aria-label="Method"]', "POST");
  await page.fill("#url", "/login");
  await page.click('.tabs button:has-text("Body")');
  await page.check('input[name="body-kind"][value="json"]');
  await page.fill("#body-json", '{"user": "ui"}');
  await page.click('.tabs button:has-text("Extract")');
  await page.fill('[aria-label="extract"]', '[{"var": "token", "json": "$.token"}]');
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#response-status");
  assert.match(await page.textContent("#response"), /token = t\d+/);

  // An error from the API is shown next to what caused it: a bad URL scheme.
  await page.fill("#url", "ftp://nowhere/x");
  await page.click("#save");
  await page.waitForSelector("#plan-errors");
  assert.match(await page.textContent("#plan-errors"), /steps\[1\]\.url/);
  assert.equal(await page.getAttribute("#url", "class"), "field-error");
  await page.fill("#url", "/login");
  await page.click("#save");
  await page.waitForFunction(() => !document.querySelector("#plan-errors") && !document.querySelector("[data-plan-name].dirty"));
  const plans = await api("/api/plans");
  const saved = plans.find((p) => p.name === "ui-shop");
  assert.ok(saved, "the plan was saved");
  assert.equal(saved.plan.transactions[0].steps[1].extract[0].var, "token");
});

test("import a Postman collection with its environment through the API, send it, keep and clear current values", async () => {
  // {{base}} lives only in the environment; the login's test script becomes an extractor.
  const collection = {
    info: { name: "postman-shop", schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" },
    variable: [{ key: "who", value: "pat" }],
    auth: { type: "bearer", bearer: [{ key: "token", value: "{{token}}", type: "string" }] },
    item: [{
      name: "checkout",
      item: [
        { name: "login", request: { method: "POST", url: { raw: "{{base}}/login" }, description: "Logs the user in",
          body: { mode: "raw", raw: '{"user": "{{who}}"}', options: { raw: { language: "json" } } } },
          event: [{ listen: "test", script: { exec: ["pm.environment.set('token', pm.response.json().token)"] } }] },
        { name: "order", request: { method: "POST", url: { raw: "{{base}}/orders" }, body: { mode: "raw", raw: '{"item": 1}' } } },
      ],
    }],
  };
  // As in Postman, the environment holds the token's slot (empty until the login sets it).
  const environment = { name: "ui-env", values: [{ key: "base", value: TARGET, enabled: true }, { key: "token", value: "", enabled: true }] };
  await page.goto(`${BRIDGE}/#/collections`);
  await page.click("#import");
  await page.fill("#import-text", JSON.stringify(collection));
  await page.fill("#import-environment", JSON.stringify(environment));
  await page.click("#import-go");
  await page.waitForSelector("#import-notes");
  // The notes come item by item from the bridge's converter.
  const notes = await page.locator("#import-notes li.note").allTextContents();
  assert.ok(notes.some((n) => n.startsWith("checkout / login") && /description/.test(n)), notes.join("\n"));
  await page.fill("#import-env-name", "ui-env");
  await page.click("#import-env-save");
  await page.waitForSelector("#import-env-saved");
  assert.equal(await page.inputValue("#active-env"), "ui-env");
  await page.screenshot({ path: `${SHOTS}/postman-import.png` });
  await page.click('#import-dialog button:has-text("Close")');
  // Saved against the selected environment: no warning.
  await page.keyboard.press("Control+s");
  await page.waitForFunction(() => document.querySelector("#toast").textContent.startsWith("Saved postman-shop"));
  assert.doesNotMatch(await page.textContent("#toast"), /not defined/);
  await page.waitForFunction(() => !document.querySelector("[data-plan-name].dirty"));
  await page.click('.tree .row:has-text("checkout") > span:first-child');
  await page.click("#send-transaction");
  await page.waitForSelector("#response .panel");
  const text = await page.textContent("#response");
  assert.match(text, /200 OK/);
  assert.match(text, /201 Created/);
  assert.match(text, /authorization: Bearer t\d+/i);
  // The extracted token is a current value of ui-env, shown and kept for the next Send...
  assert.match(await page.textContent('.current-values[data-env="ui-env"]'), /token = t\d+/);
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("locust-http.current.ui-env")));
  assert.match(stored.token, /^t\d+$/);
  // ...until cleared.
  await page.click('.current-values[data-env="ui-env"] .clear-current');
  assert.match(await page.textContent('.current-values[data-env="ui-env"]'), /none yet/);
  // Without the environment, Send refuses and names what is missing.
  await page.selectOption("#active-env", "");
  await page.click('.tree .row:has-text("checkout") > span:first-child');
  await page.click("#send-transaction");
  await page.waitForSelector("#send-error");
  assert.match(await page.textContent("#send-error"), /define \{\{base\}\}/);
  await page.selectOption("#active-env", "ui-env");

  // Auth is structured: the request inherits the collection's bearer token; set basic auth made
  // of variables on the transaction and the worker renders it at send time.
  await page.click('.tree [role="treeitem"]:has(span:text-is("order"))');
  await page.click('.tabs button:has-text("Auth")');
  assert.equal(await page.inputValue("#auth-type"), "inherit");
  assert.match(await page.textContent("#auth-note"), /bearer token/);
  await page.click('.tree .row:has-text("checkout") > span:first-child');
  await page.selectOption("#auth-type", "basic");
  await page.fill("#auth-username", "{{who}}");
  await page.fill("#auth-password", "pw");
  await page.keyboard.press("Control+s");
  await page.waitForFunction(() => !document.querySelector("[data-plan-name].dirty"));
  const withAuth = (await api("/api/plans")).find((p) => p.name === "postman-shop");
  assert.deepEqual(withAuth.plan.transactions[0].auth, { type: "basic", username: "{{who}}", password: "pw" });
  await page.click("#send-transaction");
  await page.waitForSelector("#response .panel");
  assert.match(await page.textContent("#response"), /authorization: Basic cGF0OnB3/i, "pat:pw, rendered from {{who}}");
  // Another request opened shows its own auth, not the last one edited.
  await page.click('.tree [role="treeitem"]:has(span:text-is("login"))');
  await page.click('.tabs button:has-text("Auth")');
  assert.equal(await page.inputValue("#auth-type"), "inherit");
  assert.match(await page.textContent("#auth-note"), /basic auth/);

  // Code: the request as curl with the environment's base URL and the auth filled in; the whole
  // collection as a locustfile for plain Locust.
  await page.click('.tabs button:has-text("Code")');
  await page.waitForFunction(() => document.querySelector("#code-curl")?.textContent.startsWith("curl"));
  const curl = await page.textContent("#code-curl");
  assert.ok(curl.includes(`curl -X POST '${TARGET}/login'`), curl);
  assert.ok(curl.includes("-u 'pat:pw'"), curl);
  await page.click('.tree [role="treeitem"]:has(span:text-is("postman-shop"))');
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-locust")]);
  assert.match(readFileSync(await dl.path(), "utf8"), /class PlanUser\(HttpUser\):[\s\S]*def checkout\(self\)/);
});

test("the fleet page lists the workers and pushes a plan", async () => {
  await page.goto(`${BRIDGE}/#/fleet`);
  await page.waitForFunction(() => document.querySelectorAll("#workers tr").length === 2);
  await page.selectOption("#push-plan", { label: "ui-shop" });
  await page.click("#push-all");
  await page.waitForSelector("#push-result li");
  const results = await page.locator("#push-result li").allTextContents();
  assert.equal(results.length, 2);
  assert.ok(results.every((r) => r.includes("ok")), results.join("; "));
  assert.ok(await page.locator("#download-worker").getAttribute("href"));
  await page.screenshot({ path: `${SHOTS}/fleet.png` });
});

test("start a run, watch the numbers move, stop it, find it in history", async () => {
  await page.goto(`${BRIDGE}/#/runs`);
  await page.selectOption("#run-plan", { label: "ui-shop" });
  await page.fill("#run-users", "4");
  await page.fill("#run-rate", "4");
  await page.click("#start-run");
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "running", null, { timeout: 30000 });
  const aggregated = async () => {
    const row = page.locator('#run-stats tr:has(td:text-is("Aggregated"))');
    if ((await row.count()) === 0) return 0;
    return Number((await row.locator("td").nth(2).textContent()).trim());
  };
  let first = 0;
  for (let i = 0; i < 60 && first === 0; i++) { await page.waitForTimeout(500); first = await aggregated(); }
  assert.ok(first > 0, "the live table shows requests");
  let later = first;
  for (let i = 0; i < 60 && later <= first; i++) { await page.waitForTimeout(500); later = await aggregated(); }
  assert.ok(later > first, `the numbers move (${first} -> ${later})`);
  await page.waitForSelector("#live .u-legend");
  await page.waitForFunction(() => document.querySelectorAll("#live .chart .u-axis").length >= 8);
  assert.match(await page.textContent("#live .charts"), /requests\/s[\s\S]*p95[\s\S]*users/);
  await page.screenshot({ path: `${SHOTS}/run-live.png` });
  await page.click("#stop-run");
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "stopped", null, { timeout: 60000 });
  let finalUi = 0;
  for (let i = 0; i < 40 && finalUi === 0; i++) { finalUi = await aggregated(); if (!finalUi) await page.waitForTimeout(250); }
  const csv = await (await fetch(`${MASTER}/stats/requests/csv`)).text();
  const masterAgg = csv.trim().split("\n").find((l) => l.startsWith(",Aggregated,"));
  assert.equal(finalUi, Number(masterAgg.split(",")[2]), "the UI's total equals the master's CSV");
  await page.reload();
  await page.waitForSelector("#history tbody tr");
  const history = await page.textContent("#history");
  assert.match(history, /stopped/);
  assert.ok(history.includes(String(finalUi)), `history shows ${finalUi}`);
  await page.screenshot({ path: `${SHOTS}/runs.png` });
});

test("a run started elsewhere is followed; files kept after a master restart; two runs compared", async () => {
  const RESTARTED = process.env.RESTARTED_RUN;
  await page.goto(`${BRIDGE}/#/runs`);
  await page.waitForSelector("#history tbody tr");
  // Started through the API while the page is open: the page follows it without a click.
  const plans = await api("/api/plans");
  const shop = plans.find((p) => p.name === "ui-shop");
  const r = await fetch(`${BRIDGE}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ plan: shop.id, users: 3, spawn_rate: 3, run_time: "4s" }) });
  assert.equal(r.status, 201);
  const elsewhere = (await r.json()).id;
  await page.waitForFunction((id) => document.querySelector("#live h2")?.textContent.includes(id) && document.querySelector("#run-state")?.textContent === "running", elsewhere, { timeout: 15000 });
  await page.waitForSelector("#live .u-legend");
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "finished", null, { timeout: 60000 });
  assert.ok(await page.locator("#exceptions").count(), "the exceptions table is shown");

  // The run that ended before the master was replaced: its files come from the bridge's store.
  const kept = await api(`/api/runs/${RESTARTED}`);
  const keptTotal = kept.stats.find((x) => x.name === "Aggregated").num_requests;
  await page.click(`#history tbody tr[data-run="${RESTARTED}"] a`);
  await page.waitForFunction((id) => document.querySelector("#live h2")?.textContent.includes(id), RESTARTED);
  await page.waitForSelector("#run-files a#file-stats-csv");
  const grab = async (sel) => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(sel)]);
    return readFileSync(await dl.path(), "utf8");
  };
  const statsCsv = await grab("#file-stats-csv");
  const aggLine = statsCsv.trim().split("\n").find((l) => l.startsWith(",Aggregated,"));
  assert.equal(Number(aggLine.split(",")[2]), keptTotal, "stats.csv is the run's, not the new master's");
  assert.match(await grab("#file-report-html"), /<html[\s\S]*Locust/i);
  const history = await grab("#file-history-csv");
  assert.match(history.split("\n")[0], /^Timestamp,User Count,Type,Name,Requests\/s/);
  assert.ok(history.trim().split("\n").length >= 2, "samples were taken while it ran");
  assert.match(await grab("#file-failures-csv"), /Method,Name,Error,Occurrences/);
  await page.waitForSelector("#live .u-legend");
  await page.screenshot({ path: `${SHOTS}/run-files.png`, fullPage: true });

  // Compare the two: numbers side by side with the change, charts overlaid.
  await page.check(`#history tbody tr[data-run="${RESTARTED}"] .compare-pick`);
  await page.check(`#history tbody tr[data-run="${elsewhere}"] .compare-pick`);
  await page.click("#compare-runs");
  await page.waitForSelector("#compare-summary");
  const summary = await page.textContent("#compare-summary");
  assert.ok(summary.includes(RESTARTED) && summary.includes(elsewhere), summary);
  assert.match(summary, /Requests[\s\S]*95%ile/);
  await page.waitForFunction(() => document.querySelectorAll("#comparison .chart .u-axis").length >= 8);
  assert.match(await page.textContent("#comparison .charts"), /requests\/s A[\s\S]*requests\/s B/);
  await page.screenshot({ path: `${SHOTS}/compare.png`, fullPage: true });
});

test("two tabs: saving over someone else's save shows a conflict, never overwrites silently", async () => {
  const created = await createPlan({ name: "two-tabs", host: TARGET, transactions: [{ name: "t", steps: [{ name: "home", method: "GET", url: "/" }] }] });
  const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const tabB = await other.newPage();
  try {
    for (const p of [page, tabB]) {
      await p.goto(`${BRIDGE}/#/collections`);
      await openRow(p, "two-tabs");
      await p.waitForSelector('[aria-label="Host"]');
    }
    await page.fill('[aria-label="Host"]', "http://127.0.0.1:1/a");
    await tabB.fill('[aria-label="Host"]', "http://127.0.0.1:1/b");
    await page.click("#save");
    await page.waitForFunction(() => document.querySelector("#toast").textContent.startsWith("Saved two-tabs (version 2)"));
    await tabB.click("#save");
    await tabB.waitForSelector("#plan-conflict");
    assert.match(await tabB.textContent("#plan-conflict"), /version 2/);
    let stored = await api(`/api/plans/${created.id}`);
    assert.equal(stored.plan.host, "http://127.0.0.1:1/a", "the later save did not undo the earlier one");
    assert.equal(stored.version, 2);
    // See both, then choose to overwrite.
    await tabB.click("#conflict-both");
    assert.match(await tabB.textContent("#conflict-theirs"), /127\.0\.0\.1:1\/a/);
    assert.match(await tabB.textContent("#conflict-mine"), /127\.0\.0\.1:1\/b/);
    await tabB.screenshot({ path: `${SHOTS}/conflict.png` });
    await tabB.click("#conflict-overwrite");
    await tabB.waitForFunction(() => !document.querySelector("#plan-conflict") && !document.querySelector("[data-plan-name].dirty"));
    stored = await api(`/api/plans/${created.id}`);
    assert.equal(stored.plan.host, "http://127.0.0.1:1/b");
    assert.equal(stored.version, 3);
  } finally {
    await other.close();
  }
});

test("versions: list, compare with the current one, restore", async () => {
  const created = await createPlan({ name: "versioned", host: TARGET, transactions: [{ name: "t", steps: [{ name: "v-req", method: "GET", url: "/first" }] }] });
  const doc = { name: "versioned", host: TARGET, transactions: [{ name: "t", steps: [{ name: "v-req", method: "GET", url: "/second" }] }] };
  const put = await fetch(`${BRIDGE}/api/plans/${created.id}`, { method: "PUT", headers: { "content-type": "application/json", "if-match": '"1"' }, body: JSON.stringify(doc) });
  assert.equal(put.status, 200);
  await freshCollections(page);
  await page.click('.tree [role="treeitem"]:has(span:text-is("versioned"))');
  await page.click("#show-versions");
  await page.waitForSelector('#versions-table tr[data-version="1"]');
  assert.match(await page.textContent('#versions-table tr[data-version="2"]'), /current/);
  await page.click('#versions-table tr[data-version="1"] .version-diff');
  const diff = await page.textContent("#version-diff");
  assert.match(diff, /- +"url": "\/first"/);
  assert.match(diff, /\+ +"url": "\/second"/);
  page.once("dialog", (d) => d.accept());
  await page.click('#versions-table tr[data-version="1"] .version-restore');
  await page.keyboard.press("Control+s");
  await page.waitForFunction(() => document.querySelector("#toast").textContent.startsWith("Saved versioned (version 3)"));
  const now = await api(`/api/plans/${created.id}`);
  assert.equal(now.version, 3);
  assert.equal(now.plan.transactions[0].steps[0].url, "/first", "version 1 restored as version 3");
});

test("invalid JSON blocks Save with the error in place; a second click while saving does nothing", async () => {
  const created = await createPlan({ name: "json-plan", host: TARGET, transactions: [{ name: "t", steps: [{ name: "json-req", method: "POST", url: "/login", json: { user: "a" } }] }] });
  await freshCollections(page);
  await openRow(page, "json-req");
  await page.click('.tabs button:has-text("Body")');
  await page.fill("#body-json", '{"user": ');
  assert.match(await page.textContent("#body-json-error"), /Invalid JSON/);
  await page.click("#save");
  await page.waitForSelector("#plan-errors");
  assert.match(await page.textContent("#plan-errors"), /invalid JSON/);
  // Switching tabs keeps the invalid text and its error.
  await page.click('.tabs button:has-text("Params")');
  await page.click('.tabs button:has-text("Body")');
  assert.equal(await page.inputValue("#body-json"), '{"user": ');
  assert.match(await page.textContent("#body-json-error"), /Invalid JSON/);
  assert.deepEqual(await api(`/api/plans/${created.id}/versions`), [1], "nothing was saved");
  // Fixed, then two clicks in a row: one save.
  await page.fill("#body-json", '{"user": "b"}');
  assert.equal((await page.textContent("#body-json-error")).trim(), "");
  await page.evaluate(() => { document.querySelector("#save").click(); document.querySelector("#save").click(); });
  await page.waitForFunction(() => document.querySelector("#toast").textContent.startsWith("Saved json-plan (version 2)"));
  await page.waitForFunction(() => !document.querySelector("[data-plan-name].dirty"));
  assert.deepEqual(await api(`/api/plans/${created.id}/versions`), [1, 2]);
  assert.equal((await api(`/api/plans/${created.id}`)).plan.transactions[0].steps[0].json.user, "b");
});

test("a reload restores unsaved edits and the Send history", async () => {
  await freshCollections(page);
  await openRow(page, "json-req");
  await page.click("#send");
  await page.waitForSelector("#response-status");
  await openRow(page, "json-plan");
  await page.fill('[aria-label="Host"]', "http://127.0.0.1:1/draft");
  await page.reload();
  await page.waitForSelector('[data-plan-name].dirty');
  await openRow(page, "json-plan");
  assert.equal(await page.inputValue('[aria-label="Host"]'), "http://127.0.0.1:1/draft");
  await openRow(page, "json-req");
  assert.match(await page.textContent("#send-history summary"), /History \([1-9]\d*\)/);
  // Saved, the draft is gone from the browser.
  await openRow(page, "json-plan");
  await page.click("#save");
  await page.waitForFunction(() => !document.querySelector("[data-plan-name].dirty"));
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("locust-http.draft."))), []);
});

test("the fleet page leaves no poller running after navigating away", async () => {
  const count = () => page.evaluate(() => ({ pollers: window.locustHttp.pollers(), timers: window.locustHttp.timers() }));
  await page.goto(`${BRIDGE}/#/collections`);
  for (let visit = 1; visit <= 3; visit++) {
    await page.click('header nav a[data-page="fleet"]');
    await page.waitForFunction(() => document.querySelectorAll("#workers tr").length === 2);
    const on = await count();
    assert.deepEqual(on.pollers, { fleet: 1 }, `visit ${visit}: one poller`);
    assert.ok(on.timers <= 1, `visit ${visit}: ${on.timers} timers`);
    await page.click('header nav a[data-page="collections"]');
    await page.waitForSelector("#new-collection");
    const off = await count();
    assert.deepEqual(off.pollers, {}, `after visit ${visit}`);
    assert.equal(off.timers, 0, `after visit ${visit}`);
  }
  // And nothing keeps writing into the page: the count stays at zero a poll period later.
  await page.waitForTimeout(1200);
  assert.deepEqual(await count(), { pollers: {}, timers: 0 });
});

test("keyboard only: open a request from the tree, edit it, send it, save it", async () => {
  const created = await createPlan({ name: "keys-plan", host: TARGET, transactions: [{ name: "t", steps: [{ name: "keys-req", method: "GET", url: "/nowhere" }] }] });
  await freshCollections(page);
  await page.waitForSelector('#tree [role="treeitem"][tabindex="0"]');
  await page.focus('#tree [role="treeitem"][tabindex="0"]');
  await page.keyboard.press("Home");
  // Down the tree to the request, then Enter opens it; focus stays on its row.
  for (let i = 0; i < 100; i++) {
    const text = await page.evaluate(() => document.activeElement.textContent);
    if (text.includes("keys-req")) break;
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector(".step-name")?.textContent === "keys-req");
  assert.match(await page.evaluate(() => document.activeElement.getAttribute("role") + " " + document.activeElement.textContent), /treeitem .*keys-req/);
  // Tab reaches the method, then the URL.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Method");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "url");
  await page.keyboard.press("Control+a");
  await page.keyboard.type("/");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#response-status");
  assert.equal((await page.textContent("#response-status")).trim(), "200 OK");
  await page.keyboard.press("Control+s");
  await page.waitForFunction(() => document.querySelector("#toast").textContent.startsWith("Saved keys-plan (version 2)"));
  assert.equal((await api(`/api/plans/${created.id}`)).plan.transactions[0].steps[0].url, "/");
});

test("every page: no serious or critical axe violations, no horizontal scroll at 420 px", async () => {
  const pages = [
    ["collections", async () => { await openRow(page, "json-req"); await page.click("#send"); await page.waitForSelector("#response-status"); }],
    ["environments", () => page.waitForSelector(".panel h2")],
    ["fleet", () => page.waitForFunction(() => document.querySelectorAll("#workers tr").length === 2)],
    ["runs", async () => {
      // With a finished run opened: its charts, tables and downloads under the history.
      await page.waitForSelector("#history tbody tr");
      await page.click("#history tbody tr a");
      await page.waitForSelector("#run-stats");
      await page.waitForSelector("#run-files a");
    }],
  ];
  const problems = [];
  for (const width of [1280, 420]) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, ready] of pages) {
      await page.goto(`${BRIDGE}/#/${name}`);
      await ready();
      for (const v of await axeViolations(page)) problems.push(`${name} at ${width} px: ${v}`);
      const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      if (scroll > inner) problems.push(`${name} at ${width} px scrolls sideways: ${scroll} px wide`);
      if (width === 420) await page.screenshot({ path: `${SHOTS}/narrow-${name}.png`, fullPage: true });
    }
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  assert.deepEqual(problems, []);
});
