// Official socket.io-client 4.8 sockets for test/cluster_test.go, driven
// over stdin/stdout (lib/rpc.mjs). Each socket has a name; it records
// every event it receives (binary as {"$bin":hex}) and answers every
// acknowledgement request with its ack reply (default ["ack:<name>"]).
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { arg, emit, enc, dec, serve, sleep } from "../lib/rpc.mjs";

const sockets = new Map(); // name -> {socket, events, ackReply}

function get(name) {
  const s = sockets.get(name);
  if (!s) throw new Error(`no socket ${name}`);
  return s;
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

serve(
  {
    connect: async (p) => {
      if (!/^http:\/\/127\./.test(p.url)) throw new Error("loopback only");
      const socket = io(p.url, {
        path: "/socket.io/",
        transports: [p.transport],
        upgrade: false,
        reconnection: false,
        forceNew: true,
        auth: { name: p.name },
        ...(p.parser === "msgpack" ? { parser: msgpackParser } : {}),
      });
      const entry = { socket, events: [], ackReply: [`ack:${p.name}`], disconnect: null };
      sockets.set(p.name, entry);
      socket.onAny((event, ...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        entry.events.push([event, ...enc(args)]);
        if (ack && entry.ackReply) ack(...dec(entry.ackReply));
      });
      socket.on("disconnect", (reason) => (entry.disconnect = reason));
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("connect timeout")), 10000);
        socket.once("connect", () => (clearTimeout(t), resolve()));
        socket.once("connect_error", (e) => (clearTimeout(t), reject(e)));
      });
      return socket.id;
    },
    // events returns (and forgets) what the socket received.
    take: (p) => {
      const e = get(p.name);
      const out = e.events;
      e.events = [];
      return out;
    },
    // wait waits until the socket has received count events named event.
    wait: async (p) => {
      const e = get(p.name);
      const n = () => e.events.filter((x) => x[0] === p.event).length;
      await until(() => n() >= (p.count ?? 1), p.timeout ?? 5000, `${p.count ?? 1} "${p.event}" on ${p.name} (got ${JSON.stringify(e.events)})`);
      return e.events.filter((x) => x[0] === p.event);
    },
    emit: async (p) => {
      const { socket } = get(p.name);
      if (!p.ack) return void socket.emit(p.event, ...dec(p.args ?? []));
      return enc(await socket.timeout(p.timeout ?? 5000).emitWithAck(p.event, ...dec(p.args ?? [])));
    },
    setAck: (p) => void (get(p.name).ackReply = p.reply),
    waitDisconnect: async (p) => {
      const e = get(p.name);
      await until(() => e.disconnect !== null, p.timeout ?? 5000, `${p.name} to disconnect`);
      return e.disconnect;
    },
    connected: (p) => get(p.name).socket.connected,
    close: (p) => void get(p.name).socket.disconnect(),
  },
  () => {
    for (const { socket } of sockets.values()) socket.disconnect();
  },
);
emit({ event: "listening", port: 0 });
void arg;
