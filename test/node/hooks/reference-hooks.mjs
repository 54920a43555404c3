// Reference fixture for engine.io's server-level events: an engine.io
// Server at /engine.io/ whose allowRequest refuses ?deny=1 with "go away",
// and that logs, one JSON line each:
//   {"event":"connection_error","code","message","context"}
//   {"event":"initial_headers"|"headers","method","transport"}
// Its initial_headers hook sets X-Initial: yes, its headers hook X-Every: 1.
// engine.io's Server is the one socket.io 4.8 uses (6.6).
//
//   node hooks/reference-hooks.mjs   -> {"event":"listening","port":N}
import http from "node:http";
import { Server } from "engine.io";

const log = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const engine = new Server({
  allowRequest: (req, cb) => {
    const u = new URL(req.url, "http://x");
    if (u.searchParams.get("deny")) cb("go away", false);
    else cb(null, true);
  },
});
engine.attach(httpServer, { path: "/engine.io/" });
engine.on("connection_error", (e) => {
  const context = {};
  for (const [k, v] of Object.entries(e.context ?? {})) context[k] = v;
  log({ event: "connection_error", code: e.code, message: e.message, context });
});
const transportOf = (req) => new URL(req.url, "http://x").searchParams.get("transport");
engine.on("initial_headers", (headers, req) => {
  headers["X-Initial"] = "yes";
  log({ event: "initial_headers", method: req.method, transport: transportOf(req) });
});
engine.on("headers", (headers, req) => {
  headers["X-Every"] = "1";
  log({ event: "headers", method: req.method, transport: transportOf(req) });
});
engine.on("connection", (socket) => socket.on("message", (m) => socket.send(m)));
httpServer.listen(0, "127.0.0.1", () => log({ event: "listening", port: httpServer.address().port }));
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
