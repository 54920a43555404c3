package sio

import (
	"errors"
	"iter"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// client is one Engine.IO connection and the sockets (one per namespace)
// it carries. Its mailbox serializes every handler of those sockets.
//
// One exists per connection: it is kept at 128 bytes (a size class;
// TestClientSize).
type client struct {
	srv    *Server
	sess   session
	mb     pool.Mailbox
	queued atomic.Int32 // bytes waiting for the handlers (at most 2×MaxQueuedBytes <= 2 GiB)
	closed bool         // (mu)
	wait   uint8        // its bucket+1 in the server's connectWatch while it joined no namespace (the watch's lock)
	eio3   bool         // an Engine.IO v3 connection: Socket.IO protocol v4 (eio3.go)
	paused bool         // its reads are paused while its handlers catch up (mu; flow.go)

	// inMu serializes OnMessage: a polling session's POSTs and an
	// upgrading WebSocket may be served by different event loops.
	inMu sync.Mutex

	mu   sync.Mutex
	sock *Socket // the first connected socket (mu); the others are in x.more
	x    atomic.Pointer[clientExtra]
}

// clientExtra is what few connections use: a second namespace, a binary
// packet. Out of line, it keeps client at 112 bytes (a slice of sockets
// and its array took 32 per connection).
type clientExtra struct {
	more []*Socket // connected sockets after sock, in the order they connected (mu)
	pend *inPacket // a binary packet waiting for its attachments (inMu)
}

// extra returns c.x, allocating it on first use. Safe from any goroutine:
// its fields have their own locks.
func (c *client) extra() *clientExtra {
	if x := c.x.Load(); x != nil {
		return x
	}
	c.x.CompareAndSwap(nil, &clientExtra{})
	return c.x.Load()
}

// socketsLocked yields the connected sockets in the order they connected;
// c.mu held.
func (c *client) socketsLocked() iter.Seq[*Socket] {
	return func(yield func(*Socket) bool) {
		if c.sock == nil || !yield(c.sock) {
			return
		}
		if x := c.x.Load(); x != nil {
			for _, s := range x.more {
				if !yield(s) {
					return
				}
			}
		}
	}
}

// socketList returns a copy of the connected sockets.
func (c *client) socketList() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(c.socketsLocked())
}

// session is what sio uses of an Engine.IO session: an *engine.Session
// (through engineSession), or the fake of the tests and benchmarks.
type session interface {
	ID() string
	// Protocol is the Engine.IO protocol version, 3 or 4.
	Protocol() int
	Transport() string
	RemoteAddr() net.Addr
	// RequestHead is the handshake request (the session's compact copy),
	// read by HandshakeView on demand.
	RequestHead() engine.RequestHead
	Secure() bool
	// Writable reports whether a packet sent now would go out at once.
	Writable() bool
	Send(data []byte, binary bool) error
	SendBatch(msgs []engine.Message) error
	// SendShared queues a packet many sessions share (a broadcast): an
	// engine session writes the bytes the packet prepared once in the
	// parser's form, through f when it is not nil (f.Flush follows).
	SendShared(p *Packet, parser Parser, compress bool, f *engine.Fanout) error
	// SendVolatile queues p only if the transport can take it now, as a
	// packet that may be dropped later to make room; it reports whether
	// it was queued.
	SendVolatile(p *Packet, parser Parser, compress bool, f *engine.Fanout) bool
	// PauseReads and ResumeReads stop and restart the delivery of the
	// client's packets (flow control: TCP pushes back).
	PauseReads()
	ResumeReads()
	SetSlowReaderPolicy(p SlowReaderPolicy)
	Close() error
}

// engineSession is an *engine.Session as a session (a one-pointer struct:
// it fits in the interface without an allocation).
type engineSession struct{ *engine.Session }

func (s engineSession) SendShared(p *Packet, parser Parser, compress bool, f *engine.Fanout) error {
	prep, err := p.prepared(parser, compress)
	if err != nil {
		return err
	}
	if f != nil {
		return f.Send(s.Session, prep)
	}
	return s.SendPrepared(prep)
}

func (s engineSession) SendVolatile(p *Packet, parser Parser, compress bool, f *engine.Fanout) bool {
	prep, err := p.prepared(parser, compress)
	if err != nil {
		return false
	}
	if f != nil {
		return f.SendVolatile(s.Session, prep)
	}
	return s.Session.SendVolatile(prep)
}

func (s *Server) onSession(sess *engine.Session) {
	c := s.newClient(engineSession{sess})
	sess.SetHandler(c)
}

func (s *Server) newClient(sess session) *client {
	c := &client{srv: s, sess: sess, eio3: sess.Protocol() == 3}
	// Room for twice the flow limits (see flow.go), and the bookkeeping
	// tasks (errors, the close) beyond.
	c.mb.Init(s.workers, 2*s.opts.MaxQueuedPackets+8)
	s.connects.add(c)
	if c.eio3 {
		// A v2 client never asks for "/": it is joined on the connection,
		// before anything the client sends.
		p := inPackets.Get().(*inPacket)
		*p = inPacket{c: c, typ: codec.SIOConnect, nsp: "/", ackID: -1}
		_ = c.mb.Submit(p)
	}
	return c
}

// stopConnectTimer stops the connect timeout (a namespace was joined, or
// the connection ended).
func (c *client) stopConnectTimer() { c.srv.connects.remove(c) }

// onConnectTimeout runs on the timers goroutine.
func (c *client) onConnectTimeout() {
	c.mu.Lock()
	idle := c.sock == nil && !c.closed
	c.mu.Unlock()
	if idle {
		_ = c.sess.Close()
	}
}

// OnMessage implements engine.Handler; it runs on an event loop.
func (c *client) OnMessage(_ *engine.Session, data []byte, binary bool) {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	p, err := c.srv.parser.decode(c, data, binary)
	if err != nil {
		c.protocolError(err)
		return
	}
	if p != nil {
		c.dispatch(p)
	}
}

// dispatch hands a complete packet to the handlers' mailbox. ACKs that a
// blocked EmitWithAck waits for are delivered right here instead, so that a
// handler may wait for an acknowledgement of its own connection.
func (c *client) dispatch(p *inPacket) {
	switch p.typ {
	case codec.SIOAck, codec.SIOBinaryAck:
		if s := c.socket(p.nsp); s != nil && s.ackDirect(p) {
			p.release()
			return
		}
	case codec.SIODisconnect:
		if s := c.socket(p.nsp); s != nil {
			s.markEnded(false) // see OnClose
		}
	}
	if !c.admit(p.size) {
		c.overflow()
		return
	}
	if err := c.mb.Submit(p); err != nil {
		c.queued.Add(-int32(p.size))
		if errors.Is(err, pool.ErrMailboxFull) {
			c.overflow()
		}
		return
	}
	c.flowAfterSubmit()
}

func (c *client) overflow() {
	c.srv.stats.inboundOverflows.Add(1)
	c.srv.rlog.Log(logOverflow, slog.LevelWarn, "sio: connection closed: it went on delivering past twice MaxQueuedPackets/MaxQueuedBytes while its reads were paused",
		"remote", remoteHost(c.sess), "eio", c.sess.ID(), "queued_bytes", c.queued.Load(), "queued_packets", c.mb.Len())
	c.closeForError(ErrInboundOverflow)
}

// protocolError counts and logs an invalid packet, then closes the
// connection (closeForError).
func (c *client) protocolError(err error) {
	c.srv.stats.protocolErrors.Add(1)
	c.srv.rlog.Log(logProtocol, slog.LevelWarn, "sio: invalid packet; connection closed",
		"remote", remoteHost(c.sess), "eio", c.sess.ID(), "err", err.Error())
	c.closeForError(err)
}

// closeForError tells the sockets' error handlers, then closes the
// connection; the sockets then disconnect with "forced close", as with the
// reference.
func (c *client) closeForError(err error) {
	socks := c.socketList()
	if len(socks) > 0 {
		_ = c.mb.ForceSubmit(pool.TaskFunc(func() {
			for _, s := range socks {
				s.fireError(err)
			}
		}))
	}
	_ = c.sess.Close()
}

// OnClose implements engine.Handler.
func (c *client) OnClose(_ *engine.Session, reason DisconnectReason) {
	c.stopConnectTimer()
	c.mu.Lock()
	c.closed = true
	// Cancel the sockets' contexts now: a handler blocked on one holds the
	// mailbox where the disconnect is queued. (Lock order: c.mu, then s.mu.)
	for s := range c.socketsLocked() {
		s.markEnded(false)
	}
	c.mu.Unlock()
	_ = c.mb.ForceSubmit(pool.TaskFunc(func() { c.closeSockets(reason) }))
	c.mb.Close()
}

// closeSockets disconnects every socket with reason. On the mailbox.
func (c *client) closeSockets(reason DisconnectReason) {
	c.mu.Lock()
	socks := slices.Collect(c.socketsLocked())
	c.sock = nil
	if x := c.x.Load(); x != nil {
		x.more = nil
	}
	c.mu.Unlock()
	for _, s := range socks {
		s.onClose(reason)
	}
}

// forceClose is the reference's client.close(): the connection is closed
// and the sockets disconnect with "forced close". On the mailbox.
func (c *client) forceClose() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.closeSockets(ReasonForcedClose)
	_ = c.sess.Close()
}

// socket returns the connected socket of namespace nsp.
func (c *client) socket(nsp string) *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.socketsLocked() {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// socketCount is the number of namespaces the connection has joined.
func (c *client) socketCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for range c.socketsLocked() {
		n++
	}
	return n
}

func (c *client) addSocket(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.sock == nil {
		c.sock = s
	} else {
		x := c.extra()
		x.more = append(x.more, s)
	}
	return true
}

func (c *client) removeSocket(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x := c.x.Load()
	if c.sock == s {
		c.sock = nil
		if x != nil && len(x.more) > 0 {
			c.sock = x.more[0]
			x.more = slices.Delete(x.more, 0, 1)
		}
		return
	}
	if x != nil {
		if i := slices.Index(x.more, s); i >= 0 {
			x.more = slices.Delete(x.more, i, i+1)
		}
	}
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// send writes one packet to the connection, in the server's parser's form.
func (c *client) send(p *Packet, volatile bool) error {
	if volatile {
		c.sess.SendVolatile(p, c.srv.parser, true, nil)
		return nil
	}
	return c.srv.parser.send(c.sess, p)
}

// sendShared writes a packet many connections share (see session).
func (c *client) sendShared(p *Packet, compress bool, f *engine.Fanout) error {
	return c.sess.SendShared(p, c.srv.parser, compress, f)
}

// sendRaw sends a control packet (CONNECT, CONNECT_ERROR, DISCONNECT) whose
// data is the JSON text data.
func (c *client) sendRaw(typ codec.SIOType, nsp string, data []byte) error {
	return c.srv.parser.sendControl(c.sess, typ, nsp, data, nil)
}

// remoteHost is the client's address without the port, for logs.
func remoteHost(sess session) string {
	a := sess.RemoteAddr()
	if a == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}
