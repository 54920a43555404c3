// Scenario: a message over the server's maxPayload (1,000,000) closes the
// session (--transport polling | websocket; --kind text | binary, default
// text; --bytes, default 1,100,000).
//
// On websocket the server must refuse the frame with close code 1009 (the
// client reports "transport close"); on polling it must answer the POST with
// 413 (the client reports "transport error", description 413, then sends a
// close packet on a new POST, so the reference server reports "transport
// close" for polling and "transport error" for websocket). The client must
// never get the oversize message back. A small message sent first must be
// echoed (the session worked before).
import { run, assert, waitEvent, Inbox, assertSameMessage, describe, requireTransport } from "../lib/scenario.mjs";

run("oversize", async (ctx) => {
  const transport = requireTransport(ctx);
  const kind = ctx.args.kind ?? "text";
  assert.ok(kind === "text" || kind === "binary", `--kind must be text or binary (got ${kind})`);
  const bytes = Number(ctx.args.bytes ?? 1_100_000);

  const socket = ctx.open({ transports: [transport] });
  const inbox = new Inbox(socket);
  const handshaken = waitEvent(socket, "handshake", 5000);
  const opened = waitEvent(socket, "open", 5000);
  const [handshake] = await handshaken;
  await opened;
  const sid = socket.id;
  ctx.note("sid", sid);
  assert.equal(handshake.maxPayload, 1000000, "server maxPayload from the handshake");
  assert.ok(bytes > handshake.maxPayload, "--bytes must exceed maxPayload");

  socket.send("before");
  assertSameMessage(await inbox.next(5000, "the echo before the oversize message"), "before", "echo before");

  const payload = kind === "text" ? "x".repeat(bytes) : new Uint8Array(bytes).fill(0x5a);
  const closing = waitEvent(socket, "close", 10000, "close after the oversize message");
  socket.send(payload);
  const [reason, desc] = await closing;
  const description = desc && desc.description !== undefined ? String(desc.description) : undefined;
  const closeCode = desc && desc.context && typeof desc.context.code === "number" ? desc.context.code : undefined;
  ctx.note("closeReason", reason);
  ctx.note("closeDescription", description);
  ctx.note("closeCode", closeCode);
  if (transport === "polling") {
    // the POST carrying the message failed with HTTP 413 (the client reports
    // the status as the error description) and the client gave up
    assert.equal(reason, "transport error", "client close reason");
    assert.equal(description, "413", "status of the oversize POST");
  } else {
    // the server closed the WebSocket with 1009 (message too big)
    assert.equal(reason, "transport close", "client close reason");
    assert.equal(closeCode, 1009, "WebSocket close code");
  }
  // anything that arrived after "before" must not be the oversize message
  for (const m of inbox.items) {
    const size = typeof m === "string" ? m.length : m.byteLength;
    assert.ok(size < bytes, `the oversize message was echoed (${describe(m)})`);
  }
  return {
    sid,
    transport,
    kind,
    bytes,
    closeReason: reason,
    closeDescription: description,
    closeCode,
  };
});
