// A browser session recorded as HAR by Chromium itself (Playwright's recordHar) on the demo shop
// (`master-bridge demo-target`, whose page script logs in, orders and reads the order back),
// imported through the bridge's converter and run as a load test by the real fleet: static
// assets are left out with notes, the login's token is correlated (extracted per user and sent
// as {{token}}), and the run has requests and zero failures.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BRIDGE = process.env.BRIDGE_URL;
const DEMO = process.env.DEMO_URL;
const OUT = process.env.SCREENSHOT_DIR || "screenshots";
mkdirSync(OUT, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { if (browser) await browser.close(); });

async function call(method, path, body) {
  const r = await fetch(`${BRIDGE}${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

test("a HAR recorded in Chromium on the demo shop imports, correlates its token and runs with zero failures", async () => {
  const harPath = join(OUT, "demo-shop.har");
  const context = await browser.newContext({ recordHar: { path: harPath, content: "embed" } });
  const page = await context.newPage();
  await page.goto(DEMO);
  await page.click("#buy");
  await page.waitForFunction(() => /^Order \d+: paid$/.test(document.querySelector("#order").textContent));
  await page.screenshot({ path: join(OUT, "demo-shop.png") });
  await context.close(); // writes the HAR
  const har = readFileSync(harPath, "utf8");
  assert.ok(JSON.parse(har).log.entries.length >= 6, "page, script, stylesheet and three calls were recorded");

  const imported = await call("POST", "/api/import", { format: "har", content: har });
  assert.equal(imported.status, 200, JSON.stringify(imported.json));
  const { plan, notes } = imported.json;
  const steps = plan.transactions.flatMap((t) => t.steps);
  assert.deepEqual(steps.map((s) => `${s.method} ${s.url.replace(/\/\d+$/, "/N")}`),
    ["GET /", "POST /login", "POST /orders", "GET /orders/N"], JSON.stringify(plan, null, 2));
  const said = notes.map((n) => `${n.item}: ${n.what}`);
  for (const asset of ["shop.js", "shop.css"]) assert.ok(said.some((n) => n.includes(asset)), `${asset} left out with a note:\n${said.join("\n")}`);
  // The token the login returned is extracted per user and sent back as {{token}}.
  const [, login, order, read] = steps;
  assert.deepEqual(login.extract, [{ var: "token", json: "$.token" }]);
  const authOf = (s) => Object.entries(s.headers || {}).find(([k]) => k.toLowerCase() === "authorization")?.[1];
  assert.equal(authOf(order), "Bearer {{token}}");
  assert.equal(authOf(read), "Bearer {{token}}");
  assert.ok(said.some((n) => n.includes("correlated: $.token")), said.join("\n"));

  const saved = await call("POST", "/api/plans", plan);
  assert.equal(saved.status, 201, JSON.stringify(saved.json));
  const started = await call("POST", "/api/runs", { plan: saved.json.id, users: 2, spawn_rate: 2, run_time: "3s" });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  let run;
  for (let i = 0; i < 120; i++) {
    run = (await call("GET", `/api/runs/${started.json.id}`)).json;
    if (run.state !== "running" && run.state !== "starting") break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(run.state, "finished", JSON.stringify(run));
  const total = run.stats.find((r) => r.name === "Aggregated");
  const orders = run.stats.find((r) => r.method === "POST" && r.name.includes("orders"));
  assert.ok(total.num_requests >= 8, JSON.stringify(total));
  assert.ok(orders && orders.num_requests >= 2, JSON.stringify(run.stats));
  assert.equal(total.num_failures, 0, JSON.stringify(run.failures ?? run.stats));
});
