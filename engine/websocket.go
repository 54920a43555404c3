package engine

import (
	"bytes"
	"errors"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

const wsOpText = ws.OpText

// WebSocket upgrade refusals, with ws's texts (ws 8 answers them with 400
// and this message as a text/html body; Engine.IO's own code and message
// are not used for them).
var (
	errBadWebSocketKey     = httpError{400, 3, "Missing or invalid Sec-WebSocket-Key header"}
	errBadWebSocketVersion = httpError{400, 3, "Missing or invalid Sec-WebSocket-Version header"}
	// RFC 6455 section 4.1: the opening handshake is HTTP/1.1 or later.
	errUpgradeHTTP10 = httpError{400, 3, "Bad request"}
)

// acceptResponse validates a WebSocket upgrade request and builds the 101
// answer. deflate reports whether permessage-deflate was agreed.
// initial: the request opens a session (the header hooks are told).
func (s *Server) acceptResponse(x exchange, req *codec.Request, initial bool) (resp *pool.Buffer, deflate bool, herr *httpError) {
	if req.ProtoMinor < 1 {
		return nil, false, &errUpgradeHTTP10
	}
	key := req.Header("Sec-WebSocket-Key")
	if !codec.ValidWebSocketKey(key) {
		return nil, false, &errBadWebSocketKey
	}
	if v := string(req.Header("Sec-WebSocket-Version")); v != "13" && v != "8" {
		// 8 (hybi-08) has the same framing; ws takes it too.
		return nil, false, &errBadWebSocketVersion
	}
	bb := pool.Get()
	b := codec.AppendStatusLine(bb.B, 101)
	b = append(b, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	b = codec.AppendAcceptKey(b, key)
	b = append(b, "\r\n"...)
	if s.opts.PerMessageDeflate {
		if ext := req.Header("Sec-WebSocket-Extensions"); ext != nil && codec.NegotiateDeflate(ext) {
			deflate = true
			b = codec.AppendHeader(b, "Sec-WebSocket-Extensions", codec.DeflateResponseExtension)
		}
	}
	if s.hasHeaderHooks(initial) {
		b = s.hookHeaders(b, x, req, initial, nil)
	}
	b = append(b, "\r\n"...)
	bb.B = b
	return bb, deflate, nil
}

// handleUpgrade starts replacing a polling session's transport with a
// WebSocket: probe, then upgrade packet.
func (s *Server) handleUpgrade(x exchange, c *eventloop.Conn, req *codec.Request, sess *Session) {
	if s.opts.DisableUpgrades {
		s.refuse(x, req, errBadRequest, refusedBadRequest)
		return
	}
	resp, deflate, herr := s.acceptResponse(x, req, false)
	if herr != nil {
		s.refuse(x, req, *herr, refusedWebSocketHandshake)
		return
	}
	sess.mu.Lock()
	if sess.state != stateOpen || sess.kind != kindPolling || sess.upgrading() != nil {
		// Already upgraded or upgrading: like the reference, complete the
		// handshake and close this WebSocket at once.
		sess.mu.Unlock()
		c.AcceptWebSocket(resp, nil, false)
		c.CloseWebSocket(ws.StatusNormalClosure, "", nil)
		return
	}
	u := &upgradeState{conn: c, deflate: deflate, b64: sess.eio3 && wantsBase64(req)}
	sess.p.upgrade = u
	s.timers.Init(&u.timer, func(*timer.Timer) { sess.upgradeTimedOut(u) })
	s.timers.Reset(&u.timer, s.opts.UpgradeTimeout)
	sess.mu.Unlock()
	// In a cluster, a session waiting to be handed over (for a takeover
	// that will not come: the upgrade is here) is handed over now.
	sess.endPending()
	sess.mu.Lock()
	h := sess.handler
	sess.mu.Unlock()
	c.AcceptWebSocket(resp, wsOwner{sess}, deflate)
	if uh, ok := h.(UpgradeHandler); ok {
		uh.OnUpgrading(sess, TransportWebSocket)
	}
}

func (s *Session) upgradeTimedOut(u *upgradeState) {
	if u.remote != nil {
		s.upgradeTimedOutRemote(u)
		return
	}
	s.mu.Lock()
	if s.upgrading() != u {
		s.mu.Unlock()
		return
	}
	s.p.upgrade = nil
	s.mu.Unlock()
	u.conn.Close(nil)
}

// wsOwner receives a session's WebSocket traffic: the active transport's,
// or a probing one's during an upgrade.
type wsOwner struct{ s *Session }

func (o wsOwner) OnMessage(c *eventloop.Conn, data []byte, binary bool) {
	s := o.s
	s.mu.Lock()
	active := s.kind == kindWebSocket && s.ws == c
	s.mu.Unlock()
	if !active {
		s.onProbeMessage(c, data, binary)
		return
	}
	if s.eio3 {
		s.onV3Message(data, binary)
		return
	}
	if binary {
		s.onPacket(codec.EIOMessage, data, true)
		return
	}
	typ, payload, err := codec.DecodePacket(data)
	if err != nil {
		s.srv.stats.protocolErrors.Add(1)
		s.srv.rlog.Log(logProtocol, warnLevel, "engine: undecodable WebSocket packet; session closed",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "err", err.Error())
		s.close(ReasonParseError)
		return
	}
	s.onPacket(typ, payload, false)
}

func (o wsOwner) OnClose(c *eventloop.Conn, err error) {
	s := o.s
	s.mu.Lock()
	if u := s.upgrading(); u != nil && u.conn == c {
		// A failed probe: polling goes on.
		s.srv.timers.Stop(&u.timer)
		s.p.upgrade = nil
		s.mu.Unlock()
		return
	}
	active := s.kind == kindWebSocket && s.ws == c
	s.mu.Unlock()
	if !active {
		return
	}
	if err != nil {
		s.noteConnError(err)
		if errors.Is(err, eventloop.ErrSlowReader) {
			s.close(ReasonSlowReader)
		} else {
			s.close(ReasonTransportError)
		}
	} else {
		s.close(ReasonTransportClose)
	}
}

var probe = []byte("probe")

// onProbeMessage drives an upgrade: "2probe" → "3probe", then "5" switches
// the transport. Anything else ends the probe.
func (s *Session) onProbeMessage(c *eventloop.Conn, data []byte, binary bool) {
	var typ codec.EIOType
	var payload []byte
	var err error
	if !binary {
		typ, payload, err = codec.DecodePacket(data)
	}
	s.mu.Lock()
	u := s.upgrading()
	if u == nil || u.conn != c || s.state != stateOpen {
		s.mu.Unlock()
		c.Close(nil)
		return
	}
	switch {
	case err == nil && !binary && typ == codec.EIOPing && bytes.Equal(payload, probe) && !u.probed:
		u.probed = true
		bb := pool.Get()
		bb.B = codec.AppendFrameHeader(bb.B, true, ws.OpText, false, 1+len(probe))
		bb.B = codec.AppendPacket(bb.B, codec.EIOPong, probe)
		_ = c.WriteOwned(bb)
		// Release the held poll so the client can pause polling.
		if s.p.conn != nil {
			s.respondControlLocked(codec.EIONoop)
		}
		s.mu.Unlock()
	case err == nil && !binary && typ == codec.EIOUpgrade && u.probed:
		s.srv.timers.Stop(&u.timer)
		s.p.upgrade = nil
		s.kind = kindWebSocket
		s.ws = c
		s.deflate = u.deflate
		s.b64 = u.b64
		s.srv.attachConn(s, c)
		if s.p.conn != nil {
			s.respondControlLocked(codec.EIONoop)
		}
		if s.p.post != nil {
			s.answerHeldPostLocked() // not with an official client: it upgrades once its POST is answered
		}
		// What waited for a poll goes out on the WebSocket, in order.
		p := s.p
		var err error
		for i := p.head; i < len(p.queue); i++ {
			if err == nil {
				err = s.writeWS(c, s.deflate, p.queue[i], nil)
			} else {
				p.queue[i].release()
			}
			p.queue[i] = outMsg{}
		}
		s.chargePollLocked(-p.bytes)
		if p.pingQueued {
			c.SetMark() // the ping went out with the queue
		}
		s.p = nil
		st := &s.srv.stats
		st.polling.Add(-1)
		st.websocket.Add(1)
		st.upgrades.Add(1)
		h := s.handler
		s.mu.Unlock()
		if uh, ok := h.(UpgradeHandler); ok {
			uh.OnUpgrade(s, TransportWebSocket)
		}
	default:
		s.srv.timers.Stop(&u.timer)
		s.p.upgrade = nil
		s.mu.Unlock()
		c.Close(nil)
	}
}
