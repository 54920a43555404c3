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
//	Content-Type: application/json
//	Authorization: Bearer <token>          (when -token is set)
//	{"room":"news","event":"headline","data":{...}}
//
// answered 200 {"count":N} (N: members of the room on this node), 400 for a
// bad body, 401 without the token, 403 from a non-loopback address when no
// -token is set or from a browser origin not in -api-cors, 405 for other
// methods, 415 for another content type, 503 when the cluster could not be
// reached (the members on this node got it). A web page cannot publish: a
// cross-origin "simple" POST (text/plain, a form) is refused for its
// content type, and a JSON one needs a CORS preflight that only -api-cors
// origins pass. With "ack":true (and "timeout": milliseconds, default
// 5000) every member, on every node, is asked to acknowledge: the answer
// is {"count":N,"acks":[[args...],...]} with N answers, and an "error"
// saying why some are missing (timeout, disconnected).
//
// Operations: GET /metrics (Prometheus; -metrics=false turns it off),
// GET /healthz (alive) and GET /readyz (listening, not draining, cluster
// adapter connected: 200, else 503 with the failing check), on the main
// port or, with -metrics-addr, on a listener of their own; net/http/pprof
// only with -pprof ADDR, on a loopback listener of its own. The Socket.IO
// Admin UI's protocol with -admin-user and -admin-password-hash (a bcrypt
// hash) or -admin-no-auth, and its built files at /admin/ with
// -admin-ui-dir.
//
// Every flag can also be set by an environment variable: FANIO_ and the
// flag's name in capitals with underscores (-max-payload is
// FANIO_MAX_PAYLOAD); PORT sets the port when neither -addr nor FANIO_ADDR
// is given. A flag given on the command line wins. fanio -h lists them.
//
// With -redis URL it joins a cluster of fanio and Node.js nodes through
// Redis (@socket.io/redis-adapter's protocols; -redis-sharded, -redis-key,
// -redis-subscription-mode).
//
// It runs with no flags (port 3000 on every interface, path /socket.io/, the
// in-memory adapter) and shuts down gracefully on SIGINT or SIGTERM: /readyz
// turns 503 (for -shutdown-delay), then every socket is disconnected with
// "server shutting down". With -tls-cert and -tls-key it serves wss:// and
// https polling. It exits with status 1 if the server stops by itself (its
// event loops died, its listener failed for good): a supervisor sees it.
// Logs go to stderr, as text or JSON (-log-format); README.md says what is
// logged at each level.
//
// With -allow-eio3 it also accepts socket.io-client 2.x clients (Engine.IO
// v3), which join the same rooms and get the same publications.
//
// With -parser msgpack it speaks socket.io-msgpack-parser's packets instead
// of the default JSON ones (clients must be configured with that parser,
// or load socket.io.msgpack.min.js).
//
// With -client-dir DIR (socket.io-client's dist directory) it also serves
// the browser bundle, as the reference server's serveClient does:
// /socket.io/socket.io.js, socket.io.min.js, socket.io.esm.min.js,
// socket.io.msgpack.min.js and their .map files, with ETag/304 and gzip.
//
// Clustered nodes serve each other's sessions, so the load balancer in
// front needs no sticky sessions (plain round robin works, polling
// included): a polling request for another node's session is forwarded to
// that node over a direct connection between the nodes, and a WebSocket
// upgrade moves the session to the node it reached. Each node listens for
// the others on -redis-peer-addr (default: a free port on the interface
// that reaches Redis) and advertises -redis-peer-advertise (default: that
// address) in Redis. -redis-forward=false turns this off (for a balancer
// that pins clients): a request for another node's session then gets 400
// "Session ID unknown", as with Node.
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

	"github.com/fanio/fanio/admin"
	"github.com/fanio/fanio/metrics"
	"github.com/fanio/fanio/redisadapter"
	"github.com/fanio/fanio/sio"
)

func main() {
	err := run(os.Args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fanio:", err)
		os.Exit(1)
	}
}

// run serves until SIGINT or SIGTERM (nil), or fails (why). -h returns
// flag.ErrHelp after the usage is printed.
func run(args []string) error {
	c, err := parseConfig(args, os.Getenv, os.Stdout)
	if err != nil {
		return err
	}
	var level slog.Level
	if err = level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if c.logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	} else {
		log = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	}

	parser, err := sio.ParserByName(c.parser)
	if err != nil {
		return fmt.Errorf("-parser: %w", err)
	}
	opts := sio.Options{
		Parser:                parser,
		Path:                  c.path,
		PingInterval:          c.pingInterval,
		PingTimeout:           c.pingTimeout,
		MaxPayload:            c.maxPayload,
		MaxOutboundBytes:      c.maxOutbound,
		MaxOutboundBytesTotal: c.maxOutboundAll,
		ShutdownWindow:        c.shutdownWindow,
		MaxConnections:        c.maxConns,
		Transports:            splitList(c.transports),
		ConnectTimeout:        c.connectTimeout,
		AllowEIO3:             c.allowEIO3,
		Logger:                log,
	}
	if c.dropVolatile {
		opts.SlowReaderPolicy = sio.DropVolatile
	}
	if origins := splitList(c.cors); len(origins) > 0 {
		opts.CORS = &sio.CORS{Origins: origins, Credentials: c.corsCredentials}
	}
	if c.clientDir != "" {
		if opts.ServeClient, err = clientBundle(c.clientDir); err != nil {
			return fmt.Errorf("-client-dir: %w", err)
		}
	}
	if c.pprofAddr != "" {
		if err := loopbackAddr(c.pprofAddr); err != nil {
			return fmt.Errorf("-pprof: %w", err)
		}
	}
	var adminStore admin.Store // in Redis with a cluster: one login for every node
	if c.redisURL != "" {
		mode := redisadapter.SubscriptionMode(c.redisMode)
		if mode != redisadapter.Dynamic && mode != redisadapter.DynamicPrivate && mode != redisadapter.Static {
			return fmt.Errorf("-redis-subscription-mode: %q is not dynamic, dynamic-private or static", c.redisMode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		rc, err := redisadapter.NewClient(ctx, redisadapter.Options{
			URL: c.redisURL, Sharded: c.redisSharded, Key: c.redisKey, SubscriptionMode: mode, Logger: log,
			NoForwarding: !c.redisForward, PeerAddr: c.peerAddr, PeerAdvertise: c.peerAdvertise,
		})
		cancel()
		if err != nil {
			return err
		}
		defer rc.Close()
		opts.Adapter = rc.Adapter
		adminStore = rc.AdminSessions()
		link := rc.Stats().Link
		log.Info("cluster", "redis", redisadapter.RedactURL(c.redisURL), "sharded", c.redisSharded, "key", c.redisKey,
			"forward", c.redisForward, "node", link.NodeID, "peer_addr", link.Addr)
	}

	ctx, stopAside := context.WithCancel(context.Background())
	defer stopAside()
	hl := &health{}
	mux := http.NewServeMux()
	h := newHub(opts, mux, hubOptions{token: c.token, apiOrigins: splitList(c.apiCORS)}, log)
	hl.srv = h.srv

	aside := http.NewServeMux() // -metrics-addr: metrics and health apart
	opsMux := mux
	if c.metricsAddr != "" {
		opsMux = aside
	}
	hl.register(opsMux)
	if c.metrics {
		opsMux.Handle("GET /metrics", metrics.Handler(h.srv, metrics.Options{}))
	}
	if c.adminEnabled() {
		aopts := admin.Options{
			Namespace: c.adminNamespace,
			NoAuth:    c.adminNoAuth,
			ReadOnly:  c.adminReadonly,
			Mode:      c.adminMode,
			ServerID:  c.adminServerID,
			Store:     adminStore,
		}
		if c.adminUser != "" {
			aopts.Auth = &admin.BasicAuth{Username: c.adminUser, PasswordHash: c.adminPasswordHash}
		}
		a, err := admin.Instrument(h.srv, aopts)
		if err != nil {
			return err
		}
		defer a.Close()
		if c.adminUIDir != "" {
			ui, err := adminUI(c.adminUIDir)
			if err != nil {
				return fmt.Errorf("-admin-ui-dir: %w", err)
			}
			mux.Handle("GET /admin/", ui)
			mux.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))
		}
		log.Info("admin UI protocol served", "namespace", c.adminNamespace, "auth", !c.adminNoAuth,
			"readonly", c.adminReadonly, "mode", c.adminMode, "ui", c.adminUIDir != "")
	}
	if c.metricsAddr != "" {
		if _, err := serveAside(ctx, c.metricsAddr, aside, log, "metrics and health"); err != nil {
			return err
		}
	}
	if c.pprofAddr != "" {
		if _, err := serveAside(ctx, c.pprofAddr, pprofHandler(), log, "pprof"); err != nil {
			return err
		}
	}

	ln, err := listen(c.addr)
	if err != nil {
		return err
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
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
	hl.listening.Store(true)
	log.Info("listening", "addr", ln.Addr().String(), "path", c.path, "tls", c.tlsCert != "",
		"publish", h.publishPolicy(), "metrics", c.metrics, "pprof", c.pprofAddr, "parser", parser.Name())

	select {
	case err := <-served:
		// Only Shutdown ends Serve normally, and it has not been called.
		hl.listening.Store(false)
		return fmt.Errorf("server stopped: %w", err)
	case s := <-sig:
		log.Info("shutting down", "signal", s.String(), "delay", c.shutdownDelay)
	}
	hl.draining.Store(true)
	if c.shutdownDelay > 0 {
		select {
		case <-time.After(c.shutdownDelay):
		case s := <-sig:
			log.Info("second signal: not waiting", "signal", s.String())
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	if err := h.srv.Shutdown(sctx); err != nil {
		return err
	}
	hl.listening.Store(false)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server stopped: %w", err)
	}
	if c.redisURL != "" && c.redisForward {
		st := h.srv.Engine().ClusterStats()
		log.Info("cluster totals", "forwarded", st.Forwarded, "served_for_others", st.Served,
			"taken_over", st.TakenOver, "handed_over", st.HandedOver, "upgrades_refused", st.UpgradesRefused,
			"forward_failures", st.ForwardFailures)
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
