package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Server is an Engine.IO server on its own listener.
type Server struct {
	opts         Options
	loop         *eventloop.Server
	timers       *timer.Wheel
	sessions     *registry
	onConnection func(*Session)
	polling      bool
	websocket    bool
	closing      atomic.Bool
	openedTotal  atomic.Int64

	corsMu    sync.RWMutex
	corsCache map[string][]byte // origin → CORS header lines

	static map[string]*staticFile // Options.StaticFiles by name (static.go)
}

// NewServer returns a server with opts; call OnConnection, then Start.
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, sessions: newRegistry(), corsCache: make(map[string][]byte)}
	s.static = newStaticFiles(opts.StaticFiles, opts.Logger)
	s.timers = timer.NewWheel(max(2, opts.EventLoops), 5*time.Millisecond)
	for _, t := range opts.Transports {
		switch t {
		case TransportPolling:
			s.polling = true
		case TransportWebSocket:
			s.websocket = true
		}
	}
	return s
}

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// OnConnection sets the function called for each new session, on an event
// loop, before the session can receive messages. Set it before Start.
func (s *Server) OnConnection(fn func(*Session)) { s.onConnection = fn }

// Start listens on addr ("host:port", port 0 for any) and serves in the
// background; it returns once the listener is bound.
func (s *Server) Start(addr string) error {
	s.loop = eventloop.NewServer(eventloop.Options{
		EventLoops:       s.opts.EventLoops,
		MaxHeaderBytes:   s.opts.MaxHeaderBytes,
		MaxBodyBytes:     s.opts.MaxPayload,
		MaxMessageBytes:  s.opts.MaxPayload,
		MaxOutboundBytes: s.opts.MaxOutboundBytes,
		Timers:           s.timers,
		AcceptorLoop:     s.opts.AcceptorLoop,
		SpareProc:        s.opts.SpareProc,
		Logger:           s.opts.Logger,
	}, s)
	if err := s.loop.Start(addr); err != nil {
		s.timers.Close()
		return err
	}
	return nil
}

// Addr is the listener's address, after Start (nil before).
func (s *Server) Addr() net.Addr {
	if s.loop == nil {
		return nil
	}
	return s.loop.Addr()
}

// SessionCount is the number of live sessions.
func (s *Server) SessionCount() int { return s.sessions.count() }

// ConnectionCount is the number of open TCP connections.
func (s *Server) ConnectionCount() int { return s.loop.CountConnections() }

// Sessions returns a snapshot of the live sessions.
func (s *Server) Sessions() []*Session { return s.sessions.all() }

// Shutdown closes every session with "server shutting down", gives the
// close frames a moment to leave, and stops the listener.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.loop == nil || !s.closing.CompareAndSwap(false, true) {
		if s.loop == nil {
			s.timers.Close()
		}
		return nil
	}
	for _, sess := range s.sessions.all() {
		sess.close(ReasonServerShuttingDown)
	}
	// Let queued close frames drain, bounded by ctx and a short grace.
	grace := time.NewTimer(500 * time.Millisecond)
	defer grace.Stop()
	for s.loop.CountConnections() > 0 {
		select {
		case <-ctx.Done():
		case <-grace.C:
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	err := s.loop.Stop(ctx)
	s.timers.Close()
	return err
}

// ---- request routing ----

// Engine.IO error codes and messages, as the reference server sends them.
type httpError struct {
	status  int
	code    int
	message string
}

var (
	errTransportUnknown   = httpError{400, 0, "Transport unknown"}
	errUnknownSID         = httpError{400, 1, "Session ID unknown"}
	errBadHandshakeMethod = httpError{400, 2, "Bad handshake method"}
	errBadRequest         = httpError{400, 3, "Bad request"}
	errForbidden          = httpError{403, 4, "Forbidden"}
	errUnsupportedVersion = httpError{400, 5, "Unsupported protocol version"}
)

// ServeHTTP implements eventloop.Handler.
func (s *Server) ServeHTTP(c *eventloop.Conn, req *codec.Request, body []byte) {
	if !s.onPath(req.Path) {
		s.serveOther(c, req, body)
		return
	}
	if s.static != nil && s.serveStatic(c, req) {
		return
	}
	method := req.Method
	if bytes.Equal(method, methodOptions) {
		s.respondPreflight(c, req)
		return
	}
	transport, _ := codec.QueryValue(req.RawQuery, "transport")
	isWS := string(transport) == TransportWebSocket
	if !(isWS && s.websocket) && !(string(transport) == TransportPolling && s.polling) {
		s.respondError(c, req, errTransportUnknown)
		return
	}
	if sid, ok := codec.QueryValue(req.RawQuery, "sid"); ok {
		sess := s.sessions.get(sid)
		if sess == nil {
			s.respondError(c, req, errUnknownSID)
			return
		}
		if isWS {
			if !req.Upgrade || !bytes.Equal(method, methodGet) {
				s.respondError(c, req, errBadRequest)
				return
			}
			s.handleUpgrade(c, req, sess)
			return
		}
		switch {
		case bytes.Equal(method, methodGet):
			s.handlePoll(c, req, sess)
		case bytes.Equal(method, methodPost):
			s.handlePost(c, req, body, sess)
		default:
			s.respondError(c, req, errBadRequest)
		}
		return
	}
	if !bytes.Equal(method, methodGet) {
		s.respondError(c, req, errBadHandshakeMethod)
		return
	}
	if eio, _ := codec.QueryValue(req.RawQuery, "EIO"); string(eio) != "4" {
		s.respondError(c, req, errUnsupportedVersion)
		return
	}
	if isWS && !req.Upgrade {
		s.respondError(c, req, errBadRequest)
		return
	}
	if s.closing.Load() {
		s.respondStatus(c, req, 503)
		return
	}
	s.handshake(c, req, isWS)
}

var (
	methodGet     = []byte("GET")
	methodPost    = []byte("POST")
	methodOptions = []byte("OPTIONS")
)

func (s *Server) onPath(p []byte) bool {
	prefix := s.opts.Path
	if len(p) >= len(prefix) {
		return string(p[:len(prefix)]) == prefix
	}
	// "/engine.io" without the trailing slash is the same endpoint.
	return len(p) == len(prefix)-1 && string(p) == prefix[:len(prefix)-1]
}

// handshake opens a new session.
func (s *Server) handshake(c *eventloop.Conn, req *codec.Request, isWS bool) {
	sess := &Session{
		srv:     s,
		id:      newSessionID(),
		raw:     rawRequest(req),
		remote:  c.RemoteAddr(),
		created: time.Now().UnixNano(),
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(sess.Request()); err != nil {
			e := errForbidden
			if msg := err.Error(); msg != "" {
				e.message = msg
			}
			s.respondError(c, req, e)
			return
		}
	}
	s.timers.Init(&sess.hb, sess.onTimer)
	if isWS {
		resp, deflate, herr := s.acceptResponse(req)
		if herr != nil {
			s.respondError(c, req, *herr)
			return
		}
		sess.kind = kindWebSocket
		sess.ws = c
		sess.deflate = deflate
		open := pool.Get()
		open.B = codec.AppendOpenPacket(open.B, sess.id, nil,
			s.opts.PingInterval.Milliseconds(), s.opts.PingTimeout.Milliseconds(), int64(s.opts.MaxPayload))
		frame := pool.Get()
		frame.B = codec.AppendFrame(frame.B, wsOpText, open.B)
		pool.Put(open)
		c.AcceptWebSocket(resp, wsOwner{sess}, deflate)
		_ = c.WriteOwned(frame)
	} else {
		sess.kind = kindPolling
		sess.p = &pollState{}
	}
	s.sessions.add(sess)
	s.openedTotal.Add(1)
	s.timers.Reset(&sess.hb, s.opts.PingInterval)
	if !isWS {
		var upgrades []string
		if s.websocket && !s.opts.DisableUpgrades {
			upgrades = []string{TransportWebSocket}
		}
		open := pool.Get()
		open.B = codec.AppendOpenPacket(open.B, sess.id, upgrades,
			s.opts.PingInterval.Milliseconds(), s.opts.PingTimeout.Milliseconds(), int64(s.opts.MaxPayload))
		o := s.pollOpts(req)
		o.cors = append(o.cors[:len(o.cors):len(o.cors)], s.cookieHeader(sess.id)...)
		s.respondPayload(c, o, open.B)
		pool.Put(open)
	}
	if s.onConnection != nil {
		s.onConnection(sess)
	}
}

// newSessionID returns 20 URL-safe characters from 15 random bytes.
func newSessionID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// rawRequest keeps a compact copy of the request line and headers.
func rawRequest(req *codec.Request) []byte {
	n := len(req.Method) + len(req.URI) + 16
	for _, h := range req.Headers {
		n += len(h.Name) + len(h.Value) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.URI...)
	b = append(b, " HTTP/1.1\r\n"...)
	for _, h := range req.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

func (s *Server) cookieHeader(sid string) []byte {
	ck := s.opts.Cookie
	if ck == nil {
		return nil
	}
	name, path := ck.Name, ck.Path
	if name == "" {
		name = "io"
	}
	if path == "" {
		path = "/"
	}
	v := "Set-Cookie: " + name + "=" + sid + "; Path=" + path
	if ck.HTTPOnly {
		v += "; HttpOnly"
	}
	if ck.SameSite != "" {
		v += "; SameSite=" + ck.SameSite
	}
	return []byte(v + "\r\n")
}

// ---- responses ----

func (s *Server) respondError(c *eventloop.Conn, req *codec.Request, e httpError) {
	if req.Upgrade {
		// A refused WebSocket upgrade gets the reference's bare answer: 400
		// with the message as text, then the connection closes.
		bb := pool.Get()
		b := codec.AppendStatusLine(bb.B, 400)
		b = codec.AppendHeader(b, "Connection", "close")
		b = codec.AppendHeader(b, "Content-Type", "text/html")
		b = codec.AppendContentLength(b, len(e.message))
		b = append(b, "\r\n"...)
		b = append(b, e.message...)
		bb.B = b
		_ = c.Respond(bb, true)
		return
	}
	body := `{"code":` + strconv.Itoa(e.code) + `,"message":` + string(codec.AppendJSONString(nil, e.message)) + `}`
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, e.status)
	b = codec.AppendHeader(b, "Content-Type", "application/json")
	b = append(b, s.corsHeaders(req)...)
	b = codec.AppendContentLength(b, len(body))
	closeConn := !req.KeepAlive
	if closeConn {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	bb.B = b
	_ = c.Respond(bb, closeConn)
}

func (s *Server) respondStatus(c *eventloop.Conn, req *codec.Request, status int) {
	text := codec.StatusText(status)
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, status)
	b = codec.AppendHeader(b, "Content-Type", "text/plain; charset=utf-8")
	b = append(b, s.corsHeaders(req)...)
	b = codec.AppendContentLength(b, len(text))
	b = codec.AppendHeader(b, "Connection", "close")
	b = append(b, "\r\n"...)
	b = append(b, text...)
	bb.B = b
	_ = c.Respond(bb, true)
}

// corsHeaders returns the CORS header lines for req's origin (cached per
// origin; the result is shared and must not be modified).
func (s *Server) corsHeaders(req *codec.Request) []byte {
	cors := s.opts.CORS
	if cors == nil || len(cors.Origins) == 0 {
		return nil
	}
	origin := req.Header("Origin")
	s.corsMu.RLock()
	h, ok := s.corsCache[string(origin)]
	s.corsMu.RUnlock()
	if ok {
		return h
	}
	any := false
	allowed := false
	for _, o := range cors.Origins {
		if o == "*" {
			any = true
		}
		if o == string(origin) {
			allowed = true
		}
	}
	var b []byte
	switch {
	case any && !cors.Credentials:
		b = codec.AppendHeader(b, "Access-Control-Allow-Origin", "*")
	case (any || allowed) && len(origin) > 0:
		b = codec.AppendHeaderBytes(b, "Access-Control-Allow-Origin", origin)
		b = codec.AppendHeader(b, "Vary", "Origin")
	}
	if cors.Credentials && b != nil {
		b = codec.AppendHeader(b, "Access-Control-Allow-Credentials", "true")
	}
	if b == nil {
		b = []byte{}
	}
	s.corsMu.Lock()
	if len(s.corsCache) < 1024 { // bounded: origins are client-chosen
		s.corsCache[string(origin)] = b
	}
	s.corsMu.Unlock()
	return b
}

func (s *Server) respondPreflight(c *eventloop.Conn, req *codec.Request) {
	cors := s.opts.CORS
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 204)
	b = append(b, s.corsHeaders(req)...)
	if cors != nil && len(cors.Origins) > 0 {
		methods := "GET,HEAD,PUT,PATCH,POST,DELETE"
		if len(cors.Methods) > 0 {
			methods = strings.Join(cors.Methods, ",")
		}
		b = codec.AppendHeader(b, "Access-Control-Allow-Methods", methods)
		if len(cors.Headers) > 0 {
			b = codec.AppendHeader(b, "Access-Control-Allow-Headers", strings.Join(cors.Headers, ","))
		} else if rh := req.Header("Access-Control-Request-Headers"); len(rh) > 0 {
			b = codec.AppendHeaderBytes(b, "Access-Control-Allow-Headers", rh)
			b = codec.AppendHeader(b, "Vary", "Access-Control-Request-Headers")
		}
		if cors.MaxAge > 0 {
			b = codec.AppendHeader(b, "Access-Control-Max-Age", strconv.Itoa(int(cors.MaxAge.Seconds())))
		}
	}
	b = codec.AppendContentLength(b, 0)
	if !req.KeepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	bb.B = b
	_ = c.Respond(bb, !req.KeepAlive)
}
