// Line-oriented JSON RPC over stdin/stdout for long-running test
// processes driven from Go (test/cluster_test.go): each stdin line is
// {"id":N,"op":"...",...params}; each answer is {"id":N,"ok":true,
// "result":...} or {"id":N,"ok":false,"error":"..."}; unsolicited lines
// {"event":"...",...} report what happened. The process exits when stdin
// ends. Binary values travel as {"$bin":"<hex>"} both ways (enc/dec).
import readline from "node:readline";

export function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  return def;
}

export const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// enc turns Buffers and ArrayBuffers (at any depth) into {"$bin":hex}.
export function enc(v) {
  if (v === undefined) return null;
  if (Buffer.isBuffer(v)) return { $bin: v.toString("hex") };
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString("hex") };
  if (ArrayBuffer.isView(v)) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex") };
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === "object") {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = enc(x);
    return out;
  }
  return v;
}

// dec is enc's inverse: {"$bin":hex} becomes a Buffer.
export function dec(v) {
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = dec(x);
    return out;
  }
  return v;
}

// serve dispatches stdin requests to handlers[op](params) (sync or async)
// and calls onEnd when stdin closes.
export function serve(handlers, onEnd) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let req;
    try {
      req = JSON.parse(line);
    } catch {
      return;
    }
    const h = handlers[req.op];
    if (!h) {
      emit({ id: req.id, ok: false, error: `unknown op ${req.op}` });
      return;
    }
    try {
      const result = await h(req);
      emit({ id: req.id, ok: true, result: result === undefined ? null : result });
    } catch (e) {
      emit({ id: req.id, ok: false, error: String(e && e.message ? e.message : e) });
    }
  });
  rl.on("close", async () => {
    try {
      await onEnd?.();
    } finally {
      process.exit(0);
    }
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
