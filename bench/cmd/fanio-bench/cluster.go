package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fanio/fanio/bench/clusterbench"
	"github.com/fanio/fanio/bench/runner"
)

// runCluster is `fanio-bench cluster`: cross-node fan-out through Redis,
// fanio nodes against Node nodes (see package clusterbench).
func runCluster(args []string) int {
	fs := flag.NewFlagSet("cluster", flag.ExitOnError)
	quick := fs.Bool("quick", false, "shorter windows (3 s)")
	servers := fs.String("servers", "fanio,node", "server kinds, in order")
	sharded := fs.Bool("sharded", false, "the sharded protocol (createShardedAdapter)")
	subs := fs.Int("subs", 1000, "WebSocket subscribers on the receiving node")
	rates := fs.String("rates", "100,1000,5000", "offered pubs/s")
	duration := fs.Duration("duration", 10*time.Second, "window length (quick: 3 s)")
	size := fs.Int("size", 64, "payload bytes")
	jsonOut := fs.String("json", "", "results file (default bench/results/<date>-cluster.json)")
	md := fs.String("md", "", "markdown file to update (default BENCHMARKS.md)")
	noWrite := fs.Bool("no-write", false, "print only: write no results or markdown")
	waitQuiet := fs.Duration("wait-quiet", time.Minute, "before each step, wait up to this long for other processes to go quiet")
	report := fs.String("report", "", "run nothing: rewrite the markdown section from this results file")
	_ = fs.Parse(args)
	wd, _ := os.Getwd()
	root := runner.FindRoot(wd)
	mdPath := *md
	if mdPath == "" {
		mdPath = filepath.Join(root, "BENCHMARKS.md")
	}
	if *report != "" {
		b, err := os.ReadFile(*report)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
			return 1
		}
		var res clusterbench.Result
		if err := json.Unmarshal(b, &res); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
			return 1
		}
		section := res.Markdown(filepath.Base(*report))
		fmt.Println(section)
		if err := clusterbench.UpdateMarkdown(mdPath, res.Protocol, section); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
			return 1
		}
		return 0
	}
	rl, err := floatList(*rates)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench cluster: -rates:", err)
		return 2
	}
	o := clusterbench.Options{Root: root, Servers: strings.Split(*servers, ","), Sharded: *sharded, Subscribers: *subs, Rates: rl,
		Duration: *duration, Warmup: 2 * time.Second, Size: *size, WaitQuiet: *waitQuiet,
		Logf: func(format string, a ...any) { fmt.Fprintf(os.Stderr, "[cluster] "+format+"\n", a...) }}
	if *quick {
		o.Duration, o.Warmup = 3*time.Second, time.Second
	}
	res, err := clusterbench.Run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
		return 1
	}
	res.CommandLine = "fanio-bench cluster " + strings.Join(args, " ")
	name := ""
	if !*noWrite {
		path := *jsonOut
		if path == "" {
			name = time.Now().UTC().Format("2006-01-02_150405") + "-cluster-" + res.Protocol + ".json"
			path = filepath.Join(root, "bench", "results", name)
		}
		if err := runner.WriteJSON(path, res); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
			return 1
		}
	}
	section := res.Markdown(name)
	fmt.Println(section)
	if !*noWrite {
		if err := clusterbench.UpdateMarkdown(mdPath, res.Protocol, section); err != nil {
			fmt.Fprintln(os.Stderr, "fanio-bench cluster:", err)
			return 1
		}
	}
	return 0
}
