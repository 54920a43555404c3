package engine

import (
	"bytes"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Engine.IO protocol v3, for old clients (socket.io-client 2.x) when
// Options.AllowEIO3 is set, as the reference serves them with allowEIO3:
// a session speaks the version its handshake asked for (EIO=4 is v4, any
// other value or none is v3) for its whole life. The packets and the
// session's life are the same; what differs is:
//
//   - heartbeat: the client pings every pingInterval and the server answers
//     with a pong; no ping within pingInterval + pingTimeout closes the
//     session ("ping timeout"); a pong from the client is the wrong
//     direction and closes it ("transport error");
//   - polling payloads: "<length>:<packet>" records with lengths in UTF-16
//     units and binary packets as "b4<base64>" for clients that sent b64=1
//     at the handshake (and JSONP clients); for the others a batch holding
//     a binary packet goes as an XHR2 binary payload
//     (application/octet-stream), and they may POST one;
//   - WebSocket: a binary message starts with the packet type byte, or for
//     a client whose WebSocket request had b64=1 it goes as text
//     "b4<base64>".
//
// JSONP polling (the "j" parameter at the handshake) is served to both
// versions, as the reference does.

// v3 and v4 control payloads of one packet (noop, close), as a poll's
// whole answer.
var (
	v4Control = [...][]byte{codec.EIOClose: []byte("1"), codec.EIONoop: []byte("6")}
	v3Control = [...][]byte{codec.EIOClose: []byte("1:1"), codec.EIONoop: []byte("1:6")}
)

// control returns the payload of one close or noop packet in o's framing.
func (o *pollResponseOpts) control(typ codec.EIOType) []byte {
	if o.eio3 {
		return v3Control[typ]
	}
	return v4Control[typ]
}

// onClientPing answers a v3 client's ping and restarts the wait for the
// next one.
func (s *Session) onClientPing() {
	s.mu.Lock()
	if s.state == stateOpen {
		s.sendPacketLocked(codec.EIOPong)
		s.srv.timers.Reset(&s.hb, s.srv.opts.PingInterval+s.srv.opts.PingTimeout)
	}
	s.mu.Unlock()
}

// appendV3PollPayload appends msgs as a v3 polling payload and releases them:
// an XHR2 binary payload (binary) if the client takes binary (noBinary
// false: neither b64=1 nor JSONP) and a packet is binary, a text payload
// otherwise.
func appendV3PollPayload(dst []byte, msgs []outMsg, noBinary bool) (out []byte, binary bool) {
	xhr2 := false
	if !noBinary {
		for i := range msgs {
			m := &msgs[i]
			if m.binary || (m.prep != nil && m.prep.hasBinary) {
				xhr2 = true
				break
			}
		}
	}
	for i := range msgs {
		m := &msgs[i]
		var data []byte
		if m.bb != nil {
			data = m.bb.B
		}
		switch {
		case m.prep != nil && xhr2:
			dst = append(dst, m.prep.v3XHR2()...)
		case m.prep != nil:
			dst = append(dst, m.prep.v3Text()...)
		case xhr2 && m.binary:
			dst = codec.AppendXHR2Binary(dst, m.typ, data)
		case xhr2:
			dst = codec.AppendXHR2Text(dst, m.typ, data)
		case m.binary:
			dst = codec.AppendV3BinaryRecord(dst, m.typ, data)
		default:
			dst = codec.AppendV3Record(dst, m.typ, data)
		}
		m.release()
	}
	return dst, xhr2
}

// decodeV3Post hands the packets of a v3 POST body to sess: an XHR2 binary
// payload (binary), or a text one. It returns false, with the session
// closed, if the body cannot be decoded.
func decodeV3Post(sess *Session, body []byte, binary bool) (ok bool) {
	if len(body) == 0 {
		sess.v3ParseError(codec.ErrBadPayload)
		return false
	}
	var scratch *pool.Buffer
	defer func() { pool.Put(scratch) }()
	for rest := body; len(rest) > 0; {
		var typ codec.EIOType
		var data []byte
		var isBinary bool
		var err error
		if binary {
			var pkt []byte
			var text bool
			pkt, text, rest, err = codec.NextXHR2Packet(rest)
			switch {
			case err != nil:
			case text:
				typ, data, err = codec.DecodePacket(pkt)
			default:
				typ, data, err = codec.DecodeV3Binary(pkt)
				isBinary = true
			}
		} else {
			var rec []byte
			rec, rest, err = codec.NextV3Record(rest)
			if err == nil && len(rec) == 0 {
				continue // "0:", an empty packet
			}
			if err == nil {
				if scratch == nil && rec[0] == 'b' {
					scratch = pool.Get()
				}
				var sb []byte
				if scratch != nil {
					sb = scratch.B[:0]
				}
				typ, data, isBinary, sb, err = codec.DecodeV3Record(rec, sb)
				if scratch != nil {
					scratch.B = sb
				}
			}
		}
		if err != nil {
			sess.v3ParseError(err)
			return false
		}
		if !sess.onPacket(typ, data, isBinary) {
			return true
		}
	}
	return true
}

// wantsBase64 reports whether a v3 request asks for binary packets as
// base64 text: a non-empty "b64" parameter (the reference tests its
// truthiness).
func wantsBase64(req *codec.Request) bool {
	v, _ := codec.QueryValue(req.RawQuery, "b64")
	return len(v) > 0
}

// jsonpDigits returns the digits of a handshake's "j" parameter (a JSONP
// client's callback index), non-nil even when empty; nil without one.
func jsonpDigits(req *codec.Request) []byte {
	j, ok := codec.QueryValue(req.RawQuery, "j")
	if !ok {
		return nil
	}
	out := make([]byte, 0, len(j))
	for _, c := range j {
		if c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return out
}

var contentTypeBinary = []byte("application/octet-stream")

// handlePostCompat serves the POSTs that are not v4 text payloads: JSONP
// bodies (a form field "d"), v3 payloads, and binary bodies, which only v3
// takes (the reference refuses them from v4 clients: 400, "transport
// error"). It reports false for a v4 XHR POST, left to handlePost.
func (s *Server) handlePostCompat(x exchange, req *codec.Request, body []byte, sess *Session) bool {
	sess.mu.Lock()
	var jsonp bool
	if sess.p != nil {
		jsonp = sess.p.jsonp != nil
	}
	sess.mu.Unlock()
	binary := !jsonp && bytes.Equal(req.Header("Content-Type"), contentTypeBinary) // compared as the reference does
	if !sess.eio3 && !jsonp && !binary {
		return false
	}
	if binary && !sess.eio3 {
		s.refuse(x, req, errBadRequest, refusedBadRequest)
		sess.closeAfterError()
		return true
	}
	if jsonp {
		d := pool.Get()
		defer pool.Put(d)
		var ok bool
		if d.B, ok = codec.DecodeJSONPBody(d.B[:0], body); !ok {
			// No single "d" field: the reference takes no packet from it.
			s.respondOK(x, req)
			return true
		}
		body = d.B
		if !sess.eio3 {
			s.handlePostV4(x, req, body, sess)
			return true
		}
	}
	if decodeV3Post(sess, body, binary) {
		s.respondOK(x, req)
	} else {
		s.respondError(x, req, errBadRequest)
	}
	return true
}

// onV3Message handles a WebSocket message of a v3 session's active
// transport: binary, <type byte><data>; text, a packet or, from a client
// sending base64, "b<type digit><base64>".
func (s *Session) onV3Message(data []byte, binary bool) {
	var typ codec.EIOType
	var payload []byte
	var err error
	switch {
	case binary:
		typ, payload, err = codec.DecodeV3Binary(data)
	case len(data) > 0 && data[0] == 'b':
		bb := pool.Get()
		defer pool.Put(bb)
		typ, payload, binary, bb.B, err = codec.DecodeV3Record(data, bb.B[:0])
	default:
		typ, payload, err = codec.DecodePacket(data)
	}
	if err != nil {
		s.v3ParseError(err)
		return
	}
	s.onPacket(typ, payload, binary)
}

// v3ParseError counts, logs and closes a v3 session whose client sent
// what does not decode.
func (s *Session) v3ParseError(err error) {
	s.srv.stats.protocolErrors.Add(1)
	s.srv.rlog.Log(logProtocol, warnLevel, "engine: undecodable v3 packet or payload; session closed",
		"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "err", err.Error())
	s.close(ReasonParseError)
}
