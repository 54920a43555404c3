// Scenario: rooms, to, except, socket.broadcast (excludes the sender),
// volatile (WebSocket only), with three clients.
// Result: {"ok":true}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, collect, sleep, until, closeAll } from "./util.mjs";

run("sio-rooms", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const [a, b, c] = [
    await connect(ctx, "/", { transports: [transport] }),
    await connect(ctx, "/", { transports: [transport] }),
    await connect(ctx, "/", { transports: [transport] }),
  ];
  const got = { a: collect(a, "m"), b: collect(b, "m"), c: collect(c, "m") };
  await ack(a, 5000, "join", "r1");
  await ack(b, 5000, "join", "r1");
  await ack(b, 5000, "join", "r2");
  const steps = [
    [{ to: ["r1"] }, 1],
    [{ to: ["r1", "r2"] }, 2], // b once
    [{ to: ["r1"], except: ["r2"] }, 3],
    [{ except: ["r1"] }, 4],
    [{ fromSocket: true }, 5], // all but a
    [{ fromSocket: true, to: ["r1"] }, 6], // b
    [{ to: ["r1"], volatile: true }, 7],
    [{}, 8],
  ];
  // over polling a volatile packet is dropped when the client has no GET
  // waiting, by design (the reference does so too): not asserted there
  const polling = transport === "polling";
  for (const [o, n] of steps) {
    if (polling && o.volatile) continue;
    await ack(a, 5000, "bcast", o, "m", n);
  }
  await ack(b, 5000, "leave", "r1");
  await ack(a, 5000, "bcast", { to: ["r1"] }, "m", 9);
  const want = { a: [1, 2, 3, 7, 8, 9], b: [1, 2, 5, 6, 7, 8], c: [4, 5, 8] };
  if (polling) for (const k of Object.keys(want)) want[k] = want[k].filter((n) => n !== 7);
  await until(() => Object.keys(want).every((k) => got[k].length >= want[k].length), 5000, "the broadcasts");
  await sleep(100); // nothing more may come
  for (const k of Object.keys(want)) {
    assert.deepEqual(got[k].map((x) => x[0]), want[k], `client ${k} received`);
  }
  closeAll(ctx);
  return {};
});
