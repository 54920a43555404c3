package sio

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"time"
	"unsafe"

	"github.com/fanio/fanio/engine"
)

// Handshake is the whole handshake of a socket as one object, field for
// field the reference's socket.handshake: what HandshakeView.Full builds
// and what SocketDetails carries (for a socket on another node, what its
// adapter decoded). Nothing keeps it: each Full call builds a new one,
// which the caller owns.
type Handshake struct {
	// Headers are the header fields of the request that opened the
	// Engine.IO connection (canonical keys, each field's value in order).
	Headers http.Header
	Time    time.Time // when the socket was created
	Address string    // the client's IP address
	XDomain bool      // an Origin header was sent
	// Secure: the handshake came over TLS, served by this server
	// (ListenAndServeTLS) or by the net/http server it is mounted in. TLS
	// ended by a proxy in front does not count (X-Forwarded-Proto is not
	// read).
	Secure bool
	Issued int64  // Time in milliseconds since the epoch
	URL    string // the request-target of the Engine.IO handshake
	// Query is the query of URL, decoded as the reference decodes it (see
	// HandshakeView.Query).
	Query url.Values
	// Auth is the CONNECT payload as the client sent it (JSON; "{}" if none).
	Auth json.RawMessage
}

// HandshakeView reads a socket's handshake: the request that opened its
// Engine.IO connection, and the auth payload of its CONNECT. It is what
// Socket.Handshake returns, the reference's socket.handshake (headers,
// time, address, xdomain, secure, issued, url, query, auth) as methods.
//
// Cost model: a socket keeps no parsed handshake. The engine session
// keeps one compact copy of the request's target and header fields (no
// maps), and the socket its auth payload. Each method scans that copy
// when called and allocates only what it returns: Header, Query and URL
// return substrings of the copy (Header allocates when it joins several
// fields, Query when it decodes escapes), HeaderValues and QueryValues a
// slice, Address the string (see engine.RequestHead). So reading the handshake in middleware or a
// handler leaves nothing behind. Full builds the whole object with its
// maps, on each call, for code that wants them (or to serialize it).
//
// A HandshakeView is a small value, valid for as long as the program keeps
// it (after the socket disconnected too), safe for concurrent use. The zero
// value reads as an empty handshake.
type HandshakeView struct{ s *Socket }

// Handshake returns the socket's handshake (see HandshakeView for what it
// costs: nothing until read, and reading keeps nothing).
func (s *Socket) Handshake() HandshakeView { return HandshakeView{s} }

// Header returns the value of the request's header field name (any case),
// as the reference's handshake.headers[name] gives it: "" when absent; when
// the field was sent several times, the values joined with ", " (with "; "
// for Cookie), except for the fields Node.js keeps only the first of
// (Authorization, Content-Type, Host, User-Agent, Referer and the others of
// its list). See engine.RequestHead.Header.
func (h HandshakeView) Header(name string) string { return h.head().Header(name) }

// HeaderValues returns the value of each header field name (any case) of
// the request, in order; nil when absent.
func (h HandshakeView) HeaderValues(name string) []string { return h.head().HeaderValues(name) }

// Query returns the first value of the query parameter name of URL, ""
// when absent, decoded as the reference decodes its handshake query
// (Node.js querystring: '+' is a space, %XX escapes are decoded, a
// malformed escape is kept as it is, invalid UTF-8 becomes U+FFFD). The
// reference gives an array for a parameter sent several times: see
// QueryValues.
func (h HandshakeView) Query(name string) string { return h.head().Query(name) }

// QueryValues returns every value of the query parameter name, in order;
// nil when absent.
func (h HandshakeView) QueryValues(name string) []string { return h.head().QueryValues(name) }

// RequestHead is the request that opened the socket's Engine.IO
// connection, as its session keeps it: every header field and query
// parameter can be walked there without building maps.
func (h HandshakeView) RequestHead() engine.RequestHead { return h.head() }

func (h HandshakeView) head() engine.RequestHead {
	if h.s == nil {
		return engine.RequestHead{}
	}
	return h.s.c.sess.RequestHead()
}

// Auth is the CONNECT packet's payload as the client sent it: JSON, "{}"
// if it sent none. It shares the socket's copy: do not modify it.
func (h HandshakeView) Auth() json.RawMessage {
	if h.s == nil || h.s.hsAuth == "" {
		return json.RawMessage("{}")
	}
	return json.RawMessage(unsafe.Slice(unsafe.StringData(h.s.hsAuth), len(h.s.hsAuth)))
}

// Address is the client's IP address (of the request that opened the
// connection).
func (h HandshakeView) Address() string {
	if h.s == nil {
		return ""
	}
	a := h.s.c.sess.RemoteAddr()
	switch a := a.(type) {
	case nil:
		return ""
	case *net.TCPAddr:
		return a.IP.String()
	}
	s := a.String()
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host
	}
	return s
}

// Time is when the socket was created (its CONNECT was accepted).
func (h HandshakeView) Time() time.Time {
	if h.s == nil {
		return time.Time{}
	}
	return time.Unix(0, h.s.hsTime)
}

// Issued is Time in milliseconds since the Unix epoch.
func (h HandshakeView) Issued() int64 {
	if h.s == nil {
		return 0
	}
	return h.s.hsTime / int64(time.Millisecond)
}

// URL is the request-target of the Engine.IO handshake request, as sent
// ("/socket.io/?EIO=4&transport=polling&t=...").
func (h HandshakeView) URL() string { return h.head().URI() }

// XDomain reports whether the request had an Origin header (non-empty).
func (h HandshakeView) XDomain() bool { return h.Header("Origin") != "" }

// Secure reports whether the handshake came over TLS, served by this
// server (ListenAndServeTLS) or by the net/http server it is mounted in;
// TLS ended by a proxy in front does not count (X-Forwarded-Proto is not
// read).
func (h HandshakeView) Secure() bool { return h.s != nil && h.s.c.sess.Secure() }

// Full builds the whole handshake with its header and query maps. Each
// call parses the request copy again and returns a new object (about 1-3
// KB for a browser's request), which the caller owns: call it when the
// maps are really wanted, and read single values with the other methods.
func (h HandshakeView) Full() *Handshake {
	out := &Handshake{
		Headers: http.Header{},
		Time:    h.Time(),
		Address: h.Address(),
		Secure:  h.Secure(),
		Issued:  h.Issued(),
		URL:     h.URL(),
		Query:   url.Values{},
		Auth:    append(json.RawMessage(nil), h.Auth()...),
	}
	head := h.head()
	for name, value := range head.Fields() {
		k := http.CanonicalHeaderKey(name)
		out.Headers[k] = append(out.Headers[k], value)
	}
	for k, v := range head.QueryParams() {
		out.Query[k] = append(out.Query[k], v)
	}
	out.XDomain = h.XDomain()
	return out
}
