// The hub of cmd/fanio written for the Node.js reference: socket.io 4.8 on
// @socket.io/redis-adapter 8.3 (classic), for test/nosticky_test.go, which
// runs two of them behind a round-robin load balancer to show what Node
// does without sticky sessions. The same behaviour as cmd/fanio/hub.go:
//
//   - "join" (room, ack): ack(rooms); "leave" (room, ack): ack(rooms);
//   - "publish" (room, event, data, ack): the room's other members get
//     event(data); ack(members of the room on this node);
//   - POST /api/publish {"room","event","data","ack","timeout"}: without
//     ack {"count"}, with ack {"count","acks":[[args...],...],"error"?}.
//
//   node cluster/hub.mjs --redis redis://127.0.0.1:PORT
//
// Prints {"event":"listening","port":N}; exits when stdin closes.
import http from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter } from "@socket.io/redis-adapter";
import { arg, emit, serve } from "../lib/rpc.mjs";

const url = arg("redis");
if (!url || !/^redis:\/\/127\./.test(url)) {
  console.error("--redis redis://127.0.0.1:PORT is required");
  process.exit(2);
}
const pub = createClient({ url });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on("error", (e) => emit({ event: "redis-error", error: String(e.message) }));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, { path: "/socket.io/", cors: { origin: "*" }, adapter: createAdapter(pub, sub) });

const rooms = (socket) => [...socket.rooms];

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(rooms(socket));
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack(rooms(socket));
  });
  socket.on("publish", (room, event, data, ack) => {
    socket.to(room).emit(event, data);
    if (typeof ack === "function") ack(io.of("/").adapter.rooms.get(room)?.size ?? 0);
  });
});

httpServer.on("request", (req, res) => {
  if (req.url !== "/api/publish") return;
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", async () => {
    const answer = (status, obj) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    let p;
    try {
      p = JSON.parse(body);
    } catch (e) {
      return answer(400, { error: "bad JSON: " + e.message });
    }
    if (!p.ack) {
      io.to(p.room).emit(p.event, p.data);
      return answer(200, { count: io.of("/").adapter.rooms.get(p.room)?.size ?? 0 });
    }
    try {
      const acks = await io.to(p.room).timeout(p.timeout || 5000).emitWithAck(p.event, p.data);
      answer(200, { count: acks.length, acks: acks.map((a) => [a]) });
    } catch (e) {
      answer(200, { count: 0, acks: [], error: String(e.message) });
    }
  });
});

httpServer.listen(0, "127.0.0.1", () => emit({ event: "listening", port: httpServer.address().port }));
serve({}, () => new Promise((resolve) => io.close(() => resolve())));
