// The editor pane: collection settings, transaction settings and the request editor (URL with
// highlighted {{variables}}, params, headers, body, auth, extractors, assertions), with the
// banners for errors, undefined variables and save conflicts.

import { $, download, h, toast } from "../../lib/dom.js";
import { api } from "../../lib/api.js";
import { currentValues, envVars, shared } from "../../lib/shared.js";
import { kvTable } from "../../lib/widgets.js";
import { authEditor } from "./auth.js";
import { responsePanel, send } from "./send.js";
import { versionsPanel } from "./versions.js";
import {
  UNDEF, clearInvalid, draft, errorsFor, invalidAt, newStep, reloadPlan, savePlan, select, setInvalid, st, stepAt, stepPath, touch,
} from "./state.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"];

export function editorFor(sel) {
  if (!sel) return h("p", { class: "muted" }, "Select or create a collection. A collection is a plan: transactions (folders) of requests.");
  const p = draft(sel.plan);
  if (sel.kind === "plan") return planSettings(sel.plan, p);
  if (sel.kind !== "setup" && !p.transactions[sel.t]) return h("p", { class: "muted" }, "Nothing selected.");
  if (sel.kind === "txn") return txnSettings(sel, p);
  return stepEditor(sel, p);
}

/** A Save button: does nothing while a save of this plan is under way. */
function saveButton(id, attrs = {}) {
  const busy = st.saving.has(id);
  return h("button", { ...attrs, class: attrs.class, "aria-disabled": busy ? "true" : undefined, onclick: () => savePlan(id) }, busy ? "Saving…" : "Save");
}

function conflictBanner(id) {
  const c = st.conflicts.get(id);
  if (!c) return null;
  const mine = draft(id);
  return h("div", { class: "conflict", id: "plan-conflict", role: "alert" },
    h("strong", {}, "Conflict: "),
    `someone else saved this collection (now version ${c.current ?? "?"}) after you started editing. Your edits are not saved.`,
    h("div", { class: "row-flex" },
      h("button", { id: "conflict-reload", onclick: () => reloadPlan(id) }, "Reload theirs (drop my edits)"),
      h("button", { id: "conflict-overwrite", class: "danger", onclick: () => savePlan(id, { overwrite: true }) }, "Overwrite with mine"),
      h("button", { id: "conflict-both", "aria-expanded": String(c.both), onclick: () => { c.both = !c.both; st.rerender(); } }, c.both ? "Hide both" : "See both")),
    c.both ? h("div", { class: "grid2" },
      h("div", {}, h("h4", {}, `Theirs (version ${c.current ?? "?"})`), h("pre", { id: "conflict-theirs" }, c.theirs ? JSON.stringify(c.theirs.plan, null, 2) : "(could not be read)")),
      h("div", {}, h("h4", {}, "Mine (not saved)"), h("pre", { id: "conflict-mine" }, JSON.stringify(mine, null, 2)))) : null);
}

function errorBanner(planId) {
  const errs = st.errors.get(planId) || [];
  const warned = UNDEF(st.warnings.get(planId));
  const warn = warned.length ? h("div", { class: "warnings", id: "plan-warnings" },
    `Saved, but nothing defines ${warned.map((v) => `{{${v}}}`).join(", ")} yet${shared.activeEnv ? ` (environment ${shared.activeEnv})` : " (no environment selected)"}: define them in an environment before sending or running.`) : null;
  const conflict = conflictBanner(planId);
  if (!errs.length) return h("div", {}, conflict, warn);
  return h("div", {}, conflict, warn, h("div", { class: "errors", id: "plan-errors", role: "alert" }, h("strong", {}, st.sendFailed === planId ? "Not sent: " : "Not saved: "),
    h("ul", {}, errs.map((e) => h("li", { class: "error" }, e.path ? `${e.path}: ${e.message}` : e.message)))));
}

// An input bound to obj[key]; marks the plan dirty and shows errors at `path`.
function bound(planId, obj, key, path, attrs = {}, parse = (v) => v) {
  const bad = errorsFor(planId, path).length > 0;
  const { tag = "input", after, ...rest } = attrs;
  const el = h(tag, {
    ...rest, value: obj[key] ?? "", "data-path": path, class: bad ? "field-error" : rest.class,
    oninput: (ev) => {
      const v = parse(ev.target.value);
      if (v === undefined || v === "") delete obj[key]; else obj[key] = v;
      touch(planId);
      if (after) after();
    },
  });
  return h("span", {}, el, errorsFor(planId, path).map((e) => h("div", { class: "error" }, e.message)));
}

function kv(id, obj, key, path, label) {
  return kvTable(obj, key, path, label, () => { touch(id); if (key === "headers" || key === "query") refreshChips(); }, errorsFor(id, path));
}

function thinkTimeEditor(planId, obj, path) {
  const tt = obj.think_time || {};
  const kind = Object.keys(tt)[0] || "";
  const val = kind === "between" ? (tt.between || []).join(", ") : (tt[kind] || "");
  const where = path ? "transaction" : "collection";
  const sel = h("select", { "aria-label": `Think time kind (${where})`, onchange: update }, ["", "constant", "between", "constant_pacing"].map((k) =>
    h("option", { value: k, selected: k === kind }, k || "none")));
  const inp = h("input", { value: val, placeholder: "1s  or  1s, 3s", "aria-label": `Think time (${where})`, oninput: update, "data-path": `${path}.think_time` });
  function update() {
    if (!sel.value) delete obj.think_time;
    else if (sel.value === "between") obj.think_time = { between: inp.value.split(",").map((x) => x.trim()).filter(Boolean) };
    else obj.think_time = { [sel.value]: inp.value.trim() };
    touch(planId);
  }
  return h("span", {}, sel, " ", inp, errorsFor(planId, `${path}.think_time`).map((e) => h("div", { class: "error" }, e.message)));
}

function checkbox(id, p, key, label) {
  return h("input", { type: "checkbox", "aria-label": label, checked: !!p[key], onchange: (ev) => { if (ev.target.checked) p[key] = true; else delete p[key]; touch(id); } });
}

async function exportPostman(id) {
  if (id.startsWith("new-") || st.dirty.has(id)) { toast("Save the collection first: the export is of the saved version"); return; }
  try {
    const c = await api("GET", `/api/plans/${encodeURIComponent(id)}/export?format=postman`);
    download(`${c.info.name}.postman_collection.json`, JSON.stringify(c, null, 2));
  } catch (e) { toast(e.message); }
}

function planSettings(id, p) {
  const row = (label, input) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, input));
  return h("div", {}, errorBanner(id),
    h("h2", {}, "Collection"),
    h("table", { class: "form" }, h("tbody", {},
      row("Name", bound(id, p, "name", "name", { "aria-label": "Collection name" })),
      row("Host (base URL)", bound(id, p, "host", "host", { placeholder: "http://127.0.0.1:8000", "aria-label": "Host" })),
      row("Timeout", bound(id, p, "timeout", "timeout", { placeholder: "60s", "aria-label": "Timeout" })),
      row("Think time", thinkTimeEditor(id, p, "")),
      row("Max requests/s per worker", bound(id, p, "max_rps", "max_rps", { type: "number", min: "0", "aria-label": "Max requests/s per worker" }, (v) => (v === "" ? undefined : Number(v)))),
      row("Cookie session per user", checkbox(id, p, "session", "Cookie session per user")),
      row("Report transactions (TXN rows)", checkbox(id, p, "report_transactions", "Report transactions (TXN rows)")))),
    h("h3", {}, "Variables"), kv(id, p, "variables", "variables", "variable"),
    h("h3", {}, "Auth"), authEditor(id, p, "", "collection"),
    id.startsWith("new-") ? null : h("div", {}, h("h3", {}, "Versions"), versionsPanel(id)),
    h("div", { class: "row-flex" },
      saveButton(id, { class: "primary", id: "save" }),
      h("button", { onclick: () => download(`${p.name}.json`, JSON.stringify(p, null, 2)) }, "Export plan JSON"),
      h("button", { id: "export-postman", onclick: () => exportPostman(id) }, "Export Postman v2.1"),
      h("button", { id: "export-locust", onclick: () => exportLocust(id) }, "Locustfile (plain Locust)"),
      h("button", { onclick: () => { p.setup = p.setup || []; p.setup.push(newStep("login")); touch(id); select({ plan: id, kind: "setup", s: p.setup.length - 1 }); } }, "Add setup request")));
}

function txnSettings(sel, p) {
  const t = p.transactions[sel.t];
  const path = `transactions[${sel.t}]`;
  const row = (label, input) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, input));
  return h("div", {}, errorBanner(sel.plan),
    h("h2", {}, "Transaction"),
    h("table", { class: "form" }, h("tbody", {},
      row("Name", bound(sel.plan, t, "name", `${path}.name`, { "aria-label": "Transaction name" })),
      row("Weight", bound(sel.plan, t, "weight", `${path}.weight`, { type: "number", min: "1", "aria-label": "Weight" }, (v) => (v === "" ? undefined : Number(v)))),
      row("Think time", thinkTimeEditor(sel.plan, t, path)))),
    h("h3", {}, "Auth"), authEditor(sel.plan, t, path, "transaction", p.auth),
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "send-transaction", onclick: () => send({ ...sel, kind: "txn" }) }, "Send transaction"),
      saveButton(sel.plan, { id: "save" })),
    responsePanel());
}

/** Every variable name something defines for the selected plan (plan, data, extractors, environment, current values). */
function knownVars() {
  const p = draft(st.sel.plan);
  const known = new Set([...Object.keys(p.variables || {}), ...envVars().keys(), ...Object.keys(currentValues())]);
  if (p.data && typeof p.data.csv === "string") for (const c of p.data.csv.split("\n")[0].split(",")) known.add(c.trim());
  for (const s of [...(p.setup || []), ...p.transactions.flatMap((t) => t.steps)]) for (const e of s.extract || []) known.add(e.var);
  return known;
}

/** The URL input with its {{variables}} highlighted in place (an overlay behind the text). */
function highlightUrl(input) {
  const overlay = h("div", { class: "url-overlay", "aria-hidden": "true" });
  const paint = () => {
    if (!st.sel) return;
    const known = knownVars();
    const parts = [];
    let last = 0;
    for (const m of input.value.matchAll(/\{\{\s*([^}]+?)\s*\}\}/g)) {
      parts.push(input.value.slice(last, m.index));
      const ok = m[1].startsWith("$") || known.has(m[1]);
      parts.push(h("span", { class: `var${ok ? "" : " undefined"}` }, m[0]));
      last = m.index + m[0].length;
    }
    parts.push(input.value.slice(last));
    overlay.replaceChildren(...parts);
    overlay.scrollLeft = input.scrollLeft;
  };
  for (const ev of ["input", "scroll", "keyup"]) input.addEventListener(ev, paint);
  queueMicrotask(paint);
  return h("div", { class: "url-wrap" }, overlay, input);
}

function refreshChips() {
  const box = $("#chips");
  if (!box || !st.sel) return;
  const s = stepAt(st.sel);
  if (!s) return;
  const known = knownVars();
  const text = [s.url, ...Object.values(s.query || {}), ...Object.values(s.headers || {}), s.body || "", JSON.stringify(s.json ?? ""), JSON.stringify(s.auth ?? "")].join(" ");
  const names = [...new Set([...text.matchAll(/\{\{\s*([^}]+?)\s*\}\}/g)].map((m) => m[1]))];
  box.replaceChildren(...names.map((n) => h("span", { class: `chip${n.startsWith("$") || known.has(n) ? "" : " undefined"}`, title: n.startsWith("$") || known.has(n) ? "defined" : "not defined anywhere" }, `{{${n}}}`)));
}

function stepEditor(sel, p) {
  const s = stepAt(sel);
  if (!s) return h("p", {}, "Nothing selected.");
  const id = sel.plan;
  const path = stepPath(sel);
  const method = h("select", { "aria-label": "Method", "data-path": `${path}.method`, onchange: (ev) => { s.method = ev.target.value; touch(id); st.rerender(); } },
    METHODS.map((m) => h("option", { value: m, selected: m === String(s.method).toUpperCase() }, m)));
  const url = bound(id, s, "url", `${path}.url`, { id: "url", "aria-label": "URL", placeholder: "/path or https://host/path — {{variables}} allowed", after: refreshChips });
  url.prepend(highlightUrl(url.querySelector("input")));
  const tabs = ["params", "headers", "body", "auth", "extract", "assert", "code"];
  const tabBar = h("div", { class: "tabs", role: "group", "aria-label": "Request parts" }, tabs.map((t) => h("button", { class: st.tab === t ? "active" : "", "aria-pressed": String(st.tab === t), onclick: () => { st.tab = t; st.rerender(); } }, t[0].toUpperCase() + t.slice(1))));
  const canSend = sel.kind === "step";
  const el = h("div", {}, errorBanner(id),
    h("div", { class: "row-flex" }, h("h2", { class: "step-name" }, s.name), sel.kind === "setup" ? h("span", { class: "muted" }, "(setup: runs once when a user starts; send it with a transaction)") : null),
    h("div", { class: "urlbar" }, method, url,
      h("button", { class: "primary", id: "send", disabled: !canSend, title: "Send (Ctrl+Enter)", onclick: () => send(sel) }, "Send"),
      saveButton(id, { id: "save" })),
    h("div", { id: "chips", class: "chips" }),
    tabBar, tabContent(id, s, path), responsePanel());
  queueMicrotask(refreshChips);
  return el;
}

/**
 * A JSON editor of `obj[key]`: valid text is applied at once; invalid text is kept as typed
 * (across re-renders) with its error in place, and blocks Save until fixed.
 */
function jsonEditor(id, obj, key, path, { check = () => {}, label, elId, help } = {}) {
  const at = `${path}.${key}`;
  const held = invalidAt(id, at);
  const errId = `${(elId || at).replace(/[^a-zA-Z0-9_-]/g, "_")}-error`;
  const ta = h("textarea", { id: elId, "data-path": at, "aria-label": label, "aria-describedby": errId, "aria-invalid": held ? "true" : undefined, class: held || errorsFor(id, at).length ? "field-error" : "" });
  ta.value = held ? held.text : obj[key] === undefined ? "" : JSON.stringify(obj[key], null, 2);
  const msg = h("div", { class: "error json-error", id: errId, "aria-live": "polite" }, held ? `Invalid JSON (not saved until fixed): ${held.message}` : "");
  ta.addEventListener("input", () => {
    try {
      if (!ta.value.trim() && key !== "json") { delete obj[key]; } else {
        const v = JSON.parse(ta.value);
        check(v);
        obj[key] = v;
      }
      clearInvalid(id, at);
      msg.textContent = ""; ta.classList.remove("field-error"); ta.removeAttribute("aria-invalid");
      touch(id); refreshChips();
    } catch (e) {
      setInvalid(id, at, ta.value, e.message);
      msg.textContent = `Invalid JSON (not saved until fixed): ${e.message}`;
      ta.classList.add("field-error"); ta.setAttribute("aria-invalid", "true");
      touch(id);
    }
  });
  return h("div", {}, help ? h("p", { class: "muted" }, help) : null, ta, msg,
    errorsFor(id, at).map((e) => h("div", { class: "error" }, `${e.path}: ${e.message}`)));
}

const isArray = (v) => { if (!Array.isArray(v)) throw new Error("must be a JSON array"); };
const isObject = (v) => { if (typeof v !== "object" || Array.isArray(v) || v === null) throw new Error("must be a JSON object"); };

function tabContent(id, s, path) {
  switch (st.tab) {
    case "params": return kv(id, s, "query", `${path}.query`, "parameter");
    case "headers": return kv(id, s, "headers", `${path}.headers`, "header");
    case "body": return bodyEditor(id, s, path);
    case "auth": {
      const p = draft(id);
      const t = st.sel.kind === "step" ? p.transactions[st.sel.t] : undefined;
      return authEditor(id, s, path, "request", t?.auth && t.auth.type !== "inherit" ? t.auth : p.auth);
    }
    case "extract": return jsonEditor(id, s, "extract", path, { check: isArray, label: "extract", help: 'e.g. [{"var": "token", "json": "$.token"}, {"var": "id", "regex": "id=(\\d+)"}, {"var": "loc", "header": "Location"}]' });
    case "code": return codeView(id);
    default: return jsonEditor(id, s, "assert", path, { check: isArray, label: "assert", help: 'e.g. [{"status": 201}, {"json": "$.id", "exists": true}, {"body_contains": "ok"}, {"response_time_under_ms": 500}]' });
  }
}

/** The selected request as a curl command (the environment's values filled in), from the draft. */
function codeView(id) {
  const sel = st.sel;
  const pre = h("pre", { id: "code-curl", class: "code", tabindex: "0", "aria-label": "curl command" }, "…");
  const body = { plan_json: draft(id), language: "curl", step: sel.s, environment: shared.activeEnv || undefined };
  if (sel.kind === "step") body.transaction = draft(id).transactions[sel.t].name;
  api("POST", "/api/code", body)
    .then((r) => { pre.textContent = r.code; })
    .catch((e) => { pre.textContent = `No code: ${e.message}`; });
  return h("div", {}, h("p", { class: "muted" }, "This request as a curl command (variables the environment and the plan define are filled in; extracted ones stay {{…}})."),
    pre, h("button", { id: "copy-curl", onclick: () => navigator.clipboard?.writeText(pre.textContent).then(() => toast("Copied"), () => toast("Copy failed")) }, "Copy"));
}

async function exportLocust(id) {
  try {
    const r = await api("POST", "/api/code", { plan_json: draft(id), language: "locust" });
    download("locustfile.py", r.code, "text/x-python");
  } catch (e) { toast(e.message); }
}

function bodyKind(s) {
  if ("json" in s) return "json";
  if ("body" in s) return "raw";
  if ("form" in s) return "form";
  if ("multipart" in s) return "multipart";
  return "none";
}

function bodyEditor(id, s, path) {
  const kind = bodyKind(s);
  const radios = h("fieldset", { class: "row-flex plain" }, h("legend", { class: "sr-only" }, "Body kind"), ["none", "json", "raw", "form", "multipart"].map((k) =>
    h("label", {}, h("input", { type: "radio", name: "body-kind", value: k, checked: k === kind, onchange: () => {
      delete s.json; delete s.body; delete s.content_type; delete s.form; delete s.multipart;
      clearInvalid(id, `${path}.json`); clearInvalid(id, `${path}.multipart`);
      if (k === "json") s.json = {};
      if (k === "multipart") s.multipart = {};
      if (k === "raw") s.body = "";
      if (k === "form") s.form = {};
      touch(id); st.rerender();
    } }), ` ${k}`)));
  let editor = h("p", { class: "muted" }, "This request has no body.");
  if (kind === "json") {
    editor = jsonEditor(id, s, "json", path, { label: "JSON body", elId: "body-json" });
  } else if (kind === "raw") {
    editor = h("div", {},
      h("label", {}, "Content type ", bound(id, s, "content_type", `${path}.content_type`, { placeholder: "text/plain; charset=utf-8", "aria-label": "Content type" })),
      bound(id, s, "body", `${path}.body`, { tag: "textarea", "aria-label": "Raw body", after: refreshChips }));
  } else if (kind === "form") {
    editor = kv(id, s, "form", `${path}.form`, "field");
  } else if (kind === "multipart") {
    editor = jsonEditor(id, s, "multipart", path, { check: isObject, label: "Multipart body", elId: "body-multipart",
      help: 'Fields: {"name": "value", "upload": {"file": "a.txt", "content": "text of the file", "content_type": "text/plain"}}' });
  }
  return h("div", {}, radios, editor, errorsFor(id, path).filter((e) => e.path === path).map((e) => h("div", { class: "error" }, e.message)));
}
