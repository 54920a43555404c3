// Scenario: acknowledgements asked by the server (one socket, with and
// without an answer in time) and a broadcast collecting every client's
// acknowledgement (all answer; one does not).
// Result: {"ok":true,"timeoutError":...,"roomError":...}
import { run } from "../lib/scenario.mjs";
import { assert, connect, ack, closeAll } from "./util.mjs";

run("sio-acks", async (ctx) => {
  const transport = ctx.transport ?? "websocket";
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await connect(ctx, "/", { transports: [transport] }));
  let silent = false;
  clients.forEach((c, i) => {
    c.on("question", (...args) => {
      const cb = args.pop();
      if (silent && i === 2) return; // this one does not answer
      cb(args.length ? { i, args } : i);
    });
    // no ack id missing on the client side
  });
  const [a] = clients;
  // the server asks one socket, which answers
  const [r1] = await ack(a, 5000, "ask", { timeout: 2000 }, "q", Buffer.from([7]));
  assert.deepEqual(r1, { answer: [{ i: 0, args: ["q", Buffer.from([7])] }] });
  // ... which does not answer in time
  silent = true;
  const [r2] = await ack(clients[2], 5000, "ask", { timeout: 200 }, "q");
  assert.ok(typeof r2.error === "string" && r2.error.startsWith("operation has timed out"), `timeout error ${JSON.stringify(r2)}`);
  silent = false;
  // a broadcast with acks to a room of three
  for (const c of clients) await ack(c, 5000, "join", "acks");
  const [r3] = await ack(a, 5000, "ask-room", { room: "acks", timeout: 2000 });
  assert.deepEqual(r3, { responses: [0, 1, 2] });
  silent = true;
  const [r4] = await ack(a, 5000, "ask-room", { room: "acks", timeout: 300 });
  assert.ok(typeof r4.error === "string" && r4.error.startsWith("operation has timed out"), `room timeout error ${JSON.stringify(r4)}`);
  assert.deepEqual(r4.responses, [0, 1]);
  closeAll(ctx);
  return { timeoutError: r2.error, roomError: r4.error };
});
