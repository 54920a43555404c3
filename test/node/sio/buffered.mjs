// Scenario: a client that emits while it is not connected flushes its
// buffered emits when it connects (socket.io-client's sendBuffer); over
// polling that is one POST carrying all of them (within maxPayload). Every
// emit must be acknowledged, in order: the server may slow the burst down
// (it holds the POST's answer while its handlers are behind), never cut it.
// The reference acknowledges them all.
// Args: --count N (default 2000), --transport polling|websocket,
// --event leave|echo (default leave).
// Result: {"ok":true,"acked":N,"ms":...}
import { run } from "../lib/scenario.mjs";
import { assert, open, once, closeAll } from "./util.mjs";

run("sio-buffered", async (ctx) => {
  const n = Number(ctx.args.count ?? 2000);
  const transport = ctx.transport ?? "polling";
  const socket = open(ctx, "/", { transports: [transport], autoConnect: false });
  // "leave" of a room the socket is not in: the lightest handler the
  // test fixtures have that acknowledges. --event echo for the bench
  // fixtures (bench/battery), whose echo only acknowledges.
  const event = ctx.args.event ?? "leave";
  const arg = event === "leave" ? "none" : "x";
  const acks = [];
  const order = [];
  for (let i = 0; i < n; i++) {
    acks.push(
      new Promise((resolve, reject) =>
        socket.timeout(60000).emit(event, arg, (err) => (err ? reject(new Error(`emit ${i}: no ack`)) : (order.push(i), resolve(i)))),
      ),
    );
  }
  ctx.note("buffered", socket.sendBuffer.length);
  const start = Date.now();
  let reasons = [];
  socket.on("disconnect", (r) => reasons.push(r));
  const connected = once(socket, "connect", 10000);
  socket.connect();
  await connected;
  let acked = 0;
  await Promise.all(acks.map((p) => p.then(() => ctx.note("acked", ++acked))));
  for (let i = 0; i < n; i++) assert.equal(order[i], i, `acknowledgement ${i} out of order`);
  assert.deepEqual(reasons, [], "the connection was cut");
  const ms = Date.now() - start;
  closeAll(ctx);
  return { acked, ms };
});
