// The bridge's REST API: one call shape for every page. Errors carry the status and JSON body.

/**
 * Calls the API. `opts.ifMatch` (a version) makes a write conditional: the bridge answers 409
 * with `current_version` if someone saved since.
 */
export async function api(method, path, body, opts = {}) {
  const init = { method, headers: {} };
  // Every request that changes state says it is JSON (the bridge refuses other cross-site forms).
  if (method !== "GET" && method !== "HEAD") init.headers["content-type"] = "application/json";
  if (opts.ifMatch !== undefined && opts.ifMatch !== null) init.headers["if-match"] = `"${opts.ifMatch}"`;
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
