// The UI's conversions (Postman v2.1, curl) as pure functions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromPostman, toPostman, fromCurl, shellWords } from "../../master-bridge/ui/convert.js";

const collection = {
  info: { name: "shop", schema: "https://schema.getpostman.com/json/collection/v2.1.0/collection.json" },
  variable: [{ key: "base", value: "http://127.0.0.1:8000" }],
  auth: { type: "bearer", bearer: [{ key: "token", value: "{{token}}" }] },
  event: [{ listen: "prerequest", script: { exec: [""] } }],
  item: [
    { name: "home", request: { method: "GET", url: { raw: "{{base}}/?q=1", query: [{ key: "q", value: "1" }] } } },
    { name: "checkout", item: [
      { name: "login", request: { method: "POST", url: "{{base}}/login", auth: { type: "basic", basic: [{ key: "username", value: "u" }, { key: "password", value: "p" }] },
        body: { mode: "raw", raw: "{\"user\": \"{{who}}\"}", options: { raw: { language: "json" } } } } },
      { name: "upload", request: { method: "POST", url: "{{base}}/up",
        body: { mode: "formdata", formdata: [{ key: "a", value: "1", type: "text" }, { key: "f", type: "file", src: "/tmp/x" }] } } },
      { name: "nested", item: [{ name: "deep", request: { method: "DELETE", url: "{{base}}/x" } }] },
    ] },
  ],
};

test("a Postman collection becomes a plan, with what was left out listed", () => {
  const { plan, notes } = fromPostman(collection);
  assert.equal(plan.name, "shop");
  assert.deepEqual(plan.variables, { base: "http://127.0.0.1:8000" });
  assert.deepEqual(plan.transactions.map((t) => t.name), ["shop", "checkout", "checkout / nested"]);
  const home = plan.transactions[0].steps[0];
  assert.equal(home.url, "{{base}}/");
  assert.deepEqual(home.query, { q: "1" });
  assert.equal(home.headers.Authorization, "Bearer {{token}}");
  const login = plan.transactions[1].steps[0];
  assert.deepEqual(login.json, { user: "{{who}}" });
  assert.equal(login.headers.Authorization, `Basic ${btoa("u:p")}`);
  const upload = plan.transactions[1].steps[1];
  assert.deepEqual(upload.multipart, { a: "1" });
  assert.ok(notes.some((n) => n.includes("prerequest script")), notes.join("; "));
  assert.ok(notes.some((n) => n.includes("file field f")), notes.join("; "));
  // and back
  const back = toPostman(plan);
  assert.equal(back.item.length, 3);
  assert.equal(back.item[1].item[0].request.body.mode, "raw");
  assert.equal(back.item[1].item[1].request.body.mode, "formdata");
});

test("a curl command becomes a step", () => {
  assert.deepEqual(shellWords(`curl -H 'a: b c' "x\\"y" z\\ w`), ["curl", "-H", "a: b c", 'x"y', "z w"]);
  const s = fromCurl(`curl -X POST 'http://h:1/orders?x=1' -H 'Content-Type: application/json' -H 'Authorization: Bearer t' -d '{"item": 42}' --compressed`);
  assert.equal(s.method, "POST");
  assert.equal(s.url, "http://h:1/orders");
  assert.deepEqual(s.query, { x: "1" });
  assert.deepEqual(s.json, { item: 42 });
  assert.deepEqual(s.headers, { Authorization: "Bearer t" });
  const f = fromCurl("curl http://h/login -d user=a -d pass=b+c -u me:pw");
  assert.equal(f.method, "POST");
  assert.deepEqual(f.form, { user: "a", pass: "b c" });
  assert.equal(f.headers.Authorization, `Basic ${btoa("me:pw")}`);
  assert.throws(() => fromCurl("curl -H 'x"), /unclosed quote/);
  assert.throws(() => fromCurl("wget http://x"), /not a curl/);
});
