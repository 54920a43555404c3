// Scenario: close from the server (--transport polling | websocket | upgrade;
// "upgrade" starts on polling and waits for the upgrade to websocket first).
//
// The client sends the text command "close-me" (not echoed) and the server
// closes the session. The client must see "close" with reason
// "transport close" (the reference sends a close packet on polling and closes
// the WebSocket; on polling a request racing the close may instead get a 400,
// see assertClosedByServer); the description is recorded. No echo may arrive for
// "close-me". The Go side expects the server to report "forced close".
import { run, assert, waitEvent, openTransport, assertSameMessage, describe, assertClosedByServer } from "../lib/scenario.mjs";

run("server-close", async (ctx) => {
  const { socket, inbox, sid, transport } = await openTransport(ctx);

  socket.send("ping-pong check");
  assertSameMessage(await inbox.next(5000, "the first echo"), "ping-pong check", "echo");

  const closing = waitEvent(socket, "close", 5000, "the server closing the session");
  socket.send("close-me");
  const [reason, desc] = await closing;
  const description = desc && desc.description !== undefined ? String(desc.description) : undefined;
  ctx.note("closeReason", reason);
  ctx.note("closeDescription", description);
  assertClosedByServer(reason, desc, transport);
  assert.deepEqual(inbox.items.map(describe), [], "messages after close-me");
  return { sid, transport, closeReason: reason, closeDescription: description };
});
