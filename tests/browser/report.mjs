// Opens a keysweep HTML report in real headless Chromium and reports what the page did, as
// one JSON object on stdout, for tests/html.rs to check. Drives Chromium over its DevTools
// protocol (Node's built-in WebSocket and fetch; no packages), from a file:// URL:
// console messages, uncaught exceptions, log entries (CSP violations land there), requests to
// anything but file: and data: URLs, element counts, the filters at work, and a full-page
// screenshot written to PNG.
//
// usage: node --experimental-websocket report.mjs CHROMIUM REPORT.html SHOT.png PROFILE_DIR

import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [chromium, report, shot, profile] = process.argv.slice(2);
if (!profile) {
  console.error("usage: report.mjs CHROMIUM REPORT.html SHOT.png PROFILE_DIR");
  process.exit(2);
}

const browser = spawn(
  chromium,
  [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,1600",
    "about:blank",
  ],
  { stdio: ["ignore", "ignore", "pipe"] },
);

const fail = (msg) => {
  console.error(msg);
  browser.kill("SIGKILL");
  process.exit(1);
};
const timer = setTimeout(() => fail("timed out driving chromium"), 60000);

// "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
const port = await new Promise((resolve, reject) => {
  let buf = "";
  browser.stderr.on("data", (d) => {
    buf += d.toString();
    const m = buf.match(/DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) resolve(m[1]);
  });
  browser.on("exit", (code) => reject(new Error(`chromium exited (${code}): ${buf}`)));
}).catch((e) => fail(String(e)));

const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((t) => t.type === "page");
if (!page) fail("no page target");

const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.onopen = resolve;
  ws.onerror = reject;
});
let nextId = 0;
const pending = new Map();
const events = { console: [], exceptions: [], log: [], requests: [] };
let loaded;
const loadedPromise = new Promise((r) => (loaded = r));
ws.onmessage = (msg) => {
  const m = JSON.parse(msg.data);
  if (m.id !== undefined && pending.has(m.id)) {
    const { resolve, reject } = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) reject(new Error(JSON.stringify(m.error)));
    else resolve(m.result);
    return;
  }
  switch (m.method) {
    case "Runtime.consoleAPICalled":
      events.console.push({
        type: m.params.type,
        text: m.params.args.map((a) => a.value ?? a.description ?? "").join(" "),
      });
      break;
    case "Runtime.exceptionThrown":
      events.exceptions.push(m.params.exceptionDetails.exception?.description ?? m.params.exceptionDetails.text);
      break;
    case "Log.entryAdded":
      events.log.push({ level: m.params.entry.level, source: m.params.entry.source, text: m.params.entry.text });
      break;
    case "Network.requestWillBeSent": {
      const url = m.params.request.url;
      if (!url.startsWith("file:") && !url.startsWith("data:")) events.requests.push(url);
      break;
    }
    case "Page.loadEventFired":
      loaded();
      break;
  }
};
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
const evaluate = async (expression) => {
  const r = await send("Runtime.evaluate", { expression, returnByValue: true });
  if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
  return r.result.value;
};

await send("Runtime.enable");
await send("Log.enable");
await send("Network.enable");
await send("Page.enable");
await send("Page.navigate", { url: pathToFileURL(report).href });
await loadedPromise;
await new Promise((r) => setTimeout(r, 300));

const state = `(() => {
  const visible = () => [...document.querySelectorAll("article.key")].filter((a) => !a.hidden).length;
  return {
    title: document.title,
    keys: document.querySelectorAll("article.key").length,
    visible: visible(),
    accounts: [...document.querySelectorAll("section.account")].map((s) => s.dataset.account),
    totalFindings: document.getElementById("total-findings").textContent,
    totalKeys: document.getElementById("total-keys").textContent,
    shown: document.getElementById("shown").textContent,
    counts: Object.fromEntries([...document.querySelectorAll("[data-count]")].map((e) => [e.dataset.count, e.textContent])),
    severities: [...document.querySelectorAll("article.key")].map((a) => [a.querySelector("h3 code")?.textContent ?? "", a.dataset.severity]),
    places: document.querySelectorAll("article.key tbody tr").length,
    timeline: document.querySelectorAll("#timeline tbody tr").length,
    copyButtons: document.querySelectorAll("button.copy").length,
    images: document.images.length,
    scripts: document.scripts.length,
    handlers: document.querySelectorAll("[onerror],[onload],[onclick],[onmouseover]").length,
    injectedIds: document.querySelectorAll("#pwn").length,
    text: document.body.innerText,
    scriptRan: document.body.classList.contains("js"),
  };
})()`;
const initial = await evaluate(state);

// The filters: by severity, then by account, then back to all.
const select = async (id, value) =>
  evaluate(`(() => { const s = document.getElementById(${JSON.stringify(id)});
    s.value = ${JSON.stringify(value)}; s.dispatchEvent(new Event("change"));
    return { visible: [...document.querySelectorAll("article.key")].filter((a) => !a.hidden).length,
             shown: document.getElementById("shown").textContent,
             sections: [...document.querySelectorAll("section.account")].filter((s) => !s.hidden).length,
             timeline: [...document.querySelectorAll("#timeline tbody tr")].filter((r) => !r.hidden).length }; })()`);
const filters = {};
for (const sev of ["critical", "high", "medium", "low"]) filters[sev] = await select("f-sev", sev);
await select("f-sev", "");
filters.accounts = {};
for (const account of initial.accounts) filters.accounts[account] = await select("f-acct", account);
await select("f-acct", "");

// A copy button: the clipboard may be unavailable headless; the page must not throw.
await evaluate(`document.querySelector("button.copy")?.click(); true`);
await new Promise((r) => setTimeout(r, 200));
const copyLabel = await evaluate(`document.querySelector("button.copy")?.textContent ?? ""`);

const metrics = await send("Page.getLayoutMetrics");
const height = Math.min(Math.ceil(metrics.cssContentSize?.height ?? 1600), 8000);
const png = await send("Page.captureScreenshot", {
  format: "png",
  captureBeyondViewport: true,
  clip: { x: 0, y: 0, width: 1280, height, scale: 1 },
});
writeFileSync(shot, Buffer.from(png.data, "base64"));

clearTimeout(timer);
console.log(JSON.stringify({ ...initial, filters, copyLabel, events }));
ws.close();
browser.kill("SIGKILL");
process.exit(0);
