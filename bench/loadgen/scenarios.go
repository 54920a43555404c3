package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Env is what every scenario needs to know about the target and the
// generator's layout.
type Env struct {
	Targets   []string // host:port of the server(s); sockets are spread round-robin
	Path      string   // Engine.IO path, default /socket.io/
	PID       int      // server process to sample in /proc (0 = none)
	StatsURL  string   // fixture's GET /stats ("" = none)
	Srcs      []string // local source addresses
	PerWorker int      // max descriptors per worker process (default 18000)
	InProc    bool     // workers as goroutines (tests)
	Pin       string   // taskset CPU list for the workers
	Exe       string
	Label     string
	Log       io.Writer
	Progress  bool // refresh a one-line status on Log (only when it is a TTY)

	mu       sync.Mutex
	commands []string
	phase    atomic.Value
	lineOn   atomic.Bool
}

// ParseTarget turns ws://host:port, http://host:port or host:port into
// host:port.
func ParseTarget(t string) (string, error) {
	if !strings.Contains(t, "://") {
		t = "ws://" + t
	}
	u, err := url.Parse(t)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		return "", fmt.Errorf("target %q has no port", t)
	}
	return u.Host, nil
}

// SourceAddrs returns n loopback source addresses 127.0.0.1 … 127.0.0.n.
func SourceAddrs(n int) []string {
	if n < 1 {
		n = 1
	}
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("127.0.0.%d", 1+i%254)
	}
	return out
}

// Commands are the worker command lines used so far.
func (e *Env) Commands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.commands...)
}

func (e *Env) logf(format string, args ...any) {
	if e.Log == nil {
		return
	}
	if e.lineOn.Load() {
		fmt.Fprint(e.Log, "\r\x1b[K")
	}
	fmt.Fprintf(e.Log, "["+e.Label+"] "+format+"\n", args...)
}

func (e *Env) setPhase(p string) { e.phase.Store(p) }

func (e *Env) cluster(clients, fdsPerClient, minWorkers int) (*Cluster, error) {
	per := e.PerWorker
	if per <= 0 {
		per = 18000
	}
	n := max((clients*fdsPerClient+per-1)/per, minWorkers, 1)
	path := e.Path
	if path == "" {
		path = "/socket.io/"
	}
	cl, err := StartCluster(ClusterOptions{Workers: n, Targets: e.Targets, Path: path, Srcs: e.Srcs, InProc: e.InProc, Pin: e.Pin, Exe: e.Exe})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	for _, c := range cl.Commands {
		found := false
		for _, o := range e.commands {
			found = found || o == c
		}
		if !found {
			e.commands = append(e.commands, c)
		}
	}
	e.mu.Unlock()
	return cl, nil
}

// progress draws the status line until stop is called.
func (e *Env) progress(cl *Cluster) (stop func()) {
	if !e.Progress || e.Log == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		var lr, ls int64
		last := time.Now()
		for {
			select {
			case <-done:
				if e.lineOn.Swap(false) {
					fmt.Fprint(e.Log, "\r\x1b[K")
				}
				return
			case now := <-t.C:
				up, r, s, errs := cl.Progress()
				dt := now.Sub(last).Seconds()
				last = now
				ph, _ := e.phase.Load().(string)
				fmt.Fprintf(e.Log, "\r\x1b[K[%s] %s | up %d | recv %.0f/s | sent %.0f/s | errors %d", e.Label, ph, up, float64(r-lr)/dt, float64(s-ls)/dt, errs)
				e.lineOn.Store(true)
				lr, ls = r, s
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// waitServerIdle waits (at most limit) until the server uses less than 5 %
// of a core, so that a window does not pay for the backlog of the previous
// one (an overloaded step leaves the server busy after its drain).
func (e *Env) waitServerIdle(limit time.Duration) {
	if e.PID <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c0, t0 := e.serverCPU(), time.Now()
		time.Sleep(300 * time.Millisecond)
		if e.serverCPU().Sub(c0).Total()/time.Since(t0).Seconds() < 0.05 {
			return
		}
	}
	e.logf("server still busy after %v; the next window starts anyway", limit)
}

func (e *Env) serverCPU() CPU {
	if e.PID <= 0 {
		return CPU{}
	}
	return ProcCPUTimes(e.PID)
}

// spread splits total clients over n workers.
func spread(total, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// connectAll connects counts[i] clients on worker i.
func connectAll(cl *Cluster, counts []int, base Command) (ok, failed int, err error) {
	reps, err := cl.Each(func(i int) *Command {
		if counts[i] <= 0 {
			return nil
		}
		c := base
		c.Op = "connect"
		c.N = counts[i]
		return &c
	}, 10*time.Minute)
	for _, r := range reps {
		ok += r.OK
		failed += r.Failed
	}
	return ok, failed, err
}

// ---------------------------------------------------------------- density

// DensityParams configure the idle-socket density scenario.
type DensityParams struct {
	Steps       []int         // cumulative socket counts
	Settle      time.Duration // wait after each step before sampling
	Concurrency int           // handshakes in flight per worker
	// App makes every socket a real application's: it connects to /app
	// with an auth payload ({"token":…}) and a User-Agent header, and the
	// fixtures' /app middleware reads both and keeps the token as the
	// socket's data.
	App bool
}

// DensityStep is one sample of the density scenario.
type DensityStep struct {
	Sockets          int     `json:"sockets"`   // requested
	Connected        int64   `json:"connected"` // up at sampling time (generator side)
	Failed           int     `json:"failed"`
	ConnectSeconds   float64 `json:"connect_seconds"`
	ConnectsPerSec   float64 `json:"connects_per_sec"`
	ServerCPUSeconds float64 `json:"server_cpu_seconds"` // during the step's connects
	ServerCPU        CPU     `json:"server_cpu"`         // the same, split into user and system
	RSSBytes         int64   `json:"rss_bytes"`          // /proc/<pid>/status VmRSS
	RSSDeltaBytes    int64   `json:"rss_delta_bytes"`    // over the baseline
	BytesPerSocket   float64 `json:"bytes_per_socket"`   // RSSDelta / connected
	HeapUsed         int64   `json:"heap_used,omitempty"`
	ServerSockets    int64   `json:"server_sockets,omitempty"` // as the fixture counts them
	ServerFDs        int     `json:"server_fds,omitempty"`
	ServerThreads    int64   `json:"server_threads,omitempty"`
}

// DensityResult is the density scenario's outcome.
type DensityResult struct {
	App           bool          `json:"app,omitempty"` // real-application sockets (DensityParams.App)
	Workers       int           `json:"workers"`
	Targets       []string      `json:"targets"`
	FDLimit       int           `json:"server_fd_limit,omitempty"`
	CappedAt      int           `json:"capped_at,omitempty"`
	BaselineRSS   int64         `json:"baseline_rss_bytes"`
	BaselineHeap  int64         `json:"baseline_heap_used,omitempty"`
	Steps         []DensityStep `json:"steps"`
	GenCPUSeconds float64       `json:"gen_cpu_seconds"`
	GenRSSKB      int64         `json:"gen_max_rss_kb"`
	Errors        []string      `json:"errors,omitempty"`
}

// Density connects idle WebSocket clients in steps and samples the server's
// memory after each.
func Density(e *Env, p DensityParams) (*DensityResult, error) {
	res := &DensityResult{Targets: e.Targets, App: p.App}
	steps := append([]int(nil), p.Steps...)
	if e.PID > 0 && len(e.Targets) == 1 {
		if lim := ProcFDLimit(e.PID); lim > 0 {
			res.FDLimit = lim
			capN := lim - 256
			var kept []int
			for _, s := range steps {
				if s > capN {
					if len(kept) == 0 || kept[len(kept)-1] < capN {
						kept = append(kept, capN)
					}
					res.CappedAt = capN
					continue
				}
				kept = append(kept, s)
			}
			steps = kept
		}
	}
	if res.CappedAt > 0 {
		e.logf("density: server open-file limit %d: steps capped at %d sockets", res.FDLimit, res.CappedAt)
	}
	maxN := 0
	for _, s := range steps {
		maxN = max(maxN, s)
	}
	cl, err := e.cluster(maxN, 1, 1)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	res.Workers = cl.Size()
	stop := e.progress(cl)
	defer stop()
	settle := p.Settle
	if settle <= 0 {
		settle = 2 * time.Second
	}
	time.Sleep(500 * time.Millisecond)
	// The stats request is the benchmark's instrumentation, made after each
	// step: made once before the baseline too, so that what its first call
	// costs the server (about 1 MB on the fanio fixture: net/http and JSON
	// code paged in, their buffers) is not counted as the sockets' (it was
	// ~45 B per socket at 10,000).
	st0 := FetchStats(e.StatsURL)
	if e.PID > 0 {
		res.BaselineRSS = ProcRSS(e.PID)
	}
	if st0 != nil {
		res.BaselineHeap = st0.HeapUsed
	}
	_ = cl.Reset()
	have := make([]int, cl.Size())
	for _, n := range steps {
		want := spread(n, cl.Size())
		add := make([]int, len(want))
		for i := range want {
			add[i] = want[i] - have[i]
		}
		e.setPhase(fmt.Sprintf("density → %d", n))
		cpu0 := e.serverCPU()
		t0 := time.Now()
		ok, failed, err := connectAll(cl, add, Command{Transport: "websocket", Concurrency: p.Concurrency, App: p.App})
		dt := time.Since(t0).Seconds()
		cpu1 := e.serverCPU()
		if err != nil {
			e.logf("density: %v", err)
		}
		have = want
		time.Sleep(settle)
		st := DensityStep{Sockets: n, Failed: failed, ConnectSeconds: dt, ServerCPU: cpu1.Sub(cpu0), ServerCPUSeconds: cpu1.Sub(cpu0).Total()}
		if dt > 0 {
			st.ConnectsPerSec = float64(ok) / dt
		}
		s, _, _ := cl.Snapshot()
		st.Connected = s.Up
		if e.PID > 0 {
			st.RSSBytes = ProcRSS(e.PID)
			st.RSSDeltaBytes = st.RSSBytes - res.BaselineRSS
			st.ServerFDs = ProcFDCount(e.PID)
			st.ServerThreads = ProcThreads(e.PID)
			if st.Connected > 0 {
				st.BytesPerSocket = float64(st.RSSDeltaBytes) / float64(st.Connected)
			}
		}
		if ss := FetchStats(e.StatsURL); ss != nil {
			st.HeapUsed = ss.HeapUsed
			st.ServerSockets = ss.Sockets
		}
		res.Steps = append(res.Steps, st)
		kind := "density"
		if p.App {
			kind = "density (app)"
		}
		e.logf("%s %6d sockets: up %d failed %d, %.0f conn/s, RSS %.1f MiB (+%.0f B/socket), heap %.1f MiB, server sees %d",
			kind, n, st.Connected, failed, st.ConnectsPerSec, float64(st.RSSBytes)/(1<<20), st.BytesPerSocket, float64(st.HeapUsed)/(1<<20), st.ServerSockets)
		if failed > 0 && ok == 0 {
			break
		}
	}
	s, _, _ := cl.Snapshot()
	res.GenCPUSeconds = float64(s.CPUUserUs+s.CPUSysUs) / 1e6
	res.GenRSSKB = s.MaxRSSKB
	res.Errors = s.ErrSample
	return res, nil
}

// ----------------------------------------------------------- load steps

// LoadStep is one measured window of a message scenario (fanout, echo,
// pollfanout).
type LoadStep struct {
	Mode                string   `json:"mode"`         // rate | saturate
	OfferedRate         float64  `json:"offered_rate"` // pubs/s (fanout) or emits/s (echo); 0 = saturate
	OfferedDeliveries   float64  `json:"offered_deliveries_per_sec"`
	Sent                int64    `json:"sent"`
	Expected            int64    `json:"expected"`
	Delivered           int64    `json:"delivered"`
	Lost                int64    `json:"lost"` // not delivered within the drain limit (20 s after the window)
	Seconds             float64  `json:"seconds"`
	PerSec              float64  `json:"per_sec"` // deliveries (fanout) or acks (echo) per second
	ServerCPUSeconds    float64  `json:"server_cpu_seconds"`
	ServerCPUPerM       float64  `json:"server_cpu_s_per_million"` // CPU-seconds per million deliveries/acks
	ServerCPUUtil       float64  `json:"server_cpu_util"`          // cores busy on average
	ServerCPU           CPU      `json:"server_cpu"`               // CPU-seconds, user and system
	ServerCPUPerMillion CPU      `json:"server_cpu_per_million"`   // CPU-seconds per million, user and system
	GenCPUSeconds       float64  `json:"gen_cpu_seconds"`
	GenNsPerMsg         float64  `json:"gen_cpu_ns_per_msg"` // generator CPU / (messages received + sent)
	OtherCPUUtil        float64  `json:"other_cpu_util"`     // cores used by unrelated processes meanwhile
	Stale               int64    `json:"stale"`              // deliveries of pubs from an earlier window (excluded)
	Latency             Latency  `json:"latency"`
	Errors              int64    `json:"errors"`
	ErrSample           []string `json:"err_sample,omitempty"`
}

func (e *Env) finishStep(st *LoadStep, s Stats, startNs, endNs int64, win window) {
	split, other := win.end(float64(s.CPUUserUs+s.CPUSysUs) / 1e6)
	cpu := split.Total()
	st.ServerCPU = split
	st.OtherCPUUtil = other
	st.Stale = s.Stale
	st.Delivered = s.Recv
	st.Lost = max(st.Expected-s.Recv, 0)
	last := max(s.LastRecv, endNs)
	if s.Recv == 0 {
		last = endNs
	}
	st.Seconds = float64(last-startNs) / 1e9
	if st.Seconds > 0 {
		st.PerSec = float64(s.Recv) / st.Seconds
		st.ServerCPUUtil = cpu / st.Seconds
	}
	st.ServerCPUSeconds = cpu
	if s.Recv > 0 {
		st.ServerCPUPerM = cpu / float64(s.Recv) * 1e6
		st.ServerCPUPerMillion = CPU{User: split.User / float64(s.Recv) * 1e6, Sys: split.Sys / float64(s.Recv) * 1e6}
	}
	st.GenCPUSeconds = float64(s.CPUUserUs+s.CPUSysUs) / 1e6
	if n := s.Recv + s.Sent; n > 0 {
		st.GenNsPerMsg = st.GenCPUSeconds * 1e9 / float64(n)
	}
	st.Latency = s.Hist.Summary()
	st.Errors = s.Errors
	st.ErrSample = s.ErrSample
}

// drain waits until the workers have counted want receptions, or nothing
// arrived for idle, or limit passed.
func drain(cl *Cluster, want int64, idle, limit time.Duration) {
	deadline := time.Now().Add(limit)
	var last int64 = -1
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		s, _, _ := cl.Snapshot()
		got := s.Recv
		if got >= want {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > idle {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ----------------------------------------------------------------- fanout

// FanoutParams configure the fanout and pollfanout scenarios.
type FanoutParams struct {
	Transport   string    // websocket (fanout) or polling (pollfanout)
	Subscribers int       // clients joined to room "r"
	Rates       []float64 // offered pubs/s, one measured window each
	Saturate    bool      // add a closed-loop saturation window
	Duration    time.Duration
	Warmup      time.Duration
	Size        int // payload bytes
	Batch       int // saturation: pubs per barrier
	Window      int // saturation: barriers in flight
	Concurrency int
}

// FanoutResult is the outcome of fanout/pollfanout.
type FanoutResult struct {
	Transport   string     `json:"transport"`
	Subscribers int        `json:"subscribers"`
	Connected   int        `json:"connected"`
	Workers     int        `json:"workers"`
	Size        int        `json:"payload_bytes"`
	Steps       []LoadStep `json:"steps"`
	Errors      []string   `json:"errors,omitempty"`
}

// Fanout joins subscribers to room r, then one publisher emits `pub` at
// each offered rate (and at saturation); deliveries are timed end to end.
func Fanout(e *Env, p FanoutParams) (*FanoutResult, error) {
	if p.Transport == "" {
		p.Transport = "websocket"
	}
	fds := 1
	if p.Transport == "polling" {
		fds = 2
	}
	cl, err := e.cluster(p.Subscribers+1, fds, 1)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := e.progress(cl)
	defer stop()
	res := &FanoutResult{Transport: p.Transport, Subscribers: p.Subscribers, Workers: cl.Size(), Size: p.Size}
	e.setPhase(fmt.Sprintf("%s: joining %d", p.Transport, p.Subscribers))
	t0 := time.Now()
	ok, failed, err := connectAll(cl, spread(p.Subscribers, cl.Size()), Command{Transport: p.Transport, Room: "r", Role: "sub", Concurrency: p.Concurrency})
	res.Connected = ok
	e.logf("%s fanout: %d subscribers joined room r (%d failed) in %.1fs over %d worker(s)", p.Transport, ok, failed, time.Since(t0).Seconds(), cl.Size())
	if err != nil || ok == 0 {
		s, _, _ := cl.Snapshot()
		return res, fmt.Errorf("subscribers: %v %v", err, s.ErrSample)
	}
	size := max(p.Size, 24)
	pubTimeout := p.Duration + 2*time.Minute
	run := func(rate float64, dur time.Duration) (LoadStep, error) {
		st := LoadStep{Mode: "rate", OfferedRate: rate, OfferedDeliveries: rate * float64(ok)}
		if rate <= 0 {
			st.Mode = "saturate"
		}
		e.waitServerIdle(30 * time.Second)
		if err := cl.Reset(); err != nil {
			return st, err
		}
		win := e.startWindow()
		rep, err := cl.One(0, Command{Op: "publish", Rate: rate, DurationMs: int(dur / time.Millisecond), Size: size, Batch: p.Batch, Window: p.Window}, pubTimeout)
		st.Sent = rep.Sent
		st.Expected = rep.Sent * int64(ok)
		drain(cl, st.Expected, 3*time.Second, 20*time.Second)
		s, _, _ := cl.Snapshot()
		e.finishStep(&st, s, rep.StartNs, rep.EndNs, win)
		return st, err
	}
	if p.Warmup > 0 && len(p.Rates) > 0 {
		e.setPhase("warmup")
		if _, err := run(p.Rates[0], p.Warmup); err != nil {
			e.logf("warmup: %v", err)
		}
	}
	rates := append([]float64(nil), p.Rates...)
	if p.Saturate {
		rates = append(rates, 0)
	}
	for _, r := range rates {
		if r > 0 {
			e.setPhase(fmt.Sprintf("%s fanout %.0f pub/s", p.Transport, r))
		} else {
			e.setPhase(p.Transport + " fanout saturation")
		}
		st, err := run(r, p.Duration)
		res.Steps = append(res.Steps, st)
		e.logf("%s fanout %-10s: %d pubs → %d/%d delivered, %.0f deliveries/s, p50 %.0fµs p99 %.0fµs p99.9 %.0fµs, server %.2f user + %.2f sys CPU-s/M (%.0f%% core), generator %.0f ns/msg%s",
			p.Transport, modeLabel(st, "pub/s"), st.Sent, st.Delivered, st.Expected, st.PerSec, st.Latency.P50Us, st.Latency.P99Us, st.Latency.P999Us, st.ServerCPUPerMillion.User, st.ServerCPUPerMillion.Sys, 100*st.ServerCPUUtil, st.GenNsPerMsg, otherNote(st.OtherCPUUtil))
		if err != nil {
			e.logf("fanout step: %v", err)
			res.Errors = append(res.Errors, err.Error())
		}
		if len(st.ErrSample) > 0 {
			res.Errors = append(res.Errors, st.ErrSample...)
		}
	}
	return res, nil
}

func modeLabel(st LoadStep, unit string) string {
	if st.Mode == "saturate" {
		return "saturation"
	}
	return fmt.Sprintf("%.0f %s", st.OfferedRate, unit)
}

// ------------------------------------------------------------------- echo

// EchoParams configure the echo scenario.
type EchoParams struct {
	Clients     int
	Rates       []float64 // total emits/s over all clients
	Duration    time.Duration
	Warmup      time.Duration
	Size        int
	Concurrency int
}

// EchoResult is the echo scenario's outcome.
type EchoResult struct {
	Clients   int        `json:"clients"`
	Connected int        `json:"connected"`
	Workers   int        `json:"workers"`
	Size      int        `json:"payload_bytes"`
	Steps     []LoadStep `json:"steps"`
	Errors    []string   `json:"errors,omitempty"`
}

// Echo has K clients emit `echo` with an ack at a fixed total rate and
// times the round trips.
func Echo(e *Env, p EchoParams) (*EchoResult, error) {
	cl, err := e.cluster(p.Clients, 1, 1)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := e.progress(cl)
	defer stop()
	res := &EchoResult{Clients: p.Clients, Workers: cl.Size(), Size: p.Size}
	counts := spread(p.Clients, cl.Size())
	e.setPhase("echo: connecting")
	ok, failed, err := connectAll(cl, counts, Command{Transport: "websocket", Role: "echo", Concurrency: p.Concurrency})
	res.Connected = ok
	e.logf("echo: %d clients connected (%d failed)", ok, failed)
	if err != nil || ok == 0 {
		s, _, _ := cl.Snapshot()
		return res, fmt.Errorf("echo clients: %v %v", err, s.ErrSample)
	}
	run := func(rate float64, dur time.Duration) (LoadStep, error) {
		st := LoadStep{Mode: "rate", OfferedRate: rate, OfferedDeliveries: rate}
		e.waitServerIdle(30 * time.Second)
		if err := cl.Reset(); err != nil {
			return st, err
		}
		win := e.startWindow()
		reps, err := cl.Each(func(i int) *Command {
			if counts[i] == 0 {
				return nil
			}
			return &Command{Op: "echo", Rate: rate * float64(counts[i]) / float64(p.Clients), DurationMs: int(dur / time.Millisecond), Size: p.Size}
		}, dur+time.Minute)
		var start, end int64
		for _, r := range reps {
			st.Sent += r.Sent
			if r.StartNs != 0 && (start == 0 || r.StartNs < start) {
				start = r.StartNs
			}
			end = max(end, r.EndNs)
		}
		st.Expected = st.Sent
		s, _, _ := cl.Snapshot()
		e.finishStep(&st, s, start, end, win)
		return st, err
	}
	if p.Warmup > 0 && len(p.Rates) > 0 {
		e.setPhase("warmup")
		_, _ = run(p.Rates[0], p.Warmup)
	}
	for _, r := range p.Rates {
		e.setPhase(fmt.Sprintf("echo %.0f/s", r))
		st, err := run(r, p.Duration)
		res.Steps = append(res.Steps, st)
		e.logf("echo %7.0f/s: %d sent, %d acked, %.0f acks/s, RTT p50 %.0fµs p99 %.0fµs p99.9 %.0fµs, server %.2f user + %.2f sys CPU-s/M (%.0f%% core), generator %.0f ns/msg%s",
			r, st.Sent, st.Delivered, st.PerSec, st.Latency.P50Us, st.Latency.P99Us, st.Latency.P999Us, st.ServerCPUPerMillion.User, st.ServerCPUPerMillion.Sys, 100*st.ServerCPUUtil, st.GenNsPerMsg, otherNote(st.OtherCPUUtil))
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
		res.Errors = append(res.Errors, st.ErrSample...)
	}
	return res, nil
}

// ---------------------------------------------------------------- connect

// ConnectParams configure the connect-rate scenario.
type ConnectParams struct {
	Modes       []string // websocket, upgrade
	Duration    time.Duration
	Concurrency int           // handshakes in flight
	Max         int           // stop after this many per mode (0 = duration only)
	Warmup      time.Duration // unmeasured connects before each mode
}

// ConnectStep is one mode's outcome.
type ConnectStep struct {
	Mode                string   `json:"mode"`
	Attempts            int64    `json:"attempts"`
	OK                  int64    `json:"ok"`
	Failed              int64    `json:"failed"`
	Seconds             float64  `json:"seconds"`
	PerSec              float64  `json:"per_sec"`
	Latency             Latency  `json:"latency"`
	ServerCPUSeconds    float64  `json:"server_cpu_seconds"`
	ServerCPUUtil       float64  `json:"server_cpu_util"`
	ServerUsPerConn     float64  `json:"server_cpu_us_per_connect"`
	ServerCPU           CPU      `json:"server_cpu"`                         // CPU-seconds, user and system
	ServerCPUPerConnect CPU      `json:"server_cpu_us_per_connect_user_sys"` // µs per connect, user and system
	GenUsPerConn        float64  `json:"gen_cpu_us_per_connect"`
	OtherCPUUtil        float64  `json:"other_cpu_util"`
	ErrSample           []string `json:"err_sample,omitempty"`
}

// ConnectResult is the connect scenario's outcome.
type ConnectResult struct {
	Concurrency int           `json:"concurrency"`
	Workers     int           `json:"workers"`
	Steps       []ConnectStep `json:"steps"`
}

// Connect measures full Socket.IO connects per second (close after each).
func Connect(e *Env, p ConnectParams) (*ConnectResult, error) {
	conc := max(p.Concurrency, 1)
	cl, err := e.cluster(conc*2, 1, 1)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := e.progress(cl)
	defer stop()
	res := &ConnectResult{Concurrency: conc, Workers: cl.Size()}
	per := spread(conc, cl.Size())
	maxPer := spread(p.Max, cl.Size())
	for _, mode := range p.Modes {
		if mode != "websocket" && mode != "upgrade" {
			return res, fmt.Errorf("unknown connect mode %q (websocket, upgrade)", mode)
		}
		if p.Warmup > 0 {
			e.setPhase("warmup " + mode)
			_, _ = cl.Each(func(i int) *Command {
				return &Command{Op: "connectrate", Mode: mode, DurationMs: int(p.Warmup / time.Millisecond), Concurrency: per[i], TimeoutMs: 10000}
			}, p.Warmup+time.Minute)
		}
		e.waitServerIdle(30 * time.Second)
		e.setPhase("connect " + mode)
		if err := cl.Reset(); err != nil {
			return res, err
		}
		win := e.startWindow()
		reps, err := cl.Each(func(i int) *Command {
			return &Command{Op: "connectrate", Mode: mode, DurationMs: int(p.Duration / time.Millisecond), Concurrency: per[i], Max: maxPer[i], TimeoutMs: 10000}
		}, p.Duration+time.Minute)
		s, _, _ := cl.Snapshot()
		split, other := win.end(float64(s.CPUUserUs+s.CPUSysUs) / 1e6)
		srvCPU := split.Total()
		var start, end int64
		for _, r := range reps {
			if r.StartNs != 0 && (start == 0 || r.StartNs < start) {
				start = r.StartNs
			}
			end = max(end, r.EndNs)
		}
		st := ConnectStep{Mode: mode, Attempts: s.Sent, OK: s.Recv, Failed: s.Sent - s.Recv, Latency: s.Hist.Summary(), ServerCPUSeconds: srvCPU, ServerCPU: split, OtherCPUUtil: other, ErrSample: s.ErrSample}
		st.Seconds = float64(end-start) / 1e9
		if st.Seconds > 0 {
			st.PerSec = float64(st.OK) / st.Seconds
			st.ServerCPUUtil = st.ServerCPUSeconds / st.Seconds
		}
		if st.OK > 0 {
			st.ServerUsPerConn = st.ServerCPUSeconds * 1e6 / float64(st.OK)
			st.ServerCPUPerConnect = CPU{User: split.User * 1e6 / float64(st.OK), Sys: split.Sys * 1e6 / float64(st.OK)}
			st.GenUsPerConn = float64(s.CPUUserUs+s.CPUSysUs) / float64(st.OK)
		}
		res.Steps = append(res.Steps, st)
		e.logf("connect %-9s: %d ok %d failed, %.0f connects/s, p50 %.0fµs p99 %.0fµs, server %.0f user + %.0f sys µs CPU/connect (%.0f%% core), generator %.0f µs/connect%s",
			mode, st.OK, st.Failed, st.PerSec, st.Latency.P50Us, st.Latency.P99Us, st.ServerCPUPerConnect.User, st.ServerCPUPerConnect.Sys, 100*st.ServerCPUUtil, st.GenUsPerConn, otherNote(st.OtherCPUUtil))
		if err != nil {
			e.logf("connect %s: %v", mode, err)
		}
		// let the server reap the closed sessions before the next mode
		time.Sleep(time.Second)
	}
	return res, nil
}

// OtherLoadWarn is the average number of cores used by unrelated processes
// above which a window is flagged as disturbed.
const OtherLoadWarn = 0.10

func otherNote(cores float64) string {
	if cores < OtherLoadWarn {
		return ""
	}
	return fmt.Sprintf(" [DISTURBED: other processes used %.2f cores]", cores)
}

// ErrNotImplemented marks a fixture that does not exist yet.
var ErrNotImplemented = errors.New("not implemented")
