// Package eventloop is the network reactor of fanio: a gnet/v2 event handler
// that serves HTTP/1.1 and WebSocket on one listener without a goroutine per
// connection.
//
// It owns: accepting connections, parsing HTTP requests in place from gnet's
// inbound buffer (keep-alive, pipelining, size limits), the WebSocket upgrade
// handshake and frame reading (unmasking, fragmentation, control frames,
// permessage-deflate inflation), per-connection outbound queues that any
// goroutine may write to and that are drained on the connection's own loop in
// batches, the outbound cap that closes slow readers, and the HTTP idle and linger
// timeouts (on a timer.Wheel).
//
// It knows nothing of Engine.IO or Socket.IO: requests go to a Handler, and
// WebSocket messages to the Owner a handler attached to the connection. It
// imports only codec, pool and timer from this project, never engine or sio.
//
// Threading contract: Handler and Owner callbacks run on the connection's
// event loop goroutine and must not block. Slices passed to them point into
// gnet's read buffer and are valid only for the duration of the call. Conn's
// write and close methods are safe from any goroutine.
//
// Scheduling: each loop accepts from its own SO_REUSEPORT listener (no
// acceptor reactor). A gnet reactor waits in epoll_wait inside a system call
// that keeps its P; when GOMAXPROCS leaves no P spare from the reactors, a
// loop yields its P after each batch of reads so the goroutines it readied
// run at once (Options.SpareProc raises GOMAXPROCS instead).
package eventloop
