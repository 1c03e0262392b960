// Two runs side by side: the numbers of their Aggregated rows and of every request row with the
// change from the first to the second, and their charts overlaid on seconds since each start.
// This is what people do after a change; Locust's own UI shows one run at a time.

import { api } from "../../lib/api.js";
import { h } from "../../lib/dom.js";
import { createScope } from "../../lib/scope.js";
import { scroller, timeChart } from "../../lib/widgets.js";

export const CHARTS = [
  ["Requests/s", [{ key: "rps", label: "requests/s", color: "#2457c5" }]],
  ["Failures/s", [{ key: "fails", label: "failures/s", color: "#a82724" }]],
  ["Response time (ms)", [{ key: "p50", label: "p50", color: "#2457c5" }, { key: "p95", label: "p95", color: "#7d4a00" }, { key: "p99", label: "p99", color: "#a82724" }]],
  ["Users", [{ key: "users", label: "users", color: "#11612e" }]],
];

const METRICS = [
  ["num_requests", "Requests", false],
  ["num_failures", "Failures", true],
  ["total_rps", "Requests/s", false],
  ["median_response_time", "Median (ms)", true],
  ["response_time_percentile_0.95", "95%ile (ms)", true],
  ["response_time_percentile_0.99", "99%ile (ms)", true],
  ["avg_response_time", "Average (ms)", true],
  ["max_response_time", "Max (ms)", true],
];

const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : "–");

/** The change from a to b, in percent, marked better or worse (`lowerIsBetter`). */
function delta(a, b, lowerIsBetter) {
  if (typeof a !== "number" || typeof b !== "number") return h("td", { class: "num" }, "–");
  if (a === b) return h("td", { class: "num" }, "0%");
  const pct = a === 0 ? (b > 0 ? Infinity : -Infinity) : ((b - a) / a) * 100;
  const better = lowerIsBetter ? b < a : b > a;
  const text = Number.isFinite(pct) ? `${pct > 0 ? "+" : ""}${pct.toFixed(1)}%` : (b > a ? "new" : "gone");
  return h("td", { class: `num ${better ? "better" : "worse"}`, title: better ? "better" : "worse" }, text);
}

let current = null; // the comparison's own scope (its charts)

/** Shows runs `ids` (exactly two) compared in `box`; `page` is the page's scope. */
export async function compareRuns(ids, box, page) {
  if (current) { current.dispose(); current = null; }
  if (ids.length !== 2) {
    box.replaceChildren(h("div", { class: "error", role: "alert", id: "compare-error" }, `Tick exactly two runs to compare (${ids.length} ticked).`));
    return;
  }
  let runs, histories;
  try {
    runs = await Promise.all(ids.map((id) => api("GET", `/api/runs/${id}`)));
    histories = await Promise.all(ids.map((id) => api("GET", `/api/runs/${id}/history`)));
  } catch (e) { box.replaceChildren(h("div", { class: "error" }, e.message)); return; }
  runs.sort((a, b) => a.started_at - b.started_at);
  if (runs[0].id !== ids[0]) histories.reverse();
  const [a, b] = runs;
  const label = (r) => `${r.id} (${new Date(r.started_at * 1000).toLocaleString()})`;
  const rowsOf = (r) => new Map((r.stats || []).map((x) => [`${x.method || ""} ${x.name}`, x]));
  const ra = rowsOf(a);
  const rb = rowsOf(b);
  const names = [...new Set([...ra.keys(), ...rb.keys()])].filter((k) => !k.endsWith(" Aggregated"));
  const aggA = ra.get(" Aggregated") || [...ra.values()].find((x) => x.name === "Aggregated") || {};
  const aggB = rb.get(" Aggregated") || [...rb.values()].find((x) => x.name === "Aggregated") || {};
  const summary = scroller(h("table", { id: "compare-summary" },
    h("thead", {}, h("tr", {}, h("th", {}, "Aggregated"), h("th", { class: "num" }, `A: ${a.id}`), h("th", { class: "num" }, `B: ${b.id}`), h("th", { class: "num" }, "B vs A"))),
    h("tbody", {}, METRICS.map(([k, title, lower]) => h("tr", {}, h("th", { scope: "row" }, title), h("td", { class: "num" }, fmt(aggA[k])), h("td", { class: "num" }, fmt(aggB[k])), delta(aggA[k], aggB[k], lower))))), "Aggregated numbers compared");
  const perRow = scroller(h("table", { id: "compare-rows" },
    h("thead", {}, h("tr", {}, ["Request", "Requests/s A", "Requests/s B", "Change", "95%ile A", "95%ile B", "Change"].map((x, i) => h("th", { class: i ? "num" : "" }, x)))),
    h("tbody", {}, names.map((n) => {
      const x = ra.get(n) || {};
      const y = rb.get(n) || {};
      const p95 = "response_time_percentile_0.95";
      return h("tr", {}, h("td", {}, n.trim()), h("td", { class: "num" }, fmt(x.total_rps)), h("td", { class: "num" }, fmt(y.total_rps)), delta(x.total_rps, y.total_rps, false),
        h("td", { class: "num" }, fmt(x[p95])), h("td", { class: "num" }, fmt(y[p95])), delta(x[p95], y[p95], true));
    }))), "Every request compared");
  // Charts: each run's samples on seconds since its own first sample.
  const mine = createScope();
  current = mine;
  page.onDispose(() => mine.dispose());
  const elapsed = (samples) => { const t0 = samples.length ? samples[0].at : 0; return samples.map((s) => ({ ...s, at: s.at - t0 })); };
  const [ha, hb] = histories.map(elapsed);
  const merged = new Map();
  for (const [tag, hist] of [["a", ha], ["b", hb]]) {
    for (const s of hist) {
      const at = Math.round(s.at);
      const m = merged.get(at) || { at };
      for (const k of ["rps", "fails", "p50", "p95", "p99", "users"]) m[`${k}_${tag}`] = s[k];
      merged.set(at, m);
    }
  }
  const samples = [...merged.values()].sort((x, y) => x.at - y.at);
  const charts = CHARTS.map(([title, series]) => timeChart(title, series.flatMap((se) => [
    { key: `${se.key}_a`, label: `${se.label} A`, color: se.color },
    { key: `${se.key}_b`, label: `${se.label} B`, color: se.color, dash: [6, 4] },
  ]), mine, { elapsed: true }));
  box.replaceChildren(h("section", { class: "panel", id: "comparison" },
    h("div", { class: "row-flex" }, h("h2", {}, "Comparison"), h("button", { onclick: () => { mine.dispose(); current = null; box.replaceChildren(); } }, "Close")),
    h("p", {}, h("strong", {}, "A: "), label(a), " — ", h("strong", {}, "B: "), label(b), h("span", { class: "muted" }, " (B is the later run, dashed in the charts; green is better)")),
    summary, h("h3", {}, "Every request"), perRow,
    h("div", { class: "charts" }, charts.map((c) => c.el))));
  if (samples.length) for (const c of charts) c.update(samples);
}
