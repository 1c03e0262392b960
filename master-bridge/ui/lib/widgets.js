// Widgets more than one page uses: name/value tables, the JSON tree, statistics tables,
// charts, the current values panel.

import { h } from "./dom.js";
import { currentValues, setCurrentValues, shared } from "./shared.js";

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

/** A table that scrolls sideways inside its box instead of widening the page. */
export const scroller = (table) => h("div", { class: "table-scroll" }, table);

export function statsTable(rows, id) {
  const cols = [["method", "Type"], ["name", "Name"], ["num_requests", "# Requests"], ["num_failures", "# Fails"], ["median_response_time", "Median (ms)"],
    ["response_time_percentile_0.95", "95%ile (ms)"], ["response_time_percentile_0.99", "99%ile (ms)"], ["avg_response_time", "Average (ms)"],
    ["min_response_time", "Min (ms)"], ["max_response_time", "Max (ms)"], ["avg_content_length", "Avg size (B)"], ["current_rps", "Current RPS"], ["total_rps", "RPS"]];
  const present = cols.filter(([k]) => rows.some((r) => k in r));
  const numeric = (k) => rows.some((r) => typeof r[k] === "number");
  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v ?? "");
  return scroller(h("table", { id }, h("thead", {}, h("tr", {}, present.map(([k, t]) => h("th", { class: numeric(k) ? "num" : "" }, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, present.map(([k]) => h("td", { class: typeof r[k] === "number" ? "num" : "" }, fmt(r[k]))))))));
}

export function failuresTable(rows) {
  return scroller(h("table", { id: "failures" }, h("thead", {}, h("tr", {}, ["Method", "Name", "Error", "Occurrences"].map((x) => h("th", { class: x === "Occurrences" ? "num" : "" }, x)))),
    h("tbody", {}, rows.map((f) => h("tr", {}, h("td", {}, f.method), h("td", {}, f.name), h("td", {}, f.error), h("td", { class: "num" }, f.occurrences))))));
}

/** A small line chart of `samples` (objects with `at`, seconds) for `keys`, with a time axis and a legend. */
export function chart(title, samples, keys) {
  const w = 400, hgt = 150, pad = 26;
  const max = Math.max(1, ...samples.flatMap((s) => keys.map((k) => s[k] || 0)));
  const colors = ["#2457c5", "#b02a27", "#136b33"];
  const x = (i) => pad + (i * (w - pad - 4)) / Math.max(1, samples.length - 1);
  const y = (v) => hgt - pad - ((v || 0) / max) * (hgt - pad - 8);
  const t0 = samples.length ? samples[0].at : 0;
  const span = samples.length ? Math.round(samples[samples.length - 1].at - t0) : 0;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${title}: ${keys.map((k) => `${k} ${samples.length ? samples[samples.length - 1][k] : 0}`).join(", ")}`);
  svg.innerHTML = `<text x="2" y="12" font-size="10" fill="#5b606e">${max.toFixed(max < 10 ? 1 : 0)}</text><text x="${pad}" y="${hgt - 6}" font-size="10" fill="#5b606e">0 s</text><text x="${w - 4}" y="${hgt - 6}" font-size="10" fill="#5b606e" text-anchor="end">${span} s</text><line x1="${pad}" y1="${hgt - pad}" x2="${w}" y2="${hgt - pad}" stroke="#767b8a"/>` +
    keys.map((k, i) => `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${samples.map((s, j) => `${x(j)},${y(s[k])}`).join(" ")}"/>`).join("");
  const legend = h("span", { class: "legend" }, keys.map((k, i) => h("span", {}, h("span", { class: "swatch", style: `background:${colors[i]}` }), ` ${k} `)));
  return h("div", { class: "chart" }, h("h4", {}, title, " ", legend), svg);
}

/** The current values of an environment, with a Clear button; `onClear()` after clearing. */
export function currentValuesPanel(env = shared.activeEnv, onClear = () => {}) {
  const values = Object.entries(currentValues(env));
  return h("div", { class: "current-values", "data-env": env },
    h("strong", {}, `Current values${env ? ` (${env})` : " (no environment)"}: `),
    values.length ? values.map(([k, v]) => h("span", { class: "chip", title: "extracted by a Send; used by the next Send" }, `${k} = ${v}`)) : h("span", { class: "muted" }, "none yet (values extracted by a Send appear here)"),
    values.length ? h("button", { class: "clear-current", onclick: () => { setCurrentValues({}, env); onClear(); } }, "Clear") : null);
}
