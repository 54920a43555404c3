// Scenario: a well-behaved client that keeps exchanging messages for a while
// (--duration-ms, default 3000) and asserts that none was lost, duplicated or
// reordered and that the session never closed under it. Used as the canary
// while the Go tests throw bad input at the same server.
// --transport polling | websocket | upgrade (default upgrade: starts on
// polling, upgrades to websocket). With --until-stdin-end yes it keeps going
// until its standard input ends (the Go test closes it when it is done) and
// it has run at least --min-duration-ms, --duration-ms then being only the
// upper bound.
import { run, assert, waitEvent, describe, transportMode, openInMode } from "../lib/scenario.mjs";

run("healthy", async (ctx) => {
  const mode = transportMode(ctx, "upgrade");
  const durationMs = Number(ctx.args["duration-ms"] ?? 3000);
  const intervalMs = Number(ctx.args["interval-ms"] ?? 10);
  const minDurationMs = Number(ctx.args["min-duration-ms"] ?? 0);
  const untilStdinEnd = ctx.args["until-stdin-end"] === "yes";
  const maxMessages = 20000;
  let stdinEnded = false;
  if (untilStdinEnd) {
    process.stdin.on("end", () => { stdinEnded = true; });
    process.stdin.on("error", () => { stdinEnded = true; });
    process.stdin.resume();
  }

  const socket = openInMode(ctx, mode);
  let closed = null;
  socket.on("close", (reason, desc) => {
    closed = { reason, description: desc && desc.description !== undefined ? String(desc.description) : undefined };
  });
  let expected = 0;
  let bad = null;
  socket.on("message", (d) => {
    const want = expected % 10 === 9 ? "binary" : `m ${expected}`;
    if (want === "binary") {
      if (typeof d === "string" || d.length !== 4 || d.readUInt32BE(0) !== expected) {
        bad ??= `position ${expected}: got ${describe(d)}, want binary ${expected}`;
      }
    } else if (d !== want) {
      bad ??= `position ${expected}: got ${describe(d)}, want ${JSON.stringify(want)}`;
    }
    expected++;
  });
  await waitEvent(socket, "open", 5000);
  const sid = socket.id;
  ctx.note("sid", sid);

  let sent = 0;
  const start = Date.now();
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const over = untilStdinEnd ? stdinEnded && Date.now() - start >= minDurationMs : false;
      if (over || closed || bad || Date.now() - start >= durationMs || sent >= maxMessages) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (sent % 10 === 9) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(sent);
        socket.send(b);
      } else {
        socket.send(`m ${sent}`);
      }
      sent++;
    }, intervalMs);
  });
  const deadline = Date.now() + 10000;
  while (expected < sent && !closed && !bad && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ctx.note("sent", sent);
  ctx.note("received", expected);
  assert.equal(closed, null, `the session closed under the healthy client: ${JSON.stringify(closed)}`);
  assert.equal(bad, null, bad ?? "");
  assert.equal(expected, sent, `got ${expected} echoes for ${sent} messages`);
  assert.ok(sent >= 10, `only ${sent} messages sent`);
  const transport = socket.transport.name;
  if (mode === "upgrade") assert.equal(transport, "websocket", "the healthy client did not upgrade");

  const closing = waitEvent(socket, "close", 5000);
  socket.close();
  await closing;
  if (untilStdinEnd) process.stdin.pause();
  return { sid, transport, sent, received: expected, stoppedBy: stdinEnded ? "stdin" : "duration" };
});
