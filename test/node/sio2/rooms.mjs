// Scenario: socket.io-client 2.x and 4.x clients in the same rooms. Every
// broadcast (to, except, socket.broadcast, volatile; text and binary)
// reaches the members of either version alike, and a broadcast with
// acknowledgements collects both versions' answers.
// Clients: a, b (2.x, --transport) and c, d (4.x, websocket and polling).
// Result: {"ok":true}
import { run } from "../lib/scenario.mjs";
import { io as ioV4 } from "socket.io-client";
import { assert, connect, ack, plain, until, sleep, closeAll } from "./util.mjs";

function collect(socket, event) {
  const list = [];
  socket.on(event, (...a) => list.push(plain(a)));
  return list;
}

async function connectV4(ctx, transport) {
  const s = ioV4(ctx.url, { path: ctx.path, reconnection: false, forceNew: true, transports: [transport] });
  (ctx.sioSockets ??= []).push(s);
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("4.x client: no connect")), 10000);
    s.once("connect", () => (clearTimeout(t), resolve()));
    s.once("connect_error", (e) => (clearTimeout(t), reject(e)));
  });
  return s;
}

run("sio2-rooms", async (ctx) => {
  const a = await connect(ctx);
  const b = await connect(ctx);
  const c = await connectV4(ctx, "websocket");
  const d = await connectV4(ctx, "polling");
  const all = { a, b, c, d };
  const got = Object.fromEntries(Object.entries(all).map(([k, s]) => [k, collect(s, "m")]));
  await ack(a, 10000, "join", "r1");
  await ack(b, 10000, "join", "r1");
  await ack(b, 10000, "join", "r2");
  await c.timeout(10000).emitWithAck("join", "r1");
  await d.timeout(10000).emitWithAck("join", "r2");
  const blob = Buffer.from([0, 1, 2, 250]);
  const steps = [
    [{ to: ["r1"] }, 1], // a b c
    [{ to: ["r1", "r2"] }, 2], // a b c d, b once
    [{ to: ["r1"], except: ["r2"] }, 3], // a c
    [{ except: ["r1"] }, 4], // d
    [{ fromSocket: true }, 5], // all but a
    [{ fromSocket: true, to: ["r2"] }, 6], // b d
    [{ to: ["r1"] }, 7, blob, { nested: blob }], // a b c, binary
    [{}, 8],
  ];
  for (const [o, n, ...rest] of steps) await ack(a, 10000, "bcast", o, "m", n, ...rest);
  const want = {
    a: [1, 2, 3, 7, 8],
    b: [1, 2, 5, 6, 7, 8],
    c: [1, 2, 3, 5, 7, 8],
    d: [2, 4, 5, 6, 8],
  };
  await until(() => Object.keys(want).every((k) => got[k].length >= want[k].length), 15000, "the broadcasts");
  await sleep(100); // nothing more may come
  for (const k of Object.keys(want)) {
    assert.deepEqual(got[k].map((x) => x[0]), want[k], `client ${k} received`);
    const bin = got[k].find((x) => x[0] === 7);
    if (bin) assert.deepEqual(bin, [7, blob, { nested: blob }], `client ${k}: the binary broadcast`);
  }
  // a broadcast with acknowledgements answered by both versions
  for (const [k, s] of Object.entries(all)) {
    s.on("question", (...args) => args.pop()(k));
  }
  const [res] = await ack(b, 10000, "ask-room", { room: "r1", timeout: 8000 });
  assert.deepEqual(res, { responses: ["a", "b", "c"] }, "acks of the room");
  closeAll(ctx);
  return {};
});
