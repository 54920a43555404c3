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
// semantics and the parsers (built on codec's packet header and JSON
// scanning helpers, and msgpack's MessagePack reader and transcoders),
// the client/namespace/socket model, argument decoding and encoding, the
// room registry and the Adapter interface, acknowledgements and their
// timeouts, and where user code runs (through pool.Workers).
//
// It must not touch transports or bytes on the wire below Engine.IO: no
// HTTP, WebSocket framing, polling, heartbeats or write queues (those are
// engine's and eventloop's), and it never blocks an event loop. It uses
// engine only through its public API (Server, Session, Prepared), and of
// the machinery only codec (packet headers, JSON scanning), msgpack (the
// msgpack parser's format), pool (buffers, the handlers' workers), timer
// (its own timing wheel for connect and acknowledgement timeouts) and
// ratelog (logging what clients can cause). Nothing below sio imports it.
//
// # Where user code runs
//
// Nothing the user wrote runs on an event loop. Engine calls sio on the
// loop with each inbound message; there sio only decodes and validates the
// packet, copies it once, reassembles binary attachments, and queues it.
// Every handler — namespace middleware, connection handlers, event
// handlers, OnAny listeners, acknowledgement callbacks, disconnecting and
// disconnect handlers, error handlers, dynamic namespace checks — runs on
// an elastic pool of worker goroutines. There is no goroutine per
// connection: a connection with work is handed to a parked worker, or
// waits for a busy one to finish. The pool keeps 8×GOMAXPROCS workers (at
// least 16); when connections wait while workers are blocked in handlers
// (a handler running for more than 1–2 ms counts), it adds a worker per
// waiting connection, up to Options.MaxWorkers (default 10,000), and
// retires workers that stay idle for 10 s.
//
// Ordering: each Engine.IO connection (the "client", which carries one
// socket per namespace it joined) has a serial mailbox. Its handlers run
// one at a time, in the order the packets arrived; different connections
// run in parallel. So for one socket: middleware, then the connection
// handler, then events in arrival order, then disconnecting/disconnect —
// and a namespace's events never overtake its CONNECT. A handler may block
// (a database call, a blocking EmitWithAck); it then holds back only its
// own connection: other connections get another worker within a few
// milliseconds. Past MaxWorkers blocked handlers, connections with work
// wait their turn for a worker.
//
// Emitting is safe from any goroutine and never blocks: it encodes the
// packet and queues it on the Engine.IO session. Packets emitted to one
// socket from one goroutine arrive in order. A broadcast is encoded once
// (engine.NewPrepared) and the same bytes are queued on every member.
//
// Exceptions, on goroutines the user already owns or that exist only for
// the call: OnAnyOutgoing listeners run on the goroutine that emits, and
// a broadcast's BroadcastAckFunc on a goroutine of its own, started when
// its acknowledgements are all in. Timeouts (connectTimeout,
// acknowledgement timeouts) live on sio's timing wheel; when one fires,
// only the callback it leads to is queued on the socket's mailbox. (The
// connect timeout closes a connection between 1 and 1.1 times
// ConnectTimeout after it opened: connections wait for it in buckets, not
// with a timer each.)
//
// # What a socket costs
//
// An idle socket keeps no parsed handshake (Socket.Handshake reads the
// session's compact copy of the request on demand) and, when its
// connection handler registers package-level functions or func values
// made once, no handler list of its own: sockets that register the same
// handlers in the same order share one (see Socket.On; OnDisconnect and
// OnDisconnecting handlers too). Closures created per socket work the
// same, at about 32 bytes per handler per socket, and so does a socket
// that removed a handler (it gets a list of its own).
//
// Socket.Context is cancelled as soon as the socket's disconnection is
// known (on the event loop, before the mailbox gets to the disconnect
// handlers), so a handler that blocks can select on it and stop.
//
// # Acknowledgements
//
// The Ack a handler receives may be called once, from any goroutine (later
// calls are ignored).
//
// The server's own requests end exactly once, always:
//   - Emit with a trailing AckFunc: the callback runs on the socket's
//     mailbox, like an event, with the client's answer, ErrAckTimeout after
//     the Timeout, or ErrDisconnected when the socket disconnected first;
//     never if Emit returned an error.
//   - EmitWithAck (Socket, Emitter) blocks until the answer, the Timeout,
//     ctx, or the disconnection; it does not need the mailbox, so a handler
//     may call it on its own socket.
//   - A broadcast's EmitWithAck (or Emit with a trailing BroadcastAckFunc)
//     returns when every selected client answered or left, on the Timeout,
//     or when ctx ends. A client that disconnects without answering counts
//     as answered with an error: the result is the answers that came and
//     an *AckError (errors.Is ErrDisconnected, or ErrAckTimeout). Nothing
//     waits on a goroutine meanwhile. Without a Timeout a connected client
//     that never answers holds the broadcast until ctx ends (or forever for
//     a BroadcastAckFunc), so set one, as the reference requires.
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
// []byte fields. Emitting a Value sends it back unchanged. The zero Value
// is no value (JavaScript's undefined: what Arg returns past the last
// argument): it is sent as null, and left out of maps. A Value implements
// json.Marshaler and json.Unmarshaler, so it may sit in structs that are
// decoded or emitted.
//
// Emit arguments: a []byte anywhere in an argument — the argument itself,
// a struct field, a map value, a slice element, behind a pointer or an
// interface — is a binary attachment, as the reference sends every Buffer
// (and so is a binary Value); json.RawMessage goes as it is; strings,
// numbers, bools, nil, []any, []string and maps are encoded directly;
// other types with encoding/json's rules (without HTML escaping). A type
// that can hold a []byte is walked by sio with those rules (tags,
// omitempty, omitzero, embedding, Marshalers), decided once per type;
// others go to encoding/json whole.
//
// # Parsers
//
// Options.Parser chooses the packet encoding, as the reference's "parser"
// option: JSONParser (the default: socket.io-parser's text packets,
// binary values as attachments) or MsgpackParser
// (socket.io-msgpack-parser 3.x: one binary MessagePack message per
// packet, binary values inline). Clients must use the same (nothing in the
// handshake tells). Either way a packet has one form inside sio — JSON text
// and binary attachments — that handlers, adapters and connection state
// recovery see, so everything above works the same with both; the msgpack
// parser transcodes a packet in one pass over its bytes when it arrives,
// and when it is sent (a broadcast once, for all its members). Fidelity
// with the msgpack reference: notepack's undefined arrives as null (and
// leaves objects), a Date as its ISO string.
//
// # Adapters and broadcasts
//
// Each namespace has an Adapter (the reference's Adapter class in Go). The
// default, InMemoryAdapter, serves one node; package redisadapter joins
// nodes (fanio and Node.js ones alike) through Redis, wire-compatible with
// @socket.io/redis-adapter. InMemoryAdapter keeps rooms in shards by
// room hash, each with its own lock; a broadcast takes the read lock of
// each target room's shard in turn, never a global one, and writes the
// same engine.Prepared bytes to each member: the allocations of a
// broadcast do not depend on the number of members.
//
// Volatile packets are dropped for a client whose transport cannot take
// them right now (engine.Session.Writable: a WebSocket with a write
// backlog, or a polling client with no GET waiting), as in the reference.
//
// # Flow control
//
// Outbound, each connection has one budget (Options.MaxOutboundBytes,
// default 4 MiB) on every transport, checked before a packet is queued: a
// client that reads too slowly to keep within it is disconnected
// (ReasonSlowReader), or, with Options.SlowReaderPolicy (or
// Socket.SetSlowReaderPolicy) DropVolatile, loses its queued volatile
// packets first. Options.MaxOutboundBytesTotal bounds all connections
// together, disconnecting the largest backlogs first.
//
// Inbound, a connection may have Options.MaxQueuedPackets packets (default
// 1024) and Options.MaxQueuedBytes bytes (default 16 MiB) waiting for its
// handlers. There its reads are paused — a WebSocket is no longer read, so
// TCP pushes back on the client; a polling POST keeps its remaining packets
// and its answer — until the handlers are down to half of that. A burst
// (the official client flushes its offline buffer in one POST) is slowed,
// never cut; only a transport that goes on delivering past twice the
// limits is disconnected: its sockets' error handlers get
// ErrInboundOverflow and they disconnect with reason "forced close", the
// reason the reference server gives when it closes a connection for the
// client's misbehaviour. An event or acknowledgement may carry at most
// Options.MaxEventArgs arguments (default 10,000), which bounds what one
// packet costs the event loop; a connection may join at most
// Options.MaxNamespacesPerConnection namespaces at once (default 100).
//
// Dynamic namespaces (OfFunc, OfRegexp) are kept once created, as in the
// reference, unless Options.CleanupEmptyChildNamespaces removes each when
// its last socket leaves: turn it on when clients choose the names.
//
// # Old clients (socket.io-client 2.x)
//
// With Options.AllowEIO3, clients of Engine.IO v3 connect beside v4 ones
// and speak Socket.IO protocol v4, as with the reference's allowEIO3 (see
// eio3.go): the connection joins "/" at once through its middleware; a
// namespace's query is the socket's auth; socket ids are
// "<nsp>#<engine id>"; CONNECT answers carry no sid; a refusal is a plain
// JSON value (the ConnectError's data, or its message). Everything else —
// events, acknowledgements, binary, rooms, broadcasts — is the same: a
// broadcast's packet is encoded once, and only the Engine.IO framing of the
// v3 members differs (built once per broadcast, and only if one is there).
//
// Invalid packets (unknown type, bad JSON, an event that is not an array
// starting with a name, a reserved event name, a bad attachment count or
// placeholder, a binary message out of place) close the connection as the
// reference does: the error handlers get the error, and the sockets
// disconnect with "forced close".
//
// # Porting from socket.io
//
// Handler code ports line by line; five transforms recur: arguments are
// decoded on demand (Arg[T]), ack may be nil, milliseconds become
// time.Duration, blocking calls take a context.Context, and middleware
// returns an error instead of calling next(err).
//
//	socket.io (Node.js)                      fanio
//	new Server({pingInterval, cors, ...})    sio.NewServer(sio.Options{PingInterval: ..., CORS: &sio.CORS{...}})
//	new Server(3000) / httpServer.listen()   srv.ListenAndServe(":3000") (blocks; Start does not)
//	new Server(httpServer), io.attach(app)   mux.Handle("/socket.io/", srv) (an http.Handler)
//	https.createServer({key, cert})          srv.ListenAndServeTLS(":443", "cert.pem", "key.pem")
//	io.on("connection", s => ...)            srv.OnConnection(func(s *sio.Socket) {...})
//	s.on("ev", (a, b, cb) => ...)            s.On("ev", func(s *sio.Socket, args sio.Args, ack sio.Ack) {...})
//	                                         a, err := sio.Arg[string](args, 0); if ack != nil { ack(...) }
//	s.emit("ev", 1, buf)                     s.Emit("ev", 1, buf) ([]byte is a binary attachment)
//	s.emit("ev", x, (answer) => ...)         s.Emit("ev", x, sio.AckFunc(func(a sio.Args, err error) {...}))
//	await s.timeout(5000).emitWithAck("ev")  s.Timeout(5*time.Second).EmitWithAck(ctx, "ev")
//	io.timeout(t).emit("ev", (err, res) =>)  srv.Timeout(t).Emit("ev", sio.BroadcastAckFunc(func(res []sio.Args, err error) {...}))
//	await io.timeout(t).emitWithAck("ev")    srv.Timeout(t).EmitWithAck(ctx, "ev")
//	s.join(r) / s.leave(r) / s.rooms         s.Join(r...) / s.Leave(r...) / s.Rooms()
//	s.to(r).emit / s.broadcast.emit          s.To(r).Emit / s.Broadcast().Emit
//	io.in(r).except(x).emit                  srv.In(r).Except(x).Emit
//	s.volatile.emit / s.compress(false)      s.Volatile().Emit / s.Compress(false).Emit
//	io.of("/x").use((s, next) => ...)        srv.Of("/x").Use(func(s *sio.Socket) error {...})
//	next(err) with err.data                  return &sio.ConnectError{Message: ..., Data: ...}
//	io.of(/^\/x-\d+$/), io.of(fn)            srv.OfRegexp(re), srv.OfFunc(fn)
//	s.use(([ev, ...args], next) => ...)      s.Use(func(s *sio.Socket, event string, args sio.Args) error {...})
//	s.onAny / s.onAnyOutgoing                s.OnAny / s.OnAnyOutgoing
//	s.prependAny / s.listenersAny            s.PrependAny / s.ListenersAny (and ...Outgoing)
//	s.off(ev, fn) / s.offAny(fn)             off := s.On(ev, h) (or s.OnAny(h)); later off()
//	s.removeAllListeners(ev) / s.offAny()    s.Off(ev) / s.OffAny()
//	s.on("error", err => ...)                s.OnError(func(s *sio.Socket, err error) {...})
//	s.data / s.recovered                     s.Data() and SetData / s.Recovered()
//	s.handshake.auth / .headers[k] / .query  s.Handshake().Auth() / .Header(k) / .Query(k) (parsed on demand; .Full() for the maps)
//	s.on("disconnecting"|"disconnect")       s.OnDisconnecting / s.OnDisconnect (reason sio.DisconnectReason),
//	                                         or s.On("disconnect", h): args[0] is the reason
//	s.disconnect(close)                      s.Disconnect(close)
//	io.fetchSockets() / socketsJoin(r)       srv.FetchSockets() / srv.SocketsJoin(r)
//	remote.timeout(t).emitWithAck("ev")      remote.Timeout(t).EmitWithAck(ctx, "ev")
//	io.serverSideEmit("ev") / io.on("ev")    srv.ServerSideEmit("ev") / ns.OnServerSideEmit("ev", fn)
//	io.serverSideEmitWithAck("ev")           srv.ServerSideEmitWithAck(ctx, "ev")
//	io.of("/").adapter.allRooms()            ns.AllRooms()
//	io.close()                               srv.Shutdown(ctx)
//	adapter: createAdapter(pub, sub)         rc, _ := redisadapter.NewClient(ctx, opts); sio.Options{Adapter: rc.Adapter}
//	new Emitter(redisClient) (redis-emitter) redisemitter.New(ctx, opts)
//	serveClient: true (the default)          sio.Options{ServeClient: os.DirFS("node_modules/socket.io-client/dist")}
//	io.on("new_namespace", nsp => ...)       srv.OnNewNamespace(func(n *sio.Namespace) {...})
//	nsp.adapter.on("join-room", (r, id) =>)  nsp.Adapter().(sio.RoomEventSource).OnJoinRoom(func(r sio.Room, id sio.SocketID) {...})
//	  (and create-room, delete-room, leave-room: OnCreateRoom, OnDeleteRoom, OnLeaveRoom)
//	io.engine.on("connection_error", e =>)   srv.Engine().OnConnectionError(func(e *engine.ConnectionError) {...})
//	io.engine.on("initial_headers"|"headers") srv.Engine().OnInitialHeaders / OnHeaders(func(h http.Header, r *engine.HandshakeRequest) {...})
//	socket.conn.on("upgrade", t => ...)      s.OnUpgrade(func(s *sio.Socket, transport string) {...})
//	nsp.prependListener("connection", fn)    nsp.PrependOnConnection(fn)
//	instrument(io, {auth, mode, readonly})   admin.Instrument(srv, admin.Options{Auth: &admin.BasicAuth{...}}) (package admin)
//	allowEIO3: true / s.conn.protocol        sio.Options{AllowEIO3: true} / s.EngineProtocol()
//	new Server({parser: msgpackParser})      sio.Options{Parser: sio.MsgpackParser}
//	cleanupEmptyChildNamespaces: true        sio.Options{CleanupEmptyChildNamespaces: true}
//
// Metrics: Server.Stats returns the counters (package metrics serves them
// to Prometheus); recording them costs the message path no lock and no
// allocation.
//
// On refuses, with a panic when it is called, the reference's reserved
// names that would never run ("connect", "connect_error", "newListener",
// "removeListener"): a connection handler is OnConnection, a refusal an
// error from a middleware. Go funcs cannot be compared, so removing one
// listener is done with the function its registration returned.
package sio
