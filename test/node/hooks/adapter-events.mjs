// Reference for the adapter's room events: socket.io-adapter's in-memory
// Adapter (the one socket.io 4.8 uses), driven through the steps of
// sio's TestRoomEventsFollowTheReference with socket ids "s1" and "s2".
// Prints {"ok":true,"steps":[[events of step 0], ...]}.
import { Adapter } from "socket.io-adapter";

const adapter = new Adapter({ server: { encoder: null }, sockets: new Map() });
let current = [];
adapter.on("create-room", (room) => current.push(`create-room ${room}`));
adapter.on("delete-room", (room) => current.push(`delete-room ${room}`));
adapter.on("join-room", (room, id) => current.push(`join-room ${room} ${id}`));
adapter.on("leave-room", (room, id) => current.push(`leave-room ${room} ${id}`));
const steps = [
  () => { adapter.addAll("s1", new Set(["s1"])); adapter.addAll("s2", new Set(["s2"])); },
  () => adapter.addAll("s1", new Set(["r", "q"])),
  () => adapter.addAll("s2", new Set(["r"])),
  () => adapter.addAll("s1", new Set(["r"])),
  () => adapter.del("s1", "r"),
  () => adapter.del("s1", "nope"),
  () => adapter.del("s2", "r"),
  () => adapter.delAll("s1"),
];
const out = [];
for (const step of steps) {
  current = [];
  step();
  out.push(current);
}
process.stdout.write(JSON.stringify({ ok: true, steps: out }) + "\n");
