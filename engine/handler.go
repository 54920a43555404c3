package engine

import (
	"errors"
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

// ErrClosed is returned when sending on a closed session.
var ErrClosed = errors.New("engine: session closed")

// Handler receives the events of one session. Its methods run on an event
// loop goroutine: they must not block. data is valid only for the duration
// of the call; copy what must be kept.
type Handler interface {
	OnMessage(s *Session, data []byte, binary bool)
	OnClose(s *Session, reason DisconnectReason)
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
	// Secure is always false for now: the server serves plain TCP and does
	// not read X-Forwarded-Proto; terminate TLS in a proxy.
	Secure bool
	Time   time.Time
}
