// Browser driver for Go tests (test/browser.go): headless Debian Chromium
// driven by playwright-core, answering one JSON command per stdin line.
//
//   node browser/driver.mjs --chromium /usr/bin/chromium --user-data-dir DIR [--timeout 20000]
//
// Chromium runs with --headless --no-sandbox --disable-gpu --disable-quic
// --no-first-run --disable-background-networking --disable-component-update
// --disable-sync, the fresh profile DIR (the caller creates and removes it),
// and a host resolver that resolves nothing but loopback names, so a page
// under test cannot reach the network.
//
// stdout carries JSON lines:
//   {"event":"ready","version":"<browser version>"}           once launched
//   {"id":N,"ok":true,"value":...} / {"id":N,"ok":false,"error":"..."}
//   {"event":"console","page":P,"type":"log","text":"..."}   page console
//   {"event":"pageerror","page":P,"text":"..."}              uncaught errors
//   {"event":"requestfailed","page":P,"url":"...","text":"..."}
// stdin carries commands {"id":N,"op":OP,...}; they run concurrently and
// are answered by id:
//   newPage {url?}                 -> {page}  (url: 127.0.0.1, localhost or [::1])
//   goto {page,url}
//   fill {page,selector,text}      set an input's value (one input event)
//   type {page,selector,text}      key by key (keydown/keypress/input/keyup)
//   press {page,selector,key}      one key ("Enter")
//   click {page,selector}
//   waitText {page,selector,text}  until a visible element matching selector
//                                  has text in its textContent
//   waitNoText {page,selector,text} until none has
//   waitFor {page,expression}      until a JavaScript expression is truthy
//   text {page,selector}           -> textContent of the first match ("" if none)
//   eval {page,expression}         -> the expression's value (JSON)
//   screenshot {page,path,fullPage?}
//   closePage {page}
// Every command takes an optional timeout (ms; default --timeout). When
// stdin ends the browser is closed and the driver exits 0.
import { chromium } from "playwright-core";
import readline from "node:readline";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return def;
}

const executablePath = arg("chromium", "/usr/bin/chromium");
const userDataDir = arg("user-data-dir");
const defaultTimeout = Number(arg("timeout", "20000"));
if (!userDataDir) {
  process.stderr.write("driver: --user-data-dir DIR is required (a fresh, empty directory)\n");
  process.exit(2);
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const loopback = (url) => {
  const u = new URL(url);
  if (u.protocol === "about:" || u.protocol === "data:") return;
  if (!/^(127\.0\.0\.1|localhost|\[::1\])$/.test(u.hostname)) {
    throw new Error(`refusing non-loopback url ${url}`);
  }
};

let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    timeout: 60000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost, EXCLUDE [::1]",
    ],
    viewport: { width: 1000, height: 700 },
  });
} catch (e) {
  process.stderr.write(`driver: cannot launch ${executablePath}: ${e.message}\n`);
  process.exit(1);
}

const pages = new Map();
let nextPage = 1;
let spare = context.pages()[0]; // the window the launch opened; used by the first newPage

function track(page) {
  const id = nextPage++;
  pages.set(id, page);
  page.on("console", (m) => out({ event: "console", page: id, type: m.type(), text: m.text() }));
  page.on("pageerror", (e) => out({ event: "pageerror", page: id, text: String(e && e.stack ? e.stack : e) }));
  page.on("requestfailed", (r) =>
    out({ event: "requestfailed", page: id, url: r.url(), text: r.failure() ? r.failure().errorText : "" }),
  );
  page.on("crash", () => out({ event: "pageerror", page: id, text: "page crashed" }));
  page.on("close", () => pages.delete(id));
  return id;
}

function pageOf(cmd) {
  const p = pages.get(cmd.page);
  if (!p) throw new Error(`no open page ${cmd.page}`);
  return p;
}

// visibleWithText is evaluated in the page.
function visibleWithText([selector, text, want]) {
  for (const el of document.querySelectorAll(selector)) {
    const shown = el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
    if (shown && (el.textContent || "").includes(text)) return want;
  }
  return !want;
}

async function describe(page, selector) {
  try {
    const texts = await page.$$eval(selector, (els) =>
      els.slice(0, 8).map((e) => (e.textContent || "").replace(/\s+/g, " ").trim().slice(0, 200)),
    );
    return texts.length ? ` (matches: ${JSON.stringify(texts)})` : " (no element matches)";
  } catch {
    return "";
  }
}

const ops = {
  async newPage(cmd, timeout) {
    if (cmd.url) loopback(cmd.url);
    let page = spare;
    spare = undefined;
    if (!page) page = await context.newPage();
    const id = track(page);
    if (cmd.url) await page.goto(cmd.url, { timeout, waitUntil: "load" });
    return { page: id };
  },
  async goto(cmd, timeout) {
    loopback(cmd.url);
    await pageOf(cmd).goto(cmd.url, { timeout, waitUntil: "load" });
  },
  async fill(cmd, timeout) {
    await pageOf(cmd).locator(cmd.selector).first().fill(cmd.text, { timeout });
  },
  async type(cmd, timeout) {
    await pageOf(cmd).locator(cmd.selector).first().pressSequentially(cmd.text, { timeout, delay: 10 });
  },
  async press(cmd, timeout) {
    await pageOf(cmd).locator(cmd.selector).first().press(cmd.key, { timeout });
  },
  async click(cmd, timeout) {
    await pageOf(cmd).locator(cmd.selector).first().click({ timeout });
  },
  async waitText(cmd, timeout) {
    const page = pageOf(cmd);
    try {
      await page.waitForFunction(visibleWithText, [cmd.selector, cmd.text, true], { timeout, polling: 100 });
    } catch (e) {
      throw new Error(`no visible ${cmd.selector} with text ${JSON.stringify(cmd.text)}${await describe(page, cmd.selector)}: ${e.message}`);
    }
  },
  async waitNoText(cmd, timeout) {
    const page = pageOf(cmd);
    try {
      await page.waitForFunction(visibleWithText, [cmd.selector, cmd.text, false], { timeout, polling: 100 });
    } catch (e) {
      throw new Error(`${cmd.selector} still shows ${JSON.stringify(cmd.text)}${await describe(page, cmd.selector)}: ${e.message}`);
    }
  },
  async waitFor(cmd, timeout) {
    const page = pageOf(cmd);
    try {
      await page.waitForFunction(cmd.expression, undefined, { timeout, polling: 100 });
    } catch (e) {
      throw new Error(`${cmd.expression} stayed false: ${e.message}`);
    }
  },
  async text(cmd) {
    return await pageOf(cmd).evaluate((sel) => {
      const el = document.querySelector(sel);
      return el ? el.textContent : "";
    }, cmd.selector);
  },
  async eval(cmd) {
    return await pageOf(cmd).evaluate(cmd.expression);
  },
  async screenshot(cmd, timeout) {
    await pageOf(cmd).screenshot({ path: cmd.path, fullPage: cmd.fullPage !== false, timeout });
  },
  async closePage(cmd) {
    await pageOf(cmd).close();
  },
};

async function handle(line) {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ id: -1, ok: false, error: `bad command line: ${e.message}` });
    return;
  }
  const fn = ops[cmd.op];
  if (!fn) {
    out({ id: cmd.id, ok: false, error: `unknown op ${JSON.stringify(cmd.op)}` });
    return;
  }
  const timeout = Number(cmd.timeout) > 0 ? Number(cmd.timeout) : defaultTimeout;
  try {
    const value = await fn(cmd, timeout);
    out({ id: cmd.id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    out({ id: cmd.id, ok: false, error: `${cmd.op}: ${e && e.message ? e.message : String(e)}` });
  }
}

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    await context.close();
  } catch {}
  process.exit(code);
}
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));

out({ event: "ready", version: context.browser() ? context.browser().version() : "" });

const pending = new Set();
const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (!line.trim()) return;
  const p = handle(line).finally(() => pending.delete(p));
  pending.add(p);
});
rl.on("close", async () => {
  await Promise.allSettled([...pending]);
  await shutdown(0);
});
