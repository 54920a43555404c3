// Reference fixture: the npm `socket.io` server with the same behaviour as
// the Go fixture in test/sio_fixture_test.go (see there). Every scenario in
// sio/ must pass against it too (FANIO_IT_SERVER=reference).
//
//   node sio/reference-server.mjs [--port 0] [--host 127.0.0.1] [--recovery yes] [--ping-interval 300] [--ping-timeout 200] [--allow-eio3 no]
//        [--parser json|msgpack]
//
// One JSON line per event on stdout:
//   {"event":"listening","port":N}
//   {"event":"connect","nsp":...,"sid":...,"transport":...}
//   {"event":"disconnect","nsp":...,"sid":...,"reason":...,"transport":...}
// It calls io.close() and exits when its stdin ends.
import http from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return def;
}

const host = arg("host", "127.0.0.1");
const port = Number(arg("port", "0"));
if (!/^127\.|^localhost$|^::1$/.test(host)) {
  console.error(`refusing to listen on non-loopback host ${host}`);
  process.exit(2);
}
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// /v2/: the page of the socket.io-client 2.x browser test (same origin as
// the server: a 2.x client sends credentials), as the Go fixture serves it.
const v2Files = {
  "/v2/index.html": ["../browser/sio2.html", "text/html; charset=utf-8"],
  "/v2/scenario.js": ["../browser/sio2-scenario.js", "text/javascript; charset=utf-8"],
  "/v2/socket.io.js": ["../node_modules/socket.io-client-v2/dist/socket.io.js", "text/javascript; charset=utf-8"],
};
const httpServer = http.createServer(async (req, res) => {
  const f = v2Files[new URL(req.url, "http://x").pathname];
  if (!f) return res.writeHead(404).end();
  const body = await readFile(fileURLToPath(new URL(f[0], import.meta.url)));
  res.writeHead(200, { "Content-Type": f[1] }).end(body);
});
const opts = {
  path: "/socket.io/",
  pingInterval: Number(arg("ping-interval", "300")),
  pingTimeout: Number(arg("ping-timeout", "200")),
  maxHttpBufferSize: 1e6,
  connectTimeout: 1000,
  cors: { origin: "*" },
  allowEIO3: arg("allow-eio3", "yes") === "yes", // socket.io-client 2.x (the sio2/ scenarios)
};
const parser = arg("parser", "json");
if (parser === "msgpack") {
  opts.parser = msgpackParser;
} else if (parser !== "json") {
  console.error(`unknown --parser ${parser}`);
  process.exit(2);
}
if (arg("recovery", "no") === "yes") {
  opts.connectionStateRecovery = { maxDisconnectionDuration: 2 * 60 * 1000, skipMiddlewares: true };
}
const io = new Server(httpServer, opts);

// A recovered socket is logged as "<id>/recovered", and as
// "<id>/recovered/<n>" when it is recovered again (the n-th time).
const recoveries = new Map();
function track(socket) {
  let sid = socket.id;
  if (socket.recovered) {
    const n = (recoveries.get(socket.id) ?? 0) + 1;
    recoveries.set(socket.id, n);
    sid = n > 1 ? `${socket.id}/recovered/${n}` : `${socket.id}/recovered`;
  }
  log({ event: "connect", nsp: socket.nsp.name, sid, transport: socket.conn.transport.name, recovered: socket.recovered, protocol: socket.conn.protocol });
  socket.on("disconnect", (reason) => {
    log({ event: "disconnect", nsp: socket.nsp.name, sid, reason, transport: socket.conn.transport.name });
  });
}

function rejectOnAuth(socket, next) {
  const auth = socket.handshake.auth || {};
  if (typeof auth.reject === "string") {
    const err = new Error("rejected");
    err.data = { reason: auth.reject };
    return next(err);
  }
  next();
}
io.use(rejectOnAuth);
io.of("/custom").use(rejectOnAuth);

io.on("connection", (socket) => {
  track(socket);
  socket.emit("auth", socket.handshake.auth);
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    socket.emit("echo-back", ...args);
    if (ack) ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (ack) ack();
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (ack) ack();
  });
  socket.on("bcast", (o, event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    let op = o.fromSocket ? socket.broadcast : io.of("/");
    if (o.to && o.to.length) op = op.to(o.to);
    if (o.except && o.except.length) op = op.except(o.except);
    if (o.volatile) op = op.volatile;
    op.emit(event, ...args);
    if (ack) ack();
  });
  socket.on("ask", async (o, ...args) => {
    const ack = args.pop();
    try {
      const answer = await socket.timeout(o.timeout).emitWithAck("question", ...args);
      ack({ answer: [answer] });
    } catch (e) {
      ack({ error: e.message });
    }
  });
  socket.on("ask-room", async (o, ack) => {
    try {
      const responses = await io.to(o.room).timeout(o.timeout).emitWithAck("question");
      ack({ responses: sortJSON(responses) });
    } catch (e) {
      ack({ error: e.message, responses: sortJSON(e.responses || []) });
    }
  });
  socket.on("disconnect-me", (close) => socket.disconnect(close));
  socket.on("handshake", (names, ack) => {
    const h = socket.handshake;
    const headers = {};
    for (const n of names) headers[n] = h.headers[n.toLowerCase()] ?? null;
    ack({
      headers, query: h.query, auth: h.auth, address: h.address, xdomain: h.xdomain,
      secure: h.secure, url: h.url, issued: h.issued,
    });
  });
  socket.on("stream", (o) => {
    let i = 0;
    const send = () => {
      io.to(o.room).emit("n", i++);
      if (i < Math.min(o.count, 100000)) setTimeout(send, Math.max(1, o.interval));
    };
    send();
  });
});

io.of("/custom").on("connection", (socket) => {
  track(socket);
  socket.emit("auth", socket.handshake.auth);
});

function sortJSON(list) {
  return list.map((x) => JSON.stringify(x)).sort().map((x) => JSON.parse(x));
}

httpServer.listen(port, host, () => log({ event: "listening", port: httpServer.address().port }));
process.stdin.resume();
process.stdin.on("end", () => {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
