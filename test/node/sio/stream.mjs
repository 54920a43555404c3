// Scenario: broadcasts reach a polling-only client and a client that
// upgrades from polling to WebSocket in the middle of the stream, without
// loss or reordering. The upgrading client's probe is delayed (--probe-delay
// ms, default 150) so that the upgrade happens while "n" events flow.
// Result: {"ok":true,"upgradedAt":N,...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, collect, until, closeAll } from "./util.mjs";

run("sio-stream", async (ctx) => {
  const count = Number(ctx.args.count ?? 400);
  const interval = Number(ctx.args.interval ?? 2);
  const probeDelay = Number(ctx.args["probe-delay"] ?? 150);
  const a = await connect(ctx, "/", { transports: ["polling"] });
  const b = await connect(ctx, "/", { transports: ["polling", "websocket"], upgrade: false });
  assert.equal(b.io.engine.transport.name, "polling");
  const gotA = collect(a, "n");
  const gotB = collect(b, "n");
  await ack(a, 5000, "join", "s");
  await ack(b, 5000, "join", "s");
  // upgrade b by hand, mid-stream (upgrade: false above kept the client from probing at open)
  const engine = b.io.engine;
  assert.equal(typeof engine._probe, "function", "engine.io-client Socket#_probe not found");
  let upgradedAt = -1;
  engine.on("upgrade", () => {
    upgradedAt = gotB.length;
  });
  a.emit("stream", { room: "s", count, interval });
  setTimeout(() => engine._probe("websocket"), probeDelay);
  await until(() => gotA.length >= count && gotB.length >= count, 15000, `${count} events on both clients (a ${gotA.length}, b ${gotB.length})`);
  const want = Array.from({ length: count }, (_, i) => i);
  assert.deepEqual(gotA.map((x) => x[0]), want, "polling client: order and completeness");
  assert.deepEqual(gotB.map((x) => x[0]), want, "upgrading client: order and completeness");
  assert.equal(a.io.engine.transport.name, "polling");
  assert.equal(b.io.engine.transport.name, "websocket", "b did not upgrade");
  assert.ok(upgradedAt > 0 && upgradedAt < count, `the upgrade happened at event ${upgradedAt}, not mid-stream`);
  closeAll(ctx);
  return { upgradedAt, count };
});
