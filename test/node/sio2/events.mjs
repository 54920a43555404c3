// Scenario (socket.io-client 2.x): connect to "/" (joined by the server
// without a CONNECT), the socket id is the Engine.IO id, then events with
// mixed JSON and binary arguments both ways, acknowledgements both ways
// (the client's, the server's "question" with binary), a burst in order.
// --transport polling | polling-b64 | websocket | upgrade
// Result: {"ok":true,"sid":...,"transport":...,"supportsBinary":...}
import { run } from "../lib/scenario.mjs";
import { assert, open, once, connect, ack, plain, engineInfo, until, closeAll } from "./util.mjs";

run("sio2-events", async (ctx) => {
  const socket = open(ctx, "/");
  const auth = once(socket, "auth", 10000);
  await once(socket, "connect", 10000);
  if (ctx.transport === "upgrade") {
    const { upgraded } = await import("./util.mjs");
    await upgraded(socket);
  }
  assert.equal(socket.id, socket.io.engine.id, "the socket id of / is the Engine.IO id");
  assert.deepEqual((await auth)[0], {}, "auth of the implicit connection");

  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const cases = [
    ["text", "héllo ✓ 🚀 <&> \u2028 \n end"],
    ["numbers", 0, -1.5, 1e21, 12345678901234],
    ["mixed", { a: [1, { b: null }], s: "x" }, true, null],
    ["binary", bytes, Buffer.from([])],
    ["nested binary", { file: Buffer.from("abc"), list: [Buffer.from([1]), 2] }, "tail"],
  ];
  for (const args of cases) {
    const back = once(socket, "echo-back", 10000, `echo-back of ${args[0]}`);
    const acked = await ack(socket, 10000, "echo", ...args);
    const got = await back;
    assert.deepEqual(plain(got), args, `echo-back of ${args[0]}`);
    assert.deepEqual(plain(acked), args, `ack of ${args[0]}`);
  }

  // the server asks, the client answers (with binary) through an ack
  socket.on("question", (...a) => {
    const cb = a.pop();
    cb({ got: plain(a), blob: Buffer.from([7, 8, 9]) });
  });
  const [res] = await ack(socket, 10000, "ask", { timeout: 8000 }, "q?", Buffer.from([1, 2]));
  assert.deepEqual(plain(res), { answer: [{ got: ["q?", Buffer.from([1, 2])], blob: Buffer.from([7, 8, 9]) }] }, "server-side ack");

  // a burst stays in order
  const got = [];
  socket.on("echo-back", (i) => got.push(i));
  for (let i = 0; i < 200; i++) socket.emit("echo", i);
  await until(() => got.length >= 200, 10000, "200 echoes");
  assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => i), "burst order");

  const info = engineInfo(socket);
  const sid = socket.id;
  closeAll(ctx);
  return { sid, ...info };
});
