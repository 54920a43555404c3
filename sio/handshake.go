package sio

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"time"
	"unsafe"
)

// Handshake is what the server knew of the client when the socket
// connected.
type Handshake struct {
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
	URL    string // the request URI of the Engine.IO handshake
	Query  url.Values
	// Auth is the CONNECT payload as the client sent it (JSON; "{}" if none).
	Auth json.RawMessage
}

func buildHandshake(c *client, auth json.RawMessage, created int64) *Handshake {
	req := c.sess.Request()
	now := time.Unix(0, created)
	h := &Handshake{
		Headers: req.Header,
		Time:    now,
		Secure:  req.Secure,
		Issued:  now.UnixMilli(),
		Auth:    auth,
	}
	if h.Headers == nil {
		h.Headers = http.Header{}
	}
	h.XDomain = h.Headers.Get("Origin") != ""
	if req.URL != nil {
		h.URL = req.URL.RequestURI()
		h.Query = req.URL.Query()
	}
	if h.Query == nil {
		h.Query = url.Values{}
	}
	if a := c.sess.RemoteAddr(); a != nil {
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			h.Address = host
		} else {
			h.Address = a.String()
		}
	}
	return h
}

// Handshake describes the connection. Do not modify it.
func (s *Socket) Handshake() *Handshake {
	if h := s.hs.Load(); h != nil {
		return h
	}
	auth := json.RawMessage(unsafe.Slice(unsafe.StringData(s.hsAuth), len(s.hsAuth)))
	s.hs.CompareAndSwap(nil, buildHandshake(s.c, auth, s.hsTime))
	return s.hs.Load()
}
