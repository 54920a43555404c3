// Scenario: close from the client (--transport polling | websocket | upgrade;
// "upgrade" starts on polling and waits for the upgrade to websocket first).
//
// After one echo the client calls socket.close(); it sees "close" with reason
// "forced close" at once (that is the client's own wording). On polling the
// client then POSTs a close packet, on websocket it closes the connection;
// the script lets these finish before it exits. The Go side expects the
// server to report "transport close".
import { run, assert, waitEvent, openTransport, assertSameMessage } from "../lib/scenario.mjs";

run("client-close", async (ctx) => {
  const { socket, inbox, sid, transport } = await openTransport(ctx);

  socket.send("hello");
  assertSameMessage(await inbox.next(5000, "the echo"), "hello", "echo");

  const closing = waitEvent(socket, "close", 5000);
  socket.close();
  const [reason] = await closing;
  assert.equal(reason, "forced close", "client close reason");
  return { sid, transport, closeReason: reason };
});
