// Reference fixture: the npm `engine.io` server with the same behaviour as the
// Go test server in test/harness_test.go. Every scenario in eio/ must pass
// against this fixture too; that is how we know the scenario itself is right.
//
//   node reference-eio-server.mjs [--port 0] [--host 127.0.0.1]
//
// Behaviour (identical in the Go test server):
//   - path /engine.io/, pingInterval 300 ms, pingTimeout 1000 ms,
//     maxPayload (maxHttpBufferSize) 1000000, CORS origin *;
//   - every message is echoed as is (text stays text, binary stays binary),
//     except the two text commands below, which are not echoed;
//   - text "close-me": the server closes the session;
//   - text "stream <count> <intervalMs>": the server sends "srv <i>" for
//     i = 0..count-1, one every intervalMs (stops if the session closes);
//   - requests outside /engine.io/ get 404;
//   - the HTTP parser's header limit is Node's default, 16 KiB, as fanio's
//     default MaxHeaderBytes.
//
// One JSON line per event on stdout:
//   {"event":"listening","port":N}
//   {"event":"open","sid":...,"transport":...}
//   {"event":"upgrade","sid":...,"transport":...}
//   {"event":"close","sid":...,"reason":...,"transport":...,"clients":N}
//   (clients: the sessions still open after this one)
import http from "node:http";
import { Server } from "engine.io";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return def;
}

const host = arg("host", "127.0.0.1");
const port = Number(arg("port", process.env.PORT ?? "0"));
if (!/^127\.|^localhost$|^::1$/.test(host)) {
  console.error(`refusing to listen on non-loopback host ${host}`);
  process.exit(2);
}

const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const httpServer = http.createServer({ maxHeaderSize: 16384 }, (req, res) => {
  // only reached for paths outside /engine.io/ (engine.attach intercepts the rest)
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const engine = new Server({
  pingInterval: 300,
  pingTimeout: 1000,
  maxHttpBufferSize: 1_000_000,
  cors: { origin: "*" },
});
engine.attach(httpServer, { path: "/engine.io/" });

const STREAM_RE = /^stream (\d+) (\d+)$/;

engine.on("connection", (socket) => {
  const sid = socket.id;
  log({ event: "open", sid, transport: socket.transport.name });
  let streamTimer = null;
  socket.on("upgrade", (transport) => {
    log({ event: "upgrade", sid, transport: transport.name });
  });
  socket.on("message", (data) => {
    if (typeof data === "string") {
      if (data === "close-me") {
        socket.close();
        return;
      }
      const m = STREAM_RE.exec(data);
      if (m) {
        const count = Math.min(Number(m[1]), 100_000);
        const interval = Math.min(Number(m[2]), 10_000);
        let i = 0;
        const tick = () => {
          streamTimer = null;
          if (socket.readyState !== "open" || i >= count) return;
          socket.send(`srv ${i}`);
          i++;
          if (i < count) streamTimer = setTimeout(tick, interval);
        };
        tick();
        return;
      }
    }
    socket.send(data);
  });
  socket.on("close", (reason) => {
    if (streamTimer) clearTimeout(streamTimer);
    log({ event: "close", sid, reason, transport: socket.transport.name, clients: engine.clientsCount });
  });
});

httpServer.listen(port, host, () => {
  log({ event: "listening", port: httpServer.address().port });
});

function shutdown() {
  engine.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
// exit with the parent (the Go harness closes our stdin when it is done)
if (arg("exit-on-stdin-end", "no") === "yes") {
  process.stdin.on("end", shutdown);
  process.stdin.resume();
}
