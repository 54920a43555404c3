package eventloop

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"time"
)

// netLink serves a Conn over a net.Conn with goroutines: the portable path,
// for connections a reactor loop cannot own (a TLS connection, or any
// connection on a platform without epoll/kqueue). The Conn's code is the
// same as on a reactor loop; only the bytes come from Read and go to Write.
//
// A reader goroutine, one per connection for its whole life, reads into
// the inbound buffer and runs the Conn's reading code. A writer goroutine,
// started when there is something to write and gone once idle, writes
// what the Conn queued; a task goroutine, likewise started on demand, runs
// the tasks the loop code posts (Execute, Wake), so that a writer blocked
// on a peer that does not read holds back no flush. "On the loop" means
// holding mu: the reader and the task runner take it to run Conn code,
// never while blocked in Read or Write. So an idle connection costs one
// goroutine, and a slow peer blocks only its own writer, while Write
// (called on the loop) only appends to a buffer: the Conn's outbound
// budget sees that buffer through OutboundBuffered, as it sees a reactor link's.
type netLink struct {
	nc   net.Conn
	srv  *Server
	conn *Conn
	loop *loop

	mu sync.Mutex // the loop

	// Loop only (mu). The reader alone moves the buffer's contents and
	// extends it; loop code only advances r, so the reader may fill
	// in[len:cap] without mu while a task runs.
	in   []byte // buffered inbound bytes are in[r:]
	r    int
	gone bool // the Conn's onClosed ran

	omu      sync.Mutex
	out      []byte // bytes the Conn wrote, waiting for the writer
	spare    []byte
	flying   int // bytes the writer is writing now
	tasks    []func()
	wake     bool
	writing  bool // a writer goroutine runs
	running  bool // a task goroutine runs (runTasks)
	closeReq bool // closing: the writer closes nc once out is written
	shutReq  bool // the writer shuts down the write side once out is written
	local    bool // Close was called (a close we asked for is not an error)

	resume chan struct{} // wakes a reader waiting while its Conn's reads are paused
}

const (
	netLinkReadSize = 4 << 10  // first inbound buffer
	netLinkKeepSize = 64 << 10 // an emptied buffer larger than this is dropped
)

// servePortable serves nc on goroutines, its first inbound bytes being
// prefix. Counted in s.conns already.
func (s *Server) servePortable(nc net.Conn, prefix []byte) {
	_ = nc.SetDeadline(time.Time{}) // a hijacked conn may carry net/http's
	p := &netLink{nc: nc, srv: s, resume: make(chan struct{}, 1)}
	p.loop = newLoop(s, p)
	p.conn = newConn(p, p.loop)
	_, p.conn.secure = nc.(*tls.Conn)
	if len(prefix) > 0 {
		p.in = append(make([]byte, 0, max(netLinkReadSize, len(prefix))), prefix...)
	}
	if !s.addLink(p) {
		s.conns.Add(-1)
		nc.Close()
		return
	}
	go p.run()
}

// servePortableFrames serves nc as a framed connection on goroutines (not
// counted in s.conns).
func (s *Server) servePortableFrames(nc net.Conn, setup *framesSetup) {
	_ = nc.SetDeadline(time.Time{})
	p := &netLink{nc: nc, srv: s}
	p.loop = newLoop(s, p)
	p.conn = newConn(p, p.loop)
	p.conn.openFrames(setup)
	if !s.addLink(p) {
		nc.Close()
		p.conn.onClosed(ErrServerClosed)
		return
	}
	go p.run()
}

// run is the reader goroutine.
func (p *netLink) run() {
	defer p.srv.removeLink(p)
	p.mu.Lock()
	if p.conn.mode != modeFrames {
		p.conn.armTimer(p.srv.cfg.IdleTimeout)
	}
	if len(p.in) > 0 {
		p.loop.traffic(p.conn, (*Conn).onTraffic)
	}
	p.mu.Unlock()
	for {
		p.mu.Lock()
		buf := p.room()
		p.mu.Unlock()
		n, err := p.nc.Read(buf)
		p.mu.Lock()
		if n > 0 {
			p.in = p.in[:len(p.in)+n]
			p.loop.traffic(p.conn, (*Conn).onTraffic)
		}
		if err != nil {
			p.closed(err)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.waitWhilePaused()
	}
}

// waitWhilePaused blocks the reader while its Conn's reads are paused
// (PauseReads): nothing is read, so TCP pushes back on the client.
func (p *netLink) waitWhilePaused() {
	for p.conn.readPaused.Load() {
		p.omu.Lock()
		closing := p.closeReq
		p.omu.Unlock()
		if closing {
			return
		}
		<-p.resume
	}
}

// resumeReader wakes a reader waiting in waitWhilePaused.
func (p *netLink) resumeReader() {
	select {
	case p.resume <- struct{}{}:
	default:
	}
}

// room makes space at the end of the inbound buffer and returns it. mu held.
func (p *netLink) room() []byte {
	switch {
	case p.r == len(p.in):
		p.r = 0
		if cap(p.in) > netLinkKeepSize {
			p.in = nil
		}
		p.in = p.in[:0]
	case len(p.in) == cap(p.in) && p.r > 0:
		p.in = p.in[:copy(p.in, p.in[p.r:])]
		p.r = 0
	}
	if len(p.in) == cap(p.in) {
		// Full of unconsumed bytes: the Conn bounds how much it lets pile up
		// (header, body and message limits), so growing is bounded too.
		p.in = append(p.in, make([]byte, max(netLinkReadSize, cap(p.in)))...)[:len(p.in)]
	}
	return p.in[len(p.in):cap(p.in)]
}

// closed ends the Conn once Read failed. mu held.
func (p *netLink) closed(err error) {
	p.omu.Lock()
	p.closeReq = true
	local := p.local
	p.omu.Unlock()
	p.nc.Close()
	if local || err == io.EOF {
		err = nil
	}
	p.gone = true
	p.conn.onClosed(err)
	p.in, p.r = nil, 0
}

// kick makes sure a writer runs; it returns true if the caller must start
// one. omu held.
func (p *netLink) kick() bool {
	if p.writing {
		return false
	}
	p.writing = true
	return true
}

// kickTasks makes sure a task runner runs; it returns true if the caller
// must start one. omu held.
func (p *netLink) kickTasks() bool {
	if p.running {
		return false
	}
	p.running = true
	return true
}

// runTasks runs the tasks the loop code posts (Execute, Wake) until there
// are none, holding mu. It is not the writer: a writer blocked on a peer
// that does not read must not hold back the loop's work (a flush that
// finds the connection over its budget and closes it).
func (p *netLink) runTasks() {
	for {
		p.omu.Lock()
		tasks, wake := p.tasks, p.wake
		p.tasks, p.wake = nil, false
		if len(tasks) == 0 && !wake {
			p.running = false
			p.omu.Unlock()
			return
		}
		p.omu.Unlock()
		p.mu.Lock()
		if !p.gone {
			for _, t := range tasks {
				t()
			}
			if wake {
				p.loop.traffic(p.conn, (*Conn).onTraffic)
			}
		}
		p.mu.Unlock()
	}
}

// writer writes what is queued until there is nothing left.
func (p *netLink) writer() {
	for {
		p.omu.Lock()
		switch {
		case len(p.out) > 0:
			data := p.out
			p.out = p.spare[:0]
			p.spare = nil
			p.flying = len(data)
			p.omu.Unlock()
			_, err := p.nc.Write(data)
			p.omu.Lock()
			p.flying = 0
			if cap(data) <= netLinkKeepSize {
				p.spare = data[:0]
			}
			if err != nil {
				p.closeReq = true
				p.out = nil
				p.writing = false
				p.omu.Unlock()
				p.nc.Close() // the reader sees it and ends the Conn
				p.resumeReader()
				return
			}
			drained := len(p.out) == 0
			p.omu.Unlock()
			if drained {
				p.conn.onLinkDrained()
			}
		case p.closeReq:
			p.writing = false
			p.omu.Unlock()
			p.nc.Close()
			return
		case p.shutReq:
			p.shutReq = false
			p.omu.Unlock()
			if cw, ok := p.nc.(interface{ CloseWrite() error }); !ok || cw.CloseWrite() != nil {
				p.Close()
			}
		default:
			p.writing = false
			p.omu.Unlock()
			return
		}
	}
}

// ---- link ----

func (p *netLink) InboundBuffered() int { return len(p.in) - p.r }

func (p *netLink) Peek(n int) ([]byte, error) {
	b := p.in[p.r:]
	switch {
	case n < 0:
		return b, nil
	case n > len(b):
		return b, io.ErrShortBuffer
	}
	return b[:n], nil
}

func (p *netLink) Discard(n int) (int, error) {
	if b := len(p.in) - p.r; n < 0 || n > b {
		n = b
	}
	p.r += n
	return n, nil
}

func (p *netLink) Write(b []byte) (int, error) {
	p.omu.Lock()
	if p.closeReq {
		p.omu.Unlock()
		return 0, net.ErrClosed
	}
	p.out = append(p.out, b...)
	start := p.kick()
	p.omu.Unlock()
	if start {
		go p.writer()
	}
	return len(b), nil
}

func (p *netLink) Writev(bs [][]byte) (int, error) {
	p.omu.Lock()
	if p.closeReq {
		p.omu.Unlock()
		return 0, net.ErrClosed
	}
	n := 0
	for _, b := range bs {
		p.out = append(p.out, b...)
		n += len(b)
	}
	start := p.kick()
	p.omu.Unlock()
	if start {
		go p.writer()
	}
	return n, nil
}

func (p *netLink) OutboundBuffered() int {
	p.omu.Lock()
	defer p.omu.Unlock()
	return len(p.out) + p.flying
}

// Wake runs the Conn's reading code again, on a task goroutine.
func (p *netLink) Wake() error {
	p.omu.Lock()
	p.wake = true
	start := p.kickTasks()
	p.omu.Unlock()
	if start {
		go p.runTasks()
	}
	return nil
}

// Execute runs fn on the loop (a task goroutine, holding mu).
func (p *netLink) Execute(fn func()) error {
	p.omu.Lock()
	p.tasks = append(p.tasks, fn)
	start := p.kickTasks()
	p.omu.Unlock()
	if start {
		go p.runTasks()
	}
	return nil
}

// Close writes what is queued (for at most the linger timeout) and closes.
// Safe from any goroutine.
func (p *netLink) Close() error {
	p.omu.Lock()
	if p.closeReq {
		p.omu.Unlock()
		return nil
	}
	p.closeReq, p.local = true, true
	idle := !p.writing && len(p.out) == 0
	start := !idle && p.kick()
	p.omu.Unlock()
	p.resumeReader()
	if idle {
		return p.nc.Close()
	}
	_ = p.nc.SetWriteDeadline(time.Now().Add(p.srv.cfg.LingerTimeout))
	if start {
		go p.writer()
	}
	return nil
}

// closeWrite shuts the write side down once what is queued is written.
func (p *netLink) closeWrite() error {
	p.omu.Lock()
	if p.closeReq {
		p.omu.Unlock()
		return net.ErrClosed
	}
	p.shutReq = true
	start := p.kick()
	p.omu.Unlock()
	_ = p.nc.SetWriteDeadline(time.Now().Add(p.srv.cfg.LingerTimeout))
	if start {
		go p.writer()
	}
	return nil
}

func (p *netLink) Fd() int              { return -1 }
func (p *netLink) RemoteAddr() net.Addr { return p.nc.RemoteAddr() }
