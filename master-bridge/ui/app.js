// locust-http web UI: collections (plans) of transactions and requests, Send, environments,
// the fleet and runs. Plain ES modules, no build step; talks only to the bridge's REST API
// (imports and exports too: the one converter is the bridge's, POST /api/import).

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"];
const $ = (sel, root = document) => root.querySelector(sel);
const app = $("#app");

const state = {
  plans: [],            // stored plans: {id, name, version, plan}
  drafts: new Map(),    // plan id -> plan document being edited
  dirty: new Set(),     // plan ids with unsaved edits
  errors: new Map(),    // plan id -> [{path, message}] from the last save
  warnings: new Map(),  // plan id -> [{variable, path, message}]: variables nothing defines yet
  sel: null,            // {plan, kind: "plan"|"txn"|"step"|"setup", t, s}
  tab: "params",
  history: [],          // last Send results
  response: null,
  envs: [],
  activeEnv: localStorage.getItem("locust-http.env") || "",
  info: null,
  newCount: 0,
  savedAs: new Map(),   // unsaved id ("new-1") -> the id the bridge gave it
  run: { id: null, samples: [], timer: null },
};

// ------------------------------------------------------------------------------------------
// API

async function api(method, path, body) {
  const init = { method, headers: {} };
  // Every request that changes state says it is JSON (the bridge refuses other cross-site forms).
  if (method !== "GET" && method !== "HEAD") init.headers["content-type"] = "application/json";
  if (body !== undefined) init.body = JSON.stringify(body);
  const resp = await fetch(path, init);
  let data = null;
  try { data = await resp.json(); } catch { /* empty body */ }
  if (!resp.ok) {
    const err = new Error((data && data.error) || `${resp.status} ${resp.statusText}`);
    err.status = resp.status;
    err.data = data;
    throw err;
  }
  return data;
}

function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.style.display = "block";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.style.display = "none"; t.textContent = ""; }, 2500);
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ------------------------------------------------------------------------------------------
// Plans in memory

function draft(id) {
  if (!state.drafts.has(id)) {
    const stored = state.plans.find((p) => p.id === id);
    state.drafts.set(id, structuredClone(stored ? stored.plan : { name: "New collection", transactions: [] }));
  }
  return state.drafts.get(id);
}

function touch(id) {
  state.dirty.add(id);
  document.querySelectorAll(`[data-plan-name="${id}"]`).forEach((el) => el.classList.add("dirty"));
}

function stepAt(sel) {
  const p = draft(sel.plan);
  if (sel.kind === "setup") return (p.setup || [])[sel.s];
  if (sel.kind === "step") return p.transactions[sel.t].steps[sel.s];
  return null;
}

function stepPath(sel) {
  return sel.kind === "setup" ? `setup[${sel.s}]` : `transactions[${sel.t}].steps[${sel.s}]`;
}

function newStep(name = "new request") {
  return { name, method: "GET", url: "/" };
}

function uniqueName(base, taken) {
  let name = base;
  for (let i = 2; taken.includes(name); i++) name = `${base} ${i}`;
  return name;
}

function move(list, i, delta) {
  const j = i + delta;
  if (j < 0 || j >= list.length) return false;
  [list[i], list[j]] = [list[j], list[i]];
  return true;
}

async function loadPlans() {
  state.plans = await api("GET", "/api/plans");
}

async function savePlan(id) {
  const doc = draft(id);
  const isNew = id.startsWith("new-");
  // Variables the active environment defines count as defined; others come back as warnings.
  const q = state.activeEnv ? `?environment=${encodeURIComponent(state.activeEnv)}` : "";
  try {
    const saved = isNew ? await api("POST", `/api/plans${q}`, doc) : await api("PUT", `/api/plans/${id}${q}`, doc);
    state.errors.delete(id);
    if ((saved.warnings || []).length) state.warnings.set(saved.id, saved.warnings); else state.warnings.delete(saved.id);
    state.dirty.delete(id);
    state.drafts.delete(id);
    if (isNew) {
      state.savedAs.set(id, saved.id);
      if (state.sel && state.sel.plan === id) state.sel.plan = saved.id;
    }
    await loadPlans();
    const w = UNDEF(saved.warnings);
    toast(`Saved ${saved.name} (version ${saved.version})${w.length ? `; not defined yet: ${w.join(", ")}` : ""}`);
  } catch (e) {
    state.sendFailed = null;
    if (e.status === 422) {
      state.errors.set(id, e.data.errors || []);
      toast("Not saved: the plan has errors");
    } else {
      state.errors.set(id, [{ path: "", message: e.message }]);
    }
  }
  render();
}

function planIds() {
  const ids = state.plans.map((p) => p.id);
  for (const id of state.drafts.keys()) if (!ids.includes(id)) ids.push(id);
  return ids;
}

// ------------------------------------------------------------------------------------------
// Collections page

function renderCollections() {
  const side = h("div", { class: "panel tree" },
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "new-collection", onclick: newCollection }, "New collection"),
      h("button", { id: "import", onclick: openImport }, "Import")),
    h("ul", {}, planIds().map(treePlan)));
  const editor = h("div", { class: "panel", id: "editor" }, editorFor(state.sel));
  app.replaceChildren(h("div", { class: "layout" }, side, editor));
}

function newCollection() {
  const id = `new-${++state.newCount}`;
  state.drafts.set(id, { name: uniqueName("New collection", planIds().map((p) => draft(p).name)), transactions: [] });
  state.dirty.add(id);
  state.sel = { plan: id, kind: "plan" };
  render();
}

function rowActions(...buttons) {
  return h("span", { class: "actions" }, buttons.map(([label, title, fn]) =>
    h("button", { title, "aria-label": title, onclick: (ev) => { ev.stopPropagation(); fn(); } }, label)));
}

function isSel(sel) {
  const s = state.sel;
  return s && s.plan === sel.plan && s.kind === sel.kind && s.t === sel.t && s.s === sel.s;
}

function select(sel) {
  // A row rendered before its collection was first saved still carries the temporary id.
  state.sel = { ...sel, plan: state.savedAs.get(sel.plan) || sel.plan };
  state.response = null;
  render();
}

function treePlan(id) {
  const p = draft(id);
  const sel = { plan: id, kind: "plan" };
  const rename = (obj, what) => () => {
    const name = prompt(`Rename ${what}`, obj.name);
    if (name) { obj.name = name; touch(id); render(); }
  };
  const row = h("div", { class: `row${isSel(sel) ? " selected" : ""}`, onclick: () => select(sel) },
    h("span", { class: state.dirty.has(id) ? "dirty" : "", "data-plan-name": id }, p.name),
    rowActions(
      ["+", "Add transaction", () => {
        p.transactions.push({ name: uniqueName("transaction", p.transactions.map((t) => t.name)), weight: 1, steps: [newStep()] });
        touch(id);
        select({ plan: id, kind: "step", t: p.transactions.length - 1, s: 0 });
      }],
      ["✎", "Rename collection", rename(p, "collection")],
      ["save", "Save", () => savePlan(id)],
      ["×", "Delete collection", () => deletePlan(id)]));
  const setup = (p.setup || []).map((st, s) => treeStep(id, { plan: id, kind: "setup", s }, st, p.setup));
  const txns = p.transactions.map((t, ti) => {
    const tsel = { plan: id, kind: "txn", t: ti };
    return h("li", {},
      h("div", { class: `row${isSel(tsel) ? " selected" : ""}`, onclick: () => select(tsel) },
        h("span", {}, "▾ ", t.name),
        rowActions(
          ["+", "Add request", () => { t.steps.push(newStep(uniqueName("new request", t.steps.map((x) => x.name)))); touch(id); select({ plan: id, kind: "step", t: ti, s: t.steps.length - 1 }); }],
          ["✎", "Rename transaction", rename(t, "transaction")],
          ["copy", "Duplicate transaction", () => { const c = structuredClone(t); c.name = uniqueName(t.name, p.transactions.map((x) => x.name)); p.transactions.splice(ti + 1, 0, c); touch(id); render(); }],
          ["↑", "Move up", () => { if (move(p.transactions, ti, -1)) { touch(id); render(); } }],
          ["↓", "Move down", () => { if (move(p.transactions, ti, 1)) { touch(id); render(); } }],
          ["×", "Delete transaction", () => { p.transactions.splice(ti, 1); touch(id); select({ plan: id, kind: "plan" }); }])),
      h("ul", {}, t.steps.map((st, s) => treeStep(id, { plan: id, kind: "step", t: ti, s }, st, t.steps))));
  });
  return h("li", {}, row, h("ul", {},
    setup.length ? h("li", {}, h("div", { class: "row muted" }, "setup (once per user)"), h("ul", {}, setup)) : null,
    txns));
}

function treeStep(id, sel, st, list) {
  return h("li", {}, h("div", { class: `row${isSel(sel) ? " selected" : ""}`, onclick: () => select(sel) },
    h("span", { class: `method m-${st.method}` }, st.method), h("span", {}, st.name),
    rowActions(
      ["✎", "Rename request", () => { const n = prompt("Rename request", st.name); if (n) { st.name = n; touch(id); render(); } }],
      ["copy", "Duplicate request", () => { const c = structuredClone(st); c.name = uniqueName(st.name, list.map((x) => x.name)); list.splice(sel.s + 1, 0, c); touch(id); render(); }],
      ["↑", "Move up", () => { if (move(list, sel.s, -1)) { touch(id); select({ ...sel, s: sel.s - 1 }); } }],
      ["↓", "Move down", () => { if (move(list, sel.s, 1)) { touch(id); select({ ...sel, s: sel.s + 1 }); } }],
      ["×", "Delete request", () => { list.splice(sel.s, 1); touch(id); select({ plan: id, kind: sel.kind === "setup" ? "plan" : "txn", t: sel.t }); }])));
}

async function deletePlan(id) {
  if (!confirm(`Delete collection ${draft(id).name}?`)) return;
  try {
    if (!id.startsWith("new-")) await api("DELETE", `/api/plans/${id}`);
    state.drafts.delete(id);
    state.dirty.delete(id);
    state.sel = null;
    await loadPlans();
  } catch (e) { toast(e.message); }
  render();
}

function errorsFor(planId, prefix) {
  return (state.errors.get(planId) || []).filter((e) => e.path === prefix || e.path.startsWith(prefix + ".") || e.path.startsWith(prefix + "["));
}

/** The distinct variable names of a list of warnings. */
const UNDEF = (warnings) => [...new Set((warnings || []).map((w) => w.variable))];

function errorBanner(planId) {
  const errs = state.errors.get(planId) || [];
  const warned = UNDEF(state.warnings.get(planId));
  const warn = warned.length ? h("div", { class: "warnings", id: "plan-warnings" },
    `Saved, but nothing defines ${warned.map((v) => `{{${v}}}`).join(", ")} yet${state.activeEnv ? ` (environment ${state.activeEnv})` : " (no environment selected)"}: define them in an environment before sending or running.`) : null;
  if (!errs.length) return warn;
  return h("div", {}, warn, h("div", { class: "errors", id: "plan-errors" }, h("strong", {}, state.sendFailed === planId ? "Not sent: " : "Not saved: "),
    h("ul", {}, errs.map((e) => h("li", { class: "error" }, e.path ? `${e.path}: ${e.message}` : e.message)))));
}

// An input bound to obj[key]; marks the plan dirty and shows errors at `path`.
function bound(planId, obj, key, path, attrs = {}, parse = (v) => v) {
  const bad = errorsFor(planId, path).length > 0;
  const el = h(attrs.tag || "input", {
    ...attrs, tag: undefined, value: obj[key] ?? "", "data-path": path, class: bad ? "field-error" : attrs.class,
    oninput: (ev) => {
      const v = parse(ev.target.value);
      if (v === undefined || v === "") delete obj[key]; else obj[key] = v;
      touch(planId);
      if (attrs.after) attrs.after();
    },
  });
  return h("span", {}, el, errorsFor(planId, path).map((e) => h("div", { class: "error" }, e.message)));
}

function editorFor(sel) {
  if (!sel) return h("p", { class: "muted" }, "Select or create a collection. A collection is a plan: transactions (folders) of requests.");
  const p = draft(sel.plan);
  if (sel.kind === "plan") return planSettings(sel.plan, p);
  if (sel.kind !== "setup" && !p.transactions[sel.t]) return h("p", { class: "muted" }, "Nothing selected.");
  if (sel.kind === "txn") return txnSettings(sel, p);
  return stepEditor(sel, p);
}

function kvTable(planId, obj, key, path, label) {
  const pairs = Object.entries(obj[key] || {});
  const commit = () => {
    const out = {};
    for (const row of table.querySelectorAll("tr[data-row]")) {
      const k = row.querySelector(".k").value.trim();
      if (k) out[k] = row.querySelector(".v").value;
    }
    if (Object.keys(out).length) obj[key] = out; else delete obj[key];
    touch(planId);
    if (key === "headers" || key === "query") refreshChips();
  };
  const rowFor = ([k, v]) => h("tr", { "data-row": "1" },
    h("td", {}, h("input", { class: "k", value: k, placeholder: "name", oninput: commit, "aria-label": `${label} name` })),
    h("td", {}, h("input", { class: "v", value: v, placeholder: "value", oninput: commit, "aria-label": `${label} value` })),
    h("td", {}, h("button", { title: "Remove", onclick: (ev) => { ev.target.closest("tr").remove(); commit(); } }, "×")));
  const table = h("table", { class: "kv", "data-path": path }, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Value"), h("th", {})), pairs.map(rowFor));
  return h("div", {}, table, h("button", { onclick: () => table.append(rowFor(["", ""])) }, `Add ${label}`),
    errorsFor(planId, path).map((e) => h("div", { class: "error" }, `${e.path}: ${e.message}`)));
}

function thinkTimeEditor(planId, obj, path) {
  const tt = obj.think_time || {};
  const kind = Object.keys(tt)[0] || "";
  const val = kind === "between" ? (tt.between || []).join(", ") : (tt[kind] || "");
  const sel = h("select", { "aria-label": "Think time", onchange: update }, ["", "constant", "between", "constant_pacing"].map((k) =>
    h("option", { value: k, selected: k === kind }, k || "none")));
  const inp = h("input", { value: val, placeholder: "1s  or  1s, 3s", oninput: update, "data-path": `${path}.think_time` });
  function update() {
    if (!sel.value) delete obj.think_time;
    else if (sel.value === "between") obj.think_time = { between: inp.value.split(",").map((x) => x.trim()).filter(Boolean) };
    else obj.think_time = { [sel.value]: inp.value.trim() };
    touch(planId);
  }
  return h("span", {}, sel, " ", inp, errorsFor(planId, `${path}.think_time`).map((e) => h("div", { class: "error" }, e.message)));
}

function planSettings(id, p) {
  return h("div", {}, errorBanner(id),
    h("h3", {}, "Collection"),
    h("table", {},
      h("tr", {}, h("th", {}, "Name"), h("td", {}, bound(id, p, "name", "name", { "aria-label": "Collection name" }))),
      h("tr", {}, h("th", {}, "Host (base URL)"), h("td", {}, bound(id, p, "host", "host", { placeholder: "http://127.0.0.1:8000", "aria-label": "Host" }))),
      h("tr", {}, h("th", {}, "Timeout"), h("td", {}, bound(id, p, "timeout", "timeout", { placeholder: "60s" }))),
      h("tr", {}, h("th", {}, "Think time"), h("td", {}, thinkTimeEditor(id, p, ""))),
      h("tr", {}, h("th", {}, "Max requests/s per worker"), h("td", {}, bound(id, p, "max_rps", "max_rps", { type: "number", min: "0" }, (v) => (v === "" ? undefined : Number(v))))),
      h("tr", {}, h("th", {}, "Cookie session per user"), h("td", {}, h("input", { type: "checkbox", checked: !!p.session, onchange: (ev) => { if (ev.target.checked) p.session = true; else delete p.session; touch(id); } }))),
      h("tr", {}, h("th", {}, "Report transactions (TXN rows)"), h("td", {}, h("input", { type: "checkbox", checked: !!p.report_transactions, onchange: (ev) => { if (ev.target.checked) p.report_transactions = true; else delete p.report_transactions; touch(id); } })))),
    h("h4", {}, "Variables"), kvTable(id, p, "variables", "variables", "variable"),
    h("div", { class: "row-flex" },
      h("button", { class: "primary", onclick: () => savePlan(id) }, "Save"),
      h("button", { onclick: () => download(`${p.name}.json`, JSON.stringify(p, null, 2)) }, "Export plan JSON"),
      h("button", { id: "export-postman", onclick: () => exportPostman(id) }, "Export Postman v2.1"),
      h("button", { onclick: () => { p.setup = p.setup || []; p.setup.push(newStep("login")); touch(id); select({ plan: id, kind: "setup", s: p.setup.length - 1 }); } }, "Add setup request")));
}

function txnSettings(sel, p) {
  const t = p.transactions[sel.t];
  const path = `transactions[${sel.t}]`;
  return h("div", {}, errorBanner(sel.plan),
    h("h3", {}, "Transaction"),
    h("table", {},
      h("tr", {}, h("th", {}, "Name"), h("td", {}, bound(sel.plan, t, "name", `${path}.name`))),
      h("tr", {}, h("th", {}, "Weight"), h("td", {}, bound(sel.plan, t, "weight", `${path}.weight`, { type: "number", min: "1" }, (v) => (v === "" ? undefined : Number(v))))),
      h("tr", {}, h("th", {}, "Think time"), h("td", {}, thinkTimeEditor(sel.plan, t, path)))),
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "send-transaction", onclick: () => send({ ...sel, kind: "txn" }) }, "Send transaction"),
      h("button", { onclick: () => savePlan(sel.plan) }, "Save")),
    responsePanel());
}

// --- the request editor

/** Every variable name something defines for the selected plan (plan, data, extractors, environment, current values). */
function knownVars() {
  const p = draft(state.sel.plan);
  const known = new Set([...Object.keys(p.variables || {}), ...envVars().keys(), ...Object.keys(currentValues())]);
  if (p.data && typeof p.data.csv === "string") for (const c of p.data.csv.split("\n")[0].split(",")) known.add(c.trim());
  for (const s of [...(p.setup || []), ...p.transactions.flatMap((t) => t.steps)]) for (const e of s.extract || []) known.add(e.var);
  return known;
}

/** The URL input with its {{variables}} highlighted in place (an overlay behind the text). */
function highlightUrl(input) {
  const overlay = h("div", { class: "url-overlay", "aria-hidden": "true" });
  const paint = () => {
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
  input.addEventListener("input", paint);
  input.addEventListener("scroll", paint);
  input.addEventListener("keyup", paint);
  queueMicrotask(paint);
  return h("div", { class: "url-wrap" }, overlay, input);
}

function refreshChips() {
  const box = $("#chips");
  if (!box || !state.sel) return;
  const st = stepAt(state.sel);
  const known = knownVars();
  const text = [st.url, ...Object.values(st.query || {}), ...Object.values(st.headers || {}), st.body || "", JSON.stringify(st.json ?? "")].join(" ");
  const names = [...new Set([...text.matchAll(/\{\{\s*([^}]+?)\s*\}\}/g)].map((m) => m[1]))];
  box.replaceChildren(...names.map((n) => h("span", { class: `chip${n.startsWith("$") || known.has(n) ? "" : " undefined"}`, title: n.startsWith("$") || known.has(n) ? "defined" : "not defined anywhere" }, `{{${n}}}`)));
}

function envVars() {
  const env = state.envs.find((e) => e.name === state.activeEnv);
  return new Map(Object.entries(env ? env.variables : {}));
}

// --- current values: what Sends extracted, kept for the next Send in the same environment (as
// Postman's "current value"). Stored in this browser (localStorage), one set per environment
// name ("" = no environment); never sent to the bridge's store, only along with a Send.

const CURRENT_KEY = (env) => `locust-http.current.${env}`;

function currentValues(env = state.activeEnv) {
  try { return JSON.parse(localStorage.getItem(CURRENT_KEY(env)) || "{}") || {}; } catch { return {}; }
}

function setCurrentValues(values, env = state.activeEnv) {
  if (Object.keys(values).length) localStorage.setItem(CURRENT_KEY(env), JSON.stringify(values));
  else localStorage.removeItem(CURRENT_KEY(env));
}

function currentValuesPanel(env = state.activeEnv) {
  const values = Object.entries(currentValues(env));
  return h("div", { class: "current-values", "data-env": env },
    h("strong", {}, `Current values${env ? ` (${env})` : " (no environment)"}: `),
    values.length ? values.map(([k, v]) => h("span", { class: "chip", title: "extracted by a Send; used by the next Send" }, `${k} = ${v}`)) : h("span", { class: "muted" }, "none yet (values extracted by a Send appear here)"),
    values.length ? h("button", { class: "clear-current", onclick: () => { setCurrentValues({}, env); render(); } }, "Clear") : null);
}

function stepEditor(sel, p) {
  const st = stepAt(sel);
  if (!st) return h("p", {}, "Nothing selected.");
  const id = sel.plan;
  const path = stepPath(sel);
  const method = h("select", { "aria-label": "Method", "data-path": `${path}.method`, onchange: (ev) => { st.method = ev.target.value; touch(id); render(); } },
    METHODS.map((m) => h("option", { value: m, selected: m === String(st.method).toUpperCase() }, m)));
  const url = bound(id, st, "url", `${path}.url`, { id: "url", "aria-label": "URL", placeholder: "/path or https://host/path — {{variables}} allowed", after: refreshChips });
  url.prepend(highlightUrl(url.querySelector("input")));
  const tabs = ["params", "headers", "body", "auth", "extract", "assert"];
  const tabBar = h("div", { class: "tabs" }, tabs.map((t) => h("button", { class: state.tab === t ? "active" : "", onclick: () => { state.tab = t; render(); } }, t[0].toUpperCase() + t.slice(1))));
  const canSend = sel.kind === "step";
  const el = h("div", {}, errorBanner(id),
    h("div", { class: "row-flex" }, h("strong", {}, st.name), sel.kind === "setup" ? h("span", { class: "muted" }, "(setup: runs once when a user starts; send it with a transaction)") : null),
    h("div", { class: "urlbar" }, method, url,
      h("button", { class: "primary", id: "send", disabled: !canSend, title: "Send (Ctrl+Enter)", onclick: () => send(sel) }, "Send"),
      h("button", { id: "save", onclick: () => savePlan(id) }, "Save")),
    h("div", { id: "chips", class: "chips" }),
    tabBar, tabContent(id, st, path), responsePanel());
  queueMicrotask(refreshChips);
  return el;
}

function jsonArrayEditor(id, st, key, path, help) {
  const ta = h("textarea", { "data-path": `${path}.${key}`, "aria-label": key, class: errorsFor(id, `${path}.${key}`).length ? "field-error" : "" });
  ta.value = st[key] ? JSON.stringify(st[key], null, 2) : "";
  const msg = h("div", { class: "error" });
  ta.addEventListener("input", () => {
    if (!ta.value.trim()) { delete st[key]; msg.textContent = ""; touch(id); return; }
    try {
      const v = JSON.parse(ta.value);
      if (!Array.isArray(v)) throw new Error("must be a JSON array");
      st[key] = v; msg.textContent = ""; touch(id);
    } catch (e) { msg.textContent = `Not saved until valid: ${e.message}`; }
  });
  return h("div", {}, h("p", { class: "muted" }, help), ta, msg, errorsFor(id, `${path}.${key}`).map((e) => h("div", { class: "error" }, `${e.path}: ${e.message}`)));
}

function tabContent(id, st, path) {
  switch (state.tab) {
    case "params": return kvTable(id, st, "query", `${path}.query`, "parameter");
    case "headers": return kvTable(id, st, "headers", `${path}.headers`, "header");
    case "body": return bodyEditor(id, st, path);
    case "auth": return authEditor(id, st);
    case "extract": return jsonArrayEditor(id, st, "extract", path, 'e.g. [{"var": "token", "json": "$.token"}, {"var": "id", "regex": "id=(\\d+)"}, {"var": "loc", "header": "Location"}]');
    default: return jsonArrayEditor(id, st, "assert", path, 'e.g. [{"status": 201}, {"json": "$.id", "exists": true}, {"body_contains": "ok"}, {"response_time_under_ms": 500}]');
  }
}

function bodyKind(st) {
  if ("json" in st) return "json";
  if ("body" in st) return "raw";
  if ("form" in st) return "form";
  if ("multipart" in st) return "multipart";
  return "none";
}

function bodyEditor(id, st, path) {
  const kind = bodyKind(st);
  const radios = h("div", { class: "row-flex" }, ["none", "json", "raw", "form", "multipart"].map((k) =>
    h("label", {}, h("input", { type: "radio", name: "body-kind", value: k, checked: k === kind, onchange: () => {
      delete st.json; delete st.body; delete st.content_type; delete st.form; delete st.multipart;
      if (k === "json") st.json = {};
      if (k === "multipart") st.multipart = {};
      if (k === "raw") st.body = "";
      if (k === "form") st.form = {};
      touch(id); render();
    } }), ` ${k}`)));
  let editor = h("p", { class: "muted" }, "This request has no body.");
  if (kind === "json") {
    const ta = h("textarea", { id: "body-json", "aria-label": "JSON body", "data-path": `${path}.json` });
    ta.value = JSON.stringify(st.json, null, 2);
    const msg = h("div", { class: "error" });
    ta.addEventListener("input", () => {
      try { st.json = JSON.parse(ta.value); msg.textContent = ""; touch(id); refreshChips(); } catch (e) { msg.textContent = `Invalid JSON: ${e.message}`; }
    });
    editor = h("div", {}, ta, msg);
  } else if (kind === "raw") {
    editor = h("div", {},
      h("label", {}, "Content type ", bound(id, st, "content_type", `${path}.content_type`, { placeholder: "text/plain; charset=utf-8" })),
      bound(id, st, "body", `${path}.body`, { tag: "textarea", "aria-label": "Raw body", after: refreshChips }));
  } else if (kind === "form") {
    editor = kvTable(id, st, "form", `${path}.form`, "field");
  } else if (kind === "multipart") {
    const ta = h("textarea", { id: "body-multipart", "aria-label": "Multipart body", "data-path": `${path}.multipart` });
    ta.value = JSON.stringify(st.multipart, null, 2);
    const msg = h("div", { class: "error" });
    ta.addEventListener("input", () => {
      try {
        const v = JSON.parse(ta.value);
        if (typeof v !== "object" || Array.isArray(v) || v === null) throw new Error("must be an object");
        st.multipart = v; msg.textContent = ""; touch(id); refreshChips();
      } catch (e) { msg.textContent = `Not saved until valid: ${e.message}`; }
    });
    editor = h("div", {}, h("p", { class: "muted" }, 'Fields: {"name": "value", "upload": {"file": "a.txt", "content": "text of the file", "content_type": "text/plain"}}'), ta, msg,
      errorsFor(id, `${path}.multipart`).map((e) => h("div", { class: "error" }, `${e.path}: ${e.message}`)));
  }
  return h("div", {}, radios, editor, errorsFor(id, path).filter((e) => e.path === path).map((e) => h("div", { class: "error" }, e.message)));
}

function authEditor(id, st) {
  const current = (st.headers || {}).Authorization || (st.headers || {}).authorization || "";
  const kind = current.startsWith("Bearer ") ? "bearer" : current.startsWith("Basic ") ? "basic" : "none";
  const setHeader = (v) => {
    st.headers = st.headers || {};
    delete st.headers.authorization;
    if (v) st.headers.Authorization = v; else delete st.headers.Authorization;
    if (!Object.keys(st.headers).length) delete st.headers;
    touch(id);
  };
  const token = h("input", { placeholder: "token or {{token}}", value: kind === "bearer" ? current.slice(7) : "", "aria-label": "Bearer token", oninput: (ev) => setHeader(ev.target.value ? `Bearer ${ev.target.value}` : "") });
  let user = "", pass = "";
  if (kind === "basic") { try { [user, pass] = atob(current.slice(6)).split(":"); } catch { /* not base64 */ } }
  const u = h("input", { placeholder: "user", value: user, "aria-label": "Basic user" });
  const pw = h("input", { placeholder: "password", type: "password", value: pass, "aria-label": "Basic password" });
  const basic = () => setHeader(u.value ? `Basic ${btoa(`${u.value}:${pw.value}`)}` : "");
  u.addEventListener("input", basic); pw.addEventListener("input", basic);
  const sel = h("select", { "aria-label": "Auth type", onchange: (ev) => { if (ev.target.value === "none") setHeader(""); state.authKind = ev.target.value; render(); } },
    ["none", "bearer", "basic"].map((k) => h("option", { value: k, selected: k === (state.authKind || kind) }, k)));
  const shown = state.authKind || kind;
  return h("div", {}, h("div", { class: "row-flex" }, "Type ", sel),
    shown === "bearer" ? h("div", {}, token) : null,
    shown === "basic" ? h("div", { class: "row-flex" }, u, pw) : null,
    h("p", { class: "muted" }, "Auth is stored as the request's Authorization header."));
}

// --- Send

async function send(sel) {
  const p = draft(sel.plan);
  const t = p.transactions[sel.t];
  const body = { plan_json: p, transaction: t.name, environment: state.activeEnv || undefined, variables: currentValues() };
  if (sel.kind === "step") body.step = sel.s; else body.run_setup = true;
  const btn = $("#send") || $("#send-transaction");
  if (btn) btn.disabled = true;
  try {
    const r = await api("POST", "/api/try", body);
    state.sendFailed = null;
    const extracted = Object.assign({}, ...r.steps.map((s) => s.extracted || {}));
    if (Object.keys(extracted).length) setCurrentValues({ ...currentValues(), ...extracted });
    state.response = r;
    state.history.unshift({ at: new Date(), sel: { ...sel }, r });
    state.history = state.history.slice(0, 10);
    state.errors.delete(sel.plan);
  } catch (e) {
    if (e.status === 422) { state.errors.set(sel.plan, e.data.errors || []); state.sendFailed = sel.plan; }
    state.response = { error: e.data && e.data.missing ? `Not sent: define ${e.data.missing.map((v) => `{{${v}}}`).join(", ")} in the environment` : e.message };
  }
  render();
}

function jsonTree(v, depth = 0) {
  if (v === null || typeof v !== "object") return h("span", {}, JSON.stringify(v));
  const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  const open = depth < 2;
  return h("details", { open }, h("summary", {}, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`),
    h("div", { style: "padding-left: 14px" }, entries.map(([k, x]) => h("div", {}, h("span", { class: "muted" }, `${k}: `), jsonTree(x, depth + 1)))));
}

function bodyView(text) {
  try { return jsonTree(JSON.parse(text)); } catch { return h("pre", {}, text); }
}

function responsePanel() {
  const r = state.response;
  const hist = state.history.length ? h("details", {}, h("summary", {}, `History (${state.history.length})`),
    h("ul", {}, state.history.map((x) => h("li", {}, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); state.response = x.r; render(); } },
      `${x.at.toLocaleTimeString()} ${x.r.steps ? x.r.steps.map((s) => `${s.method} ${s.url} → ${s.status || s.error}`).join(", ") : x.r.error}`))))) : null;
  const current = currentValuesPanel();
  if (!r) return h("div", { id: "response" }, current, h("p", { class: "muted" }, "Send the request to see the response (Ctrl+Enter)."), hist);
  if (r.error) return h("div", { id: "response" }, current, h("div", { class: "error", id: "send-error" }, r.error), hist);
  return h("div", { id: "response" }, current, h("h4", {}, r.passed ? "Passed" : "Failed"), r.steps.map((s) => h("div", { class: "panel" },
    h("div", { class: "row-flex" },
      h("strong", {}, s.step), h("span", { class: `method m-${s.method}` }, s.method), h("span", {}, s.url),
      h("span", { class: s.status && s.status < 400 && !s.error ? "status-ok" : "status-bad", id: "response-status" }, s.status ? `${s.status} ${s.reason}` : "no response"),
      h("span", {}, `${s.response_time_ms.toFixed(1)} ms`), h("span", {}, `${s.content_length} B`)),
    s.error ? h("div", { class: "error" }, s.error) : null,
    h("div", { id: "response-body" }, bodyView(s.response_body)),
    s.response_body_truncated ? h("p", { class: "muted" }, "(body cut)") : null,
    Object.keys(s.extracted || {}).length ? h("div", {}, h("strong", {}, "Extracted: "), Object.entries(s.extracted).map(([k, v]) => h("span", { class: "chip" }, `${k} = ${v}`))) : null,
    (s.assertions || []).length ? h("ul", {}, s.assertions.map((a) => h("li", { class: a.passed ? "status-ok" : "status-bad" }, a.passed ? `✓ ${a.assertion}` : `✗ ${a.message}`))) : null,
    h("details", {}, h("summary", {}, "Headers"), h("table", {}, s.response_headers.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))))),
    h("details", {}, h("summary", {}, "Request"), h("pre", {}, [`${s.method} ${s.url}`, ...s.request_headers.map(([k, v]) => `${k}: ${v}`), "", s.request_body || ""].join("\n"))))), hist);
}

// --- Import / export

function download(name, text) {
  const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })), download: name });
  document.body.append(a); a.click(); a.remove();
}

async function exportPostman(id) {
  if (id.startsWith("new-") || state.dirty.has(id)) { toast("Save the collection first: the export is of the saved version"); return; }
  try {
    const c = await api("GET", `/api/plans/${encodeURIComponent(id)}/export?format=postman`);
    download(`${c.info.name}.postman_collection.json`, JSON.stringify(c, null, 2));
  } catch (e) { toast(e.message); }
}

/** The format of a pasted document, guessed from its shape. */
function guessFormat(text) {
  const t = text.trim();
  if (/^curl\s/.test(t)) return "curl";
  let doc;
  try { doc = JSON.parse(t); } catch { return "curl"; }
  if (doc && Array.isArray(doc.transactions)) return "plan";
  if (doc && doc.log && Array.isArray(doc.log.entries)) return "har";
  if (doc && Array.isArray(doc.values) && !doc.item) return "postman-environment";
  return "postman";
}

function openImport() {
  const ta = h("textarea", { id: "import-text", placeholder: "Paste a Postman collection (v2.0 or v2.1) or environment, curl command lines, a HAR recording, or a plan JSON" });
  const envTa = h("textarea", { id: "import-environment", placeholder: "Optional: the collection's Postman environment (its variables count as defined)", rows: 3 });
  const format = h("select", { id: "import-format", "aria-label": "Format" }, ["auto", "postman", "postman-environment", "curl", "har", "plan"].map((f) => h("option", { value: f }, f)));
  const file = h("input", { type: "file", accept: ".json,.har,.txt,.sh", onchange: async (ev) => { ta.value = await ev.target.files[0].text(); } });
  const envFile = h("input", { type: "file", accept: ".json", "aria-label": "Environment file", onchange: async (ev) => { envTa.value = await ev.target.files[0].text(); } });
  const msg = h("div", { id: "import-message" });
  const dlg = h("dialog", { id: "import-dialog" }, h("h3", {}, "Import"),
    h("div", { class: "row-flex" }, "Format", format, file), ta,
    h("div", { class: "row-flex" }, "Environment", envFile), envTa, msg,
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "import-go", onclick: () => doImport(ta.value, envTa.value, format.value, msg, dlg) }, "Import"),
      h("button", { onclick: () => dlg.close() }, "Close")));
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  dlg.showModal();
}

function notesList(notes) {
  if (!notes.length) return h("p", { id: "import-notes", class: "muted" }, "Everything was carried over.");
  return h("div", { id: "import-notes" }, h("strong", {}, `Not carried over (${notes.length}):`),
    h("ul", {}, notes.map((n) => h("li", { class: "note" }, h("strong", {}, n.item), `: ${n.what}`))));
}

function environmentOffer(env, msg) {
  const vars = Object.keys(env.variables || {});
  if (!vars.length) return null;
  const name = h("input", { id: "import-env-name", value: env.name || "imported", "aria-label": "Environment name" });
  const go = h("button", { id: "import-env-save", onclick: async () => {
    const n = name.value.trim();
    if (!n) return;
    try {
      await api("PUT", `/api/environments/${encodeURIComponent(n)}`, { variables: env.variables });
      await loadEnvs();
      setActiveEnv(n);
      go.replaceWith(h("span", { class: "status-ok", id: "import-env-saved" }, `Saved and selected environment ${n}`));
    } catch (e) { msg.append(h("div", { class: "error" }, e.message)); }
  } }, "Save as environment and use it");
  return h("div", { class: "row-flex" }, `Environment with ${vars.length} variable(s): ${vars.join(", ")}`, name, go);
}

async function doImport(text, envText, fmt, msg, dlg) {
  const format = fmt === "auto" ? guessFormat(text) : fmt;
  let plan, out = { notes: [], environment: null, warnings: [] };
  try {
    if (format === "plan") {
      plan = JSON.parse(text);
    } else {
      const body = { format, content: text };
      if (envText.trim()) body.environment = envText;
      out = await api("POST", "/api/import", body);
      plan = out.plan;
    }
  } catch (e) {
    msg.replaceChildren(h("div", { class: "error" }, `Cannot import: ${e.message}`));
    return;
  }
  if (!plan) {
    // An environment alone.
    msg.replaceChildren(notesList(out.notes), environmentOffer(out.environment || {}, msg) || h("p", {}, "The environment has no variables."));
    return;
  }
  const target = state.sel && state.sel.plan;
  if (format === "curl" && target) {
    // curl commands go into the selected collection, one transaction each.
    const p = draft(target);
    for (const t of plan.transactions) { t.name = uniqueName(t.name, p.transactions.map((x) => x.name)); p.transactions.push(t); }
    touch(target);
    state.sel = { plan: target, kind: "step", t: p.transactions.length - 1, s: 0 };
  } else {
    const id = `new-${++state.newCount}`;
    state.drafts.set(id, plan);
    state.dirty.add(id);
    state.sel = { plan: id, kind: "plan" };
  }
  const undef = UNDEF(out.warnings);
  msg.replaceChildren(...[h("p", {}, `Imported ${plan.name}: ${plan.transactions.length} transaction(s). Save it to keep it.`),
    undef.length ? h("p", { class: "warnings" }, `Not defined by the plan or its environment: ${undef.join(", ")}`) : null,
    notesList(out.notes), out.environment ? environmentOffer(out.environment, msg) : null].filter(Boolean));
  render();
}

// ------------------------------------------------------------------------------------------
// Environments

async function loadEnvs() {
  state.envs = await api("GET", "/api/environments");
  const sel = $("#active-env");
  sel.replaceChildren(h("option", { value: "" }, "No environment"), ...state.envs.map((e) => h("option", { value: e.name, selected: e.name === state.activeEnv }, e.name)));
}

function renderEnvironments() {
  const name = h("input", { placeholder: "name", id: "env-name" });
  const list = state.envs.map((env) => {
    const holder = { variables: { ...env.variables } };
    const table = kvTable("env", holder, "variables", "variables", "variable");
    return h("div", { class: "panel" }, h("h3", {}, env.name, env.name === state.activeEnv ? " (active)" : ""), table, currentValuesPanel(env.name),
      h("div", { class: "row-flex" },
        h("button", { class: "primary", onclick: async () => { await api("PUT", `/api/environments/${encodeURIComponent(env.name)}`, { variables: holder.variables || {} }); await loadEnvs(); toast("Saved"); render(); } }, "Save"),
        h("button", { onclick: () => setActiveEnv(env.name) }, "Use"),
        h("a", { href: `/api/environments/${encodeURIComponent(env.name)}/export?format=postman`, download: `${env.name}.postman_environment.json` }, "Export Postman"),
        h("button", { class: "danger", onclick: async () => { await api("DELETE", `/api/environments/${encodeURIComponent(env.name)}`); await loadEnvs(); render(); } }, "Delete")));
  });
  app.replaceChildren(h("div", {}, h("div", { class: "row-flex" }, name,
    h("button", { class: "primary", onclick: async () => { if (!name.value.trim()) return; await api("PUT", `/api/environments/${encodeURIComponent(name.value.trim())}`, { variables: {} }); await loadEnvs(); render(); } }, "New environment")),
    list.length ? list : h("p", { class: "muted" }, "No environments yet: named variable sets used by Send and by runs.")));
}

function setActiveEnv(name) {
  state.activeEnv = name;
  localStorage.setItem("locust-http.env", name);
  $("#active-env").value = name;
  render();
}

// ------------------------------------------------------------------------------------------
// Fleet

function fmtBytes(b) { return b > 1 << 30 ? `${(b / (1 << 30)).toFixed(1)} GiB` : `${(b / (1 << 20)).toFixed(0)} MiB`; }

async function renderFleet() {
  const planSel = h("select", { id: "push-plan", "aria-label": "Plan to push" }, state.plans.map((p) => h("option", { value: p.id }, p.name)));
  const label = h("input", { id: "push-label", placeholder: "label selector, e.g. team=checkout" });
  const result = h("div", { id: "push-result" });
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
      result.replaceChildren(h("ul", {}, r.results.map((x) => h("li", { class: x.ok ? "status-ok" : "status-bad" }, `${x.address}: ${x.ok ? `ok${x.changed ? "" : " (unchanged)"}` : x.error}`))),
        r.results.length ? null : h("p", { class: "muted" }, "No worker matched."));
    } catch (e) { result.replaceChildren(h("div", { class: "error" }, e.message)); }
  }
  const info = state.info || {};
  const cmd = `./worker --etcd-addr ${(info.etcd || ["<etcd>"]).map((e) => e.replace(/^https?:\/\//, "")).join(",")} --host <this host's ip> --port 3000`;
  app.replaceChildren(h("div", {},
    h("div", { class: "panel" }, h("h3", {}, "Workers"),
      h("table", {}, h("thead", {}, h("tr", {}, ["", "Address", "Labels", "State", "Plan", "Users", "Req/s", "CPU", "Memory", "Error"].map((x) => h("th", {}, x)))), tbody)),
    h("div", { class: "panel" }, h("h3", {}, "Push a plan"),
      h("div", { class: "row-flex" }, planSel,
        h("button", { class: "primary", id: "push-all", onclick: () => push("all") }, "Push to all"),
        label, h("button", { id: "push-by-label", onclick: () => push("label") }, "Push to label"),
        h("button", { id: "push-chosen", onclick: () => push("chosen") }, "Push to checked")), result),
    h("div", { class: "panel" }, h("h3", {}, "Add a worker"),
      h("p", {}, h("a", { href: "/download/worker", id: "download-worker" }, "Download the worker binary"), ` (${info.platform || "this platform"}), then on the new host:`),
      h("code", { class: "cmd" }, cmd))));
  const refresh = async () => {
    if (currentPage() !== "fleet") return;
    try {
      const ws = await api("GET", "/api/workers");
      tbody.replaceChildren(...ws.map((w) => h("tr", {},
        h("td", {}, h("input", { type: "checkbox", checked: checked.has(w.address), onchange: (ev) => { if (ev.target.checked) checked.add(w.address); else checked.delete(w.address); } })),
        h("td", {}, w.address), h("td", {}, Object.entries(w.labels || {}).map(([k, v]) => `${k}=${v}`).join(", ")),
        h("td", {}, w.state), h("td", {}, w.plan), h("td", { class: "num" }, w.users), h("td", { class: "num" }, w.requests_per_second.toFixed(1)),
        h("td", { class: "num" }, `${w.cpu_percent.toFixed(0)}%`), h("td", { class: "num" }, fmtBytes(w.memory_bytes)),
        h("td", { class: "error" }, w.unreachable || w.last_error))));
    } catch (e) { tbody.replaceChildren(h("tr", {}, h("td", { class: "error" }, e.message))); }
    setTimeout(refresh, 1000);
  };
  refresh();
}

// ------------------------------------------------------------------------------------------
// Runs

function chart(title, samples, keys) {
  const w = 400, hgt = 140, pad = 22;
  const max = Math.max(1, ...samples.flatMap((s) => keys.map((k) => s[k] || 0)));
  const colors = ["#2f6fed", "#c8322f", "#17803d"];
  const x = (i) => pad + (i * (w - pad - 4)) / Math.max(1, samples.length - 1);
  const y = (v) => hgt - pad - ((v || 0) / max) * (hgt - pad - 8);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.innerHTML = `<text x="2" y="12" font-size="10" fill="#6b7080">${max.toFixed(max < 10 ? 1 : 0)}</text><line x1="${pad}" y1="${hgt - pad}" x2="${w}" y2="${hgt - pad}" stroke="#dcdde3"/>` +
    keys.map((k, i) => `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${samples.map((s, j) => `${x(j)},${y(s[k])}`).join(" ")}"/>`).join("");
  return h("div", { class: "chart" }, h("h4", {}, `${title} (${keys.join(", ")})`), svg);
}

function statsTable(rows, id) {
  const cols = [["method", "Type"], ["name", "Name"], ["num_requests", "# Requests"], ["num_failures", "# Fails"], ["median_response_time", "Median (ms)"],
    ["response_time_percentile_0.95", "95%ile (ms)"], ["response_time_percentile_0.99", "99%ile (ms)"], ["avg_response_time", "Average (ms)"],
    ["min_response_time", "Min (ms)"], ["max_response_time", "Max (ms)"], ["avg_content_length", "Avg size (B)"], ["current_rps", "Current RPS"], ["total_rps", "RPS"]];
  const present = cols.filter(([k]) => rows.some((r) => k in r));
  const fmt = (v) => (typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v ?? "");
  return h("table", { id }, h("thead", {}, h("tr", {}, present.map(([, t]) => h("th", {}, t)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, present.map(([k]) => h("td", { class: typeof r[k] === "number" ? "num" : "" }, fmt(r[k])))))));
}

function failuresTable(rows) {
  return h("table", { id: "failures" }, h("tr", {}, ["Method", "Name", "Error", "Occurrences"].map((x) => h("th", {}, x))),
    rows.map((f) => h("tr", {}, h("td", {}, f.method), h("td", {}, f.name), h("td", {}, f.error), h("td", { class: "num" }, f.occurrences))));
}

async function renderRuns() {
  const runs = await api("GET", "/api/runs");
  const plan = h("select", { id: "run-plan", "aria-label": "Plan" }, state.plans.map((p) => h("option", { value: p.id }, p.name)));
  const users = h("input", { id: "run-users", type: "number", value: 10, min: 1, "aria-label": "Users" });
  const rate = h("input", { id: "run-rate", type: "number", value: 10, min: 0.1, step: "any", "aria-label": "Spawn rate" });
  const time = h("input", { id: "run-time", value: "", placeholder: "run time, e.g. 60s (empty = until stopped)", "aria-label": "Run time" });
  const stages = h("div", { id: "stages" });
  const addStage = () => stages.append(h("div", { class: "row-flex" }, "then for", h("input", { class: "st-d", placeholder: "30s" }), "run", h("input", { class: "st-u", type: "number", placeholder: "users" }),
    "users at", h("input", { class: "st-r", type: "number", step: "any", placeholder: "spawn rate" }), "/s", h("button", { onclick: (ev) => ev.target.parentElement.remove() }, "×")));
  const msg = h("div", { id: "run-message" });
  const start = async () => {
    const body = { plan: plan.value, users: Number(users.value), spawn_rate: Number(rate.value), environment: state.activeEnv || undefined };
    if (time.value.trim()) body.run_time = time.value.trim();
    body.stages = [...stages.children].map((r) => ({ duration: $(".st-d", r).value, users: Number($(".st-u", r).value), spawn_rate: Number($(".st-r", r).value) }));
    try {
      const run = await api("POST", "/api/runs", body);
      state.run = { id: run.id, samples: [], timer: null };
      render();
    } catch (e) { msg.replaceChildren(h("div", { class: "error" }, e.message)); }
  };
  const live = h("div", { id: "live" });
  const masterUrl = state.info ? state.info.master_web : "#";
  app.replaceChildren(h("div", {},
    h("div", { class: "panel" }, h("h3", {}, "Start a run"),
      h("div", { class: "row-flex" }, "Plan", plan, "Users", users, "Spawn rate", rate, time),
      stages, h("div", { class: "row-flex" }, h("button", { onclick: addStage }, "Add stage"), h("button", { class: "primary", id: "start-run", onclick: start }, "Start")), msg),
    live,
    h("div", { class: "panel" }, h("h3", {}, "History"), h("p", {}, h("a", { href: masterUrl, target: "_blank", id: "master-link" }, "Open the Locust master's own UI")),
      h("table", { id: "history" }, h("tr", {}, ["Run", "Plan", "State", "Started", "Requests", "Failures", "RPS", ""].map((x) => h("th", {}, x))),
        runs.map((r) => {
          const agg = (r.stats || []).find((x) => x.name === "Aggregated") || {};
          const planName = (state.plans.find((p) => p.id === r.plan) || {}).name || r.plan;
          return h("tr", {}, h("td", {}, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); state.run = { id: r.id, samples: [], timer: null }; render(); } }, r.id)),
            h("td", {}, planName), h("td", {}, r.state), h("td", {}, new Date(r.started_at * 1000).toLocaleString()),
            h("td", { class: "num" }, agg.num_requests ?? ""), h("td", { class: "num" }, agg.num_failures ?? ""), h("td", { class: "num" }, agg.total_rps ? agg.total_rps.toFixed(1) : ""),
            h("td", {}, h("button", { onclick: () => download(`run-${r.id}.json`, JSON.stringify(r, null, 2)) }, "Report")));
        })))));
  if (state.run.id) followRun(live);
}

async function followRun(live) {
  const id = state.run.id;
  const tick = async () => {
    if (currentPage() !== "runs" || state.run.id !== id) return;
    let run, master = null;
    try { run = await api("GET", `/api/runs/${id}`); } catch (e) { live.replaceChildren(h("div", { class: "error" }, e.message)); return; }
    const going = run.state === "running" || run.state === "starting";
    if (going) {
      try { master = await api("GET", "/api/master/stats"); } catch { /* master busy */ }
      if (master) {
        const agg = (master.stats || []).find((r) => r.name === "Aggregated") || {};
        const p = master.current_response_time_percentiles || {};
        state.run.samples.push({ rps: master.current_rps || 0, fails: master.current_fail_per_sec || 0, p50: p["response_time_percentile_0.5"] || 0, p95: p["response_time_percentile_0.95"] || 0, users: master.user_count || 0, total: agg.num_requests || 0 });
        state.run.samples = state.run.samples.slice(-300);
      }
    }
    const rows = going && master ? master.stats : run.stats;
    const fails = going && master ? master.errors.map((e) => ({ method: e.method, name: e.name, error: e.error, occurrences: e.occurrences })) : run.failures;
    const s = state.run.samples;
    live.replaceChildren(h("div", { class: "panel" },
      h("div", { class: "row-flex" }, h("h3", {}, `Run ${id}: `, h("span", { id: "run-state" }, run.state)),
        going ? h("button", { class: "danger", id: "stop-run", onclick: () => api("POST", `/api/runs/${id}/stop`) }, "Stop") : null,
        run.error ? h("span", { class: "error" }, run.error) : null),
      s.length ? h("div", { class: "charts" }, chart("Requests/s", s, ["rps"]), chart("Failures/s", s, ["fails"]), chart("Response time ms", s, ["p50", "p95"]), chart("Users", s, ["users"])) : null,
      h("h4", {}, "Statistics"), statsTable(rows || [], "run-stats"),
      h("h4", {}, "Failures"), failuresTable(fails || [])));
    if (going) {
      state.run.going = true;
      setTimeout(tick, 2000);
    } else if (state.run.going) {
      // The run just ended: refresh the page so the history shows it.
      state.run.going = false;
      render();
    }
  };
  tick();
}

// ------------------------------------------------------------------------------------------
// Routing

function currentPage() {
  return (location.hash.replace(/^#\//, "") || "collections").split("/")[0];
}

async function render() {
  const page = currentPage();
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === page));
  try {
    if (page === "environments") renderEnvironments();
    else if (page === "fleet") await renderFleet();
    else if (page === "runs") await renderRuns();
    else renderCollections();
  } catch (e) {
    app.replaceChildren(h("div", { class: "error" }, e.message));
  }
}

window.addEventListener("hashchange", render);
window.addEventListener("beforeunload", (ev) => { if (state.dirty.size) { ev.preventDefault(); ev.returnValue = ""; } });
document.addEventListener("keydown", (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter" && state.sel && currentPage() === "collections") {
    ev.preventDefault();
    if (state.sel.kind === "step") send(state.sel);
    else if (state.sel.kind === "txn") send(state.sel);
  }
  if ((ev.ctrlKey || ev.metaKey) && ev.key === "s" && state.sel && currentPage() === "collections") {
    ev.preventDefault();
    savePlan(state.sel.plan);
  }
});
$("#active-env").addEventListener("change", (ev) => setActiveEnv(ev.target.value));

(async () => {
  try {
    state.info = await api("GET", "/api/info");
    await Promise.all([loadPlans(), loadEnvs()]);
  } catch (e) { toast(e.message); }
  render();
})();
