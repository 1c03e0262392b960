// The Runs page: start a run (with stages); follow one live: its charts come from the bridge's
// own samples (`/api/runs/{id}/history`, taken every second whoever started the run), so a run
// started from the API or the CLI is followed as soon as it appears, and a finished one shows
// its charts after a reload. Its statistics, failures and exceptions tables, and the files the
// bridge kept when it ended (CSV, the master's HTML report), which outlive the master. The
// history, where two runs can be compared (./runs/compare.js).

import { api } from "../lib/api.js";
import { $, download, h } from "../lib/dom.js";
import { createScope } from "../lib/scope.js";
import { shared } from "../lib/shared.js";
import { exceptionsTable, failuresTable, scroller, statsTable, timeChart } from "../lib/widgets.js";
import { CHARTS, compareRuns } from "./runs/compare.js";

// The run followed and its samples survive leaving the page (not its poller).
const followed = { id: null, samples: [] };
const chosen = new Set(); // runs ticked for comparison
let form = { plan: null, users: 10, rate: 10, time: "" };
let root = null;
let scope = null;
let following = null; // the scope of the run followed: its poller, charts and listeners
let shown = ""; // what the history table shows, to redraw it only when it changed

const isLive = (r) => r.state === "running" || r.state === "starting";

function follow(id) {
  if (followed.id !== id) { followed.id = id; followed.samples = []; }
  const live = $("#live");
  if (live) followRun(live);
}

function render() {
  if (!root) return;
  const plan = h("select", { id: "run-plan", "aria-label": "Plan" }, shared.plans.map((p) => h("option", { value: p.id, selected: p.id === form.plan }, p.name)));
  const users = h("input", { id: "run-users", type: "number", value: form.users, min: 1, "aria-label": "Users" });
  const rate = h("input", { id: "run-rate", type: "number", value: form.rate, min: 0.1, step: "any", "aria-label": "Spawn rate" });
  const time = h("input", { id: "run-time", value: form.time, placeholder: "60s, or empty", "aria-label": "Run time (empty: until stopped)" });
  const stages = h("div", { id: "stages" });
  const addStage = () => stages.append(h("div", { class: "row-flex" }, "then for", h("input", { class: "st-d", placeholder: "30s", "aria-label": "Stage duration" }),
    "run", h("input", { class: "st-u", type: "number", placeholder: "users", "aria-label": "Stage users" }),
    "users at", h("input", { class: "st-r", type: "number", step: "any", placeholder: "spawn rate", "aria-label": "Stage spawn rate" }), "/s",
    h("button", { "aria-label": "Remove stage", onclick: (ev) => ev.target.closest(".row-flex").remove() }, "×")));
  const msg = h("div", { id: "run-message", "aria-live": "polite" });
  const start = async () => {
    // The form keeps what was typed (it is not reset to the first plan after Start).
    form = { plan: plan.value, users: Number(users.value), rate: Number(rate.value), time: time.value };
    const body = { plan: plan.value, users: Number(users.value), spawn_rate: Number(rate.value), environment: shared.activeEnv || undefined };
    if (time.value.trim()) body.run_time = time.value.trim();
    body.stages = [...stages.children].map((r) => ({ duration: $(".st-d", r).value, users: Number($(".st-u", r).value), spawn_rate: Number($(".st-r", r).value) }));
    try {
      const run = await api("POST", "/api/runs", body);
      msg.replaceChildren();
      follow(run.id);
      refreshHistory();
    } catch (e) { msg.replaceChildren(h("div", { class: "error" }, e.message)); }
  };
  const field = (label, input) => h("label", { class: "field" }, h("span", {}, label), input);
  const masterUrl = shared.info ? shared.info.master_web : "#";
  shown = "";
  root.replaceChildren(h("div", {},
    h("section", { class: "panel" }, h("h2", {}, "Start a run"),
      h("div", { class: "row-flex" }, field("Plan", plan), field("Users", users), field("Spawn rate", rate), field("Run time", time)),
      stages, h("div", { class: "row-flex" }, h("button", { onclick: addStage }, "Add stage"), h("button", { class: "primary", id: "start-run", onclick: start }, "Start")), msg),
    h("div", { id: "live" }),
    h("div", { id: "compare" }),
    h("section", { class: "panel" }, h("h2", {}, "History"), h("p", {}, h("a", { href: masterUrl, target: "_blank", id: "master-link" }, "Open the Locust master's own UI")),
      h("div", { class: "row-flex" }, h("button", { id: "compare-runs", onclick: () => compareRuns([...chosen], $("#compare"), scope) }, "Compare the two ticked runs")),
      h("div", { id: "history-box" }))));
  if (followed.id) follow(followed.id);
  // The history is read every 3 s: a run started elsewhere (API, CLI) appears and is followed.
  scope.poll("runs-list", async () => { await refreshHistory(); return true; }, 3000);
}

async function refreshHistory() {
  const box = $("#history-box");
  if (!box) return;
  let runs;
  try { runs = await api("GET", "/api/runs"); } catch (e) { box.replaceChildren(h("div", { class: "error" }, e.message)); return; }
  const live = runs.find(isLive);
  const followedRun = runs.find((r) => r.id === followed.id);
  if (live && live.id !== followed.id && !(followedRun && isLive(followedRun))) follow(live.id);
  if (!followed.id && runs.length) follow(runs[0].id);
  const signature = JSON.stringify(runs.map((r) => [r.id, r.state, (r.stats || []).length]));
  if (signature === shown || !box.isConnected) return;
  shown = signature;
  box.replaceChildren(historyTable(runs));
}

function historyTable(runs) {
  const numCols = new Set(["Requests", "Failures", "RPS"]);
  return scroller(h("table", { id: "history" },
    h("thead", {}, h("tr", {}, ["Compare", "Run", "Plan", "State", "Started", "Requests", "Failures", "RPS", "Report"].map((x) => h("th", { class: numCols.has(x) ? "num" : "" }, x)))),
    h("tbody", {}, runs.map((r) => {
      const agg = (r.stats || []).find((x) => x.name === "Aggregated") || {};
      const planName = (shared.plans.find((p) => p.id === r.plan) || {}).name || `${r.plan} (deleted)`;
      return h("tr", { "data-run": r.id },
        h("td", {}, h("input", { type: "checkbox", class: "compare-pick", "aria-label": `Compare run ${r.id}`, checked: chosen.has(r.id),
          onchange: (ev) => { if (ev.target.checked) chosen.add(r.id); else chosen.delete(r.id); } })),
        h("td", {}, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); follow(r.id); } }, r.id)),
        h("td", {}, planName), h("td", {}, r.state), h("td", {}, new Date(r.started_at * 1000).toLocaleString()),
        h("td", { class: "num" }, agg.num_requests ?? ""), h("td", { class: "num" }, agg.num_failures ?? ""), h("td", { class: "num" }, agg.total_rps ? agg.total_rps.toFixed(1) : ""),
        h("td", {}, h("button", { "aria-label": `JSON record of run ${r.id}`, onclick: () => download(`run-${r.id}.json`, JSON.stringify(r, null, 2)) }, "JSON")));
    }))), "Run history");
}

function followRun(live) {
  const id = followed.id;
  if (following) following.dispose();
  const mine = createScope();
  following = mine;
  scope.onDispose(() => mine.dispose());
  // Built once; each tick updates the parts (charts keep their zoom).
  const state = h("span", { id: "run-state" });
  const actions = h("span", { class: "row-flex" });
  const charts = CHARTS.map(([title, series]) => timeChart(title, series, mine));
  const chartBox = h("div", { class: "charts", hidden: true }, charts.map((c) => c.el));
  const stats = h("div");
  const failures = h("div");
  const exceptions = h("div");
  const files = h("div", { id: "run-files", class: "row-flex" });
  live.replaceChildren(h("section", { class: "panel" },
    h("div", { class: "row-flex" }, h("h2", {}, `Run ${id}: `, state), actions),
    chartBox, h("h3", {}, "Statistics"), stats, h("h3", {}, "Failures"), failures, h("h3", {}, "Exceptions"), exceptions,
    h("h3", {}, "Downloads"), files));
  let filesShown = false;
  mine.poll("run", async () => {
    if (followed.id !== id || !live.isConnected) return false;
    let run, master = null, fresh = [], exc = null;
    try { run = await api("GET", `/api/runs/${id}`); } catch (e) { live.replaceChildren(h("div", { class: "error" }, e.message)); return false; }
    const going = isLive(run);
    const last = followed.samples.length ? followed.samples[followed.samples.length - 1].at : 0;
    try { fresh = await api("GET", `/api/runs/${id}/history${last ? `?after=${last}` : ""}`); } catch { /* the next tick */ }
    if (going) { try { master = await api("GET", "/api/master/stats"); } catch { /* master busy */ } }
    try { exc = await api("GET", `/api/runs/${id}/exceptions`); } catch { /* master busy */ }
    if (followed.id !== id || !live.isConnected) return false;
    followed.samples = followed.samples.concat(fresh).slice(-86400);
    const rows = going && master ? master.stats : run.stats;
    const fails = going && master ? master.errors.map((e) => ({ method: e.method, name: e.name, error: e.error, occurrences: e.occurrences })) : run.failures;
    if (state.textContent !== run.state) state.textContent = run.state;
    actions.replaceChildren(...[going ? h("button", { class: "danger", id: "stop-run", onclick: () => api("POST", `/api/runs/${id}/stop`) }, "Stop") : null,
      run.error ? h("span", { class: "error" }, run.error) : null].filter(Boolean));
    if (followed.samples.length) {
      chartBox.hidden = false;
      for (const c of charts) c.update(followed.samples);
    }
    stats.replaceChildren(statsTable(rows || [], "run-stats"));
    failures.replaceChildren(failuresTable(fails || []));
    if (exc) exceptions.replaceChildren(exceptionsTable(exc.exceptions || []));
    if (going) { files.replaceChildren(h("span", { class: "muted" }, "The files are kept when the run ends.")); return true; }
    if (!filesShown) {
      filesShown = true;
      let names = [];
      try { names = await api("GET", `/api/runs/${id}/files`); } catch { /* none */ }
      files.replaceChildren(...names.map((n) => h("a", { href: `/api/runs/${encodeURIComponent(id)}/files/${n}`, download: `run-${id}-${n}`, id: `file-${n.replace(".", "-")}`, class: "button" }, n)));
      refreshHistory();
    }
    return false;
  }, 2000);
}

export function mount(el, s) {
  root = el;
  scope = s;
  render();
}

export function unmount() {
  root = null;
  scope = null;
  following = null;
}
