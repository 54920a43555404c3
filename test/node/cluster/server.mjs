// A Node.js cluster node for test/cluster_test.go: socket.io 4.8 on
// @socket.io/redis-adapter 8.3 (classic createAdapter, or
// createShardedAdapter), driven over stdin/stdout (lib/rpc.mjs).
//
//   node cluster/server.mjs --redis redis://127.0.0.1:PORT [--mode classic|sharded]
//        [--subscription-mode dynamic|static|dynamic-private] [--key socket.io]
//        [--parser json|msgpack]
//
// Behaviour (the Go test gives its fanio node the same):
//   - path /socket.io/, CORS *, socket.data = {name: auth.name};
//   - "join" (room, ack) / "leave" (room, ack): then ack();
//   - server-side event "sse" (...args, ack?): reported, answered
//     "node:" + args[0];
//   - events {"event":"connect"|"disconnect","sid",...} and
//     {"event":"sse","args"}.
// The ops below act on the cluster through the adapter (see each).
import http from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import msgpackParser from "socket.io-msgpack-parser";
import { arg, emit, enc, dec, serve } from "../lib/rpc.mjs";

const url = arg("redis");
const mode = arg("mode", "classic");
const key = arg("key", "socket.io");
const subscriptionMode = arg("subscription-mode", "dynamic");
const parser = arg("parser", "json");
if (!url || !/^redis:\/\/127\./.test(url)) {
  console.error("--redis redis://127.0.0.1:PORT is required");
  process.exit(2);
}

const pub = createClient({ url });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (e) => emit({ event: "redis-error", error: String(e.message) }));
await Promise.all([pub.connect(), sub.connect()]);

const adapter =
  mode === "sharded"
    ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode })
    : createAdapter(pub, sub, { key, requestsTimeout: 3000 });
const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  cors: { origin: "*" },
  adapter,
  ...(parser === "msgpack" ? { parser: msgpackParser } : {}),
});

io.on("connection", (socket) => {
  socket.data.name = socket.handshake.auth?.name ?? null;
  emit({ event: "connect", sid: socket.id, name: socket.data.name, transport: socket.conn.transport.name });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack();
  });
  socket.on("disconnect", (reason) => emit({ event: "disconnect", sid: socket.id, reason }));
});
io.of("/").on("sse", (...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  emit({ event: "sse", args: enc(args) });
  if (ack) ack("node:" + args[0]);
});

// op builds a BroadcastOperator from {rooms, except, volatile, compress, local, timeout}.
function op(p) {
  let o = io.of("/");
  let b = o.to(p.rooms ?? []);
  if (p.except?.length) b = b.except(p.except);
  if (p.volatile) b = b.volatile;
  if (p.compress === false) b = b.compress(false);
  if (p.local) b = b.local;
  if (p.timeout) b = b.timeout(p.timeout);
  return b;
}

const describe = (s) => ({
  id: s.id,
  rooms: [...s.rooms].sort(),
  data: s.data,
  handshake: { query: s.handshake.query, auth: s.handshake.auth, address: s.handshake.address, time: s.handshake.time, issued: s.handshake.issued },
});

async function remote(sid) {
  const socks = await io.in(sid).fetchSockets();
  const s = socks.find((x) => x.id === sid);
  if (!s) throw new Error(`socket ${sid} not found by fetchSockets`);
  return s;
}

const emitter = mode === "classic" ? new Emitter(pub, { key }) : null;

serve(
  {
    emit: (p) => void op(p).emit(p.event, ...dec(p.args ?? [])),
    emitWithAck: async (p) => {
      try {
        return { responses: enc(await op(p).emitWithAck(p.event, ...dec(p.args ?? []))) };
      } catch (e) {
        return { error: e.message, responses: enc(e.responses ?? []) };
      }
    },
    fetch: async (p) => (await op(p).fetchSockets()).map(describe).sort((a, b) => (a.id < b.id ? -1 : 1)),
    localSockets: () => [...io.of("/").sockets.values()].map(describe),
    remoteEmit: async (p) => void (await remote(p.sid)).emit(p.event, ...dec(p.args ?? [])),
    remoteJoin: async (p) => void (await remote(p.sid)).join(p.room),
    remoteLeave: async (p) => void (await remote(p.sid)).leave(p.room),
    remoteDisconnect: async (p) => void (await remote(p.sid)).disconnect(p.close),
    socketsJoin: (p) => void op(p).socketsJoin(p.join),
    socketsLeave: (p) => void op(p).socketsLeave(p.leave),
    disconnectSockets: (p) => void op(p).disconnectSockets(p.close),
    sse: (p) => void io.serverSideEmit(p.event, ...dec(p.args ?? [])),
    sseAck: async (p) => {
      try {
        return { responses: enc(await io.serverSideEmitWithAck(p.event, ...dec(p.args ?? []))) };
      } catch (e) {
        return { error: e.message, responses: enc(e.responses ?? []) };
      }
    },
    serverCount: () => io.of("/").adapter.serverCount(),
    allRooms: async () => [...(await io.of("/").adapter.allRooms())].sort(),
    emitter: (p) => {
      let e = emitter;
      if (!e) throw new Error("the redis emitter speaks the classic protocol only");
      let b = e.to(p.rooms ?? []);
      if (p.except?.length) b = b.except(p.except);
      if (p.volatile) b = b.volatile;
      switch (p.action) {
        case "emit":
          b.emit(p.event, ...dec(p.args ?? []));
          return;
        case "socketsJoin":
          b.socketsJoin(p.join);
          return;
        case "socketsLeave":
          b.socketsLeave(p.leave);
          return;
        case "disconnectSockets":
          b.disconnectSockets(p.close);
          return;
        case "serverSideEmit":
          e.serverSideEmit(p.event, ...dec(p.args ?? []));
          return;
      }
      throw new Error(`unknown emitter action ${p.action}`);
    },
  },
  async () => {
    io.close();
    await Promise.allSettled([pub.quit(), sub.quit()]);
  },
);

httpServer.listen(0, "127.0.0.1", () => emit({ event: "listening", port: httpServer.address().port }));
