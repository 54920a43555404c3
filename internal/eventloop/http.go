package eventloop

import (
	"errors"
	"io"
	"sync"
	"syscall"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// readHTTP parses and dispatches complete requests, one at a time: a request
// that is still being answered holds back the ones pipelined behind it.
func (c *Conn) readHTTP() {
	cfg := &c.loop.srv.cfg
	for c.mode == modeHTTP && !c.awaiting {
		buffered := c.buffered()
		if buffered == 0 || buffered < int(c.need) {
			return
		}
		buf, _ := c.peek(-1)
		req := &c.loop.req
		req.Reset()
		n, err := codec.ParseRequest(buf, req, cfg.MaxHeaderBytes, cfg.MaxHeaders)
		if err == codec.ErrIncomplete {
			c.setNeed(len(buf) + 1)
			return
		}
		if err != nil {
			c.failHTTP(statusForParseError(err))
			return
		}
		if req.ProtoMinor == 1 && req.Host == nil {
			// RFC 9112 section 3.2: an HTTP/1.1 request without Host gets 400.
			c.failHTTP(400)
			return
		}
		if d, ok := c.loop.srv.handler.(Diverter); ok && c.canDetach() && d.Divert(req) {
			c.divert(d)
			return
		}
		total := n
		var body []byte
		switch {
		case req.Chunked:
			out, m, err := codec.DecodeChunked(c.loop.body[:0], buf[n:], cfg.MaxBodyBytes)
			if err == codec.ErrIncomplete {
				if len(buf) > cfg.MaxHeaderBytes+2*cfg.MaxBodyBytes+4096 {
					c.failHTTP(413)
					return
				}
				c.expectContinue(req)
				c.setNeed(len(buf) + 1)
				return
			}
			if err != nil {
				if errors.Is(err, codec.ErrBodyTooLarge) {
					c.rejectBody(req)
				} else {
					c.failHTTP(400)
				}
				return
			}
			c.loop.body = out
			body = out
			total += m
		case req.ContentLength > 0:
			if req.ContentLength > int64(cfg.MaxBodyBytes) {
				c.rejectBody(req)
				return
			}
			total += int(req.ContentLength)
			if len(buf) < total {
				c.expectContinue(req)
				c.setNeed(total)
				return
			}
			body = buf[n:total]
		}
		c.need = 0
		c.continued = false
		c.awaiting = true
		c.stopTimer(false) // a held answer (a long poll) is the handler's to bound
		c.loop.srv.handler.ServeRequest(c, req, body)
		c.discard(total)
		if cap(c.loop.body) > 64<<10 {
			c.loop.body = nil
		}
	}
	// While a response is pending, bound what a client may pile up behind it.
	if c.mode == modeHTTP && c.awaiting && c.buffered() > cfg.MaxHeaderBytes+cfg.MaxBodyBytes+4096 {
		c.Close(nil)
	}
}

func (c *Conn) expectContinue(req *codec.Request) {
	if c.continued || req.ProtoMinor < 1 {
		return
	}
	if v := req.Header("Expect"); v != nil && codec.HeaderContainsToken(v, "100-continue") {
		c.continued = true
		_ = c.WriteShared(continueResponse)
	}
}

var continueResponse = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// rejectBody answers a request whose body is over the limit: through the
// handler's BodyRejecter if it has one, else with a plain 413; either way the
// connection closes after the answer.
func (c *Conn) rejectBody(req *codec.Request) {
	r, ok := c.loop.srv.handler.(BodyRejecter)
	if !ok {
		c.failHTTP(413)
		return
	}
	c.discard(-1)
	c.awaiting = true
	c.mu.Lock()
	c.closeAfterResponse = true
	c.mu.Unlock()
	r.RejectBody(c, req)
}

// failHTTP answers a request the server could not parse and closes.
func (c *Conn) failHTTP(status int) {
	c.discard(-1)
	c.awaiting = true
	_ = c.Respond(ErrorResponse(status, "", true), true)
}

// divert hands the connection, from the request at the start of its
// buffer on, to d: the request is not consumed here, the new owner reads it
// first. A connection still writing an earlier answer cannot change hands
// (two writers would race): it is closed after that answer instead, which
// a client must expect of any keep-alive connection (RFC 9112 section 9.3.1)
// and retries on a new one. Loop only.
func (c *Conn) divert(d Diverter) {
	c.mu.Lock()
	pending := c.one != nil || c.queue != nil && c.queue.len() > 0
	c.mu.Unlock()
	if pending || c.ln.OutboundBuffered() > 0 {
		c.awaiting = true
		c.Close(nil)
		return
	}
	buf, _ := c.peek(-1)
	nc, err := c.detach(buf)
	if err != nil {
		c.loop.srv.cfg.Logger.Warn("eventloop: cannot hand the connection over", "err", err)
		c.failHTTP(503)
		return
	}
	c.awaiting = true
	c.detached = true
	c.stopTimer(true)
	c.discard(-1)
	srv := c.loop.srv
	var once sync.Once
	d.Handoff(nc, func() { once.Do(func() { srv.conns.Add(-1) }) })
}

func statusForParseError(err error) int {
	switch {
	case errors.Is(err, codec.ErrHeaderTooLarge), errors.Is(err, codec.ErrTooManyHeaders):
		return 431
	case errors.Is(err, codec.ErrUnsupportedVersion):
		return 505
	case errors.Is(err, codec.ErrUnsupportedTransferEncoding):
		return 501
	}
	return 400
}

// ErrorResponse builds a small plain-text (or given body) response. With
// closeConn the response says "Connection: close".
func ErrorResponse(status int, body string, closeConn bool) *pool.Buffer {
	if body == "" {
		body = codec.StatusText(status)
	}
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, status)
	b = codec.AppendHeader(b, "Content-Type", "text/plain; charset=utf-8")
	b = codec.AppendContentLength(b, len(body))
	if closeConn {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	bb.B = b
	return bb
}

func isPeerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
