package engine

import (
	"bytes"
	"net"
	"sync"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Forwarding a polling request (see Cluster). The server that received it
// (the edge) sends the request, as HTTP/1.1 bytes, to the server whose id
// begins the session id (the owner), which serves it through its own code
// (serve) with a remoteExchange in place of the client's connection; the
// answer, the exact bytes a client of the owner would get, comes back and
// is written to the client. Nothing waits on a goroutine: the edge keeps
// an outbound per request (the client's connection stays on its event
// loop, or on its net/http goroutine when the engine is mounted), the owner
// a remoteExchange per held poll.

// outbound is a polling request forwarded to the server holding its
// session, waiting for the answer.
type outbound struct {
	cl        *clusterState
	x         exchange
	node      string
	id        uint64
	keepAlive bool
	cors      []byte // CORS header lines of the request (shared, immutable)
	timer     timer.Timer
}

// forwardPoll forwards a polling request for a session node holds.
func (s *Server) forwardPoll(cl *clusterState, x exchange, req *codec.Request, body []byte, node string) {
	o := &outbound{cl: cl, x: x, node: node, keepAlive: req.KeepAlive, cors: s.corsHeaders(req)}
	o.id = cl.register(o)
	// A poll is held until there is something to send (the owner sends a
	// ping every PingInterval at the latest), and a POST while the
	// session's reads are paused (PauseReads): both may wait that long
	// beside the answer's own way.
	timeout := cl.cfg.ForwardTimeout + s.opts.PingInterval
	s.timers.Init(&o.timer, func(*timer.Timer) { o.timedOut() })
	s.timers.Reset(&o.timer, timeout)
	x.hold(o)
	cl.stats.forwarded.Add(1)
	msg := pool.Get()
	msg.B = appendForward(msg.B, o.id, req, body)
	sent := cl.send(node, msg.B)
	pool.Put(msg)
	if !sent && cl.take(o.id, o) != nil {
		o.lost(false)
	}
}

// appendForward appends the forward message of req: the request line and
// header fields as received, the body with its length (a chunked body was
// decoded already).
func appendForward(dst []byte, id uint64, req *codec.Request, body []byte) []byte {
	dst = appendMsgHeader(dst, msgForward, id)
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.URI...)
	if req.ProtoMinor == 0 {
		dst = append(dst, " HTTP/1.0\r\n"...)
	} else {
		dst = append(dst, " HTTP/1.1\r\n"...)
	}
	for _, h := range req.Headers {
		if equalFoldBytes(h.Name, "content-length") || equalFoldBytes(h.Name, "transfer-encoding") {
			continue
		}
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if len(body) > 0 || bytes.Equal(req.Method, methodPost) {
		dst = codec.AppendContentLength(dst, len(body))
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

func (o *outbound) peer() string { return o.node }

// answer writes the owner's response to the client.
func (o *outbound) answer(typ byte, rest []byte) {
	if o.cl.take(o.id, o) == nil {
		return
	}
	if typ != msgResponse || len(rest) < 1 {
		o.lost(false)
		return
	}
	o.cl.srv.timers.Stop(&o.timer)
	o.x.unhold()
	bb := pool.Get()
	bb.B = append(bb.B, rest[1:]...)
	o.x.respond(bb, rest[0]&1 != 0)
}

// lost answers 400 "Session ID unknown": the owner is gone or did not
// answer in time. The caller took o from the waiting list.
func (o *outbound) lost(timedOut bool) {
	cl := o.cl
	cl.srv.timers.Stop(&o.timer)
	cl.stats.failures.Add(1)
	cl.srv.stats.refused[refusedUnknownSID].Add(1)
	if timedOut {
		cl.stats.timeouts.Add(1)
		cl.warn(clusterLogTimeout, "engine: the server holding a session did not answer a forwarded request in time; answering Session ID unknown", "node", o.node, "timeout", cl.cfg.ForwardTimeout)
	} else {
		cl.warn(clusterLogLost, "engine: the server holding a session is gone; answering Session ID unknown", "node", o.node)
	}
	o.x.unhold()
	cl.srv.respondErrorTo(o.x, o.keepAlive, o.cors, errUnknownSID)
}

// timedOut runs when the owner took too long: the client gets 400, and
// the owner is told to let the request go, as if the client had left.
func (o *outbound) timedOut() {
	if o.cl.take(o.id, o) == nil {
		return
	}
	o.cl.sendShort(o.node, msgCancel, o.id)
	o.lost(true)
}

// pollGone: the client of a forwarded request went away; the owner is told
// (a held poll's session ends there, as when its client leaves).
func (o *outbound) pollGone(exchange) {
	if o.cl.take(o.id, o) == nil {
		return
	}
	o.cl.srv.timers.Stop(&o.timer)
	o.cl.sendShort(o.node, msgCancel, o.id)
}

// fwdOwner watches the reactor connection of a forwarded request.
type fwdOwner struct{ o *outbound }

func (w fwdOwner) OnMessage(*eventloop.Conn, []byte, bool) {}
func (w fwdOwner) OnClose(c *eventloop.Conn, _ error)      { w.o.pollGone(loopExchange{c}) }

// ---- the owner's side ----

var requests = sync.Pool{New: func() any { return new(codec.Request) }}

// serveForwarded serves a request another server forwarded.
func (cl *clusterState) serveForwarded(from string, id uint64, raw []byte) {
	s := cl.srv
	cl.stats.served.Add(1)
	x := &remoteExchange{cl: cl, from: from, id: id}
	req := requests.Get().(*codec.Request)
	defer func() {
		req.Reset()
		requests.Put(req)
	}()
	n, err := codec.ParseRequest(raw, req, s.opts.MaxHeaderBytes+1024, codec.DefaultMaxHeaders)
	if err != nil || req.Chunked || req.ContentLength > int64(len(raw)-n) {
		s.respondErrorTo(x, true, nil, errBadRequest)
		return
	}
	body := raw[n:]
	if req.ContentLength >= 0 {
		body = body[:req.ContentLength]
	}
	sid, ok := codec.QueryValue(req.RawQuery, "sid")
	if !ok || !s.onPath(req.Path) {
		// Only requests for a session are forwarded.
		s.respondErrorTo(x, req.KeepAlive, nil, errBadRequest)
		return
	}
	if len(sid) != sidLen || string(sid[:nodeIDLen]) != cl.cfg.NodeID {
		// Not one of ours: never forwarded further.
		s.respondError(x, req, errUnknownSID)
		return
	}
	s.serve(x, nil, req, body)
}

// cancelForwarded: the client of a forwarded poll held here left.
func (cl *clusterState) cancelForwarded(from string, id uint64) {
	k := peerKey{from, id}
	cl.mu.Lock()
	x := cl.in[k]
	delete(cl.in, k)
	cl.mu.Unlock()
	if x != nil {
		x.gone()
	}
}

// remoteExchange is a forwarded request being answered here: its answer
// goes back to the server that forwarded it.
type remoteExchange struct {
	cl   *clusterState
	from string
	id   uint64

	mu   sync.Mutex
	held *Session
	done bool
}

func (x *remoteExchange) key() peerKey { return peerKey{x.from, x.id} }

func (x *remoteExchange) respond(bb *pool.Buffer, closeAfter bool) {
	x.mu.Lock()
	if x.done {
		x.mu.Unlock()
		pool.Put(bb)
		return
	}
	x.done = true
	held := x.held != nil
	x.held = nil
	x.mu.Unlock()
	if held {
		x.forget()
	}
	msg := pool.Get()
	msg.B = appendMsgHeader(msg.B, msgResponse, x.id)
	flags := byte(0)
	if closeAfter {
		flags = 1
	}
	msg.B = append(append(msg.B, flags), bb.B...)
	pool.Put(bb)
	x.cl.send(x.from, msg.B)
	pool.Put(msg)
}

func (x *remoteExchange) remoteAddr() net.Addr { return stringAddr("cluster node " + x.from) }
func (x *remoteExchange) secure() bool         { return false }

func (x *remoteExchange) hold(w pollWatcher) {
	sess, _ := w.(*Session)
	x.mu.Lock()
	if x.done {
		x.mu.Unlock()
		return
	}
	x.held = sess
	x.mu.Unlock()
	x.cl.mu.Lock()
	x.cl.in[x.key()] = x
	x.cl.mu.Unlock()
}

func (x *remoteExchange) unhold() {
	x.mu.Lock()
	x.held = nil
	x.mu.Unlock()
	x.forget()
}

func (x *remoteExchange) forget() {
	k := x.key()
	x.cl.mu.Lock()
	if x.cl.in[k] == x {
		delete(x.cl.in, k)
	}
	x.cl.mu.Unlock()
}

// gone: the client of the held poll left (or its server is gone); the
// session is told as if its own client had left.
func (x *remoteExchange) gone() {
	x.mu.Lock()
	sess := x.held
	x.held = nil
	x.done = true
	x.mu.Unlock()
	if sess != nil {
		sess.pollGone(x)
	}
}

// equalFoldBytes compares b with lower, an ASCII lower-case name.
func equalFoldBytes(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
