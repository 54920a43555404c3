package metricscost

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
	"github.com/fanio/fanio/bench/runner"
)

// Params configure Run.
type Params struct {
	Root        string        // the fanio checkout (for go build ./bench/server)
	Rounds      int           // interleaved rounds (off,on then on,off ...); default 3
	Subs        int           // fanout subscribers; default 1000
	FanoutRate  float64       // pubs/s; default 100
	EchoClients int           // default 100
	EchoRate    float64       // total emits/s; default 5000
	Duration    time.Duration // per measured window; default 5 s
	Warmup      time.Duration // unmeasured, before each scenario; default 1 s
	ScrapeEvery time.Duration // scrape interval while metrics are on; default 1 s
	ServerCores string        // taskset CPU list of the server; default "0"
	GenPin      string        // taskset CPU list of the generator's workers; default "1"
	Log         io.Writer
	JSON        string // results file ("" for none)
}

// Result is one scenario run in one mode.
type Result struct {
	Round    int              `json:"round"`
	Metrics  bool             `json:"metrics"`
	Scenario string           `json:"scenario"` // fanout | echo
	Step     loadgen.LoadStep `json:"step"`
	Scrapes  int              `json:"scrapes"`
	// Agree: what the last scrape showed against the generator's counts
	// (metrics on only); empty when they agree.
	Disagree []string `json:"disagree,omitempty"`
}

// Report is what Run returns and writes.
type Report struct {
	Date    string         `json:"date"`
	Machine runner.Machine `json:"machine"`
	Params  Params         `json:"params"`
	Results []Result       `json:"results"`
}

func (p *Params) defaults() {
	if p.Rounds <= 0 {
		p.Rounds = 3
	}
	if p.Subs <= 0 {
		p.Subs = 1000
	}
	if p.FanoutRate <= 0 {
		p.FanoutRate = 100
	}
	if p.EchoClients <= 0 {
		p.EchoClients = 100
	}
	if p.EchoRate <= 0 {
		p.EchoRate = 5000
	}
	if p.Duration <= 0 {
		p.Duration = 5 * time.Second
	}
	if p.Warmup < 0 {
		p.Warmup = 0
	}
	if p.ScrapeEvery <= 0 {
		p.ScrapeEvery = time.Second
	}
	if p.ServerCores == "" {
		p.ServerCores = "0"
	}
	if p.GenPin == "" {
		p.GenPin = "1"
	}
	if p.Log == nil {
		p.Log = os.Stdout
	}
}

// Run measures the fan-out and echo scenarios against the fixture server
// with metrics off and on, Rounds times interleaved, and checks every "on"
// run's scrape against the generator's counts.
func Run(p Params) (*Report, error) {
	p.defaults()
	dir, err := os.MkdirTemp("", "fanio-metricscost")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin, err := runner.BuildGoServer(p.Root, dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Machine: runner.CollectMachine(), Params: p}
	for round := 1; round <= p.Rounds; round++ {
		modes := []bool{false, true}
		if round%2 == 0 {
			modes = []bool{true, false}
		}
		for _, on := range modes {
			res, err := p.runMode(bin, round, on)
			if err != nil {
				return rep, err
			}
			rep.Results = append(rep.Results, res...)
		}
	}
	p.summary(rep)
	if p.JSON != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(p.JSON, b, 0o644); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func (p *Params) runMode(bin string, round int, on bool) ([]Result, error) {
	port, err := runner.FreePort()
	if err != nil {
		return nil, err
	}
	argv := []string{"taskset", "-c", p.ServerCores, bin, "-addr", "127.0.0.1:" + strconv.Itoa(port), "-cores", "1"}
	if on {
		argv = append(argv, "-metrics")
	}
	name := map[bool]string{false: "metrics-off", true: "metrics-on"}[on]
	srv, err := runner.StartServer(runner.ServerSpec{Name: name, Argv: argv, Dir: p.Root, Port: port})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := &loadgen.Env{Targets: []string{addr}, PID: srv.PID, StatsURL: "http://" + addr + "/stats",
		Srcs: loadgen.SourceAddrs(16), Pin: p.GenPin, Label: name, Log: p.Log}
	url := "http://" + addr + "/metrics"

	// While metrics are on, a scraper as Prometheus would be.
	stop := make(chan struct{})
	var scrapes int
	var mu sync.Mutex
	var wg sync.WaitGroup
	if on {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(p.ScrapeEvery)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					if _, err := Scrape(url); err == nil {
						mu.Lock()
						scrapes++
						mu.Unlock()
					}
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	count := func() int { mu.Lock(); defer mu.Unlock(); return scrapes }

	var out []Result
	var before Samples
	if on {
		if before, err = Scrape(url); err != nil {
			return nil, err
		}
	}
	fan, err := loadgen.Fanout(env, loadgen.FanoutParams{Transport: "websocket", Subscribers: p.Subs, Rates: []float64{p.FanoutRate},
		Duration: p.Duration, Warmup: p.Warmup, Size: 64, Concurrency: 64})
	if err != nil {
		return nil, fmt.Errorf("%s fanout: %w", name, err)
	}
	r := Result{Round: round, Metrics: on, Scenario: "fanout", Step: fan.Steps[0], Scrapes: count()}
	if on {
		after, err := Scrape(url)
		if err != nil {
			return nil, err
		}
		// The warm-up published too: the server's counts are at least
		// the window's, and its deliveries are its broadcasts times the
		// room.
		b, d := Delta(before, after, "fanio_broadcasts_total"), Delta(before, after, "fanio_deliveries_total")
		if b < float64(r.Step.Sent) || d != b*float64(fan.Connected) {
			r.Disagree = append(r.Disagree, fmt.Sprintf("fanout: server %v broadcasts, %v deliveries; generator %d pubs, %d delivered to %d", b, d, r.Step.Sent, r.Step.Delivered, fan.Connected))
		}
		before = after
	}
	out = append(out, r)

	echo, err := loadgen.Echo(env, loadgen.EchoParams{Clients: p.EchoClients, Rates: []float64{p.EchoRate},
		Duration: p.Duration, Warmup: p.Warmup, Size: 64, Concurrency: 64})
	if err != nil {
		return nil, fmt.Errorf("%s echo: %w", name, err)
	}
	r = Result{Round: round, Metrics: on, Scenario: "echo", Step: echo.Steps[0], Scrapes: count()}
	if on {
		after, err := Scrape(url)
		if err != nil {
			return nil, err
		}
		ev := Delta(before, after, `fanio_handler_duration_seconds_count{kind="event"}`)
		sent := Delta(before, after, "fanio_packets_sent_total")
		clients := float64(echo.Connected)
		if ev < float64(r.Step.Sent) || sent != ev+clients {
			r.Disagree = append(r.Disagree, fmt.Sprintf("echo: server %v events, %v packets sent; generator %d sent, %d acked, %v clients", ev, sent, r.Step.Sent, r.Step.Delivered, clients))
		}
	}
	out = append(out, r)
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Table renders the medians per scenario and mode as Markdown.
func Table(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| scenario | metrics | deliveries or acks/s | p50 µs | p99 µs | server CPU-s per M (user + sys) | scrapes | agree |\n|---|---|---|---|---|---|---|---|\n")
	for _, sc := range []string{"fanout", "echo"} {
		for _, on := range []bool{false, true} {
			var rate, p50, p99, user, sys []float64
			scrapes, disagree, runs := 0, 0, 0
			for _, r := range rep.Results {
				if r.Scenario != sc || r.Metrics != on {
					continue
				}
				runs++
				rate = append(rate, r.Step.PerSec)
				p50 = append(p50, r.Step.Latency.P50Us)
				p99 = append(p99, r.Step.Latency.P99Us)
				user = append(user, r.Step.ServerCPUPerMillion.User)
				sys = append(sys, r.Step.ServerCPUPerMillion.Sys)
				scrapes += r.Scrapes
				disagree += len(r.Disagree)
			}
			if runs == 0 {
				continue
			}
			agree := "—"
			if on {
				agree = "yes"
				if disagree > 0 {
					agree = fmt.Sprintf("NO (%d)", disagree)
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %.2f + %.2f | %d | %s |\n", sc, map[bool]string{false: "off", true: "on"}[on],
				median(rate), median(p50), median(p99), median(user), median(sys), scrapes, agree)
		}
	}
	return b.String()
}

func (p *Params) summary(rep *Report) {
	fmt.Fprintf(p.Log, "\nmedians of %d interleaved rounds (server pinned to CPU %s, generator to %s):\n%s", p.Rounds, p.ServerCores, p.GenPin, Table(rep))
	for _, r := range rep.Results {
		for _, d := range r.Disagree {
			fmt.Fprintf(p.Log, "round %d: %s\n", r.Round, d)
		}
	}
}

// DefaultJSON is the results file name for today.
func DefaultJSON(root string) string {
	return filepath.Join(root, "bench", "results", time.Now().UTC().Format("2006-01-02_150405")+"-metrics.json")
}
