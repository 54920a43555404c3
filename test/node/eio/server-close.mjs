// Scenario: close from the server (--transport polling | websocket | upgrade;
// "upgrade" starts on polling and waits for the upgrade to websocket first).
//
// The client sends the text command "close-me" (not echoed) and the server
// closes the session. The client must see "close" with reason
// "transport close" (the reference sends a close packet on polling and closes
// the WebSocket; on polling a request racing the close may instead get a 400,
// see assertClosedByServer); the description is recorded. No echo may arrive for
// "close-me". The Go side expects the server to report "forced close".
import { run, assert, waitEvent, Inbox, assertSameMessage, describe, assertClosedByServer } from "../lib/scenario.mjs";

run("server-close", async (ctx) => {
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
