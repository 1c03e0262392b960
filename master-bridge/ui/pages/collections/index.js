// The Collections page: the tree of collections on the left, the editor of the selected item
// on the right. Keyboard: Ctrl+Enter sends, Ctrl+S saves.

import { h } from "../../lib/dom.js";
import { subscribe } from "../../lib/shared.js";
import { editorFor } from "./editor.js";
import { openImport } from "./importer.js";
import { send } from "./send.js";
import { draft, planIds, restoreDrafts, savePlan, st, touch, uniqueName } from "./state.js";
import { renderTree } from "./tree.js";

let root = null;
let scope = null;

function newCollection() {
  const id = `new-${++st.newCount}`;
  st.drafts.set(id, { name: uniqueName("New collection", planIds().map((p) => draft(p).name)), transactions: [] });
  touch(id);
  st.sel = { plan: id, kind: "plan" };
  render();
}

function render() {
  if (!root) return;
  const oldTree = root.querySelector("#tree");
  // Keep the focused editor field focused (by its path) across a re-render.
  const active = document.activeElement;
  const refocus = active && root.contains(active) && !oldTree?.contains(active) ? (active.id ? `#${CSS.escape(active.id)}` : active.dataset.path ? `[data-path="${CSS.escape(active.dataset.path)}"]` : null) : null;
  const side = h("div", { class: "panel tree" },
    h("div", { class: "row-flex" },
      h("button", { class: "primary", id: "new-collection", onclick: newCollection }, "New collection"),
      h("button", { id: "import", onclick: () => openImport(scope) }, "Import")),
    renderTree(oldTree));
  const editor = h("section", { class: "panel", id: "editor", "aria-label": "Editor" }, editorFor(st.sel));
  root.replaceChildren(h("div", { class: "layout" }, side, editor));
  if (refocus) { const el = root.querySelector(refocus); if (el) el.focus(); }
}

export function mount(el, s) {
  root = el;
  scope = s;
  st.rerender = render;
  restoreDrafts();
  subscribe(scope, () => render());
  scope.listen(document, "keydown", (ev) => {
    if (!st.sel) return;
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "Enter") {
      ev.preventDefault();
      if (st.sel.kind === "step" || st.sel.kind === "txn") send(st.sel);
    }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === "s") {
      ev.preventDefault();
      savePlan(st.sel.plan);
    }
  });
  render();
}

export function unmount() {
  st.rerender = () => {};
  root = null;
  scope = null;
}
