package eventloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/timer"
)

// Handler serves HTTP requests. ServeHTTP runs on the connection's event
// loop; req and body are valid only during the call. It must answer exactly
// once: with c.Respond (now or later, from any goroutine), or, for an upgrade
// request, with c.AcceptWebSocket during the call. Further pipelined
// requests on c wait until the answer has been written.
type Handler interface {
	ServeHTTP(c *Conn, req *codec.Request, body []byte)
}

// BodyRejecter is an optional interface of a Handler: RejectBody is called,
// instead of answering a plain 413, for a request whose declared body is over
// Options.MaxBodyBytes. The handler must answer with c.Respond; the connection
// is closed after that answer.
type BodyRejecter interface {
	RejectBody(c *Conn, req *codec.Request)
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
	EventLoops       int // default runtime.GOMAXPROCS(0)
	MaxHeaderBytes   int // request line + headers; default 8 KiB (431 beyond)
	MaxBodyBytes     int // request body; default 1e6 (413 beyond)
	MaxMessageBytes  int // WebSocket message; default 1e6 (close 1009 beyond)
	MaxOutboundBytes int // queued + kernel-refused bytes per connection; default 4 MiB
	// LingerTimeout bounds how long a connection the server closes keeps
	// reading (and discarding) after its last answer, so the answer is not
	// destroyed by a reset while the peer is still sending; default 2s.
	LingerTimeout time.Duration
	// IdleTimeout closes an HTTP connection that does not complete a request
	// within it after opening or after its last answer; default 60s.
	IdleTimeout time.Duration
	// Timers drives the idle and linger timeouts; nil makes the server its own.
	Timers *timer.Wheel
	// AcceptorLoop makes one extra reactor accept connections and hand them
	// to the event loops. By default each loop accepts for itself from its
	// own SO_REUSEPORT listener instead: the extra reactor costs a
	// cross-thread hand-off per accept and, like every gnet reactor, blocks
	// in epoll_wait holding a Go P, so on small GOMAXPROCS goroutines (the
	// handlers) wait for the runtime to take that P back — measured as
	// 8–22 ms stalls on a 1-CPU server. Set it where SO_REUSEPORT is not
	// wanted (with it, another process of the same user could also bind the
	// port; Start refuses a port already in use, but not a later binder).
	AcceptorLoop bool
	// SpareProc makes Start raise GOMAXPROCS to one more than the number
	// of reactors (the loops, plus the acceptor with AcceptorLoop). A gnet
	// reactor waits in epoll_wait inside a system call that keeps its P:
	// with no P to spare, a goroutine made runnable while every reactor
	// waits — a timer's, the application's own — runs only once the
	// runtime's monitor takes a P back, after 20 µs to 10 ms. (Handlers the
	// loops hand work to are not affected: a loop yields its P after each
	// batch of reads when it has none to spare.) The spare P costs CPU where
	// the process has one CPU (measured: +30–50% CPU per operation, from
	// thread switches), little where CPUs are idle.
	SpareProc bool
	Logger    *slog.Logger
}

func (c *Options) setDefaults() {
	if c.EventLoops <= 0 {
		c.EventLoops = runtime.GOMAXPROCS(0)
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 8 << 10
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

// Server runs the gnet engine and dispatches to a Handler.
type Server struct {
	gnet.BuiltinEventEngine
	cfg     Options
	handler Handler

	ownTimers bool
	conns     atomic.Int64
	// yieldAfterTraffic: no P to spare from the reactors (set by Start).
	yieldAfterTraffic bool

	eng     gnet.Engine
	addr    net.Addr
	booted  chan struct{}
	stopped chan struct{}
	runErr  error

	loopsMu sync.RWMutex
	loops   map[gnet.EventLoop]*loop
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
		booted:    make(chan struct{}),
		stopped:   make(chan struct{}),
		loops:     make(map[gnet.EventLoop]*loop),
	}
}

// Options returns the effective options.
func (s *Server) Options() Options { return s.cfg }

// Start listens on addr ("host:port"; port 0 picks a free one) and serves in
// the background. It returns once the listener is bound.
func (s *Server) Start(addr string) error {
	reusePort := !s.cfg.AcceptorLoop
	reactors := s.cfg.EventLoops
	if !reusePort {
		reactors++
	}
	if procs := runtime.GOMAXPROCS(0); s.cfg.SpareProc && procs <= reactors {
		runtime.GOMAXPROCS(reactors + 1)
		s.cfg.Logger.Info("eventloop: raised GOMAXPROCS to keep a P spare from the reactors",
			"from", procs, "to", reactors+1, "reactors", reactors)
	}
	// Without a spare P, a loop gives its P to the goroutines it readied
	// (handlers) after each batch: gnet yields too before it blocks, but its
	// runtime.Gosched picks the loop itself again about once in 61 times
	// (the scheduler's fairness check of the global queue), and the
	// handlers then waited, P-less, for the next network event — the 1.3 ms
	// p99 of a trace at 1000 round trips/s.
	s.yieldAfterTraffic = runtime.GOMAXPROCS(0) <= reactors
	if reusePort {
		// Each loop binds addr with SO_REUSEPORT, which would succeed next to
		// another SO_REUSEPORT listener and would give each loop its own port
		// for port 0: a plain bind first refuses a taken address and fixes
		// the port.
		// The host part stays as given: gnet resolves it its own way (":3000"
		// must keep serving IPv4, which "[::]:3000" from a Go listener would
		// not in gnet).
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("eventloop: listen %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("eventloop: listen %s: %w", addr, err)
		}
		if port == "0" {
			_, port, _ = net.SplitHostPort(ln.Addr().String())
			addr = net.JoinHostPort(host, port)
		}
		if err := ln.Close(); err != nil {
			return fmt.Errorf("eventloop: listen %s: %w", addr, err)
		}
	}
	go func() {
		err := gnet.Run(s, "tcp://"+addr,
			gnet.WithMulticore(true),
			gnet.WithNumEventLoop(s.cfg.EventLoops),
			gnet.WithReusePort(reusePort),
			gnet.WithReuseAddr(true),
			gnet.WithTCPNoDelay(gnet.TCPNoDelay),
			gnet.WithLogger(gnetLogger{s.cfg.Logger}),
		)
		s.runErr = err
		close(s.stopped)
	}()
	select {
	case <-s.booted:
		return nil
	case <-s.stopped:
		if s.runErr == nil {
			s.runErr = errors.New("eventloop: engine stopped during start")
		}
		return fmt.Errorf("eventloop: listen %s: %w", addr, s.runErr)
	}
}

// Addr is the bound listener address (valid after Start).
func (s *Server) Addr() net.Addr { return s.addr }

// Stop closes the listener and every connection, and waits for the engine to
// end or ctx to expire. Call it from outside the event loops.
func (s *Server) Stop(ctx context.Context) error {
	select {
	case <-s.booted:
	default:
		return nil
	}
	err := s.eng.Stop(ctx)
	select {
	case <-s.stopped:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.ownTimers {
		s.cfg.Timers.Close()
	}
	return err
}

// Done is closed when the engine has stopped.
func (s *Server) Done() <-chan struct{} { return s.stopped }

// CountConnections returns the number of open TCP connections. (Kept here
// rather than asked of gnet, whose count races with its own start-up.)
func (s *Server) CountConnections() int { return int(s.conns.Load()) }

// OnBoot implements gnet.EventHandler.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	if fd, err := eng.Dup(); err == nil {
		if sa, err := syscall.Getsockname(fd); err == nil {
			s.addr = sockaddrToTCP(sa)
		}
		syscall.Close(fd)
	}
	close(s.booted)
	return gnet.None
}

func sockaddrToTCP(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return nil
}

func (s *Server) loopOf(el gnet.EventLoop) *loop {
	s.loopsMu.RLock()
	l := s.loops[el]
	s.loopsMu.RUnlock()
	if l != nil {
		return l
	}
	s.loopsMu.Lock()
	defer s.loopsMu.Unlock()
	if l = s.loops[el]; l == nil {
		l = newLoop(s, el)
		s.loops[el] = l
	}
	return l
}

// OnOpen implements gnet.EventHandler.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s.conns.Add(1)
	c := &Conn{gc: gc, loop: s.loopOf(gc.EventLoop())}
	gc.SetContext(c)
	c.armTimer(s.cfg.IdleTimeout)
	return nil, gnet.None
}

// OnClose implements gnet.EventHandler.
func (s *Server) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*Conn); ok {
		s.conns.Add(-1)
		c.onClosed(err)
	}
	return gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	l := c.loop
	l.setInTraffic(true)
	c.onTraffic()
	// Writes queued while handling this batch (here or by other goroutines
	// meanwhile, which then did not wake the loop) go out now, in one pass.
	l.setInTraffic(false)
	l.flushDirty()
	if s.yieldAfterTraffic {
		runtime.Gosched()
	}
	return gnet.None
}

// gnetLogger routes gnet's own logging to slog at debug level, so gnet never
// prints to stdout.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error(fmt.Sprintf(f, a...), "from", "gnet") }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error(fmt.Sprintf(f, a...), "from", "gnet") }

// loop is the per-event-loop state: the list of connections with queued
// writes, drained in one task per wake-up.
type loop struct {
	srv *Server
	el  gnet.EventLoop

	mu        sync.Mutex
	dirty     []*Conn
	scheduled bool // a flush task is queued on the loop
	inTraffic bool // the loop is in OnTraffic, which flushes when it ends

	// Owned by the loop goroutine.
	spare []*Conn
	iov   [][]byte
	items []outItem
	req   codec.Request
	body  []byte   // scratch for chunked bodies
	infl  inflater // permessage-deflate reader
	task  gnet.RunnableFunc
}

func newLoop(s *Server, el gnet.EventLoop) *loop {
	l := &loop{srv: s, el: el}
	l.task = func(context.Context) error {
		l.flushDirty()
		return nil
	}
	return l
}

// markDirty queues c for the next flush on its loop, waking the loop if no
// flush is pending. Safe from any goroutine.
func (l *loop) markDirty(c *Conn) {
	l.mu.Lock()
	l.dirty = append(l.dirty, c)
	wake := !l.scheduled && !l.inTraffic
	if wake {
		l.scheduled = true
	}
	l.mu.Unlock()
	if wake {
		if err := l.el.Execute(context.Background(), l.task); err != nil {
			// The engine is shutting down: connections are being closed anyway.
			l.mu.Lock()
			l.scheduled = false
			l.mu.Unlock()
		}
	}
}

// setInTraffic marks the loop as inside OnTraffic (or no longer): writes
// queued meanwhile need no wake-up task, since OnTraffic flushes after
// clearing the mark. Loop only.
func (l *loop) setInTraffic(on bool) {
	l.mu.Lock()
	l.inTraffic = on
	l.mu.Unlock()
}

// flushDirty writes the queues of every dirty connection. Loop only.
func (l *loop) flushDirty() {
	for {
		l.mu.Lock()
		if len(l.dirty) == 0 {
			l.scheduled = false
			l.mu.Unlock()
			return
		}
		batch := l.dirty
		l.dirty = l.spare[:0]
		l.mu.Unlock()
		for i, c := range batch {
			c.flush()
			batch[i] = nil
		}
		l.spare = batch[:0]
	}
}
