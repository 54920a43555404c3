// Shared plumbing for the socket.io-client 2.x scenarios in this folder
// (not a scenario itself): the same fixture as ../sio/ (see
// test/sio_fixture_test.go), which allows Engine.IO v3 clients.
//
// Transport variants (--transport):
//   polling    XHR polling; binary as XHR2 binary payloads
//   polling-b64 XHR polling with forceBase64 (b64=1): binary as "b4<base64>"
//   websocket  WebSocket only
//   upgrade    polling, then the upgrade to WebSocket (the client's default)
import ioV2 from "socket.io-client-v2";
import { assert } from "../lib/scenario.mjs";

export { ioV2, assert };

// transportOpts maps a --transport variant to io() options.
export function transportOpts(variant = "websocket") {
  switch (variant) {
    case "polling":
      return { transports: ["polling"] };
    case "polling-b64":
      return { transports: ["polling"], forceBase64: true };
    case "websocket":
      return { transports: ["websocket"] };
    case "upgrade":
      return { transports: ["polling", "websocket"] };
    default:
      throw new Error(`unknown --transport ${variant}`);
  }
}

// open creates a 2.x socket for nsp (which may carry a query:
// "/custom?x=1") without waiting.
export function open(ctx, nsp = "/", opts = {}) {
  const url = ctx.url.replace(/\/$/, "") + (nsp === "/" ? "" : nsp);
  const socket = ioV2(url, { path: ctx.path, reconnection: false, forceNew: true, ...transportOpts(ctx.transport), ...opts });
  (ctx.sioSockets ??= []).push(socket);
  return socket;
}

// once resolves with the arguments of the next `event`; rejects after ms,
// or on connect_error or error (a refused CONNECT) unless that is the event.
export function once(socket, event, ms, what = event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const done = (fn) => (...a) => {
      clearTimeout(t);
      socket.off(event, onEvent);
      if (event !== "connect_error") socket.off("connect_error", onConnErr);
      if (event !== "error") socket.off("error", onErr);
      fn(...a);
    };
    const onEvent = done((...a) => resolve(a));
    const onConnErr = done((e) => reject(new Error(`connect_error while waiting for ${what}: ${e && (e.message || e)} ${e && e.description}`)));
    const onErr = done((e) => reject(new Error(`error while waiting for ${what}: ${JSON.stringify(e)}`)));
    socket.on(event, onEvent);
    if (event !== "connect_error") socket.on("connect_error", onConnErr);
    if (event !== "error") socket.on("error", onErr);
  });
}

// connect opens a socket and waits for "connect" (and, for "upgrade", for
// the WebSocket to take over).
export async function connect(ctx, nsp = "/", opts = {}) {
  const socket = open(ctx, nsp, opts);
  await once(socket, "connect", 10000);
  if (ctx.transport === "upgrade") await upgraded(socket);
  return socket;
}

// upgraded waits until the socket's Engine.IO connection is on WebSocket.
export async function upgraded(socket, ms = 10000) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no upgrade within ${ms} ms`)), ms);
    engine.once("upgrade", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

// ack emits with an acknowledgement; resolves with its arguments.
export function ack(socket, ms, event, ...args) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ack for "${event}" within ${ms} ms`)), ms);
    socket.emit(event, ...args, (...res) => {
      clearTimeout(t);
      resolve(res);
    });
  });
}

// plain turns what a 2.x client decoded (ArrayBuffer, Buffer, typed
// arrays, nested in objects and arrays) into Buffers, for deepEqual.
export function plain(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// engineInfo says how the socket's Engine.IO connection ended up.
export function engineInfo(socket) {
  const engine = socket.io.engine;
  return { transport: engine.transport.name, supportsBinary: engine.transport.supportsBinary, protocol: engine.transport.query.EIO };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

// closeAll disconnects every socket the scenario opened.
export function closeAll(ctx) {
  for (const s of ctx.sioSockets ?? []) s.close();
}


