// The web UI in Debian's Firefox: every page renders and talks to the bridge.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { launchFirefox } from "./firefox.mjs";

const BRIDGE = process.env.BRIDGE_URL;
const TARGET = process.env.TARGET_URL;
const SHOTS = process.env.SCREENSHOT_DIR || "screenshots";
mkdirSync(SHOTS, { recursive: true });
let ff;

before(async () => { ff = await launchFirefox(); });
after(async () => { if (ff) await ff.close(); });

test("Firefox: collections, fleet and runs pages work", async () => {
  const plan = { name: "firefox-plan", host: TARGET, transactions: [{ name: "t", steps: [{ name: "home", method: "GET", url: "/" }] }] };
  const created = await fetch(`${BRIDGE}/api/plans`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(plan) });
  assert.equal(created.status, 201);
  await ff.goto(`${BRIDGE}/#/collections`);
  await ff.waitFor(`document.querySelectorAll(".tree > ul > li").length >= 1`);
  // Select a request and send it.
  await ff.evaluate(`document.querySelector(".tree .method").parentElement.click(), true`);
  await ff.waitFor(`!!document.querySelector("#send")`);
  await ff.evaluate(`document.querySelector("#send").click(), true`);
  await ff.waitFor(`!!document.querySelector("#response-status")`);
  assert.match(await ff.evaluate(`document.querySelector("#response").textContent`), /200 OK/);
  await ff.screenshot(`${SHOTS}/firefox-collections.png`);
  await ff.goto(`${BRIDGE}/#/fleet`);
  await ff.waitFor(`document.querySelectorAll("#workers tr").length === 2`);
  await ff.screenshot(`${SHOTS}/firefox-fleet.png`);
  await ff.goto(`${BRIDGE}/#/runs`);
  await ff.waitFor(`!!document.querySelector("#history") && !!document.querySelector("#start-run")`);
  await ff.screenshot(`${SHOTS}/firefox-runs.png`);
});
