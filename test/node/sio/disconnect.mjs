// Scenario: one way a socket gets disconnected (--case NAME, --transport),
// as the client sees it. Prints the socket id and the client's disconnect
// reason; the Go test checks the server's reason.
//
//   client-namespace      socket.disconnect()
//   server-namespace      the server calls socket.disconnect(false)
//   server-close          the server calls socket.disconnect(true)
//   transport-close       the client closes its Engine.IO connection
//   ping-timeout          the client stops answering pings
//   transport-error       (websocket) a message over maxPayload
//   parse-error           (websocket) an undecodable Engine.IO packet
//   forced-close          an invalid Socket.IO packet
//   forced-server-close   an event for a namespace the client did not join
//   server-shutdown       the Go test shuts the server down once it sees
//                         the socket (the scenario just waits)
//   connect-timeout       an Engine.IO connection that joins no namespace
// Result: {"ok":true,"sid":...,"clientReason":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, once, open, io } from "./util.mjs";
import { Manager } from "socket.io-client";

run("sio-disconnect", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const kase = ctx.args.case;
  if (kase === "connect-timeout") {
    const m = new Manager(ctx.url, { path: ctx.path, reconnection: false, autoConnect: false, transports: [transport] });
    const start = Date.now();
    m.open();
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the connection was not closed within 5 s")), 5000);
      m.on("close", (reason) => {
        clearTimeout(t);
        ctx.note("clientReason", reason);
        resolve();
      });
    });
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 800, `closed after ${elapsed} ms, before the 1 s connectTimeout`);
    return { elapsed };
  }
  const socket = await connect(ctx, "/", { transports: [transport] });
  const sid = socket.id;
  ctx.note("sid", sid);
  const disconnected = once(socket, "disconnect", 8000);
  const engine = socket.io.engine;
  switch (kase) {
    case "client-namespace":
      socket.disconnect();
      break;
    case "server-namespace":
      socket.emit("disconnect-me", false);
      break;
    case "server-close":
      socket.emit("disconnect-me", true);
      break;
    case "transport-close":
      engine.close();
      break;
    case "ping-timeout": {
      assert.equal(typeof engine._sendPacket, "function", "engine.io-client Socket#_sendPacket not found");
      const original = engine._sendPacket;
      engine._sendPacket = function (type, ...rest) {
        if (type === "pong") return;
        return original.call(this, type, ...rest);
      };
      break;
    }
    case "transport-error":
      assert.equal(transport, "websocket");
      socket.emit("echo", "x".repeat(1_100_000));
      break;
    case "parse-error":
      assert.equal(transport, "websocket");
      engine.transport.ws.send("x");
      break;
    case "forced-close":
      engine.send('2{"not":"an array"}');
      break;
    case "forced-server-close":
      engine.send('2/nope,["x"]');
      break;
    case "server-shutdown":
      console.log(JSON.stringify({ ready: true, sid }));
      break;
    default:
      throw new Error(`unknown --case ${kase}`);
  }
  const [reason] = await disconnected;
  socket.close();
  return { sid, clientReason: reason };
});
