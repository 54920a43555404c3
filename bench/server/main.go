// Command server is the Go fixture of fanio-bench (package fixture: the
// fanio counterpart of bench/node/server.mjs), started by `fanio-bench all`
// as
//
//	taskset -c 0   fanio-bench-server -addr 127.0.0.1:3101 -cores 1
//	taskset -c 0,1 fanio-bench-server -addr 127.0.0.1:3101 -cores 2
//
// by `fanio-bench metrics` with and without -metrics (GET /metrics,
// handler timing on), to measure what publishing metrics costs, and with
// -redis URL (a cluster through Redis: redisadapter, classic protocol or
// sharded with -redis-sharded) by `fanio-bench cluster`; in a cluster it
// serves the other nodes' sessions (a balancer without sticky sessions)
// unless -redis-no-forward, and /stats then also gives "forwarded" and
// "served" (requests), for `fanio-bench nosticky`; and with -recovery
// (connection state recovery; the Node fixture takes --recovery yes) by
// bench/battery's jitter scenario.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/fanio/fanio/bench/fixture"
	"github.com/fanio/fanio/redisadapter"
	"github.com/fanio/fanio/sio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3101", "listen address")
	cores := flag.Int("cores", 1, "event loops (and GOMAXPROCS unless -procs)")
	procs := flag.Int("procs", 0, "GOMAXPROCS (0: -cores)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (profiling only; off in benchmark runs)")
	withMetrics := flag.Bool("metrics", false, "serve GET /metrics (Prometheus; handler timing on)")
	redisURL := flag.String("redis", "", "join a cluster through Redis at this URL (redisadapter), for `fanio-bench cluster`")
	redisSharded := flag.Bool("redis-sharded", false, "with -redis: the sharded protocol")
	recovery := flag.Bool("recovery", false, "connection state recovery (bench/battery jitter)")
	maxOutbound := flag.Int("max-outbound", 0, "MaxOutboundBytes (0: the default, 4 MiB)")
	noForward := flag.Bool("redis-no-forward", false, "with -redis: do not serve other nodes' sessions (a balancer with sticky sessions)")
	flag.Parse()
	if *procs <= 0 {
		*procs = *cores
	}
	runtime.GOMAXPROCS(*procs)
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	var adapter func(*sio.Namespace) sio.Adapter
	if *redisURL != "" {
		rc, err := redisadapter.NewClient(context.Background(), redisadapter.Options{URL: *redisURL, Sharded: *redisSharded, NoForwarding: *noForward})
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanio bench server:", err)
			os.Exit(1)
		}
		defer rc.Close()
		adapter = rc.Adapter
	}
	srv := fixture.New(fixture.Options{EventLoops: *cores, Metrics: *withMetrics, Adapter: adapter,
		Recovery: *recovery, MaxOutboundBytes: *maxOutbound})
	if err := srv.Start(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "fanio bench server:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
