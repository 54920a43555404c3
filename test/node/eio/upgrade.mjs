// Scenario: upgrade from polling to websocket under a steady stream both ways.
//
// The client uses the default transports with upgrades on. Right after the
// Socket is created (before "open") it asks the server for a stream
// ("stream <count> <intervalMs>", not echoed) and starts sending numbered text
// messages "c <i>" every ~2 ms; it keeps sending until it has sent at least
// --messages (default 400) and at least --after-upgrade (default 100) of them
// after the "upgrade" event (at most 5000 in all). The server echoes every
// "c <i>" and streams "srv <i>".
//
// Asserts: the upgrade happened (socket.transport.name === "websocket") while
// the server stream was still running; every echo and every server message
// arrived exactly once and in order; nothing else arrived.
import { run, assert, waitEvent, describe } from "../lib/scenario.mjs";

run("upgrade", async (ctx) => {
  const minMessages = Number(ctx.args.messages ?? 400);
  const minAfterUpgrade = Number(ctx.args["after-upgrade"] ?? 100);
  const streamCount = Number(ctx.args["stream-count"] ?? 600);
  const streamInterval = Number(ctx.args["stream-interval"] ?? 2);
  const maxMessages = 5000;

  const socket = ctx.open({}); // default transports, upgrade: true
  const echoes = [];
  const srv = [];
  const unexpected = [];
  let sent = 0;
  let sentAtOpen = -1;
  let sentAtUpgrade = -1;
  let srvAtUpgrade = -1;
  let echoesAtUpgrade = -1;
  let closed = null;
  let sid = null;

  socket.on("message", (data) => {
    if (typeof data !== "string") {
      unexpected.push(describe(data));
      return;
    }
    let m;
    if ((m = /^c (\d+)$/.exec(data))) echoes.push(Number(m[1]));
    else if ((m = /^srv (\d+)$/.exec(data))) srv.push(Number(m[1]));
    else unexpected.push(describe(data));
  });
  socket.on("open", () => {
    sentAtOpen = sent;
    sid = socket.id;
    ctx.note("sid", sid);
  });
  socket.on("upgrade", () => {
    sentAtUpgrade = sent;
    srvAtUpgrade = srv.length;
    echoesAtUpgrade = echoes.length;
  });
  socket.on("close", (reason, desc) => {
    closed = { reason, description: desc && desc.description };
  });
  const upgraded = waitEvent(socket, "upgrade", 10000);

  // Before "open": these are buffered by the client and flushed on open.
  socket.send(`stream ${streamCount} ${streamInterval}`);
  socket.send(`c ${sent++}`);

  await new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (closed) {
        clearInterval(timer);
        reject(new Error(`socket closed while sending (${closed.reason})`));
        return;
      }
      const afterUpgrade = sentAtUpgrade >= 0 ? sent - sentAtUpgrade : 0;
      if ((sent >= minMessages && afterUpgrade >= minAfterUpgrade) || sent >= maxMessages) {
        clearInterval(timer);
        resolve();
        return;
      }
      socket.send(`c ${sent++}`);
    }, 2);
  });
  await upgraded;
  ctx.note("sent", sent);

  // wait (bounded) for everything to come back
  const deadline = Date.now() + 15000;
  while ((echoes.length < sent || srv.length < streamCount) && !closed && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  ctx.note("echoes", echoes.length);
  ctx.note("srv", srv.length);
  ctx.note("sentAtOpen", sentAtOpen);
  ctx.note("sentAtUpgrade", sentAtUpgrade);
  ctx.note("srvAtUpgrade", srvAtUpgrade);

  assert.equal(closed, null, `socket closed early: ${JSON.stringify(closed)}`);
  assert.equal(socket.transport.name, "websocket", "transport after upgrade");
  assert.ok(sentAtOpen >= 1, "no message was sent before open");
  assert.ok(sentAtUpgrade > sentAtOpen, "no message was sent between open and upgrade");
  assert.ok(sent - sentAtUpgrade >= minAfterUpgrade || sent >= maxMessages,
    `only ${sent - sentAtUpgrade} messages sent after the upgrade`);
  assert.ok(srvAtUpgrade < streamCount, "the server stream was over before the upgrade: it did not span the upgrade");
  assert.deepEqual(unexpected, [], "unexpected messages");
  checkSequence(echoes, sent, "echoes");
  checkSequence(srv, streamCount, "server stream");

  const closing = waitEvent(socket, "close", 5000);
  socket.close();
  await closing;
  return {
    sid,
    transport: "websocket",
    sent,
    sentAtOpen,
    sentAtUpgrade,
    srvAtUpgrade,
    echoesAtUpgrade,
    closeReason: closed && closed.reason,
  };
});

// checkSequence asserts that seq is exactly 0..n-1: no loss, no duplicate,
// in order. It names the first offending position.
function checkSequence(seq, n, label) {
  for (let i = 0; i < seq.length && i < n; i++) {
    if (seq[i] !== i) {
      const dup = seq.indexOf(seq[i]) !== i;
      assert.fail(`${label}: position ${i} holds ${seq[i]}, want ${i}` +
        (dup ? " (duplicate)" : seq[i] > i ? " (message lost or reordered)" : " (reordered)") +
        `; around: ${JSON.stringify(seq.slice(Math.max(0, i - 3), i + 4))}`);
    }
  }
  assert.equal(seq.length, n, `${label}: got ${seq.length} messages, want ${n}` +
    (seq.length > n ? " (extras)" : " (missing tail)"));
}
