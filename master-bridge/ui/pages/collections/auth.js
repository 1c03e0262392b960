// The auth editor of a request, a transaction or the collection: the plan's structured `auth`
// (inherit, none, basic, bearer, API key), kept with its {{variables}} and rendered by the
// worker at send time. Inheritance goes request -> transaction -> collection, as in Postman.

import { h } from "../../lib/dom.js";
import { errorsFor, st, touch } from "./state.js";

const TYPES = {
  inherit: "Inherit",
  none: "No auth",
  basic: "Basic auth",
  bearer: "Bearer token",
  apikey: "API key",
};

const FIELDS = {
  basic: [["username", "Username", "ann or {{user}}"], ["password", "Password", "{{password}}"]],
  bearer: [["token", "Token", "{{token}}"]],
  apikey: [["key", "Key name", "X-Api-Key"], ["value", "Value", "{{api_key}}"]],
};

/** What an auth says, in a few words (for the "inherits ..." line). */
export function describeAuth(auth) {
  if (!auth || auth.type === "inherit" || auth.type === "none") return "no auth";
  if (auth.type === "apikey") return `API key ${auth.key || "?"} in the ${auth.in === "query" ? "query" : "headers"}`;
  return TYPES[auth.type].toLowerCase();
}

/**
 * The editor of `obj.auth`. `level` names the level ("request", "transaction", "collection");
 * `inherited` is the auth that applies when this level inherits (undefined at the top).
 */
export function authEditor(planId, obj, path, level, inherited) {
  const at = `${path ? `${path}.` : ""}auth`;
  const auth = obj.auth || { type: "inherit" };
  const types = level === "collection" ? ["none", "basic", "bearer", "apikey"] : Object.keys(TYPES);
  const shown = level === "collection" && auth.type === "inherit" ? "none" : auth.type;
  const select = h("select", {
    id: "auth-type", "aria-label": `Auth type (${level})`, "data-path": `${at}.type`,
    onchange: (ev) => {
      const type = ev.target.value;
      if (type === "inherit" || (type === "none" && level === "collection")) delete obj.auth;
      else if (type === "apikey") obj.auth = { type, key: "", value: "", in: "header" };
      else if (type === "basic") obj.auth = { type, username: "", password: "" };
      else if (type === "bearer") obj.auth = { type, token: "" };
      else obj.auth = { type };
      touch(planId);
      st.rerender();
    },
  }, types.map((t) => h("option", { value: t, selected: t === shown }, TYPES[t])));
  const field = ([key, label, placeholder]) => {
    const fieldPath = `${at}.${key}`;
    const errors = errorsFor(planId, fieldPath);
    return h("label", { class: "auth-field" }, `${label} `,
      h("input", {
        id: `auth-${key}`, value: auth[key] ?? "", placeholder, "data-path": fieldPath,
        type: key === "password" ? "password" : "text", autocomplete: "off",
        class: errors.length ? "field-error" : undefined,
        oninput: (ev) => { obj.auth[key] = ev.target.value; touch(planId); },
      }),
      errors.map((e) => h("div", { class: "error" }, e.message)));
  };
  const place = auth.type === "apikey" ? h("label", { class: "auth-field" }, "Add to ",
    h("select", { id: "auth-in", "aria-label": "API key goes in", onchange: (ev) => { obj.auth.in = ev.target.value; touch(planId); } },
      ["header", "query"].map((p) => h("option", { value: p, selected: (auth.in || "header") === p }, p === "header" ? "Headers" : "Query params")))) : null;
  const note = auth.type === "inherit"
    ? `This ${level} uses the auth of its ${level === "request" ? "transaction or collection" : "collection"}: ${describeAuth(inherited)}.`
    : auth.type === "none" ? `This ${level} sends no auth.`
      : "{{variables}} are filled in at send time from the environment, the plan and extractors. A header the request sets itself wins.";
  return h("div", { class: "auth-editor" },
    h("div", { class: "row-flex" }, h("label", {}, "Type ", select)),
    h("div", { class: "row-flex" }, (FIELDS[auth.type] || []).map(field), place),
    h("p", { class: "muted", id: "auth-note" }, note),
    errorsFor(planId, at).filter((e) => e.path === at || e.path === `${at}.type`).map((e) => h("div", { class: "error" }, e.message)));
}
