// Scenario (run with --parser msgpack): what socket.io-msgpack-parser
// puts on the wire, seen from the client's Engine.IO socket. Every
// Socket.IO packet, both ways, is exactly one binary Engine.IO message (no
// text message, no attachment), binary values inline at any depth: events
// with binary both ways, acknowledgements both ways (with binary), a second
// namespace on the same connection, a connect error with data.
// Result: {"ok":true,"sid":...,"received":N,"sent":N}
import { run } from "../lib/scenario.mjs";
import { assert, connect, open, once, ack, closeAll } from "./util.mjs";

run("sio-msgpack-wire", async (ctx) => {
  assert.equal(ctx.args.parser, "msgpack", "this scenario runs with --parser msgpack");
  const transport = ctx.transport ?? "websocket";
  const socket = open(ctx, "/", { transports: [transport] });
  const engine = socket.io.engine;
  const wire = { received: 0, sent: 0, decoded: 0, text: [] };
  engine.on("packet", (p) => {
    if (p.type !== "message") return;
    wire.received++;
    if (typeof p.data === "string") wire.text.push(`received ${p.data.slice(0, 40)}`);
  });
  engine.on("packetCreate", (p) => {
    if (p.type !== "message") return;
    wire.sent++;
    if (typeof p.data === "string") wire.text.push(`sent ${p.data.slice(0, 40)}`);
  });
  socket.io.decoder.on("decoded", () => wire.decoded++);
  await once(socket, "connect", 5000);
  ctx.note("wire", wire);

  // events with binary values at the top and nested, and an ack
  const args = [Buffer.from([0, 1, 255]), { file: Buffer.from("abc"), list: [Buffer.from([]), 1] }, "s", 1.5, null];
  const back = once(socket, "echo-back", 5000);
  const acked = await ack(socket, 5000, "echo", ...args);
  assert.deepEqual((await back), args, "echo-back");
  assert.deepEqual(acked, args, "ack");

  // the server asks, the client answers with binary
  socket.on("question", (...a) => {
    const cb = a.pop();
    cb({ args: a, blob: Buffer.from([9]) });
  });
  const [r] = await ack(socket, 5000, "ask", { timeout: 2000 }, "q", Buffer.from([7]));
  assert.deepEqual(r, { answer: [{ args: ["q", Buffer.from([7])], blob: Buffer.from([9]) }] });

  // a second namespace on the same connection
  const custom = socket.io.socket("/custom", { auth: { who: "custom", bin: Buffer.from([1]) } });
  (ctx.sioSockets ??= []).push(custom);
  const auth = once(custom, "auth", 5000);
  await once(custom, "connect", 5000);
  assert.deepEqual((await auth)[0].who, "custom");

  // a connect error with data (another connection)
  const refused = open(ctx, "/", { auth: { reject: "because" }, transports: [transport] });
  const [err] = await once(refused, "connect_error", 5000);
  assert.equal(err.message, "rejected");
  assert.deepEqual(err.data, { reason: "because" });
  refused.close();

  assert.deepEqual(wire.text, [], "text messages");
  // CONNECT x2, echo-back, ack, question, ack of ask, auth: 7 packets in, one message each
  assert.equal(wire.received, wire.decoded, "one Engine.IO message per Socket.IO packet received");
  assert.ok(wire.received >= 7, `received ${wire.received} packets`);
  assert.ok(wire.sent >= 5, `sent ${wire.sent} packets`);
  const sid = socket.id;
  custom.disconnect();
  closeAll(ctx);
  return { sid, received: wire.received, sent: wire.sent };
});
