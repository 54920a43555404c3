package engine

import (
	"bytes"
	"net"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
)

// exchange is one HTTP request being answered, on a reactor connection
// (loopExchange) or on net/http (httpExchange, handler.go). The Engine.IO
// logic is written once against it: the same answers, limits, CORS,
// cookies and compression whichever server the request came through.
type exchange interface {
	// respond sends the complete HTTP/1.1 response in bb (ownership passes),
	// once per exchange, from any goroutine; closeAfter ends the connection
	// after it.
	respond(bb *pool.Buffer, closeAfter bool)
	remoteAddr() net.Addr
	secure() bool
	// hold marks the answer as held for w (a long poll, a forwarded
	// request): if the client goes away before it is answered,
	// w.pollGone(x) is called. unhold undoes it.
	hold(w pollWatcher)
	unhold()
}

// pollWatcher is told when the client of a held request goes away: a
// *Session (its long poll), an *outbound (a request forwarded to another
// server).
type pollWatcher interface{ pollGone(x exchange) }

// loopExchange is a request on a reactor connection. It is one pointer, so
// it fits in an interface without allocating, and two of them compare
// equal when they are the same connection.
type loopExchange struct{ c *eventloop.Conn }

func (x loopExchange) respond(bb *pool.Buffer, closeAfter bool) { _ = x.c.Respond(bb, closeAfter) }
func (x loopExchange) remoteAddr() net.Addr                     { return x.c.RemoteAddr() }
func (x loopExchange) secure() bool                             { return x.c.Secure() }
func (x loopExchange) unhold()                                  { x.c.SetOwner(nil) }

func (x loopExchange) hold(w pollWatcher) {
	// One owner type per watcher: each is a single pointer, so that making
	// it an eventloop.Owner does not allocate.
	switch w := w.(type) {
	case *Session:
		x.c.SetOwner(pollOwner{w})
	case *outbound:
		x.c.SetOwner(fwdOwner{w})
	}
}

// pollOwner watches a held GET's reactor connection: if the client drops
// it, the session ends, as in the reference ("poll connection closed
// prematurely").
type pollOwner struct{ s *Session }

func (o pollOwner) OnMessage(*eventloop.Conn, []byte, bool) {}
func (o pollOwner) OnClose(c *eventloop.Conn, _ error)      { o.s.pollGone(loopExchange{c}) }

// loopHandler is the engine as the reactor's request handler. It is kept
// apart from Server so that none of eventloop's types show in engine's
// exported API.
type loopHandler struct{ s *Server }

// ServeRequest implements eventloop.Handler.
func (h loopHandler) ServeRequest(c *eventloop.Conn, req *codec.Request, body []byte) {
	s := h.s
	var x exchange = loopExchange{c}
	if bytes.Equal(req.Method, methodHead) {
		x = headExchange{x}
	}
	if !s.onPath(req.Path) {
		// Diverted to net/http when there is a NotFound handler; here when
		// there is none.
		s.respondNotFound(x, req)
		return
	}
	s.serve(x, c, req, body)
}

// headExchange answers a HEAD request: the answer's header, without its
// body (RFC 9110 section 9.3.2). net/http does this itself.
type headExchange struct{ exchange }

func (x headExchange) respond(bb *pool.Buffer, closeAfter bool) {
	if i := bytes.Index(bb.B, headerEnd); i >= 0 {
		bb.B = bb.B[:i+len(headerEnd)]
	}
	x.exchange.respond(bb, closeAfter)
}

var headerEnd = []byte("\r\n\r\n")

// RejectBody implements eventloop.BodyRejecter.
func (h loopHandler) RejectBody(c *eventloop.Conn, req *codec.Request) {
	h.s.rejectBody(loopExchange{c}, req)
}

// Divert implements eventloop.Diverter: requests outside Path go to the
// NotFound handler, served by net/http (httpserver.go).
func (h loopHandler) Divert(req *codec.Request) bool {
	return h.s.opts.NotFound != nil && !h.s.onPath(req.Path)
}

// Handoff implements eventloop.Diverter.
func (h loopHandler) Handoff(nc net.Conn, release func()) {
	h.s.netHTTP().serveConn(nc, release)
}
