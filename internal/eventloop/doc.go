// Package eventloop is the network reactor of fanio: it serves HTTP/1.1 and
// WebSocket connections with no goroutine per connection, on event loops:
// its own epoll loops on Linux (reactor_epoll.go), gnet/v2 loops on the
// BSDs and macOS, and on Linux with the build tag fanio_gnet
// (reactor_gnet.go). Both reactors sit behind the same two seams — a link
// (link.go: the byte stream under a Conn) and an executor (loop.go: runs
// tasks on a loop) — so the Conn code above them is one.
//
// It owns: taking connections in — accepting them from net.Listeners
// (Serve: accept errors back off, never stop it; a connection cap refuses
// the excess cheaply) or adopting established ones (Adopt: a connection
// hijacked from net/http, with the bytes already read from it) — and
// moving each onto a loop; parsing HTTP requests in place from the loop's
// inbound buffer (keep-alive, pipelining, size limits); the WebSocket
// upgrade handshake and frame reading (unmasking, fragmentation, control
// frames, permessage-deflate inflation); per-connection outbound queues
// that any goroutine may write to and that are drained on the connection's
// own loop in batches; the outbound budget, checked before anything is
// queued, that closes slow readers (or drops their volatile messages
// first), with what the link copies bounded to one write chunk
// (outbound.go); pausing a connection's reads so TCP pushes back
// (readpause.go); handing a connection over to someone else (a net/http
// server) from a request on; framed connections between two servers
// (AdoptFrames: length-prefixed messages, for engine's cluster links); and
// the HTTP idle and linger timeouts (on a timer.Wheel).
//
// The loops have no listener of their own and start on first use;
// accepting is done in Go (Serve), where accept errors are ours to back off
// from (gnet's acceptor stops every loop on the first accept error it does
// not expect, EMFILE). On Linux a TCP listener is accepted from with
// accept4 on a duplicate of its descriptor and the descriptors go to the
// loops as they are; a net.Conn's descriptor (another listener, a
// hijacked connection) is duplicated onto a loop.
// A connection a loop cannot own — TLS, or any where there is no reactor
// (platforms without epoll/kqueue: Windows) — is served by the same Conn
// code over its net.Conn, on goroutines (netLink).
//
// It knows nothing of Engine.IO or Socket.IO: requests go to a Handler, and
// WebSocket messages to the Owner a handler attached to the connection. It
// imports only codec, pool, prefetch and timer from this project, never
// engine or sio.
//
// Threading contract: Handler and Owner callbacks run on the connection's
// event loop (for a netLink, under its lock) and must not block. Slices
// passed to them point into the loop's read buffer and are valid only for
// the duration of the call. Conn's write and close methods are safe from
// any goroutine; on an epoll loop a WebSocket frame the caller owns, with
// nothing queued or being written ahead of it, is written to the socket by
// the caller at once (outbound.go, canWriteNowLocked), everything else by
// the loop. A series of writes (a broadcast's) may leave the loops'
// wake-ups to a WakeBatch, one per loop per Flush. The epoll loops read and
// write with raw system calls.
//
// Scheduling: a loop waits in epoll_wait inside a system call that keeps
// its P; when GOMAXPROCS leaves no P spare from the loops, a loop yields
// its P after each batch of reads so the goroutines it readied run at once
// (Options.SpareProc raises GOMAXPROCS instead; procs.go).
package eventloop
