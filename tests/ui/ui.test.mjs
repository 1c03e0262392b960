// Browser tests of the bridge's web UI, in Debian's Chromium driven by playwright-core.
// Started by tests/tests/ui.rs, which brings up etcd, a Locust master, the bridge, two workers
// and a target, and passes their addresses in the environment.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
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
  await page.hover('.tree .row:has-text("transaction")');
  await page.click('.tree .row:has-text("transaction") [aria-label="Add request"]');
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
  await page.waitForSelector("#live svg");
  await page.screenshot({ path: `${SHOTS}/run-live.png` });
  await page.click("#stop-run");
  await page.waitForFunction(() => document.querySelector("#run-state")?.textContent === "stopped", null, { timeout: 60000 });
  let finalUi = 0;
  for (let i = 0; i < 40 && finalUi === 0; i++) { finalUi = await aggregated(); if (!finalUi) await page.waitForTimeout(250); }
  const csv = await (await fetch(`${MASTER}/stats/requests/csv`)).text();
  const masterAgg = csv.trim().split("\n").find((l) => l.startsWith(",Aggregated,"));
  assert.equal(finalUi, Number(masterAgg.split(",")[2]), "the UI's total equals the master's CSV");
  await page.reload();
  await page.waitForSelector("#history tr:nth-child(2)");
  const history = await page.textContent("#history");
  assert.match(history, /stopped/);
  assert.ok(history.includes(String(finalUi)), `history shows ${finalUi}`);
  await page.screenshot({ path: `${SHOTS}/runs.png` });
});
