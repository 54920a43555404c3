// Scenario: cmd/fanio's hub. A socket.io-client joins a room and receives
// what a backend sends to that room with POST /api/publish; the API's
// answers for a missing token and a bad body; publish between clients.
// Args: --token T (the server's -token); --v2 yes (the server runs with
// -allow-eio3: a socket.io-client 2.x joins too and gets the same
// publications) or --v2 refused (it runs without: a 2.x client is refused).
// Result: {"ok":true,...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, once, closeAll } from "./util.mjs";
import ioV2 from "socket.io-client-v2";

// v2 connects a socket.io-client 2.x (WebSocket) and waits for connect or
// connect_error.
function v2(ctx, want) {
  const s = ioV2(ctx.url, { path: ctx.path, reconnection: false, forceNew: true, transports: ["websocket"] });
  (ctx.sioSockets ??= []).push(s);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`2.x client: no ${want} within 5 s`)), 5000);
    s.once("connect", () => (clearTimeout(t), want === "connect" ? resolve(s) : reject(new Error("2.x client connected"))));
    s.once("connect_error", (e) => (clearTimeout(t), want === "connect_error" ? resolve(s) : reject(e)));
  });
}

function ackV2(s, event, ...args) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`2.x client: no ack for ${event}`)), 5000);
    s.emit(event, ...args, (...res) => (clearTimeout(t), resolve(res)));
  });
}

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

  let old = null;
  if (ctx.args.v2 === "yes") {
    old = await v2(ctx, "connect");
    const [rooms] = await ackV2(old, "join", "news");
    assert.ok(rooms.includes("news"), `2.x join ack ${JSON.stringify(rooms)}`);
  } else if (ctx.args.v2 === "refused") {
    (await v2(ctx, "connect_error")).close();
  }
  const gotA = once(a, "headline", 5000);
  const gotB = once(b, "headline", 5000);
  const gotOld = old && new Promise((resolve) => old.once("headline", resolve));
  const res = await post(JSON.stringify({ room: "news", event: "headline", data: { title: "hello <world>", n: 1 } }));
  assert.equal(res.status, 200, "publish status");
  assert.deepEqual(await res.json(), { count: old ? 3 : 2 });
  assert.deepEqual((await gotA)[0], { title: "hello <world>", n: 1 });
  assert.deepEqual((await gotB)[0], { title: "hello <world>", n: 1 });
  if (old) {
    assert.deepEqual(await gotOld, { title: "hello <world>", n: 1 }, "the 2.x client's publication");
    old.close();
    await new Promise((r) => setTimeout(r, 100)); // its leave reaches the hub
  }

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
