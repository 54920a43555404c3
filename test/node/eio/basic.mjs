// Scenario: one transport only (--transport polling | websocket, passed to
// the client as transports: [X], so no upgrade): open, text and binary
// messages both ways, close from the client.
//
// The server echoes every message; text must come back as text and binary as
// binary with the same bytes. The messages are sent in one burst (on polling
// the client batches them into one POST payload) and must come back in order.
// Result: {"ok":true,"sid":...,"transport":...,"closeReason":"forced close",...}
// (the Go side then expects the server to report "transport close").
import { run, assert, waitEvent, Inbox, assertSameMessage, describe, requireTransport } from "../lib/scenario.mjs";

run("basic", async (ctx) => {
  const transport = requireTransport(ctx);
  const socket = ctx.open({ transports: [transport] });
  const inbox = new Inbox(socket);
  const handshaken = waitEvent(socket, "handshake", 5000);
  const opened = waitEvent(socket, "open", 5000);
  const [handshake] = await handshaken;
  await opened;
  ctx.note("sid", socket.id);
  assert.equal(typeof handshake.sid, "string");
  assert.ok(handshake.sid.length > 0, "empty sid in handshake");
  assert.equal(handshake.pingInterval, 300, "handshake pingInterval");
  assert.equal(handshake.pingTimeout, 1000, "handshake pingTimeout");
  assert.equal(handshake.maxPayload, 1000000, "handshake maxPayload");
  assert.ok(Array.isArray(handshake.upgrades), "handshake upgrades is not an array");
  assert.deepEqual(handshake.upgrades, transport === "polling" ? ["websocket"] : [], "handshake upgrades");
  assert.equal(socket.transport.name, transport);

  const bytes = new Uint8Array(256);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  const messages = [
    "hello",
    // (no empty text message: engine.io-parser decodes "4" as a message with
    // no data, which the client and the reference server surface as undefined)
    "héllo wörld ✓ 🚀 \u0000 tab\tnewline\n", // multi-byte UTF-8, NUL, controls
    "bAQID", // text that looks like a polling base64 binary packet
    "4two", // text that starts with a packet type digit
    bytes, // Uint8Array 0..255
    Buffer.from("binary buffer \xff\xfe", "latin1"), // Node Buffer
    new Uint8Array(0), // empty binary message
    new Uint8Array([0x34, 0x62, 0x1e]), // binary bytes that look like a packet and a separator
    "last",
  ];
  for (const m of messages) socket.send(m);
  for (let i = 0; i < messages.length; i++) {
    const got = await inbox.next(5000, `echo #${i}`);
    assertSameMessage(got, messages[i], `echo #${i} (${describe(messages[i])})`);
  }

  // a second round, one message at a time, server -> client -> server
  for (let i = 0; i < 5; i++) {
    const m = i % 2 === 0 ? `round ${i}` : Uint8Array.from([i, 255 - i, i]);
    socket.send(m);
    assertSameMessage(await inbox.next(5000, `round echo ${i}`), m, `round echo ${i}`);
  }
  assert.equal(socket.transport.name, transport, "transport changed although only one was allowed");
  assert.equal(inbox.items.length, 0, `unexpected extra messages: ${inbox.items.map(describe).join(", ")}`);

  const closed = waitEvent(socket, "close", 5000);
  socket.close();
  const [reason] = await closed;
  assert.equal(reason, "forced close", "client-side close reason");
  return { sid: handshake.sid, transport, echoed: messages.length + 5, closeReason: reason };
});
