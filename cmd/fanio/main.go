// Command fanio is the standalone Socket.IO server: a hub of rooms.
//
// Clients (any Socket.IO v4 client) connect to the main namespace and emit
//
//	join    (room, ack?)              join a room; ack(rooms)
//	leave   (room, ack?)              leave a room; ack(rooms)
//	publish (room, event, data, ack?) emit event(data) to the room's other
//	                                  members; ack(count)
//
// Backends publish with an HTTP request on the same port:
//
//	POST /api/publish
//	Authorization: Bearer <token>          (when -token is set)
//	{"room":"news","event":"headline","data":{...}}
//
// answered 200 {"count":N} (N: members of the room on this node), 400 for a
// bad body, 401 without the token, 405 for other methods.
//
// It runs with no flags (port 3000 on every interface, path /socket.io/, the
// in-memory adapter) and shuts down gracefully on SIGINT or SIGTERM: every
// socket is disconnected with "server shutting down".
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fanio/fanio/sio"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fanio:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fanio", flag.ContinueOnError)
	addr := fs.String("addr", ":3000", "listen address (host:port)")
	path := fs.String("path", "/socket.io/", "Socket.IO path")
	cors := fs.String("cors", "*", "allowed CORS origins, comma-separated (empty: no CORS headers)")
	pingInterval := fs.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := fs.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	maxPayload := fs.Int("max-payload", 1_000_000, "largest message or polling body, bytes")
	connectTimeout := fs.Duration("connect-timeout", 45*time.Second, "close connections that join no namespace by then")
	maxOutbound := fs.Int("max-outbound", 4<<20, "bytes queued per connection before it is closed as a slow reader")
	transports := fs.String("transports", "polling,websocket", "allowed transports")
	token := fs.String("token", "", "bearer token required by POST /api/publish (empty: none)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	shutdownTimeout := fs.Duration("shutdown-timeout", 10*time.Second, "grace period on SIGINT/SIGTERM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := sio.Options{
		Path:             *path,
		PingInterval:     *pingInterval,
		PingTimeout:      *pingTimeout,
		MaxPayload:       *maxPayload,
		MaxOutboundBytes: *maxOutbound,
		Transports:       splitList(*transports),
		ConnectTimeout:   *connectTimeout,
		Logger:           log,
	}
	if origins := splitList(*cors); len(origins) > 0 {
		opts.CORS = &sio.CORS{Origins: origins}
	}
	h := newHub(opts, *token, log)
	if err := h.srv.Start(*addr); err != nil {
		return err
	}
	log.Info("listening", "addr", h.srv.Addr(), "path", *path)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	s := <-sig
	log.Info("shutting down", "signal", s.String())
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
