// Command fanio-bench is fanio's benchmark instrument: a Socket.IO load
// generator (Engine.IO v4 / Socket.IO v5 over WebSocket and HTTP
// long-polling) and a runner that compares fanio with the Node.js
// socket.io server.
//
//	fanio-bench density    -target ws://127.0.0.1:3001 [-steps 1000,5000,10000] [-app]
//	fanio-bench fanout     -target ws://127.0.0.1:3001 [-subs 1000 -rates 10,50,100 -saturate]
//	fanio-bench echo       -target ws://127.0.0.1:3001 [-clients 100 -rates 1000,5000]
//	fanio-bench connect    -target ws://127.0.0.1:3001 [-modes websocket,upgrade]
//	fanio-bench pollfanout -target ws://127.0.0.1:3001 [-subs 200 -rates 10,50]
//	fanio-bench blocking   -target ws://127.0.0.1:3001 [-blockers 500 -hold 2s -rates 200]
//	fanio-bench all [-quick] [-servers node,go-1core,go-2core]
//	fanio-bench cluster [-quick] [-sharded] [-subs 1000 -rates 100,1000,5000]
//	fanio-bench metrics [-rounds 3 -subs 1000 -rate 100 -clients 100 -echo-rate 5000]
//	fanio-bench nosticky [-quick] [-clients 50 -rates 250,1000]
//
// Every scenario writes a summary to stderr and, with -json, its results.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
	"github.com/fanio/fanio/bench/metricscost"
	"github.com/fanio/fanio/bench/runner"

	"golang.org/x/sys/unix"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: fanio-bench <scenario> [flags]

scenarios (against a running server, -target ws://127.0.0.1:3001):
  density     idle WebSocket sockets in steps; server RSS per socket
              (-app: real-application sockets, auth payload and header read by middleware)
  fanout      subscribers in room r, one publisher; deliveries/s, CPU, latency
  echo        clients emit echo with ack at a fixed rate; round trip
  connect     full Socket.IO connects per second (websocket, upgrade)
  pollfanout  fanout to HTTP long-polling subscribers
  blocking    N handlers blocked (block(2000)); an unrelated client's ack round trip
runner (starts the fixtures itself):
  all         every scenario against Node and fanio; results JSON, BENCHMARKS.md, plots
  cluster     two fanio nodes vs two Node nodes on one Redis: cross-node fan-out
  metrics     fanout and echo against the Go fixture with and without -metrics (scraped
              every second), interleaved rounds; checks the scrapes against the counts
  nosticky    polling through a balancer with and without sticky sessions: what forwarding costs

run "fanio-bench <scenario> -h" for its flags.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "__worker":
		if err := loadgen.ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench worker:", err)
			os.Exit(1)
		}
	case "density", "fanout", "echo", "connect", "pollfanout", "blocking":
		os.Exit(runScenario(cmd, args))
	case "all":
		os.Exit(runAll(args))
	case "cluster":
		os.Exit(runCluster(args))
	case "metrics":
		os.Exit(runMetrics(args))
	case "nosticky":
		os.Exit(runNoSticky(args))
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "fanio-bench: unknown command %q\n", cmd)
		usage()
		os.Exit(2)
	}
}

func isTTY(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(strings.ReplaceAll(strings.ReplaceAll(p, "k", "000"), "_", ""))
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func floatList(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(p, "k", "000"), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p)
		}
		out = append(out, f)
	}
	return out, nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// scenarioOutput is what -json writes for a single scenario.
type scenarioOutput struct {
	Scenario string           `json:"scenario"`
	Date     string           `json:"date"`
	Targets  []string         `json:"targets"`
	PID      int              `json:"server_pid,omitempty"`
	Command  string           `json:"command"`
	Workers  []string         `json:"worker_commands"`
	Machine  runner.Machine   `json:"machine"`
	Result   any              `json:"result"`
	Error    string           `json:"error,omitempty"`
	Versions *runner.Versions `json:"versions,omitempty"`
}

func runScenario(name string, args []string) int {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	target := fs.String("target", "ws://127.0.0.1:3001", "server URL(s), comma-separated; sockets are spread round-robin")
	path := fs.String("path", "/socket.io/", "Engine.IO path")
	pid := fs.Int("pid", 0, "server pid to sample in /proc (0: find the process listening on the target port; -1: none)")
	stats := fs.String("stats", "", "fixture stats URL (default http://<target>/stats; \"none\" to skip)")
	srcs := fs.Int("srcs", 16, "number of loopback source addresses 127.0.0.1..N")
	perWorker := fs.Int("per-worker", 18000, "max sockets (descriptors) per worker process")
	pin := fs.String("pin", "", "taskset CPU list for the worker processes (e.g. 1)")
	inproc := fs.Bool("inproc", false, "run workers inside this process (no re-exec)")
	jsonOut := fs.String("json", "", "write the results as JSON to this file")
	cpuProf := fs.String("cpuprofile", "", "write a CPU profile of this process (use with -inproc to profile the workers)")
	progress := fs.Bool("progress", true, "live status line (only when stdout is a terminal)")
	dur := fs.Duration("duration", 5*time.Second, "measured window per step (blocking: default hold/2)")
	warm := fs.Duration("warmup", time.Second, "unmeasured warm-up before the first step")
	size := fs.Int("size", 64, "payload bytes")
	conc := fs.Int("concurrency", 64, "handshakes in flight (per worker for density/fanout/echo, in all for connect)")
	var (
		steps    = fs.String("steps", "1000,5000,10000", "density: cumulative socket counts")
		settle   = fs.Duration("settle", 3*time.Second, "density: wait before sampling each step")
		subs     = fs.Int("subs", 1000, "fanout/pollfanout: subscribers")
		rates    = fs.String("rates", "", "offered rates: pubs/s (fanout, pollfanout) or total emits/s (echo; blocking: the probe's, default 200)")
		saturate = fs.Bool("saturate", true, "fanout/pollfanout: add a saturation step")
		batch    = fs.Int("batch", 10, "saturation: pubs per acked barrier")
		window   = fs.Int("window", 2, "saturation: barriers in flight")
		clients  = fs.Int("clients", 100, "echo: clients")
		modes    = fs.String("modes", "websocket,upgrade", "connect: websocket and/or upgrade")
		maxConn  = fs.Int("max", 0, "connect: stop after this many per mode (0: duration only)")
		app      = fs.Bool("app", false, "density: real-application sockets (connect to /app with an auth payload and a User-Agent; the fixture's middleware reads both)")
		blockers = fs.Int("blockers", 500, "blocking: clients whose handler blocks")
		hold     = fs.Duration("hold", 2*time.Second, "blocking: how long each blocked handler blocks")
		drain    = fs.Duration("drain", 10*time.Second, "blocking: how long to wait for late acks")
	)
	_ = fs.Parse(args)

	var targets []string
	for _, t := range strings.Split(*target, ",") {
		hp, err := loadgen.ParseTarget(strings.TrimSpace(t))
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench:", err)
			return 2
		}
		targets = append(targets, hp)
	}
	env := &loadgen.Env{
		Targets: targets, Path: *path, Srcs: loadgen.SourceAddrs(*srcs), PerWorker: *perWorker,
		InProc: *inproc, Pin: *pin, Label: name, Log: os.Stdout, Progress: *progress && isTTY(os.Stdout),
	}
	if *pid == 0 {
		_, port, _ := strings.Cut(targets[0], ":")
		p, _ := strconv.Atoi(port)
		if found, err := loadgen.FindListenerPID(p); err == nil {
			env.PID = found
		} else {
			fmt.Fprintf(os.Stderr, "fanio-bench: %v; server CPU and RSS will not be sampled (use -pid)\n", err)
		}
	} else if *pid > 0 {
		env.PID = *pid
	}
	switch *stats {
	case "none":
	case "":
		env.StatsURL = "http://" + targets[0] + "/stats"
	default:
		env.StatsURL = *stats
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench:", err)
			return 2
		}
		_ = pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	rateList, err := floatList(*rates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench:", err)
		return 2
	}
	out := scenarioOutput{Scenario: name, Date: time.Now().UTC().Format(time.RFC3339), Targets: targets, PID: env.PID,
		Command: strings.Join(os.Args, " "), Machine: runner.CollectMachine()}
	var res any
	switch name {
	case "density":
		st, err2 := intList(*steps)
		if err2 != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench:", err2)
			return 2
		}
		res, err = loadgen.Density(env, loadgen.DensityParams{Steps: st, Settle: *settle, Concurrency: *conc, App: *app})
	case "fanout", "pollfanout":
		tr := "websocket"
		if name == "pollfanout" {
			tr = "polling"
		}
		if len(rateList) == 0 {
			rateList = []float64{10, 50, 100}
		}
		res, err = loadgen.Fanout(env, loadgen.FanoutParams{Transport: tr, Subscribers: *subs, Rates: rateList, Saturate: *saturate,
			Duration: *dur, Warmup: *warm, Size: *size, Batch: *batch, Window: *window, Concurrency: *conc})
	case "echo":
		if len(rateList) == 0 {
			rateList = []float64{1000, 5000}
		}
		res, err = loadgen.Echo(env, loadgen.EchoParams{Clients: *clients, Rates: rateList, Duration: *dur, Warmup: *warm, Size: *size, Concurrency: *conc})
	case "blocking":
		rate := 200.0
		if len(rateList) > 0 {
			rate = rateList[0]
		}
		bdur := *dur
		if !isSet(fs, "duration") {
			bdur = *hold / 2
		}
		res, err = loadgen.Blocking(env, loadgen.BlockingParams{Blockers: *blockers, Hold: *hold, Rate: rate, Duration: bdur, Drain: *drain, Size: *size, Concurrency: *conc})
	case "connect":
		res, err = loadgen.Connect(env, loadgen.ConnectParams{Modes: strings.Split(*modes, ","), Duration: *dur, Concurrency: *conc, Max: *maxConn, Warmup: *warm})
	}
	out.Result = res
	out.Workers = env.Commands()
	if err != nil {
		out.Error = err.Error()
		fmt.Fprintln(os.Stderr, "fanio-bench:", err)
	}
	if *jsonOut != "" {
		if werr := runner.WriteJSON(*jsonOut, out); werr != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench:", werr)
			return 1
		}
		fmt.Fprintf(os.Stderr, "results: %s\n", *jsonOut)
	}
	if err != nil {
		return 1
	}
	return 0
}

func runAll(args []string) int {
	fs := flag.NewFlagSet("all", flag.ExitOnError)
	quick := fs.Bool("quick", false, "quick mode (< 5 minutes)")
	servers := fs.String("servers", "node,go-1core,go-2core", "fixtures to run")
	scen := fs.String("scenarios", strings.Join(runner.Scenarios, ","), "scenarios to run")
	outDir := fs.String("out", "", "results directory (default bench/results)")
	md := fs.String("md", "", "markdown file with the tables (default BENCHMARKS.md)")
	serverCPUs := fs.String("server-cpus", "0", "CPU list the servers are pinned to")
	genCPUs := fs.String("gen-cpus", "1", "CPU list the generator is pinned to")
	port := fs.Int("port", 3101, "port the fixtures listen on (127.0.0.1)")
	srcs := fs.Int("srcs", 16, "loopback source addresses")
	perWorker := fs.Int("per-worker", 18000, "max sockets per worker process")
	jsonOut := fs.String("json", "", "also write the results JSON here")
	waitQuiet := fs.Duration("wait-quiet", -1, "before each scenario, wait up to this long while other processes keep the machine busy (default 5s quick, 30s full)")
	_ = fs.Parse(args)
	res, err := runner.Run(runner.Options{
		Quick: *quick, Servers: strings.Split(*servers, ","), Scenarios: strings.Split(*scen, ","),
		OutDir: *outDir, MD: *md, ServerCPUs: *serverCPUs, GenCPUs: *genCPUs, Port: *port, Srcs: *srcs,
		PerWorker: *perWorker, Log: os.Stdout, Progress: isTTY(os.Stdout), CommandLine: "fanio-bench " + strings.Join(os.Args[1:], " "),
		WaitQuiet: *waitQuiet,
	})
	if res != nil && *jsonOut != "" {
		_ = runner.WriteJSON(*jsonOut, res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench:", err)
		return 1
	}
	return 0
}

// runMetrics measures what publishing metrics costs (package metricscost).
func runMetrics(args []string) int {
	fs := flag.NewFlagSet("metrics", flag.ExitOnError)
	p := metricscost.Params{}
	fs.IntVar(&p.Rounds, "rounds", 3, "interleaved rounds (off,on / on,off ...)")
	fs.IntVar(&p.Subs, "subs", 1000, "fanout subscribers")
	fs.Float64Var(&p.FanoutRate, "rate", 100, "fanout pubs/s")
	fs.IntVar(&p.EchoClients, "clients", 100, "echo clients")
	fs.Float64Var(&p.EchoRate, "echo-rate", 5000, "echo emits/s in all")
	fs.DurationVar(&p.Duration, "duration", 5*time.Second, "measured window per scenario")
	fs.DurationVar(&p.Warmup, "warmup", time.Second, "unmeasured warm-up per scenario")
	fs.DurationVar(&p.ScrapeEvery, "scrape-every", time.Second, "scrape interval while metrics are on")
	fs.StringVar(&p.ServerCores, "server-cpus", "0", "taskset CPU list of the server")
	fs.StringVar(&p.GenPin, "pin", "1", "taskset CPU list of the generator's workers")
	jsonOut := fs.String("json", "", "results file (default bench/results/<date>-metrics.json)")
	_ = fs.Parse(args)
	p.Root = runner.FindRoot(".")
	p.JSON = *jsonOut
	if p.JSON == "" {
		p.JSON = metricscost.DefaultJSON(p.Root)
	}
	rep, err := metricscost.Run(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench metrics:", err)
		return 1
	}
	for _, r := range rep.Results {
		if len(r.Disagree) > 0 {
			return 1
		}
	}
	fmt.Println("results:", p.JSON)
	return 0
}
