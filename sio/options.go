package sio

import (
	"crypto/tls"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/pool"
)

// CORS configures the cross-origin headers of polling responses (the
// reference's "cors" option).
type CORS = engine.CORS

// Cookie configures the "io" cookie set on the Engine.IO handshake (the
// reference's "cookie" option).
type Cookie = engine.Cookie

// HandshakeRequest is the request of an Engine.IO handshake, as
// Options.AllowRequest sees it.
type HandshakeRequest = engine.HandshakeRequest

// StaticFile is a file answered under Path (see engine.StaticFile).
type StaticFile = engine.StaticFile

// SlowReaderPolicy is what happens to a connection whose packet does not
// fit in its outbound budget (Options.MaxOutboundBytes).
type SlowReaderPolicy = engine.SlowReaderPolicy

// The slow reader policies (see engine.SlowReaderPolicy).
const (
	// CloseSlowReader closes the connection (the default).
	CloseSlowReader = engine.CloseSlowReader
	// DropVolatile drops the connection's queued volatile packets first
	// (Volatile), and closes it only if that does not make room.
	DropVolatile = engine.DropVolatile
)

// Options configure a Server. The zero value of every field means its
// default, as stated on the field. The Engine.IO settings a Node.js user
// passes to new Server({...}) are fields here under the same names
// (pingInterval → PingInterval, cors → CORS, maxHttpBufferSize →
// MaxPayload...), so a reference server's options port line by line;
// engine.Options documents them in full.
type Options struct {
	// Path is where the server answers ("path"); default "/socket.io/".
	Path string
	// PingInterval ("pingInterval"); default 25 s.
	PingInterval time.Duration
	// PingTimeout ("pingTimeout"); default 20 s.
	PingTimeout time.Duration
	// UpgradeTimeout ("upgradeTimeout"); default 10 s.
	UpgradeTimeout time.Duration
	// MaxPayload is the largest message or polling body in bytes
	// ("maxHttpBufferSize"); default 1e6.
	MaxPayload int
	// Transports allowed ("transports"); default polling and websocket.
	Transports []string
	// DisableUpgrades refuses polling→WebSocket upgrades ("allowUpgrades:
	// false"); by default they are allowed.
	DisableUpgrades bool
	// AllowEIO3 accepts socket.io-client 2.x clients ("allowEIO3"):
	// Engine.IO v3 connections speaking Socket.IO protocol v4, beside the
	// v4/v5 ones (see engine.Options.AllowEIO3 and the package doc). Off
	// by default: their handshake is refused, as by the reference.
	AllowEIO3 bool
	// CORS ("cors"); nil sends no CORS headers.
	CORS *CORS
	// Cookie ("cookie"); nil sets no cookie.
	Cookie *Cookie
	// AllowRequest may refuse a handshake ("allowRequest"): the error's
	// text goes to the client in a 403. It runs on an event loop and must
	// not block. nil allows every request.
	AllowRequest func(r *HandshakeRequest) error
	// PerMessageDeflate enables WebSocket compression ("perMessageDeflate");
	// off by default.
	PerMessageDeflate bool
	// DeflateThreshold: smaller WebSocket messages are not compressed
	// (perMessageDeflate.threshold); default 1024 bytes.
	DeflateThreshold int
	// HTTPCompressionThreshold: smaller polling responses are not
	// compressed ("httpCompression.threshold"); default 1024; negative
	// disables compression.
	HTTPCompressionThreshold int

	// MaxOutboundBytes is each connection's outbound budget: what it may
	// hold unwritten, on any transport, checked before a packet is queued;
	// past it the connection closes as a slow reader (its sockets
	// disconnect with ReasonSlowReader), or drops its volatile packets
	// first (SlowReaderPolicy). Default 4 MiB. See
	// engine.Options.MaxOutboundBytes.
	MaxOutboundBytes int
	// SlowReaderPolicy: CloseSlowReader (the default) or DropVolatile;
	// Socket.SetSlowReaderPolicy sets it per connection.
	SlowReaderPolicy SlowReaderPolicy
	// MaxOutboundBytesTotal is a budget for all connections together:
	// past it, those holding the most are closed first. Default 0: none.
	MaxOutboundBytesTotal int
	// NoMemoryRelease: by default, when the number of connections has
	// fallen by half (and by at least 1,000), freed memory is returned to
	// the OS (debug.FreeOSMemory, at most once a minute); set it to manage
	// the runtime's memory yourself (see engine.Options.NoMemoryRelease).
	NoMemoryRelease bool
	// ShutdownWindow spreads Shutdown's disconnections evenly over this
	// window, so that clients do not all reconnect in the same second.
	// Default 0: all at once.
	ShutdownWindow time.Duration
	// MaxHeaderBytes caps a request's line and headers; default 16 KiB
	// (and 2000 fields), as Node's http server.
	MaxHeaderBytes int
	// MaxConnections bounds the connections the server's own listeners
	// hold; past it new ones are closed at accept. Default: the open-file
	// limit minus a reserve; negative: no bound (see
	// engine.Options.MaxConnections).
	MaxConnections int
	// TLSConfig is used by ListenAndServeTLS (see engine.Options.TLSConfig).
	TLSConfig *tls.Config
	// EventLoops is the number of reactors; default runtime.GOMAXPROCS(0).
	EventLoops int
	// SpareProc raises GOMAXPROCS to keep a P spare from the reactors
	// (see engine.Options.SpareProc).
	SpareProc bool
	// NotFound serves the requests outside Path that reach the server's own
	// listeners, on a net/http server (streaming, HEAD, http.Flusher; see
	// engine.Options.NotFound); nil answers 404.
	NotFound http.Handler
	// ServeClient serves the socket.io-client browser bundle under Path,
	// as the reference's "serveClient": socket.io.js, socket.io.min.js,
	// socket.io.esm.min.js, socket.io.msgpack.min.js and their .map files,
	// whichever of them it holds — e.g.
	// os.DirFS("node_modules/socket.io-client/dist"), or an embed.FS
	// through fs.Sub. NewServer reads them once. Every file's ETag is the
	// client's version (from the bundles' "Socket.IO vX.Y.Z" banner); a
	// "<name>.br" or "<name>.gz" beside a file is served as its
	// precompressed variant; caching, 304 and compression are
	// engine.StaticFile's. nil (the default) serves nothing: unlike the
	// reference, the library ships no copy of the client.
	ServeClient fs.FS
	// StaticFiles are other files answered under Path (engine.StaticFile);
	// default none.
	StaticFiles []StaticFile

	// ConnectTimeout closes a connection that joined no namespace by then
	// ("connectTimeout"); default 45 s.
	ConnectTimeout time.Duration
	// MaxAttachments is the most binary attachments a packet may announce
	// (the reference parser's limit); default 10.
	MaxAttachments int
	// MaxWorkers caps the goroutines running handlers; default 10,000.
	// The pool is elastic: it keeps 8×GOMAXPROCS workers (at least 16),
	// adds one per waiting connection while handlers block (a handler
	// running for more than 1–2 ms counts as blocked), up to MaxWorkers,
	// and retires workers idle for 10 s. At the cap, connections with
	// work take turns on the workers there are (see the package doc).
	MaxWorkers int
	// MaxQueuedPackets and MaxQueuedBytes bound what one connection may
	// have waiting for its handlers (defaults 1024 and 16 MiB;
	// MaxQueuedBytes at most 1 GiB): there its reads are paused until the
	// handlers are down to half of it (a WebSocket stops being read, a
	// polling POST's answer waits), and a transport that goes on
	// delivering past twice that is disconnected (ErrInboundOverflow). See
	// the package doc, "Flow control".
	MaxQueuedPackets int
	MaxQueuedBytes   int
	// MaxEventArgs is the most top-level arguments an event or an
	// acknowledgement may carry; a packet with more is invalid (the
	// connection closes, as for a malformed packet). It bounds what one
	// packet costs the event loop that splits it: 1 MB of "1,1,1,…" is
	// 500,000 arguments. Default 10,000 (an array passed as one argument
	// is not limited).
	MaxEventArgs int
	// MaxNamespacesPerConnection is the most namespaces one connection may
	// have joined at once; a CONNECT past it gets a connect_error ("Too
	// many namespaces") and creates no dynamic namespace. Default 100;
	// negative: no limit. (A dynamic namespace is kept until
	// CleanupEmptyChildNamespaces removes it; with clients naming the
	// namespaces, turn that on.)
	MaxNamespacesPerConnection int
	// Adapter creates each namespace's adapter ("adapter"); default
	// NewInMemoryAdapter.
	Adapter func(nsp *Namespace) Adapter
	// ConnectionStateRecovery enables recovery ("connectionStateRecovery");
	// nil disables it.
	ConnectionStateRecovery *ConnectionStateRecovery
	// Parser is the packet encoding ("parser"): JSONParser (the default,
	// when nil) or MsgpackParser. Clients must use the same one.
	Parser Parser
	// CleanupEmptyChildNamespaces removes a dynamic namespace once its last
	// socket left ("cleanupEmptyChildNamespaces"); off by default, as in
	// the reference: each namespace a client names is then kept (about
	// 11 KB) for the server's life. Turn it on when namespace names come
	// from clients (OfFunc, OfRegexp).
	CleanupEmptyChildNamespaces bool
	// Logger receives the logs of every layer: sio's (handler panics),
	// engine's, the reactor's and gnet's own (at debug level). Default
	// slog.Default().
	Logger *slog.Logger
}

// ConnectionStateRecovery enables the recovery of a socket's id, rooms,
// data and missed broadcasts after a short disconnection. A recovered
// socket gets its CONNECT answer first, then the missed broadcasts (the
// reference sends them before the answer, which socket.io-client buffers
// and keeps across a failed attempt, so a client cut in between got them
// twice); with the in-memory adapter, no broadcast falls between the
// restore and the joining of the rooms.
type ConnectionStateRecovery struct {
	// MaxDisconnectionDuration is how long a session is kept; default 2 min.
	MaxDisconnectionDuration time.Duration
	// SkipMiddlewares: a recovered socket does not go through the
	// namespace middleware again.
	SkipMiddlewares bool
}

// maxQueuedBytes bounds Options.MaxQueuedBytes: a connection's count of
// queued bytes is an int32 (it keeps the per-connection state in a
// smaller size class).
const maxQueuedBytes = 1 << 30

// setDefaults fills in sio's own defaults; engine fills in its own (see
// withEngine).
func (o *Options) setDefaults() {
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 45 * time.Second
	}
	if o.MaxAttachments <= 0 {
		o.MaxAttachments = 10
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = pool.DefaultMaxWorkers
	}
	if o.MaxQueuedPackets <= 0 {
		o.MaxQueuedPackets = 1024
	}
	if o.MaxQueuedBytes <= 0 {
		o.MaxQueuedBytes = 16 << 20
	}
	o.MaxQueuedBytes = min(o.MaxQueuedBytes, maxQueuedBytes)
	if o.MaxEventArgs <= 0 {
		o.MaxEventArgs = 10_000
	}
	if o.MaxNamespacesPerConnection == 0 {
		o.MaxNamespacesPerConnection = 100
	}
	if o.Adapter == nil {
		o.Adapter = func(nsp *Namespace) Adapter { return NewInMemoryAdapter(nsp) }
	}
	if r := o.ConnectionStateRecovery; r != nil && r.MaxDisconnectionDuration <= 0 {
		c := *r
		c.MaxDisconnectionDuration = 2 * time.Minute
		o.ConnectionStateRecovery = &c
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Parser == nil {
		o.Parser = JSONParser
	}
}

// engineOptions returns the Engine.IO part of o.
func (o *Options) engineOptions() engine.Options {
	return engine.Options{
		Path:                     o.Path,
		PingInterval:             o.PingInterval,
		PingTimeout:              o.PingTimeout,
		UpgradeTimeout:           o.UpgradeTimeout,
		MaxPayload:               o.MaxPayload,
		Transports:               o.Transports,
		DisableUpgrades:          o.DisableUpgrades,
		AllowEIO3:                o.AllowEIO3,
		CORS:                     o.CORS,
		Cookie:                   o.Cookie,
		AllowRequest:             o.AllowRequest,
		PerMessageDeflate:        o.PerMessageDeflate,
		DeflateThreshold:         o.DeflateThreshold,
		HTTPCompressionThreshold: o.HTTPCompressionThreshold,
		MaxOutboundBytes:         o.MaxOutboundBytes,
		SlowReaderPolicy:         o.SlowReaderPolicy,
		MaxOutboundBytesTotal:    o.MaxOutboundBytesTotal,
		ShutdownWindow:           o.ShutdownWindow,
		NoMemoryRelease:          o.NoMemoryRelease,
		MaxHeaderBytes:           o.MaxHeaderBytes,
		MaxConnections:           o.MaxConnections,
		TLSConfig:                o.TLSConfig,
		EventLoops:               o.EventLoops,
		SpareProc:                o.SpareProc,
		Logger:                   o.Logger,
		NotFound:                 o.NotFound,
		StaticFiles:              o.staticFiles(),
	}
}

// staticFiles are the client bundle's files (read from ServeClient now)
// and StaticFiles.
func (o *Options) staticFiles() []StaticFile {
	if o.ServeClient == nil {
		return o.StaticFiles
	}
	return append(clientFiles(o.ServeClient, o.Logger), o.StaticFiles...)
}

// withEngine copies the engine's effective options (its defaults filled
// in) back into o.
func (o *Options) withEngine(e engine.Options) {
	o.Path = e.Path
	o.PingInterval = e.PingInterval
	o.PingTimeout = e.PingTimeout
	o.UpgradeTimeout = e.UpgradeTimeout
	o.MaxPayload = e.MaxPayload
	o.Transports = e.Transports
	o.DisableUpgrades = e.DisableUpgrades
	o.AllowEIO3 = e.AllowEIO3
	o.CORS = e.CORS
	o.Cookie = e.Cookie
	o.AllowRequest = e.AllowRequest
	o.PerMessageDeflate = e.PerMessageDeflate
	o.DeflateThreshold = e.DeflateThreshold
	o.HTTPCompressionThreshold = e.HTTPCompressionThreshold
	o.MaxOutboundBytes = e.MaxOutboundBytes
	o.SlowReaderPolicy = e.SlowReaderPolicy
	o.MaxOutboundBytesTotal = e.MaxOutboundBytesTotal
	o.ShutdownWindow = e.ShutdownWindow
	o.NoMemoryRelease = e.NoMemoryRelease
	o.MaxHeaderBytes = e.MaxHeaderBytes
	o.MaxConnections = e.MaxConnections
	o.TLSConfig = e.TLSConfig
	o.EventLoops = e.EventLoops
	o.SpareProc = e.SpareProc
	o.Logger = e.Logger
	o.NotFound = e.NotFound
	// StaticFiles stays as given: the engine's also holds ServeClient's.
}
