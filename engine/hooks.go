package engine

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

// The hooks of the reference server's events that are not about one
// session: "connection_error", "initial_headers" and "headers". Listeners
// are added with the On... methods (any number, in order); the request
// path reads them with one atomic load and builds what they are given only
// when there are some.

// Engine.IO error codes, as the reference server sends them in
// {"code":N,"message":...} answers and reports them in "connection_error".
const (
	CodeUnknownTransport           = 0 // "Transport unknown"
	CodeUnknownSID                 = 1 // "Session ID unknown"
	CodeBadHandshakeMethod         = 2 // "Bad handshake method"
	CodeBadRequest                 = 3 // "Bad request"
	CodeForbidden                  = 4 // "Forbidden"
	CodeUnsupportedProtocolVersion = 5 // "Unsupported protocol version"
)

// codeMessages are the reference's texts of the codes (Server.errorMessages).
var codeMessages = [...]string{
	CodeUnknownTransport:           "Transport unknown",
	CodeUnknownSID:                 "Session ID unknown",
	CodeBadHandshakeMethod:         "Bad handshake method",
	CodeBadRequest:                 "Bad request",
	CodeForbidden:                  "Forbidden",
	CodeUnsupportedProtocolVersion: "Unsupported protocol version",
}

// ConnectionError describes a request the server refused before it reached
// a session: the reference's "connection_error" event.
type ConnectionError struct {
	// Request is the refused request (its body is not kept).
	Request *HandshakeRequest
	// Code is one of the Code constants, Message its text ("Session ID
	// unknown", "Forbidden"), as the reference reports them (for
	// CodeForbidden, the client is sent AllowRequest's error text, which
	// is in Context["message"]).
	Code    int
	Message string
	// Context says more, with the reference's keys: "transport" for an
	// unknown transport; "sid" for an unknown session; "method" for a
	// handshake that is not a GET; "protocol" (an int) for an unsupported
	// protocol version; "message" for a refusal by AllowRequest; and for
	// CodeBadRequest a "name": "TRANSPORT_MISMATCH" (with "transport" and
	// "previousTransport"), or "TRANSPORT_HANDSHAKE_ERROR" (a WebSocket
	// handshake that is not an upgrade request).
	Context map[string]any
}

// HeadersFunc may add header fields to an answer of the server (the
// reference's "initial_headers" and "headers" events): h holds the fields
// the server adds itself and a hook may change (Set-Cookie, for the "io"
// cookie), r is the request being answered. It runs on an event loop (or
// on the net/http server's goroutine, mounted) and must not block.
type HeadersFunc func(h http.Header, r *HandshakeRequest)

type hooks struct {
	mu             sync.Mutex // serializes adding
	connErr        atomic.Pointer[[]func(*ConnectionError)]
	initialHeaders atomic.Pointer[[]HeadersFunc]
	headers        atomic.Pointer[[]HeadersFunc]
}

func addHook[F any](mu *sync.Mutex, p *atomic.Pointer[[]F], fn F) {
	mu.Lock()
	defer mu.Unlock()
	var next []F
	if cur := p.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, fn)
	p.Store(&next)
}

func loadHooks[F any](p *atomic.Pointer[[]F]) []F {
	if cur := p.Load(); cur != nil {
		return *cur
	}
	return nil
}

// OnConnectionError adds fn, called for each request the server refuses
// before it reaches a session — an unknown transport or session id, a bad
// handshake, a refusal by AllowRequest, an unsupported protocol version —
// with what the client was told (the reference's "connection_error"). It
// runs on an event loop (or on the net/http server's goroutine, mounted)
// and must not block. Safe to call at any time.
func (s *Server) OnConnectionError(fn func(e *ConnectionError)) {
	addHook(&s.hooks.mu, &s.hooks.connErr, fn)
}

// OnInitialHeaders adds fn, called for the answer that opens a session (a
// polling handshake's, or a WebSocket handshake's 101) with the header
// fields to send (the reference's "initial_headers"): the place to set a
// cookie. It runs before the OnHeaders hooks.
func (s *Server) OnInitialHeaders(fn HeadersFunc) {
	addHook(&s.hooks.mu, &s.hooks.initialHeaders, fn)
}

// OnHeaders adds fn, called for every answer to a session's requests — the
// handshake, each poll and POST, each WebSocket's 101 (the reference's
// "headers"). Error answers get neither hook, as in the reference.
func (s *Server) OnHeaders(fn HeadersFunc) {
	addHook(&s.hooks.mu, &s.hooks.headers, fn)
}

// hasHeaderHooks reports whether an answer needs its header hooks run.
func (s *Server) hasHeaderHooks(initial bool) bool {
	return s.hooks.headers.Load() != nil || (initial && s.hooks.initialHeaders.Load() != nil)
}

// hookHeaders runs the header hooks for an answer to req and appends the
// resulting fields to dst. pre are the fields the server would send (the
// cookie), given to the hooks to change. Fields with a line break in their
// name or value are dropped (no header injection by a hook).
func (s *Server) hookHeaders(dst []byte, x exchange, req *codec.Request, initial bool, pre http.Header) []byte {
	h := pre
	if h == nil {
		h = http.Header{}
	}
	r := newRequest(req, x)
	if initial {
		for _, fn := range loadHooks(&s.hooks.initialHeaders) {
			fn(h, r)
		}
	}
	for _, fn := range loadHooks(&s.hooks.headers) {
		fn(h, r)
	}
	for name, values := range h {
		if !validHeaderName(name) {
			continue
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n") {
				continue
			}
			dst = codec.AppendHeader(dst, name, v)
		}
	}
	return dst
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// connectionError tells the OnConnectionError hooks of a refusal.
func (s *Server) connectionError(x exchange, req *codec.Request, e httpError, ctx map[string]any) {
	fns := loadHooks(&s.hooks.connErr)
	if len(fns) == 0 {
		return
	}
	msg := e.message
	if e.code >= 0 && e.code < len(codeMessages) {
		msg = codeMessages[e.code]
	}
	ce := &ConnectionError{Request: newRequest(req, x), Code: e.code, Message: msg, Context: ctx}
	for _, fn := range fns {
		fn(ce)
	}
}

// newRequest builds the HandshakeRequest hooks are given from a request
// being answered (copies: the request's bytes are the loop's).
func newRequest(req *codec.Request, x exchange) *HandshakeRequest {
	r := &HandshakeRequest{
		Method:     string(req.Method),
		Header:     make(http.Header, len(req.Headers)),
		RemoteAddr: x.remoteAddr(),
		Secure:     x.secure(),
		Time:       time.Now(),
	}
	if u, err := url.ParseRequestURI(string(req.URI)); err == nil {
		r.URL = u
	} else {
		r.URL = &url.URL{Path: string(req.Path), RawQuery: string(req.RawQuery)}
	}
	for _, f := range req.Headers {
		name := http.CanonicalHeaderKey(string(f.Name))
		r.Header[name] = append(r.Header[name], string(f.Value))
	}
	return r
}

// UpgradeHandler is implemented by a Handler that wants to hear of its
// session's transport upgrade (the reference's "upgrading" and "upgrade"
// events of a socket). The methods run on an event loop, like the
// Handler's others, and must not block.
type UpgradeHandler interface {
	// OnUpgrading: a WebSocket for the session was accepted and probes to
	// replace polling.
	OnUpgrading(s *Session, transport string)
	// OnUpgrade: the session now uses transport; what waited for a poll
	// has been queued on it.
	OnUpgrade(s *Session, transport string)
}

// remoteHost is the host part of a remote address, for logs.
func remoteHost(a net.Addr) string {
	if a == nil {
		return ""
	}
	s := a.String()
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return s
}
