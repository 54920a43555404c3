// Scenario (socket.io-client 2.x): one way a socket gets disconnected
// (--case NAME, --transport), as the client sees it. Prints the socket id
// and the client's disconnect reason; the Go test checks the server's.
//
//   client-namespace     socket.disconnect()
//   server-namespace     the server calls socket.disconnect(false)
//   server-close         the server calls socket.disconnect(true)
//   transport-close      the client closes its Engine.IO connection
//   ping-timeout         the client stops pinging (v3: the client pings)
//   wrong-heartbeat      the client sends a pong (the wrong direction in v3)
//   transport-error      (websocket) a message over maxPayload
//   parse-error          (websocket) an undecodable Engine.IO packet
//   forced-close         an invalid Socket.IO packet
//   forced-server-close  an event for a namespace the client did not join
// Result: {"ok":true,"sid":...,"clientReason":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect } from "./util.mjs";

run("sio2-disconnect", async (ctx) => {
  const kase = ctx.args.case;
  const socket = await connect(ctx);
  const sid = socket.id;
  ctx.note("sid", sid);
  // The disconnect may follow an "error" event (a failed poll): only the
  // disconnect and its reason count here.
  const disconnected = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no disconnect within 15000 ms")), 15000);
    socket.once("disconnect", (...a) => (clearTimeout(t), resolve(a)));
  });
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
    case "ping-timeout":
      assert.equal(typeof engine.ping, "function", "engine.io-client 3 Socket#ping not found");
      engine.ping = () => {};
      break;
    case "wrong-heartbeat":
      engine.sendPacket("pong");
      break;
    case "transport-error":
      assert.equal(engine.transport.name, "websocket");
      socket.emit("echo", "x".repeat(1_100_000));
      break;
    case "parse-error":
      assert.equal(engine.transport.name, "websocket");
      engine.transport.ws.send("x");
      break;
    case "forced-close":
      engine.write('2{"not":"an array"}');
      break;
    case "forced-server-close":
      engine.write('2/nope,["x"]');
      break;
    default:
      throw new Error(`unknown --case ${kase}`);
  }
  const [reason] = await disconnected;
  socket.close();
  return { sid, clientReason: reason };
});
