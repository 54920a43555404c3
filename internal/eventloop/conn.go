package eventloop

import (
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Errors passed to Owner.OnClose saying why a connection ended.
var (
	ErrProtocol       = errors.New("eventloop: websocket protocol error")
	ErrInvalidPayload = errors.New("eventloop: invalid websocket payload")
	ErrMessageTooBig  = errors.New("eventloop: websocket message too big")
	ErrSlowReader     = errors.New("eventloop: outbound cap exceeded (slow reader)")
	ErrConnClosed     = errors.New("eventloop: connection closed")
)

type connMode uint8

const (
	modeHTTP connMode = iota
	modeWebSocket
	modeFrames // a link between two servers (frames.go)
)

// Conn is one client connection. Its write and close methods are safe from
// any goroutine; everything else is for its event loop.
type Conn struct {
	// What a write touches comes first, then the link (in Conn on Linux),
	// so that queueing a broadcast packet and writing it out touch few
	// cache lines: at 1,000 subscribers a delivery's user CPU is mostly
	// cache misses on the connections' state (BENCHMARKS.md).
	ln     link
	loop   *loop
	mu     sync.Mutex
	queue  *outQueue // nil while nothing waits: idle conns hold no array
	queued int       // bytes in queue, each item's overhead included (outbound.go)
	held   int       // bytes the link held unwritten when the loop last looked
	// markLeft is how many bytes must still leave the queue before
	// SetMark's position is passed: <= 0 once it is.
	markLeft int
	// one is the pending write while it is the only one and shared (a
	// broadcast's delivery, nearly always): its first byte, kept here, in
	// lines the write reads anyway, instead of in a pooled queue whose line
	// is cold by then (outbound.go, oneItem). Set only while queue is nil.
	one      unsafe.Pointer
	oneLen   int32
	oneFlags uint8
	// Flags are grouped so that Conn packs into fewer words (one Conn per
	// connection).
	dirty              bool
	closing            bool     // close once the queue is written; accept no more writes
	closed             bool     // gone: OnClose ran
	overflow           bool     // outbound cap exceeded
	closeAfterResponse bool     // the pending answer ends the connection
	link               bool     // a framed connection (frames.go): not counted, its own outbound cap (outCap)
	dropVolatile       bool     // over budget, queued volatile packets go first (DropVolatile)
	stalled            bool     // in its loop's stalled list (outbound.go)
	account            *Account // shared total this connection's backlog counts in; nil: none
	// fl is the link itself where the reactor's links live in their Conn
	// (reactor_epoll.go: one allocation per connection); empty elsewhere
	// (and not the last field, which would pad an empty one).
	fl         linkState
	readPaused atomic.Bool
	need       int32 // inbound bytes needed before parsing again (see setNeed)

	// Loop-only state, and what the write path does not read.
	mode        connMode
	awaiting    bool // an HTTP request is being answered
	continued   bool // "100 Continue" sent for the request being read
	lingering   bool
	lingerArmed bool         // a closing connection waits, bounded, for its backlog
	pollPaused  bool         // reads are off in the poller (readpause.go)
	detached    bool         // handed to a Diverter: the loop closes its side without telling anyone
	secure      bool         // TLS (a netLink over a *tls.Conn); set before the first request
	pre         *pool.Buffer // inbound bytes given at adoption, not yet consumed (see link.go)
	closeErr    error        // reason handed to Owner.OnClose
	owner       Owner
	timer       *timer.Timer // HTTP idle timeout, then the linger timeout; nil on WebSockets
	ws          wsState
}

// ConnWriteState is how many bytes from its start a Conn's write from
// another goroutine reads: for prefetch hints (engine.Session.PrefetchConn).
const ConnWriteState = unsafe.Offsetof(Conn{}.fl)

// setNeed records that parsing must wait for n buffered bytes; past
// math.MaxInt32 it waits for that many, which only means parsing again early.
func (c *Conn) setNeed(n int) { c.need = int32(min(n, math.MaxInt32)) }

func newConn(ln link, l *loop) *Conn { return &Conn{ln: ln, loop: l} }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.ln.RemoteAddr() }

// RemoteAddrPort is the peer's IP address and port, without allocating
// where the link can (the zero AddrPort if the peer is not known, or not
// over IP).
func (c *Conn) RemoteAddrPort() netip.AddrPort {
	if l, ok := c.ln.(addrPortLink); ok {
		return l.remoteAddrPort()
	}
	if a, ok := c.ln.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// addrPortLink is a link that gives its peer's address without allocating.
type addrPortLink interface{ remoteAddrPort() netip.AddrPort }

// Secure reports whether the connection is TLS.
func (c *Conn) Secure() bool { return c.secure }

// IsWebSocket reports whether the connection was upgraded.
func (c *Conn) IsWebSocket() bool { return c.mode == modeWebSocket }

// Deflate reports whether permessage-deflate was negotiated.
func (c *Conn) Deflate() bool { return c.ws.deflate }

// SetOwner attaches o to the connection (nil detaches). If the connection is
// already closed, o.OnClose is not called; Closed reports that.
func (c *Conn) SetOwner(o Owner) {
	c.mu.Lock()
	c.owner = o
	c.mu.Unlock()
}

// Closed reports whether the connection is gone or closing.
func (c *Conn) Closed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.closing
}

// WriteShared queues b, which must stay unchanged until written (it may be
// shared by many connections, as a broadcast frame is). Past the outbound
// budget (Options.MaxOutboundBytes) the connection closes as a slow reader
// and ErrSlowReader is returned.
func (c *Conn) WriteShared(b []byte) error {
	_, err := c.enqueue(outItem{b: b})
	return err
}

// WriteOwned queues bb's bytes and takes ownership of bb (see WriteShared).
// On a WebSocket of an epoll loop with nothing queued or being written
// ahead of it, the caller writes them to the socket at once
// (canWriteNowLocked); shared bytes are always written by the loop.
func (c *Conn) WriteOwned(bb *pool.Buffer) error {
	_, err := c.enqueue(outItem{b: bb.B, bb: bb})
	return err
}

// WriteSharedVolatile queues b, shared as with WriteShared, as a volatile
// message: one that may be dropped rather than delivered late. It is
// dropped (queued is false, err nil) when it does not fit in the budget,
// and, with SetDropVolatile, may be dropped later from the queue to make
// room for a message that is not volatile.
func (c *Conn) WriteSharedVolatile(b []byte) (queued bool, err error) {
	return c.enqueue(outItem{b: b, flags: itemVolatile})
}

// WriteOwnedVolatile is WriteSharedVolatile for an owned buffer (ownership
// passes, whether it is queued or not).
func (c *Conn) WriteOwnedVolatile(bb *pool.Buffer) (queued bool, err error) {
	return c.enqueue(outItem{b: bb.B, bb: bb, flags: itemVolatile})
}

// Respond queues the complete HTTP response in bb (ownership passes) and ends
// the request being answered; closeAfter closes the connection once it is
// written. Safe from any goroutine, once per request.
func (c *Conn) Respond(bb *pool.Buffer, closeAfter bool) error {
	f := uint8(itemEndsResponse)
	if closeAfter {
		f |= itemCloseAfter
	}
	_, err := c.enqueue(outItem{b: bb.B, bb: bb, flags: f})
	return err
}

// Close writes what is queued and closes the connection; err is what the
// owner will be told.
func (c *Conn) Close(err error) {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.closeErr = err
	wake := c.setDirtyLocked()
	c.mu.Unlock()
	if wake {
		c.loop.markDirty(c)
	}
}

// CloseWebSocket queues a close frame with code and reason, then closes.
func (c *Conn) CloseWebSocket(code ws.StatusCode, reason string, err error) {
	bb := pool.Get()
	bb.B = codec.AppendCloseFrame(bb.B, code, reason)
	// A close frame is always queued (it is small, and there is one): the
	// peer learns why, even from a full queue.
	if _, qerr := c.enqueue(outItem{b: bb.B, bb: bb, flags: itemNoBudget}); qerr == nil {
		c.Close(err)
	}
}

// closeGracefully sends FIN after the last answer and keeps discarding input
// until the peer closes or the linger timeout: closing with unread input
// would make the kernel send a reset that destroys the answer (a 413, a
// close frame 1009) before the peer reads it. Loop only.
func (c *Conn) closeGracefully() {
	// The connection is finished for its owner now, not when the peer
	// gets round to closing its side.
	c.mu.Lock()
	owner, err := c.owner, c.closeErr
	c.owner = nil
	c.mu.Unlock()
	if owner != nil {
		owner.OnClose(c, err)
	}
	if c.lingering || !c.canShutdownWrite() {
		c.ln.Close() // the link writes what it still holds, then closes
		return
	}
	if err := c.shutdownWrite(); err != nil {
		c.ln.Close()
		return
	}
	c.discard(-1)
	c.lingering = true
	c.armTimer(c.loop.srv.cfg.LingerTimeout)
}

// canShutdownWrite reports whether the write side can be shut down now
// without cutting what is still queued: a netLink shuts it down after its
// queue, a reactor link needs its buffer empty.
func (c *Conn) canShutdownWrite() bool {
	if _, ok := c.ln.(*netLink); ok {
		return true
	}
	return c.ln.OutboundBuffered() == 0
}

// shutdownWrite sends FIN (or TLS close_notify) after what is queued.
func (c *Conn) shutdownWrite() error {
	if p, ok := c.ln.(*netLink); ok {
		return p.closeWrite()
	}
	return shutdownFd(c.ln.Fd())
}

// armTimer (re)arms the connection's timer, which closes it. Loop only.
func (c *Conn) armTimer(d time.Duration) {
	ts := c.loop.srv.cfg.Timers
	if c.timer == nil {
		c.timer = &timer.Timer{}
		ln := c.ln
		ts.Init(c.timer, func(*timer.Timer) { _ = ln.Close() })
	}
	ts.Reset(c.timer, d)
}

// stopTimer disarms the connection's timer; with drop it also frees it.
func (c *Conn) stopTimer(drop bool) {
	if c.timer != nil {
		c.loop.srv.cfg.Timers.Stop(c.timer)
		if drop {
			c.timer = nil
		}
	}
}

// onClosed runs on the loop when the link is closed.
func (c *Conn) onClosed(gerr error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if !c.detached && !c.link {
		c.loop.srv.conns.Add(-1)
	}
	c.clearOneLocked()
	q := c.queue
	c.queue = nil
	c.chargeLocked(-c.queued - c.held)
	c.queued, c.held = 0, 0
	owner := c.owner
	c.owner = nil
	err := c.closeErr
	requested := c.closing || c.overflow
	c.mu.Unlock()
	if q != nil {
		q.drop()
		q.release()
	}
	c.ws.release()
	pool.Put(c.pre)
	c.pre = nil
	c.stopTimer(true)
	if err == nil && !requested && gerr != nil && !isPeerGone(gerr) {
		err = gerr
	}
	if owner != nil {
		owner.OnClose(c, err)
	}
}

// onTraffic consumes inbound bytes according to the connection's mode.
func (c *Conn) onTraffic() {
	if c.Closed() || c.detached {
		c.discard(-1)
		return
	}
	if c.mode == modeHTTP {
		c.readHTTP()
	}
	if c.mode == modeWebSocket {
		c.readWebSocket()
	}
	if c.mode == modeFrames {
		c.readFrames()
	}
}
