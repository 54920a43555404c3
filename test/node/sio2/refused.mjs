// Scenario (socket.io-client 2.x) against a server that does not allow
// Engine.IO v3 (the default): the handshake is refused, the client gets
// connect_error and never connects.
// Result: {"ok":true,"error":...,"description":...}
import { run } from "../lib/scenario.mjs";
import { assert, open, once } from "./util.mjs";

run("sio2-refused", async (ctx) => {
  const socket = open(ctx, "/");
  let connected = false;
  socket.on("connect", () => (connected = true));
  const [err] = await once(socket, "connect_error", 10000);
  assert.equal(connected, false);
  socket.close();
  return { error: String(err && err.message), description: err && typeof err.description !== "object" ? err.description : String(err && err.description && err.description.message) };
});
