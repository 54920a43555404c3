package engine

import (
	"bytes"
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

// Server is an Engine.IO server. It serves on its own listeners (Start,
// ListenAndServe, ListenAndServeTLS, Serve) or mounted in a net/http server
// as an http.Handler (ServeHTTP), or both.
//
// WebSocket connections are served on event loops (a gnet reactor) with no
// goroutine per connection, whichever way they came in; the loops start on
// first use. Where a loop cannot own a connection — TLS, or a platform
// without epoll/kqueue (Windows) — it is served on a goroutine per
// connection by the same code.
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

	httpMu     sync.Mutex
	http       *netHTTP // for what the reactor does not serve (httpserver.go)
	httpClosed bool

	addrMu sync.Mutex
	addr   net.Addr // of the first listener served
}

// noReactor makes new servers serve every connection on goroutines, as on
// platforms without epoll/kqueue (Windows): the tests run that path here.
var noReactor bool

// NewServer returns a server with opts; call OnConnection, then serve
// (Start, ListenAndServe, Serve, or mount it as an http.Handler).
func NewServer(opts Options) *Server {
	opts.setDefaults()
	s := &Server{opts: opts, sessions: newRegistry(), corsCache: make(map[string][]byte)}
	s.static = newStaticFiles(opts.StaticFiles, opts.Logger)
	s.timers = timer.NewWheel(max(2, opts.EventLoops), 5*time.Millisecond)
	s.loop = eventloop.NewServer(eventloop.Options{
		EventLoops:       opts.EventLoops,
		MaxHeaderBytes:   opts.MaxHeaderBytes,
		MaxBodyBytes:     opts.MaxPayload,
		MaxMessageBytes:  opts.MaxPayload,
		MaxOutboundBytes: opts.MaxOutboundBytes,
		MaxConns:         opts.MaxConnections,
		Timers:           s.timers,
		SpareProc:        opts.SpareProc,
		NoReactor:        noReactor,
		Logger:           opts.Logger,
	}, loopHandler{s})
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

// SessionCount is the number of live sessions.
func (s *Server) SessionCount() int { return s.sessions.count() }

// Sessions returns a snapshot of the live sessions.
func (s *Server) Sessions() []*Session { return s.sessions.all() }

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

// serve routes one request on Path. ws is the reactor connection the
// request came on, nil for a request on net/http (whose WebSocket upgrades
// were taken over onto the reactor before this: see ServeHTTP).
func (s *Server) serve(x exchange, ws *eventloop.Conn, req *codec.Request, body []byte) {
	if s.static != nil && s.serveStatic(x, ws, req) {
		return
	}
	method := req.Method
	if bytes.Equal(method, methodOptions) {
		s.respondPreflight(x, req)
		return
	}
	transport, _ := codec.QueryValue(req.RawQuery, "transport")
	isWS := string(transport) == TransportWebSocket
	if !(isWS && s.websocket) && !(string(transport) == TransportPolling && s.polling) {
		s.respondError(x, req, errTransportUnknown)
		return
	}
	upgrade := req.Upgrade && ws != nil
	if sid, ok := codec.QueryValue(req.RawQuery, "sid"); ok {
		sess := s.sessions.get(sid)
		if sess == nil {
			s.respondError(x, req, errUnknownSID)
			return
		}
		if isWS {
			if !upgrade || !bytes.Equal(method, methodGet) {
				s.respondError(x, req, errBadRequest)
				return
			}
			s.handleUpgrade(x, ws, req, sess)
			return
		}
		switch {
		case bytes.Equal(method, methodGet):
			s.handlePoll(x, req, sess)
		case bytes.Equal(method, methodPost):
			s.handlePost(x, req, body, sess)
		default:
			s.respondError(x, req, errBadRequest)
		}
		return
	}
	if !bytes.Equal(method, methodGet) {
		s.respondError(x, req, errBadHandshakeMethod)
		return
	}
	if eio, _ := codec.QueryValue(req.RawQuery, "EIO"); string(eio) != "4" {
		s.respondError(x, req, errUnsupportedVersion)
		return
	}
	if isWS && !upgrade {
		s.respondError(x, req, errBadRequest)
		return
	}
	if s.closing.Load() {
		s.respondStatus(x, req, 503)
		return
	}
	s.handshake(x, ws, req, isWS)
}

var (
	methodGet     = []byte("GET")
	methodPost    = []byte("POST")
	methodOptions = []byte("OPTIONS")
)

func (s *Server) onPath(p []byte) bool { return onPath(s.opts.Path, p) }

// onPath reports whether p is on prefix (which ends in "/"); "/engine.io"
// without the trailing slash is the same endpoint.
func onPath[T string | []byte](prefix string, p T) bool {
	if len(p) >= len(prefix) {
		return string(p[:len(prefix)]) == prefix
	}
	return len(p) == len(prefix)-1 && string(p) == prefix[:len(prefix)-1]
}

// handshake opens a new session. For a WebSocket, ws is the connection.
func (s *Server) handshake(x exchange, ws *eventloop.Conn, req *codec.Request, isWS bool) {
	sess := &Session{
		srv:     s,
		id:      newSessionID(),
		raw:     compactRequest(req),
		remote:  x.remoteAddr(),
		secure:  x.secure(),
		created: time.Now().UnixNano(),
	}
	// As the reference: allowRequest is part of verifying the request, before
	// ws checks the upgrade itself.
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(sess.Request()); err != nil {
			e := errForbidden
			if msg := err.Error(); msg != "" {
				e.message = msg
			}
			s.respondError(x, req, e)
			return
		}
	}
	s.timers.Init(&sess.hb, sess.onTimer)
	if isWS {
		resp, deflate, herr := s.acceptResponse(req)
		if herr != nil {
			s.respondError(x, req, *herr)
			return
		}
		c := ws
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
		s.respondPayload(x, o, open.B)
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

func (s *Server) respondError(x exchange, req *codec.Request, e httpError) {
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
		x.respond(bb, true)
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
	x.respond(bb, closeConn)
}

func (s *Server) respondStatus(x exchange, req *codec.Request, status int) {
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
	x.respond(bb, true)
}

// respondNotFound answers 404 to a request outside Path when there is no
// NotFound handler.
func (s *Server) respondNotFound(x exchange, req *codec.Request) {
	text := "404 page not found\n" // net/http's text
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 404)
	b = codec.AppendHeader(b, "Content-Type", "text/plain; charset=utf-8")
	b = codec.AppendContentLength(b, len(text))
	if !req.KeepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, text...)
	bb.B = b
	x.respond(bb, !req.KeepAlive)
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

func (s *Server) respondPreflight(x exchange, req *codec.Request) {
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
	x.respond(bb, !req.KeepAlive)
}
