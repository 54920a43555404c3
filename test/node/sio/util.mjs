// Shared plumbing for the Socket.IO scenarios in this folder (not a
// scenario itself). Scenarios use ../lib/scenario.mjs's run(); the server
// is the fixture described in test/sio_fixture_test.go.
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { assert, waitUnless } from "../lib/scenario.mjs";

export { io, assert };

// parserOpts are the io() options of the parser the scenario runs with:
// --parser msgpack uses socket.io-msgpack-parser (the server must too);
// the default is socket.io-client's own JSON parser.
export function parserOpts(ctx) {
  const name = ctx.args.parser ?? "json";
  if (name === "msgpack") return { parser: msgpackParser };
  if (name !== "json") throw new Error(`unknown --parser ${name}`);
  return {};
}

// connect opens a socket.io-client socket to the server under test and
// waits for "connect". opts go to io(); nsp is appended to the URL.
export function connect(ctx, nsp = "/", opts = {}) {
  const socket = open(ctx, nsp, opts);
  return once(socket, "connect", 5000).then(() => socket);
}

// open creates a socket without waiting.
export function open(ctx, nsp = "/", opts = {}) {
  const url = ctx.url.replace(/\/$/, "") + (nsp === "/" ? "" : nsp);
  const socket = io(url, { path: ctx.path, reconnection: false, forceNew: opts.forceNew ?? true, ...parserOpts(ctx), ...opts });
  (ctx.sioSockets ??= []).push(socket);
  return socket;
}

// once resolves with the arguments (an array) of the next `event`, rejects
// after ms or on connect_error (unless that is the event).
export function once(socket, event, ms, what = event) {
  return waitUnless(socket, event, ms, what, "connect_error", (e) => `connect_error: ${e && e.message}`);
}

// ack emits with an acknowledgement and a timeout; resolves with the
// acknowledgement's arguments (an array).
export function ack(socket, ms, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(ms).emit(event, ...args, (err, ...res) => (err ? reject(new Error(`no ack for "${event}" within ${ms} ms`)) : resolve(res)));
  });
}

// collect records every `event` a socket receives (its arguments).
export function collect(socket, event) {
  const list = [];
  socket.on(event, (...a) => list.push(a));
  return list;
}

// until polls cond every 5 ms until it is true or ms pass.
export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// closeAll disconnects every socket the scenario opened.
export function closeAll(ctx) {
  for (const s of ctx.sioSockets ?? []) s.disconnect();
}
