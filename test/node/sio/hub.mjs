// Scenario: cmd/fanio's hub. A socket.io-client joins a room and receives
// what a backend sends to that room with POST /api/publish; the API's
// answers for a missing token and a bad body; publish between clients.
// Args: --token T (the server's -token).
// Result: {"ok":true,...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, once, closeAll } from "./util.mjs";

run("sio-hub", async (ctx) => {
  const token = ctx.args.token ?? "";
  const a = await connect(ctx, "/", { transports: ["websocket"] });
  const b = await connect(ctx, "/", { transports: ["polling"] });
  const [rooms] = await ack(a, 5000, "join", "news");
  assert.ok(Array.isArray(rooms) && rooms.includes("news"), `join ack ${JSON.stringify(rooms)}`);
  await ack(b, 5000, "join", "news");

  const api = ctx.url.replace(/\/$/, "") + "/api/publish";
  const post = (body, auth = `Bearer ${token}`) =>
    fetch(api, { method: "POST", headers: { "Content-Type": "application/json", Authorization: auth }, body });

  const gotA = once(a, "headline", 5000);
  const gotB = once(b, "headline", 5000);
  const res = await post(JSON.stringify({ room: "news", event: "headline", data: { title: "hello <world>", n: 1 } }));
  assert.equal(res.status, 200, "publish status");
  assert.deepEqual(await res.json(), { count: 2 });
  assert.deepEqual((await gotA)[0], { title: "hello <world>", n: 1 });
  assert.deepEqual((await gotB)[0], { title: "hello <world>", n: 1 });

  if (token) {
    const unauth = await post(JSON.stringify({ room: "news", event: "x" }), "Bearer wrong");
    assert.equal(unauth.status, 401, "wrong token");
  }
  const bad = await post("{not json");
  assert.equal(bad.status, 400, "bad JSON");
  const getRes = await fetch(api);
  assert.equal(getRes.status, 405, "GET");

  // client to client through the hub (the sender is not echoed)
  const fromA = once(b, "chat", 5000);
  const [count] = await ack(a, 5000, "publish", "news", "chat", "hi from a");
  assert.equal(count, 2);
  assert.deepEqual(await fromA, ["hi from a"]);
  await ack(b, 5000, "leave", "news");
  const res2 = await post(JSON.stringify({ room: "news", event: "headline", data: 2 }));
  assert.deepEqual(await res2.json(), { count: 1 });
  closeAll(ctx);
  return {};
});
