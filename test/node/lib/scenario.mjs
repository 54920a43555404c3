// Shared plumbing for the scenario scripts in ../eio/ (not a scenario itself).
//
// Every scenario:
//   - takes the server from --url (or FANIO_URL) and the engine path from
//     --path (or FANIO_PATH, default /engine.io/), the transport from
//     --transport where it has one;
//   - has an overall deadline (--timeout ms, default 20000): past it, it
//     prints what it saw so far and exits 3, so it can never hang;
//   - prints exactly one JSON result line on stdout, starting with
//     {"ok":true,...} on success (exit 0) or {"ok":false,...} on failure
//     (exit 1, the message also on stderr).
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";

export { assert };

export function parseArgs(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq !== -1) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      out[a.slice(2)] = argv[++i];
    }
  }
  return out;
}

const GRACE_MS = 5000;

// run(name, body) runs one scenario. body(ctx) returns the object that is
// printed (merged into the result line); ctx.note(key, value) records what
// was observed so far, so a failure or timeout prints it too.
export function run(name, body) {
  let args;
  try {
    args = parseArgs();
  } catch (e) {
    process.stderr.write(`${name}: ${e.message}\n`);
    process.exit(2);
  }
  const url = args.url ?? process.env.FANIO_URL;
  const path = args.path ?? process.env.FANIO_PATH ?? "/engine.io/";
  const timeoutMs = Number(args.timeout ?? process.env.FANIO_TIMEOUT_MS ?? 20000);
  if (!url) {
    process.stderr.write(`${name}: --url http://127.0.0.1:PORT (or FANIO_URL) is required\n`);
    process.exit(2);
  }
  const u = new URL(url);
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname)) {
    process.stderr.write(`${name}: refusing non-loopback url ${url}\n`);
    process.exit(2);
  }

  const observed = {};
  const sockets = [];
  let finished = false;

  const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  const fail = (code, err) => {
    if (finished) return;
    finished = true;
    const message = err && err.stack ? err.stack : String(err);
    emit({ ok: false, scenario: name, error: String(err && err.message ? err.message : err), ...observed });
    process.stderr.write(`${name}: FAILED: ${message}\n`);
    for (const s of sockets) {
      try { s.close(); } catch { /* ignore */ }
    }
    process.exit(code);
  };

  const overall = setTimeout(() => {
    fail(3, new Error(`scenario timed out after ${timeoutMs} ms`));
  }, timeoutMs);

  process.on("uncaughtException", (e) => fail(1, e));
  process.on("unhandledRejection", (e) => fail(1, e));

  const ctx = {
    args,
    url,
    path,
    transport: args.transport,
    note(key, value) {
      observed[key] = value;
    },
    // open(opts) creates an engine.io-client Socket for the server under test.
    open(opts = {}) {
      const s = new Socket(url, { path, ...opts });
      sockets.push(s);
      // errors surface as "close"; keep them visible in the result line
      s.on("error", (e) => {
        const list = (observed.errors ??= []);
        if (list.length < 10) list.push(String(e && e.message ? e.message : e));
      });
      return s;
    },
  };

  Promise.resolve()
    .then(() => body(ctx))
    .then((extra) => {
      if (finished) return;
      finished = true;
      clearTimeout(overall);
      emit({ ok: true, scenario: name, ...observed, ...(extra ?? {}) });
      // Let the process end by itself so that what the client still has in
      // flight (the polling close packet, the WebSocket closing handshake)
      // reaches the server; force the exit if anything lingers.
      process.exitCode = 0;
      setTimeout(() => process.exit(0), GRACE_MS).unref();
    })
    .catch((e) => fail(1, e));
}

// waitEvent resolves with the event's arguments (an array) the first time
// `socket` emits `event`; it rejects after ms, or when the socket emits
// "close" first (unless event is "close").
export function waitEvent(socket, event, ms, what = event) {
  return waitUnless(socket, event, ms, what, "close", (reason, desc) =>
    `socket closed (${reason}${desc && desc.description ? ": " + desc.description : ""})`);
}

// waitUnless resolves with the arguments (an array) of the next `event` of
// `emitter`; it rejects after ms, or when `failEvent` comes first (unless it
// is the awaited event), with why(...failEvent's arguments) as the cause.
// Listeners are removed either way.
export function waitUnless(emitter, event, ms, what, failEvent, why) {
  return new Promise((resolve, reject) => {
    const watchFail = event !== failEvent;
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${what}" within ${ms} ms`));
    }, ms);
    const onEvent = (...a) => {
      cleanup();
      resolve(a);
    };
    const onFail = (...a) => {
      cleanup();
      reject(new Error(`${why(...a)} while waiting for "${what}"`));
    };
    const cleanup = () => {
      clearTimeout(t);
      emitter.off(event, onEvent);
      if (watchFail) emitter.off(failEvent, onFail);
    };
    emitter.on(event, onEvent);
    if (watchFail) emitter.on(failEvent, onFail);
  });
}

// Inbox queues the messages a socket receives so a scenario can take them in
// order with a deadline.
export class Inbox {
  constructor(socket) {
    this.items = [];
    this.waiters = [];
    this.closed = null;
    socket.on("message", (data) => {
      const w = this.waiters.shift();
      if (w) w.resolve(data);
      else this.items.push(data);
    });
    socket.on("close", (reason, desc) => {
      this.closed = { reason, description: desc && desc.description };
      for (const w of this.waiters.splice(0)) {
        w.reject(new Error(`socket closed (${reason}) while waiting for a message`));
      }
    });
  }

  next(ms, what = "a message") {
    if (this.items.length) return Promise.resolve(this.items.shift());
    if (this.closed) return Promise.reject(new Error(`socket closed (${this.closed.reason}) while waiting for ${what}`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (d) => { clearTimeout(t); resolve(d); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(new Error(`no ${what} within ${ms} ms`));
      }, ms);
      this.waiters.push(w);
    });
  }
}

// describe returns a short printable description of a received message.
export function describe(data) {
  if (typeof data === "string") {
    return data.length > 40 ? `text(${data.length}) ${JSON.stringify(data.slice(0, 40))}...` : `text ${JSON.stringify(data)}`;
  }
  return `binary(${byteLen(data)})`;
}

function byteLen(d) {
  if (d instanceof ArrayBuffer) return d.byteLength;
  if (ArrayBuffer.isView(d)) return d.byteLength;
  return -1;
}

// toBuffer returns a Buffer over a received binary message (engine.io-client
// in Node delivers Buffers by default, "nodebuffer"); it fails on text.
export function toBuffer(data) {
  assert.ok(typeof data !== "string", `expected a binary message, got ${describe(data)}`);
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  assert.fail(`unexpected binary message type ${Object.prototype.toString.call(data)}`);
}

// assertSameMessage checks that `got` is `want` and of the same kind: text
// stays text, binary stays binary, bytes equal.
export function assertSameMessage(got, want, label) {
  if (typeof want === "string") {
    assert.equal(typeof got, "string", `${label}: expected text, got ${describe(got)}`);
    if (got !== want) {
      let i = 0;
      while (i < got.length && i < want.length && got[i] === want[i]) i++;
      assert.fail(`${label}: text differs (got length ${got.length}, want ${want.length}, first difference at ${i})`);
    }
    return;
  }
  const g = toBuffer(got);
  const w = Buffer.from(want.buffer, want.byteOffset, want.byteLength);
  if (!g.equals(w)) {
    let i = 0;
    while (i < g.length && i < w.length && g[i] === w[i]) i++;
    assert.fail(`${label}: binary differs (got ${g.length} bytes, want ${w.length}, first difference at ${i})`);
  }
}

export function requireTransport(ctx, allowed = ["polling", "websocket"]) {
  const t = ctx.transport;
  if (!allowed.includes(t)) {
    throw new Error(`--transport must be one of ${allowed.join(", ")} (got ${t})`);
  }
  return t;
}

// sleep for ms (used only to pace senders, never as an assertion).
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// assertClosedByServer checks that a "close" event (reason, description)
// came from the server ending the session: "transport close" (a close packet
// or the WebSocket closing). On polling there is one more form: when the
// server ends the session while the client is between two requests, the
// client's next GET or POST carries a sid the server no longer knows, gets a
// 400, and the client reports "transport error" with description 400.
export function assertClosedByServer(reason, desc, transport) {
  if (reason === "transport close") return;
  const description = desc && desc.description !== undefined ? String(desc.description) : undefined;
  if (transport === "polling" && reason === "transport error" && description === "400") return;
  assert.fail(`client close reason ${JSON.stringify(reason)} (description ${description}): want "transport close"` +
    (transport === "polling" ? ' or "transport error" after a 400' : ""));
}

// transportMode returns --transport (or def when it is absent), checked to be
// "polling", "websocket" or "upgrade" (start on polling, then upgrade).
export function transportMode(ctx, def) {
  const mode = ctx.transport ?? def;
  assert.ok(["polling", "websocket", "upgrade"].includes(mode), `--transport must be polling, websocket or upgrade (got ${mode})`);
  return mode;
}

// openInMode creates an engine.io-client socket for a transportMode.
export function openInMode(ctx, mode) {
  return ctx.open(mode === "upgrade" ? {} : { transports: [mode] });
}

// openTransport is the preamble of the scenarios that run in every mode:
// open the socket in --transport's mode, wait for "open" (and, in "upgrade"
// mode, for the upgrade), note the sid, check the transport in use. It
// returns { socket, inbox, sid, transport }.
export async function openTransport(ctx, def) {
  const mode = transportMode(ctx, def);
  const socket = openInMode(ctx, mode);
  const inbox = new Inbox(socket);
  const upgraded = mode === "upgrade" ? waitEvent(socket, "upgrade", 10000) : null;
  await waitEvent(socket, "open", 5000);
  const sid = socket.id;
  ctx.note("sid", sid);
  if (upgraded) await upgraded;
  const transport = socket.transport.name;
  assert.equal(transport, mode === "upgrade" ? "websocket" : mode);
  return { socket, inbox, sid, transport };
}
