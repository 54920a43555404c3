// Scenario: close from the client (--transport polling | websocket | upgrade;
// "upgrade" starts on polling and waits for the upgrade to websocket first).
//
// After one echo the client calls socket.close(); it sees "close" with reason
// "forced close" at once (that is the client's own wording). On polling the
// client then POSTs a close packet, on websocket it closes the connection;
// the script lets these finish before it exits. The Go side expects the
// server to report "transport close".
import { run, assert, waitEvent, Inbox, assertSameMessage } from "../lib/scenario.mjs";

run("client-close", async (ctx) => {
  const mode = ctx.transport;
  assert.ok(["polling", "websocket", "upgrade"].includes(mode), `--transport must be polling, websocket or upgrade (got ${mode})`);
  const socket = ctx.open(mode === "upgrade" ? {} : { transports: [mode] });
  const inbox = new Inbox(socket);
  const upgraded = mode === "upgrade" ? waitEvent(socket, "upgrade", 10000) : null;
  await waitEvent(socket, "open", 5000);
  const sid = socket.id;
  ctx.note("sid", sid);
  if (upgraded) await upgraded;
  const transport = socket.transport.name;
  assert.equal(transport, mode === "upgrade" ? "websocket" : mode);

  socket.send("hello");
  assertSameMessage(await inbox.next(5000, "the echo"), "hello", "echo");

  const closing = waitEvent(socket, "close", 5000);
  socket.close();
  const [reason] = await closing;
  assert.equal(reason, "forced close", "client close reason");
  return { sid, transport, closeReason: reason };
});
