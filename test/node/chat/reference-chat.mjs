// Reference for the chat example (examples/chat): the same events on the
// npm socket.io server, serving the same page (--public DIR) and its own
// copy of the client bundle (serveClient, on by default). The browser test
// runs against it with FANIO_IT_SERVER=reference, which shows that what the
// test expects of the page is what the reference server gives.
//
//   node chat/reference-chat.mjs --public ../../examples/chat/public [--port 0] [--host 127.0.0.1]
//
// Prints {"event":"listening","port":N}; closes and exits when stdin ends.
import http from "node:http";
import fs from "node:fs/promises";
import path from "node:path";
import { Server } from "socket.io";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return def;
}

const host = arg("host", "127.0.0.1");
const port = Number(arg("port", "0"));
const publicDir = path.resolve(arg("public", "../../examples/chat/public"));
if (!/^127\.|^localhost$|^::1$/.test(host)) {
  console.error(`refusing to listen on non-loopback host ${host}`);
  process.exit(2);
}

const types = { ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
const httpServer = http.createServer(async (req, res) => {
  const name = new URL(req.url, "http://x").pathname.replace(/^\/$/, "/index.html");
  const file = path.join(publicDir, path.normalize(name));
  if (!file.startsWith(publicDir + path.sep)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = await fs.readFile(file);
    res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end("not found");
  }
});

const io = new Server(httpServer);
let numUsers = 0;

io.on("connection", (socket) => {
  let name = "";
  socket.on("add user", (n) => {
    if (name) return;
    n = typeof n === "string" ? n.trim() : "";
    if (!n || [...n].length > 32) {
      socket.emit("login error", "a name is 1 to 32 characters");
      return;
    }
    name = n;
    numUsers++;
    socket.emit("login", { numUsers });
    socket.broadcast.emit("user joined", { username: name, numUsers });
  });
  socket.on("new message", (msg) => {
    if (!name || typeof msg !== "string" || !msg || [...msg].length > 2000) return;
    socket.broadcast.emit("new message", { username: name, message: msg });
  });
  for (const ev of ["typing", "stop typing"]) {
    socket.on(ev, () => {
      if (name) socket.broadcast.emit(ev, { username: name });
    });
  }
  socket.on("disconnect", () => {
    if (!name) return;
    numUsers--;
    socket.broadcast.emit("user left", { username: name, numUsers });
  });
});

httpServer.listen(port, host, () => {
  process.stdout.write(JSON.stringify({ event: "listening", port: httpServer.address().port }) + "\n");
});
process.stdin.resume();
process.stdin.on("end", () => {
  io.close();
  process.exit(0);
});
