package eventloop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/timer"
)

// Handler serves HTTP requests. ServeRequest runs on the connection's event
// loop; req and body are valid only during the call. It must answer exactly
// once: with c.Respond (now or later, from any goroutine), or, for an upgrade
// request, with c.AcceptWebSocket during the call. Further pipelined
// requests on c wait until the answer has been written.
type Handler interface {
	ServeRequest(c *Conn, req *codec.Request, body []byte)
}

// BodyRejecter is an optional interface of a Handler: RejectBody is called,
// instead of answering a plain 413, for a request whose declared body is over
// Options.MaxBodyBytes. The handler must answer with c.Respond; the connection
// is closed after that answer.
type BodyRejecter interface {
	RejectBody(c *Conn, req *codec.Request)
}

// Diverter is an optional interface of a Handler, for requests the reactor
// does not serve itself (a net/http server does).
type Diverter interface {
	// Divert is asked on the loop once a request's head is parsed, before
	// its body is read: true hands the connection, from that request on,
	// to Handoff.
	Divert(req *codec.Request) bool
	// Handoff takes over a connection: a diverted one, whose Read returns
	// the diverted request first, or one Serve accepted that the reactor
	// cannot own (a *tls.Conn, or any connection where there is no
	// reactor). release must be called once when nc is closed or given
	// up (hijacked): the connection stops counting against MaxConns.
	// Handoff must not block.
	Handoff(nc net.Conn, release func())
}

// Owner receives what happens on a connection after its handler attached it:
// WebSocket messages, and the close of the connection.
type Owner interface {
	// OnMessage gets one complete, unmasked (and inflated) WebSocket message.
	// data is valid only during the call.
	OnMessage(c *Conn, data []byte, binary bool)
	// OnClose runs once when the connection is gone; err says why (nil for a
	// clean close by either side).
	OnClose(c *Conn, err error)
}

// Options configure a Server. Zero fields take their defaults.
type Options struct {
	EventLoops      int // default runtime.GOMAXPROCS(0)
	MaxHeaderBytes  int // request line + headers; default 16 KiB (431 beyond), as Node's http
	MaxHeaders      int // header fields; default codec.DefaultMaxHeaders (431 beyond)
	MaxBodyBytes    int // request body; default 1e6 (413 beyond)
	MaxMessageBytes int // WebSocket message; default 1e6 (close 1009 beyond)
	// MaxOutboundBytes bounds what one connection holds unwritten: queued
	// (each message's bytes and bookkeeping) and kernel-refused bytes the
	// link buffered; a write past it closes the connection as a slow
	// reader. Default 4 MiB.
	MaxOutboundBytes int
	// MaxFrameBytes bounds a frame of a framed connection (AdoptFrames), and
	// what one may have queued unwritten; default 64 MiB.
	MaxFrameBytes int
	// MaxConns bounds the connections Serve holds: past it, a new connection
	// is closed as soon as it is accepted (counted by Refused), so the
	// process never runs out of descriptors for the ones it serves. Default
	// (0): the process's open-file limit minus a reserve (DefaultMaxConns);
	// negative: no bound.
	MaxConns int
	// LingerTimeout bounds how long a connection the server closes keeps
	// reading (and discarding) after its last answer, so the answer is not
	// destroyed by a reset while the peer is still sending; default 2s.
	LingerTimeout time.Duration
	// IdleTimeout closes an HTTP connection that does not complete a request
	// within it after opening or after its last answer; default 60s.
	IdleTimeout time.Duration
	// Timers drives the idle and linger timeouts; nil makes the server its own.
	Timers *timer.Wheel
	// SpareProc makes the reactor raise GOMAXPROCS to one more than the
	// number of its loops when it starts. A gnet reactor waits in
	// epoll_wait inside a system call that keeps its P: with no P to spare,
	// a goroutine made runnable while every reactor waits — a timer's, the
	// application's own — runs only once the runtime's monitor takes a P
	// back, after 20 µs to 10 ms. (Handlers the loops hand work to are not
	// affected: a loop yields its P after each batch of reads when it has
	// none to spare.) The spare P costs CPU where the process has one CPU
	// (measured: +30–50% CPU per operation, from thread switches), little
	// where CPUs are idle.
	SpareProc bool
	// NoReactor serves every connection on goroutines (netLink), as where
	// there is no epoll/kqueue: the tests of the layers above run that path
	// on any platform with it.
	NoReactor bool
	Logger    *slog.Logger
}

func (c *Options) setDefaults() {
	if c.EventLoops <= 0 {
		c.EventLoops = runtime.GOMAXPROCS(0)
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 16 << 10
	}
	if c.MaxHeaders <= 0 {
		c.MaxHeaders = codec.DefaultMaxHeaders
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1e6
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1e6
	}
	if c.MaxOutboundBytes <= 0 {
		c.MaxOutboundBytes = 4 << 20
	}
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 64 << 20
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns()
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	if c.LingerTimeout <= 0 {
		c.LingerTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// ErrServerClosed is returned by Serve after Stop.
var ErrServerClosed = errors.New("eventloop: server closed")

// Server owns connections: it accepts them (Serve) or takes them over
// (Adopt), and serves each on a reactor loop when it can, on goroutines
// (netLink) otherwise.
//
// The reactor — gnet event loops with no listener of their own — starts
// on first use: the first Serve or Adopt, or Start.
type Server struct {
	cfg       Options
	handler   Handler
	ownTimers bool

	conns      atomic.Int64 // counted from accept/adoption to close or handoff release
	refused    atomic.Uint64
	acceptErrs atomic.Uint64

	slowReaders      atomic.Uint64 // closed over MaxOutboundBytes
	volatileDropped  atomic.Uint64 // volatile messages dropped (full budget, or evicted)
	readPauses       atomic.Uint64 // PauseReads that took effect
	inboundOverflows atomic.Uint64 // paused connections closed for piling up input

	reactorOnce sync.Once
	reactor     *reactor // nil when it could not start, or on platforms without one
	reactorErr  error
	// enrollMu is held (read) while a connection is being handed to a loop:
	// a hand-off waits for the loop to run it, which a stopped loop never
	// does, so Stop takes it (write) before stopping the loops.
	enrollMu sync.RWMutex
	noEnroll bool

	mu sync.Mutex
	// Serve's listeners, each with what accepts from it besides (a direct
	// acceptor, reactor_epoll.go; nil: none), closed with it.
	listeners map[net.Listener]io.Closer
	links     map[*netLink]struct{}
	stopping  bool
	noAccept  bool          // StopAccepting was called
	dead      chan struct{} // closed when the server can no longer serve (Stop, or a reactor failure)
	deadErr   error
}

// NewServer returns a server that dispatches requests to h.
func NewServer(cfg Options, h Handler) *Server {
	cfg.setDefaults()
	own := cfg.Timers == nil
	if own {
		cfg.Timers = timer.NewWheel(1, 10*time.Millisecond)
	}
	return &Server{
		ownTimers: own,
		cfg:       cfg,
		handler:   h,
		listeners: make(map[net.Listener]io.Closer),
		links:     make(map[*netLink]struct{}),
		dead:      make(chan struct{}),
	}
}

// Options returns the effective options.
func (s *Server) Options() Options { return s.cfg }

// Start starts the reactor now rather than on first use. It reports why the
// reactor cannot run (connections are then served on goroutines).
func (s *Server) Start() error {
	s.reactorOnce.Do(func() {
		if s.cfg.NoReactor {
			s.reactorErr = errors.New("eventloop: no reactor (Options.NoReactor)")
			return
		}
		s.reactor, s.reactorErr = startReactor(s)
		if s.reactorErr != nil {
			s.cfg.Logger.Warn("eventloop: no reactor; connections are served on goroutines", "err", s.reactorErr)
		}
	})
	return s.reactorErr
}

// Reactor reports whether connections are served on reactor loops (false:
// on goroutines; before first use it starts the reactor).
func (s *Server) Reactor() bool { return s.Start() == nil }

// Adopt serves an established connection whose first inbound bytes are
// prefix (followed by what nc reads): a plain TCP connection is moved onto a
// reactor loop (its descriptor is duplicated and nc closed), anything else
// is served on goroutines. It returns once the connection is handed over
// (prefix may then be reused); on error nc is closed. Adopt does not apply MaxConns: the connection
// exists already.
func (s *Server) Adopt(nc net.Conn, prefix []byte) error {
	if s.isDead() {
		nc.Close()
		return ErrServerClosed
	}
	s.conns.Add(1)
	if tc, ok := nc.(*net.TCPConn); ok && s.Reactor() {
		if err := s.enroll(tc, prefix); err != nil {
			s.conns.Add(-1)
			nc.Close()
			return fmt.Errorf("eventloop: adopt: %w", err)
		}
		return nil
	}
	s.servePortable(nc, prefix)
	return nil
}

// enrollFrames hands nc to a reactor loop as a framed connection.
func (s *Server) enrollFrames(nc *net.TCPConn, setup *framesSetup) error {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	if s.noEnroll {
		return ErrServerClosed
	}
	return s.reactor.enrollFrames(nc, setup)
}

// enroll hands nc to a reactor loop (the caller counted it).
func (s *Server) enroll(nc *net.TCPConn, prefix []byte) error {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	if s.noEnroll {
		return ErrServerClosed
	}
	return s.reactor.enroll(nc, prefix)
}

// Fail ends the server with err, as a failure of its own would: Done is
// closed, Err returns err, Serve returns it (its listeners are closed).
func (s *Server) Fail(err error) { s.fail(err) }

// Done is closed when the server can no longer serve: after Stop, or when
// its reactor failed (Err says why).
func (s *Server) Done() <-chan struct{} { return s.dead }

// Err is why Done was closed: ErrServerClosed after Stop, or the failure.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadErr
}

func (s *Server) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

// fail ends the server with err: listeners close, so Serve returns err.
func (s *Server) fail(err error) {
	s.mu.Lock()
	select {
	case <-s.dead:
		s.mu.Unlock()
		return
	default:
	}
	s.deadErr = err
	close(s.dead)
	lns := s.listenersLocked()
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

// listenersLocked lists the listeners and their direct acceptors, to close.
// s.mu held.
func (s *Server) listenersLocked() []io.Closer {
	lns := make([]io.Closer, 0, len(s.listeners))
	for ln, extra := range s.listeners {
		lns = append(lns, ln)
		if extra != nil {
			lns = append(lns, extra)
		}
	}
	return lns
}

// StopAccepting closes the listeners: Serve returns ErrServerClosed, and
// later calls too. Connections already held are served on until Stop.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	s.noAccept = true
	lns := s.listenersLocked()
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

// Stop closes the listeners and every connection, and waits for the
// reactor to end or ctx to expire. Call it from outside the event loops.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	links := make([]*netLink, 0, len(s.links))
	for p := range s.links {
		links = append(links, p)
	}
	s.mu.Unlock()
	s.fail(ErrServerClosed)
	for _, p := range links {
		p.Close()
	}
	var err error
	s.reactorOnce.Do(func() { s.reactorErr = errors.New("eventloop: stopped before start") })
	s.enrollMu.Lock() // hand-offs in flight end first
	s.noEnroll = true
	s.enrollMu.Unlock()
	if s.reactor != nil {
		done := make(chan struct{})
		go func() {
			s.reactor.stop()
			close(done)
		}()
		select {
		case <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if s.ownTimers {
		s.cfg.Timers.Close()
	}
	return err
}

// CountConnections returns the number of connections the server holds,
// including those handed off and not yet released.
func (s *Server) CountConnections() int { return int(s.conns.Load()) }

// Refused is how many connections were closed at accept because the server
// held MaxConns.
func (s *Server) Refused() uint64 { return s.refused.Load() }

// AcceptErrors is how many times accept failed with an error the server
// backed off from (out of descriptors or memory, aborted connections).
func (s *Server) AcceptErrors() uint64 { return s.acceptErrs.Load() }

// Counters are what the server counted about the flow of bytes on its
// connections, for metrics.
type Counters struct {
	// SlowReaders: connections closed because a write did not fit in
	// MaxOutboundBytes.
	SlowReaders uint64
	// VolatileDropped: volatile messages dropped because they did not fit
	// in the budget, or evicted from a queue to make room.
	VolatileDropped uint64
	// ReadPauses: times a connection's reads were paused (PauseReads).
	ReadPauses uint64
	// InboundOverflows: paused connections closed because they still piled
	// up input (ErrInboundOverflow).
	InboundOverflows uint64
}

// Counters returns the server's counters.
func (s *Server) Counters() Counters {
	return Counters{
		SlowReaders:      s.slowReaders.Load(),
		VolatileDropped:  s.volatileDropped.Load(),
		ReadPauses:       s.readPauses.Load(),
		InboundOverflows: s.inboundOverflows.Load(),
	}
}

func (s *Server) addLink(p *netLink) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.links[p] = struct{}{}
	return true
}

func (s *Server) removeLink(p *netLink) {
	s.mu.Lock()
	delete(s.links, p)
	s.mu.Unlock()
}

// gnetLogger routes gnet's own logging to slog at debug level, so gnet never
// prints to stdout. A loop that exits with an error ends the server: gnet
// reports it only through its logger.
type gnetLogger struct {
	l      *slog.Logger
	onFail func(msg string)
}

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Errorf(f string, a ...any) {
	msg := fmt.Sprintf(f, a...)
	g.l.Error(msg, "from", "gnet")
	if g.onFail != nil {
		g.onFail(msg)
	}
}
func (g gnetLogger) Fatalf(f string, a ...any) { g.Errorf(f, a...) }
