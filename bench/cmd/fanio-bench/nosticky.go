package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/nosticky"
	"github.com/fanio/fanio/bench/runner"
)

// runNoSticky is `fanio-bench nosticky`: polling through a balancer with
// sticky sessions and through one without (see package nosticky).
func runNoSticky(args []string) int {
	fs := flag.NewFlagSet("nosticky", flag.ExitOnError)
	quick := fs.Bool("quick", false, "shorter windows (3 s)")
	servers := fs.String("servers", "fanio,node", "server kinds, in order")
	clients := fs.Int("clients", 50, "polling clients")
	rates := fs.String("rates", "250,1000", "offered echo cycles/s (a POST and a GET each), all clients")
	duration := fs.Duration("duration", 10*time.Second, "window length (quick: 3 s)")
	rounds := fs.Int("rounds", 3, "windows per mode and rate, sticky and round-robin interleaved (quick: 1)")
	jsonOut := fs.String("json", "", "results file (default bench/results/<date>-nosticky.json)")
	noWrite := fs.Bool("no-write", false, "print only: write no results file")
	noPin := fs.Bool("no-pin", false, "no taskset")
	nodeCPUs := fs.String("node-cpus", "0", "taskset CPU list of the nodes")
	split := fs.Bool("split-nodes", false, "pin the first node to the first CPU of -node-cpus, the second to the second")
	otherCPUs := fs.String("other-cpus", "1", "taskset CPU list of this process (clients, balancer) and redis-server")
	waitQuiet := fs.Duration("wait-quiet", 30*time.Second, "before each step, wait up to this long for other processes to go quiet")
	_ = fs.Parse(args)
	wd, _ := os.Getwd()
	root := runner.FindRoot(wd)
	rl, err := floatList(*rates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench nosticky: -rates:", err)
		return 2
	}
	o := nosticky.Options{Root: root, Servers: strings.Split(*servers, ","), Clients: *clients, Rates: rl,
		Duration: *duration, Warmup: 2 * time.Second, Rounds: *rounds, NoPin: *noPin, NodeCPUs: *nodeCPUs, SplitNodes: *split, OtherCPUs: *otherCPUs, WaitQuiet: *waitQuiet,
		Logf: func(format string, a ...any) { fmt.Fprintf(os.Stderr, "[nosticky] "+format+"\n", a...) }}
	if *quick {
		o.Duration, o.Warmup, o.Rounds = 3*time.Second, time.Second, 1
	}
	res, err := nosticky.Run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench nosticky:", err)
		return 1
	}
	res.CommandLine = "fanio-bench nosticky " + strings.Join(args, " ")
	name := ""
	if !*noWrite {
		path := *jsonOut
		if path == "" {
			name = time.Now().UTC().Format("2006-01-02_150405") + "-nosticky.json"
			path = filepath.Join(root, "bench", "results", name)
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench nosticky:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "wrote", path)
	}
	fmt.Println(res.Markdown(name))
	return 0
}
