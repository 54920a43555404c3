package engine

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/ratelog"
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
	stats        counters
	hooks        hooks
	rlog         *ratelog.Limiter             // what clients can cause is logged rate-limited
	cluster      atomic.Pointer[clusterState] // nil: a single server (cluster.go)

	// Outbound budget (budget.go) and flow counters.
	total   *eventloop.Account // every session's backlog, with MaxOutboundBytesTotal
	cutting atomic.Bool

	releaseOnce sync.Once
	releaseStop chan struct{}

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
	s.rlog = ratelog.New(opts.Logger, numLogKinds, 0, 0)
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
	if opts.MaxOutboundBytesTotal > 0 {
		s.total = &eventloop.Account{}
	}
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
		s.refuse(x, req, errTransportUnknown, refusedUnknownTransport, "transport", string(transport))
		return
	}
	upgrade := req.Upgrade && ws != nil
	if sid, ok := codec.QueryValue(req.RawQuery, "sid"); ok {
		sess := s.sessions.get(sid)
		if sess == nil {
			if s.serveElsewhere(x, ws, req, body, sid, isWS, upgrade) {
				return
			}
			s.refuse(x, req, errUnknownSID, refusedUnknownSID, "sid", string(sid))
			return
		}
		if isWS {
			if !upgrade || !bytes.Equal(method, methodGet) {
				s.refuseMismatch(x, req, sess, TransportWebSocket)
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
			s.refuse(x, req, errBadRequest, refusedBadRequest)
		}
		return
	}
	if !bytes.Equal(method, methodGet) {
		s.refuse(x, req, errBadHandshakeMethod, refusedBadHandshakeMethod, "method", string(method))
		return
	}
	// As the reference: EIO=4 is v4, any other value or none is v3.
	eio, _ := codec.QueryValue(req.RawQuery, "EIO")
	v3 := string(eio) != "4"
	if v3 && !s.opts.AllowEIO3 {
		s.refuse(x, req, errUnsupportedVersion, refusedUnsupportedVersion, "protocol", 3)
		return
	}
	if isWS && !upgrade {
		s.refuse(x, req, errBadRequest, refusedBadRequest, "name", "TRANSPORT_HANDSHAKE_ERROR")
		return
	}
	if s.closing.Load() {
		s.stats.refused[refusedServerClosing].Add(1)
		s.respondStatus(x, req, 503)
		return
	}
	s.handshake(x, ws, req, isWS, v3)
}

// refuse answers a request refused before it reached a session with e,
// counts it, logs it (rate-limited) and, when ctx (key-value pairs) is
// given, reports it to the OnConnectionError hooks as the reference
// reports it.
func (s *Server) refuse(x exchange, req *codec.Request, e httpError, why refusal, ctx ...any) {
	s.stats.refused[why].Add(1)
	s.rlog.Log(logRefused, slog.LevelInfo, "engine: request refused",
		"remote", remoteHost(x.remoteAddr()), "reason", refusalNames[why], "status", e.status, "message", e.message,
		"method", string(req.Method), "uri", truncate(req.URI, 200))
	if len(ctx) > 0 && s.hooks.connErr.Load() != nil {
		m := make(map[string]any, len(ctx)/2)
		for i := 0; i+1 < len(ctx); i += 2 {
			m[ctx[i].(string)] = ctx[i+1]
		}
		s.connectionError(x, req, e, m)
	}
	s.respondError(x, req, e)
}

// refuseMismatch refuses a request of transport for a session on another
// one: the reference's TRANSPORT_MISMATCH.
func (s *Server) refuseMismatch(x exchange, req *codec.Request, sess *Session, transport string) {
	prev := sess.Transport()
	if prev == transport {
		s.refuse(x, req, errBadRequest, refusedBadRequest)
		return
	}
	s.refuse(x, req, errBadRequest, refusedTransportMismatch,
		"name", "TRANSPORT_MISMATCH", "transport", transport, "previousTransport", prev)
}

// truncate returns b as a string of at most n bytes, for logs.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
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

// handshake opens a new session (v3: Engine.IO protocol v3). For a
// WebSocket, ws is the connection.
func (s *Server) handshake(x exchange, ws *eventloop.Conn, req *codec.Request, isWS, v3 bool) {
	cl := s.cluster.Load()
	// The id and the compact request share one allocation (one object
	// less per session for the collector to track).
	var pre [64]byte
	b := appendSessionID(pre[:0], cl)
	idLen := len(b)
	idRaw := compactRequest(req, appendRemote(b, x))
	sess := &Session{
		srv:     s,
		id:      idRaw[:idLen],
		raw:     idRaw[idLen:],
		secure:  x.secure(),
		created: time.Now().UnixNano(),
		eio3:    v3,
		b64:     v3 && wantsBase64(req),
	}
	// As the reference: allowRequest is part of verifying the request, before
	// ws checks the upgrade itself.
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(sess.Request()); err != nil {
			e := errForbidden
			if msg := err.Error(); msg != "" {
				e.message = msg
			}
			s.refuse(x, req, e, refusedForbidden, "message", err.Error())
			return
		}
	}
	s.timers.Init(&sess.hb, heartbeatFired)
	sess.setPolicyLocked(s.opts.SlowReaderPolicy)
	if isWS {
		resp, deflate, herr := s.acceptResponse(x, req, true)
		if herr != nil {
			s.refuse(x, req, *herr, refusedWebSocketHandshake)
			return
		}
		c := ws
		sess.kind = kindWebSocket
		sess.ws = c
		sess.deflate = deflate
		s.attachConn(sess, c)
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
		sess.p = &pollState{jsonp: jsonpDigits(req)}
		if cl != nil && cl.cfg.TakeoverWindow > 0 && s.websocket && !s.opts.DisableUpgrades {
			// In a cluster, the session waits to be handed over in case its
			// upgrade reaches another server (takeover.go).
			pc := &pendingConn{}
			sess.p.pend = pc
			s.timers.Init(&pc.timer, func(*timer.Timer) { sess.pendingExpired() })
		}
	}
	s.sessions.add(sess)
	s.openedTotal.Add(1)
	if isWS {
		s.stats.websocket.Add(1)
	} else {
		s.stats.polling.Add(1)
	}
	s.startMemoryRelease()
	pending := sess.p != nil && sess.p.pend != nil
	if pending {
		s.timers.Reset(&sess.p.pend.timer, cl.cfg.TakeoverWindow)
	}
	if v3 {
		s.timers.Reset(&sess.hb, s.opts.PingInterval+s.opts.PingTimeout) // the client's first ping
	} else {
		s.timers.Reset(&sess.hb, s.opts.PingInterval)
	}
	if !isWS {
		var upgrades []string
		if s.websocket && !s.opts.DisableUpgrades {
			upgrades = []string{TransportWebSocket}
		}
		open := pool.Get()
		open.B = codec.AppendOpenPacket(open.B, sess.id, upgrades,
			s.opts.PingInterval.Milliseconds(), s.opts.PingTimeout.Milliseconds(), int64(s.opts.MaxPayload))
		o := s.pollOpts(x, req, true, sess.id)
		o.eio3, o.jsonp = v3, sess.p.jsonp
		payload := open.B
		if v3 {
			rec := pool.Get()
			rec.B = codec.AppendV3Record(rec.B, codec.EIOOpen, open.B[1:])
			pool.Put(open)
			open, payload = rec, rec.B
		}
		s.respondPayload(x, o, payload, false)
		pool.Put(open)
	}
	if s.onConnection != nil && !pending {
		s.onConnection(sess)
	}
}

// attachConn makes c count in sess's budget: the session's policy, the
// server-wide total, paused reads. sess.mu held, or sess not shared yet.
func (s *Server) attachConn(sess *Session, c *eventloop.Conn) {
	c.SetDropVolatile(sess.dropsVolatile())
	if s.total != nil {
		c.SetAccount(s.total)
	}
	if sess.flow&flowPaused != 0 {
		c.PauseReads()
	}
}

// appendSessionID appends a new session id to dst: 20 URL-safe characters
// from 15 random bytes; in a cluster, the node's id (4 characters) and 16
// from 12 random bytes.
func appendSessionID(dst []byte, cl *clusterState) []byte {
	var b [15]byte
	if cl != nil {
		_, _ = rand.Read(b[:12])
		dst = append(dst, cl.cfg.NodeID...)
		return base64.RawURLEncoding.AppendEncode(dst, b[:12])
	}
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.AppendEncode(dst, b[:])
}

// serveElsewhere serves, in a cluster, a request for a session another
// server holds (cluster.go): it reports false when there is none to ask.
func (s *Server) serveElsewhere(x exchange, c *eventloop.Conn, req *codec.Request, body, sid []byte, isWS, upgrade bool) bool {
	cl := s.cluster.Load()
	if cl == nil {
		return false
	}
	if _, forwarded := x.(*remoteExchange); forwarded {
		return false // never forwarded twice
	}
	node, ok := cl.ownerOf(sid)
	if !ok {
		return false
	}
	if isWS {
		if !upgrade || !bytes.Equal(req.Method, methodGet) {
			s.refuse(x, req, errBadRequest, refusedBadRequest)
			return true
		}
		s.forwardUpgrade(cl, x, c, req, sid, node)
		return true
	}
	s.forwardPoll(cl, x, req, body, node)
	return true
}

// cookieValue is the Set-Cookie value of the "io" cookie for session sid,
// "" when there is no cookie.
func (s *Server) cookieValue(sid string) string {
	ck := s.opts.Cookie
	if ck == nil {
		return ""
	}
	name, path := ck.Name, ck.Path
	if name == "" {
		name = "io"
	}
	if path == "" {
		path = "/"
	}
	v := name + "=" + sid + "; Path=" + path
	if ck.HTTPOnly {
		v += "; HttpOnly"
	}
	if ck.SameSite != "" {
		v += "; SameSite=" + ck.SameSite
	}
	return v
}

// extraHeaders returns the header lines an answer of a session carries
// besides its own: cors (the CORS lines, shared and left unmodified), the
// "io" cookie on a session's first answer (initial), and what the header
// hooks add.
func (s *Server) extraHeaders(cors []byte, x exchange, req *codec.Request, initial bool, sid string) []byte {
	cookie := ""
	if initial {
		cookie = s.cookieValue(sid)
	}
	hooked := s.hasHeaderHooks(initial)
	if !hooked && cookie == "" {
		return cors
	}
	b := append([]byte(nil), cors...)
	if !hooked {
		return codec.AppendHeader(b, "Set-Cookie", cookie)
	}
	var pre http.Header
	if cookie != "" {
		pre = http.Header{"Set-Cookie": {cookie}}
	}
	return s.hookHeaders(b, x, req, initial, pre)
}

// ---- responses ----

func (s *Server) respondError(x exchange, req *codec.Request, e httpError) {
	if req.Upgrade {
		s.respondUpgradeError(x, e)
		return
	}
	s.respondErrorTo(x, req.KeepAlive, s.corsHeaders(req), e)
}

// respondErrorTo answers e as JSON, with the request's keep-alive and CORS
// header lines.
func (s *Server) respondErrorTo(x exchange, keepAlive bool, cors []byte, e httpError) {
	body := `{"code":` + strconv.Itoa(e.code) + `,"message":` + string(codec.AppendJSONString(nil, e.message)) + `}`
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, e.status)
	b = codec.AppendHeader(b, "Content-Type", "application/json")
	b = append(b, cors...)
	b = codec.AppendContentLength(b, len(body))
	closeConn := !keepAlive
	if closeConn {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	bb.B = b
	x.respond(bb, closeConn)
}

// respondUpgradeError refuses a WebSocket upgrade with the reference's bare
// answer: 400 with the message as text, then the connection closes.
func (s *Server) respondUpgradeError(x exchange, e httpError) {
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 400)
	b = codec.AppendHeader(b, "Connection", "close")
	b = codec.AppendHeader(b, "Content-Type", "text/html")
	b = codec.AppendContentLength(b, len(e.message))
	b = append(b, "\r\n"...)
	b = append(b, e.message...)
	bb.B = b
	x.respond(bb, true)
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
