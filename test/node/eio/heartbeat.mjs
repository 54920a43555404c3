// Scenario: heartbeat timeout. The client stops answering the server's pings;
// the server must close the session after pingInterval + pingTimeout
// (--transport polling | websocket).
//
// Hooks into engine.io-client 6.6 (build/esm/socket.js), both checked so a
// client upgrade that moves them fails loudly instead of passing silently:
//   - Socket#_sendPacket(type, ...) is the single path every outgoing packet
//     of the Socket takes (send/write, and the "pong" written by _onPacket on a
//     "ping"); it is wrapped on this instance to drop packets of type "pong".
//     The public "packetCreate" event fires too late to drop anything, and the
//     transports change on upgrade, so this is the least fragile hook.
//   - the client's own heartbeat timer (_resetPingTimeout) would close the
//     socket itself pingInterval + pingTimeout after the last ping, 300 ms
//     after the server should have; to make sure the close we see comes from
//     the server, the client's copy of pingTimeout (_pingTimeout, read from the
//     handshake) is raised to 10 s after the handshake.
//
// Meanwhile the client sends a text message every --keepalive-ms (default 50)
// and checks the echoes: messages must not stand in for a pong (the reference
// server extends the deadline once per ping for other traffic, then closes).
//
// Asserts: at least one ping arrived and every pong was dropped; the client
// sees "close" caused by the server: "transport close", or on polling
// "transport error" after a 400 when a keepalive POST or the next GET
// reached the server after it had dropped the session (see
// assertClosedByServer). The Go side expects the server to report
// "ping timeout".
import { run, assert, waitEvent, requireTransport, assertClosedByServer } from "../lib/scenario.mjs";

run("heartbeat", async (ctx) => {
  const transport = requireTransport(ctx);
  const keepaliveMs = Number(ctx.args["keepalive-ms"] ?? 50);
  const socket = ctx.open({ transports: [transport] });

  assert.equal(typeof socket._sendPacket, "function", "engine.io-client Socket#_sendPacket not found: the pong hook needs updating");
  const original = socket._sendPacket;
  let pongsDropped = 0;
  let pings = 0;
  let sentOther = 0;
  socket._sendPacket = function (type, ...rest) {
    if (type === "pong") {
      pongsDropped++;
      return;
    }
    sentOther++;
    return original.call(this, type, ...rest);
  };
  socket.on("ping", () => pings++);

  const handshaken = waitEvent(socket, "handshake", 5000);
  const opened = waitEvent(socket, "open", 5000);
  const [handshake] = await handshaken;
  await opened;
  const sid = socket.id;
  ctx.note("sid", sid);
  assert.equal(socket._pingTimeout, handshake.pingTimeout, "engine.io-client Socket#_pingTimeout not found: the heartbeat hook needs updating");
  socket._pingTimeout = 10000; // takes effect at the next ping

  let echoes = 0;
  let badEcho = null;
  let n = 0;
  socket.on("message", (d) => {
    if (d === `keepalive ${echoes}`) echoes++;
    else if (!badEcho) badEcho = String(d).slice(0, 40);
  });
  const start = Date.now();
  const timer = keepaliveMs > 0 ? setInterval(() => socket.send(`keepalive ${n++}`), keepaliveMs) : null;
  const [reason, desc] = await waitEvent(socket, "close", 10000, "the server closing the session");
  if (timer) clearInterval(timer);
  const elapsedMs = Date.now() - start;
  ctx.note("pings", pings);
  ctx.note("pongsDropped", pongsDropped);

  assert.ok(pings >= 1, "no ping arrived before the close");
  assert.equal(pongsDropped, pings, "a pong was not dropped");
  assertClosedByServer(reason, desc, transport);
  assert.equal(badEcho, null, `unexpected message ${badEcho}`);
  return {
    sid,
    transport,
    pings,
    pongsDropped,
    keepaliveSent: n,
    keepaliveEchoed: echoes,
    elapsedMs, // informative only
    closeReason: reason,
    closeDescription: desc && desc.description !== undefined ? String(desc.description) : undefined,
  };
});
