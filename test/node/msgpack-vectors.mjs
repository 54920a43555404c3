// Writes the MessagePack vectors internal/msgpack tests against: for each
// case, what notepack.io 3 (the codec of @socket.io/redis-adapter 8 and
// @socket.io/redis-emitter 5) encodes, and what JSON.stringify writes for
// what notepack decodes from those bytes.
//
//   node msgpack-vectors.mjs > ../../internal/msgpack/testdata/notepack.json
//
// test/msgpack_vectors_test.go runs it and checks the committed file is
// what the pinned notepack.io produces today.
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const notepack = require("notepack.io");
const { version } = require("notepack.io/package.json");

// [name, JS value, fromJSON]: fromJSON cases are also a JSON text whose
// JSON.parse the Go encoder must encode to the very same bytes.
const cases = [
  ["null", null, true],
  ["true", true, true],
  ["false", false, true],
  ["zero", 0, true],
  ["fixint max", 127, true],
  ["uint8", 200, true],
  ["uint16", 65535, true],
  ["uint32", 4294967295, true],
  ["uint64", 2 ** 40, true],
  ["negfixint", -32, true],
  ["int8", -100, true],
  ["int16", -30000, true],
  ["int32", -(2 ** 31), true],
  ["int64", -(2 ** 40), true],
  ["float", 1.5, true],
  ["small float", 1e-7, true],
  ["big float", 1e21, false], // notepack writes integral numbers past 2^53 with wrong high bits; Go writes float 64
  ["negative float", -2.25, true],
  ["integral float text", JSON.parse("1.0"), false],
  ["exponent integer", JSON.parse("1e3"), false],
  ["NaN", NaN, false],
  ["Infinity", Infinity, false],
  ["minus zero", -0, false],
  ["empty string", "", true],
  ["short string", "hello", true],
  ["str8", "x".repeat(40), true],
  ["str16", "y".repeat(300), true],
  ["unicode", "café 😀 \u2028 \"q\" \\ \n\t\u0001", true],
  ["empty array", [], true],
  ["array", [1, "a", null, true, [2, [3]]], true],
  ["array16", Array.from({ length: 20 }, (_, i) => i), true],
  ["empty object", {}, true],
  ["object", { a: 1, b: "two", c: [3], d: { e: null } }, true],
  ["map16", Object.fromEntries(Array.from({ length: 17 }, (_, i) => ["k" + i, i])), true],
  ["undefined in array", [1, undefined, 2], false],
  ["undefined property", { a: 1, b: undefined }, false],
  ["buffer", Buffer.from([1, 2, 3]), false],
  ["bin16", Buffer.alloc(300, 7), false],
  ["arraybuffer", new Uint8Array([4, 5]).buffer, false],
  ["typed array", new Uint16Array([1, 2]), false],
  ["nested buffer", { file: Buffer.from([9]), list: [Buffer.from([]), 1] }, false],
  ["date32", new Date(1700000000000), false],
  ["date64", new Date(1700000000123), false],
  ["date96", new Date(-1000), false],
  ["socket.io broadcast", ["aB3xY9", { type: 2, data: ["hello", "world"], nsp: "/" }, { rooms: ["room1"], except: [], flags: {} }], true],
  ["emitter broadcast", ["emitter", { type: 2, data: ["file", Buffer.from([1, 2])], nsp: "/" }, { rooms: [], flags: { volatile: true }, except: ["x"] }], false],
];

const out = { notepack: version, cases: [] };
for (const [name, value, fromJSON] of cases) {
  const bytes = notepack.encode(value);
  const c = { name, hex: bytes.toString("hex"), json: JSON.stringify(notepack.decode(bytes)) ?? null };
  if (fromJSON) c.source = JSON.stringify(value);
  out.cases.push(c);
}
// Decoding only: forms notepack 3 decodes but does not write.
const decodeOnly = [
  ["undefined", "d40000"],
  ["float32", "ca3fc00000"],
  ["notepack2 date", "d7000000018bcfe56800"],
  ["ext type 0 (notepack 2 ArrayBuffer)", "c7020001ff"],
  ["other ext", "d40507"],
  ["integer and boolean keys", "8201a161c3a162"],
];
for (const [name, hex] of decodeOnly) {
  out.cases.push({ name, hex, json: JSON.stringify(notepack.decode(Buffer.from(hex, "hex"))) ?? null, decodeOnly: true });
}
console.log(JSON.stringify(out, null, 1));
