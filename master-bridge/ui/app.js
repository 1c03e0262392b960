// locust-http web UI: the router. Each page is a module with mount(el, scope) and unmount();
// the scope owns every timer, poller and listener the page starts and stops them all when the
// page is left. Plain ES modules, no build step, embedded in the bridge (src/ui.rs); talks
// only to the bridge's REST API (lib/api.js).

import { $, h, toast } from "./lib/dom.js";
import { api } from "./lib/api.js";
import { createScope } from "./lib/scope.js";
import { loadEnvs, loadPlans, setActiveEnv, shared, subscribe } from "./lib/shared.js";
import * as collections from "./pages/collections/index.js";
import * as environments from "./pages/environments.js";
import * as fleet from "./pages/fleet.js";
import * as runs from "./pages/runs.js";

const PAGES = { collections, environments, fleet, runs };
const TITLES = { collections: "Collections", environments: "Environments", fleet: "Fleet", runs: "Runs" };
const main = $("#app");
let current = null; // {name, page, scope}

function pageName() {
  const name = (location.hash.replace(/^#\//, "") || "collections").split("/")[0];
  return name in PAGES ? name : "collections";
}

let navigation = 0;

/**
 * Shows the page the address names: the one shown before is unmounted first, and the shared
 * lists are read again (plans and environments may have changed elsewhere) before the next
 * page mounts.
 */
async function route() {
  const name = pageName();
  if (current && current.name === name) return;
  const mine = ++navigation;
  if (current) { current.scope.dispose(); current.page.unmount(); current = null; }
  main.replaceChildren();
  document.querySelectorAll("header nav a").forEach((a) => {
    const on = a.dataset.page === name;
    a.classList.toggle("active", on);
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  document.title = `${TITLES[name]} · locust-http`;
  try { await Promise.all([loadPlans(), loadEnvs()]); } catch (e) { toast(e.message); }
  if (mine !== navigation) return; // left again meanwhile
  const scope = createScope();
  current = { name, page: PAGES[name], scope };
  try { current.page.mount(main, scope); } catch (e) { main.replaceChildren(h("div", { class: "error" }, e.message)); }
}

/** The environment selector in the header follows the shared list and choice. */
function fillEnvSelect() {
  const sel = $("#active-env");
  sel.replaceChildren(h("option", { value: "" }, "No environment"), ...shared.envs.map((e) => h("option", { value: e.name, selected: e.name === shared.activeEnv }, e.name)));
  sel.value = shared.activeEnv;
}

const appScope = createScope(); // lives as long as the document
subscribe(appScope, (what) => { if (what === "envs" || what === "activeEnv") fillEnvSelect(); });
$("#active-env").addEventListener("change", (ev) => setActiveEnv(ev.target.value));
window.addEventListener("hashchange", route);
// Back to this tab: plans and environments may have changed elsewhere meanwhile.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && current) Promise.all([loadPlans(), loadEnvs()]).catch((e) => toast(e.message));
});
// No "Leave site?" prompt: unsaved edits are drafts kept in this browser (collections/state.js).

(async () => {
  try { shared.info = await api("GET", "/api/info"); } catch (e) { toast(e.message); }
  route();
})();
