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

// pollResponseMax bounds the bytes of queued packets one poll answer
// carries (at least one packet, whatever its size): what is left waits for
// the next GET, which the client sends as soon as it has read this one.
// So a backlog is never copied (or compressed) in one piece on an event
// loop; 256 KiB copy in ~20 µs and gzip in ~1 ms here.
const pollResponseMax = 256 << 10

// handlePoll serves a GET on an existing polling session.
func (s *Server) handlePoll(x exchange, req *codec.Request, sess *Session) {
	opts := s.pollOpts(x, req, false, "")
	opts.eio3 = sess.eio3
	sess.mu.Lock()
	if sess.p != nil {
		opts.jsonp = sess.p.jsonp
	}
	switch {
	case sess.state == stateClosing && sess.p.head < len(sess.p.queue):
		// What was queued before a server-side close goes first, in
		// responses of its own, and the close packet in the next one, as
		// the reference does (it drains its write buffer, then closes). In
		// one payload the client would handle the close before the packets
		// (socket.io-client processes a DISCONNECT on the next tick).
		sess.p.conn = x
		sess.p.opts = opts
		batch := sess.takePollLocked()
		sess.mu.Unlock()
		s.answerPoll(batch)
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
	case sess.upgrading() != nil && sess.upgrading().probed:
		// Upgrading: release the client's polling loop at once.
		sess.mu.Unlock()
		s.respondPayload(x, opts, opts.control(codec.EIONoop), false)
		return
	}
	sess.p.conn = x
	sess.p.opts = opts
	if sess.p.head < len(sess.p.queue) {
		// A backlog: its answer is built outside the session's lock.
		batch := sess.takePollLocked()
		sess.mu.Unlock()
		s.answerPoll(batch)
		return
	}
	x.hold(sess)
	sess.mu.Unlock()
}

// closeAfterError ends the session with "transport error".
func (s *Session) closeAfterError() { s.close(ReasonTransportError) }

// pollGone is told that the client of a held GET, or of a POST held by
// PauseReads, went away before its answer: the session ends, as in the
// reference ("poll connection closed prematurely", "data request
// connection closed prematurely").
func (s *Session) pollGone(x exchange) {
	s.mu.Lock()
	held := false
	if s.p != nil && s.p.conn == x {
		s.p.conn = nil
		held = true
	}
	if s.p != nil && s.p.post != nil && s.p.post.x == x {
		pool.Put(s.p.post.rest)
		s.p.post = nil
		held = true
	}
	s.mu.Unlock()
	if held {
		s.close(ReasonTransportError)
	}
}

// pollBatch is a held GET taken with the packets of its answer.
type pollBatch struct {
	x    exchange
	opts pollResponseOpts
	b64  bool // v3: binary as base64 text
	msgs []outMsg
}

var pollBatches = sync.Pool{New: func() any { return &pollBatch{} }}

// takePollLocked takes the held GET and the packets of its answer, at most
// pollResponseMax bytes of them, off the queue. s.mu held.
func (s *Session) takePollLocked() *pollBatch {
	p := s.p
	b := pollBatches.Get().(*pollBatch)
	b.x, b.opts, b.b64 = p.conn, p.opts, s.b64
	p.conn = nil
	b.x.unhold()
	n := 0
	for p.head < len(p.queue) {
		m := p.queue[p.head]
		sz := m.size()
		if len(b.msgs) > 0 && n+sz > pollResponseMax {
			break
		}
		n += sz
		if m.typ == codec.EIOPing {
			p.pingQueued = false
		}
		b.msgs = append(b.msgs, m)
		p.queue[p.head] = outMsg{}
		p.head++
	}
	s.chargePollLocked(-n)
	if p.head == len(p.queue) {
		p.head = 0
		if cap(p.queue) > 32 {
			p.queue = nil
		} else {
			p.queue = p.queue[:0]
		}
	}
	return b
}

// answerPoll builds the answer of a batch, in its session's framing, and
// sends it.
func (s *Server) answerPoll(b *pollBatch) {
	bb := pool.Get()
	binary := false
	if b.opts.eio3 {
		bb.B, binary = appendV3PollPayload(bb.B, b.msgs, b.b64 || b.opts.jsonp != nil)
	} else {
		bb.B = appendV4Payload(bb.B, b.msgs)
	}
	s.respondPayload(b.x, b.opts, bb.B, binary)
	pool.Put(bb)
	clear(b.msgs)
	if cap(b.msgs) > 64 {
		b.msgs = nil
	}
	b.msgs = b.msgs[:0]
	b.x = nil
	pollBatches.Put(b)
}

// appendV4Payload appends msgs as a v4 polling payload and releases them.
func appendV4Payload(dst []byte, msgs []outMsg) []byte {
	for i := range msgs {
		m := &msgs[i]
		if i > 0 {
			dst = append(dst, codec.RecordSeparator)
		}
		switch {
		case m.prep != nil:
			dst = append(dst, m.prep.records...)
		case m.typ == codec.EIOMessage:
			var data []byte
			if m.bb != nil {
				data = m.bb.B
			}
			dst = appendRecord(dst, data, m.binary)
		default:
			dst = codec.AppendPacket(dst, m.typ, nil)
		}
		m.release()
	}
	return dst
}

// flushPollLocked answers the held GET with what is queued (a packet or
// two: a GET with a backlog is answered at once by handlePoll, so one is
// held only while the queue is empty). s.mu held.
func (s *Session) flushPollLocked() {
	s.srv.answerPoll(s.takePollLocked())
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
	overlap := ok && sess.p.post != nil
	sess.mu.Unlock()
	if !ok {
		s.refuseMismatch(x, req, sess, TransportPolling)
		return
	}
	if overlap {
		// As the reference: "data request overlap from client".
		s.refuse(x, req, errBadRequest, refusedBadRequest)
		sess.closeAfterError()
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

// handlePostV4 hands the packets of a v4 text payload to sess. When the
// handler pauses reads (PauseReads) before the last record, the rest is
// kept and the answer held until ResumeReads: the client sends no other
// POST meanwhile, which is the backpressure of polling.
func (s *Server) handlePostV4(x exchange, req *codec.Request, body []byte, sess *Session) {
	hp := heldPost{x: x, keepAlive: req.KeepAlive, headers: s.extraHeaders(s.corsHeaders(req), x, req, false, "")}
	sess.readPost(&hp, body)
}

// readPost decodes body's records into the session until the end, a
// decoding error, the session's close, or a PauseReads, after which the
// rest and the answer are held (p.post).
func (s *Session) readPost(hp *heldPost, body []byte) {
	var scratch *pool.Buffer
	defer func() { pool.Put(scratch) }()
	for rest := body; rest != nil; {
		if s.readsPaused() {
			s.holdPost(hp, rest)
			return
		}
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
			s.srv.stats.protocolErrors.Add(1)
			s.srv.rlog.Log(logProtocol, warnLevel, "engine: undecodable polling payload; session closed",
				"remote", remoteHost(hp.x.remoteAddr()), "sid", s.id, "err", err.Error())
			s.srv.respondErrorTo(hp.x, hp.keepAlive, hp.headers, errBadRequest)
			s.close(ReasonParseError)
			return
		}
		if !s.onPacket(typ, data, binary) {
			break
		}
	}
	if s.readsPaused() {
		s.holdPost(hp, nil) // answered once the handler catches up
		return
	}
	s.srv.respondOKTo(hp.x, hp.keepAlive, hp.headers)
}

func (s *Session) readsPaused() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flow&flowPaused != 0
}

// holdPost keeps what is left of a POST and its answer for ResumeReads.
func (s *Session) holdPost(hp *heldPost, rest []byte) {
	h := *hp
	if len(rest) > 0 {
		h.rest = pool.Get()
		h.rest.B = append(h.rest.B, rest...)
	}
	s.mu.Lock()
	if s.state != stateOpen || s.p == nil {
		s.mu.Unlock()
		pool.Put(h.rest)
		s.srv.respondOKTo(h.x, h.keepAlive, h.headers)
		return
	}
	if s.flow&flowPaused == 0 {
		// Resumed meanwhile: go on.
		s.mu.Unlock()
		pool.Put(h.rest)
		s.readPost(&h, rest)
		return
	}
	s.p.post = &h
	h.x.hold(s)
	s.mu.Unlock()
}

// answerHeldPostLocked answers the held POST of a session that ends: "ok"
// if every record was read, else 400 (some were dropped). s.mu held.
func (s *Session) answerHeldPostLocked() {
	h := s.p.post
	s.p.post = nil
	h.x.unhold()
	if h.rest != nil {
		pool.Put(h.rest)
		s.srv.respondErrorTo(h.x, h.keepAlive, h.headers, errBadRequest)
		return
	}
	s.srv.respondOKTo(h.x, h.keepAlive, h.headers)
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
	s.respondOKTo(x, req.KeepAlive, s.extraHeaders(s.corsHeaders(req), x, req, false, ""))
}

// respondOKTo answers a POST "ok" with the request's extra header lines
// (CORS, hooks), taken from the request when it was read.
func (s *Server) respondOKTo(x exchange, keepAlive bool, headers []byte) {
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 200)
	b = codec.AppendHeader(b, "Content-Type", "text/html")
	b = append(b, headers...)
	b = codec.AppendContentLength(b, len(okBody))
	if !keepAlive {
		b = codec.AppendHeader(b, "Connection", "close")
	}
	b = append(b, "\r\n"...)
	b = append(b, okBody...)
	bb.B = b
	x.respond(bb, !keepAlive)
}
