// Reference fixture for the Admin UI protocol: socket.io 4.8 with
// @socket.io/admin-ui 0.5.1's instrument(), and cmd/fanio's hub behaviour
// (join, leave, publish), so that admin/shapes.mjs can run against it and
// against cmd/fanio alike.
//
//   node admin/reference-admin.mjs [--port 0] --hash BCRYPT [--mode development]
//
// Prints {"event":"listening","port":N}; stops when stdin ends.
import http from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";
import { parseArgs } from "../lib/scenario.mjs";

const args = parseArgs();
const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval: 25000, pingTimeout: 20000 });
instrument(io, {
  auth: { type: "basic", username: "admin", password: args.hash },
  mode: args.mode ?? "development",
  serverId: "reference",
});
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack([...socket.rooms]);
  });
  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack([...socket.rooms]);
  });
  socket.on("publish", (room, event, data, ack) => {
    socket.to(room).emit(event, data);
    if (typeof ack === "function") ack(1);
  });
});
httpServer.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ event: "listening", port: httpServer.address().port }) + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
