// The collections page's own state: drafts of plans being edited (kept in localStorage until
// saved, so a reload loses nothing), their errors, invalid JSON editors, saves under way and
// conflicts with someone else's save (optimistic concurrency: If-Match the version edited).

import { api } from "../../lib/api.js";
import { storage, toast } from "../../lib/dom.js";
import { loadPlans, shared } from "../../lib/shared.js";

const DRAFT = "locust-http.draft.";

export const st = {
  drafts: new Map(),    // plan id -> plan document being edited
  base: new Map(),      // plan id -> the stored version the draft started from
  dirty: new Set(),     // plan ids with unsaved edits
  errors: new Map(),    // plan id -> [{path, message}] from the last save or Send
  warnings: new Map(),  // plan id -> [{variable, path, message}]: variables nothing defines yet
  invalid: new Map(),   // plan id -> Map(path -> {text, message}): editors holding invalid JSON
  saving: new Set(),    // plan ids whose save is under way
  conflicts: new Map(), // plan id -> {current: version, theirs: plan record | null, both: bool}
  sel: null,            // {plan, kind: "plan"|"txn"|"step"|"setup", t, s}
  tab: "params",
  response: null,
  sendFailed: null,
  newCount: 0,
  savedAs: new Map(),   // unsaved id ("new-1") -> the id the bridge gave it
  restored: false,
  rerender: () => {},   // set by the mounted page
};

export function draft(id) {
  if (!st.drafts.has(id)) {
    const stored = shared.plans.find((p) => p.id === id);
    st.drafts.set(id, structuredClone(stored ? stored.plan : { name: "New collection", transactions: [] }));
    if (stored) st.base.set(id, stored.version);
  }
  return st.drafts.get(id);
}

function persist(id) {
  if (!st.dirty.has(id)) { storage.remove(DRAFT + id); return; }
  storage.set(DRAFT + id, { doc: st.drafts.get(id), base: st.base.get(id) ?? null, at: Date.now() });
}

/** Marks a plan edited: shown dirty, and its draft kept in this browser. */
export function touch(id) {
  st.dirty.add(id);
  persist(id);
  document.querySelectorAll(`[data-plan-name="${id}"]`).forEach((el) => el.classList.add("dirty"));
}

/** Forgets the edits of a plan (after a save, a reload or a delete). */
export function discard(id) {
  st.drafts.delete(id);
  st.base.delete(id);
  st.dirty.delete(id);
  st.invalid.delete(id);
  st.conflicts.delete(id);
  storage.remove(DRAFT + id);
}

/** Brings back the drafts a previous page load left (once per page load). */
export function restoreDrafts() {
  if (st.restored) return;
  st.restored = true;
  for (const key of storage.keys(DRAFT)) {
    const saved = storage.get(key, null);
    let id = key.slice(DRAFT.length);
    if (!saved || !saved.doc || !Array.isArray(saved.doc.transactions)) { storage.remove(key); continue; }
    const n = /^new-(\d+)$/.exec(id);
    if (n) st.newCount = Math.max(st.newCount, Number(n[1]));
    else if (!shared.plans.some((p) => p.id === id)) {
      // Its plan was deleted elsewhere: keep the edits as a new collection.
      storage.remove(key);
      id = `new-${++st.newCount}`;
      saved.base = null;
    }
    st.drafts.set(id, saved.doc);
    if (saved.base !== null && saved.base !== undefined) st.base.set(id, saved.base);
    st.dirty.add(id);
    persist(id);
  }
}

export function planIds() {
  const ids = shared.plans.map((p) => p.id);
  for (const id of st.drafts.keys()) if (!ids.includes(id)) ids.push(id);
  return ids;
}

export function setInvalid(id, path, text, message) {
  if (!st.invalid.has(id)) st.invalid.set(id, new Map());
  st.invalid.get(id).set(path, { text, message });
}

export function clearInvalid(id, path) {
  const m = st.invalid.get(id);
  if (m) { m.delete(path); if (!m.size) st.invalid.delete(id); }
}

export const invalidAt = (id, path) => (st.invalid.get(id) || new Map()).get(path);

/** The distinct variable names of a list of warnings. */
export const UNDEF = (warnings) => [...new Set((warnings || []).map((w) => w.variable))];

/**
 * Saves a plan. Refused while an editor holds invalid JSON; a second call while one is under
 * way does nothing; a write over someone else's save becomes a conflict to resolve
 * (`overwrite` saves over the version the conflict reported).
 */
export async function savePlan(id, { overwrite = false } = {}) {
  if (st.saving.has(id)) return;
  const bad = st.invalid.get(id);
  if (bad && bad.size) {
    st.errors.set(id, [...bad.entries()].map(([path, v]) => ({ path, message: `invalid JSON, fix it before saving: ${v.message}` })));
    st.sendFailed = null;
    toast("Not saved: an editor holds invalid JSON");
    st.rerender();
    return;
  }
  const doc = draft(id);
  const isNew = id.startsWith("new-");
  const conflict = st.conflicts.get(id);
  const ifMatch = isNew ? undefined : overwrite && conflict ? conflict.current : st.base.get(id);
  // Variables the active environment defines count as defined; others come back as warnings.
  const q = shared.activeEnv ? `?environment=${encodeURIComponent(shared.activeEnv)}` : "";
  st.saving.add(id);
  st.rerender();
  try {
    const saved = isNew ? await api("POST", `/api/plans${q}`, doc) : await api("PUT", `/api/plans/${id}${q}`, doc, { ifMatch });
    st.errors.delete(id);
    if ((saved.warnings || []).length) st.warnings.set(saved.id, saved.warnings); else st.warnings.delete(saved.id);
    discard(id);
    if (isNew) {
      st.savedAs.set(id, saved.id);
      if (st.sel && st.sel.plan === id) st.sel.plan = saved.id;
    }
    await loadPlans();
    const w = UNDEF(saved.warnings);
    toast(`Saved ${saved.name} (version ${saved.version})${w.length ? `; not defined yet: ${w.join(", ")}` : ""}`);
  } catch (e) {
    st.sendFailed = null;
    if (e.status === 409) {
      let theirs = null;
      try { theirs = await api("GET", `/api/plans/${id}`); } catch { /* shown without it */ }
      st.conflicts.set(id, { current: e.data ? e.data.current_version : null, theirs, both: false });
      toast("Not saved: someone else saved this collection meanwhile");
    } else if (e.status === 422) {
      st.errors.set(id, e.data.errors || []);
      toast("Not saved: the plan has errors");
    } else {
      st.errors.set(id, [{ path: "", message: e.message }]);
    }
  } finally {
    st.saving.delete(id);
  }
  st.rerender();
}

/** Resolves a conflict by taking the stored version (my edits are dropped). */
export async function reloadPlan(id) {
  discard(id);
  st.errors.delete(id);
  await loadPlans();
  st.rerender();
}

export async function deletePlan(id) {
  let live = [];
  if (!id.startsWith("new-")) {
    try { live = (await api("GET", "/api/runs")).filter((r) => r.plan === id && (r.state === "running" || r.state === "starting")); } catch { /* asked as usual */ }
  }
  const what = `Delete collection ${draft(id).name}?`;
  if (!confirm(live.length ? `${what} It is running now (run ${live.map((r) => r.id).join(", ")}); the run goes on, its history keeps the plan's id.` : what)) return;
  try {
    if (!id.startsWith("new-")) await api("DELETE", `/api/plans/${id}`);
    discard(id);
    st.sel = null;
    await loadPlans();
  } catch (e) { toast(e.message); }
  st.rerender();
}

export function stepAt(sel) {
  const p = draft(sel.plan);
  if (sel.kind === "setup") return (p.setup || [])[sel.s];
  if (sel.kind === "step") return (p.transactions[sel.t] || { steps: [] }).steps[sel.s];
  return null;
}

export function stepPath(sel) {
  return sel.kind === "setup" ? `setup[${sel.s}]` : `transactions[${sel.t}].steps[${sel.s}]`;
}

export function errorsFor(planId, prefix) {
  return (st.errors.get(planId) || []).filter((e) => e.path === prefix || e.path.startsWith(prefix + ".") || e.path.startsWith(prefix + "["));
}

export const newStep = (name = "new request") => ({ name, method: "GET", url: "/" });

export function uniqueName(base, taken) {
  let name = base;
  for (let i = 2; taken.includes(name); i++) name = `${base} ${i}`;
  return name;
}

export function select(sel) {
  // A row rendered before its collection was first saved still carries the temporary id.
  st.sel = { ...sel, plan: st.savedAs.get(sel.plan) || sel.plan };
  st.response = null;
  st.rerender();
}
