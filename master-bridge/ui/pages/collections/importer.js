// The Import dialog: Postman collections and environments, curl, HAR (converted by the
// bridge's POST /api/import) or a plan JSON, into a new collection or the selected one.

import { api } from "../../lib/api.js";
import { h } from "../../lib/dom.js";
import { loadEnvs, setActiveEnv } from "../../lib/shared.js";
import { UNDEF, draft, st, touch, uniqueName } from "./state.js";

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

/** Opens the dialog; `scope` closes it when the page is left. */
export function openImport(scope) {
  const ta = h("textarea", { id: "import-text", "aria-label": "Document to import", placeholder: "Paste a Postman collection (v2.0 or v2.1) or environment, curl command lines, a HAR recording, or a plan JSON" });
  const envTa = h("textarea", { id: "import-environment", "aria-label": "Postman environment (optional)", placeholder: "Optional: the collection's Postman environment (its variables count as defined)", rows: 3 });
  const format = h("select", { id: "import-format", "aria-label": "Format" }, ["auto", "postman", "postman-environment", "curl", "har", "plan"].map((f) => h("option", { value: f }, f)));
  const file = h("input", { type: "file", "aria-label": "File to import", accept: ".json,.har,.txt,.sh", onchange: async (ev) => { ta.value = await ev.target.files[0].text(); } });
  const envFile = h("input", { type: "file", accept: ".json", "aria-label": "Environment file", onchange: async (ev) => { envTa.value = await ev.target.files[0].text(); } });
  const msg = h("div", { id: "import-message" });
  const dlg = h("dialog", { id: "import-dialog", "aria-labelledby": "import-title" }, h("h2", { id: "import-title" }, "Import"),
    h("div", { class: "row-flex" }, "Format", format, file), ta,
    h("div", { class: "row-flex" }, "Environment", envFile), envTa, msg,
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "import-go", onclick: () => doImport(ta.value, envTa.value, format.value, msg) }, "Import"),
      h("button", { onclick: () => dlg.close() }, "Close")));
  document.body.append(dlg);
  dlg.addEventListener("close", () => dlg.remove());
  scope.onDispose(() => { if (dlg.open) dlg.close(); dlg.remove(); });
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

async function doImport(text, envText, fmt, msg) {
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
  const target = st.sel && st.sel.plan;
  if (format === "curl" && target) {
    // curl commands go into the selected collection, one transaction each.
    const p = draft(target);
    for (const t of plan.transactions) { t.name = uniqueName(t.name, p.transactions.map((x) => x.name)); p.transactions.push(t); }
    touch(target);
    st.sel = { plan: target, kind: "step", t: p.transactions.length - 1, s: 0 };
  } else {
    const id = `new-${++st.newCount}`;
    st.drafts.set(id, plan);
    touch(id);
    st.sel = { plan: id, kind: "plan" };
  }
  const undef = UNDEF(out.warnings);
  msg.replaceChildren(...[h("p", {}, `Imported ${plan.name}: ${plan.transactions.length} transaction(s). Save it to keep it.`),
    undef.length ? h("p", { class: "warnings" }, `Not defined by the plan or its environment: ${undef.join(", ")}`) : null,
    notesList(out.notes), out.environment ? environmentOffer(out.environment, msg) : null].filter(Boolean));
  st.rerender();
}
