// Scenario: connection state recovery. Client a joins a room, receives two
// broadcasts, loses its connection; three broadcasts are sent while it is
// away; it reconnects, is recovered (same id, rooms kept) and receives the
// missed broadcasts in order, then new ones.
// Result: {"ok":true,"sid":...,"received":[...]}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, once, until, closeAll } from "./util.mjs";

run("sio-recovery", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const a = await connect(ctx, "/", {
    transports: [transport],
    reconnection: true,
    reconnectionDelay: 300,
    randomizationFactor: 0,
  });
  const b = await connect(ctx, "/", { transports: [transport] });
  assert.equal(a.recovered, false);
  const sid = a.id;
  const got = [];
  a.on("m", (n, offset) => {
    assert.equal(typeof offset, "string", "broadcasts carry an offset as their last argument");
    got.push(n);
  });
  await ack(a, 5000, "join", "r");
  for (const n of [1, 2]) await ack(b, 5000, "bcast", { to: ["r"] }, "m", n);
  await until(() => got.length === 2, 5000, "the first two broadcasts");
  const reconnected = once(a, "connect", 10000, "the reconnection");
  a.io.engine.close(); // the manager reconnects after 300 ms
  for (const n of [3, 4, 5]) await ack(b, 5000, "bcast", { to: ["r"] }, "m", n);
  await reconnected;
  assert.equal(a.recovered, true, "the socket was not recovered");
  assert.equal(a.id, sid, "the recovered socket has another id");
  await until(() => got.length === 5, 5000, "the missed broadcasts");
  await ack(b, 5000, "bcast", { to: ["r"] }, "m", 6); // still in room r
  await until(() => got.length === 6, 5000, "a broadcast after the recovery");
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  a.io.opts.reconnection = false;
  a.io._reconnection = false;
  closeAll(ctx);
  return { sid, received: got };
});
