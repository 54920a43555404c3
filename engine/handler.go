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
// loop goroutine (or, for the packets of a polling POST held by
// Session.PauseReads, on the goroutine that calls ResumeReads): they must
// not block. data is valid only for the
// duration of the call; copy what must be kept. A Handler that cannot keep
// up pauses the session's reads (Session.PauseReads) rather than dropping
// or disconnecting a legitimate burst.
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
	RemoteAddr net.Addr // the peer of the connection (a proxy's, behind one)
	// Secure: the connection that carried the handshake was TLS, served by
	// this server or by the net/http server it is mounted in. (TLS ended by
	// a proxy in front does not count: see the X-Forwarded-Proto header.)
	Secure bool
	Time   time.Time
}
