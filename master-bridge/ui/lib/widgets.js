// Widgets more than one page uses: name/value tables, the JSON tree, statistics tables,
// time-series charts (uPlot, vendor/), the current values panel.

import { h } from "./dom.js";
import { currentValues, setCurrentValues, shared } from "./shared.js";
import uPlot from "../vendor/uPlot.esm.js";

let uid = 0;
/** A fresh element id (for label/for pairs). */
export const nextId = (prefix) => `${prefix}-${++uid}`;

/**
 * An editable name/value table of `obj[key]`; `onChange()` after each edit. `errors` are
 * shown under it.
 */
export function kvTable(obj, key, path, label, onChange, errors = []) {
  const pairs = Object.entries(obj[key] || {});
  const commit = () => {
    const out = {};
    for (const row of table.querySelectorAll("tr[data-row]")) {
      const k = row.querySelector(".k").value.trim();
      if (k) out[k] = row.querySelector(".v").value;
    }
    if (Object.keys(out).length) obj[key] = out; else delete obj[key];
    onChange();
  };
  const rowFor = ([k, v]) => h("tr", { "data-row": "1" },
    h("td", {}, h("input", { class: "k", value: k, placeholder: "name", oninput: commit, "aria-label": `${label} name` })),
    h("td", {}, h("input", { class: "v", value: v, placeholder: "value", oninput: commit, "aria-label": `${label} value` })),
    h("td", {}, h("button", { title: `Remove ${label}`, "aria-label": `Remove ${label}`, onclick: (ev) => { ev.target.closest("tr").remove(); commit(); } }, "×")));
  const table = h("table", { class: "kv", "data-path": path },
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value"), h("th", {}, h("span", { class: "sr-only" }, "Remove")))),
    h("tbody", {}, pairs.map(rowFor)));
  return h("div", {}, table,
    h("button", { onclick: () => { const r = rowFor(["", ""]); table.tBodies[0].append(r); r.querySelector("input").focus(); } }, `Add ${label}`),
    errors.map((e) => h("div", { class: "error" }, `${e.path}: ${e.message}`)));
}

export function jsonTree(v, depth = 0) {
  if (v === null || typeof v !== "object") return h("span", {}, JSON.stringify(v));
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return h("details", { open: depth < 2 }, h("summary", {}, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`),
    h("div", { style: "padding-left: 14px" }, entries.map(([k, x]) => h("div", {}, h("span", { class: "muted" }, `${k}: `), jsonTree(x, depth + 1)))));
}

export function bodyView(text) {
  try { return jsonTree(JSON.parse(text)); } catch { return h("pre", {}, text); }
}

/**
 * A table that scrolls sideways inside its box instead of widening the page; the box takes
 * focus so the keyboard can scroll it too.
 */
export const scroller = (table, label) => h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": label }, table);

export function statsTable(rows, id) {
  const cols = [["method", "Type"], ["name", "Name"], ["num_requests", "# Requests"], ["num_failures", "# Fails"], ["median_response_time", "Median (ms)"],
    ["response_time_percentile_0.95", "95%ile (ms)"], ["response_time_percentile_0.99", "99%ile (ms)"], ["avg_response_time", "Average (ms)"],
    ["min_response_time", "Min (ms)"], ["max_response_time", "Max (ms)"], ["avg_content_length", "Avg size (B)"], ["current_rps", "Current RPS"], ["total_rps", "RPS"]];
  const present = cols.filter(([k]) => rows.some((r) => k in r));
  const numeric = (k) => rows.some((r) => typeof r[k] === "number");
  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v ?? "");
  return scroller(h("table", { id }, h("thead", {}, h("tr", {}, present.map(([k, t]) => h("th", { class: numeric(k) ? "num" : "" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, present.map(([k]) => h("td", { class: typeof r[k] === "number" ? "num" : "" }, fmt(r[k]))))))), "Statistics");
}

export function exceptionsTable(rows) {
  return scroller(h("table", { id: "exceptions" }, h("thead", {}, h("tr", {}, ["Count", "Message", "Traceback", "Nodes"].map((x) => h("th", { class: x === "Count" ? "num" : "" }, x)))),
    h("tbody", {}, rows.map((e) => h("tr", {}, h("td", { class: "num" }, e.count), h("td", {}, e.msg), h("td", {}, h("pre", { class: "traceback" }, e.traceback)), h("td", {}, e.nodes))))), "Exceptions");
}

export function failuresTable(rows) {
  return scroller(h("table", { id: "failures" }, h("thead", {}, h("tr", {}, ["Method", "Name", "Error", "Occurrences"].map((x) => h("th", { class: x === "Occurrences" ? "num" : "" }, x)))),
    h("tbody", {}, rows.map((f) => h("tr", {}, h("td", {}, f.method), h("td", {}, f.name), h("td", {}, f.error), h("td", { class: "num" }, f.occurrences))))), "Failures");
}

/**
 * A time-series chart (uPlot, embedded): a time axis, a legend that shows the values under the
 * cursor, drag to zoom and double-click to zoom out. `series`: [{key, label, color}]. Append
 * `el` to the page, then call `update(samples)` (objects with `at`, in seconds, and the keys).
 * `elapsed`: `at` counts seconds from a start, not a clock time (run comparisons).
 */
export function timeChart(title, series, scope, { elapsed = false } = {}) {
  const holder = h("div", { class: "chart-body" });
  const el = h("figure", { class: "chart" }, h("figcaption", {}, title), holder);
  let plot = null;
  const width = () => Math.max(200, holder.clientWidth || 400);
  scope.listen(window, "resize", () => { if (plot) plot.setSize({ width: width(), height: 180 }); });
  scope.onDispose(() => { if (plot) plot.destroy(); plot = null; });
  return {
    el,
    update(samples) {
      const data = [samples.map((s) => s.at), ...series.map((se) => samples.map((s) => s[se.key] ?? null))];
      if (plot) { plot.setData(data); return; }
      if (!holder.isConnected || scope.disposed) return;
      plot = new uPlot({
        width: width(), height: 180,
        // One sample would make an axis of years: give it a minute around it.
        scales: { x: { time: !elapsed, range: (u, min, max) => (min === max ? [min - 30, max + 30] : [min, max]) } },
        series: [{ label: elapsed ? "seconds" : "time" }, ...series.map((se) => ({ label: se.label, stroke: se.color, width: 1.5, dash: se.dash, value: (u, v) => (v === null || v === undefined ? "–" : Number(v).toFixed(v < 10 ? 1 : 0)) }))],
        axes: [{ stroke: "#555a68" }, { stroke: "#555a68", size: 50 }],
        legend: { live: true },
      }, data, holder);
    },
  };
}

/** The current values of an environment, with a Clear button; `onClear()` after clearing. */
export function currentValuesPanel(env = shared.activeEnv, onClear = () => {}) {
  const values = Object.entries(currentValues(env));
  return h("div", { class: "current-values", "data-env": env },
    h("strong", {}, `Current values${env ? ` (${env})` : " (no environment)"}: `),
    values.length ? values.map(([k, v]) => h("span", { class: "chip", title: "extracted by a Send; used by the next Send" }, `${k} = ${v}`)) : h("span", { class: "muted" }, "none yet (values extracted by a Send appear here)"),
    values.length ? h("button", { class: "clear-current", onclick: () => { setCurrentValues({}, env); onClear(); } }, "Clear") : null);
}
