// Send: one request or a whole transaction through a worker (POST /api/try), the response
// panel, and the Send history (the last 10, kept in this browser across reloads).

import { api } from "../../lib/api.js";
import { $, h, storage } from "../../lib/dom.js";
import { currentValues, setCurrentValues, shared } from "../../lib/shared.js";
import { bodyView, currentValuesPanel } from "../../lib/widgets.js";
import { draft, st } from "./state.js";

const HISTORY = "locust-http.history";
const KEEP = 10;
const BODY_KEPT = 16 * 1024;

/** The Send history, newest first: [{at (ms), sel, r}]. */
export function history() {
  const v = storage.get(HISTORY, []);
  return Array.isArray(v) ? v : [];
}

function remember(sel, r) {
  // Bodies are cut so the history stays small; the full one is in the response shown.
  const slim = structuredClone(r);
  for (const s of slim.steps || []) {
    if (typeof s.response_body === "string" && s.response_body.length > BODY_KEPT) {
      s.response_body = s.response_body.slice(0, BODY_KEPT);
      s.response_body_truncated = true;
    }
  }
  const list = [{ at: Date.now(), sel: { ...sel }, r: slim }, ...history()].slice(0, KEEP);
  // Full storage: keep fewer rather than none.
  for (let n = list.length; n > 0 && !storage.set(HISTORY, list.slice(0, n)); n--) { /* shrink */ }
}

export async function send(sel) {
  const p = draft(sel.plan);
  const t = p.transactions[sel.t];
  if (!t) return;
  const body = { plan_json: p, transaction: t.name, environment: shared.activeEnv || undefined, variables: currentValues() };
  if (sel.kind === "step") body.step = sel.s; else body.run_setup = true;
  const btn = $("#send") || $("#send-transaction");
  if (btn) btn.disabled = true;
  try {
    const r = await api("POST", "/api/try", body);
    st.sendFailed = null;
    const extracted = Object.assign({}, ...r.steps.map((s) => s.extracted || {}));
    if (Object.keys(extracted).length) setCurrentValues({ ...currentValues(), ...extracted });
    st.response = r;
    remember(sel, r);
    st.errors.delete(sel.plan);
  } catch (e) {
    if (e.status === 422) { st.errors.set(sel.plan, e.data.errors || []); st.sendFailed = sel.plan; }
    st.response = { error: e.data && e.data.missing ? `Not sent: define ${e.data.missing.map((v) => `{{${v}}}`).join(", ")} in the environment` : e.message };
  }
  st.rerender();
}

export function responsePanel() {
  const r = st.response;
  const past = history();
  const hist = past.length ? h("details", { id: "send-history" }, h("summary", {}, `History (${past.length})`),
    h("ul", {}, past.map((x) => h("li", {}, h("a", { href: "#", onclick: (ev) => { ev.preventDefault(); st.response = x.r; st.rerender(); } },
      `${new Date(x.at).toLocaleTimeString()} ${x.r.steps ? x.r.steps.map((s) => `${s.method} ${s.url} → ${s.status || s.error}`).join(", ") : x.r.error}`))))) : null;
  const current = currentValuesPanel(shared.activeEnv, () => st.rerender());
  if (!r) return h("div", { id: "response" }, current, h("p", { class: "muted" }, "Send the request to see the response (Ctrl+Enter)."), hist);
  if (r.error) return h("div", { id: "response" }, current, h("div", { class: "error", id: "send-error" }, r.error), hist);
  return h("div", { id: "response" }, current, h("h4", {}, r.passed ? "Passed" : "Failed"), r.steps.map((s) => h("div", { class: "panel" },
    h("div", { class: "row-flex" },
      h("strong", {}, s.step), h("span", { class: `method m-${s.method}` }, s.method), h("span", { class: "break" }, s.url),
      h("span", { class: s.status && s.status < 400 && !s.error ? "status-ok" : "status-bad", id: "response-status" }, s.status ? `${s.status} ${s.reason}` : "no response"),
      h("span", {}, `${s.response_time_ms.toFixed(1)} ms`), h("span", {}, `${s.content_length} B`)),
    s.error ? h("div", { class: "error" }, s.error) : null,
    h("div", { id: "response-body" }, bodyView(s.response_body)),
    s.response_body_truncated ? h("p", { class: "muted" }, "(body cut)") : null,
    Object.keys(s.extracted || {}).length ? h("div", {}, h("strong", {}, "Extracted: "), Object.entries(s.extracted).map(([k, v]) => h("span", { class: "chip" }, `${k} = ${v}`))) : null,
    (s.assertions || []).length ? h("ul", {}, s.assertions.map((a) => h("li", { class: a.passed ? "status-ok" : "status-bad" }, a.passed ? `✓ ${a.assertion}` : `✗ ${a.message}`))) : null,
    h("details", {}, h("summary", {}, "Headers"), h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Response headers" }, h("table", {}, h("tbody", {}, (s.response_headers || []).map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { class: "break" }, v))))))),
    h("details", {}, h("summary", {}, "Request"), h("pre", {}, [`${s.method} ${s.url}`, ...(s.request_headers || []).map(([k, v]) => `${k}: ${v}`), "", s.request_body || ""].join("\n"))))), hist);
}
