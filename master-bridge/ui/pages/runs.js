// The Runs page: start a run (with stages), follow the one selected live (polled every 2 s
// while it goes, stopped on leaving), and the history.

import { api } from "../lib/api.js";
import { $, download, h } from "../lib/dom.js";
import { createScope } from "../lib/scope.js";
import { shared } from "../lib/shared.js";
import { failuresTable, scroller, statsTable, timeChart } from "../lib/widgets.js";

// The run followed and its samples survive leaving the page (not its poller).
const followed = { id: null, samples: [] };
let form = { plan: null, users: 10, rate: 10, time: "" };
let root = null;
let scope = null;
let following = null; // the scope of the run followed: its poller, charts and listeners

function follow(id) {
  if (followed.id !== id) { followed.id = id; followed.samples = []; }
  render();
}

async function render() {
  if (!root) return;
  const mine = scope;
  let runs;
  try { runs = await api("GET", "/api/runs"); } catch (e) { root.replaceChildren(h("div", { class: "error" }, e.message)); return; }
  if (scope !== mine || !root) return;
  const plan = h("select", { id: "run-plan", "aria-label": "Plan" }, shared.plans.map((p) => h("option", { value: p.id, selected: p.id === form.plan }, p.name)));
  const users = h("input", { id: "run-users", type: "number", value: form.users, min: 1, "aria-label": "Users" });
  const rate = h("input", { id: "run-rate", type: "number", value: form.rate, min: 0.1, step: "any", "aria-label": "Spawn rate" });
  const time = h("input", { id: "run-time", value: form.time, placeholder: "e.g. 60s; empty: until stopped", "aria-label": "Run time" });
  const stages = h("div", { id: "stages" });
  const addStage = () => stages.append(h("div", { class: "row-flex" }, "then for", h("input", { class: "st-d", placeholder: "30s", "aria-label": "Stage duration" }),
    "run", h("input", { class: "st-u", type: "number", placeholder: "users", "aria-label": "Stage users" }),
    "users at", h("input", { class: "st-r", type: "number", step: "any", placeholder: "spawn rate", "aria-label": "Stage spawn rate" }), "/s",
    h("button", { "aria-label": "Remove stage", onclick: (ev) => ev.target.closest(".row-flex").remove() }, "×")));
  const msg = h("div", { id: "run-message", "aria-live": "polite" });
  const start = async () => {
    form = { plan: plan.value, users: Number(users.value), rate: Number(rate.value), time: time.value };
    const body = { plan: plan.value, users: Number(users.value), spawn_rate: Number(rate.value), environment: shared.activeEnv || undefined };
    if (time.value.trim()) body.run_time = time.value.trim();
    body.stages = [...stages.children].map((r) => ({ duration: $(".st-d", r).value, users: Number($(".st-u", r).value), spawn_rate: Number($(".st-r", r).value) }));
    try {
      const run = await api("POST", "/api/runs", body);
      follow(run.id);
    } catch (e) { msg.replaceChildren(h("div", { class: "error" }, e.message)); }
  };
  const field = (label, input) => h("label", { class: "field" }, h("span", {}, label), input);
  const live = h("div", { id: "live" });
  const masterUrl = shared.info ? shared.info.master_web : "#";
  root.replaceChildren(h("div", {},
    h("section", { class: "panel" }, h("h2", {}, "Start a run"),
      h("div", { class: "row-flex" }, field("Plan", plan), field("Users", users), field("Spawn rate", rate), field("Run time", time)),
      stages, h("div", { class: "row-flex" }, h("button", { onclick: addStage }, "Add stage"), h("button", { class: "primary", id: "start-run", onclick: start }, "Start")), msg),
    live,
    h("section", { class: "panel" }, h("h2", {}, "History"), h("p", {}, h("a", { href: masterUrl, target: "_blank", id: "master-link" }, "Open the Locust master's own UI")),
      scroller(h("table", { id: "history" }, h("tr", {}, ["Run", "Plan", "State", "Started", "Requests", "Failures", "RPS", "Report"].map((x, i) => h("th", { class: i >= 4 && i <= 6 ? "num" : "" }, x))),
        runs.map((r) => {
          const agg = (r.stats || []).find((x) => x.name === "Aggregated") || {};
          const planName = (shared.plans.find((p) => p.id === r.plan) || {}).name || `${r.plan} (deleted)`;
          return h("tr", {}, h("td", {}, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); follow(r.id); } }, r.id)),
            h("td", {}, planName), h("td", {}, r.state), h("td", {}, new Date(r.started_at * 1000).toLocaleString()),
            h("td", { class: "num" }, agg.num_requests ?? ""), h("td", { class: "num" }, agg.num_failures ?? ""), h("td", { class: "num" }, agg.total_rps ? agg.total_rps.toFixed(1) : ""),
            h("td", {}, h("button", { "aria-label": `Download the report of run ${r.id}`, onclick: () => download(`run-${r.id}.json`, JSON.stringify(r, null, 2)) }, "Report")));
        }))))));
  if (followed.id) followRun(live);
}

const CHARTS = [
  ["Requests/s", [{ key: "rps", label: "requests/s", color: "#2457c5" }]],
  ["Failures/s", [{ key: "fails", label: "failures/s", color: "#a82724" }]],
  ["Response time (ms)", [{ key: "p50", label: "p50", color: "#2457c5" }, { key: "p95", label: "p95", color: "#7d4a00" }, { key: "p99", label: "p99", color: "#a82724" }]],
  ["Users", [{ key: "users", label: "users", color: "#11612e" }]],
];

function followRun(live) {
  const id = followed.id;
  let wasGoing = false;
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
  live.replaceChildren(h("section", { class: "panel" },
    h("div", { class: "row-flex" }, h("h2", {}, `Run ${id}: `, state), actions),
    chartBox, h("h3", {}, "Statistics"), stats, h("h3", {}, "Failures"), failures));
  mine.poll("run", async () => {
    if (followed.id !== id || !live.isConnected) return false;
    let run, master = null;
    try { run = await api("GET", `/api/runs/${id}`); } catch (e) { live.replaceChildren(h("div", { class: "error" }, e.message)); return false; }
    const going = run.state === "running" || run.state === "starting";
    if (going) {
      try { master = await api("GET", "/api/master/stats"); } catch { /* master busy */ }
      if (master && (master.user_count || 0) > 0) {
        const agg = (master.stats || []).find((r) => r.name === "Aggregated") || {};
        const p = master.current_response_time_percentiles || {};
        followed.samples.push({ at: Date.now() / 1000, rps: master.current_rps || 0, fails: master.current_fail_per_sec || 0,
          p50: p["response_time_percentile_0.5"] ?? null, p95: p["response_time_percentile_0.95"] ?? null, p99: p["response_time_percentile_0.99"] ?? null,
          users: master.user_count || 0, total: agg.num_requests || 0 });
        followed.samples = followed.samples.slice(-1800);
      }
    }
    if (!live.isConnected) return false;
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
    if (going) { wasGoing = true; return true; }
    // The run just ended: render the page again so the history shows it.
    if (wasGoing) render();
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
