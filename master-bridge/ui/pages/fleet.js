// The Fleet page: the workers (polled every second while the page is shown, one poller per
// visit, stopped on leaving), pushing a plan, and how to add a worker.

import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { shared } from "../lib/shared.js";
import { scroller } from "../lib/widgets.js";

function fmtBytes(b) { return b > 1 << 30 ? `${(b / (1 << 30)).toFixed(1)} GiB` : `${(b / (1 << 20)).toFixed(0)} MiB`; }

export function mount(root, scope) {
  const planSel = h("select", { id: "push-plan", "aria-label": "Plan to push" }, shared.plans.map((p) => h("option", { value: p.id }, p.name)));
  const label = h("input", { id: "push-label", placeholder: "label selector, e.g. team=checkout", "aria-label": "Label selector" });
  const result = h("div", { id: "push-result", "aria-live": "polite" });
  const tbody = h("tbody", { id: "workers" });
  const checked = new Set();
  async function push(mode) {
    const body = {};
    if (mode === "label") {
      body.labels = Object.fromEntries(label.value.split(",").map((kv) => kv.split("=").map((x) => x.trim())).filter(([k]) => k));
    }
    if (mode === "chosen") body.workers = [...checked];
    try {
      const r = await api("POST", `/api/plans/${planSel.value}/push`, body);
      result.replaceChildren(...[h("ul", {}, r.results.map((x) => h("li", { class: x.ok ? "status-ok" : "status-bad" }, `${x.address}: ${x.ok ? `ok${x.changed ? "" : " (unchanged)"}` : x.error}`))),
        r.results.length ? null : h("p", { class: "muted" }, "No worker matched.")].filter(Boolean));
    } catch (e) { result.replaceChildren(h("div", { class: "error" }, e.message)); }
  }
  const info = shared.info || {};
  const cmd = `./worker --etcd-addr ${(info.etcd || ["<etcd>"]).map((e) => e.replace(/^https?:\/\//, "")).join(",")} --host <this host's ip> --port 3000`;
  root.replaceChildren(h("div", {},
    h("section", { class: "panel", "aria-labelledby": "workers-title" }, h("h2", { id: "workers-title" }, "Workers"),
      scroller(h("table", {}, h("thead", {}, h("tr", {}, ["Push to", "Address", "Labels", "State", "Plan", "Users", "Req/s", "CPU", "Memory", "Error"].map((x, i) =>
        h("th", { class: i >= 5 && i <= 8 ? "num" : "" }, x)))), tbody), "Workers")),
    h("section", { class: "panel" }, h("h2", {}, "Push a plan"),
      h("div", { class: "row-flex" }, planSel,
        h("button", { class: "primary", id: "push-all", onclick: () => push("all") }, "Push to all"),
        label, h("button", { id: "push-by-label", onclick: () => push("label") }, "Push to label"),
        h("button", { id: "push-chosen", onclick: () => push("chosen") }, "Push to checked")), result),
    h("section", { class: "panel" }, h("h2", {}, "Add a worker"),
      h("p", {}, h("a", { href: "/download/worker", id: "download-worker" }, "Download the worker binary"), ` (${info.platform || "this platform"}), then on the new host:`),
      h("code", { class: "cmd" }, cmd))));
  // Rows are updated in place, keyed by address, so a checkbox keeps its focus and state.
  const rows = new Map();
  const rowFor = (w) => {
    let r = rows.get(w.address);
    if (!r) {
      const box = h("input", { type: "checkbox", "aria-label": `Push to ${w.address}`, onchange: (ev) => { if (ev.target.checked) checked.add(w.address); else checked.delete(w.address); } });
      r = { tr: h("tr", { "data-address": w.address }, h("td", {}, box)), cells: [] };
      for (let i = 0; i < 9; i++) { const td = h("td"); r.cells.push(td); r.tr.append(td); }
      rows.set(w.address, r);
    }
    const vals = [w.address, Object.entries(w.labels || {}).map(([k, v]) => `${k}=${v}`).join(", "), w.state, w.plan, w.users,
      w.requests_per_second.toFixed(1), `${w.cpu_percent.toFixed(0)}%`, fmtBytes(w.memory_bytes), w.unreachable || w.last_error || ""];
    vals.forEach((v, i) => {
      const text = v === null || v === undefined ? "" : String(v);
      if (r.cells[i].textContent !== text) r.cells[i].textContent = text;
      r.cells[i].className = i >= 4 && i <= 7 ? "num" : i === 8 ? "error" : "";
    });
    return r.tr;
  };
  scope.poll("fleet", async () => {
    try {
      const ws = await api("GET", "/api/workers");
      if (scope.disposed) return;
      const seen = new Set(ws.map((w) => w.address));
      for (const a of [...rows.keys()]) if (!seen.has(a)) { rows.get(a).tr.remove(); rows.delete(a); checked.delete(a); }
      ws.forEach((w, i) => { const tr = rowFor(w); if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
      tbody.querySelector("tr.fetch-error")?.remove();
    } catch (e) {
      if (!tbody.querySelector("tr.fetch-error")) tbody.prepend(h("tr", { class: "fetch-error" }, h("td", { class: "error", colspan: "10" }, e.message)));
    }
  }, 1000);
}

export function unmount() {}
