//go:build linux && !fanio_gnet

package eventloop

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fanio/fanio/internal/pool"
)

// reactor runs the event loops on Linux: each loop is one goroutine
// waiting in epoll_wait (level-triggered) on its own epoll instance, with
// an eventfd to be woken for tasks. A connection costs the loop one fdLink
// (32 B, inside its Conn: one allocation per connection, no copy of the
// peer's address) and one slot in the loop's descriptor table, and nothing
// more while it is idle: bytes read go to the loop's shared buffer and are
// kept (pooled) only when the reading code leaves some, bytes the kernel
// refuses are kept (pooled) only until it takes them.
//
// It replaced gnet (v2.10.0, still the reactor on the BSDs and macOS, and on
// Linux with the fanio_gnet build tag) for what gnet kept per connection:
// at 10,000 idle sockets gnet's connection held 272 B, its enrolment kept
// the accepted *net.TCPConn's two addresses and a re-resolved Sockaddr
// (206 B) and its connection matrix 45 B, and each enrolment left ~600 B of
// garbage (the net.TCPConn, the address parsed back from its string, a
// channel, closures) that fragmented the heap — about 1.9 KB of RSS per
// socket in all, of which this reactor saves what BENCHMARKS.md records.
// It also gives what gnet had no API for: turning reads off (PauseReads)
// and being told when a link's backlog is written (stalled connections
// resume at once instead of at the next recheck).
type reactor struct {
	srv   *Server
	loops []*poller
	next  atomic.Uint32
	// yieldAfterTraffic: no P to spare from the loops (procs.go).
	yieldAfterTraffic bool
	running           sync.WaitGroup
}

func startReactor(s *Server) (*reactor, error) {
	n := max(1, s.cfg.EventLoops)
	r := &reactor{srv: s, yieldAfterTraffic: reserveProcs(s, n)}
	for i := 0; i < n; i++ {
		p, err := newPoller(r, i)
		if err != nil {
			for _, q := range r.loops {
				q.closeFds()
			}
			return nil, err
		}
		r.loops = append(r.loops, p)
	}
	for _, p := range r.loops {
		r.running.Add(1)
		go p.run()
	}
	return r, nil
}

// stop closes every connection (their owners are told) and ends the loops.
func (r *reactor) stop() {
	for _, p := range r.loops {
		p.stop()
	}
	r.running.Wait()
}

// pick chooses the loop for a new connection: round robin.
func (r *reactor) pick() *poller {
	return r.loops[int(r.next.Add(1)-1)%len(r.loops)]
}

// enroll moves nc onto a loop: the loop gets a duplicate of its descriptor
// and nc is closed. The loop opens it after what it is doing now (prefix is
// copied: the caller may reuse it once enroll returns).
func (r *reactor) enroll(nc *net.TCPConn, prefix []byte) error {
	return r.enrollConn(nc, newAdoption(prefix))
}

// enrollFrames moves nc onto a loop as a framed connection.
func (r *reactor) enrollFrames(nc *net.TCPConn, setup *framesSetup) error {
	return r.enrollConn(nc, &adoption{frames: setup})
}

func (r *reactor) enrollConn(nc *net.TCPConn, ad *adoption) error {
	defer nc.Close()
	rc, err := nc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	cerr := rc.Control(func(s uintptr) {
		fd, err = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return cerr
	}
	if err != nil {
		return os.NewSyscallError("dup", err)
	}
	// O_NONBLOCK is the open file's, shared with nc's descriptor: set by Go.
	return r.open(fd, ad)
}

// open hands the descriptor fd (non-blocking, close-on-exec) to a loop,
// which owns it from here on, even when open fails.
func (r *reactor) open(fd int, ad *adoption) error {
	p := r.pick()
	c := &Conn{loop: p.loop}
	k := &c.fl
	k.fd.Store(int32(fd))
	c.ln = k
	var err error
	if ad == nil {
		err = p.queue(task{enroll: k}) // no closure: 32 B less garbage per connection
	} else {
		err = p.Execute(func() { p.register(k, ad) })
	}
	if err != nil {
		unix.Close(fd)
		if ad != nil {
			pool.Put(ad.pre)
		}
	}
	return err
}

// poller is one event loop.
type poller struct {
	r     *reactor
	idx   int
	loop  *loop
	epfd  int
	evfd  int
	links []*fdLink // by descriptor; only this loop's
	// The read buffer all the loop's connections share, and the part of it
	// the reading code of curLink is looking at.
	buf     []byte
	cur     []byte
	curLink *fdLink
	events  []unix.EpollEvent
	iovecs  []unix.Iovec

	mu      sync.Mutex
	tasks   []task
	spare   []task
	woken   bool // the eventfd was written and the loop has not read it yet
	stopped bool // no more tasks; the loop closes everything and ends
	fdsGone bool // epfd and evfd are closed
}

const (
	readBufferSize = 64 << 10 // per loop
	minEvents      = 128
	maxEvents      = 1024
	// heldReadMin is the free space a connection's own inbound buffer
	// (leftover bytes) gets before a read.
	heldReadMin = 4 << 10
)

// eventfdOne is the 8-byte counter increment that wakes a loop.
var eventfdOne = []byte{1, 0, 0, 0, 0, 0, 0, 0}

func newPoller(r *reactor, idx int) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	// Edge-triggered: every write to the eventfd is an edge, so the loop
	// never reads it (a system call less per wake-up); the counter is
	// reset only if it ever fills (wakeLocked).
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(evfd)}); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	p := &poller{r: r, idx: idx, epfd: epfd, evfd: evfd,
		buf: make([]byte, readBufferSize), events: make([]unix.EpollEvent, minEvents)}
	p.loop = newLoop(r.srv, p)
	p.loop.rx = p
	return p, nil
}

// task is what a loop runs for other goroutines: fn, or (fn nil) the
// registration of an accepted connection.
type task struct {
	fn     func()
	enroll *fdLink
}

func (t task) run(p *poller) {
	if t.fn != nil {
		t.fn()
	} else {
		p.register(t.enroll, nil)
	}
}

// Execute runs fn on the loop after what it is doing now. Safe from any
// goroutine; it fails once the loop is stopping (fn then never runs).
func (p *poller) Execute(fn func()) error { return p.queue(task{fn: fn}) }

func (p *poller) queue(t task) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return ErrServerClosed
	}
	p.tasks = append(p.tasks, t)
	p.wakeLocked()
	return nil
}

// wakeLocked writes the eventfd unless a write is already pending. Under
// mu, so that the loop cannot have closed the eventfd (its number could
// then be another connection's). p.mu held.
func (p *poller) wakeLocked() {
	if p.woken || p.fdsGone {
		return
	}
	p.woken = true
	for {
		_, err := unix.Write(p.evfd, eventfdOne)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN: // the counter is full: reset it, and write an edge
			var counter [8]byte
			_, _ = unix.Read(p.evfd, counter[:])
			continue
		}
		return
	}
}

func (p *poller) stop() {
	p.mu.Lock()
	p.stopped = true
	p.wakeLocked()
	p.mu.Unlock()
}

func (p *poller) closeFds() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fdsGone {
		p.fdsGone = true
		unix.Close(p.evfd)
		unix.Close(p.epfd)
	}
}

func (p *poller) run() {
	defer p.r.running.Done()
	msec := -1
	for {
		n, err := unix.EpollWait(p.epfd, p.events, msec)
		if err != nil && err != unix.EINTR {
			p.r.srv.fail(fmt.Errorf("eventloop: loop %d: %w", p.idx, os.NewSyscallError("epoll_wait", err)))
			p.shutdown()
			return
		}
		if n <= 0 {
			if msec == 0 {
				// Nothing ready: let the goroutines readied meanwhile run
				// before blocking.
				msec = -1
				runtime.Gosched()
			}
			continue
		}
		msec = 0
		wake := false
		for i := range p.events[:n] {
			ev := &p.events[i]
			fd := int(ev.Fd)
			if fd == p.evfd {
				wake = true
				continue
			}
			if fd < len(p.links) {
				if k := p.links[fd]; k != nil {
					p.serve(k, ev.Events)
				}
			}
		}
		if wake && p.runTasks() {
			p.shutdown()
			return
		}
		if n == len(p.events) && n < maxEvents {
			p.events = make([]unix.EpollEvent, 2*n)
		}
	}
}

// runTasks runs the tasks queued so far (later ones write the eventfd
// again); it reports whether the loop must stop (shutdown runs what is
// left).
func (p *poller) runTasks() (stop bool) {
	p.mu.Lock()
	p.woken = false
	tasks := p.tasks
	p.tasks = p.spare[:0]
	stop = p.stopped
	p.mu.Unlock()
	for i, t := range tasks {
		t.run(p)
		tasks[i] = task{}
	}
	p.spare = tasks[:0]
	return stop
}

// shutdown closes every connection of the loop, runs what was queued before
// the stop (an enrolment among them closes its descriptor) and closes the
// loop's descriptors.
func (p *poller) shutdown() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	for {
		p.mu.Lock()
		tasks := p.tasks
		p.tasks = nil
		p.mu.Unlock()
		if len(tasks) == 0 {
			break
		}
		for _, t := range tasks {
			t.run(p)
		}
	}
	for _, k := range p.links {
		if k != nil {
			p.close(k, nil)
		}
	}
	p.closeFds()
}

// register adds k to the loop and opens its Conn. Loop only.
func (p *poller) register(k *fdLink, ad *adoption) {
	fd := int(k.fd.Load())
	failed := func(err error) {
		unix.Close(fd)
		if ad != nil {
			pool.Put(ad.pre)
		}
		if ad != nil && ad.frames != nil {
			close(ad.frames.opened) // conn nil: AdoptFrames fails
			return
		}
		p.r.srv.conns.Add(-1)
		p.r.srv.acceptErrs.Add(1)
		p.r.srv.cfg.Logger.Warn("eventloop: cannot add a connection to a loop", "err", err)
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		failed(ErrServerClosed)
		return
	}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: k.fd.Load()}); err != nil {
		failed(os.NewSyscallError("epoll_ctl", err))
		return
	}
	if fd >= len(p.links) {
		n := max(2*len(p.links), fd+1, 64)
		links := make([]*fdLink, n)
		copy(links, p.links)
		p.links = links
	}
	p.links[fd] = k
	c := k.conn()
	if ad != nil && ad.frames != nil {
		c.openFrames(ad.frames)
		return
	}
	c.armTimer(p.r.srv.cfg.IdleTimeout)
	if ad != nil && ad.pre != nil {
		c.pre = ad.pre
		p.traffic(k)
	}
}

// serve handles the events epoll reported for k. Loop only.
func (p *poller) serve(k *fdLink, ev uint32) {
	if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 && k.out != nil {
		p.writeHeld(k)
		if k.closed() {
			return
		}
	}
	switch {
	case ev&(unix.EPOLLIN|unix.EPOLLPRI) != 0 && !k.conn().pollPaused:
		p.read(k)
	case ev&(unix.EPOLLERR|unix.EPOLLHUP) != 0:
		// Reads are off (or there was nothing to read) and the socket is
		// finished: level-triggered, it would be reported forever.
		p.close(k, os.NewSyscallError("read", io.EOF))
	}
}

// read reads once from k's socket (at most the loop's buffer) and runs the
// reading code. Loop only.
func (p *poller) read(k *fdLink) {
	var dst []byte
	held := k.in != nil
	if held {
		b := k.in.B
		if k.inOff > 0 {
			b = b[:copy(b, b[k.inOff:])]
			k.inOff = 0
		}
		if cap(b)-len(b) < heldReadMin {
			b = slices.Grow(b, max(heldReadMin, len(b))) // doubles a growing message
		}
		k.in.B = b
		dst = b[len(b):cap(b)]
	} else {
		dst = p.buf
	}
	n, err := readFd(int(k.fd.Load()), dst)
	if err == unix.EAGAIN {
		return
	}
	if n == 0 && err == nil {
		err = io.EOF
	}
	if err != nil {
		p.close(k, os.NewSyscallError("read", err))
		return
	}
	if held {
		k.in.B = k.in.B[:len(k.in.B)+n]
		p.traffic(k)
		return
	}
	p.cur, p.curLink = p.buf[:n], k
	p.traffic(k)
	if p.curLink == k {
		if len(p.cur) > 0 && !k.closed() {
			k.in = pool.Get()
			k.in.B = append(k.in.B, p.cur...)
		}
		p.cur, p.curLink = nil, nil
	}
}

// traffic runs k's reading code and writes what it queued. Loop only.
func (p *poller) traffic(k *fdLink) {
	c := k.conn()
	c.loop.traffic(c, (*Conn).onTraffic)
	if p.r.yieldAfterTraffic {
		runtime.Gosched()
	}
	if c.detached && !k.closed() {
		// Closed now, so that the loop reads nothing more of what is now
		// the new owner's.
		p.close(k, nil)
	}
}

// writeHeld writes what the kernel refused before. Loop only.
func (p *poller) writeHeld(k *fdLink) {
	b := k.out.B[k.outOff:]
	n, err := writeFd(int(k.fd.Load()), b)
	if err != nil {
		p.close(k, os.NewSyscallError("write", err))
		return
	}
	k.outOff += n
	if k.outOff < len(k.out.B) {
		return
	}
	pool.Put(k.out)
	k.out, k.outOff = nil, 0
	k.setEvents()
	c := k.conn()
	c.loop.traffic(c, (*Conn).onLinkDrained)
}

// close ends k: its Conn is told, what the kernel still takes of the
// backlog is written, and the descriptor is closed. Loop only.
func (p *poller) close(k *fdLink, err error) {
	fd := int(k.fd.Load())
	if fd < 0 {
		return
	}
	k.fd.Store(-1)
	p.links[fd] = nil
	k.conn().onClosed(err)
	for k.out != nil && k.outOff < len(k.out.B) {
		n, err := writeFd(fd, k.out.B[k.outOff:])
		if err != nil || n == 0 {
			break
		}
		k.outOff += n
	}
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	unix.Close(fd)
	pool.Put(k.out)
	pool.Put(k.in)
	k.out, k.in, k.outOff, k.inOff = nil, nil, 0, 0
	if p.curLink == k {
		p.cur, p.curLink = nil, nil
	}
}

// fdLink is a connection on a poller: the link under its Conn, which
// holds it (Conn.fl), so a connection is one allocation. It keeps no copy
// of the peer's address (a *net.TCPAddr is 56 B per connection for the
// one read, at the handshake): RemoteAddr asks the kernel.
type fdLink struct {
	// Inbound bytes left from earlier reads are in[inOff:] (nil: none;
	// bytes of the current read are the poller's cur).
	in *pool.Buffer
	// Bytes the kernel refused, oldest first, are out[outOff:] (nil: none).
	out    *pool.Buffer
	outOff int
	inOff  int32
	// fd is the descriptor, -1 once closed: set on the loop before the
	// descriptor is closed, atomic for RemoteAddr, which may run on any
	// goroutine. Whether reads are off is the Conn's pollPaused, and the
	// poller is the Conn's loop's: the link is 32 bytes, the Conn 224.
	fd atomic.Int32
}

// linkState is what a Conn holds of its link: with these loops, all of it.
type linkState = fdLink

// conn returns the Conn that holds k.
func (k *fdLink) conn() *Conn {
	return (*Conn)(unsafe.Add(unsafe.Pointer(k), -int(unsafe.Offsetof(Conn{}.fl))))
}

// poller is the loop k is on.
func (k *fdLink) poller() *poller { return k.conn().loop.rx }

// closed reports whether k is closed.
func (k *fdLink) closed() bool { return k.fd.Load() < 0 }

// writeNow writes what the socket takes of b now, from any goroutine, and
// returns how much that was: 0 if the connection is not on an fdLink, if
// the socket is full, or on an error (the loop meets it again when it
// writes the rest, and closes). c.mu held, c not closed (enqueue checked):
// the loop closes the descriptor only after onClosed has taken c.mu
// (poller.close), so the number cannot be reused under this write.
func (c *Conn) writeNow(b []byte) int {
	if c.ln != link(&c.fl) {
		return 0
	}
	fd := c.fl.fd.Load()
	if fd < 0 {
		return 0
	}
	n, err := writeFd(int(fd), b)
	if err != nil {
		return 0
	}
	return n
}

// reactorLoop is what a loop keeps of its reactor: its poller.
type reactorLoop = *poller

// reportsDrainOnLoop implements drainReporter: writeHeld calls
// onLinkDrained once the backlog is out.
func (*fdLink) reportsDrainOnLoop() {}

// view is what the reading code sees of the inbound bytes. Loop only.
func (k *fdLink) view() []byte {
	if k.in != nil {
		return k.in.B[k.inOff:]
	}
	if k.poller().curLink == k {
		return k.poller().cur
	}
	return nil
}

func (k *fdLink) InboundBuffered() int { return len(k.view()) }

// Peek returns the first n buffered bytes (all with n <= 0), valid until
// Discard or the end of the callback.
func (k *fdLink) Peek(n int) ([]byte, error) {
	b := k.view()
	if n > len(b) {
		return nil, io.ErrShortBuffer
	}
	if n <= 0 {
		return b, nil
	}
	return b[:n], nil
}

// Discard drops the first n buffered bytes (all with n <= 0).
func (k *fdLink) Discard(n int) (int, error) {
	if k.in != nil {
		avail := len(k.in.B) - int(k.inOff)
		if n <= 0 || n >= avail {
			pool.Put(k.in)
			k.in, k.inOff = nil, 0
			return avail, nil
		}
		k.inOff += int32(n)
		return n, nil
	}
	if k.poller().curLink != k {
		return 0, nil
	}
	avail := len(k.poller().cur)
	if n <= 0 || n >= avail {
		k.poller().cur = k.poller().cur[:0]
		return avail, nil
	}
	k.poller().cur = k.poller().cur[n:]
	return n, nil
}

// Write writes b, keeping what the kernel refuses. On an error the
// connection is closed. Loop only.
func (k *fdLink) Write(b []byte) (int, error) {
	if k.closed() {
		return 0, net.ErrClosed
	}
	if k.out != nil {
		k.out.B = append(k.out.B, b...)
		return len(b), nil
	}
	n, err := writeFd(int(k.fd.Load()), b)
	if err != nil {
		k.poller().close(k, os.NewSyscallError("write", err))
		return 0, err
	}
	if n < len(b) {
		k.hold(b[n:])
	}
	return len(b), nil
}

// Writev writes bs in one system call, keeping what the kernel refuses. On
// an error the connection is closed. Loop only.
func (k *fdLink) Writev(bs [][]byte) (int, error) {
	if k.closed() {
		return 0, net.ErrClosed
	}
	total := 0
	for _, b := range bs {
		total += len(b)
	}
	if k.out != nil {
		for _, b := range bs {
			k.out.B = append(k.out.B, b...)
		}
		return total, nil
	}
	p := k.poller()
	iov := p.iovecs[:0]
	for _, b := range bs {
		if len(b) > 0 {
			v := unix.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	p.iovecs = iov
	var n int
	var err error
	if len(iov) > 0 {
		n, err = writevFd(int(k.fd.Load()), iov)
	}
	clear(iov)
	if err != nil {
		k.poller().close(k, os.NewSyscallError("writev", err))
		return 0, err
	}
	for _, b := range bs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		k.hold(b[n:])
		n = 0
	}
	return total, nil
}

// hold keeps b, unwritten, and watches for the socket to take more (one
// epoll_ctl when a backlog starts, none while it grows).
func (k *fdLink) hold(b []byte) {
	if k.out != nil {
		k.out.B = append(k.out.B, b...)
		return
	}
	k.out = pool.Get()
	k.out.B = append(k.out.B, b...)
	k.setEvents()
}

func (k *fdLink) OutboundBuffered() int {
	if k.out == nil {
		return 0
	}
	return len(k.out.B) - k.outOff
}

// setReads implements readSwitch. Loop only.
// The Conn's pollPaused already says which (syncReads).
func (k *fdLink) setReads(*loop, bool) { k.setEvents() }

// setEvents makes what epoll watches match the link's state. Loop only.
func (k *fdLink) setEvents() {
	if k.closed() {
		return
	}
	var ev uint32
	if !k.conn().pollPaused {
		ev |= unix.EPOLLIN | unix.EPOLLPRI
	}
	if k.out != nil {
		ev |= unix.EPOLLOUT
	}
	_ = unix.EpollCtl(k.poller().epfd, unix.EPOLL_CTL_MOD, int(k.fd.Load()), &unix.EpollEvent{Events: ev, Fd: k.fd.Load()})
}

// Wake runs the reading code again, for bytes already buffered. Safe from
// any goroutine.
func (k *fdLink) Wake() error {
	return k.poller().Execute(func() {
		if !k.closed() {
			k.poller().traffic(k)
		}
	})
}

// Close writes what the kernel takes of the backlog and closes the
// connection, after what the loop is doing now. Safe from any goroutine.
func (k *fdLink) Close() error {
	return k.poller().Execute(func() { k.poller().close(k, nil) })
}

func (k *fdLink) Fd() int { return int(k.fd.Load()) }

// RemoteAddr asks the kernel for the peer's address (nil once the
// connection is closed, or if the peer is gone). Safe from any goroutine.
func (k *fdLink) RemoteAddr() net.Addr {
	ap, zone := k.peerAddr()
	if !ap.IsValid() {
		return nil // net.Addr(nil), not a nil *TCPAddr
	}
	a := net.TCPAddrFromAddrPort(ap)
	if zone != 0 {
		if ifi, err := net.InterfaceByIndex(int(zone)); err == nil {
			a.Zone = ifi.Name
		}
	}
	return a
}

// remoteAddrPort implements addrPortLink: RemoteAddr without allocating
// (invalid for an IPv6 address with a zone, whose name needs a lookup).
func (k *fdLink) remoteAddrPort() netip.AddrPort {
	ap, zone := k.peerAddr()
	if zone != 0 {
		return netip.AddrPort{}
	}
	return ap
}

// peerAddr asks the kernel for the peer's address, and the interface index
// of its zone (0: none). The descriptor is known to be k's if k was still
// open after the call: fd is set to -1 before the descriptor is closed
// (whose number could then be reused).
func (k *fdLink) peerAddr() (ap netip.AddrPort, zone uint32) {
	fd := k.fd.Load()
	if fd < 0 {
		return ap, 0
	}
	var rsa unix.RawSockaddrAny
	size := uint32(unsafe.Sizeof(rsa))
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if e != 0 || k.fd.Load() != fd {
		return ap, 0
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), ntohs(sa.Port)), 0
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), ntohs(sa.Port)), sa.Scope_id
	}
	return ap, 0
}

func ntohs(p uint16) uint16 { return p>>8 | p<<8 }

// readFd, writeFd and writevFd retry on EINTR; writeFd and writevFd report
// a full socket (EAGAIN) as 0 bytes written. They are raw system calls: the
// descriptors do not block, so the scheduler's bookkeeping around a call
// (entersyscall and exitsyscall, sysmon watching for a P to retake) buys
// nothing, and at 1,000 subscribers it was a fifth of a delivery's user CPU
// (BENCHMARKS.md, issue 14 round 5). A loop blocks only in epoll_wait,
// which stays a regular system call.

func readFd(fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

func writeFd(fd int, b []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EAGAIN:
			return 0, nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

func writevFd(fd int, iov []unix.Iovec) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EAGAIN:
			return 0, nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

// fdListener accepts from a *net.TCPListener with accept4 on a duplicate of
// its descriptor: no net.TCPConn is built (a netFD, two addresses, a
// registration with Go's poller) only for the loop to duplicate its
// descriptor and close it, and the peer's address is not asked for
// (fdLink.RemoteAddr asks the kernel when it is needed). The duplicate is
// waited on through Go's poller (an os.File on a non-blocking descriptor);
// Server closes it with the listener, and a listener closed by someone
// else is noticed within listenerRecheck.
type fdListener struct {
	ln   *net.TCPListener
	lnrc syscall.RawConn // ln's, to notice that it was closed
	f    *os.File
	rc   syscall.RawConn // f's
	try  func(uintptr) bool

	// The outcome of try.
	fd  int
	err error
}

const listenerRecheck = time.Second

// directAcceptor returns a direct acceptor for ln, or nil where there is
// none (not a TCP listener, no reactor).
func (s *Server) directAcceptor(ln net.Listener) directListener {
	tl, ok := ln.(*net.TCPListener)
	if !ok || !s.Reactor() {
		return nil
	}
	lnrc, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	f, err := tl.File() // a duplicate; non-blocking (the flag is the open file's)
	if err != nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	a := &fdListener{ln: tl, lnrc: lnrc, f: f, rc: rc}
	a.try = a.accept4
	return a
}

func (a *fdListener) Close() error { return a.f.Close() }

// accept4 accepts one connection; false: none is waiting.
func (a *fdListener) accept4(s uintptr) bool {
	for {
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, s, 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			a.fd, a.err = int(r), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		a.fd, a.err = -1, os.NewSyscallError("accept4", e)
		return true
	}
}

// accept returns an accepted descriptor (non-blocking, close-on-exec,
// TCP_NODELAY as Go sets it on what it accepts).
func (a *fdListener) accept() (int, error) {
	for {
		_ = a.f.SetReadDeadline(time.Now().Add(listenerRecheck))
		err := a.rc.Read(a.try)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if a.lnrc.Control(func(uintptr) {}) != nil {
				return -1, net.ErrClosed // closed by its owner
			}
			continue
		}
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				err = net.ErrClosed
			}
			return -1, err
		}
		if a.err != nil {
			return -1, a.err
		}
		_ = unix.SetsockoptInt(a.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		return a.fd, nil
	}
}

// acceptLoop is Server.acceptLoop for descriptors.
func (a *fdListener) acceptLoop(s *Server) error {
	return acceptEach(s, a.accept, unix.Close, s.takeFd)
}

// takeFd hands an accepted descriptor to a loop.
func (s *Server) takeFd(fd int) {
	s.conns.Add(1)
	if err := s.enrollFd(fd); err != nil {
		s.enrollFailed(err)
	}
}

// enrollFd hands an accepted descriptor to a loop (the caller counted it);
// the descriptor is closed on error.
func (s *Server) enrollFd(fd int) error {
	s.enrollMu.RLock()
	defer s.enrollMu.RUnlock()
	if s.noEnroll {
		unix.Close(fd)
		return ErrServerClosed
	}
	return s.reactor.open(fd, nil)
}
