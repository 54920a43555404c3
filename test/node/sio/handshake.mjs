// Scenario: what the server's socket.handshake shows of the request and
// the CONNECT (--transport polling | websocket): header fields in any case,
// one sent twice (joined, or only the first kept, as Node.js's http does),
// the query decoded, the auth payload, the address, xdomain with and
// without an Origin header, secure, url, issued.
// Result: {"ok":true,"sid":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, closeAll } from "./util.mjs";

run("sio-handshake", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const host = new URL(ctx.url).host;
  const names = ["X-Multi", "x-multi", "X-CASE", "Cookie", "User-Agent", "Origin", "X-Empty", "X-Missing", "Host"];
  // Node's WebSocket client (ws) sends each value of an array as its own
  // field line; its polling client (XMLHttpRequest) one field per name.
  const twice = transport === "websocket";
  const socket = await connect(ctx, "/", {
    transports: [transport],
    query: { b: "x y", c: "é&=+", token: "abc" },
    auth: { token: "t", n: 1 },
    extraHeaders: {
      "X-Multi": twice ? ["a", "b"] : "a, b",
      "X-Case": "v",
      "User-Agent": twice ? ["u1", "u2"] : "u1",
      Origin: "http://example.com",
      "X-Empty": "",
    },
  });
  const [h] = await ack(socket, 5000, "handshake", names);
  ctx.note("handshake", h);
  assert.deepEqual(h.headers, {
    "X-Multi": "a, b",
    "x-multi": "a, b",
    "X-CASE": "v",
    Cookie: null,
    "User-Agent": "u1",
    Origin: "http://example.com",
    "X-Empty": "",
    "X-Missing": null,
    Host: host,
  });
  // (polling adds a cache-busting t to every request)
  const { t, ...query } = h.query;
  assert.equal(typeof t, transport === "polling" ? "string" : "undefined");
  assert.deepEqual(query, { b: "x y", c: "é&=+", token: "abc", EIO: "4", transport });
  assert.deepEqual(h.auth, { token: "t", n: 1 });
  assert.equal(h.address, "127.0.0.1");
  assert.equal(h.xdomain, true);
  assert.equal(h.secure, false);
  assert.ok(h.url.startsWith("/socket.io/?"), `url ${h.url}`);
  for (const part of ["EIO=4", `transport=${transport}`, "b=x%20y", "token=abc"]) {
    assert.ok(h.url.includes(part), `url ${h.url} has ${part}`);
  }
  assert.equal(typeof h.issued, "number");
  assert.ok(Math.abs(h.issued - Date.now()) < 60000, `issued ${h.issued}`);

  // No Origin, no auth: xdomain false, auth {}.
  const plain = await connect(ctx, "/", { transports: [transport] });
  const [p] = await ack(plain, 5000, "handshake", ["origin"]);
  ctx.note("plain", p);
  assert.deepEqual(p.headers, { origin: null });
  assert.equal(p.xdomain, false);
  assert.deepEqual(p.auth, {});
  const sid = socket.id;
  closeAll(ctx);
  return { sid };
});
