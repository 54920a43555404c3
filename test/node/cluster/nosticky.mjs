// Official socket.io-client 4.8 clients of a hub (cmd/fanio, or
// cluster/hub.mjs) behind a load balancer that pins nothing, for
// test/nosticky_test.go. For --duration ms, every client:
//
//   - joins "all" and one of two group rooms (client → server acks: the
//     hub answers with the socket's rooms);
//   - publishes {from, seq} to "all" (event "msg") every --interval ms, and
//     every fifth time to its group (event "gmsg"), each with an ack (the
//     hub answers with a count);
//   - checks that it gets every other client's messages exactly once and
//     in order, per room (seq is the sender's count of that event);
//   - answers the server's "ask" (server → client acks): the script POSTs
//     /api/publish {"room":"all","event":"ask","ack":true} through the
//     balancer every --ask-interval ms and checks that every client, on
//     whichever node, answered.
//
//   node cluster/nosticky.mjs --url http://127.0.0.1:PORT
//        [--transports polling|default] [--clients 6] [--duration 30000]
//        [--interval 200] [--ask-interval 1000] [--tag t] [--api-url URL]
//
// --api-url sends the /api/publish calls there instead of --url (a
// balancer that proxies only /socket.io/).
//
// --tag prefixes the client names and rooms, so that several runs can share
// the hub's nodes.
// No reconnection: any disconnection, connect error or missed ack is an
// error. The result line says what happened, with the 400 bodies seen
// ("Session ID unknown") and how many clients ended on WebSocket. Exits
// non-zero unless ok.
import http from "node:http";
import { io } from "socket.io-client";
import { arg, emit, sleep } from "../lib/rpc.mjs";

const url = arg("url");
if (!url || !/^http:\/\/127\./.test(url)) {
  console.error("--url http://127.0.0.1:PORT is required");
  process.exit(2);
}
const mode = arg("transports", "polling");
const n = Number(arg("clients", "6"));
const duration = Number(arg("duration", "30000"));
const interval = Number(arg("interval", "200"));
const askInterval = Number(arg("ask-interval", "1000"));
const apiURL = arg("api-url", url);
const transports = mode === "polling" ? ["polling"] : ["polling", "websocket"];
const tag = arg("tag", "");
const ALL = `${tag}all`;

const errors = [];
let sessionUnknown = 0;
const error = (what, e) => {
  const body = e?.context?.responseText ?? e?.description?.context?.responseText ?? "";
  if (/Session ID unknown/.test(body) || /Session ID unknown/.test(String(e?.message ?? ""))) sessionUnknown++;
  if (errors.length < 20) errors.push(`${what}: ${e?.message ?? e}${body ? " " + body : ""}`);
  else errors.length === 20 && errors.push("...");
};

// expected[event][from] = how many the sender sent; got[name][event][from] = last seq seen.
const sent = { msg: new Map(), gmsg: new Map() };
const clients = [];
let acked = 0;
let published = 0;
let running = true;

function makeClient(i) {
  const name = `${tag}c${i}`;
  const group = `${tag}g${i % 2}`;
  const c = { name, group, i, got: { msg: new Map(), gmsg: new Map() }, received: 0, dead: false, upgraded: false };
  const socket = io(url, {
    path: "/socket.io/",
    transports,
    reconnection: false,
    forceNew: true,
    timeout: 15000,
    auth: { name },
  });
  c.socket = socket;
  socket.io.on("open", () => socket.io.engine.on("upgrade", () => (c.upgraded = true)));
  socket.on("connect_error", (e) => {
    c.dead = true;
    error(`${name} connect_error`, e);
  });
  socket.on("disconnect", (reason, details) => {
    if (!running && reason === "io client disconnect") return;
    c.dead = true;
    error(`${name} disconnect (${reason})`, details ?? reason);
  });
  for (const event of ["msg", "gmsg"]) {
    socket.on(event, (m) => {
      c.received++;
      const last = c.got[event].get(m.from) ?? 0;
      if (m.seq !== last + 1) error(`${name} ${event} from ${m.from}`, `seq ${m.seq} after ${last} (lost or reordered)`);
      c.got[event].set(m.from, m.seq);
    });
  }
  socket.on("ask", (data, ack) => ack({ name, round: data.round }));
  return c;
}

function connect(c) {
  return new Promise((resolve) => {
    if (c.socket.connected) return resolve(true);
    const t = setTimeout(() => resolve(false), 20000);
    c.socket.once("connect", () => (clearTimeout(t), resolve(true)));
    c.socket.once("connect_error", () => (clearTimeout(t), resolve(false)));
  });
}

async function emitAck(c, ...args) {
  try {
    return await c.socket.timeout(15000).emitWithAck(...args);
  } catch (e) {
    error(`${c.name} ack of ${args[0]}`, e);
    return undefined;
  }
}

function post(body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(
      `${apiURL}/api/publish`,
      { method: "POST", agent: false, headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } },
      (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => {
          try {
            resolve({ status: res.statusCode, body: JSON.parse(b) });
          } catch {
            resolve({ status: res.statusCode, body: b });
          }
        });
      },
    );
    req.on("error", (e) => resolve({ status: 0, body: String(e.message) }));
    req.end(data);
  });
}

for (let i = 0; i < n; i++) clients.push(makeClient(i));
const connected = await Promise.all(clients.map(connect));
const start = Date.now();
if (connected.every(Boolean)) {
  for (const c of clients) {
    const rooms = await emitAck(c, "join", ALL);
    if (rooms && !rooms.includes(ALL)) error(`${c.name} join`, `rooms ${JSON.stringify(rooms)}`);
    const rooms2 = await emitAck(c, "join", c.group);
    if (rooms2 && !rooms2.includes(c.group)) error(`${c.name} join`, `rooms ${JSON.stringify(rooms2)}`);
  }
  // Everyone is in the rooms on every node before anything is published.
  await sleep(300);
}

let askRounds = 0;
let askAcks = 0;
const pending = [];
async function publisher(c) {
  let seq = 0;
  let gseq = 0;
  while (running && !c.dead) {
    seq++;
    published++;
    pending.push(emitAck(c, "publish", ALL, "msg", { from: c.name, seq }).then((r) => typeof r === "number" && acked++));
    sent.msg.set(c.name, seq);
    if (seq % 5 === 0) {
      gseq++;
      published++;
      pending.push(emitAck(c, "publish", c.group, "gmsg", { from: c.name, seq: gseq }).then((r) => typeof r === "number" && acked++));
      sent.gmsg.set(c.name, gseq);
    }
    await sleep(interval * (0.5 + Math.random()));
  }
}
async function asker() {
  while (running) {
    await sleep(askInterval);
    if (!running || clients.some((c) => c.dead)) break;
    askRounds++;
    const round = askRounds;
    const r = await post({ room: ALL, event: "ask", data: { round }, ack: true, timeout: 15000 });
    const names = new Set((r.body?.acks ?? []).map((a) => a[0]?.round === round && a[0]?.name));
    if (r.status !== 200 || r.body?.error || clients.some((c) => !names.has(c.name))) {
      error(`ask round ${round}`, `${r.status} ${JSON.stringify(r.body)}`);
    } else {
      askAcks += names.size;
    }
  }
}

if (connected.every(Boolean) && errors.length === 0) {
  const loops = [...clients.map(publisher), asker()];
  while (Date.now() - start < duration && !clients.every((c) => c.dead) && !(errors.length > 0 && sessionUnknown > 0)) {
    await sleep(100);
  }
  running = false;
  await Promise.all(loops);
  await Promise.all(pending);
  // Every client gets the last message of every other member.
  const complete = () =>
    clients.every(
      (c) =>
        c.dead ||
        clients.every(
          (o) =>
            o === c ||
            ((c.got.msg.get(o.name) ?? 0) === (sent.msg.get(o.name) ?? 0) &&
              (o.group !== c.group || (c.got.gmsg.get(o.name) ?? 0) === (sent.gmsg.get(o.name) ?? 0))),
        ),
    );
  const end = Date.now() + 15000;
  while (!complete() && Date.now() < end) await sleep(50);
  if (!complete()) {
    for (const c of clients) {
      for (const o of clients) {
        if (o === c) continue;
        const got = c.got.msg.get(o.name) ?? 0;
        if (got !== (sent.msg.get(o.name) ?? 0)) error(`${c.name} msg from ${o.name}`, `got ${got} of ${sent.msg.get(o.name)}`);
      }
    }
  }
}
running = false;

let delivered = 0;
let expected = 0;
for (const c of clients) {
  delivered += c.received;
  for (const o of clients) {
    if (o === c) continue;
    expected += sent.msg.get(o.name) ?? 0;
    if (o.group === c.group) expected += sent.gmsg.get(o.name) ?? 0;
  }
}
const transportsEnd = {};
for (const c of clients) {
  const t = c.socket.io.engine?.transport?.name ?? "none";
  transportsEnd[t] = (transportsEnd[t] ?? 0) + 1;
}
const upgraded = clients.filter((c) => c.upgraded).length;
for (const c of clients) c.socket.disconnect();
const ok = errors.length === 0 && connected.every(Boolean) && delivered === expected && acked === published && askAcks === askRounds * n && askRounds > 0;
emit({
  ok,
  mode,
  clients: n,
  seconds: Math.round((Date.now() - start) / 100) / 10,
  published,
  acked,
  delivered,
  expected,
  askRounds,
  askAcks,
  upgraded,
  transports: transportsEnd,
  sessionUnknown,
  errors,
});
process.exit(ok ? 0 : 1);
