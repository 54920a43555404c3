// Scenario: what the Admin UI receives, as shapes. An admin client logs in
// on /admin (as the UI does: socket.io-client, auth {username, password});
// user A connects and joins room1, B connects and joins room1, A publishes
// to room1 (B receives it), B leaves; then a server_stats is awaited. For
// each event the admin got (for namespace "/" where it has one), the
// result holds the shape of its arguments: every value's JSON type, the
// keys of objects (headers, query and data as "object"), the element shape
// of arrays. Run against the reference (admin/reference-admin.mjs) and
// against cmd/fanio, the results must be equal.
// Args: --password P.
// Result: {"ok":true,"shapes":{event: shape},"order":["session","config"] as they came}
import { run } from "../lib/scenario.mjs";
import { assert, connect, open, ack, once, until, sleep, closeAll } from "../sio/util.mjs";

const opaque = new Set(["headers", "query", "data"]);

function shape(v, key) {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length ? ["array", shape(v[0])] : ["array"];
  if (typeof v === "object") {
    if (opaque.has(key)) return "object";
    const out = {};
    for (const k of Object.keys(v).sort()) out[k] = shape(v[k], k);
    return out;
  }
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v)) return "date";
  return typeof v;
}

run("admin-shapes", async (ctx) => {
  const events = [];
  const admin = open(ctx, "/admin", { auth: { username: "admin", password: ctx.args.password }, transports: ["websocket"] });
  admin.onAny((name, ...args) => events.push([name, args]));
  await once(admin, "connect", 10000);
  const seen = (name, nsp) => events.find(([n, a]) => n === name && (nsp === undefined || a[0] === nsp));
  await until(() => seen("config") && seen("all_sockets") && seen("session"), 10000, "session, config, all_sockets");

  const a = await connect(ctx, "/", { transports: ["websocket"] });
  await ack(a, 5000, "join", "room1");
  const b = await connect(ctx, "/", { transports: ["websocket"] });
  await ack(b, 5000, "join", "room1");
  const got = once(b, "news", 5000);
  await ack(a, 5000, "publish", "room1", "news", { x: 1 });
  await got;
  await ack(b, 5000, "leave", "room1");
  b.disconnect();
  await until(() => seen("socket_disconnected", "/") && seen("room_left", "/"), 10000, "socket_disconnected and room_left");
  const statsBefore = events.filter(([n]) => n === "server_stats").length;
  await until(() => events.filter(([n]) => n === "server_stats").length > statsBefore, 10000, "a server_stats after the traffic");

  const shapes = {};
  for (const [name, args] of events) {
    if (name in shapes) continue;
    if (["room_joined", "room_left", "event_received", "event_sent", "socket_disconnected"].includes(name) && args[0] !== "/") continue;
    if (name === "socket_connected" && args[0].nsp !== "/") continue;
    if (name === "server_stats" && args[0].aggregatedEvents.length === 0) continue;
    shapes[name] = args.map((v) => shape(v));
  }
  const sock = seen("socket_connected", undefined);
  assert.ok(sock, "socket_connected");
  closeAll(ctx);
  await sleep(50);
  return { shapes, order: events.map(([n]) => n).filter((n) => n === "session" || n === "config") };
});
