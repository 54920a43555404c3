// Publisher of the jitter scenario (test/jitter.go; not a scenario itself):
// connects to --url directly and sends the numbers 0, 1, 2… to --room at
// --rate per second for --duration-ms, as the fixture allows:
//   --mode bcast: emit("bcast", {to:[room]}, event, n, ack)  (test/ fixtures)
//   --mode pub:   emit("pub", n)                              (bench/ fixtures:
//                 the server broadcasts "msg" to room "r")
// then makes sure the server handled them all (an acknowledged "echo"
// behind them) and prints {"event":"done","count":N}.
import { io } from "socket.io-client";

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg("url");
const path = arg("path", "/socket.io/");
const mode = arg("mode", "bcast");
const room = arg("room", "r");
const event = arg("event", "m");
const rate = Number(arg("rate", "20"));
const duration = Number(arg("duration-ms", "10000"));
if (!url || !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost)(:\d+)?\/?$/.test(url)) {
  process.stderr.write("jitter-publisher: --url http://127.0.0.1:PORT (loopback) is required\n");
  process.exit(2);
}
setTimeout(() => {
  process.stderr.write("jitter-publisher: timed out\n");
  process.exit(3);
}, duration + 60000).unref();

const s = io(url, { path, transports: ["websocket"], reconnection: false });
await new Promise((resolve, reject) => {
  s.once("connect", resolve);
  s.once("connect_error", reject);
});
const start = Date.now();
let n = 0;
while (Date.now() - start < duration) {
  const due = Math.floor(((Date.now() - start) * rate) / 1000) + 1;
  for (; n < due; n++) {
    if (mode === "pub") s.emit("pub", n);
    else s.emit("bcast", { to: [room] }, event, n);
  }
  await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(1000 / rate / 2))));
}
await new Promise((resolve) => s.timeout(30000).emit("echo", "barrier", () => resolve()));
process.stdout.write(JSON.stringify({ event: "done", count: n }) + "\n");
s.disconnect();
setTimeout(() => process.exit(0), 200).unref();
