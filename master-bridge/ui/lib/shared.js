// What every page may read, on purpose: the stored plans and environments, the active
// environment and the bridge's info. Pages subscribe to changes through their scope.

import { api } from "./api.js";
import { storage } from "./dom.js";

export const shared = {
  plans: [],    // stored plans: {id, name, version, plan}
  envs: [],     // environments: {id, name, version, variables}
  activeEnv: storage.get("locust-http.env", "") || "",
  info: null,
};

const subscribers = new Set();

/** Calls `fn(what)` on every change ("plans", "envs", "activeEnv") until the scope ends. */
export function subscribe(scope, fn) {
  subscribers.add(fn);
  scope.onDispose(() => subscribers.delete(fn));
}

function changed(what) { for (const fn of [...subscribers]) fn(what); }

export async function loadPlans() {
  shared.plans = await api("GET", "/api/plans");
  changed("plans");
}

export async function loadEnvs() {
  shared.envs = await api("GET", "/api/environments");
  changed("envs");
}

export function setActiveEnv(name) {
  shared.activeEnv = name;
  storage.set("locust-http.env", name);
  changed("activeEnv");
}

/** The active environment's variables as a Map. */
export function envVars() {
  const env = shared.envs.find((e) => e.name === shared.activeEnv);
  return new Map(Object.entries(env ? env.variables : {}));
}

// Current values: what Sends extracted, kept for the next Send in the same environment (as
// Postman's "current value"). Stored in this browser, one set per environment name ("" = no
// environment); never sent to the bridge's store, only along with a Send.

const CURRENT_KEY = (env) => `locust-http.current.${env}`;

export function currentValues(env = shared.activeEnv) {
  const v = storage.get(CURRENT_KEY(env), {});
  return v && typeof v === "object" ? v : {};
}

export function setCurrentValues(values, env = shared.activeEnv) {
  if (Object.keys(values).length) storage.set(CURRENT_KEY(env), values);
  else storage.remove(CURRENT_KEY(env));
}
