// The Environments page: named variable sets. Each save sends the version it edited
// (If-Match); someone else's save in between shows a conflict to resolve.

import { api } from "../lib/api.js";
import { h, toast } from "../lib/dom.js";
import { loadEnvs, setActiveEnv, shared, subscribe } from "../lib/shared.js";
import { currentValuesPanel, kvTable } from "../lib/widgets.js";

let root = null;
const edits = new Map(); // environment name -> {version, variables} being edited on this page
const conflicts = new Map(); // environment name -> current version

async function save(env, holder, overwrite = false) {
  const version = overwrite ? conflicts.get(env.name) : holder.version;
  try {
    await api("PUT", `/api/environments/${encodeURIComponent(env.name)}`, { variables: holder.variables || {} }, { ifMatch: version });
    edits.delete(env.name);
    conflicts.delete(env.name);
    await loadEnvs();
    toast(`Saved ${env.name}`);
  } catch (e) {
    if (e.status === 409) { conflicts.set(env.name, e.data ? e.data.current_version : null); render(); } else toast(e.message);
  }
}

function envPanel(env) {
  if (!edits.has(env.name)) edits.set(env.name, { version: env.version, variables: { ...env.variables }, dirty: false });
  const holder = edits.get(env.name);
  const heading = h("h2", { class: holder.dirty ? "dirty" : "" }, env.name, env.name === shared.activeEnv ? " (active)" : "");
  const table = kvTable(holder, "variables", "variables", `${env.name} variable`, () => { holder.dirty = true; heading.classList.add("dirty"); });
  const conflict = conflicts.has(env.name) ? h("div", { class: "conflict", role: "alert" },
    `Conflict: someone else saved ${env.name} (now version ${conflicts.get(env.name) ?? "?"}). `,
    h("button", { onclick: async () => { edits.delete(env.name); conflicts.delete(env.name); await loadEnvs(); } }, "Reload theirs"),
    h("button", { class: "danger", onclick: () => save(env, holder, true) }, "Overwrite with mine")) : null;
  return h("section", { class: "panel", "aria-label": `Environment ${env.name}` }, heading, conflict, table, currentValuesPanel(env.name, render),
    h("div", { class: "row-flex" },
      h("button", { class: "primary", onclick: () => save(env, holder) }, "Save"),
      h("button", { onclick: () => setActiveEnv(env.name) }, "Use"),
      h("a", { href: `/api/environments/${encodeURIComponent(env.name)}/export?format=postman`, download: `${env.name}.postman_environment.json` }, "Export Postman"),
      h("button", { class: "danger", onclick: async () => {
        if (!confirm(`Delete environment ${env.name}?`)) return;
        try { await api("DELETE", `/api/environments/${encodeURIComponent(env.name)}`); edits.delete(env.name); await loadEnvs(); } catch (e) { toast(e.message); }
      } }, "Delete")));
}

function render() {
  if (!root) return;
  const name = h("input", { placeholder: "name", id: "env-name", "aria-label": "New environment name" });
  const create = async () => {
    const n = name.value.trim();
    if (!n) return;
    try { await api("PUT", `/api/environments/${encodeURIComponent(n)}`, { variables: {} }); await loadEnvs(); } catch (e) { toast(e.message); }
  };
  root.replaceChildren(h("div", {}, h("h1", { class: "sr-only" }, "Environments"), h("div", { class: "row-flex" }, name,
    h("button", { class: "primary", onclick: create }, "New environment")),
    shared.envs.length ? shared.envs.map(envPanel) : h("p", { class: "muted" }, "No environments yet: named variable sets used by Send and by runs.")));
}

export function mount(el, scope) {
  root = el;
  subscribe(scope, render);
  render();
}

export function unmount() {
  root = null;
  edits.clear();
  conflicts.clear();
}
