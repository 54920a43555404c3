// Runs every Engine.IO scenario against the npm reference fixture, --runs
// times each (default 5), and checks what the Go tests check on the server
// side: the close reason the server reported for the scenario's session and
// that no session is left open afterwards. No Go needed:
//
//   node run-reference.mjs [--runs 5] [--only heartbeat]
//
// (With Go, `FANIO_IT_SERVER=reference go test ./test/` runs the Go tests,
// bad input included, against the same fixture.)
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";

const dir = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i !== -1 && i + 1 < argv.length ? argv[i + 1] : def;
};
const runs = Math.min(Number(opt("runs", "5")), 100);
const only = opt("only", "");

// [script, args, server-side close reason, server transport at close]
const scenarios = [
  ["basic", ["--transport", "polling"], "transport close", "polling"],
  ["basic", ["--transport", "websocket"], "transport close", "websocket"],
  ["upgrade", [], "transport close", "websocket"],
  ["large", ["--transport", "polling"], "transport close", "polling"],
  ["large", ["--transport", "websocket"], "transport close", "websocket"],
  ["oversize", ["--transport", "polling", "--kind", "text"], "transport close", "polling"],
  ["oversize", ["--transport", "polling", "--kind", "binary"], "transport close", "polling"],
  ["oversize", ["--transport", "websocket", "--kind", "text"], "transport error", "websocket"],
  ["oversize", ["--transport", "websocket", "--kind", "binary"], "transport error", "websocket"],
  ["heartbeat", ["--transport", "polling"], "ping timeout", "polling"],
  ["heartbeat", ["--transport", "websocket"], "ping timeout", "websocket"],
  ["server-close", ["--transport", "polling"], "forced close", "polling"],
  ["server-close", ["--transport", "websocket"], "forced close", "websocket"],
  ["server-close", ["--transport", "upgrade"], "forced close", "websocket"],
  ["client-close", ["--transport", "polling"], "transport close", "polling"],
  ["client-close", ["--transport", "websocket"], "transport close", "websocket"],
  ["client-close", ["--transport", "upgrade"], "transport close", "websocket"],
  ["healthy", ["--transport", "upgrade", "--duration-ms", "1000"], "transport close", "websocket"],
].filter(([name]) => !only || name === only);

// ---- the fixture ----
const server = spawn(process.execPath, ["reference-eio-server.mjs", "--port", "0"], { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
const closes = new Map(); // sid -> {reason, transport, clients}
const waiters = new Set();
let port = 0;
let live = 0;
const listening = new Promise((resolve, reject) => {
  server.on("exit", (code) => reject(new Error(`reference server exited (${code})`)));
  createInterface({ input: server.stdout }).on("line", (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { return; }
    if (ev.event === "listening") { port = ev.port; resolve(); }
    if (ev.event === "open") live++;
    if (ev.event === "close") { live--; closes.set(ev.sid, ev); }
    for (const w of waiters) w();
  });
});

function until(cond, ms) {
  return new Promise((resolve) => {
    if (cond()) return resolve(true);
    const done = (ok) => { waiters.delete(check); clearTimeout(t); resolve(ok); };
    const check = () => { if (cond()) done(true); };
    const t = setTimeout(() => done(cond()), ms);
    waiters.add(check);
  });
}

function runScript(script, args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`eio/${script}.mjs`, "--url", `http://127.0.0.1:${port}`, ...args], { cwd: dir });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { err += d; });
    const kill = setTimeout(() => child.kill("SIGKILL"), 60000);
    child.on("close", (code) => { clearTimeout(kill); resolve({ code, out, err }); });
  });
}

let passed = 0;
let failed = 0;
try {
  await listening;
  for (const [script, args, wantReason, wantTransport] of scenarios) {
    const label = `${script} ${args.join(" ")}`.trim();
    const problems = [];
    for (let i = 0; i < runs; i++) {
      const r = await runScript(script, args);
      const line = r.out.trim().split("\n").pop();
      let res = null;
      try { res = JSON.parse(line); } catch { /* below */ }
      const errs = [];
      if (r.code !== 0 || !res || res.ok !== true) {
        errs.push(`exit ${r.code}: ${line}\n${r.err}`);
      } else {
        await until(() => closes.has(res.sid), 5000);
        const c = closes.get(res.sid);
        if (!c) errs.push(`server never closed ${res.sid}`);
        else if (c.reason !== wantReason || c.transport !== wantTransport) {
          errs.push(`server closed ${res.sid} with ${c.reason}/${c.transport}, want ${wantReason}/${wantTransport}`);
        }
      }
      if (!(await until(() => live === 0, 5000))) errs.push(`${live} session(s) still open`);
      if (errs.length) problems.push(`run ${i + 1}: ${errs.join("; ")}`);
    }
    if (problems.length) {
      failed++;
      console.log(`FAIL ${label} (${runs - problems.length}/${runs})\n  ${problems.join("\n  ")}`);
    } else {
      passed++;
      console.log(`ok   ${label} (${runs}/${runs})`);
    }
  }
} finally {
  server.kill("SIGTERM");
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
