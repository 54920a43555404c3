package loadgen

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Worker holds up to a few tens of thousands of client sockets and executes
// the parent's commands. It runs as a re-exec'd child process
// (`fanio-bench __worker`) or, for tests, as goroutines of the parent.
type Worker struct {
	cfg       WorkerConfig
	reportCPU bool
	srcs      []net.IP
	next      atomic.Uint64
	tokens    atomic.Uint64 // auth tokens handed out (app clients)

	up, recv, sent, errs, late, lost atomic.Int64
	lastRecv                         atomic.Int64
	stale                            atomic.Int64
	epoch                            atomic.Uint64
	lat                              Histogram

	base struct {
		recv, sent, errs, late, lost, stale int64
		user, sys                           int64
		wall                                int64
	}

	mu        sync.Mutex
	errSample []string
	ws        []*wsConn
	polls     []*pollClient
	pub       *wsConn

	outMu   sync.Mutex
	out     *json.Encoder
	closing atomic.Bool
}

// NewWorker prepares a worker for cfg. reportCPU says whether its stats
// carry the process's CPU time (false for all but one in-process worker).
func NewWorker(cfg WorkerConfig, reportCPU bool) *Worker {
	w := &Worker{cfg: cfg, reportCPU: reportCPU}
	for _, s := range cfg.Srcs {
		if ip := net.ParseIP(s); ip != nil {
			w.srcs = append(w.srcs, ip)
		}
	}
	if w.cfg.Path == "" {
		w.cfg.Path = "/socket.io/"
	}
	w.next.Store(uint64(cfg.ID) * 7)
	w.reset()
	return w
}

// ServeWorker is the body of `fanio-bench __worker`: it reads the
// WorkerConfig line then commands from in, writes replies to out.
func ServeWorker(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	var cfg WorkerConfig
	if err := dec.Decode(&cfg); err != nil {
		return fmt.Errorf("worker config: %w", err)
	}
	return NewWorker(cfg, true).Serve(dec, out)
}

// Serve executes commands until "exit" or end of input.
func (w *Worker) Serve(dec *json.Decoder, out io.Writer) error {
	w.out = json.NewEncoder(out)
	stop := make(chan struct{})
	defer close(stop)
	go w.progressLoop(stop)
	for {
		var cmd Command
		if err := dec.Decode(&cmd); err != nil {
			w.closeAll()
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		r := w.exec(cmd)
		r.ID = w.cfg.ID
		w.write(r)
		if cmd.Op == "exit" {
			return nil
		}
	}
}

func (w *Worker) write(r Reply) {
	w.outMu.Lock()
	_ = w.out.Encode(r)
	w.outMu.Unlock()
}

func (w *Worker) progressLoop(stop chan struct{}) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.write(Reply{Op: "progress", ID: w.cfg.ID, Up: w.up.Load(), Recv: w.recv.Load(), Sent: w.sent.Load(), Errors: w.errs.Load()})
		}
	}
}

func (w *Worker) exec(cmd Command) Reply {
	switch cmd.Op {
	case "connect":
		return w.connect(cmd)
	case "reset":
		w.epoch.Store(cmd.Epoch)
		w.reset()
		return Reply{Op: "reset"}
	case "snapshot":
		s := w.snapshot()
		return Reply{Op: "snapshot", Stats: &s}
	case "publish":
		return w.publish(cmd)
	case "echo":
		return w.echo(cmd)
	case "block":
		return w.block(cmd)
	case "connectrate":
		return w.connectRate(cmd)
	case "closeall":
		w.closeAll()
		return Reply{Op: "closeall"}
	case "exit":
		w.closeAll()
		return Reply{Op: "exit"}
	}
	return Reply{Op: cmd.Op, Err: "unknown command " + cmd.Op}
}

func (w *Worker) noteErr(err error) {
	w.errs.Add(1)
	w.mu.Lock()
	if len(w.errSample) < 8 {
		msg := err.Error()
		dup := false
		for _, s := range w.errSample {
			if s == msg {
				dup = true
			}
		}
		if !dup {
			w.errSample = append(w.errSample, msg)
		}
	}
	w.mu.Unlock()
}

// pick returns the next source address and target, round-robin.
func (w *Worker) pick() (net.IP, string) {
	i := w.next.Add(1)
	var src net.IP
	if len(w.srcs) > 0 {
		src = w.srcs[i%uint64(len(w.srcs))]
	}
	return src, w.cfg.Targets[i%uint64(len(w.cfg.Targets))]
}

func cpuTimes() (user, sys int64) {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	return ru.Utime.Sec*1e6 + int64(ru.Utime.Usec), ru.Stime.Sec*1e6 + int64(ru.Stime.Usec)
}

func (w *Worker) reset() {
	w.lat.Reset()
	w.base.recv = w.recv.Load()
	w.base.sent = w.sent.Load()
	w.base.errs = w.errs.Load()
	w.base.late = w.late.Load()
	w.base.lost = w.lost.Load()
	w.base.stale = w.stale.Load()
	w.base.user, w.base.sys = cpuTimes()
	w.base.wall = nanotime()
	w.mu.Lock()
	w.errSample = nil
	w.mu.Unlock()
}

func (w *Worker) snapshot() Stats {
	s := Stats{
		Up:       w.up.Load(),
		Recv:     w.recv.Load() - w.base.recv,
		Sent:     w.sent.Load() - w.base.sent,
		Errors:   w.errs.Load() - w.base.errs,
		Late:     w.late.Load() - w.base.late,
		Lost:     w.lost.Load() - w.base.lost,
		Stale:    w.stale.Load() - w.base.stale,
		LastRecv: w.lastRecv.Load(),
		WallNs:   nanotime() - w.base.wall,
		Hist:     w.lat.Snapshot(),
	}
	if w.reportCPU {
		u, y := cpuTimes()
		s.CPUUserUs, s.CPUSysUs = u-w.base.user, y-w.base.sys
		var ru unix.Rusage
		if unix.Getrusage(unix.RUSAGE_SELF, &ru) == nil {
			s.MaxRSSKB = ru.Maxrss
		}
	}
	w.mu.Lock()
	s.ErrSample = append([]string(nil), w.errSample...)
	w.mu.Unlock()
	return s
}

// handleSIO handles the Socket.IO part of an Engine.IO message (s starts at
// the Socket.IO packet type). c is nil for polling clients. Hot path: no
// allocation.
func (w *Worker) handleSIO(c *wsConn, s []byte) {
	if len(s) == 0 {
		return
	}
	switch s[0] {
	case sioEvent:
		if ts, ep, ok := deliveryTimestamp(s); ok {
			if ep != w.epoch.Load() {
				w.stale.Add(1) // published in an earlier window
				return
			}
			now := nanotime()
			w.lat.Record(now - ts)
			w.recv.Add(1)
			w.lastRecv.Store(now)
		}
	case sioAck:
		if c != nil {
			if id, ok := ackID(s); ok {
				c.onAck(id)
			}
		}
	}
}

func (w *Worker) recordAck(d int64) {
	w.lat.Record(d)
	w.recv.Add(1)
	w.lastRecv.Store(nanotime())
}

// minSleep is the shortest pause of the fixed-rate senders: above 4,000
// messages/s they send what fell due in bursts at most this far apart
// instead of waking up for every message (each wake-up costs the generator
// more CPU than the message itself).
const minSleep = 250 * 1000 // ns

func timeoutOf(cmd Command) time.Duration {
	if cmd.TimeoutMs > 0 {
		return time.Duration(cmd.TimeoutMs) * time.Millisecond
	}
	return 20 * time.Second
}

// connect opens cmd.N more clients with at most cmd.Concurrency handshakes
// in flight and returns once each is established (or failed).
func (w *Worker) connect(cmd Command) Reply {
	conc := cmd.Concurrency
	if conc <= 0 {
		conc = 64
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for i := 0; i < cmd.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		ready := func(err error) {
			if err != nil {
				failed.Add(1)
				w.noteErr(err)
			} else {
				ok.Add(1)
			}
			<-sem
			wg.Done()
		}
		if cmd.Transport == "polling" {
			go w.runPoll(cmd, ready)
		} else {
			go w.runWS(cmd, ready)
		}
	}
	wg.Wait()
	return Reply{Op: "connect", OK: int(ok.Load()), Failed: int(failed.Load())}
}

func (w *Worker) runWS(cmd Command, ready func(error)) {
	timeout := timeoutOf(cmd)
	src, addr := w.pick()
	headers := ""
	if cmd.App {
		headers = appHeaders
	}
	c, err := dialWS(w, src, addr, w.cfg.Path, "", headers, timeout)
	if err != nil {
		ready(err)
		return
	}
	switch cmd.Role {
	case "echo":
		c.role = roleEcho
		c.ring = new([ringSize]ackSlot)
	default:
		c.role = roleSub
	}
	if cmd.App {
		err = c.connectApp(fmt.Sprintf("user-%d-%d", w.cfg.ID, w.tokens.Add(1)))
	} else {
		err = c.connectSIO()
	}
	if err == nil && cmd.Room != "" {
		err = c.join(cmd.Room)
	}
	if err != nil {
		c.nc.Close()
		ready(err)
		return
	}
	_ = c.nc.SetDeadline(time.Time{})
	w.mu.Lock()
	w.ws = append(w.ws, c)
	w.mu.Unlock()
	w.up.Add(1)
	ready(nil)
	err = c.readLoop()
	w.up.Add(-1)
	if !c.closing.Load() && !w.closing.Load() {
		w.lost.Add(1)
		w.noteErr(fmt.Errorf("websocket lost: %w", err))
	}
}

func (w *Worker) runPoll(cmd Command, ready func(error)) {
	timeout := timeoutOf(cmd)
	src, addr := w.pick()
	pc, err := openPolling(w, src, addr, w.cfg.Path, timeout)
	if err != nil {
		ready(err)
		return
	}
	if err := pc.connect(src, cmd.Room, timeout); err != nil {
		pc.close()
		ready(err)
		return
	}
	w.mu.Lock()
	w.polls = append(w.polls, pc)
	w.mu.Unlock()
	w.up.Add(1)
	ready(nil)
	for {
		if err = pc.poll(); err != nil {
			break
		}
	}
	w.up.Add(-1)
	if !pc.closing.Load() && !w.closing.Load() {
		w.lost.Add(1)
		w.noteErr(fmt.Errorf("polling lost: %w", err))
	}
}

// ensurePub opens the publisher connection (not in any room).
func (w *Worker) ensurePub() (*wsConn, error) {
	w.mu.Lock()
	p := w.pub
	w.mu.Unlock()
	if p != nil {
		return p, nil
	}
	src, addr := w.pick()
	c, err := dialWS(w, src, addr, w.cfg.Path, "", "", 20*time.Second)
	if err != nil {
		return nil, err
	}
	c.role = rolePub
	c.barrier = make(chan uint64, 64)
	if err := c.connectSIO(); err != nil {
		c.nc.Close()
		return nil, err
	}
	_ = c.nc.SetDeadline(time.Time{})
	w.mu.Lock()
	w.pub = c
	w.mu.Unlock()
	go func() {
		err := c.readLoop()
		if !c.closing.Load() && !w.closing.Load() {
			w.noteErr(fmt.Errorf("publisher lost: %w", err))
		}
		w.mu.Lock()
		if w.pub == c {
			w.pub = nil
		}
		w.mu.Unlock()
	}()
	return c, nil
}

// publish emits `pub` at cmd.Rate per second for cmd.DurationMs, or, with
// Rate 0, as fast as the server takes them: batches of cmd.Batch pubs, each
// followed by an acked barrier, at most cmd.Window barriers outstanding.
func (w *Worker) publish(cmd Command) Reply {
	p, err := w.ensurePub()
	if err != nil {
		w.noteErr(err)
		return Reply{Op: "publish", Err: err.Error()}
	}
	dur := int64(cmd.DurationMs) * 1e6
	start := nanotime()
	deadline := start + dur
	var sent int64
	var rerr error
	if cmd.Rate > 0 {
		at := newArrivals(start, cmd.Rate)
		for rerr == nil {
			now := nanotime()
			if now >= deadline {
				break
			}
			due := at.due()
			if now < due {
				sleepUntil(min(max(due, now+minSleep), deadline))
				continue
			}
			rerr = p.sendPub(cmd.Size)
			sent++
			at.next()
			w.sent.Add(1)
		}
	} else {
		batch, window := max(cmd.Batch, 1), max(cmd.Window, 1)
		inflight := 0
		t := time.NewTimer(time.Hour)
		wait := func() error {
			t.Reset(10 * time.Second)
			select {
			case <-p.barrier:
				inflight--
				return nil
			case <-t.C:
				return errors.New("publisher barrier ack timed out")
			}
		}
		for rerr == nil && nanotime() < deadline {
			for i := 0; i < batch && rerr == nil; i++ {
				rerr = p.sendPub(cmd.Size)
				sent++
			}
			w.sent.Add(int64(batch))
			if rerr == nil {
				_, rerr = p.sendBarrier()
				inflight++
			}
			for rerr == nil && inflight >= window {
				rerr = wait()
			}
		}
		for rerr == nil && inflight > 0 {
			rerr = wait()
		}
		t.Stop()
	}
	end := nanotime()
	r := Reply{Op: "publish", Sent: sent, StartNs: start, EndNs: end}
	if rerr != nil {
		w.noteErr(rerr)
		r.Err = rerr.Error()
	}
	return r
}

// arrivals are the send times of an open-loop load at a mean rate: a
// Poisson process (exponential gaps, a fixed seed), not a fixed period. The
// kernel splits a process's CPU time into user and system by sampling at
// its tick (4 ms here): against a load of period 10 ms (100 publishes/s)
// the samples fall on the same phases of each burst for a whole run, and
// the split of one server's CPU moved by ±40 % from run to run.
type arrivals struct {
	at   float64 // the next send time, ns
	mean float64 // the mean gap, ns
	rng  *rand.Rand
}

func newArrivals(start int64, rate float64) *arrivals {
	return &arrivals{at: float64(start), mean: 1e9 / rate, rng: rand.New(rand.NewPCG(1, 2))}
}

// due is when the next send is due (nanotime).
func (a *arrivals) due() int64 { return int64(a.at) }

// next moves to the send after the one due.
func (a *arrivals) next() { a.at += a.rng.ExpFloat64() * a.mean }

// echoConns are the worker's open echo clients.
func (w *Worker) echoConns() []*wsConn {
	w.mu.Lock()
	defer w.mu.Unlock()
	var conns []*wsConn
	for _, c := range w.ws {
		if c.role == roleEcho && !c.closing.Load() {
			conns = append(conns, c)
		}
	}
	return conns
}

// block makes each of this worker's echo clients emit block(cmd.HoldMs)
// once, with an ack, and returns as soon as they are sent; the acks (the
// blocking calls' round trips) are recorded as they arrive.
func (w *Worker) block(cmd Command) Reply {
	conns := w.echoConns()
	if len(conns) == 0 {
		return Reply{Op: "block", Err: "no clients"}
	}
	start := nanotime()
	var sent int64
	for _, c := range conns {
		if err := c.sendBlock(cmd.HoldMs); err != nil {
			w.noteErr(err)
			continue
		}
		sent++
		w.sent.Add(1)
	}
	return Reply{Op: "block", Sent: sent, StartNs: start, EndNs: nanotime()}
}

// echo makes this worker's echo clients emit `echo` with an ack, round
// robin, cmd.Rate per second in all for cmd.DurationMs, then waits (at
// most cmd.TimeoutMs, default 5 s) for the outstanding acks.
func (w *Worker) echo(cmd Command) Reply {
	conns := w.echoConns()
	if len(conns) == 0 || cmd.Rate <= 0 {
		return Reply{Op: "echo", Err: "no echo clients or no rate"}
	}
	r0, l0 := w.recv.Load(), w.late.Load()
	start := nanotime()
	deadline := start + int64(cmd.DurationMs)*1e6
	at := newArrivals(start, cmd.Rate)
	var sent int64
	for {
		now := nanotime()
		if now >= deadline {
			break
		}
		due := at.due()
		if now < due {
			sleepUntil(min(max(due, now+minSleep), deadline))
			continue
		}
		c := conns[sent%int64(len(conns))]
		if err := c.sendEcho(cmd.Size); err != nil {
			w.noteErr(err)
		}
		sent++
		at.next()
		w.sent.Add(1)
	}
	end := nanotime()
	wait := 5 * time.Second
	if cmd.TimeoutMs > 0 {
		wait = time.Duration(cmd.TimeoutMs) * time.Millisecond
	}
	drainUntil := time.Now().Add(wait)
	for time.Now().Before(drainUntil) && (w.recv.Load()-r0)+(w.late.Load()-l0) < sent {
		time.Sleep(5 * time.Millisecond)
	}
	return Reply{Op: "echo", Sent: sent, StartNs: start, EndNs: end}
}

// connectRate keeps cmd.Concurrency connects of a fresh client in flight
// (mode websocket: WebSocket + Socket.IO CONNECT; mode upgrade: polling
// handshake, WebSocket probe/upgrade, then Socket.IO CONNECT over it), each
// closed once connected, for cmd.DurationMs or cmd.Max connects. The slots
// are shared out among one connLoop per GOMAXPROCS. The histogram gets the
// time of each full connect; Sent counts attempts and Recv successes.
func (w *Worker) connectRate(cmd Command) Reply {
	n := min(runtime.GOMAXPROCS(0), max(cmd.Concurrency, 1))
	if cmd.Max > 0 {
		n = min(n, cmd.Max) // every loop's share of Max is then at least 1
	}
	slots, maxes := spread(max(cmd.Concurrency, 1), n), spread(cmd.Max, n)
	loops := make([]*connLoop, n)
	for i := range loops {
		l, err := newConnLoop(w, cmd, slots[i], int64(maxes[i]))
		if err != nil {
			for _, l := range loops[:i] {
				l.close()
			}
			w.noteErr(err)
			return Reply{Op: "connectrate", Err: err.Error()}
		}
		loops[i] = l
	}
	start := nanotime()
	deadline := start + int64(cmd.DurationMs)*1e6
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.run(deadline)
		}()
	}
	wg.Wait()
	return Reply{Op: "connectrate", StartNs: start, EndNs: nanotime()}
}

// closeAll closes every client and waits (≤ 5 s) for their loops to end.
func (w *Worker) closeAll() {
	w.closing.Store(true)
	w.mu.Lock()
	ws, polls, pub := w.ws, w.polls, w.pub
	w.ws, w.polls, w.pub = nil, nil, nil
	w.mu.Unlock()
	for _, c := range ws {
		c.close()
	}
	for _, p := range polls {
		p.close()
	}
	if pub != nil {
		pub.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.up.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	w.closing.Store(false)
}
