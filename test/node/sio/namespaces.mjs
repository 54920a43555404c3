// Scenario: the main and a custom namespace over one Engine.IO connection
// (one Manager), the auth payload, and a middleware that refuses with data.
// Result: {"ok":true,"main":sid,"custom":sid,...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, open, once, closeAll, io, parserOpts } from "./util.mjs";

run("sio-namespaces", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const main = io(ctx.url, { path: ctx.path, reconnection: false, forceNew: true, transports: [transport], auth: { token: "t1", n: [1, 2] }, ...parserOpts(ctx) });
  (ctx.sioSockets ??= []).push(main);
  const authMain = once(main, "auth", 5000);
  await once(main, "connect", 5000);
  const custom = main.io.socket("/custom", { auth: { who: "custom" } });
  ctx.sioSockets.push(custom);
  const authCustom = once(custom, "auth", 5000);

  await once(custom, "connect", 5000);
  assert.equal(custom.io, main.io, "one Manager for both namespaces");
  assert.deepEqual((await authMain)[0], { token: "t1", n: [1, 2] }, "auth of /");
  assert.deepEqual((await authCustom)[0], { who: "custom" }, "auth of /custom");
  assert.notEqual(main.id, custom.id, "a socket id per namespace");
  assert.equal(main.io.engine.transport.name, transport);

  // a middleware refusing with data
  const refused = open(ctx, "/", { auth: { reject: "because" }, transports: [transport] });
  const [err] = await once(refused, "connect_error", 5000);
  assert.equal(err.message, "rejected");
  assert.deepEqual(err.data, { reason: "because" });
  assert.equal(refused.connected, false);

  // an unknown namespace
  const unknown = open(ctx, "/nope", { transports: [transport] });
  const [err2] = await once(unknown, "connect_error", 5000);
  assert.equal(err2.message, "Invalid namespace");

  const result = { main: main.id, custom: custom.id };
  custom.disconnect();
  main.disconnect();
  refused.close();
  unknown.close();
  closeAll(ctx);
  return result;
});
