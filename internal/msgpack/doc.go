// Package msgpack is the MessagePack dialect of notepack.io 3.x, the codec
// @socket.io/redis-adapter (8.x) and @socket.io/redis-emitter (5.x) put on
// Redis: append-style encoders, a cursor that walks encoded bytes without
// allocating, and transcoders between MessagePack and the JSON text
// Socket.IO packets carry (binary attachments as placeholders). sio's
// msgpack parser (socket.io-msgpack-parser 3, on notepack.io 2.2) uses it
// too: what it writes (integers, float 64, str, bin, arrays, maps) is the
// same in notepack 2 and 3, and the Reader takes notepack 2's Date and
// ArrayBuffer.
//
// It owns the byte format only. It must not touch I/O, Redis, sockets or
// Socket.IO semantics beyond the placeholder convention; it keeps no state
// and imports only the standard library and internal/codec (JSON string
// quoting and scanning).
//
// # The dialect (checked against notepack.io 3.0.1 in test/node)
//
// Encoding, as notepack does it: the smallest integer form (positive
// fixint, uint 8/16/32/64, negative fixint, int 8/16/32/64); floats only
// for non-integral or non-finite numbers, always float 64 (a JavaScript
// number that is integral is an integer on the wire); strings as
// fixstr/str 8/16/32; byte slices as bin 8/16/32 (notepack 3 turns
// ArrayBuffers and typed arrays into bin too); nil as nil. Nothing else is
// produced: encoders never write keys or values the caller did not ask for.
//
// Decoding accepts everything notepack 3 and 2 produce: bin and ext type 0
// (notepack 2's ArrayBuffer) both as binary; fixext 1 type 0 (notepack's
// undefined) as Undefined; the timestamp extension (type -1, 32/64/96 bits,
// notepack 3's Date) and notepack 2's Date (fixext 8 type 0); float 32;
// other extensions as Ext. Map keys come in any order.
//
// # Conventions
//
// Decoders return slices that alias their input; nothing is copied unless
// a function says it appends. Encoders append to dst like strconv.AppendInt.
// Errors are package-level values (no allocation). Nesting is limited to
// MaxDepth; a length that claims more bytes than the input holds is
// rejected before anything is allocated for it.
package msgpack
