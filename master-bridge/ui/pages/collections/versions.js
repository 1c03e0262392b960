// A collection's versions: every save is kept by the bridge. List them, view one, see what
// changed between it and the current version (a line diff of the plan JSON, by jsdiff, pinned
// in vendor/), and restore one: its plan becomes the draft, and Save makes it the newest
// version (the save is If-Match'ed like any other, so nobody's later save is overwritten).

import { api } from "../../lib/api.js";
import { h, toast } from "../../lib/dom.js";
import "../../vendor/diff.min.js";
import { st, touch } from "./state.js";

const Diff = globalThis.Diff;
const pretty = (plan) => `${JSON.stringify(plan, null, 2)}\n`;

/** The lines of a diff from `before` to `after`, marked added and removed. */
export function diffView(before, after) {
  const parts = Diff.diffLines(before, after);
  if (parts.every((p) => !p.added && !p.removed)) return h("p", { class: "muted", id: "version-diff" }, "No difference.");
  return h("pre", { class: "code diff", id: "version-diff", tabindex: "0", "aria-label": "Differences" }, parts.flatMap((p) => {
    const sign = p.added ? "+" : p.removed ? "-" : " ";
    const lines = p.value.replace(/\n$/, "").split("\n");
    // Unchanged runs are cut to their edges.
    const shown = !p.added && !p.removed && lines.length > 6 ? [...lines.slice(0, 2), "…", ...lines.slice(-2)] : lines;
    return shown.map((l) => h("span", { class: p.added ? "add" : p.removed ? "del" : "" }, `${sign} ${l}\n`));
  }));
}

/** The Versions section of a saved collection's settings. */
export function versionsPanel(id) {
  const box = h("div", { id: "versions" });
  const out = h("div", { id: "version-view" });
  const load = async () => {
    let numbers, current;
    try {
      numbers = await api("GET", `/api/plans/${id}/versions`);
      current = await api("GET", `/api/plans/${id}`);
    } catch (e) { box.replaceChildren(h("div", { class: "error" }, e.message)); return; }
    const recent = numbers.slice(-20).reverse();
    const records = await Promise.all(recent.map((n) => api("GET", `/api/plans/${id}/versions/${n}`).catch(() => null)));
    box.replaceChildren(h("table", { id: "versions-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "num" }, "Version"), h("th", {}, "Saved"), h("th", {}, h("span", { class: "sr-only" }, "Actions")))),
      h("tbody", {}, records.filter(Boolean).map((v) => h("tr", { "data-version": v.version },
        h("td", { class: "num" }, v.version === current.version ? `${v.version} (current)` : v.version),
        h("td", {}, new Date((v.updated_at ?? v.created_at) * 1000).toLocaleString()),
        h("td", { class: "row-flex" },
          h("button", { class: "version-view", "aria-label": `View version ${v.version}`, onclick: () => out.replaceChildren(h("h4", {}, `Version ${v.version}`), h("pre", { class: "code", tabindex: "0", "aria-label": `Version ${v.version}` }, pretty(v.plan))) }, "View"),
          v.version === current.version ? null : h("button", { class: "version-diff", "aria-label": `Compare version ${v.version} with the current one`,
            onclick: () => out.replaceChildren(h("h4", {}, `Version ${v.version} → current (${current.version})`), diffView(pretty(v.plan), pretty(current.plan))) }, "Compare with current"),
          v.version === current.version ? null : h("button", { class: "version-restore", "aria-label": `Restore version ${v.version}`,
            onclick: () => {
              if (!confirm(`Load version ${v.version} into the editor? Save then makes it the newest version.`)) return;
              st.drafts.set(id, structuredClone(v.plan));
              st.base.set(id, current.version);
              touch(id);
              st.rerender();
              toast(`Version ${v.version} loaded: Save to make it current`);
            } }, "Restore")))))));
  };
  return h("div", {}, h("button", { id: "show-versions", onclick: load }, "Show versions"), box, out);
}
