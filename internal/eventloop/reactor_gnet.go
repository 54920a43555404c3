//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && fanio_gnet)

package eventloop

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"

	"github.com/panjf2000/gnet/v2"

	"github.com/fanio/fanio/internal/pool"
)

// reactor runs gnet event loops in client mode: loops with no listener of
// their own. Connections come to them through enroll, which duplicates an
// accepted (or hijacked) connection's descriptor into a loop. gnet's own
// acceptor treats every accept error but EAGAIN/EINTR/ECONNRESET/ECONNABORTED
// as fatal and stops every loop (v2.10.0, acceptor_unix.go): out of
// descriptors (EMFILE) once, and the server would serve nothing ever again.
// Accepting in Go (Server.Serve) keeps accept errors ours to back off from.
type reactor struct {
	gnet.BuiltinEventEngine
	srv *Server
	cli *gnet.Client
	log gnetLogger
	// yieldAfterTraffic: no P to spare from the loops.
	yieldAfterTraffic bool

	loopsMu sync.RWMutex
	loops   map[gnet.EventLoop]*loop
}

func startReactor(s *Server) (*reactor, error) {
	r := &reactor{srv: s, loops: make(map[gnet.EventLoop]*loop)}
	n := s.cfg.EventLoops
	r.yieldAfterTraffic = reserveProcs(s, n)
	r.log = gnetLogger{l: s.cfg.Logger, onFail: func(msg string) {
		// gnet reports a loop that died only in its log (reactor_default.go).
		if strings.Contains(msg, "exiting due to error") {
			s.fail(fmt.Errorf("eventloop: reactor failed: %s", msg))
		}
	}}
	cli, err := gnet.NewClient(r,
		gnet.WithNumEventLoop(n),
		// Go already set TCP_NODELAY on accepted connections (and a
		// hijacked one keeps what its server chose): don't set it again.
		gnet.WithTCPNoDelay(gnet.TCPDelay),
		gnet.WithLogger(r.log),
	)
	if err != nil {
		return nil, err
	}
	if err := cli.Start(); err != nil {
		return nil, err
	}
	r.cli = cli
	return r, nil
}

// enroll moves nc onto a loop (nc is closed: the loop has a duplicate of its
// descriptor) and returns once the loop has opened it.
func (r *reactor) enroll(nc *net.TCPConn, prefix []byte) error {
	var ctx any
	ad := newAdoption(prefix)
	if ad != nil {
		ctx = ad
	}
	_, err := r.cli.EnrollContext(nc, ctx)
	if err != nil && ad != nil {
		pool.Put(ad.pre)
	}
	return err
}

// enrollFrames moves nc onto a loop as a framed connection.
func (r *reactor) enrollFrames(nc *net.TCPConn, setup *framesSetup) error {
	_, err := r.cli.EnrollContext(nc, &adoption{frames: setup})
	return err
}

func (r *reactor) stop() {
	_ = r.cli.Stop()
}

func (r *reactor) loopOf(el gnet.EventLoop) *loop {
	r.loopsMu.RLock()
	l := r.loops[el]
	r.loopsMu.RUnlock()
	if l != nil {
		return l
	}
	r.loopsMu.Lock()
	defer r.loopsMu.Unlock()
	if l = r.loops[el]; l == nil {
		l = newLoop(r.srv, gnetLoop{el})
		r.loops[el] = l
	}
	return l
}

// directAcceptor: gnet's loops take net.Conns (EnrollContext).
func (s *Server) directAcceptor(net.Listener) directListener { return nil }

// gnetLoop is a gnet loop as an executor.
type gnetLoop struct{ el gnet.EventLoop }

func (g gnetLoop) Execute(fn func()) error {
	return g.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
		fn()
		return nil
	}))
}

// gnetLink is a gnet connection as a link.
type gnetLink struct{ gnet.Conn }

func (g gnetLink) Wake() error { return g.Conn.Wake(nil) }

// setReads implements readSwitch through the epoll descriptor of the
// conn's loop, found once per loop (pollfd_linux.go): gnet has no API for
// it. Elsewhere pausing only stops delivering messages.
func (g gnetLink) setReads(l *loop, on bool) {
	if l.epfd == 0 {
		l.epfd = -1
		if fd, ok := pollerFd(g.Conn); ok {
			l.epfd = fd
		}
	}
	if l.epfd < 0 {
		return
	}
	_ = setPollEvents(l.epfd, g.Fd(), on, g.OutboundBuffered() > 0)
}

// OnOpen implements gnet.EventHandler.
func (r *reactor) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	ad, _ := gc.Context().(*adoption)
	l := r.loopOf(gc.EventLoop())
	c := newConn(gnetLink{gc}, l)
	gc.SetContext(c)
	if ad != nil && ad.frames != nil {
		c.openFrames(ad.frames)
		return nil, gnet.None
	}
	c.armTimer(r.srv.cfg.IdleTimeout)
	if ad != nil && ad.pre != nil {
		c.pre = ad.pre
		l.traffic(c, (*Conn).onTraffic)
		if c.detached {
			return nil, gnet.Close
		}
	}
	return nil, gnet.None
}

// OnClose implements gnet.EventHandler.
func (r *reactor) OnClose(gc gnet.Conn, err error) gnet.Action {
	if c, ok := gc.Context().(*Conn); ok {
		c.onClosed(err)
	}
	return gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (r *reactor) OnTraffic(gc gnet.Conn) gnet.Action {
	c, ok := gc.Context().(*Conn)
	if !ok {
		return gnet.Close
	}
	// Writes queued while handling this batch (here or by other goroutines
	// meanwhile, which then did not wake the loop) go out at its end, in
	// one pass.
	c.loop.traffic(c, (*Conn).onTraffic)
	if r.yieldAfterTraffic {
		runtime.Gosched()
	}
	if c.detached {
		// Closed now, in this callback, so that the loop reads nothing more
		// of what is now the new owner's.
		return gnet.Close
	}
	return gnet.None
}

// writeNow writes nothing: these links are written on their loop (or
// their writer goroutine) only.
func (c *Conn) writeNow([]byte) int { return 0 }

// linkState and reactorLoop are empty: these links are not held by their
// Conn, and a loop needs nothing more.
type (
	linkState   struct{}
	reactorLoop struct{}
)
