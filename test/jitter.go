package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// This file is the jitter scenario, shared by the integration test
// (TestSIOJitterRecovery) and the benchmark (bench/battery jitter):
// official socket.io clients, spread over several Node processes, receive
// numbered events a publisher sends to their room, while a TCP proxy
// between them and the server cuts their connections at random. With
// connection state recovery every client must get every event once, in
// order; without, the delivery rate says what the cuts cost.

// CutProxy is a loopback TCP proxy that cuts the connections it carries:
// each one, once cutting is on, is reset (both sides, SO_LINGER 0, as a
// network failure looks to the server) after a random lifetime.
type CutProxy struct {
	ln       net.Listener
	target   string
	min, max time.Duration

	cutting atomic.Bool
	cuts    atomic.Int64
	mu      sync.Mutex
	conns   map[*proxied]struct{}
	closed  bool
	wg      sync.WaitGroup
}

type proxied struct {
	a, b  net.Conn
	born  time.Time
	life  time.Duration
	timer *time.Timer
}

// NewCutProxy listens on 127.0.0.1 and forwards to target (host:port);
// connections live a random duration in [min, max] once cutting is on.
func NewCutProxy(target string, min, max time.Duration) (*CutProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &CutProxy{ln: ln, target: target, min: min, max: max, conns: make(map[*proxied]struct{})}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's address (host:port).
func (p *CutProxy) Addr() string { return p.ln.Addr().String() }

// Cuts is how many connections the proxy cut.
func (p *CutProxy) Cuts() int64 { return p.cuts.Load() }

// SetCutting turns cutting on (every connection, also those already open,
// gets a random lifetime from now) or off.
func (p *CutProxy) SetCutting(on bool) {
	p.cutting.Store(on)
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if on {
			p.armLocked(c)
		} else if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
	}
}

func (p *CutProxy) armLocked(c *proxied) {
	if c.timer != nil {
		c.timer.Stop()
	}
	life := p.min + time.Duration(rand.Int64N(int64(p.max-p.min)+1))
	c.timer = time.AfterFunc(life, func() { p.cut(c) })
}

func (p *CutProxy) cut(c *proxied) {
	if !p.cutting.Load() {
		return
	}
	p.cuts.Add(1)
	for _, nc := range []net.Conn{c.a, c.b} {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		nc.Close()
	}
}

// Close stops the proxy and closes every connection.
func (p *CutProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.a.Close()
		c.b.Close()
		if c.timer != nil {
			c.timer.Stop()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *CutProxy) serve() {
	defer p.wg.Done()
	for {
		a, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.carry(a) // dialing must not hold back the next accept
	}
}

// carry connects a to the target and copies both ways until either ends.
func (p *CutProxy) carry(a net.Conn) {
	defer p.wg.Done()
	{
		b, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			a.Close()
			return
		}
		c := &proxied{a: a, b: b, born: time.Now()}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			a.Close()
			b.Close()
			return
		}
		p.conns[c] = struct{}{}
		if p.cutting.Load() {
			p.armLocked(c)
		}
		p.mu.Unlock()
		p.wg.Add(2)
		done := make(chan struct{}, 2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			done <- struct{}{}
		}
		go pipe(b, a)
		go pipe(a, b)
		<-done
		<-done
		a.Close()
		b.Close()
		p.mu.Lock()
		delete(p.conns, c)
		if c.timer != nil {
			c.timer.Stop()
		}
		p.mu.Unlock()
	}
}

// JitterConfig describes one run of the jitter scenario.
type JitterConfig struct {
	// Server is the server under test (host:port); Path its Socket.IO
	// path (default /socket.io/).
	Server string
	Path   string
	// Clients, spread over Procs Node processes (default 1 per 250).
	Clients, Procs int
	// Rate events per second for Duration.
	Rate     int
	Duration time.Duration
	// Each proxied connection is cut after a random lifetime in
	// [CutMin, CutMax]; cutting starts CutAfter the first event (so that
	// every client has an offset to recover from) and stops when the
	// publisher is done.
	CutMin, CutMax, CutAfter time.Duration
	// Publish is the fixture's contract: "bcast" (test/ fixtures: event
	// Event to room Room) or "pub" (bench/ fixtures: "msg" to room "r").
	Publish, Event, Room string
	// Transports: "websocket", or "" for the client's default (polling,
	// then upgrade).
	Transports string
	// Drain bounds the wait, after the last event, for every client to
	// have it (default 30 s).
	Drain time.Duration
	Log   io.Writer
}

// JitterResult is what the clients reported, summed.
type JitterResult struct {
	Clients int   `json:"clients"`
	Events  int   `json:"events"` // events published
	Cuts    int64 `json:"cuts"`   // connections the proxy cut
	// Unique deliveries (each client's distinct events), all deliveries,
	// duplicates and events that came after a later one.
	Unique     int64 `json:"unique"`
	Received   int64 `json:"received"`
	Duplicates int64 `json:"dup"`
	OutOfOrder int64 `json:"outOfOrder"`
	// Perfect clients got every event exactly once, in order.
	Perfect int `json:"perfect"`
	// Reconnections that were recovered, and that were not (the client
	// joined its room again, having missed what came meanwhile).
	Connects      int            `json:"connects"`
	Recovered     int            `json:"recovered"`
	Unrecovered   int            `json:"unrecovered"`
	Disconnects   int            `json:"disconnects"`
	ConnectErrors int            `json:"connectErrors"`
	Reasons       map[string]int `json:"reasons"` // the clients' disconnect reasons
	// Drained: every client had every event before the drain timeout.
	Drained bool `json:"drained"`
}

// DeliveryRate is the share of (client, event) pairs delivered.
func (r *JitterResult) DeliveryRate() float64 {
	if r.Clients == 0 || r.Events == 0 {
		return 0
	}
	return float64(r.Unique) / float64(r.Clients*r.Events)
}

// RunJitter runs the scenario against cfg.Server with test/node's
// official clients.
func (n *Node) RunJitter(ctx context.Context, cfg JitterConfig) (*JitterResult, error) {
	if cfg.Path == "" {
		cfg.Path = "/socket.io/"
	}
	if cfg.Procs <= 0 {
		cfg.Procs = max(1, (cfg.Clients+249)/250)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	transports := "default"
	if cfg.Transports == "websocket" {
		transports = "websocket"
	}
	proxy, err := NewCutProxy(cfg.Server, cfg.CutMin, cfg.CutMax)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deadline := cfg.Duration + cfg.Drain + 3*time.Minute

	var procs []*lineProc
	defer func() {
		for _, p := range procs {
			p.kill()
		}
	}()
	for i := 0; i < cfg.Procs; i++ {
		count := cfg.Clients / cfg.Procs
		if i < cfg.Clients%cfg.Procs {
			count++
		}
		p, err := n.startLineProc(ctx, "sio/jitter-clients.mjs",
			"--url", "http://"+proxy.Addr(), "--path", cfg.Path, "--clients", strconv.Itoa(count),
			"--room", cfg.Room, "--event", cfg.Event, "--transports", transports,
			"--drain-ms", strconv.Itoa(int(cfg.Drain.Milliseconds())),
			"--timeout", strconv.Itoa(int(deadline.Milliseconds())))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		if _, err := p.waitEvent("ready", 3*time.Minute); err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
	}
	fmt.Fprintf(cfg.Log, "jitter: %d clients joined through the proxy; publishing %d/s for %v\n", cfg.Clients, cfg.Rate, cfg.Duration)
	pub, err := n.startLineProc(ctx, "sio/jitter-publisher.mjs",
		"--url", "http://"+cfg.Server, "--path", cfg.Path, "--mode", cfg.Publish, "--room", cfg.Room,
		"--event", cfg.Event, "--rate", strconv.Itoa(cfg.Rate), "--duration-ms", strconv.Itoa(int(cfg.Duration.Milliseconds())))
	if err != nil {
		return nil, err
	}
	procs = append(procs, pub)
	select {
	case <-time.After(cfg.CutAfter):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	proxy.SetCutting(true)
	done, err := pub.waitEvent("done", cfg.Duration+time.Minute)
	proxy.SetCutting(false)
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	var count struct{ Count int }
	_ = json.Unmarshal(done, &count)
	fmt.Fprintf(cfg.Log, "jitter: %d events published, %d connections cut; draining\n", count.Count, proxy.Cuts())
	res := &JitterResult{Events: count.Count, Cuts: proxy.Cuts(), Drained: true}
	for _, p := range procs[:cfg.Procs] {
		fmt.Fprintf(p.stdin, "total %d\n", count.Count)
		p.stdin.Close()
	}
	for _, p := range procs[:cfg.Procs] {
		line, err := p.waitEvent("done", cfg.Drain+time.Minute)
		if err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
		var r JitterResult
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, err
		}
		res.Clients += r.Clients
		res.Unique += r.Unique
		res.Received += r.Received
		res.Duplicates += r.Duplicates
		res.OutOfOrder += r.OutOfOrder
		res.Perfect += r.Perfect
		res.Connects += r.Connects
		res.Recovered += r.Recovered
		res.Unrecovered += r.Unrecovered
		res.Disconnects += r.Disconnects
		res.ConnectErrors += r.ConnectErrors
		for k, v := range r.Reasons {
			if res.Reasons == nil {
				res.Reasons = map[string]int{}
			}
			res.Reasons[k] += v
		}
		res.Drained = res.Drained && r.Drained
	}
	return res, nil
}

// lineProc is a Node process printing JSON lines with an "event" field.
type lineProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stderr *lastBytes
	name   string
}

// lastBytes keeps the last max bytes written to it.
type lastBytes struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (l *lastBytes) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	if len(l.b) > l.max {
		l.b = append(l.b[:0], l.b[len(l.b)-l.max:]...)
	}
	return len(p), nil
}

func (l *lastBytes) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func (n *Node) startLineProc(ctx context.Context, script string, args ...string) (*lineProc, error) {
	cmd := exec.CommandContext(ctx, n.Node, append([]string{script}, args...)...)
	cmd.Dir = n.Dir
	p := &lineProc{cmd: cmd, lines: make(chan []byte, 16), stderr: &lastBytes{max: 16 << 10}, name: script}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(p.lines)
	}()
	return p, nil
}

// waitEvent returns the next line whose "event" is name.
func (p *lineProc) waitEvent(name string, timeout time.Duration) ([]byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				return nil, fmt.Errorf("%s exited before %q: %s", p.name, name, p.stderr.String())
			}
			var e struct{ Event string }
			if json.Unmarshal(line, &e) == nil && e.Event == name {
				return line, nil
			}
		case <-t.C:
			return nil, errors.New(p.name + ": no " + name + " within " + timeout.String())
		}
	}
}

func (p *lineProc) kill() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
	_ = p.cmd.Wait()
}
