// Package codec holds the wire formats of fanio: pure, allocation-free
// encoders and decoders that work on byte slices in place.
//
// It owns:
//
//   - HTTP/1.1 request parsing (request line, header block, chunked bodies,
//     query strings) and the small response helpers a server needs
//     (http.go), and the content negotiation of static responses:
//     Accept-Encoding preference and If-None-Match (conneg.go);
//   - WebSocket frame headers, close payloads, masking, the opening
//     handshake key and permessage-deflate negotiation, server side
//     (websocket.go);
//   - Engine.IO v4 packets and HTTP long-polling payloads (eio.go), and
//     the framing of Engine.IO v3: "<length>:<packet>" text payloads
//     counted in UTF-16 units, XHR2 binary payloads, type-prefixed binary
//     packets, JSONP answers and POST bodies (eio3.go);
//   - Socket.IO v5 packet headers (sio.go);
//   - JSON scanning helpers for the Socket.IO layer: validation, splitting
//     arrays, binary placeholders, string quoting and unquoting (json.go).
//
// It must not touch anything else: no I/O, no goroutines, no state (no
// package-level variables other than lookup tables, the shared "/" namespace
// and error values, none of them ever written), no timers, no logging, and no
// imports from the rest of the project. Only the standard library and github.com/gobwas/ws (for its
// frame types) are imported.
//
// # Conventions
//
// Decoders take the bytes they decode and return slices that alias them;
// nothing is copied unless a function says it appends to a dst or scratch
// slice. Encoders are Append functions in the style of strconv.AppendInt:
// they append to dst and return the extended slice, and allocate only when
// dst lacks capacity.
//
// Errors are exported sentinel values (or, for WebSocket frames, values of
// the type *ProtocolError) so that callers can map them to HTTP status codes
// and WebSocket close codes with errors.Is. Most are returned wrapped in a
// static error that adds what went wrong and where (which part of the input);
// those wrappers are package-level values, so returning an error never
// allocates, except *SyntaxError from the JSON scanner, which carries the byte
// offset. ErrIncomplete ("need more bytes") is always returned bare, so a
// plain == comparison works for it.
//
// No function keeps a reference to its arguments after it returns, and every
// function is safe for concurrent use on distinct inputs.
package codec
