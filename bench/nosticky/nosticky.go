// Package nosticky is `fanio-bench nosticky`: what serving polling
// without sticky sessions costs. Two nodes on one private redis-server
// behind a load balancer (an httputil.ReverseProxy in this process, keep-alive
// to the upstreams), in two modes:
//
//   - sticky: requests carrying a session id go to the node that made it
//     (learned from the handshake's answer, as socket.io-proxy does); fanio
//     nodes run with -redis-no-forward, as a sticky deployment would;
//   - round-robin: every request goes to the next node, so about half of a
//     session's requests reach the node that does not hold it and fanio
//     forwards them (a Node.js pair fails there: "Session ID unknown").
//
// Polling clients (Engine.IO v4 / Socket.IO v5 by hand, over net/http) each
// run echo cycles at a fixed total rate: POST 42<n>["echo",n], then GET
// until 43<n>[n] comes (pings answered). Per mode and rate it records the
// latency of each POST and each GET, the two nodes' CPU per request (user
// and system apart, from /proc), Redis's CPU, and fanio's forwarded count.
// The added latency of forwarding is round-robin minus sticky at the same
// rate; the CPU per forwarded request is the nodes' extra CPU over the
// forwarded requests.
//
// Layout (2 cores): both nodes on core 0 (taskset); this process (clients
// and balancer) and redis-server on core 1.
package nosticky

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fanio/fanio/bench/loadgen"
	"github.com/fanio/fanio/bench/runner"
	"github.com/fanio/fanio/internal/redistest"
)

// Options configure a run.
type Options struct {
	Root     string
	Servers  []string      // fanio, node
	Clients  int           // polling clients (default 50)
	Rates    []float64     // offered echo cycles per second, all clients (default 250, 1000)
	Duration time.Duration // one window
	Warmup   time.Duration
	Rounds   int    // windows per mode and rate, interleaved (default 3)
	NodeCPUs string // taskset list of both nodes (default "0")
	// SplitNodes pins the first node to the first CPU of NodeCPUs and the
	// second to the second, instead of both to all of them.
	SplitNodes bool
	OtherCPUs  string // this process and redis-server (default "1")
	NoPin      bool
	GoServer   string        // prebuilt bench/server ("" = build)
	WaitQuiet  time.Duration // before each step, wait up to this long for other processes to go quiet (default 30 s; <0: no wait)
	Logf       func(format string, args ...any)
}

func (o *Options) defaults() {
	if len(o.Servers) == 0 {
		o.Servers = []string{"fanio", "node"}
	}
	if o.Clients <= 0 {
		o.Clients = 50
	}
	if len(o.Rates) == 0 {
		o.Rates = []float64{250, 1000}
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = 2 * time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.NodeCPUs == "" {
		o.NodeCPUs = "0"
	}
	if o.OtherCPUs == "" {
		o.OtherCPUs = "1"
	}
	if o.WaitQuiet == 0 {
		o.WaitQuiet = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Result is one run.
type Result struct {
	Date        string          `json:"date"`
	Machine     runner.Machine  `json:"machine"`
	Versions    runner.Versions `json:"versions"`
	CommandLine string          `json:"command_line"`
	Commands    []string        `json:"commands"`
	Clients     int             `json:"clients"`
	Window      float64         `json:"window_seconds"`
	Rounds      int             `json:"rounds"`
	Layout      string          `json:"layout"`
	Rows        []Row           `json:"rows"`
	Seconds     float64         `json:"duration_seconds"`
}

// Row is one server kind, balancer and rate.
type Row struct {
	Server      string          `json:"server"`
	Balancer    string          `json:"balancer"` // sticky | round-robin
	Offered     float64         `json:"offered_cycles_per_sec"`
	Requests    int64           `json:"requests"`
	PerSec      float64         `json:"requests_per_sec"`
	Errors      int64           `json:"errors"`
	FirstError  string          `json:"first_error,omitempty"`
	Forwarded   int64           `json:"forwarded"`
	Post        loadgen.Latency `json:"post"`
	Get         loadgen.Latency `json:"get"`
	NodesCPU    loadgen.CPU     `json:"nodes_cpu_s"`
	UserUsReq   float64         `json:"nodes_cpu_user_us_per_request"`
	SysUsReq    float64         `json:"nodes_cpu_sys_us_per_request"`
	RedisCPU    float64         `json:"redis_cpu_s"`
	OtherCores  float64         `json:"other_cores"`
	LoadBefore  float64         `json:"other_cores_before"`
	Seconds     float64         `json:"seconds"`
	ClientsUp   int             `json:"clients_connected"`
	FailedSetup string          `json:"failed_setup,omitempty"`
	Rounds      []Round         `json:"rounds,omitempty"`

	postHist, getHist loadgen.Hist
}

// Round is one window of a row.
type Round struct {
	PerSec     float64 `json:"requests_per_sec"`
	UserUsReq  float64 `json:"nodes_cpu_user_us_per_request"`
	SysUsReq   float64 `json:"nodes_cpu_sys_us_per_request"`
	Requests   int64   `json:"requests"`
	Forwarded  int64   `json:"forwarded"`
	OtherCores float64 `json:"other_cores"`
}

// Run runs every server kind: its sticky and round-robin set-ups side by
// side, their windows interleaved round by round, so that the load other
// processes put on the machine falls on both alike.
func Run(o Options) (*Result, error) {
	o.defaults()
	start := time.Now()
	res := &Result{Date: start.UTC().Format(time.RFC3339), Machine: runner.CollectMachine(), Versions: runner.CollectVersions(o.Root),
		Clients: o.Clients, Window: o.Duration.Seconds(), Rounds: o.Rounds, Layout: layout(o)}
	if !o.NoPin {
		if err := pinSelf(o.OtherCPUs); err != nil {
			return nil, err
		}
	}
	bin, cleanup, err := runner.PrepareFixtures(o.Root, o.Servers, o.GoServer, o.Logf)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	o.GoServer = bin
	for _, kind := range o.Servers {
		rows, cmds, err := runKind(o, kind)
		res.Commands = append(res.Commands, cmds...)
		if err != nil {
			o.Logf("%s: %v", kind, err)
		}
		res.Rows = append(res.Rows, rows...)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// layout says where the processes run.
func layout(o Options) string {
	switch {
	case o.NoPin:
		return "no pinning"
	case o.SplitNodes:
		return fmt.Sprintf("each node pinned to one CPU of %s; the clients, the balancer and redis-server to %s", o.NodeCPUs, o.OtherCPUs)
	default:
		return fmt.Sprintf("both nodes pinned to CPU %s; the clients, the balancer and redis-server to %s", o.NodeCPUs, o.OtherCPUs)
	}
}

// pinSelf keeps this process (every thread) on cpus.
func pinSelf(cpus string) error {
	var set unix.CPUSet
	for _, f := range strings.Split(cpus, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("cpu list %q: %w", cpus, err)
		}
		set.Set(n)
	}
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v %s", err, out)
	}
	return unix.SchedSetaffinity(0, &set)
}

func serverArgv(o Options, kind, bal string, i, port int, redisURL string) []string {
	var argv []string
	if !o.NoPin {
		cpus := o.NodeCPUs
		if l := strings.Split(cpus, ","); o.SplitNodes && len(l) > i {
			cpus = l[i]
		}
		argv = []string{"taskset", "-c", cpus}
	}
	if kind == "node" {
		return append(argv, "node", filepath.Join(o.Root, "bench", "node", "server.mjs"), "--port", strconv.Itoa(port), "--redis", redisURL)
	}
	argv = append(argv, o.GoServer, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-cores", "1", "-redis", redisURL)
	if bal == "sticky" {
		argv = append(argv, "-redis-no-forward")
	}
	return argv
}

// setup is one balancer mode of a server kind: its Redis, two nodes, the
// balancer and the connected clients.
type setup struct {
	kind, bal string
	keep      chan struct{} // closed to stop the keeper
	measuring atomic.Bool   // the keeper waits meanwhile
	rs        *redistest.Server
	nodes     []*runner.Server
	lb        *balancer
	tr        *http.Transport
	clients   []*client
	up        int
	failed    string
	cmds      []string
}

func startSetup(o Options, kind, bal string) (*setup, error) {
	st := &setup{kind: kind, bal: bal}
	var err error
	if st.rs, err = redistest.New(); err != nil {
		return st, err
	}
	if !o.NoPin {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", o.OtherCPUs, strconv.Itoa(st.rs.PID())).CombinedOutput(); err != nil {
			return st, fmt.Errorf("pinning redis-server: %v %s", err, out)
		}
	}
	var upstreams []string
	for i := range 2 {
		port, err := runner.FreePort()
		if err != nil {
			return st, err
		}
		spec := runner.ServerSpec{Name: fmt.Sprintf("%s-%s-%d", kind, bal, i), Argv: serverArgv(o, kind, bal, i, port, st.rs.URL()), Dir: o.Root, Port: port}
		st.cmds = append(st.cmds, strings.Join(spec.Argv, " "))
		n, err := runner.StartServer(spec)
		if err != nil {
			return st, err
		}
		st.nodes = append(st.nodes, n)
		upstreams = append(upstreams, "http://127.0.0.1:"+strconv.Itoa(port))
	}
	if st.lb, err = startBalancer(bal, upstreams); err != nil {
		return st, err
	}
	st.tr = &http.Transport{MaxIdleConnsPerHost: 4 * o.Clients, DisableCompression: true, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: st.tr, Timeout: 40 * time.Second}
	st.clients = make([]*client, o.Clients)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range st.clients {
		st.clients[i] = &client{base: st.lb.url + "/socket.io/", hc: hc}
		wg.Add(1)
		go func(c *client) {
			defer wg.Done()
			if err := c.open(); err != nil {
				mu.Lock()
				if st.failed == "" {
					st.failed = err.Error()
				}
				mu.Unlock()
				c.dead = true
			}
		}(st.clients[i])
	}
	wg.Wait()
	for _, c := range st.clients {
		if !c.dead {
			st.up++
		}
	}
	st.keep = make(chan struct{})
	go st.keeper()
	return st, nil
}

// keeper runs a cycle for every client every 5 s, so that the sessions of
// a set-up waiting for its next window keep their heartbeats (a session
// that does not poll for pingInterval + pingTimeout is closed).
func (st *setup) keeper() {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	idle := &window{}
	for {
		select {
		case <-st.keep:
			return
		case <-t.C:
		}
		if st.measuring.Load() {
			continue
		}
		for _, c := range st.clients {
			c.cycle(idle)
		}
	}
}

// alive is the number of clients still connected, and why one died.
func (st *setup) alive() (n int, why string) {
	for _, c := range st.clients {
		c.mu.Lock()
		if !c.dead {
			n++
		} else if why == "" && c.err != nil {
			why = c.err.Error()
		}
		c.mu.Unlock()
	}
	return n, why
}

func (st *setup) stop() {
	if st.keep != nil {
		close(st.keep)
	}
	for _, c := range st.clients {
		if !c.isDead() {
			c.close()
		}
	}
	if st.tr != nil {
		st.tr.CloseIdleConnections()
	}
	if st.lb != nil {
		st.lb.close()
	}
	for _, n := range st.nodes {
		n.Stop()
	}
	if st.rs != nil {
		st.rs.Close()
	}
}

// runKind runs every rate against kind's two set-ups, in interleaved
// rounds.
func runKind(o Options, kind string) ([]Row, []string, error) {
	var cmds []string
	var live []*setup
	var rows []Row
	for _, bal := range []string{"sticky", "round-robin"} {
		st, err := startSetup(o, kind, bal)
		defer st.stop()
		cmds = append(cmds, st.cmds...)
		if err != nil {
			return rows, cmds, fmt.Errorf("%s %s: %w", kind, bal, err)
		}
		if st.failed != "" {
			o.Logf("%s %s: %d of %d clients connected; %s", kind, bal, st.up, len(st.clients), st.failed)
			rows = append(rows, Row{Server: kind, Balancer: bal, ClientsUp: st.up, FailedSetup: st.failed, Errors: int64(len(st.clients) - st.up)})
			continue
		}
		live = append(live, st)
	}
	for _, rate := range o.Rates {
		per := make([][]Row, len(live))
		for round := range o.Rounds {
			for i, st := range live {
				if o.WaitQuiet > 0 {
					waitQuiet(o)
				}
				up, why := st.alive()
				row := Row{Server: kind, Balancer: st.bal, Offered: rate, ClientsUp: up}
				if up < st.up {
					o.Logf("%s %s: %d of %d clients died between windows: %s", kind, st.bal, st.up-up, st.up, why)
					row.FirstError = why
				}
				row.LoadBefore = loadgen.ForeignLoad(500 * time.Millisecond)
				st.measuring.Store(true)
				measure(o, &row, st.clients, st.nodes, st.rs, rate)
				st.measuring.Store(false)
				o.Logf("%s %s %.0f cycles/s round %d: %.0f req/s, POST p50 %.0f µs p99 %.0f µs, GET p50 %.0f µs p99 %.0f µs, %.1f+%.1f µs CPU/req, %d forwarded, %d errors, other load %.2f",
					kind, st.bal, rate, round+1, row.PerSec, row.Post.P50Us, row.Post.P99Us, row.Get.P50Us, row.Get.P99Us, row.UserUsReq, row.SysUsReq, row.Forwarded, row.Errors, row.OtherCores)
				per[i] = append(per[i], row)
			}
		}
		for _, rs := range per {
			rows = append(rows, combine(rs))
		}
	}
	// By rate, sticky first; a mode that could not run last.
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if (a.FailedSetup == "") != (b.FailedSetup == "") {
			return a.FailedSetup == ""
		}
		if a.Offered != b.Offered {
			return a.Offered < b.Offered
		}
		return a.Balancer == "sticky" && b.Balancer != "sticky"
	})
	return rows, cmds, nil
}

// combine makes one row of a mode's rounds: latencies over every request
// of every round, the CPU per request as the median round's, the counts
// summed; each round's figures are kept.
func combine(rounds []Row) Row {
	out := rounds[0]
	out.Rounds = nil
	var post, get loadgen.Hist
	out.Requests, out.Errors, out.Forwarded, out.Seconds = 0, 0, 0, 0
	out.NodesCPU, out.RedisCPU, out.OtherCores = loadgen.CPU{}, 0, 0
	for _, r := range rounds {
		post.Merge(r.postHist)
		get.Merge(r.getHist)
		out.Requests += r.Requests
		out.Errors += r.Errors
		out.Forwarded += r.Forwarded
		out.Seconds += r.Seconds
		out.NodesCPU.User += r.NodesCPU.User
		out.NodesCPU.Sys += r.NodesCPU.Sys
		out.RedisCPU += r.RedisCPU
		out.OtherCores = max(out.OtherCores, r.OtherCores)
		if out.FirstError == "" {
			out.FirstError = r.FirstError
		}
		out.Rounds = append(out.Rounds, Round{PerSec: r.PerSec, UserUsReq: r.UserUsReq, SysUsReq: r.SysUsReq,
			Requests: r.Requests, Forwarded: r.Forwarded, OtherCores: r.OtherCores})
	}
	out.PerSec = float64(out.Requests) / out.Seconds
	out.Post, out.Get = post.Summary(), get.Summary()
	m := medianRound(out.Rounds)
	out.UserUsReq, out.SysUsReq = m.UserUsReq, m.SysUsReq
	return out
}

// medianRound is the round with the median CPU per request.
func medianRound(rs []Round) Round {
	s := append([]Round(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].UserUsReq+s[i].SysUsReq < s[j].UserUsReq+s[j].SysUsReq })
	return s[len(s)/2]
}

// waitQuiet waits (at most WaitQuiet) for other processes to use less than
// 0.3 cores.
func waitQuiet(o Options) {
	deadline := time.Now().Add(o.WaitQuiet)
	for time.Now().Before(deadline) {
		if loadgen.ForeignLoad(time.Second) < 0.3 {
			return
		}
	}
}

// window is what the clients count during a measured window.
type window struct {
	on         atomic.Bool
	requests   atomic.Int64
	errors     atomic.Int64
	firstError atomic.Value
	post, get  loadgen.Histogram
}

func (w *window) fail(err error) {
	w.errors.Add(1)
	w.firstError.CompareAndSwap(nil, err.Error())
}

// measure runs the clients at rate through the warm-up and one window.
func measure(o Options, row *Row, clients []*client, nodes []*runner.Server, rs *redistest.Server, rate float64) {
	w := &window{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	per := time.Duration(float64(len(clients)) / rate * float64(time.Second))
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now().Add(time.Duration(i) * per / time.Duration(len(clients)))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(per)
				if now := time.Now(); next.Before(now) {
					next = now // behind: no catching up
				}
				if c.isDead() {
					return
				}
				c.cycle(w)
			}
		}()
	}
	time.Sleep(o.Warmup)
	cpu0 := nodesCPU(nodes)
	fw0 := forwarded(nodes)
	r0 := redisCPU(rs)
	m0, self0 := loadgen.MachineBusy(), selfCPU()
	t0 := time.Now()
	w.on.Store(true)
	time.Sleep(o.Duration)
	w.on.Store(false)
	dt := time.Since(t0).Seconds()
	cpu := nodesCPU(nodes).Sub(cpu0)
	row.Forwarded = forwarded(nodes) - fw0
	row.RedisCPU = redisCPU(rs) - r0
	other := loadgen.MachineBusy() - m0 - cpu.Total() - (selfCPU() - self0) - row.RedisCPU
	row.OtherCores = max(other, 0) / dt
	close(stop)
	wg.Wait()
	row.Seconds = dt
	row.Requests = w.requests.Load()
	row.Errors = w.errors.Load()
	if e, ok := w.firstError.Load().(string); ok {
		row.FirstError = e
	}
	row.PerSec = float64(row.Requests) / dt
	row.postHist, row.getHist = w.post.Snapshot(), w.get.Snapshot()
	row.Post, row.Get = row.postHist.Summary(), row.getHist.Summary()
	row.NodesCPU = cpu
	if row.Requests > 0 {
		row.UserUsReq = cpu.User * 1e6 / float64(row.Requests)
		row.SysUsReq = cpu.Sys * 1e6 / float64(row.Requests)
	}
}

func nodesCPU(nodes []*runner.Server) loadgen.CPU {
	var c loadgen.CPU
	for _, n := range nodes {
		x := loadgen.ProcCPUTimes(n.PID)
		c.User += x.User
		c.Sys += x.Sys
	}
	return c
}

func selfCPU() float64 {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func redisCPU(rs *redistest.Server) float64 {
	s, u, err := rs.CPU()
	if err != nil {
		return 0
	}
	return s + u
}

var statsClient = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// forwarded sums the fanio nodes' forwarded requests (0 for Node).
func forwarded(nodes []*runner.Server) int64 {
	var n int64
	for _, s := range nodes {
		resp, err := statsClient.Get(fmt.Sprintf("http://127.0.0.1:%d/stats", s.Spec.Port))
		if err != nil {
			continue
		}
		var st struct {
			Forwarded int64 `json:"forwarded"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		n += st.Forwarded
	}
	return n
}

// ---- the balancer ----

type balancer struct {
	url  string
	srv  *http.Server
	mu   sync.Mutex
	home map[string]int // sticky: sid → upstream
}

var sidInOpen = regexp.MustCompile(`"sid":"([A-Za-z0-9_-]{20})"`)

func startBalancer(mode string, upstreams []string) (*balancer, error) {
	b := &balancer{home: map[string]int{}}
	var targets []*url.URL
	for _, u := range upstreams {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		targets = append(targets, pu)
	}
	var next atomic.Uint64
	pick := func(r *http.Request) int {
		if mode == "sticky" {
			if sid := r.URL.Query().Get("sid"); sid != "" {
				b.mu.Lock()
				i, ok := b.home[sid]
				b.mu.Unlock()
				if ok {
					return i
				}
			}
		}
		return int(next.Add(1) % uint64(len(targets)))
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := pick(pr.In)
			pr.SetURL(targets[i])
			pr.Out.Header.Set("X-Upstream", strconv.Itoa(i))
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true, IdleConnTimeout: time.Minute},
		ModifyResponse: func(resp *http.Response) error {
			if mode != "sticky" || resp.Request.URL.Query().Get("sid") != "" {
				return nil
			}
			// A handshake's answer: remember which node made the session.
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(strings.NewReader(string(body)))
			if m := sidInOpen.FindSubmatch(body); m != nil {
				i, _ := strconv.Atoi(resp.Request.Header.Get("X-Upstream"))
				b.mu.Lock()
				b.home[string(m[1])] = i
				b.mu.Unlock()
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.url = "http://" + ln.Addr().String()
	b.srv = &http.Server{Handler: proxy}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *balancer) close() { _ = b.srv.Close() }

// ---- a polling client ----

type client struct {
	base string
	hc   *http.Client
	mu   sync.Mutex // one cycle at a time (the load's, the keeper's)
	sid  string
	seq  int
	dead bool
	err  error // why it died
}

func (c *client) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

var errStatus = errors.New("status")

// do sends one request and returns its body and duration.
func (c *client) do(method, body string) (string, time.Duration, error) {
	u := c.base + "?EIO=4&transport=polling"
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, rd)
	if err != nil {
		return "", 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	t0 := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		return "", d, err
	}
	if resp.StatusCode != 200 {
		return string(b), d, fmt.Errorf("%w %d %s: %s", errStatus, resp.StatusCode, method, b)
	}
	return string(b), d, nil
}

// open does the handshake and the Socket.IO CONNECT.
func (c *client) open() error {
	body, _, err := c.do("GET", "")
	if err != nil {
		return err
	}
	m := sidInOpen.FindStringSubmatch(body)
	if m == nil {
		return fmt.Errorf("handshake answer %q", body)
	}
	c.sid = m[1]
	if _, _, err := c.do("POST", "40"); err != nil {
		return err
	}
	for i := 0; i < 10; i++ {
		body, _, err := c.do("GET", "")
		if err != nil {
			return err
		}
		if strings.Contains(body, "40{") {
			return nil
		}
	}
	return errors.New("no CONNECT answer")
}

// cycle runs one echo with its ack: a POST, then GETs until the ack.
func (c *client) cycle(w *window) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	c.seq++
	n := strconv.Itoa(c.seq)
	on := w.on.Load()
	count := func(h *loadgen.Histogram, d time.Duration) {
		if on {
			h.Record(int64(d))
			w.requests.Add(1)
		}
	}
	fail := func(err error) {
		c.dead, c.err = true, err
		if on {
			w.fail(err)
		}
	}
	if _, d, err := c.do("POST", "42"+n+`["echo",`+n+"]"); err != nil {
		fail(err)
		return
	} else {
		count(&w.post, d)
	}
	want := "43" + n + "[" + n + "]"
	for range 20 {
		body, d, err := c.do("GET", "")
		if err != nil {
			fail(err)
			return
		}
		count(&w.get, d)
		for _, p := range strings.Split(body, "\x1e") {
			if p == "2" {
				if _, _, err := c.do("POST", "3"); err != nil {
					fail(err)
					return
				}
			}
		}
		if strings.Contains(body, want) {
			return
		}
	}
	fail(fmt.Errorf("no ack %s", want))
}

func (c *client) close() { _, _, _ = c.do("POST", "1") }
