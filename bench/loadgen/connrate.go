package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// connLoop runs a share of a worker's connect-rate scenario (one loop per
// GOMAXPROCS, see Worker.connectRate): a fixed number of slots, each carrying one connect at a time as a state machine
// over a non-blocking socket, all served by one goroutine through its own
// level-triggered epoll instance.
//
// The long-lived clients use a goroutine per connection over net.Dial; a
// connect rate of 10^4/s on one core cannot afford that, because the
// generator must cost less per connect than the server it measures.
// net.Dial adds a resolver pass, a context with an AfterFunc, SO_ERROR,
// getpeername, getsockname and five setsockopts, an epoll registration and
// removal, and every wait parks a goroutine that the netpoller wakes only
// after a read has failed with EAGAIN. Here a WebSocket connect is socket,
// setsockopt, bind, connect, write, epoll_ctl, read, write, read and close,
// plus a share of one epoll_wait: with level-triggered epoll a socket is
// read only when bytes are there, and close takes it out of the epoll set.
// Timeouts are checked by a scan every scanEvery, not by timers.
//
// Nagle is left on (no TCP_NODELAY): every write follows the read of the
// server's answer to the previous one, which acknowledged it, so no write
// ever waits for an ACK. For the same reason all the frames one read calls
// for go out in one write (the upgrade's "5" and "40", a pong and "40").
type connLoop struct {
	w       *Worker
	path    string
	upgrade bool
	timeout int64 // per connect, ns
	max     int64 // connects to start, 0: no limit

	ep     int
	ev     unix.EpollEvent // argument of epoll_ctl
	events []unix.EpollEvent
	slots  []connSlot
	idle   []int // slots without a connect
	srcs   []unix.SockaddrInet4
	dsts   []connDst
	wb     []byte // request and frame scratch
	mask   uint32

	deadline int64 // no connect starts after this
	started  int64
	active   int
}

// connDst is a resolved target.
type connDst struct {
	sa     unix.Sockaddr
	family int
	host   string // host:port, for the Host header
}

// connSlot is one connect in flight, or an idle slot (state csIdle).
type connSlot struct {
	state  int
	fd     int // the socket being served, -1 if none
	pollFD int // upgrade: the polling connection, open until the connect ends; -1 if none
	t0     int64
	dst    *connDst
	src    *unix.SockaddrInet4 // nil: no bind
	key    wsKey
	rb     []byte
	r, n   int // unread bytes: rb[r:n]
	sid    [64]byte
	sidLen int
}

// Connect states, in the order a connect goes through them.
const (
	csIdle      = iota
	csPollWrite // the polling handshake request waits for the connection
	csPollResp  // waiting for the polling handshake response (Engine.IO open)
	csWSWrite   // the upgrade request waits for the connection
	csWSHead    // waiting for the 101 response
	csOpen      // websocket mode: waiting for the Engine.IO open packet
	csProbe     // upgrade mode: waiting for 3probe
	csConnect   // waiting for the Socket.IO CONNECT reply 40{...}
)

// connStage names what a connect in each state is waiting for (error
// messages).
var connStage = [...]string{
	csIdle:      "idle",
	csPollWrite: "polling handshake: connecting",
	csPollResp:  "polling handshake",
	csWSWrite:   "websocket upgrade: connecting",
	csWSHead:    "websocket upgrade",
	csOpen:      "waiting for engine.io open",
	csProbe:     "waiting for 3probe",
	csConnect:   "waiting for socket.io connect",
}

// scanEvery is the period of the timeout scan and the longest epoll wait.
const scanEvery = 100 * time.Millisecond

var errShortWrite = errors.New("short write")

// newConnLoop prepares a loop of conc slots (at least one) for cmd's mode
// and timeout towards the worker's targets that starts at most maxConns
// connects (0: no limit). run or close releases it.
func newConnLoop(w *Worker, cmd Command, conc int, maxConns int64) (*connLoop, error) {
	l := &connLoop{
		w: w, path: w.cfg.Path, upgrade: cmd.Mode == "upgrade",
		timeout: int64(timeoutOf(cmd)), max: maxConns,
		wb: make([]byte, 0, 512), mask: newMaskSeed(),
	}
	for _, t := range w.cfg.Targets {
		a, err := net.ResolveTCPAddr("tcp", t)
		if err != nil {
			return nil, err
		}
		d := connDst{host: t}
		if ip4 := a.IP.To4(); ip4 != nil {
			sa := &unix.SockaddrInet4{Port: a.Port}
			copy(sa.Addr[:], ip4)
			d.sa, d.family = sa, unix.AF_INET
		} else {
			sa := &unix.SockaddrInet6{Port: a.Port}
			copy(sa.Addr[:], a.IP.To16())
			d.sa, d.family = sa, unix.AF_INET6
		}
		l.dsts = append(l.dsts, d)
	}
	if len(l.dsts) == 0 {
		return nil, errors.New("no targets")
	}
	for _, ip := range w.srcs {
		if ip4 := ip.To4(); ip4 != nil {
			var sa unix.SockaddrInet4
			copy(sa.Addr[:], ip4)
			l.srcs = append(l.srcs, sa)
		}
	}
	conc = max(conc, 1)
	l.slots = make([]connSlot, conc)
	for i := range l.slots {
		l.slots[i] = connSlot{fd: -1, pollFD: -1, rb: make([]byte, readBufSize)}
		l.idle = append(l.idle, conc-1-i)
	}
	l.events = make([]unix.EpollEvent, conc)
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create: %w", err)
	}
	l.ep = ep
	return l, nil
}

// close releases a loop that will not run.
func (l *connLoop) close() { unix.Close(l.ep) }

// run starts connects until deadline (or until max have started) and
// returns when the last one has ended. It releases the loop.
func (l *connLoop) run(deadline int64) {
	defer l.close()
	l.deadline = deadline
	l.refill()
	nextScan := nanotime() + int64(scanEvery)
	for l.active > 0 {
		n, err := unix.EpollWait(l.ep, l.events, int(scanEvery/time.Millisecond))
		if err != nil && err != unix.EINTR {
			l.abort(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		for _, ev := range l.events[:max(n, 0)] {
			l.event(int(ev.Pad), int(ev.Fd))
		}
		if now := nanotime(); now >= nextScan {
			l.expire(now)
			nextScan = now + int64(scanEvery)
		}
		l.refill()
	}
}

// refill starts connects in idle slots while the deadline and the limit
// allow.
func (l *connLoop) refill() {
	for len(l.idle) > 0 && (l.max == 0 || l.started < l.max) && nanotime() < l.deadline {
		i := l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		l.start(i)
	}
}

// start begins a connect in slot i: source and target round-robin (as
// Worker.pick), then the first connection.
func (l *connLoop) start(i int) {
	s := &l.slots[i]
	k := l.w.next.Add(1)
	s.dst = &l.dsts[k%uint64(len(l.dsts))]
	s.src = nil
	if len(l.srcs) > 0 && s.dst.family == unix.AF_INET {
		s.src = &l.srcs[k%uint64(len(l.srcs))]
	}
	s.t0 = nanotime()
	s.r, s.n, s.sidLen = 0, 0, 0
	l.started++
	l.active++
	state := csWSWrite
	if l.upgrade {
		state = csPollWrite
	}
	if err := l.open(i, state); err != nil {
		l.finish(i, err)
	}
}

// open makes a new connection the socket of slot i and sends the request
// of state (csPollWrite or csWSWrite), now or once it is established.
func (l *connLoop) open(i, state int) error {
	s := &l.slots[i]
	s.state = state
	fd, err := unix.Socket(s.dst.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	s.fd = fd
	if s.src != nil {
		// The port is then chosen by connect for the whole 4-tuple, so
		// ports in TIME_WAIT towards this target can be reused (loopback
		// tcp_tw_reuse) instead of running out in long runs.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := unix.Bind(fd, s.src); err != nil {
			return fmt.Errorf("bind: %w", err)
		}
	}
	if err := unix.Connect(fd, s.dst.sa); err != nil && err != unix.EINPROGRESS {
		return fmt.Errorf("connect: %w", err)
	}
	return l.request(i, false)
}

// request writes the request slot i's state calls for and registers the
// socket for the answer (EPOLLOUT instead while the connection is not yet
// established, which is rare on loopback: the handshake completes within
// connect). registered says whether the socket is already in the epoll set.
func (l *connLoop) request(i int, registered bool) error {
	s := &l.slots[i]
	b := l.wb[:0]
	if s.state == csPollWrite {
		b = append(b, "GET "...)
		b = append(b, l.path...)
		b = append(b, "?EIO=4&transport=polling HTTP/1.1\r\nHost: "...)
		b = append(b, s.dst.host...)
		b = append(b, "\r\n\r\n"...)
	} else {
		s.key.init(l.nextMask)
		b = appendUpgradeRequest(b, l.path, s.sid[:s.sidLen], s.dst.host, s.key.key[:])
	}
	l.wb = b[:0]
	n, err := unix.Write(s.fd, b)
	switch {
	case err == unix.EAGAIN:
		if registered {
			return nil
		}
		return l.ctl(unix.EPOLL_CTL_ADD, i, unix.EPOLLOUT)
	case err != nil:
		return err
	case n < len(b):
		return errShortWrite
	}
	// The polling connection is read once (it is re-armed only if its
	// response comes in pieces), so it never reports again once the
	// connect has moved on to the WebSocket.
	ev := uint32(unix.EPOLLIN)
	if s.state == csPollWrite {
		s.state = csPollResp
		ev |= unix.EPOLLONESHOT
	} else {
		s.state = csWSHead
	}
	if registered {
		return l.ctl(unix.EPOLL_CTL_MOD, i, ev)
	}
	return l.ctl(unix.EPOLL_CTL_ADD, i, ev)
}

// ctl adds slot i's socket to the epoll set or changes its events.
func (l *connLoop) ctl(op, i int, events uint32) error {
	fd := l.slots[i].fd
	l.ev = unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(i)}
	if err := unix.EpollCtl(l.ep, op, fd, &l.ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// event handles readiness (or an error) of fd, registered for slot i.
func (l *connLoop) event(i, fd int) {
	s := &l.slots[i]
	if s.state == csIdle || fd != s.fd {
		return // a connection that has ended since
	}
	var done bool
	var err error
	if s.state == csPollWrite || s.state == csWSWrite {
		err = l.request(i, true)
	} else {
		done, err = l.read(i)
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", connStage[s.state], err)
	}
	if done || err != nil {
		l.finish(i, err)
	}
}

// read takes what slot i's socket has and advances the connect; done
// means the Socket.IO CONNECT reply has arrived. The frames the bytes call
// for go out together in one write.
func (l *connLoop) read(i int) (done bool, err error) {
	s := &l.slots[i]
	if s.n == len(s.rb) {
		if s.r == 0 {
			return false, errors.New("message larger than the read buffer")
		}
		s.n = copy(s.rb, s.rb[s.r:s.n])
		s.r = 0
	}
	n, err := unix.Read(s.fd, s.rb[s.n:])
	switch {
	case err == unix.EAGAIN:
		return false, nil
	case err != nil:
		return false, err
	case n == 0:
		return false, errClosedByServer
	}
	s.n += n
	done, err = l.advance(i)
	if err == nil && !done && len(l.wb) > 0 {
		return false, l.flush(i)
	}
	l.wb = l.wb[:0]
	return done, err
}

// advance consumes slot i's buffered bytes as far as they are complete.
func (l *connLoop) advance(i int) (done bool, err error) {
	s := &l.slots[i]
	for {
		buf := s.rb[s.r:s.n]
		switch s.state {
		case csPollResp:
			return false, l.pollResponse(i)
		case csWSHead:
			n, err := s.key.checkResponse(buf)
			if n == 0 || err != nil {
				return false, err
			}
			s.r += n
			s.state = csOpen
			if l.upgrade {
				s.state = csProbe
				l.appendFrame(opText, probePing)
			}
		default:
			fin, op, p, n, _, err := parseFrame(buf)
			if n == 0 || err != nil {
				if s.r == s.n {
					s.r, s.n = 0, 0
				}
				return false, err
			}
			s.r += n
			if done, err := l.frame(i, fin, op, p); done || err != nil {
				return done, err
			}
		}
	}
}

// pollResponse checks the polling handshake response once complete, keeps
// its sid and opens the WebSocket that upgrades it. The polling connection
// stays open (as a client's would) until the connect ends.
func (l *connLoop) pollResponse(i int) error {
	s := &l.slots[i]
	buf := s.rb[s.r:s.n]
	he := bytes.Index(buf, []byte("\r\n\r\n"))
	if he < 0 {
		return l.ctl(unix.EPOLL_CTL_MOD, i, unix.EPOLLIN|unix.EPOLLONESHOT)
	}
	st, clen, chunked, err := parseHead(buf[:he])
	switch {
	case err != nil:
		return err
	case chunked:
		return errors.New("chunked handshake response (unsupported here)")
	case clen < 0:
		return errors.New("HTTP response without Content-Length")
	}
	end := he + 4 + clen
	if end > len(buf) {
		if s.r+end > len(s.rb) {
			return errors.New("handshake response larger than the read buffer")
		}
		return l.ctl(unix.EPOLL_CTL_MOD, i, unix.EPOLLIN|unix.EPOLLONESHOT)
	}
	body := buf[he+4 : end]
	if st != 200 || len(body) == 0 || body[0] != eioOpen {
		return fmt.Errorf("status %d body %.60q", st, body)
	}
	sid := sidValue(body)
	if len(sid) == 0 || len(sid) > len(s.sid) {
		return fmt.Errorf("no usable sid in %.60q", body)
	}
	s.sidLen = copy(s.sid[:], sid)
	s.pollFD, s.fd = s.fd, -1
	s.r, s.n = 0, 0
	return l.open(i, csWSWrite)
}

// frame handles one server frame of a WebSocket past its 101, adding the
// answers it calls for to the pending write; done means the Socket.IO
// CONNECT reply.
func (l *connLoop) frame(i int, fin bool, op byte, p []byte) (done bool, err error) {
	s := &l.slots[i]
	switch op {
	case opText:
	case opPing:
		if len(p) > 125 {
			return false, errors.New("oversized websocket ping")
		}
		l.appendFrame(opPong, p)
		return false, nil
	case opBinary, opPong:
		return false, nil
	case opClose:
		return false, errClosedByServer
	case opCont:
		return false, errors.New("fragmented message during the handshake")
	default:
		return false, fmt.Errorf("unknown websocket opcode %d", op)
	}
	if !fin {
		return false, errors.New("fragmented message during the handshake")
	}
	if len(p) == 0 {
		return false, nil
	}
	switch {
	case s.state == csOpen && p[0] == eioOpen:
		s.state = csConnect
		l.appendFrame(opText, []byte("40"))
		return false, nil
	case s.state == csProbe && bytes.Equal(p, probePong):
		s.state = csConnect
		l.appendFrame(opText, []byte{eioUpgrade})
		l.appendFrame(opText, []byte("40"))
		return false, nil
	case s.state == csConnect && len(p) >= 3 && p[0] == eioMessage && p[1] == sioConnect && p[2] == '{':
		return true, nil
	}
	switch p[0] {
	case eioPing:
		l.appendFrame(opText, []byte{eioPong})
		return false, nil
	case eioClose:
		return false, errors.New("engine.io close")
	case eioMessage:
		if len(p) > 1 && p[1] == sioConnectError {
			return false, fmt.Errorf("connect error %.80s", p[2:])
		}
	}
	return false, nil
}

// appendFrame adds a masked client frame with a payload of at most 125
// bytes to the pending write.
func (l *connLoop) appendFrame(op byte, p []byte) {
	b := append(l.wb, 0x80|op, 0x80|byte(len(p)), 0, 0, 0, 0)
	k := l.nextMask()
	key := [4]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)}
	copy(b[len(b)-4:], key[:])
	n := len(b)
	b = append(b, p...)
	maskBytes(b[n:], key)
	l.wb = b
}

// flush writes the pending frames to slot i's socket in one write.
func (l *connLoop) flush(i int) error {
	n, err := unix.Write(l.slots[i].fd, l.wb)
	short := n < len(l.wb)
	l.wb = l.wb[:0]
	if err != nil {
		return err
	}
	if short {
		return errShortWrite
	}
	return nil
}

func (l *connLoop) nextMask() uint32 { return xorshift32(&l.mask) }

// finish ends slot i's connect, counting it as a success if err is nil,
// closes its sockets (which leaves the epoll set) and frees the slot.
func (l *connLoop) finish(i int, err error) {
	s := &l.slots[i]
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
	if s.pollFD >= 0 {
		unix.Close(s.pollFD)
		s.pollFD = -1
	}
	s.state = csIdle
	l.active--
	l.idle = append(l.idle, i)
	l.w.sent.Add(1)
	if err != nil {
		l.w.noteErr(err)
		return
	}
	now := nanotime()
	l.w.lat.Record(now - s.t0)
	l.w.recv.Add(1)
	l.w.lastRecv.Store(now)
}

// expire fails the connects that have run longer than the timeout.
func (l *connLoop) expire(now int64) {
	for i := range l.slots {
		if s := &l.slots[i]; s.state != csIdle && now-s.t0 > l.timeout {
			l.finish(i, fmt.Errorf("%s: timed out after %v", connStage[s.state], time.Duration(l.timeout)))
		}
	}
}

// abort fails every connect in flight.
func (l *connLoop) abort(err error) {
	for i := range l.slots {
		if l.slots[i].state != csIdle {
			l.finish(i, err)
		}
	}
}
