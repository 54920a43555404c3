// Reference fixture for fanio-bench: the Node.js socket.io@4.8 server that
// fanio is compared against. The Go fixture (bench/server) implements the
// same contract; keep the two in step.
//
//   node bench/node/server.mjs --port 3001 [--host 127.0.0.1]
//        [--redis redis://127.0.0.1:6379 [--redis-mode classic|sharded]]
//
// With --redis it joins a cluster through @socket.io/redis-adapter
// (createAdapter, or createShardedAdapter), for `fanio-bench cluster`.
//
// Contract (namespace "/"):
//   join (room, ack)  -> socket.join(room); ack()            (ack has no arguments)
//   pub  (payload)    -> io.to("r").emit("msg", payload)     (server-side broadcast to room "r")
//   echo (...args, ack) -> ack(...args)
//   block (ms, ack)   -> await a timer of ms (at most 60 s), then ack()   (a handler awaiting a slow call)
//   namespace /app    -> a real application's: middleware reads handshake.auth.token and the
//                        user-agent header, refuses without them, keeps the token in socket.data
//   GET /stats        -> {"rss","heapUsed","sockets","cpuUser","cpuSystem"} (bytes, bytes, count in / and /app, µs, µs)
//
// Shared settings: path /socket.io/, pingInterval 25 s, pingTimeout 20 s,
// maxHttpBufferSize 1e6, perMessageDeflate off, httpCompression off, CORS *.

import http from "node:http";
import { Server } from "socket.io";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (eq) return eq.slice(name.length + 3);
  return def;
}

const port = Number(arg("port", "3001"));
const host = arg("host", "127.0.0.1");
const backlog = Number(arg("backlog", "4096"));

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && (req.url === "/stats" || req.url.startsWith("/stats?"))) {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const body = JSON.stringify({
      server: "node",
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      external: mem.external,
      sockets: io.of("/").sockets.size + io.of("/app").sockets.size,
      engineClients: io.engine.clientsCount,
      cpuUser: cpu.user,
      cpuSystem: cpu.system,
      pid: process.pid,
      versions: { node: process.versions.node, socketio: socketioVersion },
    });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});
// Idle benchmark sockets must not be reaped by Node's HTTP timeouts.
httpServer.keepAliveTimeout = 120_000;
httpServer.headersTimeout = 120_000;
httpServer.requestTimeout = 0;
httpServer.maxConnections = Infinity;

let adapter;
const redisURL = arg("redis", "");
if (redisURL) {
  const { createClient } = await import("redis");
  const { createAdapter, createShardedAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: redisURL });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error(`fixture: redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = arg("redis-mode", "classic") === "sharded" ? createShardedAdapter(pub, sub) : createAdapter(pub, sub);
}

const io = new Server(httpServer, {
  adapter,
  path: "/socket.io/",
  serveClient: false,
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxHttpBufferSize: 1e6,
  perMessageDeflate: false,
  httpCompression: false,
  cors: { origin: "*" },
  // --recovery yes: connection state recovery (bench/battery jitter)
  ...(arg("recovery", "no") === "yes" ? { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } } : {}),
});

let socketioVersion = "unknown";
try {
  const { createRequire } = await import("node:module");
  const require = createRequire(import.meta.url);
  socketioVersion = require("socket.io/package.json").version;
} catch {
  // version is informative only
}

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack();
  });
  socket.on("pub", (payload) => {
    io.to("r").emit("msg", payload);
  });
  socket.on("echo", (...args) => {
    const ack = args.length > 0 ? args[args.length - 1] : undefined;
    if (typeof ack === "function") ack(...args.slice(0, -1));
  });
  socket.on("block", async (ms, ack) => {
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(Number(ms) || 0, 0), 60_000)));
    if (typeof ack === "function") ack();
  });
});

io.of("/app").use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  const agent = socket.handshake.headers["user-agent"];
  if (typeof token !== "string" || token === "" || !agent) return next(new Error("unauthorized"));
  socket.data.user = token;
  next();
});

httpServer.on("error", (err) => {
  console.error(`fixture: ${err.message}`);
  process.exit(1);
});

httpServer.listen(port, host, backlog, () => {
  console.log(`fixture: socket.io ${socketioVersion} on node ${process.versions.node} listening on http://${host}:${port} pid ${process.pid}`);
});

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => process.exit(0));
}
