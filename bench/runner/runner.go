// Package runner drives fanio-bench's `all` mode: it starts the Node and Go
// fixtures itself (pinned with taskset), runs every scenario against each
// with the same generator, and writes results JSON, BENCHMARKS.md tables and
// plots.
package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/loadgen"

	"golang.org/x/sys/unix"
)

// Profile is the set of scenario parameters of one mode.
type Profile struct {
	Name       string                `json:"name"`
	Density    loadgen.DensityParams `json:"density"`
	Fanout     loadgen.FanoutParams  `json:"fanout"`
	Echo       loadgen.EchoParams    `json:"echo"`
	Connect    loadgen.ConnectParams `json:"connect"`
	PollFanout loadgen.FanoutParams  `json:"pollfanout"`
	// AppDensity is the density scenario with real-application sockets
	// (middleware reading the auth payload and a header), on a fresh server.
	AppDensity loadgen.DensityParams  `json:"appdensity"`
	Blocking   loadgen.BlockingParams `json:"blocking"`
}

// connectInFlight is the connect scenario's number of connects in flight,
// the same for every server. On the 2-core VM the fanio fixture's core idles
// between round trips with fewer (about 60 % busy at 32, where the
// handshakes rather than the CPU set the pace) and gains little beyond
// (more only lengthens the queue); Node's core is saturated from 32 on, so
// the higher count costs it nothing but latency.
const connectInFlight = 128

// QuickProfile finishes in about 95 s per server (< 5 min for the three
// runs). The fan-out and echo windows are 5 s: the kernel splits CPU time
// into user and system by sampling at its tick (250 Hz here), and 2 s held
// too few samples of a server that is 15-40 % busy (the split moved by
// ±20 % between runs).
func QuickProfile() Profile {
	return Profile{
		Name:       "quick",
		Density:    loadgen.DensityParams{Steps: []int{1000, 5000, 10000}, Settle: 1500 * time.Millisecond, Concurrency: 64},
		Fanout:     loadgen.FanoutParams{Transport: "websocket", Subscribers: 1000, Rates: []float64{10, 50, 100}, Saturate: true, Duration: 5 * time.Second, Warmup: time.Second, Size: 64, Batch: 10, Window: 2, Concurrency: 64},
		Echo:       loadgen.EchoParams{Clients: 100, Rates: []float64{1000, 5000, 10000}, Duration: 5 * time.Second, Warmup: time.Second, Size: 32, Concurrency: 64},
		Connect:    loadgen.ConnectParams{Modes: []string{"websocket", "upgrade"}, Duration: 2 * time.Second, Concurrency: connectInFlight, Warmup: time.Second},
		PollFanout: loadgen.FanoutParams{Transport: "polling", Subscribers: 200, Rates: []float64{10, 50}, Saturate: true, Duration: 2 * time.Second, Warmup: time.Second, Size: 64, Batch: 10, Window: 2, Concurrency: 32},
		AppDensity: loadgen.DensityParams{Steps: []int{1000, 5000, 10000}, Settle: 1500 * time.Millisecond, Concurrency: 64, App: true},
		Blocking:   loadgen.BlockingParams{Blockers: 500, Hold: 2 * time.Second, Rate: 200, Duration: time.Second, Drain: 10 * time.Second, Size: 32, Concurrency: 64},
	}
}

// FullProfile finishes in about 6 minutes per server (< 30 min in all).
func FullProfile() Profile {
	return Profile{
		Name:       "full",
		Density:    loadgen.DensityParams{Steps: []int{1000, 5000, 10000, 15000, 19700}, Settle: 5 * time.Second, Concurrency: 64},
		Fanout:     loadgen.FanoutParams{Transport: "websocket", Subscribers: 10000, Rates: []float64{1, 2, 5, 10, 20, 40}, Saturate: true, Duration: 10 * time.Second, Warmup: 3 * time.Second, Size: 64, Batch: 2, Window: 2, Concurrency: 64},
		Echo:       loadgen.EchoParams{Clients: 1000, Rates: []float64{1000, 5000, 10000, 20000, 40000}, Duration: 10 * time.Second, Warmup: 3 * time.Second, Size: 32, Concurrency: 64},
		Connect:    loadgen.ConnectParams{Modes: []string{"websocket", "upgrade"}, Duration: 10 * time.Second, Concurrency: connectInFlight, Warmup: 2 * time.Second},
		PollFanout: loadgen.FanoutParams{Transport: "polling", Subscribers: 2000, Rates: []float64{2, 5, 10, 20}, Saturate: true, Duration: 10 * time.Second, Warmup: 2 * time.Second, Size: 64, Batch: 2, Window: 2, Concurrency: 64},
		AppDensity: loadgen.DensityParams{Steps: []int{1000, 5000, 10000, 15000, 19700}, Settle: 5 * time.Second, Concurrency: 64, App: true},
		Blocking:   loadgen.BlockingParams{Blockers: 500, Hold: 2 * time.Second, Rate: 200, Duration: time.Second, Drain: 10 * time.Second, Size: 32, Concurrency: 64},
	}
}

// Scenarios in the order `all` runs them.
var Scenarios = []string{"density", "appdensity", "fanout", "echo", "connect", "pollfanout", "blocking"}

// Options configure a runner invocation.
type Options struct {
	Root        string // repository root
	Quick       bool
	Servers     []string // node, go-1core, go-2core
	Scenarios   []string // subset of Scenarios
	OutDir      string   // default <root>/bench/results
	MD          string   // default <root>/BENCHMARKS.md
	ServerCPUs  string   // default "0"
	GenCPUs     string   // default "1"
	BothCPUs    string   // default "0,1" (two-core Go run)
	Port        int      // default 3101
	Srcs        int
	PerWorker   int
	Log         io.Writer
	Progress    bool
	CommandLine string
	NoWrite     bool          // do not write results/markdown/plots (tests)
	WaitQuiet   time.Duration // before each scenario, wait up to this long for other processes to go quiet
}

// QuietCores is the load of unrelated processes (in cores) under which the
// machine counts as quiet.
const QuietCores = 0.15

// ServerRun is every scenario's outcome against one fixture.
type ServerRun struct {
	Name       string                  `json:"name"`
	Label      string                  `json:"label"`
	Command    string                  `json:"command"`
	ServerCPUs string                  `json:"server_cpus"`
	GenCPUs    string                  `json:"generator_cpus"`
	Skipped    string                  `json:"skipped,omitempty"`
	IdleRSS    int64                   `json:"idle_rss_bytes,omitempty"`
	Density    *loadgen.DensityResult  `json:"density,omitempty"`
	Fanout     *loadgen.FanoutResult   `json:"fanout,omitempty"`
	Echo       *loadgen.EchoResult     `json:"echo,omitempty"`
	Connect    *loadgen.ConnectResult  `json:"connect,omitempty"`
	PollFanout *loadgen.FanoutResult   `json:"pollfanout,omitempty"`
	AppDensity *loadgen.DensityResult  `json:"appdensity,omitempty"`
	Blocking   *loadgen.BlockingResult `json:"blocking,omitempty"`
	Errors     []string                `json:"errors,omitempty"`
	// OtherLoad is the number of cores unrelated processes kept busy just
	// before each scenario started (after waiting up to -wait-quiet).
	OtherLoad map[string]float64 `json:"other_load_before,omitempty"`
}

// Results is the whole output of one `fanio-bench all`.
type Results struct {
	Date            string      `json:"date"`
	Mode            string      `json:"mode"`
	Machine         Machine     `json:"machine"`
	Versions        Versions    `json:"versions"`
	CommandLine     string      `json:"command_line"`
	Commands        []string    `json:"commands"`
	Profile         Profile     `json:"profile"`
	Runs            []ServerRun `json:"runs"`
	DurationSeconds float64     `json:"duration_seconds"`
	ResultsFile     string      `json:"-"`
}

func (o *Options) defaults() {
	if o.Root == "" {
		wd, _ := os.Getwd()
		o.Root = FindRoot(wd)
	}
	if o.OutDir == "" {
		o.OutDir = filepath.Join(o.Root, "bench", "results")
	}
	if o.MD == "" {
		o.MD = filepath.Join(o.Root, "BENCHMARKS.md")
	}
	if o.ServerCPUs == "" {
		o.ServerCPUs = "0"
	}
	if o.GenCPUs == "" {
		o.GenCPUs = "1"
	}
	if o.BothCPUs == "" {
		o.BothCPUs = "0,1"
	}
	if o.Port == 0 {
		o.Port = 3101
	}
	if o.Srcs == 0 {
		o.Srcs = 16
	}
	if len(o.Servers) == 0 {
		o.Servers = []string{"node", "go-1core", "go-2core"}
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = Scenarios
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.WaitQuiet < 0 { // auto
		o.WaitQuiet = 30 * time.Second
		if o.Quick {
			o.WaitQuiet = 5 * time.Second
		}
	}
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, format+"\n", args...)
}

// parseCPUList turns "0,1" or "0-1" into CPU numbers.
func parseCPUList(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		if a, b, ok := strings.Cut(part, "-"); ok {
			x, _ := strconv.Atoi(a)
			y, _ := strconv.Atoi(b)
			for i := x; i <= y; i++ {
				out = append(out, i)
			}
		} else if n, err := strconv.Atoi(strings.TrimSpace(part)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// PinSelf pins every thread of this process to the CPUs in list.
func PinSelf(list string) error {
	cpus := parseCPUList(list)
	if len(cpus) == 0 {
		return fmt.Errorf("bad CPU list %q", list)
	}
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, e := range ents {
		tid, _ := strconv.Atoi(e.Name())
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return err
		}
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

// Run executes the suite and writes its outputs.
func Run(o Options) (*Results, error) {
	o.defaults()
	start := time.Now()
	prof := FullProfile()
	if o.Quick {
		prof = QuickProfile()
	}
	res := &Results{
		Date:        start.UTC().Format(time.RFC3339),
		Mode:        prof.Name,
		Machine:     CollectMachine(),
		CommandLine: o.CommandLine,
		Profile:     prof,
	}
	if err := PinSelf(o.GenCPUs); err != nil {
		o.logf("warning: could not pin the generator to CPUs %s: %v", o.GenCPUs, err)
	}
	tmp, err := os.MkdirTemp("", "fanio-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var specs []ServerSpec
	goBin, goErr := "", error(nil)
	for _, name := range o.Servers {
		switch name {
		case "node":
			if err := EnsureNodeModules(o.Root, o.logf); err != nil {
				res.Runs = append(res.Runs, ServerRun{Name: name, Skipped: err.Error()})
				continue
			}
			specs = append(specs, ServerSpec{
				Name: "node", Label: "Node socket.io (1 core)", Dir: o.Root, Port: o.Port,
				Argv:   []string{"taskset", "-c", o.ServerCPUs, "node", "bench/node/server.mjs", "--port", strconv.Itoa(o.Port)},
				GenPin: o.GenCPUs, Cores: o.ServerCPUs,
			})
		case "go-1core", "go-2core":
			if goBin == "" && goErr == nil {
				goBin, goErr = BuildGoServer(o.Root, tmp)
			}
			if goErr != nil {
				res.Runs = append(res.Runs, ServerRun{Name: name, Skipped: goErr.Error()})
				continue
			}
			spec := ServerSpec{Name: name, Dir: o.Root, Port: o.Port}
			if name == "go-1core" {
				spec.Label, spec.Cores, spec.GenPin = "fanio (1 core)", o.ServerCPUs, o.GenCPUs
				spec.Argv = []string{"taskset", "-c", o.ServerCPUs, goBin, "-addr", fmt.Sprintf("127.0.0.1:%d", o.Port), "-cores", "1"}
				spec.Env = []string{"GOMAXPROCS=1"}
			} else {
				// Two cores for the server; the generator has to share them.
				spec.Label, spec.Cores, spec.GenPin = "fanio (2 cores, shared with generator)", o.BothCPUs, o.BothCPUs
				spec.Argv = []string{"taskset", "-c", o.BothCPUs, goBin, "-addr", fmt.Sprintf("127.0.0.1:%d", o.Port), "-cores", "2"}
				spec.Env = []string{"GOMAXPROCS=2"}
			}
			specs = append(specs, spec)
		default:
			return nil, fmt.Errorf("unknown server %q (node, go-1core, go-2core)", name)
		}
	}
	res.Versions = CollectVersions(o.Root)

	var genCmds []string
	for _, spec := range specs {
		run := ServerRun{Name: spec.Name, Label: spec.Label, Command: strings.Join(spec.Argv, " "), ServerCPUs: spec.Cores, GenCPUs: spec.GenPin}
		res.Commands = append(res.Commands, strings.Join(spec.Argv, " "))
		for _, sc := range o.Scenarios {
			srv, err := StartServer(spec)
			if err != nil {
				if errors.Is(err, ErrNotImplemented) {
					run.Skipped = "the Go fixture bench/server is still a stub (exit status 3): " + firstLine(strings.TrimPrefix(err.Error(), ErrNotImplemented.Error()+": "))
					o.logf("[%s] skipped: %s", spec.Name, run.Skipped)
				} else {
					run.Skipped = err.Error()
					o.logf("[%s] cannot start: %v", spec.Name, err)
				}
				break
			}
			load := loadgen.ForeignLoad(time.Second)
			for waited := time.Duration(0); load > QuietCores && waited < o.WaitQuiet; waited += 3 * time.Second {
				o.logf("[%s] machine busy with other processes (%.2f cores): waiting for quiet (%v of %v)", spec.Name, load, waited, o.WaitQuiet)
				time.Sleep(2 * time.Second)
				load = loadgen.ForeignLoad(time.Second)
			}
			if load > QuietCores {
				o.logf("[%s] WARNING: other processes keep %.2f cores busy; %s numbers will be disturbed", spec.Name, load, sc)
			}
			if run.OtherLoad == nil {
				run.OtherLoad = map[string]float64{}
			}
			run.OtherLoad[sc] = load
			if run.IdleRSS == 0 {
				run.IdleRSS = loadgen.ProcRSS(srv.PID)
			}
			env := &loadgen.Env{
				Targets:   []string{fmt.Sprintf("127.0.0.1:%d", spec.Port)},
				PID:       srv.PID,
				StatsURL:  fmt.Sprintf("http://127.0.0.1:%d/stats", spec.Port),
				Srcs:      loadgen.SourceAddrs(o.Srcs),
				PerWorker: o.PerWorker,
				Pin:       spec.GenPin,
				Label:     spec.Name + " " + sc,
				Log:       o.Log,
				Progress:  o.Progress,
			}
			o.logf("[%s] %s (server pid %d on CPUs %s, generator on CPUs %s)", spec.Name, sc, srv.PID, spec.Cores, spec.GenPin)
			var serr error
			switch sc {
			case "density":
				run.Density, serr = loadgen.Density(env, prof.Density)
			case "fanout":
				run.Fanout, serr = loadgen.Fanout(env, prof.Fanout)
			case "echo":
				run.Echo, serr = loadgen.Echo(env, prof.Echo)
			case "connect":
				run.Connect, serr = loadgen.Connect(env, prof.Connect)
			case "pollfanout":
				run.PollFanout, serr = loadgen.Fanout(env, prof.PollFanout)
			case "appdensity":
				run.AppDensity, serr = loadgen.Density(env, prof.AppDensity)
			case "blocking":
				run.Blocking, serr = loadgen.Blocking(env, prof.Blocking)
			default:
				serr = fmt.Errorf("unknown scenario %q", sc)
			}
			if serr != nil {
				run.Errors = append(run.Errors, sc+": "+serr.Error())
				o.logf("[%s] %s: %v", spec.Name, sc, serr)
			}
			if !srv.Alive() {
				msg := fmt.Sprintf("%s: server died: %s", sc, lastLines(srv.Log(), 5))
				run.Errors = append(run.Errors, msg)
				o.logf("[%s] %s", spec.Name, msg)
			}
			for _, c := range env.Commands() {
				if !slices.Contains(genCmds, c) {
					genCmds = append(genCmds, c)
				}
			}
			srv.Stop()
		}
		res.Runs = append(res.Runs, run)
	}
	res.Commands = append(res.Commands, genCmds...)
	res.DurationSeconds = time.Since(start).Seconds()
	if o.NoWrite {
		return res, nil
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return res, err
	}
	name := fmt.Sprintf("%s-%s.json", start.UTC().Format("2006-01-02_150405"), prof.Name)
	res.ResultsFile = filepath.Join(o.OutDir, name)
	if err := WriteJSON(res.ResultsFile, res); err != nil {
		return res, err
	}
	o.logf("results: %s", res.ResultsFile)
	plots, err := WritePlots(res, o.OutDir)
	if err != nil {
		o.logf("plots: %v", err)
	}
	for _, p := range plots {
		o.logf("plot: %s", p)
	}
	if err := UpdateMarkdown(o.MD, res, o.Root, plots); err != nil {
		return res, err
	}
	o.logf("tables: %s", o.MD)
	return res, nil
}

// WriteJSON writes v indented.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// FreePort returns a loopback port nothing listens on now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
