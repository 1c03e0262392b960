// Conversions between plans and Postman Collection v2.1, and from a curl command line.
// Pure functions (no DOM), so they can be tested with node.

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"];

function authHeader(auth, notes, where) {
  if (!auth || auth.type === "noauth") return null;
  const get = (key) => {
    const list = auth[auth.type] || [];
    const item = Array.isArray(list) ? list.find((x) => x.key === key) : null;
    return item ? String(item.value ?? "") : "";
  };
  if (auth.type === "bearer") return `Bearer ${get("token")}`;
  if (auth.type === "basic") return `Basic ${btoa(`${get("username")}:${get("password")}`)}`;
  notes.push(`${where}: auth type "${auth.type}" (only basic and bearer are supported)`);
  return null;
}

function urlOf(url) {
  if (typeof url === "string") return url;
  if (!url) return "/";
  if (url.raw) return url.raw.split("?")[0];
  const host = Array.isArray(url.host) ? url.host.join(".") : url.host || "";
  const path = Array.isArray(url.path) ? url.path.join("/") : url.path || "";
  return `${url.protocol ? `${url.protocol}://` : ""}${host}/${path}`;
}

function queryOf(url) {
  const out = {};
  if (url && typeof url === "object" && Array.isArray(url.query)) {
    for (const q of url.query) if (!q.disabled && q.key) out[q.key] = q.value ?? "";
  } else if (typeof url === "string" || (url && url.raw)) {
    const raw = typeof url === "string" ? url : url.raw;
    const qs = raw.includes("?") ? raw.slice(raw.indexOf("?") + 1) : "";
    for (const part of qs.split("&").filter(Boolean)) {
      const [k, v = ""] = part.split("=");
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    }
  }
  return out;
}

function stepFromItem(item, inheritedAuth, notes, where) {
  const req = typeof item.request === "string" ? { method: "GET", url: item.request } : item.request || {};
  const method = String(req.method || "GET").toUpperCase();
  if (!METHODS.includes(method)) notes.push(`${where}: method ${method}`);
  const step = { name: item.name || "request", method: METHODS.includes(method) ? method : "GET", url: urlOf(req.url) };
  const query = queryOf(req.url);
  if (Object.keys(query).length) step.query = query;
  const headers = {};
  for (const hd of req.header || []) if (!hd.disabled && hd.key) headers[hd.key] = hd.value ?? "";
  const auth = authHeader(req.auth || inheritedAuth, notes, where);
  if (auth && !Object.keys(headers).some((k) => k.toLowerCase() === "authorization")) headers.Authorization = auth;
  const body = req.body;
  if (body && !body.disabled) {
    if (body.mode === "raw" && body.raw !== undefined && body.raw !== "") {
      const lang = body.options && body.options.raw && body.options.raw.language;
      let parsed;
      if (lang === "json" || /^\s*[[{]/.test(body.raw)) {
        try { parsed = JSON.parse(body.raw); } catch { /* templated JSON stays raw */ }
      }
      if (parsed !== undefined) step.json = parsed;
      else {
        step.body = body.raw;
        const ct = Object.entries(headers).find(([k]) => k.toLowerCase() === "content-type");
        if (!ct && lang === "json") step.content_type = "application/json";
      }
    } else if (body.mode === "urlencoded") {
      step.form = {};
      for (const f of body.urlencoded || []) if (!f.disabled && f.key) step.form[f.key] = f.value ?? "";
    } else if (body.mode === "formdata") {
      step.multipart = {};
      for (const f of body.formdata || []) {
        if (f.disabled || !f.key) continue;
        if (f.type === "file") notes.push(`${where}: file field ${f.key} (the file's content is not in the collection)`);
        else step.multipart[f.key] = f.value ?? "";
      }
    } else if (body.mode && body.mode !== "none" && body.mode !== "raw") {
      notes.push(`${where}: ${body.mode} body`);
    }
  }
  if (Object.keys(headers).length) step.headers = headers;
  for (const ev of item.event || []) notes.push(`${where}: ${ev.listen} script`);
  return step;
}

/** A Postman v2.1 collection as a plan; `notes` lists what could not be imported. */
export function fromPostman(doc) {
  const notes = [];
  const plan = { name: (doc.info && doc.info.name) || "Postman collection", transactions: [] };
  const vars = {};
  for (const v of doc.variable || []) if (v.key && !v.disabled) vars[v.key] = String(v.value ?? "");
  if (Object.keys(vars).length) plan.variables = vars;
  for (const ev of doc.event || []) notes.push(`collection: ${ev.listen} script`);
  const loose = [];
  const walk = (items, prefix, auth) => {
    for (const item of items || []) {
      const name = prefix ? `${prefix} / ${item.name}` : item.name;
      if (Array.isArray(item.item)) {
        for (const ev of item.event || []) notes.push(`folder ${name}: ${ev.listen} script`);
        const folderAuth = item.auth || auth;
        const steps = item.item
          .filter((child) => !Array.isArray(child.item))
          .map((child) => stepFromItem(child, folderAuth, notes, `${name} / ${child.name}`));
        if (steps.length) plan.transactions.push({ name, weight: 1, steps });
        walk(item.item.filter((child) => Array.isArray(child.item)), name, folderAuth);
      } else if (!prefix) {
        loose.push(stepFromItem(item, auth, notes, item.name));
      }
    }
  };
  walk(doc.item, "", doc.auth);
  if (loose.length) plan.transactions.unshift({ name: plan.name, weight: 1, steps: loose });
  // Step names must be unique per transaction for readable statistics.
  for (const t of plan.transactions) {
    const seen = new Map();
    for (const s of t.steps) {
      const n = (seen.get(s.name) || 0) + 1;
      seen.set(s.name, n);
      if (n > 1) s.name = `${s.name} ${n}`;
    }
  }
  return { plan, notes };
}

/** A plan as a Postman v2.1 collection (extractors and assertions go into descriptions). */
export function toPostman(plan) {
  const item = (s) => {
    const headers = Object.entries(s.headers || {}).map(([key, value]) => ({ key, value }));
    const raw = `${s.url}${s.query ? `?${Object.entries(s.query).map(([k, v]) => `${k}=${v}`).join("&")}` : ""}`;
    const request = { method: s.method, header: headers, url: { raw, ...(s.query ? { query: Object.entries(s.query).map(([key, value]) => ({ key, value })) } : {}) } };
    if ("json" in s) request.body = { mode: "raw", raw: JSON.stringify(s.json, null, 2), options: { raw: { language: "json" } } };
    else if ("body" in s) request.body = { mode: "raw", raw: s.body };
    else if ("form" in s) request.body = { mode: "urlencoded", urlencoded: Object.entries(s.form).map(([key, value]) => ({ key, value })) };
    else if ("multipart" in s) request.body = { mode: "formdata", formdata: Object.entries(s.multipart).map(([key, v]) => (typeof v === "object" ? { key, type: "file", src: v.file } : { key, type: "text", value: String(v) })) };
    const extra = { extract: s.extract, assert: s.assert };
    if (s.extract || s.assert) request.description = `locust-http: ${JSON.stringify(extra)}`;
    return { name: s.name, request };
  };
  const variable = Object.entries(plan.variables || {}).map(([key, value]) => ({ key, value }));
  if (plan.host) variable.push({ key: "host", value: plan.host });
  return {
    info: { name: plan.name, schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" },
    item: [
      ...(plan.setup && plan.setup.length ? [{ name: "setup", item: plan.setup.map(item) }] : []),
      ...plan.transactions.map((t) => ({ name: t.name, item: t.steps.map(item) })),
    ],
    variable,
  };
}

/** Splits a shell command line into words (quotes and backslashes as a POSIX shell does). */
export function shellWords(line) {
  const words = [];
  let cur = "", inWord = false, quote = null;
  const src = line.replace(/\\\r?\n/g, " ");
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (quote === "'") {
      if (c === "'") quote = null; else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < src.length && '"\\$`'.includes(src[i + 1])) cur += src[++i];
      else cur += c;
    } else if (c === "'" || c === '"') { quote = c; inWord = true; }
    else if (c === "\\" && i + 1 < src.length) { cur += src[++i]; inWord = true; }
    else if (/\s/.test(c)) { if (inWord) { words.push(cur); cur = ""; inWord = false; } }
    else { cur += c; inWord = true; }
  }
  if (quote) throw new Error("unclosed quote in the curl command");
  if (inWord) words.push(cur);
  return words;
}

/** A curl command line as one step. */
export function fromCurl(line) {
  const w = shellWords(line.trim());
  if (w[0] !== "curl") throw new Error("not a curl command");
  let method = null, url = null, data = null, json = false, getQuery = false;
  const headers = {};
  for (let i = 1; i < w.length; i++) {
    const a = w[i];
    const next = () => {
      if (i + 1 >= w.length) throw new Error(`${a} needs a value`);
      return w[++i];
    };
    if (a === "-X" || a === "--request") method = next().toUpperCase();
    else if (a === "-H" || a === "--header") {
      const hv = next();
      const at = hv.indexOf(":");
      if (at > 0) headers[hv.slice(0, at).trim()] = hv.slice(at + 1).trim();
    } else if (["-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode"].includes(a)) {
      const d = next();
      data = data === null ? d : `${data}&${d}`;
    } else if (a === "--json") { data = next(); json = true; }
    else if (a === "-u" || a === "--user") headers.Authorization = `Basic ${btoa(next())}`;
    else if (a === "-G" || a === "--get") getQuery = true;
    else if (a === "--url") url = next();
    else if (["-A", "--user-agent"].includes(a)) headers["User-Agent"] = next();
    else if (["-b", "--cookie"].includes(a)) headers.Cookie = next();
    else if (["-e", "--referer"].includes(a)) headers.Referer = next();
    else if (a.startsWith("-")) { /* flags without effect on the request (-s, -v, -L, --compressed, ...) */ }
    else if (!url) url = a;
  }
  if (!url) throw new Error("no URL in the curl command");
  const u = new URL(/^https?:\/\//.test(url) ? url : `http://${url}`);
  const step = { name: `${u.pathname === "/" ? u.host : u.pathname}`, method: method || (data !== null && !getQuery ? "POST" : "GET"), url: `${u.origin}${u.pathname}` };
  const query = Object.fromEntries(u.searchParams.entries());
  if (data !== null && getQuery) for (const part of data.split("&")) { const [k, v = ""] = part.split("="); query[k] = v; }
  if (Object.keys(query).length) step.query = query;
  if (data !== null && !getQuery) {
    const ctKey = Object.keys(headers).find((k) => k.toLowerCase() === "content-type");
    const ct = ctKey ? headers[ctKey] : json ? "application/json" : "application/x-www-form-urlencoded";
    let parsed;
    if (ct.includes("json")) { try { parsed = JSON.parse(data); } catch { /* keep raw */ } }
    if (parsed !== undefined) { step.json = parsed; if (ctKey) delete headers[ctKey]; }
    else if (ct.includes("x-www-form-urlencoded")) {
      step.form = {};
      for (const part of data.split("&").filter(Boolean)) {
        const [k, v = ""] = part.split("=");
        step.form[decodeURIComponent(k)] = decodeURIComponent(v.replace(/\+/g, " "));
      }
      if (ctKey) delete headers[ctKey];
    } else { step.body = data; step.content_type = ct; if (ctKey) delete headers[ctKey]; }
  }
  if (Object.keys(headers).length) step.headers = headers;
  return step;
}
