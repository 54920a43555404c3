// Command sio-conformance is the Socket.IO server the public Socket.IO
// protocol test suite (test-suite/ of socketio/socket.io-protocol) expects:
//
//   - path /socket.io/, pingInterval 300 ms, pingTimeout 200 ms,
//     maxPayload 1000000, connectTimeout 1 s, CORS "*";
//   - on connection to "/", emit "auth" with the handshake's auth payload;
//     answer "message" with "message-back" carrying the same arguments, and
//     "message-with-ack" by acknowledging with the same arguments;
//   - on connection to "/custom", emit "auth" with the auth payload.
//
// Run it with:
//
//	go run ./examples/sio-conformance -addr 127.0.0.1:3000
//
// With -mount it is served as an http.Handler on a net/http server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/fanio/fanio/sio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	mount := flag.Bool("mount", false, "serve mounted on a net/http server instead of on the server's own listener")
	flag.Parse()

	srv := sio.NewServer(sio.Options{
		PingInterval:   300 * time.Millisecond,
		PingTimeout:    200 * time.Millisecond,
		MaxPayload:     1_000_000,
		CORS:           &sio.CORS{Origins: []string{"*"}},
		ConnectTimeout: time.Second,
	})
	srv.OnConnection(func(s *sio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth())
		s.On("message", func(s *sio.Socket, args sio.Args, _ sio.Ack) {
			_ = s.Emit("message-back", args.Any()...)
		})
		s.On("message-with-ack", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
	})
	srv.Of("/custom").OnConnection(func(s *sio.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth())
	})
	if *mount {
		mux := http.NewServeMux()
		mux.Handle("/socket.io/", srv)
		go func() {
			fmt.Fprintln(os.Stderr, "sio-conformance:", http.ListenAndServe(*addr, mux))
			os.Exit(1)
		}()
		slog.Info("sio-conformance listening (mounted on net/http)", "addr", *addr)
	} else {
		if err := srv.Start(*addr); err != nil {
			fmt.Fprintln(os.Stderr, "sio-conformance:", err)
			os.Exit(1)
		}
		slog.Info("sio-conformance listening", "addr", srv.Addr())
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}
