// Command server is the Go fixture of fanio-bench: the fanio counterpart of
// bench/node/server.mjs, started by `fanio-bench all` as
//
//	taskset -c 0   fanio-bench-server -addr 127.0.0.1:3101 -cores 1
//	taskset -c 0,1 fanio-bench-server -addr 127.0.0.1:3101 -cores 2
//
// It implements the same contract as the Node fixture, with the same
// settings (path /socket.io/, pingInterval 25s, pingTimeout 20s,
// maxHttpBufferSize 1e6, no permessage-deflate, no HTTP compression, CORS *,
// polling + websocket with upgrades):
//
//   - join(room, ack): join room, then ack with no arguments;
//   - pub(payload): broadcast "msg" with that payload to room "r";
//   - echo(...args, ack): ack with the same args;
//   - block(ms, ack): block the handler for ms (at most 60 s: time.Sleep,
//     as a database call would), then ack with no arguments;
//   - namespace /app, a real application's: its middleware reads the auth
//     payload's token and the User-Agent header, refuses the connection
//     without them, and keeps the token as the socket's data;
//   - GET /stats: {"server":"fanio","rss","heapUsed","sockets","cpuUser","cpuSystem"}
//     (bytes and microseconds; sockets in / and /app); other paths outside
//     /socket.io/ get 404.
//
// With -redis URL it joins a cluster through Redis (redisadapter; classic
// protocol, or sharded with -redis-sharded), for `fanio-bench cluster`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fanio/fanio/redisadapter"
	"github.com/fanio/fanio/sio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3101", "listen address")
	cores := flag.Int("cores", 1, "event loops (and GOMAXPROCS unless -procs)")
	procs := flag.Int("procs", 0, "GOMAXPROCS (0: -cores)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address (profiling only; off in benchmark runs)")
	redisURL := flag.String("redis", "", "join a cluster through Redis at this URL (redisadapter)")
	redisSharded := flag.Bool("redis-sharded", false, "with -redis: the sharded protocol")
	flag.Parse()
	if *procs <= 0 {
		*procs = *cores
	}
	runtime.GOMAXPROCS(*procs)
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}

	var srv *sio.Server
	stats := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats" {
			http.NotFound(w, r)
			return
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"server":    "fanio",
			"rss":       rssBytes(),
			"heapUsed":  ms.HeapInuse,
			"sockets":   srv.Sockets().SocketCount() + srv.Of("/app").SocketCount(),
			"cpuUser":   ru.Utime.Sec*1e6 + ru.Utime.Usec,
			"cpuSystem": ru.Stime.Sec*1e6 + ru.Stime.Usec,
		})
	})
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var adapter func(*sio.Namespace) sio.Adapter
	if *redisURL != "" {
		rc, err := redisadapter.NewClient(context.Background(), redisadapter.Options{URL: *redisURL, Sharded: *redisSharded, Logger: log})
		if err != nil {
			fmt.Fprintln(os.Stderr, "fanio bench server:", err)
			os.Exit(1)
		}
		defer rc.Close()
		adapter = rc.Adapter
	}
	srv = sio.NewServer(sio.Options{
		Adapter:                  adapter,
		PingInterval:             25 * time.Second,
		PingTimeout:              20 * time.Second,
		MaxPayload:               1e6,
		CORS:                     &sio.CORS{Origins: []string{"*"}},
		HTTPCompressionThreshold: -1,
		EventLoops:               *cores,
		NotFound:                 stats,
		Logger:                   log,
	})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			if room, err := sio.Arg[string](args, 0); err == nil {
				s.Join(room)
			}
			if ack != nil {
				_ = ack()
			}
		})
		s.On("pub", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
			// (s.Namespace() rather than srv: a closure without captures is
			// one func value for every socket, so the sockets share their
			// handler list)
			if len(args) > 0 {
				_ = s.Namespace().To("r").Emit("msg", args[0])
			}
		})
		s.On("echo", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
		s.On("block", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			ms, _ := sio.Arg[int](args, 0)
			time.Sleep(time.Duration(min(max(ms, 0), 60_000)) * time.Millisecond)
			if ack != nil {
				_ = ack()
			}
		})
	})
	srv.Of("/app").Use(func(s *sio.Socket) error {
		hs := s.Handshake()
		var auth struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(hs.Auth(), &auth); err != nil || auth.Token == "" || hs.Header("User-Agent") == "" {
			return errors.New("unauthorized")
		}
		s.SetData(auth.Token)
		return nil
	})
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

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
