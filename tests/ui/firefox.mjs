// A minimal WebDriver BiDi client for Debian's Firefox (Playwright drives only its own Firefox
// build, which cannot be downloaded here): start it headless, open pages, evaluate expressions,
// take screenshots.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function launchFirefox(executable = process.env.FIREFOX || "/usr/bin/firefox-esr") {
  if (typeof WebSocket === "undefined") throw new Error("this Node has no WebSocket (run with --experimental-websocket)");
  const profile = mkdtempSync(join(tmpdir(), "lh-firefox-"));
  const proc = spawn(executable, ["--headless", "--no-remote", "--profile", profile, "--remote-debugging-port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Firefox did not start its WebDriver BiDi server")), 30000);
    let buf = "";
    proc.stderr.on("data", (d) => {
      buf += d;
      const m = buf.match(/WebDriver BiDi listening on (ws:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on("exit", (code) => reject(new Error(`Firefox exited with ${code}`)));
  });
  const ws = new WebSocket(`${endpoint}/session`);
  await new Promise((resolve, reject) => { ws.addEventListener("open", resolve); ws.addEventListener("error", reject); });
  let next = 0;
  const pending = new Map();
  ws.addEventListener("message", (ev) => {
    const m = JSON.parse(ev.data);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, (m) => (m.type === "error" ? reject(new Error(`${method}: ${m.error}: ${m.message}`)) : resolve(m.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
  await call("session.new", { capabilities: {} });
  const context = (await call("browsingContext.getTree")).contexts[0].context;
  await call("browsingContext.setViewport", { context, viewport: { width: 1300, height: 850 } });
  return {
    async goto(url) { await call("browsingContext.navigate", { context, url, wait: "complete" }); },
    async evaluate(expression) {
      const r = await call("script.evaluate", { expression, target: { context }, awaitPromise: true });
      if (r.type === "exception") throw new Error(`page exception: ${JSON.stringify(r.exceptionDetails.text)}`);
      return r.result.value;
    },
    async waitFor(expression, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await this.evaluate(expression)) === true) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting for ${expression}`);
    },
    async screenshot(path) {
      const s = await call("browsingContext.captureScreenshot", { context });
      writeFileSync(path, Buffer.from(s.data, "base64"));
    },
    async close() {
      try { await call("session.end"); } catch { /* closing anyway */ }
      ws.close();
      proc.kill();
    },
  };
}
