package engine

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Options configure a Server. The zero value of every field means its
// default, as stated on the field; the names follow the options of the
// reference server (engine.io's ServerOptions) where it has them.
type Options struct {
	// Path is where the server answers ("path"); requests elsewhere go to
	// NotFound. A missing trailing slash is added. Default "/engine.io/".
	Path string
	// PingInterval is how often the server pings ("pingInterval");
	// default 25 s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for the pong before it
	// closes the session ("pingTimeout"); default 20 s.
	PingTimeout time.Duration
	// UpgradeTimeout bounds a polling→WebSocket upgrade from the probe to
	// the upgrade packet ("upgradeTimeout"); default 10 s.
	UpgradeTimeout time.Duration
	// MaxPayload is the largest message, WebSocket message or polling
	// POST body, in bytes ("maxHttpBufferSize"; announced to clients as
	// maxPayload); default 1e6.
	MaxPayload int
	// Transports allowed ("transports"); default both, polling and
	// websocket. Order is irrelevant.
	Transports []string
	// DisableUpgrades refuses polling→WebSocket upgrades ("allowUpgrades:
	// false"); by default they are allowed.
	DisableUpgrades bool
	// AllowEIO3 accepts clients of Engine.IO protocol v3 (socket.io-client
	// 2.x, engine.io-client 3.x) beside v4 ones ("allowEIO3"). Each session
	// speaks the version its handshake asked for (EIO=4, or v3 for any
	// other value or none): v3's client-side heartbeat, its polling
	// payloads ("<length>:<packet>", XHR2 binary payloads, base64 binary
	// for clients that ask for it) and binary WebSocket frames; see
	// Session.Protocol. Off by default: a v3 handshake is refused with 400
	// {"code":5,"message":"Unsupported protocol version"} (a bare 400 with
	// that text on a WebSocket upgrade), as the reference does. JSONP
	// polling (the "j" parameter) is served to both versions either way.
	AllowEIO3 bool
	// CORS sets the cross-origin headers of polling responses ("cors");
	// nil sends none.
	CORS *CORS
	// Cookie sets the "io" cookie on the handshake ("cookie"); nil sets
	// none.
	Cookie *Cookie
	// AllowRequest may refuse a handshake ("allowRequest"): a non-nil
	// error is sent to the client in a 403 {"code":4,"message":...}
	// answer. It runs on an event loop: it must not block. nil allows all.
	AllowRequest func(r *HandshakeRequest) error
	// PerMessageDeflate enables the negotiation of WebSocket
	// permessage-deflate ("perMessageDeflate"); off by default.
	PerMessageDeflate bool
	// DeflateThreshold: WebSocket messages smaller than this are not
	// compressed (perMessageDeflate.threshold); default 1024 bytes.
	DeflateThreshold int
	// HTTPCompressionThreshold: polling responses of at least this many
	// bytes are gzip- or deflate-compressed when the client accepts it
	// ("httpCompression.threshold"); default 1024; a negative value
	// disables compression ("httpCompression: false").
	HTTPCompressionThreshold int

	// MaxOutboundBytes is each session's outbound budget: what it may hold
	// unwritten, its polling queue or its WebSocket's queue plus the bytes
	// the kernel refused (each packet's bookkeeping counts too). It is
	// checked before a packet is queued, never after a copy; what the
	// event loop copies for a slow WebSocket is bounded to 64 KiB, the
	// rest of its backlog being kept by reference (a broadcast's bytes are
	// shared by its members). A packet that does not fit closes the
	// session as a slow reader (ReasonSlowReader; counted in
	// Stats().SlowReaders) unless SlowReaderPolicy says otherwise. A
	// polling answer carries at most 256 KiB of it; the rest waits for the
	// next GET. Default 4 MiB.
	MaxOutboundBytes int
	// SlowReaderPolicy is what happens to a session whose packet does not
	// fit in MaxOutboundBytes: CloseSlowReader (the default) or
	// DropVolatile. Session.SetSlowReaderPolicy sets it per session.
	SlowReaderPolicy SlowReaderPolicy
	// MaxOutboundBytesTotal is a budget for all the sessions together:
	// when a send takes the sum of their backlogs past it, the sessions
	// holding the most are closed as slow readers, largest first, until
	// the sum is under 7/8 of it (counted in Stats().BudgetCuts). Default
	// 0: none (each session still has MaxOutboundBytes).
	MaxOutboundBytesTotal int
	// NoMemoryRelease turns off the return of freed memory to the OS: by
	// default, when the number of sessions has fallen by half (and by at
	// least 1,000), the server calls debug.FreeOSMemory (at most once a
	// minute, from a goroutine of its own), since the Go runtime would
	// keep that memory for minutes on an idle server (measured in
	// bench/battery release). Set it when the application manages the
	// runtime's memory itself (GOMEMLIMIT, its own FreeOSMemory).
	NoMemoryRelease bool
	// ShutdownWindow spreads Shutdown's session closes evenly over this
	// window (within Shutdown's context), so that clients do not all
	// reconnect, to another node, in the same second. Default 0: all at
	// once.
	ShutdownWindow time.Duration
	// MaxHeaderBytes bounds a request's line and header fields on the
	// server's own listeners, and on WebSocket upgrades taken over from
	// net/http: past it the answer is 431. Default 16 KiB, as Node's http
	// server (maxHeaderSize); up to 2000 fields (Node's maxHeadersCount).
	// Polling requests served through a net/http server get that server's
	// limits.
	MaxHeaderBytes int
	// MaxConnections bounds the connections the server's own listeners hold
	// (Start, ListenAndServe, ListenAndServeTLS, Serve): past it a new
	// connection is closed as soon as it is accepted, so the process does
	// not run out of file descriptors for those it serves (counted in
	// Stats().RefusedConnections). Default: the process's open-file limit
	// minus 1/16 of it (at least 32, at most 1024 kept in reserve);
	// negative: no bound. A mounted server's connections are its net/http
	// server's to bound.
	MaxConnections int
	// TLSConfig is used by ListenAndServeTLS (which adds the certificate
	// and key files given to it, when not empty). TLS connections are
	// served on a goroutine each, not on the event loops (gnet has no TLS):
	// BENCHMARKS.md says what that costs.
	TLSConfig *tls.Config
	// EventLoops is the number of reactors (gnet event loops), each
	// serving its share of the connections; default runtime.GOMAXPROCS(0).
	// They start on first use: the first Start, ListenAndServe or Serve,
	// or the first WebSocket taken over by ServeHTTP.
	EventLoops int
	// SpareProc makes the event loops, when they start, raise GOMAXPROCS
	// to one more than their number. A reactor waits in epoll_wait holding
	// its P, so with none to spare the application's own goroutines
	// (timers, a publisher) wait 20 µs–10 ms for the runtime to take one
	// back on an idle server; the spare P costs CPU (measured +30–50% per
	// operation) where the process has one CPU. Off by default: loops
	// yield their P after each batch of reads instead, which is enough for
	// the handlers they wake.
	SpareProc bool
	// Logger receives the server's logs, the reactor's and gnet's own (at
	// debug level, so gnet never prints to stdout), and those of the
	// net/http server behind its own listeners (handler panics, TLS
	// handshake errors); default slog.Default().
	Logger *slog.Logger
	// NotFound serves the requests outside Path that reach the server's own
	// listeners, with net/http: the connection is handed from the event
	// loops to a net/http server from that request on, so responses stream
	// (http.Flusher, server-sent events), HEAD gets no body, the request's
	// context ends when the client goes, and panics are logged. nil
	// answers 404. A mounted server sees only what its mux routes to it,
	// and answers requests outside Path the same way.
	NotFound http.Handler
	// StaticFiles are answered at Path+Name (GET, HEAD), with ETag, 304
	// and compression prepared once; see StaticFile. sio.Options.ServeClient
	// fills it with the socket.io-client bundle. Default none.
	StaticFiles []StaticFile
}

// CORS configures the cross-origin headers of polling responses (the
// reference's "cors" option, as the cors package takes it).
type CORS struct {
	// Origins allowed; "*" allows any. An empty list disables CORS headers.
	Origins []string
	// Credentials sends Access-Control-Allow-Credentials: true (and then
	// echoes the origin instead of "*").
	Credentials bool
	// Methods answered to a preflight; default GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// Headers allowed in requests; default: echo Access-Control-Request-Headers.
	Headers []string
	// MaxAge of a preflight answer; 0 sends no Access-Control-Max-Age.
	MaxAge time.Duration
}

// Cookie configures the "io" cookie set on the handshake (the reference's
// "cookie" option).
type Cookie struct {
	Name     string // default "io"
	Path     string // default "/"
	HTTPOnly bool
	SameSite string // "Lax", "Strict", "None" or "" (no attribute)
}

func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = "/engine.io/"
	}
	if !strings.HasSuffix(o.Path, "/") {
		o.Path += "/"
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 25 * time.Second
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = 20 * time.Second
	}
	if o.UpgradeTimeout <= 0 {
		o.UpgradeTimeout = 10 * time.Second
	}
	if o.MaxPayload <= 0 {
		o.MaxPayload = 1e6
	}
	if len(o.Transports) == 0 {
		o.Transports = []string{TransportPolling, TransportWebSocket}
	}
	if o.DeflateThreshold <= 0 {
		o.DeflateThreshold = 1024
	}
	if o.HTTPCompressionThreshold == 0 {
		o.HTTPCompressionThreshold = 1024
	}
	if o.MaxOutboundBytes <= 0 {
		o.MaxOutboundBytes = 4 << 20
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 16 << 10
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
