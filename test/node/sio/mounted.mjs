// Scenario: an app that mounts fanio on net/http beside other routes
// (test/embed_test.go). --transport polling | websocket | upgrade.
// The server's "echo" event acks its arguments and emits "echo-back" with
// them; "transport" acks the server's view of the socket's transport;
// GET /hello on the same origin is the app's own route.
// Result: {"ok":true,"sid":...,"transport":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, once, closeAll, until } from "./util.mjs";

run("sio-mounted", async (ctx) => {
  const mode = ctx.transport ?? "upgrade";
  const opts = mode === "upgrade" ? { transports: ["polling", "websocket"] } : { transports: [mode] };
  const socket = await connect(ctx, "/", opts);
  const engine = socket.io.engine;
  if (mode === "upgrade") {
    await until(() => engine.transport.name === "websocket", 5000, "the upgrade to websocket");
  }
  assert.equal(engine.transport.name, mode === "upgrade" ? "websocket" : mode, "client transport");
  const [serverTransport] = await ack(socket, 5000, "transport");
  assert.equal(serverTransport, engine.transport.name, "server's view of the transport");

  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  const back = once(socket, "echo-back", 5000);
  const acked = await ack(socket, 5000, "echo", "héllo", { n: 1 }, bytes);
  assert.deepEqual(acked, ["héllo", { n: 1 }, bytes], "ack");
  assert.deepEqual(await back, ["héllo", { n: 1 }, bytes], "echo-back");
  for (let i = 0; i < 50; i++) socket.emit("echo", i);
  const got = [];
  socket.on("echo-back", (i) => got.push(i));
  await until(() => got.length === 50, 5000, "50 echoes");
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i), "order");

  const res = await fetch(ctx.url.replace(/\/$/, "") + "/hello");
  assert.equal(res.status, 200, "GET /hello");
  assert.equal(await res.text(), "hello from the app", "GET /hello body");

  const sid = socket.id;
  closeAll(ctx);
  return { sid, transport: engine.transport.name };
});
