// Command battery re-measures what issue 10 ("hold under attack and
// faults") found, against fanio and the Node.js reference (socket.io 4.8),
// each a fresh process of the fanio-bench fixtures (bench/server,
// bench/node/server.mjs) per scenario:
//
//		go run ./bench/battery [flags] slowreader pollbacklog flood buffered jitter release
//		go run ./bench/battery all
//
//	  - slowreader: WebSocket members of a busy room that never read; peak
//	    server RSS per slow reader, and whether they are cut.
//	  - pollbacklog: polling members that never poll but post a pong every
//	    5 s; peak RSS per member, when (if ever) their sessions end, and an
//	    unrelated client's acknowledgement round trips meanwhile.
//	  - flood: 4 clients sending 1 MB packets (500,000 array elements, or
//	    one 1 MB string) as fast as they can; an unrelated client's
//	    acknowledgement round trips (p50/p99/max).
//	  - buffered: the official client's offline buffer (2,000 and 10,000
//	    emits) flushed in one polling POST: how many are acknowledged.
//	  - jitter: 1,000 official clients (4 Node processes) whose connections
//	    a proxy resets every 2-8 s, 60 s of numbered events to their room:
//	    delivery with and without connection state recovery.
//	  - release: RSS after 10,000 sockets disconnect, over two minutes of
//	    idleness.
//
// The machine may be shared: the numbers say what bounds hold, not rates.
// Results go to stdout (a table per scenario) and, with -json, to a file.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
	"github.com/fanio/fanio/bench/runner"
)

type config struct {
	root       string
	goBin      string
	servers    []string
	cpus       string // taskset list for the servers ("" = not pinned)
	cores      int    // fanio's event loops and GOMAXPROCS
	duration   time.Duration
	quick      bool
	transports string // jitter's clients: "" (polling, then upgrade) or "websocket"
}

// result is one scenario's numbers for one server.
type result struct {
	Scenario string         `json:"scenario"`
	Server   string         `json:"server"`
	Params   map[string]any `json:"params,omitempty"`
	Values   map[string]any `json:"values"`
	Notes    []string       `json:"notes,omitempty"`
}

func main() {
	var cfg config
	servers := flag.String("servers", "fanio,node", "servers to measure: fanio, node")
	flag.StringVar(&cfg.cpus, "cpus", "0", "taskset CPU list for the server (empty: not pinned)")
	flag.IntVar(&cfg.cores, "cores", 1, "fanio's event loops (and GOMAXPROCS)")
	flag.DurationVar(&cfg.duration, "duration", 0, "override each scenario's duration")
	flag.BoolVar(&cfg.quick, "quick", false, "shorter runs (jitter 20 s, 300 clients)")
	flag.StringVar(&cfg.transports, "transports", "", "jitter's clients: empty for the client's default (polling, then upgrade), or websocket")
	jsonOut := flag.String("json", "", "write the results as JSON to this file")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: battery [flags] slowreader|pollbacklog|flood|buffered|jitter|release|all ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	cfg.servers = strings.Split(*servers, ",")
	wd, _ := os.Getwd()
	cfg.root = runner.FindRoot(wd)
	scenarios := flag.Args()
	if len(scenarios) == 1 && scenarios[0] == "all" {
		scenarios = []string{"slowreader", "pollbacklog", "flood", "buffered", "jitter", "release"}
	}
	tmp, err := os.MkdirTemp("", "battery-")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(tmp)
	if cfg.goBin, err = runner.BuildGoServer(cfg.root, tmp); err != nil {
		fatal(err)
	}
	if err := runner.EnsureNodeModules(cfg.root, logf); err != nil {
		fatal(err)
	}
	var all []result
	for _, sc := range scenarios {
		run, ok := scenarioFuncs[sc]
		if !ok {
			fatal(fmt.Errorf("unknown scenario %q", sc))
		}
		for _, srv := range cfg.servers {
			logf("== %s against %s", sc, srv)
			res, err := run(&cfg, srv)
			if err != nil {
				logf("%s/%s: %v", sc, srv, err)
				res = append(res, result{Scenario: sc, Server: srv, Values: map[string]any{"error": err.Error()}})
			}
			for _, r := range res {
				printResult(r)
			}
			all = append(all, res...)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"date": time.Now().UTC().Format(time.RFC3339), "machine": runner.CollectMachine(),
			"command": strings.Join(os.Args, " "), "results": all,
		}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fatal(err)
		}
	}
}

var scenarioFuncs = map[string]func(*config, string) ([]result, error){
	"slowreader":  slowReader,
	"pollbacklog": pollBacklog,
	"flood":       flood,
	"buffered":    buffered,
	"jitter":      jitter,
	"release":     release,
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "battery:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[battery %s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func printResult(r result) {
	b, _ := json.Marshal(r.Values)
	fmt.Printf("%-12s %-6s %s\n", r.Scenario, r.Server, b)
	for _, n := range r.Notes {
		fmt.Printf("%-12s %-6s   %s\n", "", "", n)
	}
}

// freePort returns a loopback port nothing listens on.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 3199
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts a fresh fixture: "fanio" (bench/server) or "node"
// (bench/node/server.mjs), with extra flags.
func (c *config) startServer(name string, recovery bool, extra ...string) (*runner.Server, string, error) {
	port := freePort()
	var argv []string
	if c.cpus != "" {
		argv = []string{"taskset", "-c", c.cpus}
	}
	switch name {
	case "fanio":
		argv = append(argv, c.goBin, "-addr", "127.0.0.1:"+strconv.Itoa(port), "-cores", strconv.Itoa(c.cores))
		if recovery {
			argv = append(argv, "-recovery")
		}
	case "node":
		argv = append(argv, "node", filepath.Join("bench", "node", "server.mjs"), "--port", strconv.Itoa(port))
		if recovery {
			argv = append(argv, "--recovery", "yes")
		}
	default:
		return nil, "", fmt.Errorf("unknown server %q", name)
	}
	argv = append(argv, extra...)
	s, err := runner.StartServer(runner.ServerSpec{Name: name, Argv: argv, Dir: c.root, Port: port})
	if err != nil {
		return nil, "", err
	}
	return s, "127.0.0.1:" + strconv.Itoa(port), nil
}

// rssSampler records the peak RSS of pid until stopped.
type rssSampler struct {
	pid  int
	peak int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if r := loadgen.ProcRSS(pid); r > s.peak {
				s.peak = r
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) Stop() int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func round(v float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func (c *config) dur(def time.Duration) time.Duration {
	if c.duration > 0 {
		return c.duration
	}
	return def
}
