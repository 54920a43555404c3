// Package sio is a Socket.IO v4 server (protocol v5) on top of fanio's
// Engine.IO server (package engine): namespaces, middleware, events,
// acknowledgements both ways, binary attachments, rooms, broadcasts,
// adapters and connection state recovery, with the names and the
// behaviour of the Node.js reference server socket.io@4.8.
//
//	srv := sio.NewServer(sio.Options{})
//	srv.OnConnection(func(s *sio.Socket) {
//		s.On("chat", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
//			msg, _ := sio.Arg[string](args, 0)
//			s.Broadcast().Emit("chat", msg)
//			if ack != nil {
//				ack("ok")
//			}
//		})
//	})
//	srv.Start("127.0.0.1:3000")
//
// # What sio owns, and what it must not touch
//
// sio owns everything above an Engine.IO MESSAGE: Socket.IO packet
// semantics (built on codec's packet header and JSON scanning helpers),
// the client/namespace/socket model, argument decoding and encoding, the
// room registry and the Adapter interface, acknowledgements and their
// timeouts, and where user code runs (through pool.Workers).
//
// It must not touch transports or bytes on the wire below Engine.IO: no
// HTTP, WebSocket framing, polling, heartbeats or write queues (those are
// engine's and eventloop's), and it never blocks an event loop. It uses
// engine only through its public API (Server, Session, Prepared), and of
// the machinery only codec (packet headers, JSON scanning), pool (buffers,
// the handlers' workers) and timer (its own timing wheel for connect and
// acknowledgement timeouts). Nothing below sio imports it.
//
// # Where user code runs
//
// Nothing the user wrote runs on an event loop. Engine calls sio on the
// loop with each inbound message; there sio only decodes and validates the
// packet, copies it once, reassembles binary attachments, and queues it.
// Every handler — namespace middleware, connection handlers, event
// handlers, OnAny listeners, acknowledgement callbacks, disconnecting and
// disconnect handlers, error handlers, dynamic namespace checks — runs on
// a bounded pool of worker goroutines (Options.Workers, default
// 8×GOMAXPROCS, at least 16). There is no goroutine per connection.
//
// Ordering: each Engine.IO connection (the "client", which carries one
// socket per namespace it joined) has a serial mailbox. Its handlers run
// one at a time, in the order the packets arrived; different connections
// run in parallel. So for one socket: middleware, then the connection
// handler, then events in arrival order, then disconnecting/disconnect —
// and a namespace's events never overtake its CONNECT. A handler may block
// (a database call, a blocking EmitWithAck); it then holds back only its
// own connection, and one worker.
//
// Emitting is safe from any goroutine and never blocks: it encodes the
// packet and queues it on the Engine.IO session. Packets emitted to one
// socket from one goroutine arrive in order. A broadcast is encoded once
// (engine.NewPrepared) and the same bytes are queued on every member.
//
// Acknowledgements: the Ack a handler receives may be called once, from any
// goroutine (later calls are ignored). An acknowledgement callback the
// server registered (EmitWithAckFunc) runs on the socket's mailbox like an
// event; the blocking EmitWithAck forms do not need the mailbox, so they
// may be called from inside a handler.
//
// Exceptions, all on goroutines the user already owns: OnAnyOutgoing
// listeners run on the goroutine that emits, and the AckFunc of a
// broadcast (BroadcastOperator.Emit) on a goroutine of its own. Timeouts
// (connectTimeout, acknowledgement timeouts) live on the engine's timing
// wheel; when one fires, only the callback it leads to is queued on the
// socket's mailbox.
//
// # Arguments
//
// Inbound packets are copied once and kept as raw JSON: an EventHandler
// gets Args, one Value per argument holding the JSON bytes of the element
// as the client sent them, or the bytes of a binary attachment (the
// top-level placeholders of BINARY_EVENT/BINARY_ACK are replaced). Nothing
// is decoded until asked: Arg[T] decodes the common types (string, bool,
// int, int64, float64, []byte, json.RawMessage) without reflection and the
// rest with encoding/json; attachments nested in objects decode into
// []byte fields. Emitting a Value sends it back unchanged. Emit arguments:
// []byte becomes a binary attachment (nested ones too, in []any and
// map[string]any), json.RawMessage goes as it is, strings, numbers, bools,
// nil, []any, []string and maps are encoded directly, anything else with
// encoding/json without HTML escaping.
//
// # Adapters and broadcasts
//
// Each namespace has an Adapter (the reference's Adapter class in Go, so
// that a multi-node adapter compatible with @socket.io/redis-adapter can be
// added without touching sio). InMemoryAdapter keeps rooms in shards by
// room hash, each with its own lock; a broadcast takes the read lock of
// each target room's shard in turn, never a global one, and writes the
// same engine.Prepared bytes to each member: the allocations of a
// broadcast do not depend on the number of members.
//
// Volatile packets are dropped for a client whose transport cannot take
// them right now (engine.Session.Writable: a WebSocket with a write
// backlog, or a polling client with no GET waiting), as in the reference.
//
// Flooding: a connection may have at most Options.MaxQueuedPackets packets
// (default 1024) and Options.MaxQueuedBytes bytes (default 16 MiB) queued
// for its handlers. A client that sends faster than its handlers run past
// those bounds is disconnected: its sockets' error handlers get
// ErrInboundOverflow and they disconnect with reason "forced close", the
// reason the reference server gives when it closes a connection for the
// client's misbehaviour (an invalid packet).
//
// Invalid packets (unknown type, bad JSON, an event that is not an array
// starting with a name, a reserved event name, a bad attachment count or
// placeholder, a binary message out of place) close the connection as the
// reference does: the error handlers get the error, and the sockets
// disconnect with "forced close".
package sio
