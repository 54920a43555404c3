// Load tool of the jitter scenario (test/jitter.go; not a scenario itself):
// --clients official socket.io clients with reconnection connect to --url
// (a proxy that cuts their TCP connections at random), each joins --room
// once and records the numbered events (--event, the number first) it
// receives. On a reconnection that was not recovered the client joins the
// room again (and will have missed what was sent meanwhile).
//
//   node sio/jitter-clients.mjs --url http://127.0.0.1:PORT [--path /socket.io/]
//        [--clients 250] [--room r] [--event m] [--transports websocket|default]
//        [--timeout 600000]
//
// Lines on stdout:
//   {"event":"ready","clients":N}          every client connected and joined
//   {"event":"done",...}                    the summary, once stdin gave the
//                                           total ("total N") and every client
//                                           reached it, or --drain-ms passed
import { io } from "socket.io-client";
import readline from "node:readline";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg("url");
const path = arg("path", "/socket.io/");
const n = Number(arg("clients", "250"));
const room = arg("room", "r");
const event = arg("event", "m");
const drainMs = Number(arg("drain-ms", "30000"));
const transports = arg("transports", "default") === "websocket" ? ["websocket"] : ["polling", "websocket"];
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
if (!url || !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?\/?$/.test(url)) {
  process.stderr.write("jitter-clients: --url http://127.0.0.1:PORT (loopback) is required\n");
  process.exit(2);
}
setTimeout(() => {
  process.stderr.write("jitter-clients: --timeout reached\n");
  process.exit(3);
}, Number(arg("timeout", "600000"))).unref();

const stats = { connects: 0, recovered: 0, unrecovered: 0, disconnects: 0, connectErrors: 0, reasons: {} };
const clients = [];
let joined = 0;
for (let i = 0; i < n; i++) {
  const s = io(url, {
    path,
    transports,
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 300,
    reconnectionDelayMax: 2000,
    randomizationFactor: 0.5,
  });
  const c = { s, last: -1, seen: new Uint8Array(1024), unique: 0, received: 0, dup: 0, outOfOrder: 0, joined: false };
  clients.push(c);
  s.on(event, (num) => {
    c.received++;
    if (typeof num !== "number" || num < 0) return;
    if (num >= c.seen.length) {
      const grown = new Uint8Array(Math.max(num + 1, c.seen.length * 2));
      grown.set(c.seen);
      c.seen = grown;
    }
    if (c.seen[num]) {
      c.dup++;
      return;
    }
    c.seen[num] = 1;
    c.unique++;
    if (num < c.last) c.outOfOrder++;
    else c.last = num;
  });
  s.on("connect", () => {
    stats.connects++;
    if (!c.joined) {
      s.emit("join", room, () => {
        c.joined = true;
        if (++joined === n) out({ event: "ready", clients: n });
      });
    } else if (s.recovered) {
      stats.recovered++;
    } else {
      stats.unrecovered++;
      s.emit("join", room);
    }
  });
  s.on("disconnect", (reason) => {
    stats.disconnects++;
    stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
  });
  s.on("connect_error", () => stats.connectErrors++);
}

let total = -1;
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const m = /^total (\d+)$/.exec(line.trim());
  if (m) total = Number(m[1]);
});
process.stdin.on("end", async () => {
  const end = Date.now() + drainMs;
  const complete = () => total >= 0 && clients.every((c) => c.s.connected && c.unique >= total);
  while (!complete() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  const sum = { event: "done", clients: n, total, drained: complete(), ...stats, received: 0, unique: 0, dup: 0, outOfOrder: 0, perfect: 0 };
  for (const c of clients) {
    sum.received += c.received;
    sum.unique += Math.min(c.unique, Math.max(total, 0));
    sum.dup += c.dup;
    sum.outOfOrder += c.outOfOrder;
    if (c.unique === total && c.dup === 0 && c.outOfOrder === 0 && c.received === total) sum.perfect++;
    c.s.io.opts.reconnection = false;
    c.s.io._reconnection = false;
    c.s.disconnect();
  }
  out(sum);
  setTimeout(() => process.exit(0), 500).unref();
});
