// Package clusterbench is `fanio-bench cluster`: cross-node fan-out through
// Redis, two fanio nodes (redisadapter) against two Node.js nodes
// (@socket.io/redis-adapter 8.3), same generator, same run.
//
// Layout (2 cores): node B, the receiving node, alone on core 0 (taskset
// -c 0); node A (where the publisher is connected), redis-server and the
// generator on core 1. N WebSocket subscribers on B join room r; one
// publisher emits pub(payload) at fixed rates, first to B itself (the
// local path: B broadcasts to its members and publishes to Redis), then
// to A (the cross-node path: A publishes, Redis forwards to B, B delivers).
// For each step it records deliveries per second, B's CPU per million
// deliveries (user and system), the end-to-end latency (the publisher's
// monotonic timestamp in the payload), A's CPU, and Redis's CPU per publish
// (INFO cpu, its idle rate subtracted). The added p99 latency of the
// Redis hop is cross p99 minus local p99 at the same rate.
package clusterbench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
	"github.com/fanio/fanio/bench/runner"
	"github.com/fanio/fanio/internal/redistest"
)

// Options configure a run.
type Options struct {
	Root        string
	Servers     []string  // fanio, node
	Sharded     bool      // the sharded protocol instead of the classic one
	Subscribers int       // WebSocket subscribers on node B
	Rates       []float64 // offered pubs/s, each run cross then local
	SatRate     float64   // the saturation step's publishing rate within a round (default 20000)
	Duration    time.Duration
	Warmup      time.Duration
	Size        int // payload bytes
	BCPUs       string
	OtherCPUs   string
	Srcs        int
	Logf        func(format string, args ...any)
	GoServer    string        // prebuilt bench/server binary ("" = build)
	NoPin       bool          // no taskset (tests)
	IdleSample  time.Duration // how long Redis's idle CPU is sampled (default 2 s)
	WaitQuiet   time.Duration // before each step, wait up to this long for other processes to go quiet (default 60 s; <0: no wait)
	InProc      bool          // generator workers as goroutines of this process (tests)
}

// Result is one run.
type Result struct {
	Date        string          `json:"date"`
	Machine     runner.Machine  `json:"machine"`
	Versions    runner.Versions `json:"versions"`
	CommandLine string          `json:"command_line"`
	Protocol    string          `json:"protocol"`
	Subscribers int             `json:"subscribers"`
	Size        int             `json:"payload_bytes"`
	Duration    float64         `json:"window_seconds"`
	Commands    []string        `json:"commands"`
	Servers     []ServerResult  `json:"servers"`
	Seconds     float64         `json:"duration_seconds"`
}

// ServerResult is the steps of one server kind.
type ServerResult struct {
	Server          string   `json:"server"`
	RedisIdleCPUPct float64  `json:"redis_idle_cpu_percent"`
	Steps           []Step   `json:"steps"`
	Errors          []string `json:"errors,omitempty"`
}

// Step is one measured window.
type Step struct {
	Path         string          `json:"path"` // local | cross
	OfferedRate  float64         `json:"offered_pubs_per_sec"`
	Saturation   bool            `json:"saturation"`    // closed loop: B flat out
	StoppedEarly bool            `json:"stopped_early"` // fell more than 1 s of deliveries behind
	Sent         int64           `json:"pubs"`
	Expected     int64           `json:"expected"`
	Delivered    int64           `json:"delivered"`
	Seconds      float64         `json:"seconds"`
	PerSec       float64         `json:"deliveries_per_sec"`
	BUser        float64         `json:"b_cpu_user_s"`
	BSys         float64         `json:"b_cpu_sys_s"`
	BUserPerM    float64         `json:"b_cpu_user_s_per_million"`
	BSysPerM     float64         `json:"b_cpu_sys_s_per_million"`
	BCPUPerM     float64         `json:"b_cpu_s_per_million"`
	BUtil        float64         `json:"b_cpu_util"`
	ACPU         float64         `json:"a_cpu_s"`
	RedisCPU     float64         `json:"redis_cpu_s"`
	RedisUsPub   float64         `json:"redis_cpu_us_per_pub"`
	GenCPU       float64         `json:"generator_cpu_s"`
	OtherCores   float64         `json:"other_cores"`        // unrelated load meanwhile
	LoadBefore   float64         `json:"other_cores_before"` // unrelated load just before
	Latency      loadgen.Latency `json:"latency"`
	Stale        int64           `json:"stale"`
	Errors       int64           `json:"errors"`
}

func (o *Options) defaults() {
	if len(o.Servers) == 0 {
		o.Servers = []string{"fanio", "node"}
	}
	if o.Subscribers <= 0 {
		o.Subscribers = 1000
	}
	if len(o.Rates) == 0 {
		o.Rates = []float64{100, 1000, 5000}
	}
	if o.SatRate <= 0 {
		o.SatRate = 20000
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Size <= 0 {
		o.Size = 64
	}
	if o.BCPUs == "" {
		o.BCPUs = "0"
	}
	if o.OtherCPUs == "" {
		o.OtherCPUs = "1"
	}
	if o.Srcs <= 0 {
		o.Srcs = 4
	}
	if o.WaitQuiet == 0 {
		o.WaitQuiet = 60 * time.Second
	}
	if o.IdleSample <= 0 {
		o.IdleSample = 2 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Run runs every server kind in turn.
func Run(o Options) (*Result, error) {
	o.defaults()
	start := time.Now()
	res := &Result{Date: start.UTC().Format(time.RFC3339), Machine: runner.CollectMachine(), Versions: runner.CollectVersions(o.Root),
		Protocol: "classic", Subscribers: o.Subscribers, Size: o.Size, Duration: o.Duration.Seconds()}
	if o.Sharded {
		res.Protocol = "sharded"
	}
	bin, cleanup, err := runner.PrepareFixtures(o.Root, o.Servers, o.GoServer, o.Logf)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	o.GoServer = bin
	for _, kind := range o.Servers {
		sr, cmds, err := runKind(o, kind)
		res.Commands = append(res.Commands, cmds...)
		if err != nil {
			sr.Errors = append(sr.Errors, err.Error())
			o.Logf("%s: %v", kind, err)
		}
		res.Servers = append(res.Servers, sr)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func serverArgv(o Options, kind, cpus string, port int, redisURL string) []string {
	var argv []string
	if !o.NoPin {
		argv = []string{"taskset", "-c", cpus}
	}
	if kind == "node" {
		argv = append(argv, "node", filepath.Join(o.Root, "bench", "node", "server.mjs"), "--port", strconv.Itoa(port), "--redis", redisURL)
		if o.Sharded {
			argv = append(argv, "--redis-mode", "sharded")
		}
		return argv
	}
	argv = append(argv, o.GoServer, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-cores", "1", "-redis", redisURL)
	if o.Sharded {
		argv = append(argv, "-redis-sharded")
	}
	return argv
}

// runKind runs every step against two nodes of one kind.
func runKind(o Options, kind string) (ServerResult, []string, error) {
	sr := ServerResult{Server: kind}
	rs, err := redistest.New()
	if err != nil {
		return sr, nil, err
	}
	defer rs.Close()
	if !o.NoPin {
		if out, err := exec.Command("taskset", "-a", "-p", "-c", o.OtherCPUs, strconv.Itoa(rs.PID())).CombinedOutput(); err != nil {
			return sr, nil, fmt.Errorf("pinning redis-server: %v %s", err, out)
		}
	}
	portA, err := runner.FreePort()
	if err != nil {
		return sr, nil, err
	}
	portB, err := runner.FreePort()
	if err != nil {
		return sr, nil, err
	}
	specA := runner.ServerSpec{Name: kind + "-A", Argv: serverArgv(o, kind, o.OtherCPUs, portA, rs.URL()), Dir: o.Root, Port: portA}
	specB := runner.ServerSpec{Name: kind + "-B", Argv: serverArgv(o, kind, o.BCPUs, portB, rs.URL()), Dir: o.Root, Port: portB}
	cmds := []string{strings.Join(specA.Argv, " "), strings.Join(specB.Argv, " ")}
	a, err := runner.StartServer(specA)
	if err != nil {
		return sr, cmds, err
	}
	defer a.Stop()
	b, err := runner.StartServer(specB)
	if err != nil {
		return sr, cmds, err
	}
	defer b.Stop()
	addrA, addrB := "127.0.0.1:"+strconv.Itoa(portA), "127.0.0.1:"+strconv.Itoa(portB)

	// Redis's idle CPU rate (serverCron, the subscriptions), subtracted
	// from each window's.
	r0, t0 := redisCPU(rs), time.Now()
	time.Sleep(o.IdleSample)
	idle := (redisCPU(rs) - r0) / time.Since(t0).Seconds()
	sr.RedisIdleCPUPct = 100 * idle

	srcs := loadgen.SourceAddrs(o.Srcs)
	pin := o.OtherCPUs
	if o.NoPin {
		pin = ""
	}
	newCluster := func(target string) (*loadgen.Cluster, error) {
		return loadgen.StartCluster(loadgen.ClusterOptions{Workers: 1, Targets: []string{target}, Path: "/socket.io/", Srcs: srcs, Pin: pin, InProc: o.InProc})
	}
	subs, err := newCluster(addrB)
	if err != nil {
		return sr, cmds, err
	}
	defer subs.Close()
	cmds = append(cmds, subs.Commands...)
	pubs := map[string]*loadgen.Cluster{}
	for path, target := range map[string]string{"local": addrB, "cross": addrA} {
		c, err := newCluster(target)
		if err != nil {
			return sr, cmds, err
		}
		defer c.Close()
		pubs[path] = c
	}
	reps, err := subs.All(loadgen.Command{Op: "connect", N: o.Subscribers, Transport: "websocket", Room: "r", Role: "sub", Concurrency: 64}, 10*time.Minute)
	ok := 0
	for _, r := range reps {
		ok += r.OK
	}
	if err != nil || ok == 0 {
		return sr, cmds, fmt.Errorf("subscribers: %d joined: %v", ok, err)
	}
	o.Logf("%s: %d subscribers on B (%s), publisher on B (local) or A (%s), Redis %s", kind, ok, addrB, addrA, rs.Addr())
	time.Sleep(500 * time.Millisecond) // let the room subscriptions settle (dynamic sharded mode)

	// step publishes at rate for dur in rounds. Open loop (fixed rate): a
	// step that falls more than a second of deliveries behind stops early,
	// so that an overloaded node does not build minutes of backlog.
	// Closed loop (saturation): after each round it waits until B has
	// delivered everything, so B runs flat out without a backlog.
	step := func(path string, rate float64, dur time.Duration, closed bool) (Step, error) {
		st := Step{Path: path, OfferedRate: rate, Saturation: closed}
		waitIdle(b.PID, 30*time.Second)
		st.LoadBefore = loadgen.ForeignLoad(time.Second)
		for waited := time.Duration(0); st.LoadBefore > quietCores && waited < o.WaitQuiet; waited += 3 * time.Second {
			o.Logf("%s: machine busy with other processes (%.2f cores): waiting for quiet (%v of %v)", kind, st.LoadBefore, waited, o.WaitQuiet)
			time.Sleep(2 * time.Second)
			st.LoadBefore = loadgen.ForeignLoad(time.Second)
		}
		for _, c := range []*loadgen.Cluster{subs, pubs["local"], pubs["cross"]} {
			if err := c.Reset(); err != nil { // keeps the epochs in step
				return st, err
			}
		}
		bu0, bs0, _ := loadgen.ProcCPU(b.PID)
		a0 := loadgen.ProcCPUTotal(a.PID)
		r0, m0, t0 := redisCPU(rs), loadgen.MachineBusy(), time.Now()
		round := 500 * time.Millisecond
		if closed {
			round = 100 * time.Millisecond
		}
		var startNs, endNs int64
		var err error
		for time.Since(t0) < dur {
			var rep loadgen.Reply
			rep, err = pubs[path].One(0, loadgen.Command{Op: "publish", Rate: rate, DurationMs: int(round / time.Millisecond), Size: o.Size}, 2*time.Minute)
			if startNs == 0 {
				startNs = rep.StartNs
			}
			endNs = rep.EndNs
			st.Sent += rep.Sent
			if err != nil {
				break
			}
			want := st.Sent * int64(ok)
			if closed {
				if got := waitDelivered(subs, want, 30*time.Second); got < want {
					err = fmt.Errorf("saturation round: %d of %d delivered after 30 s", got, want)
					break
				}
				continue
			}
			if s, _, _ := subs.Snapshot(); want-s.Recv > int64(rate*float64(ok)) {
				st.StoppedEarly = true
				break
			}
		}
		st.Expected = st.Sent * int64(ok)
		drain(subs, st.Expected, 3*time.Second, 20*time.Second)
		s, _, _ := subs.Snapshot()
		ps, _, _ := pubs[path].Snapshot()
		bu1, bs1, _ := loadgen.ProcCPU(b.PID)
		wall := time.Since(t0).Seconds()
		st.BUser, st.BSys = bu1-bu0, bs1-bs0
		st.ACPU = loadgen.ProcCPUTotal(a.PID) - a0
		st.RedisCPU = redisCPU(rs) - r0
		st.GenCPU = float64(s.CPUUserUs+s.CPUSysUs+ps.CPUUserUs+ps.CPUSysUs) / 1e6
		st.OtherCores = max(loadgen.MachineBusy()-m0-st.BUser-st.BSys-st.ACPU-st.RedisCPU-st.GenCPU, 0) / wall
		st.Delivered, st.Stale, st.Errors = s.Recv, s.Stale, s.Errors+ps.Errors
		last := max(s.LastRecv, endNs)
		st.Seconds = float64(last-startNs) / 1e9
		if st.Seconds > 0 {
			st.PerSec = float64(s.Recv) / st.Seconds
			st.BUtil = (st.BUser + st.BSys) / st.Seconds
		}
		if s.Recv > 0 {
			st.BUserPerM = st.BUser / float64(s.Recv) * 1e6
			st.BSysPerM = st.BSys / float64(s.Recv) * 1e6
			st.BCPUPerM = st.BUserPerM + st.BSysPerM
		}
		if st.Sent > 0 {
			st.RedisUsPub = max(st.RedisCPU-idle*wall, 0) / float64(st.Sent) * 1e6
		}
		st.Latency = s.Hist.Summary()
		return st, err
	}
	logStep := func(st Step) {
		label := fmt.Sprintf("%5.0f pub/s", st.OfferedRate)
		if st.Saturation {
			label = "saturation "
		}
		o.Logf("%s %-5s %s: %d pubs, %d/%d delivered, %.0f deliveries/s, B %.2f+%.2f CPU-s/M (user+sys, %.0f%% core), p50 %.0f µs p99 %.0f µs, Redis %.1f µs/pub, A %.2f CPU-s, other load %.2f cores%s",
			kind, st.Path, label, st.Sent, st.Delivered, st.Expected, st.PerSec, st.BUserPerM, st.BSysPerM, 100*st.BUtil,
			st.Latency.P50Us, st.Latency.P99Us, st.RedisUsPub, st.ACPU, st.OtherCores, map[bool]string{true: " (fell behind: stopped early)"}[st.StoppedEarly])
	}
	if o.Warmup > 0 {
		for _, path := range []string{"cross", "local"} {
			if _, err := step(path, o.Rates[0], o.Warmup, false); err != nil {
				o.Logf("%s warmup: %v", kind, err)
			}
		}
	}
	for _, rate := range o.Rates {
		// cross first: it is what the targets are about; a rate the
		// cross path cannot keep up with ends the fixed-rate steps.
		st, err := step("cross", rate, o.Duration, false)
		sr.Steps = append(sr.Steps, st)
		logStep(st)
		if err != nil {
			sr.Errors = append(sr.Errors, err.Error())
		}
		if !st.KeptUp() {
			o.Logf("%s: the cross path fell behind at %.0f pubs/s; higher rates skipped", kind, rate)
			break
		}
		st, err = step("local", rate, o.Duration, false)
		sr.Steps = append(sr.Steps, st)
		logStep(st)
		if err != nil {
			sr.Errors = append(sr.Errors, err.Error())
		}
		if !a.Alive() || !b.Alive() {
			return sr, cmds, fmt.Errorf("a node died: A %s / B %s", a.Log(), b.Log())
		}
	}
	st, err := step("cross", o.SatRate, o.Duration, true)
	sr.Steps = append(sr.Steps, st)
	logStep(st)
	if err != nil {
		sr.Errors = append(sr.Errors, err.Error())
	}
	return sr, cmds, nil
}

// waitDelivered polls until the subscribers counted want deliveries (or
// limit) and returns the count.
func waitDelivered(cl *loadgen.Cluster, want int64, limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	for {
		s, _, _ := cl.Snapshot()
		if s.Recv >= want || time.Now().After(deadline) {
			return s.Recv
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// quietCores is the load of unrelated processes (in cores) under which
// the machine counts as quiet enough to start a step.
const quietCores = 0.3

// KeptUp reports whether B delivered at (nearly) the offered rate.
func (s *Step) KeptUp() bool {
	return !s.Saturation && !s.StoppedEarly && s.Expected > 0 && s.Delivered >= s.Expected*99/100 &&
		s.PerSec >= 0.9*s.OfferedRate*float64(s.Expected/max(s.Sent, 1))
}

func redisCPU(rs *redistest.Server) float64 {
	sys, user, _ := rs.CPU()
	return sys + user
}

// waitIdle waits until pid uses less than 5 % of a core (the previous
// window's backlog is done), or limit.
func waitIdle(pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c0, t0 := loadgen.ProcCPUTotal(pid), time.Now()
		time.Sleep(300 * time.Millisecond)
		if (loadgen.ProcCPUTotal(pid)-c0)/time.Since(t0).Seconds() < 0.05 {
			return
		}
	}
}

// drain waits until want deliveries were counted, nothing arrived for
// idle, or limit passed.
func drain(cl *loadgen.Cluster, want int64, idle, limit time.Duration) {
	deadline := time.Now().Add(limit)
	var last int64 = -1
	lastChange := time.Now()
	for time.Now().Before(deadline) {
		s, _, _ := cl.Snapshot()
		if s.Recv >= want {
			return
		}
		if s.Recv != last {
			last, lastChange = s.Recv, time.Now()
		} else if time.Since(lastChange) > idle {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
