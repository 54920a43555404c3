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
// bad body, 401 without the token, 405 for other methods, 503 when the
// cluster could not be reached (the members on this node got it).
//
// It runs with no flags (port 3000 on every interface, path /socket.io/, the
// in-memory adapter) and shuts down gracefully on SIGINT or SIGTERM: every
// socket is disconnected with "server shutting down". With -tls-cert and
// -tls-key it serves wss:// and https polling. It exits with status 1 if the
// server stops by itself (its event loops died, its listener failed for
// good): a supervisor sees it.
//
// With -client-dir DIR (socket.io-client's dist directory) it also serves
// the browser bundle, as the reference server's serveClient does:
// /socket.io/socket.io.js, socket.io.min.js, socket.io.esm.min.js,
// socket.io.msgpack.min.js and their .map files, with ETag/304 and gzip.
//
// With -redis redis://host:port[/db] (or $FANIO_REDIS_URL) it joins a
// cluster through Redis (package redisadapter): broadcasts, room joins and
// publishes reach every node — other fanio nodes, and Node.js servers
// running @socket.io/redis-adapter with the same key — so the hub's rooms
// span the cluster. -redis-sharded selects the sharded protocol
// (createShardedAdapter; Redis 7+), -redis-key the channel prefix (Node's
// key / channelPrefix option). If Redis cannot be reached at start, fanio
// exits with an error; once running, it reconnects by itself.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fanio/fanio/redisadapter"
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
	clientDir := fs.String("client-dir", "", "serve the socket.io-client browser bundle under the path (socket.io.js, .min.js, .esm.min.js, maps) from this directory, e.g. node_modules/socket.io-client/dist (empty: not served)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate (PEM) file: serve wss:// and https (with -tls-key)")
	tlsKey := fs.String("tls-key", "", "TLS private key (PEM) file")
	maxConns := fs.Int("max-connections", 0, "connections held at most; past it new ones are closed at once (0: the open-file limit minus a reserve; -1: no bound)")
	redisURL := fs.String("redis", os.Getenv("FANIO_REDIS_URL"), "join a cluster through Redis at this URL, redis://host:port[/db] (default $FANIO_REDIS_URL; empty: a single node)")
	redisSharded := fs.Bool("redis-sharded", false, "use the sharded Redis protocol (SPUBLISH, Redis 7+; Node's createShardedAdapter)")
	redisKey := fs.String("redis-key", "socket.io", "prefix of the Redis channels (Node's key / channelPrefix)")
	redisMode := fs.String("redis-subscription-mode", "dynamic", "sharded mode: dynamic, dynamic-private or static")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	var level slog.Level
	var err error
	if err = level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := sio.Options{
		Path:             *path,
		PingInterval:     *pingInterval,
		PingTimeout:      *pingTimeout,
		MaxPayload:       *maxPayload,
		MaxOutboundBytes: *maxOutbound,
		MaxConnections:   *maxConns,
		Transports:       splitList(*transports),
		ConnectTimeout:   *connectTimeout,
		Logger:           log,
	}
	if origins := splitList(*cors); len(origins) > 0 {
		opts.CORS = &sio.CORS{Origins: origins}
	}
	if *clientDir != "" {
		if opts.ServeClient, err = clientBundle(*clientDir); err != nil {
			return fmt.Errorf("-client-dir: %w", err)
		}
	}
	if *redisURL != "" {
		mode := redisadapter.SubscriptionMode(*redisMode)
		if mode != redisadapter.Dynamic && mode != redisadapter.DynamicPrivate && mode != redisadapter.Static {
			return fmt.Errorf("-redis-subscription-mode: %q is not dynamic, dynamic-private or static", *redisMode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rc, err := redisadapter.NewClient(ctx, redisadapter.Options{
			URL: *redisURL, Sharded: *redisSharded, Key: *redisKey, SubscriptionMode: mode, Logger: log,
		})
		cancel()
		if err != nil {
			return err
		}
		defer rc.Close()
		opts.Adapter = rc.Adapter
		log.Info("cluster", "redis", redisadapter.RedactURL(*redisURL), "sharded", *redisSharded, "key", *redisKey)
	}
	h := newHub(opts, *token, log)
	ln, err := listen(*addr)
	if err != nil {
		return err
	}
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			ln.Close()
			return err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	}
	// Signals first, so that one arriving while serving starts is not lost.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "path", *path, "tls", *tlsCert != "")

	select {
	case err := <-served:
		// Only Shutdown ends Serve normally, and it has not been called.
		return fmt.Errorf("server stopped: %w", err)
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), *shutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server stopped: %w", err)
	}
	log.Info("stopped")
	return nil
}

// clientBundle opens dir as the socket.io-client dist directory, which must
// hold socket.io.js or socket.io.min.js.
func clientBundle(dir string) (iofs.FS, error) {
	fsys := os.DirFS(dir)
	for _, name := range []string{"socket.io.js", "socket.io.min.js"} {
		if _, err := iofs.Stat(fsys, name); err == nil {
			return fsys, nil
		}
	}
	return nil, fmt.Errorf("%s holds neither socket.io.js nor socket.io.min.js (want socket.io-client's dist directory)", dir)
}

// listen binds the server's address (a variable for the tests). No TCP
// keep-alive: the Engine.IO heartbeat finds dead peers.
var listen = func(addr string) (net.Listener, error) {
	return (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr)
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
