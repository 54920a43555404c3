package engine

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// ServeHTTP makes the server an http.Handler, to mount on a net/http
// server beside other routes, on the path it serves (Options.Path):
//
//	mux := http.NewServeMux()
//	mux.Handle("/engine.io/", srv)
//	http.ListenAndServe(":8080", mux)
//
// No other call is needed: polling requests are answered here, on the
// net/http server's goroutine (a long poll holds it until the answer is
// due); a WebSocket upgrade is taken over — the connection is hijacked and
// moved, with anything the net/http server had read past the request, to
// the server's event loops, which answer the upgrade and serve the
// WebSocket with no goroutine of its own (a TLS connection is served on a
// goroutine each: the loops have no TLS). The loops start on the first such
// upgrade.
//
// Answers are those of the server's own listeners: the same status codes
// and bodies, limits, CORS headers, cookie and compression. Requests
// outside Path go to Options.NotFound, or get 404. HTTP/2 requests (no
// hijacking there) are served as polling; a WebSocket over HTTP/2 gets 400,
// and clients then use HTTP/1.1 for it.
//
// Call Shutdown before shutting the net/http server down: it answers the
// polls being held, which the net/http server would otherwise wait for.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !onPath(s.opts.Path, r.URL.Path) {
		if nf := s.opts.NotFound; nf != nil {
			nf.ServeHTTP(w, r)
		} else {
			http.NotFound(w, r)
		}
		return
	}
	if r.ProtoMajor == 1 && isWebSocketUpgrade(r) {
		if hj, ok := w.(http.Hijacker); ok && !s.closing.Load() {
			s.takeOver(w, r, hj)
			return
		}
	}
	x := &httpExchange{w: w, r: r, done: make(chan answer, 1)}
	req := &codec.Request{}
	requestFromHTTP(r, req)
	var body *pool.Buffer
	if r.ContentLength != 0 && r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		if r.ContentLength > int64(s.opts.MaxPayload) {
			s.rejectBody(x, req)
			x.finish(r.Context())
			return
		}
		body = pool.Get()
		tooBig, err := readBody(body, r.Body, s.opts.MaxPayload)
		switch {
		case err != nil:
			pool.Put(body)
			return // the client went away mid-body
		case tooBig:
			pool.Put(body)
			s.rejectBody(x, req)
			x.finish(r.Context())
			return
		}
	}
	var b []byte
	if body != nil {
		b = body.B
	}
	s.serve(x, nil, req, b)
	pool.Put(body)
	x.finish(r.Context())
}

// readBody reads r into bb, at most limit bytes; tooBig reports more.
func readBody(bb *pool.Buffer, r io.Reader, limit int) (tooBig bool, err error) {
	for {
		if len(bb.B) == cap(bb.B) {
			bb.B = append(bb.B, 0)[:len(bb.B)]
		}
		n, err := r.Read(bb.B[len(bb.B):cap(bb.B)])
		bb.B = bb.B[:len(bb.B)+n]
		if len(bb.B) > limit {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	return hasToken(r.Header["Connection"], "upgrade") && hasToken(r.Header["Upgrade"], "websocket")
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		if codec.HeaderContainsToken([]byte(v), token) {
			return true
		}
	}
	return false
}

// takeOver hijacks a WebSocket upgrade request's connection and gives it to
// the event loops with the request (rebuilt) and whatever net/http had
// read past it, as if they had just come from the socket: the loops answer
// it exactly as they answer one on the server's own listeners.
func (s *Server) takeOver(w http.ResponseWriter, r *http.Request, hj http.Hijacker) {
	raw := pool.Get()
	defer pool.Put(raw)
	raw.B = appendRequestHead(raw.B, r)
	nc, brw, err := hj.Hijack()
	if err != nil {
		s.opts.Logger.Warn("engine: cannot take over a WebSocket upgrade", "err", err, "remote", r.RemoteAddr)
		http.Error(w, "cannot upgrade this connection", http.StatusInternalServerError)
		return
	}
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		raw.B = append(raw.B, b...)
	}
	// Adopt copies the bytes before it returns.
	if err := s.loop.Adopt(nc, raw.B); err != nil {
		s.opts.Logger.Warn("engine: cannot serve a WebSocket taken over from net/http", "err", err, "remote", r.RemoteAddr)
	}
}

// appendRequestHead rebuilds the request line and header fields of r, as
// the event loops parse them.
func appendRequestHead(dst []byte, r *http.Request) []byte {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, uri...)
	if r.ProtoMinor == 0 {
		dst = append(dst, " HTTP/1.0\r\n"...)
	} else {
		dst = append(dst, " HTTP/1.1\r\n"...)
	}
	dst = codec.AppendHeader(dst, "Host", r.Host)
	for name, values := range r.Header {
		for _, v := range values {
			dst = codec.AppendHeader(dst, name, v)
		}
	}
	if len(r.TransferEncoding) > 0 {
		dst = codec.AppendHeader(dst, "Transfer-Encoding", strings.Join(r.TransferEncoding, ", "))
	}
	return append(dst, "\r\n"...)
}

// requestFromHTTP fills req from r (slices of copies of r's strings).
func requestFromHTTP(r *http.Request, req *codec.Request) {
	req.Reset()
	req.Method = []byte(r.Method)
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	req.URI = []byte(uri)
	req.Path = []byte(r.URL.Path)
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		req.RawQuery = []byte(r.URL.RawQuery)
	}
	req.ProtoMinor = 1
	if r.ProtoMajor == 1 {
		req.ProtoMinor = r.ProtoMinor
	}
	req.Host = []byte(r.Host)
	req.Headers = append(req.Headers, codec.Header{Name: []byte("Host"), Value: req.Host})
	for name, values := range r.Header {
		n := []byte(name)
		for _, v := range values {
			req.Headers = append(req.Headers, codec.Header{Name: n, Value: []byte(v)})
		}
	}
	req.ContentLength = r.ContentLength
	req.KeepAlive = !r.Close
}

// answer is a response the Engine.IO logic gave an httpExchange.
type answer struct {
	bb         *pool.Buffer
	closeAfter bool
}

// httpExchange is a request on net/http: the handler's goroutine waits in
// finish for the answer, which may come from any goroutine (a held poll is
// answered by whoever sends to the session).
type httpExchange struct {
	w    http.ResponseWriter
	r    *http.Request
	done chan answer // one answer, buffered: respond never blocks

	mu   sync.Mutex
	held pollWatcher
}

func (x *httpExchange) respond(bb *pool.Buffer, closeAfter bool) {
	select {
	case x.done <- answer{bb, closeAfter}:
	default:
		pool.Put(bb) // answered already: not possible by the engine's rules
	}
}

func (x *httpExchange) remoteAddr() net.Addr {
	if ap, err := netip.ParseAddrPort(x.r.RemoteAddr); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return stringAddr(x.r.RemoteAddr)
}

func (x *httpExchange) secure() bool { return x.r.TLS != nil }

func (x *httpExchange) hold(w pollWatcher) {
	x.mu.Lock()
	x.held = w
	x.mu.Unlock()
}

func (x *httpExchange) unhold() {
	x.mu.Lock()
	x.held = nil
	x.mu.Unlock()
}

// finish waits for the answer and writes it, or, if the client goes first,
// tells the session holding the request.
func (x *httpExchange) finish(ctx context.Context) {
	select {
	case a := <-x.done:
		writeAnswer(x.w, x.r, a.bb.B, a.closeAfter)
		pool.Put(a.bb)
	case <-ctx.Done():
		x.mu.Lock()
		s := x.held
		x.mu.Unlock()
		if s != nil {
			s.pollGone(x)
		}
		select {
		case a := <-x.done:
			pool.Put(a.bb)
		default:
		}
	}
}

// writeAnswer writes a response the engine built as HTTP/1.1 bytes (status
// line, header fields, body) through w.
func writeAnswer(w http.ResponseWriter, r *http.Request, b []byte, closeAfter bool) {
	status := http.StatusInternalServerError
	if len(b) >= 12 {
		if n, err := strconv.Atoi(string(b[9:12])); err == nil {
			status = n
		}
	}
	i := bytes.Index(b, crlf) + 2
	h := w.Header()
	for i > 1 && i < len(b) {
		j := bytes.Index(b[i:], crlf)
		if j < 0 {
			break
		}
		line := b[i : i+j]
		i += j + 2
		if len(line) == 0 {
			break
		}
		k := bytes.IndexByte(line, ':')
		if k <= 0 {
			continue
		}
		name := string(line[:k])
		if name == "Connection" {
			continue // net/http's to decide (and not sent over HTTP/2)
		}
		h.Add(name, string(bytes.TrimLeft(line[k+1:], " ")))
	}
	if closeAfter && r.ProtoMajor == 1 {
		h.Set("Connection", "close")
	}
	w.WriteHeader(status)
	if i < len(b) {
		_, _ = w.Write(b[i:])
	}
}

var crlf = []byte("\r\n")

// stringAddr is a net.Addr for an address net/http gave as a string that is
// not host:port (a unix socket's, or a test's).
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
