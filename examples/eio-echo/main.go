// Command eio-echo is the fixture the public Engine.IO conformance suite
// expects: Engine.IO at /engine.io/, pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1000000, CORS *, every message sent back to its sender as is.
// With -mount it is served as an http.Handler on a net/http server (the
// suite passes the same way); with -allow-eio3 it also takes Engine.IO v3
// clients (the suite of the protocol repository's v3 branch).
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fanio/fanio/engine"
)

type echo struct{}

func (echo) OnMessage(s *engine.Session, data []byte, binary bool) { _ = s.Send(data, binary) }
func (echo) OnClose(*engine.Session, engine.DisconnectReason)      {}

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	pingInterval := flag.Duration("ping-interval", 300*time.Millisecond, "pingInterval (the conformance suite expects 300ms)")
	pingTimeout := flag.Duration("ping-timeout", 200*time.Millisecond, "pingTimeout (the conformance suite expects 200ms)")
	mount := flag.Bool("mount", false, "serve mounted on a net/http server instead of on the server's own listener")
	allowEIO3 := flag.Bool("allow-eio3", false, "also accept Engine.IO v3 clients (the v3 branch of the conformance suite)")
	flag.Parse()
	srv := engine.NewServer(engine.Options{
		Path:         "/engine.io/",
		PingInterval: *pingInterval,
		PingTimeout:  *pingTimeout,
		MaxPayload:   1_000_000,
		CORS:         &engine.CORS{Origins: []string{"*"}},
		AllowEIO3:    *allowEIO3,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	srv.OnConnection(func(s *engine.Session) { s.SetHandler(echo{}) })
	if *mount {
		mux := http.NewServeMux()
		mux.Handle("/engine.io/", srv)
		go func() { log.Fatal(http.ListenAndServe(*addr, mux)) }()
		log.Printf("eio-echo listening on %s (mounted on net/http)", *addr)
	} else {
		if err := srv.Start(*addr); err != nil {
			log.Fatal(err)
		}
		log.Printf("eio-echo listening on %s", srv.Addr())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}
