// Scenario: events with mixed JSON and binary arguments both ways, with and
// without acknowledgements (--transport polling | websocket).
// Result: {"ok":true,"sid":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, once, ack, closeAll } from "./util.mjs";

run("sio-events", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const socket = await connect(ctx, "/", { transports: [transport] });
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  // socket.io-msgpack-parser's notepack 2.2 writes integral numbers of 2^64
  // and more as a uint 64 whose high word wraps (1e21 arrives as
  // 3875820019684212700, with the reference too): the largest one here
  // stays below
  const big = (ctx.args.parser ?? "json") === "msgpack" ? 1e19 : 1e21;
  const cases = [
    ["text", "héllo ✓ 🚀 <&> \u2028"],
    ["numbers", 0, -1.5, big, 12345678901234],
    ["mixed", { a: [1, { b: null }], s: "x" }, true, null],
    ["binary", bytes, Buffer.from([])],
    ["nested binary", { file: Buffer.from("abc"), list: [Buffer.from([1]), 2] }, "tail"],
  ];
  for (const args of cases) {
    const back = once(socket, "echo-back", 5000, `echo-back of ${args[0]}`);
    const acked = await ack(socket, 5000, "echo", ...args);
    const [got] = [await back];
    assert.deepEqual(got, args, `echo-back of ${args[0]}`);
    assert.deepEqual(acked, args, `ack of ${args[0]}`);
  }
  // emitWithAck with a timeout (the client's own helper)
  const res = await socket.timeout(2000).emitWithAck("echo", "with", "ack");
  assert.equal(res, "with");
  // many events in a burst stay in order
  const got = [];
  socket.on("echo-back", (i) => got.push(i));
  for (let i = 0; i < 200; i++) socket.emit("echo", i);
  const end = Date.now() + 5000;
  while (got.length < 200 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i), "burst order");
  const sid = socket.id;
  closeAll(ctx);
  return { sid, transport: socket.io.engine ? transport : transport };
});
