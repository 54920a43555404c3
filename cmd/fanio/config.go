package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is every setting of the command. Each comes from its flag, else
// from its environment variable (FANIO_ and the flag's name in capitals,
// dashes as underscores: -admin-user is FANIO_ADMIN_USER), else from its
// default; PORT (as platforms set it) stands for FANIO_ADDR=":$PORT" when
// neither -addr nor FANIO_ADDR is given.
type config struct {
	addr            string
	path            string
	cors            string
	corsCredentials bool
	allowEIO3       bool
	pingInterval    time.Duration
	pingTimeout     time.Duration
	maxPayload      int
	connectTimeout  time.Duration
	maxOutbound     int
	maxOutboundAll  int
	dropVolatile    bool
	shutdownWindow  time.Duration
	transports      string
	token           string
	apiCORS         string
	logLevel        string
	logFormat       string
	shutdownTimeout time.Duration
	shutdownDelay   time.Duration
	clientDir       string
	tlsCert         string
	tlsKey          string
	maxConns        int
	parser          string

	redisURL     string
	redisSharded bool
	redisKey     string
	redisMode    string
	// cluster: serving the other nodes' sessions (no sticky sessions)
	redisForward  bool
	peerAddr      string
	peerAdvertise string

	metrics     bool
	metricsAddr string
	pprofAddr   string

	adminUser         string
	adminPasswordHash string
	adminNoAuth       bool
	adminReadonly     bool
	adminMode         string
	adminNamespace    string
	adminServerID     string
	adminUIDir        string
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "FANIO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads args and the environment (getenv). It returns
// flag.ErrHelp after printing the usage for -h.
func parseConfig(args []string, getenv func(string) string, usageOut io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("fanio", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.StringVar(&c.addr, "addr", ":3000", "listen address (host:port); $PORT sets the port when neither -addr nor $FANIO_ADDR is given")
	fs.StringVar(&c.path, "path", "/socket.io/", "Socket.IO path")
	fs.StringVar(&c.cors, "cors", "*", "origins allowed by the Socket.IO endpoint's CORS headers, comma-separated; * for any (empty: no CORS headers)")
	fs.BoolVar(&c.corsCredentials, "cors-credentials", false, "send Access-Control-Allow-Credentials for the origins of -cors (polling clients with withCredentials, the hosted admin UI); needs explicit origins, not *")
	fs.BoolVar(&c.allowEIO3, "allow-eio3", false, "also accept socket.io-client 2.x clients (Engine.IO v3, Socket.IO protocol v4), as the reference's allowEIO3 (in a browser cross-origin they send credentials: see -cors-credentials)")
	fs.DurationVar(&c.pingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.DurationVar(&c.pingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.IntVar(&c.maxPayload, "max-payload", 1_000_000, "largest message or polling body, bytes")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 45*time.Second, "close connections that join no namespace by then")
	fs.IntVar(&c.maxOutbound, "max-outbound", 4<<20, "bytes a connection may hold unwritten before it is closed as a slow reader")
	fs.IntVar(&c.maxOutboundAll, "max-outbound-total", 0, "bytes all connections may hold unwritten together; past it the largest backlogs are closed first (0: no total)")
	fs.BoolVar(&c.dropVolatile, "drop-volatile", false, "over -max-outbound, drop a connection's queued volatile packets before closing it")
	fs.DurationVar(&c.shutdownWindow, "shutdown-window", 0, "spread the disconnections of a shutdown over this window (within -shutdown-timeout)")
	fs.StringVar(&c.transports, "transports", "polling,websocket", "allowed transports")
	fs.StringVar(&c.token, "token", "", "bearer token required by POST /api/publish (empty: publishing is accepted from loopback addresses only)")
	fs.StringVar(&c.apiCORS, "api-cors", "", "browser origins allowed to call POST /api/publish (comma-separated; empty: none — web pages cannot publish)")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", "text", "text or json")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "grace period on SIGINT/SIGTERM")
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", 0, "on SIGINT/SIGTERM, answer /readyz with 503 for this long before disconnecting (lets a load balancer stop sending new clients)")
	fs.StringVar(&c.clientDir, "client-dir", "", "serve the socket.io-client browser bundle under the path (socket.io.js, .min.js, .esm.min.js, maps) from this directory, e.g. node_modules/socket.io-client/dist (empty: not served)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate (PEM) file: serve wss:// and https (with -tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key (PEM) file")
	fs.StringVar(&c.parser, "parser", "json", "packet encoding: json (socket.io-parser, the default) or msgpack (socket.io-msgpack-parser; clients must use the same)")
	fs.IntVar(&c.maxConns, "max-connections", 0, "connections held at most; past it new ones are closed at once (0: the open-file limit minus a reserve; -1: no bound)")
	fs.StringVar(&c.redisURL, "redis", "", "join a cluster through Redis at this URL, redis://host:port[/db] ($FANIO_REDIS_URL works too; empty: a single node)")
	fs.BoolVar(&c.redisSharded, "redis-sharded", false, "use the sharded Redis protocol (SPUBLISH, Redis 7+; Node's createShardedAdapter)")
	fs.StringVar(&c.redisKey, "redis-key", "socket.io", "prefix of the Redis channels (Node's key / channelPrefix)")
	fs.StringVar(&c.redisMode, "redis-subscription-mode", "dynamic", "sharded mode: dynamic, dynamic-private or static")
	fs.BoolVar(&c.redisForward, "redis-forward", true, "serve the requests of another node's sessions (forward polling, move sessions on upgrade), so the load balancer needs no sticky sessions; false: such requests get 400 Session ID unknown")
	fs.StringVar(&c.peerAddr, "redis-peer-addr", "", "with -redis-forward: where to listen for the other nodes (host:port; default a free port on the interface that reaches Redis)")
	fs.StringVar(&c.peerAdvertise, "redis-peer-advertise", "", "with -redis-forward: the address the other nodes dial (host:port; default the one listened on)")
	fs.BoolVar(&c.metrics, "metrics", true, "serve Prometheus metrics at GET /metrics")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "serve /metrics, /healthz and /readyz on this address instead of -addr (e.g. 127.0.0.1:9464)")
	fs.StringVar(&c.pprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060; empty: off)")
	fs.StringVar(&c.adminUser, "admin-user", "", "Socket.IO Admin UI: the user name (with -admin-password-hash)")
	fs.StringVar(&c.adminPasswordHash, "admin-password-hash", "", "Socket.IO Admin UI: the bcrypt hash of the password ($2a$, $2b$ or $2y$)")
	fs.BoolVar(&c.adminNoAuth, "admin-no-auth", false, "Socket.IO Admin UI without authentication (anyone reaching the server can administer it)")
	fs.BoolVar(&c.adminReadonly, "admin-readonly", false, "Socket.IO Admin UI: refuse its commands (emit, join, leave, disconnect)")
	fs.StringVar(&c.adminMode, "admin-mode", "development", "Socket.IO Admin UI: development (sockets, rooms and events streamed) or production (aggregated stats only)")
	fs.StringVar(&c.adminNamespace, "admin-namespace", "/admin", "Socket.IO Admin UI: its namespace")
	fs.StringVar(&c.adminServerID, "admin-server-id", "", "Socket.IO Admin UI: this node's name in the UI's server list (default: the host name; give each node of a cluster its own)")
	fs.StringVar(&c.adminUIDir, "admin-ui-dir", "", "serve the Admin UI's files (@socket.io/admin-ui's ui/dist) at /admin/ (empty: not served; the hosted UI needs -cors https://admin.socket.io -cors-credentials)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fanio [flags]\n\nThe standalone Socket.IO hub. Every flag may also be set by its environment\nvariable, shown after it (a flag given on the command line wins).\n\n")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(fs.Output(), "  -%s  $%s%s\n    \t%s\n", f.Name, envName(f.Name), def, f.Usage)
		})
	}

	// The environment first, then the command line over it.
	var envErrs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v, ok := lookup(getenv, name)
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			envErrs = append(envErrs, fmt.Errorf("$%s=%q: %v", name, v, err))
		}
	})
	// FANIO_REDIS_URL, the variable's first name, stands for FANIO_REDIS.
	if _, ok := lookup(getenv, envName("redis")); !ok {
		if u, ok := lookup(getenv, "FANIO_REDIS_URL"); ok {
			c.redisURL = u
		}
	}
	if _, ok := lookup(getenv, envName("addr")); !ok {
		if port, ok := lookup(getenv, "PORT"); ok {
			c.addr = ":" + port
		}
	}
	if err := errors.Join(envErrs...); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q (flags only; see -h)", fs.Args())
	}
	return c, c.check()
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// check refuses contradictory or unsafe settings with a clear message.
func (c *config) check() error {
	var errs []error
	if (c.tlsCert == "") != (c.tlsKey == "") {
		errs = append(errs, errors.New("-tls-cert and -tls-key go together"))
	}
	if c.parser != "json" && c.parser != "msgpack" {
		errs = append(errs, fmt.Errorf("-parser %q: want json or msgpack", c.parser))
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		errs = append(errs, fmt.Errorf("-log-format %q: want text or json", c.logFormat))
	}
	if c.corsCredentials {
		for _, o := range splitList(c.cors) {
			if o == "*" {
				errs = append(errs, errors.New("-cors-credentials needs explicit -cors origins: with *, every web site could make credentialed requests"))
			}
		}
		if len(splitList(c.cors)) == 0 {
			errs = append(errs, errors.New("-cors-credentials needs -cors origins"))
		}
	}
	switch {
	case c.adminNoAuth && (c.adminUser != "" || c.adminPasswordHash != ""):
		errs = append(errs, errors.New("-admin-no-auth excludes -admin-user and -admin-password-hash"))
	case (c.adminUser == "") != (c.adminPasswordHash == ""):
		errs = append(errs, errors.New("-admin-user and -admin-password-hash go together"))
	}
	if c.adminMode != "development" && c.adminMode != "production" {
		errs = append(errs, fmt.Errorf("-admin-mode %q: want development or production", c.adminMode))
	}
	if c.adminUIDir != "" && !c.adminEnabled() {
		errs = append(errs, errors.New("-admin-ui-dir needs the admin namespace: -admin-user and -admin-password-hash, or -admin-no-auth"))
	}
	return errors.Join(errs...)
}

func (c *config) adminEnabled() bool { return c.adminNoAuth || c.adminUser != "" }
