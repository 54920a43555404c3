//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package eventloop

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

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

// adoption travels through gnet's connection context from enroll to OnOpen.
type adoption struct {
	prefix []byte
	frames *framesSetup // a framed connection (frames.go)
}

func startReactor(s *Server) (*reactor, error) {
	r := &reactor{srv: s, loops: make(map[gnet.EventLoop]*loop)}
	n := s.cfg.EventLoops
	if procs := runtime.GOMAXPROCS(0); s.cfg.SpareProc && procs <= n {
		runtime.GOMAXPROCS(n + 1)
		s.cfg.Logger.Info("eventloop: raised GOMAXPROCS to keep a P spare from the reactors",
			"from", procs, "to", n+1, "reactors", n)
	}
	// Without a spare P, a loop gives its P to the goroutines it readied
	// (handlers) after each batch: gnet yields too before it blocks, but its
	// runtime.Gosched picks the loop itself again about once in 61 times
	// (the scheduler's fairness check of the global queue), and the
	// handlers then waited, P-less, for the next network event — the 1.3 ms
	// p99 of a trace at 1000 round trips/s.
	r.yieldAfterTraffic = runtime.GOMAXPROCS(0) <= n
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
	if len(prefix) > 0 {
		ctx = &adoption{prefix: prefix}
	}
	_, err := r.cli.EnrollContext(nc, ctx)
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
		l = newLoop(r.srv, el)
		r.loops[el] = l
	}
	return l
}

// OnOpen implements gnet.EventHandler.
func (r *reactor) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	ad, _ := gc.Context().(*adoption)
	l := r.loopOf(gc.EventLoop())
	c := newConn(gc, l)
	gc.SetContext(c)
	if ad != nil && ad.frames != nil {
		c.openFrames(ad.frames)
		return nil, gnet.None
	}
	c.armTimer(r.srv.cfg.IdleTimeout)
	if ad != nil {
		c.pre = pool.Get()
		c.pre.B = append(c.pre.B, ad.prefix...)
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

// canDetach reports whether the connection can change hands: a gnet
// connection can (its descriptor is duplicated), a netLink serves only the
// hijacked requests that brought it here.
func (c *Conn) canDetach() bool {
	_, ok := c.ln.(*netLink)
	return !ok
}

// detach returns a net.Conn on a duplicate of c's descriptor whose Read
// returns prefix first. The loop then closes its own descriptor (the caller
// marks c detached; OnTraffic returns gnet.Close). Loop only.
func (c *Conn) detach(prefix []byte) (net.Conn, error) {
	fd, err := unix.FcntlInt(uintptr(c.ln.Fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	f := os.NewFile(uintptr(fd), "fanio-handoff")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	return newPrefixConn(nc, prefix), nil
}

// shutdownFd half-closes a socket descriptor (FIN after what is written).
func shutdownFd(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_WR) }
