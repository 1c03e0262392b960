// The collection tree (ARIA tree): collections, their setup requests, transactions and
// requests. Keyboard: Up/Down/Home/End move, Enter or Space opens, Right/Left go to the first
// child / the parent, F2 renames, Delete deletes (after a confirmation).

import { h } from "../../lib/dom.js";
import { deletePlan, draft, newStep, planIds, savePlan, select, st, touch, uniqueName } from "./state.js";

function move(list, i, delta) {
  const j = i + delta;
  if (j < 0 || j >= list.length) return false;
  [list[i], list[j]] = [list[j], list[i]];
  return true;
}

function isSel(sel) {
  const s = st.sel;
  return s && s.plan === sel.plan && s.kind === sel.kind && s.t === sel.t && s.s === sel.s;
}

const keyOf = (sel) => `${sel.plan}|${sel.kind}|${sel.t ?? ""}|${sel.s ?? ""}`;

/** What a row's keys do, by row element. */
const rowKeys = new WeakMap();

function rowActions(...buttons) {
  // Reached with the mouse; the keyboard has F2 and Delete on the row itself.
  return h("span", { class: "actions" }, buttons.map(([label, title, fn]) =>
    h("button", { type: "button", tabindex: "-1", title, "aria-label": title, onclick: (ev) => { ev.stopPropagation(); fn(); } }, label)));
}

function row(sel, level, content, actions, { rename, remove, expanded } = {}) {
  const el = h("div", {
    class: `row${isSel(sel) ? " selected" : ""}`, role: "treeitem", tabindex: "-1", "aria-level": String(level),
    "aria-selected": String(!!isSel(sel)), "aria-expanded": expanded === undefined ? undefined : String(expanded), "data-key": keyOf(sel),
    onclick: () => select(sel),
  }, content, actions);
  rowKeys.set(el, { open: () => select(sel), rename, remove });
  return el;
}

function renamer(id, obj, what) {
  return () => {
    const name = prompt(`Rename ${what}`, obj.name);
    if (name) { obj.name = name; touch(id); st.rerender(); }
  };
}

function treeStep(id, sel, s, list, level) {
  const remove = () => {
    if (!confirm(`Delete request ${s.name}?`)) return;
    list.splice(sel.s, 1); touch(id); select({ plan: id, kind: sel.kind === "setup" ? "plan" : "txn", t: sel.t });
  };
  const rename = () => { const n = prompt("Rename request", s.name); if (n) { s.name = n; touch(id); st.rerender(); } };
  return h("li", { role: "none" }, row(sel, level, [h("span", { class: `method m-${s.method}` }, s.method), h("span", {}, s.name)],
    rowActions(
      ["✎", "Rename request", rename],
      ["copy", "Copy request", () => { const c = structuredClone(s); c.name = uniqueName(s.name, list.map((x) => x.name)); list.splice(sel.s + 1, 0, c); touch(id); st.rerender(); }],
      ["↑", "Move up", () => { if (move(list, sel.s, -1)) { touch(id); select({ ...sel, s: sel.s - 1 }); } }],
      ["↓", "Move down", () => { if (move(list, sel.s, 1)) { touch(id); select({ ...sel, s: sel.s + 1 }); } }],
      ["×", "Delete request", remove]),
    { rename, remove }));
}

function treePlan(id) {
  const p = draft(id);
  const sel = { plan: id, kind: "plan" };
  const head = row(sel, 1, h("span", { class: st.dirty.has(id) ? "dirty" : "", "data-plan-name": id }, p.name),
    rowActions(
      ["+", "Add transaction", () => {
        p.transactions.push({ name: uniqueName("transaction", p.transactions.map((t) => t.name)), weight: 1, steps: [newStep()] });
        touch(id);
        select({ plan: id, kind: "step", t: p.transactions.length - 1, s: 0 });
      }],
      ["✎", "Rename collection", renamer(id, p, "collection")],
      ["save", "Save", () => savePlan(id)],
      ["×", "Delete collection", () => deletePlan(id)]),
    { rename: renamer(id, p, "collection"), remove: () => deletePlan(id), expanded: true });
  const setup = (p.setup || []).map((s, i) => treeStep(id, { plan: id, kind: "setup", s: i }, s, p.setup, 3));
  const txns = p.transactions.map((t, ti) => {
    const tsel = { plan: id, kind: "txn", t: ti };
    const remove = () => {
      if (!confirm(`Delete transaction ${t.name}?`)) return;
      p.transactions.splice(ti, 1); touch(id); select({ plan: id, kind: "plan" });
    };
    return h("li", { role: "none" },
      row(tsel, 2, h("span", {}, "▾ ", t.name),
        rowActions(
          ["+", "Add request", () => { t.steps.push(newStep(uniqueName("new request", t.steps.map((x) => x.name)))); touch(id); select({ plan: id, kind: "step", t: ti, s: t.steps.length - 1 }); }],
          ["✎", "Rename transaction", renamer(id, t, "transaction")],
          ["copy", "Copy transaction", () => { const c = structuredClone(t); c.name = uniqueName(t.name, p.transactions.map((x) => x.name)); p.transactions.splice(ti + 1, 0, c); touch(id); st.rerender(); }],
          ["↑", "Move up", () => { if (move(p.transactions, ti, -1)) { touch(id); st.rerender(); } }],
          ["↓", "Move down", () => { if (move(p.transactions, ti, 1)) { touch(id); st.rerender(); } }],
          ["×", "Delete transaction", remove]),
        { rename: renamer(id, t, "transaction"), remove, expanded: true }),
      h("ul", { role: "group" }, t.steps.map((s, si) => treeStep(id, { plan: id, kind: "step", t: ti, s: si }, s, t.steps, 3))));
  });
  const setupSel = { plan: id, kind: "setup-label" };
  return h("li", { role: "none" }, head, h("ul", { role: "group" },
    setup.length ? h("li", { role: "none" }, row(setupSel, 2, h("span", { class: "muted" }, "setup (once per user)"), null, { expanded: true }), h("ul", { role: "group" }, setup)) : null,
    txns));
}

/** Moves focus between rows and acts on the focused one. */
function onKey(ev, tree) {
  const rows = [...tree.querySelectorAll('[role="treeitem"]')];
  const i = rows.indexOf(document.activeElement);
  if (i < 0) return;
  const focus = (j) => { const r = rows[Math.max(0, Math.min(rows.length - 1, j))]; rows.forEach((x) => x.setAttribute("tabindex", "-1")); r.setAttribute("tabindex", "0"); r.focus(); };
  const level = (r) => Number(r.getAttribute("aria-level"));
  const keys = rowKeys.get(rows[i]) || {};
  switch (ev.key) {
    case "ArrowDown": focus(i + 1); break;
    case "ArrowUp": focus(i - 1); break;
    case "Home": focus(0); break;
    case "End": focus(rows.length - 1); break;
    case "ArrowRight": if (rows[i + 1] && level(rows[i + 1]) > level(rows[i])) focus(i + 1); break;
    case "ArrowLeft": { let j = i - 1; while (j >= 0 && level(rows[j]) >= level(rows[i])) j--; if (j >= 0) focus(j); break; }
    case "Enter": case " ": if (keys.open) keys.open(); break;
    case "F2": if (keys.rename) keys.rename(); break;
    case "Delete": if (keys.remove) keys.remove(); break;
    default: return;
  }
  ev.preventDefault();
}

/** The tree; focus stays on the same row across re-renders. */
export function renderTree(old) {
  const focused = old && old.contains(document.activeElement) ? document.activeElement.closest('[role="treeitem"]') : null;
  const focusKey = focused ? focused.dataset.key : null;
  const tree = h("ul", { role: "tree", "aria-label": "Collections", id: "tree" }, planIds().map(treePlan));
  tree.addEventListener("keydown", (ev) => onKey(ev, tree));
  const rows = [...tree.querySelectorAll('[role="treeitem"]')];
  const target = rows.find((r) => r.dataset.key === focusKey) || rows.find((r) => r.classList.contains("selected")) || rows[0];
  if (target) target.setAttribute("tabindex", "0");
  if (focusKey && target) queueMicrotask(() => target.focus());
  return tree;
}
