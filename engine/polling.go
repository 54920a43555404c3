package engine

import (
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

const (
	encIdentity uint8 = iota
	encGzip
	encDeflate
)

// pollResponseOpts is what a held GET's answer depends on, taken from the
// GET itself.
type pollResponseOpts struct {
	keepAlive bool
	encoding  uint8
	eio3      bool   // the session's framing is Engine.IO v3's (eio3.go)
	jsonp     []byte // JSONP polling: the digits of the session's "j"; nil otherwise
	// extra header lines: CORS for this origin (shared, immutable), the
	// cookie of a first answer, what the header hooks add
	cors []byte
}

// pollOpts takes from req what its answer depends on; initial: it opens
// session sid.
func (s *Server) pollOpts(x exchange, req *codec.Request, initial bool, sid string) pollResponseOpts {
	o := pollResponseOpts{keepAlive: req.KeepAlive, cors: s.corsHeaders(req)}
	if s.opts.HTTPCompressionThreshold >= 0 {
		if ae := req.Header("Accept-Encoding"); ae != nil {
			switch {
			case codec.AcceptsEncoding(ae, "gzip"):
				o.encoding = encGzip
			case codec.AcceptsEncoding(ae, "deflate"):
				o.encoding = encDeflate
			}
		}
	}
	o.cors = s.extraHeaders(o.cors, x, req, initial, sid)
	return o
}

// handlePoll serves a GET on an existing polling session.
func (s *Server) handlePoll(x exchange, req *codec.Request, sess *Session) {
	opts := s.pollOpts(x, req, false, "")
	opts.eio3 = sess.eio3
	sess.mu.Lock()
	if sess.p != nil {
		opts.jsonp = sess.p.jsonp
	}
	switch {
	case sess.state == stateClosing && len(sess.p.queue) > 0:
		// What was queued before a server-side close goes first, in its own
		// response, and the close packet in the next one, as the reference
		// does (it drains its write buffer, then closes). In one payload the
		// client would handle the close before the packets (socket.io-client
		// processes a DISCONNECT on the next tick).
		sess.p.conn = x
		sess.p.opts = opts
		sess.flushPollLocked()
		sess.mu.Unlock()
		return
	case sess.state == stateClosing:
		// A server-side close waiting for this poll: deliver the close packet.
		sess.state = stateClosed
		sess.srv.timers.Stop(&sess.hb)
		sess.mu.Unlock()
		s.sessions.remove(sess)
		s.respondPayload(x, opts, opts.control(codec.EIOClose), false)
		return
	case sess.state != stateOpen || sess.kind != kindPolling:
		sess.mu.Unlock()
		s.refuseMismatch(x, req, sess, TransportPolling)
		return
	case sess.p.conn != nil:
		// Overlapping polls: the reference ends the session; the held GET
		// gets the close packet, this one a 400.
		sess.respondControlLocked(codec.EIOClose)
		sess.mu.Unlock()
		s.refuse(x, req, errBadRequest, refusedBadRequest)
		sess.closeAfterError()
		return
	case sess.upgrade != nil && sess.upgrade.probed:
		// Upgrading: release the client's polling loop at once.
		sess.mu.Unlock()
		s.respondPayload(x, opts, opts.control(codec.EIONoop), false)
		return
	}
	sess.p.conn = x
	sess.p.opts = opts
	x.hold(sess)
	if len(sess.p.queue) > 0 {
		sess.flushPollLocked()
	}
	sess.mu.Unlock()
}

// closeAfterError ends the session with "transport error".
func (s *Session) closeAfterError() { s.close(ReasonTransportError) }

// pollGone is told that the client of a held GET went away before its
// answer: the session ends, as in the reference ("poll connection closed
// prematurely").
func (s *Session) pollGone(x exchange) {
	s.mu.Lock()
	held := s.p != nil && s.p.conn == x
	if held {
		s.p.conn = nil
	}
	s.mu.Unlock()
	if held {
		s.close(ReasonTransportError)
	}
}

// flushPollLocked answers the held GET with everything queued. s.mu held.
func (s *Session) flushPollLocked() {
	if s.eio3 {
		s.flushPollV3Locked()
		return
	}
	bb := pool.Get()
	for i := range s.p.queue {
		m := &s.p.queue[i]
		if i > 0 {
			bb.B = append(bb.B, codec.RecordSeparator)
		}
		switch {
		case m.prep != nil:
			bb.B = append(bb.B, m.prep.records...)
		case m.typ == codec.EIOMessage:
			var data []byte
			if m.bb != nil {
				data = m.bb.B
			}
			bb.B = appendRecord(bb.B, data, m.binary)
		default:
			bb.B = codec.AppendPacket(bb.B, m.typ, nil)
		}
		m.release()
	}
	s.resetQueueLocked()
	s.respondPollLocked(bb.B, false)
	pool.Put(bb)
}

// resetQueueLocked empties the poll queue (its messages released), keeping
// a small backing array. s.mu held.
func (s *Session) resetQueueLocked() {
	clear(s.p.queue)
	if cap(s.p.queue) > 32 {
		s.p.queue = nil
	} else {
		s.p.queue = s.p.queue[:0]
	}
}

// respondPollLocked answers the held GET with payload (copied); binary:
// an XHR2 binary payload (v3). s.mu held.
func (s *Session) respondPollLocked(payload []byte, binary bool) {
	x := s.p.conn
	s.p.conn = nil
	x.unhold()
	s.srv.respondPayload(x, s.p.opts, payload, binary)
}

// respondControlLocked answers the held GET with one control packet (noop,
// close) in the session's framing. s.mu held.
func (s *Session) respondControlLocked(typ codec.EIOType) {
	s.respondPollLocked(s.p.opts.control(typ), false)
}

// respondPayload writes a 200 answer carrying a polling payload (text/plain,
// or application/octet-stream for a v3 binary payload; a JSONP session's
// wrapped in its callback), compressed when it is worth it and the client
// accepts it.
func (s *Server) respondPayload(x exchange, o pollResponseOpts, payload []byte, binary bool) {
	var js *pool.Buffer
	if o.jsonp != nil {
		js = pool.Get()
		js.B = codec.AppendJSONP(js.B, o.jsonp, payload)
		payload = js.B
		defer pool.Put(js)
	}
	bb := pool.Get()
	var z *pool.Buffer
	enc := ""
	if o.encoding != encIdentity && s.opts.HTTPCompressionThreshold >= 0 && len(payload) >= s.opts.HTTPCompressionThreshold {
		z = pool.Get()
		if o.encoding == encGzip {
			compressGzip(z, payload)
			enc = "gzip"
		} else {
			compressDeflate(z, payload)
			enc = "deflate"
		}
		payload = z.B
	}
	b := codec.AppendStatusLine(bb.B, 200)
	if binary {
		b = codec.AppendHeader(b, "Content-Type", "application/octet-stream")
	} else {
		b = codec.AppendHeader(b, "Content-Type", "text/plain; charset=UTF-8")
	}
	if enc != "" {
		b = codec.AppendHeader(b, "Content-Encoding", enc)
	}
	b = append(b, o.cors...)
	b = codec.AppendContentLength(b, len(payload))
	if !o.keepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, payload...)
	bb.B = b
	pool.Put(z)
	x.respond(bb, !o.keepAlive)
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

func compressGzip(dst *pool.Buffer, p []byte) {
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(dst)
	_, _ = w.Write(p)
	_ = w.Close()
	w.Reset(nil)
	gzipWriters.Put(w)
}

func compressDeflate(dst *pool.Buffer, p []byte) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(dst)
	_, _ = w.Write(p)
	_ = w.Close()
	w.Reset(nil)
	flateWriters.Put(w)
}

// handlePost serves a POST of packets to a polling session.
func (s *Server) handlePost(x exchange, req *codec.Request, body []byte, sess *Session) {
	sess.mu.Lock()
	ok := sess.state == stateOpen && sess.kind == kindPolling
	sess.mu.Unlock()
	if !ok {
		s.refuseMismatch(x, req, sess, TransportPolling)
		return
	}
	if len(body) > s.opts.MaxPayload {
		s.noteOversize(x, sess.id, len(body))
		s.respondStatus(x, req, 413)
		sess.closeOversize()
		return
	}
	if s.handlePostCompat(x, req, body, sess) {
		return
	}
	s.handlePostV4(x, req, body, sess)
}

// handlePostV4 hands the packets of a v4 text payload to sess.
func (s *Server) handlePostV4(x exchange, req *codec.Request, body []byte, sess *Session) {
	var scratch *pool.Buffer
	defer func() { pool.Put(scratch) }()
	alive := true
	for rest := body; alive && rest != nil; {
		var rec []byte
		rec, rest = codec.NextRecord(rest)
		if scratch == nil && len(rec) > 0 && rec[0] == 'b' {
			scratch = pool.Get()
		}
		var sb []byte
		if scratch != nil {
			sb = scratch.B[:0]
		}
		typ, data, binary, nsb, err := codec.DecodeRecord(rec, sb)
		if scratch != nil {
			scratch.B = nsb
		}
		if err != nil {
			s.stats.protocolErrors.Add(1)
			s.rlog.Log(logProtocol, warnLevel, "engine: undecodable polling payload; session closed",
				"remote", remoteHost(x.remoteAddr()), "sid", sess.id, "err", err.Error())
			s.respondError(x, req, errBadRequest)
			sess.close(ReasonParseError)
			return
		}
		alive = sess.onPacket(typ, data, binary)
	}
	s.respondOK(x, req)
}

// rejectBody answers a request whose body is over maxPayload: 413 and, for
// a POST to a session, like the reference, the end of the session.
func (s *Server) rejectBody(x exchange, req *codec.Request) {
	var sid []byte
	if s.onPath(req.Path) {
		sid, _ = codec.QueryValue(req.RawQuery, "sid")
	}
	s.noteOversize(x, string(sid), int(req.ContentLength))
	s.respondStatus(x, req, 413)
	if sid != nil {
		if sess := s.sessions.get(sid); sess != nil {
			sess.closeOversize()
		}
	}
}

// noteOversize counts and logs a body over MaxPayload (size -1: unknown,
// chunked).
func (s *Server) noteOversize(x exchange, sid string, size int) {
	s.stats.oversize.Add(1)
	s.rlog.Log(logOversize, warnLevel, "engine: polling body over MaxPayload; answered 413",
		"remote", remoteHost(x.remoteAddr()), "sid", sid, "size", size, "limit", s.opts.MaxPayload)
}

var okBody = []byte("ok")

func (s *Server) respondOK(x exchange, req *codec.Request) {
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 200)
	b = codec.AppendHeader(b, "Content-Type", "text/html")
	b = append(b, s.extraHeaders(s.corsHeaders(req), x, req, false, "")...)
	b = codec.AppendContentLength(b, len(okBody))
	if !req.KeepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, okBody...)
	bb.B = b
	x.respond(bb, !req.KeepAlive)
}
