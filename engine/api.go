package engine

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Transport names as they appear on the wire (the "transport" query parameter).
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Close reasons passed to Handler.OnClose, with the reference server's wording.
const (
	ReasonTransportClose = "transport close"      // the client closed (close packet, WebSocket close, TCP end)
	ReasonTransportError = "transport error"      // I/O or protocol error on the transport
	ReasonPingTimeout    = "ping timeout"         // no pong within pingTimeout
	ReasonForcedClose    = "forced close"         // Session.Close was called
	ReasonParseError     = "parse error"          // the client sent an undecodable packet
	ReasonServerShutdown = "server shutting down" // Server.Shutdown
	ReasonSlowReader     = "slow reader"          // the outbound cap was exceeded
)

// ErrClosed is returned when sending on a closed session.
var ErrClosed = errors.New("engine: session closed")

// Handler receives the events of one session. Its methods run on an event
// loop goroutine: they must not block. data is valid only for the duration
// of the call; copy what must be kept.
type Handler interface {
	OnMessage(s *Session, data []byte, binary bool)
	OnClose(s *Session, reason string)
}

// Message is one Engine.IO MESSAGE packet payload.
type Message struct {
	Data   []byte
	Binary bool
}

// HandshakeRequest is what the server kept of the request that opened a
// session.
type HandshakeRequest struct {
	Method     string
	URL        *url.URL
	Header     http.Header
	RemoteAddr net.Addr
	Secure     bool
	Time       time.Time
}

// CORS configures cross-origin headers for polling requests.
type CORS struct {
	// Origins allowed; "*" allows any. An empty list disables CORS headers.
	Origins     []string
	Credentials bool
	Methods     []string // default GET,HEAD,PUT,PATCH,POST,DELETE
	Headers     []string // allowed request headers; default: echo Access-Control-Request-Headers
	MaxAge      time.Duration
}

// Cookie configures the optional "io" cookie set on the handshake.
type Cookie struct {
	Name     string // default "io"
	Path     string // default "/"
	HTTPOnly bool
	SameSite string // "Lax", "Strict", "None" or ""
}

// Options configure a Server. The zero value of a field means its default.
type Options struct {
	Path           string        // default "/engine.io/"
	PingInterval   time.Duration // default 25s
	PingTimeout    time.Duration // default 20s
	UpgradeTimeout time.Duration // default 10s
	MaxPayload     int           // maxHttpBufferSize, default 1e6 bytes
	// Transports allowed; default both. Order is irrelevant.
	Transports      []string
	DisableUpgrades bool
	CORS            *CORS
	// AllowRequest may reject a handshake; the error message is sent to the
	// client in a 403 {"code":4,"message":...} answer.
	AllowRequest func(r *HandshakeRequest) error
	Cookie       *Cookie
	// PerMessageDeflate enables negotiation of permessage-deflate (off by default).
	PerMessageDeflate bool
	// DeflateThreshold: messages smaller than this are not compressed (default 1024).
	DeflateThreshold int
	// HTTPCompressionThreshold: polling responses at least this big are
	// gzip/deflate compressed when the client accepts it (default 1024; <0 disables).
	HTTPCompressionThreshold int
	// MaxOutboundBytes caps what one connection may have queued but not yet
	// written; a connection over it is closed (default 4 MiB).
	MaxOutboundBytes int
	MaxHeaderBytes   int // default 8 KiB
	EventLoops       int // default runtime.GOMAXPROCS(0)
	// AcceptorLoop accepts connections on one extra reactor instead of one
	// SO_REUSEPORT listener per event loop (see eventloop.Config).
	AcceptorLoop bool
	// SpareProc makes Start raise GOMAXPROCS to keep a P spare from the
	// event loops, for the latency of the application's own goroutines on
	// an otherwise idle server (see eventloop.Config).
	SpareProc bool
	Logger    *slog.Logger
	// NotFound handles requests outside Path; nil answers 404.
	NotFound http.Handler
}
