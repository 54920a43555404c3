// Scenario (socket.io-client 2.x): namespaces over one Engine.IO
// connection. The client never sends a CONNECT for "/", the server joins it
// anyway (its "auth" is {}); "/custom?..." carries its query as the socket's auth; socket ids
// are the Engine.IO id and "/custom#<id>"; a middleware's refusal arrives
// as the "error" event with the error's data (a plain value); an unknown
// namespace as {message: "Invalid namespace"}.
// Result: {"ok":true,"main":sid,"custom":sid}
import { run } from "../lib/scenario.mjs";
import { assert, open, once, connect, closeAll } from "./util.mjs";

run("sio2-namespaces", async (ctx) => {
  const main = open(ctx, "/");
  const authMain = once(main, "auth", 10000);
  await once(main, "connect", 10000);
  assert.deepEqual((await authMain)[0], {}, "auth of /");
  const engineId = main.io.engine.id;
  assert.equal(main.id, engineId, "socket id of /");

  // "/custom" on the same Manager, with a query
  const custom = main.io.socket("/custom", { query: "who=custom&n=1&n=2&sp=a+b%26c" });
  ctx.sioSockets.push(custom);
  const authCustom = once(custom, "auth", 10000);
  // (Manager#socket opens it: a second open() would send a second CONNECT,
  // which makes the server close the connection)
  await once(custom, "connect", 10000);
  assert.deepEqual((await authCustom)[0], { who: "custom", n: "2", sp: "a b&c" }, "auth of /custom: its query");
  assert.equal(custom.id, "/custom#" + engineId, "socket id of /custom");
  assert.equal(custom.io, main.io, "one Manager");

  // a middleware refusing with data: "error" gets the data
  const refused = open(ctx, "/custom?reject=because");
  const [err] = await once(refused, "error", 10000);
  assert.deepEqual(err, { reason: "because" }, "refusal: the error's data");
  assert.equal(refused.connected, false);

  // an unknown namespace
  const unknown = open(ctx, "/nope");
  const [err2] = await once(unknown, "error", 10000);
  assert.deepEqual(err2, { message: "Invalid namespace" });

  const result = { main: main.id, custom: custom.id, transport: custom.io.engine.transport.name };
  custom.disconnect();
  main.disconnect();
  closeAll(ctx);
  return result;
});
