package engine

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Taking a session over on a WebSocket upgrade (see Cluster). The server
// that receives the upgrade (the edge) asks the owner (U); the owner agrees
// only if the session was not handed to OnConnection yet (it is pending:
// pendingConn) and marks it upgrading. The edge answers 101 and runs the
// probe itself; when it has answered the probe it tells the owner (P),
// which releases the client's held poll with a noop, as a local upgrade
// does, so that the client pauses polling and sends the upgrade packet.
// The edge then asks for the session (T); the owner removes it and sends
// its state (S): the handshake request, the heartbeat, what it had queued
// for the client and what the client had sent. The edge builds the session
// on the WebSocket, hands it to OnConnection, and delivers what the client
// sent first, then what came on the WebSocket meanwhile. If the probe
// fails the edge says so (A) and the session stays where it was; if the
// session ends on the owner meanwhile, the owner says so (D).

// pendingConn is a polling session in a cluster that is not handed to
// OnConnection yet (ClusterConfig.TakeoverWindow): its messages wait here.
type pendingConn struct {
	timer      timer.Timer
	msgs       []heldMsg
	bytes      int
	delivering bool // endPending is handing it over
}

type heldMsg struct {
	data   []byte
	binary bool
}

// maxPendingMsgs bounds the messages a pending session keeps (their bytes
// are bounded by MaxPayload): past it the session is handed over at once.
const maxPendingMsgs = 1024

// pendingLocked returns the session's pendingConn while it waits. s.mu held.
func (s *Session) pendingLocked() *pendingConn {
	if s.state == stateOpen && s.p != nil && s.p.pend != nil && !s.p.pend.delivering {
		return s.p.pend
	}
	return nil
}

// holdPendingLocked keeps a message of a pending session (copied); it
// reports whether the session must be handed over now (too much waits).
// s.mu held.
func (s *Session) holdPendingLocked(pc *pendingConn, data []byte, binary bool) (full bool) {
	pc.msgs = append(pc.msgs, heldMsg{data: append([]byte(nil), data...), binary: binary})
	pc.bytes += len(data)
	return pc.bytes > s.srv.opts.MaxPayload || len(pc.msgs) > maxPendingMsgs
}

// pendingFull hands a session over at once, giving up a takeover in
// progress: the client sent more than a session may keep waiting.
func (s *Session) pendingFull() {
	s.mu.Lock()
	u := s.upgrading()
	var drop *remoteUpgrade
	if u != nil && u.remote != nil {
		drop = u.remote
		s.srv.timers.Stop(&u.timer)
		s.p.upgrade = nil
	}
	s.mu.Unlock()
	if drop != nil {
		s.srv.dropRemoteUpgrade(*drop)
	}
	s.endPending()
}

// pendingExpired runs when the takeover window ends: the session is handed
// over, unless another server is taking it over (that ends it instead).
func (s *Session) pendingExpired() {
	s.mu.Lock()
	busy := s.upgrading() != nil && s.upgrading().remote != nil
	s.mu.Unlock()
	if !busy {
		s.endPending()
	}
}

// endPending hands a pending session to OnConnection, then delivers what
// it received meanwhile, in order: what arrives while it delivers queues
// behind. No-op for a session that is not pending.
func (s *Session) endPending() {
	s.mu.Lock()
	pc := s.pendingLocked()
	if pc == nil {
		s.mu.Unlock()
		return
	}
	pc.delivering = true
	s.srv.timers.Stop(&pc.timer)
	s.mu.Unlock()
	if fn := s.srv.onConnection; fn != nil {
		fn(s)
	}
	for {
		s.mu.Lock()
		msgs := pc.msgs
		pc.msgs = nil
		if len(msgs) == 0 {
			if s.p != nil && s.p.pend == pc {
				s.p.pend = nil
			}
			s.mu.Unlock()
			return
		}
		h, open := s.handler, s.state == stateOpen
		s.mu.Unlock()
		for _, m := range msgs {
			if open && h != nil {
				s.cell().packetsIn.Add(1)
				s.cell().bytesIn.Add(uint64(len(m.data)))
				h.OnMessage(s, m.data, m.binary)
			}
		}
	}
}

// stopPendingLocked drops a closing session's pending state. s.mu held.
func (s *Session) stopPendingLocked() {
	if s.p != nil && s.p.pend != nil {
		s.srv.timers.Stop(&s.p.pend.timer)
		s.p.pend.msgs = nil
		s.p.pend = nil
	}
}

// remoteUpgrade names the upgrade another server runs for a session here.
type remoteUpgrade = peerKey

// ---- the owner's side ----

// upgradeRequested answers an edge asking to take a session over (U).
func (cl *clusterState) upgradeRequested(from string, id uint64, sid []byte) {
	s := cl.srv
	reply := func(code byte) {
		var b [2 + 1 + binary.MaxVarintLen64]byte
		cl.send(from, append(appendMsgHeader(b[:0], msgUpgraded, id), code))
	}
	sess := s.sessions.get(sid)
	if sess == nil {
		reply(upgradeUnknown)
		return
	}
	if s.opts.DisableUpgrades || !s.websocket {
		reply(upgradeRefused)
		return
	}
	sess.mu.Lock()
	switch {
	case sess.state != stateOpen:
		sess.mu.Unlock()
		reply(upgradeUnknown)
		return
	case sess.kind != kindPolling || sess.upgrading() != nil || sess.pendingLocked() == nil:
		// Upgraded or upgrading already (a local upgrade would open and
		// close the WebSocket at once), or handed to OnConnection: it
		// cannot move.
		sess.mu.Unlock()
		reply(upgradeRefused)
		return
	}
	key := remoteUpgrade{from, id}
	u := &upgradeState{remote: &key}
	sess.p.upgrade = u
	s.timers.Init(&u.timer, func(*timer.Timer) { sess.upgradeTimedOut(u) })
	s.timers.Reset(&u.timer, s.opts.UpgradeTimeout)
	cl.mu.Lock()
	cl.ups[key] = sess
	cl.mu.Unlock()
	sess.mu.Unlock()
	reply(upgradeOK)
}

// upgradeStep handles the edge's P, T and A for a session here.
func (cl *clusterState) upgradeStep(from string, id uint64, typ byte) {
	key := peerKey{from, id}
	cl.mu.Lock()
	sess := cl.ups[key]
	if typ != msgProbed {
		delete(cl.ups, key)
	}
	cl.mu.Unlock()
	if sess == nil {
		if typ == msgTake {
			cl.sendState(from, id, nil)
		}
		return
	}
	switch typ {
	case msgProbed:
		sess.remoteProbed(key)
	case msgTake:
		sess.handOver(key)
	case msgAbort:
		sess.remoteUpgradeFailed(&key)
	}
}

// remoteProbed: the edge answered the probe. As in a local upgrade, the
// held poll is released with a noop and polls now get one at once, so that
// the client can pause polling and send the upgrade packet.
func (s *Session) remoteProbed(key remoteUpgrade) {
	s.mu.Lock()
	if u := s.upgrading(); u != nil && u.remote != nil && *u.remote == key && s.state == stateOpen {
		u.probed = true
		if s.p.conn != nil {
			s.respondControlLocked(codec.EIONoop)
		}
	}
	s.mu.Unlock()
}

// handOver ends the session here and sends its state to the edge.
func (s *Session) handOver(key remoteUpgrade) {
	cl := s.srv.cluster.Load()
	s.mu.Lock()
	u := s.upgrading()
	if u == nil || u.remote == nil || *u.remote != key || s.state != stateOpen || s.p == nil || s.pendingLocked() == nil {
		s.mu.Unlock()
		cl.sendState(key.node, key.id, nil)
		return
	}
	t := s.srv.timers
	t.Stop(&s.hb)
	t.Stop(&u.timer)
	s.p.upgrade = nil
	if s.p.conn != nil {
		s.respondControlLocked(codec.EIONoop)
	}
	if s.p.post != nil {
		s.answerHeldPostLocked()
	}
	st := &movedSession{
		raw:      s.RequestHead().raw,
		created:  s.created,
		secure:   s.secure,
		eio3:     s.eio3,
		waitPong: s.waitPong,
		msgs:     s.p.pend.msgs,
	}
	if a := s.RemoteAddr(); a != nil {
		st.remote = a.String()
	}
	for i := s.p.head; i < len(s.p.queue); i++ {
		st.out = appendQueued(st.out, &s.p.queue[i])
	}
	s.dropQueueLocked()
	t.Stop(&s.p.pend.timer)
	s.p.pend = nil
	s.state = stateClosed
	s.srv.stats.polling.Add(-1) // not closed: gone to the edge
	s.mu.Unlock()
	s.srv.sessions.remove(s)
	// Counted before the state leaves: the edge may answer the client, and
	// the client look at this node's stats, before this goroutine runs again.
	cl.stats.handedOver.Add(1)
	cl.sendState(key.node, key.id, st)
}

// queuedPacket is a packet queued for the client that moves with its
// session, to be written on the edge's WebSocket in the session's framing.
type queuedPacket struct {
	typ    codec.EIOType
	binary bool
	data   []byte
}

// appendQueued appends the packets of m (copied): a Prepared's messages
// are read back from its WebSocket frames.
func appendQueued(dst []queuedPacket, m *outMsg) []queuedPacket {
	if m.prep == nil {
		var data []byte
		if m.bb != nil {
			data = append([]byte(nil), m.bb.B...)
		}
		return append(dst, queuedPacket{typ: m.typ, binary: m.binary, data: data})
	}
	for f := m.prep.frames; len(f) > 0; {
		h, n, err := codec.ParseFrameHeader(f)
		if err != nil || int64(len(f)-n) < h.Length {
			break
		}
		payload := f[n : n+int(h.Length)]
		f = f[n+int(h.Length):]
		switch {
		case h.OpCode == ws.OpBinary:
			dst = append(dst, queuedPacket{typ: codec.EIOMessage, binary: true, data: append([]byte(nil), payload...)})
		case len(payload) > 0:
			dst = append(dst, queuedPacket{typ: codec.EIOType(payload[0] - '0'), data: append([]byte(nil), payload[1:]...)})
		}
	}
	return dst
}

// remoteUpgradeFailed: the edge's upgrade failed (A), or the edge is gone
// (key nil): the session stays here and is handed over now.
func (s *Session) remoteUpgradeFailed(key *remoteUpgrade) {
	s.mu.Lock()
	u := s.upgrading()
	if u == nil || u.remote == nil || (key != nil && *u.remote != *key) {
		s.mu.Unlock()
		return
	}
	s.srv.timers.Stop(&u.timer)
	s.p.upgrade = nil
	s.mu.Unlock()
	s.endPending()
}

// dropRemoteUpgrade tells the edge of an upgrade that it is over (the
// session ended, or the upgrade timed out here).
func (s *Server) dropRemoteUpgrade(k remoteUpgrade) {
	cl := s.cluster.Load()
	cl.mu.Lock()
	delete(cl.ups, k)
	cl.mu.Unlock()
	cl.sendShort(k.node, msgDrop, k.id)
}

// movedSession is what moves with a session (st nil: there is none).
type movedSession struct {
	raw      string
	remote   string
	created  int64
	secure   bool
	eio3     bool
	waitPong bool
	out      []queuedPacket // queued for the client
	msgs     []heldMsg      // received from the client, not delivered yet
}

func (cl *clusterState) sendState(node string, id uint64, st *movedSession) {
	msg := pool.Get()
	defer pool.Put(msg)
	b := appendMsgHeader(msg.B, msgState, id)
	if st == nil {
		msg.B = append(b, upgradeUnknown)
		cl.send(node, msg.B)
		return
	}
	b = append(b, upgradeOK)
	b = appendBytes(b, []byte(st.raw))
	b = appendBytes(b, []byte(st.remote))
	b = binary.AppendVarint(b, st.created)
	var flags byte
	if st.secure {
		flags |= 1
	}
	if st.waitPong {
		flags |= 2
	}
	if st.eio3 {
		flags |= 4
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(st.out)))
	for _, p := range st.out {
		f := byte(0)
		if p.binary {
			f = 1
		}
		b = appendBytes(append(b, byte(p.typ), f), p.data)
	}
	b = binary.AppendUvarint(b, uint64(len(st.msgs)))
	for _, m := range st.msgs {
		f := byte(0)
		if m.binary {
			f = 1
		}
		b = appendBytes(append(b, f), m.data)
	}
	msg.B = b
	cl.send(node, msg.B)
}

func appendBytes(dst, p []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(p))), p...)
}

// stateReader reads a state message; the first error sticks.
type stateReader struct {
	b   []byte
	bad bool
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns a copy of the next length-prefixed bytes.
func (r *stateReader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	p := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return p
}

// parseState decodes what sendState wrote after the result byte.
func parseState(b []byte) (*movedSession, bool) {
	r := &stateReader{b: b}
	st := &movedSession{}
	st.raw = string(r.bytes())
	st.remote = string(r.bytes())
	st.created = r.varint()
	flags := r.byte()
	st.secure, st.waitPong, st.eio3 = flags&1 != 0, flags&2 != 0, flags&4 != 0
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return nil, false
	}
	st.out = make([]queuedPacket, 0, n)
	for i := uint64(0); i < n && !r.bad; i++ {
		typ, f := r.byte(), r.byte()
		st.out = append(st.out, queuedPacket{typ: codec.EIOType(typ), binary: f&1 != 0, data: r.bytes()})
	}
	n = r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		return nil, false
	}
	st.msgs = make([]heldMsg, 0, n)
	for i := uint64(0); i < n && !r.bad; i++ {
		f := r.byte()
		st.msgs = append(st.msgs, heldMsg{binary: f&1 != 0, data: r.bytes()})
	}
	return st, !r.bad && len(r.b) == 0
}

// ---- the edge's side ----

// migration is a WebSocket upgrade received here for a session another
// server holds: the steps of taking it over.
type migration struct {
	srv     *Server
	cl      *clusterState
	c       *eventloop.Conn
	node    string
	sid     string
	id      uint64
	deflate bool
	b64     bool // v3: the upgrade request asked for base64 binary
	timer   timer.Timer

	mu       sync.Mutex
	step     migStep
	resp     *pool.Buffer // the 101 answer, until sent
	buf      []heldMsg    // what the client sent after the upgrade packet
	bufBytes int
}

type migStep uint8

const (
	migAsked    migStep = iota // U sent: the client waits for the 101
	migAccepted                // 101 sent: the probe is next
	migProbed                  // 3probe sent: the upgrade packet is next
	migTaking                  // T sent: the client's messages wait for the state
	migDone                    // the session is here, or the upgrade ended
)

// forwardUpgrade starts taking over the session of an upgrade request.
func (s *Server) forwardUpgrade(cl *clusterState, x exchange, c *eventloop.Conn, req *codec.Request, sid []byte, node string) {
	if s.opts.DisableUpgrades {
		s.respondError(x, req, errBadRequest)
		return
	}
	resp, deflate, herr := s.acceptResponse(x, req, false)
	if herr != nil {
		s.refuse(x, req, *herr, refusedWebSocketHandshake)
		return
	}
	m := &migration{srv: s, cl: cl, c: c, node: node, sid: string(sid), deflate: deflate, b64: wantsBase64(req), resp: resp}
	m.id = cl.register(m)
	s.timers.Init(&m.timer, func(*timer.Timer) { m.timedOut() })
	s.timers.Reset(&m.timer, cl.cfg.ForwardTimeout)
	c.SetOwner(migOwner{m})
	var b [1 + binary.MaxVarintLen64 + sidLen]byte
	if !cl.send(node, append(appendMsgHeader(b[:0], msgUpgrade, m.id), sid...)) && cl.take(m.id, m) != nil {
		m.lost(false)
	}
}

func (m *migration) peer() string { return m.node }

// answer handles the owner's u, S and D.
func (m *migration) answer(typ byte, rest []byte) {
	switch typ {
	case msgUpgraded:
		m.upgraded(rest)
	case msgState:
		if m.cl.take(m.id, m) == nil {
			return
		}
		m.srv.timers.Stop(&m.timer)
		var st *movedSession
		if len(rest) > 0 && rest[0] == upgradeOK {
			var ok bool
			if st, ok = parseState(rest[1:]); !ok {
				m.cl.warn(clusterLogBad, "engine: dropped a malformed session state", "from", m.node)
				st = nil
			}
		}
		if err := m.c.Run(func() { m.install(st) }); err != nil {
			m.c.Close(nil)
		}
	case msgDrop:
		if m.cl.take(m.id, m) != nil {
			m.end(false)
		}
	}
}

// upgraded handles the owner's answer to U.
func (m *migration) upgraded(rest []byte) {
	code := byte(upgradeUnknown)
	if len(rest) > 0 {
		code = rest[0]
	}
	m.mu.Lock()
	if m.step != migAsked {
		m.mu.Unlock()
		return
	}
	resp := m.resp
	m.resp = nil
	if code == upgradeOK {
		m.step = migAccepted
	} else {
		m.step = migDone
	}
	m.mu.Unlock()
	s, c := m.srv, m.c
	switch code {
	case upgradeOK:
		s.timers.Reset(&m.timer, s.opts.UpgradeTimeout+m.cl.cfg.ForwardTimeout)
		if err := c.Run(func() { c.AcceptWebSocket(resp, migOwner{m}, m.deflate) }); err != nil {
			pool.Put(resp)
			c.Close(nil)
		}
	case upgradeRefused:
		// As a local upgrade that cannot be done: the WebSocket opens and
		// closes at once; the client goes on polling.
		m.cl.take(m.id, m)
		s.timers.Stop(&m.timer)
		m.cl.stats.refused.Add(1)
		if err := c.Run(func() {
			c.AcceptWebSocket(resp, nil, false)
			c.CloseWebSocket(ws.StatusNormalClosure, "", nil)
		}); err != nil {
			pool.Put(resp)
			c.Close(nil)
		}
	default:
		m.cl.take(m.id, m)
		s.timers.Stop(&m.timer)
		pool.Put(resp)
		c.SetOwner(nil)
		s.respondUpgradeError(loopExchange{c}, errUnknownSID)
	}
}

// lost: the owner is gone, or did not answer in time. The caller took m
// from the waiting list.
func (m *migration) lost(timedOut bool) {
	cl := m.cl
	cl.stats.failures.Add(1)
	cl.srv.stats.refused[refusedUnknownSID].Add(1)
	if timedOut {
		cl.stats.timeouts.Add(1)
		cl.warn(clusterLogTimeout, "engine: the server holding a session did not answer an upgrade in time", "node", m.node, "timeout", cl.cfg.ForwardTimeout)
	} else {
		cl.warn(clusterLogLost, "engine: the server holding a session is gone; answering Session ID unknown", "node", m.node)
	}
	m.end(false)
}

// end ends the upgrade here: before the 101, with 400 "Session ID
// unknown"; after it, by closing the WebSocket (the client's probe fails,
// or, past the upgrade packet, its transport closes). With tell, the owner
// is told that the session stays there.
func (m *migration) end(tell bool) {
	m.srv.timers.Stop(&m.timer)
	m.mu.Lock()
	step := m.step
	resp := m.resp
	m.resp = nil
	m.step = migDone
	m.buf = nil
	m.mu.Unlock()
	if tell {
		m.cl.sendShort(m.node, msgAbort, m.id)
	}
	switch step {
	case migAsked:
		pool.Put(resp)
		m.c.SetOwner(nil)
		m.srv.respondUpgradeError(loopExchange{m.c}, errUnknownSID)
	case migDone:
	default:
		m.c.Close(nil)
	}
}

func (m *migration) timedOut() {
	if m.cl.take(m.id, m) == nil {
		return
	}
	m.mu.Lock()
	asked := m.step == migAsked
	m.mu.Unlock()
	if asked {
		m.lost(true)
		return
	}
	m.end(true)
}

// migOwner receives the WebSocket of a migration until the session is
// here (and the connection's close before that).
type migOwner struct{ m *migration }

func (o migOwner) OnMessage(c *eventloop.Conn, data []byte, binary bool) {
	m := o.m
	var typ codec.EIOType
	var payload []byte
	var err error
	if !binary {
		typ, payload, err = codec.DecodePacket(data)
	}
	m.mu.Lock()
	switch {
	case m.step == migAccepted && err == nil && !binary && typ == codec.EIOPing && bytes.Equal(payload, probe):
		m.step = migProbed
		m.mu.Unlock()
		bb := pool.Get()
		bb.B = codec.AppendFrameHeader(bb.B, true, ws.OpText, false, 1+len(probe))
		bb.B = codec.AppendPacket(bb.B, codec.EIOPong, probe)
		_ = c.WriteOwned(bb)
		m.cl.sendShort(m.node, msgProbed, m.id)
	case m.step == migProbed && err == nil && !binary && typ == codec.EIOUpgrade:
		m.step = migTaking
		m.mu.Unlock()
		m.srv.timers.Reset(&m.timer, m.cl.cfg.ForwardTimeout)
		m.cl.sendShort(m.node, msgTake, m.id)
	case m.step == migTaking:
		m.buf = append(m.buf, heldMsg{data: append([]byte(nil), data...), binary: binary})
		m.bufBytes += len(data)
		full := m.bufBytes > m.srv.opts.MaxPayload || len(m.buf) > maxPendingMsgs
		m.mu.Unlock()
		if full && m.cl.take(m.id, m) != nil {
			m.end(true)
		}
	default:
		// Anything else ends the probe, as in a local upgrade.
		m.mu.Unlock()
		if m.cl.take(m.id, m) != nil {
			m.end(true)
		}
	}
}

func (o migOwner) OnClose(*eventloop.Conn, error) {
	m := o.m
	if m.cl.take(m.id, m) == nil {
		return
	}
	m.mu.Lock()
	m.step = migDone // the connection is gone: nothing to answer or close
	m.mu.Unlock()
	m.end(true)
}

// install builds the session from st on the WebSocket; on the
// connection's loop, so that no message of the client passes those that
// waited.
func (m *migration) install(st *movedSession) {
	s, c := m.srv, m.c
	m.mu.Lock()
	buf := m.buf
	m.buf = nil
	m.step = migDone
	m.mu.Unlock()
	if st == nil {
		// The session ended there meanwhile.
		c.CloseWebSocket(ws.StatusNormalClosure, "", nil)
		return
	}
	if c.Closed() {
		return // the client left: the session is gone with it
	}
	sess := &Session{
		srv:      s,
		id:       m.sid,
		raw:      string(appendAddr(nil, parseAddr(st.remote))) + st.raw,
		created:  st.created,
		secure:   st.secure,
		eio3:     st.eio3,
		b64:      st.eio3 && m.b64,
		kind:     kindWebSocket,
		ws:       c,
		deflate:  m.deflate,
		waitPong: st.waitPong,
	}
	s.timers.Init(&sess.hb, heartbeatFired)
	s.attachConn(sess, c)
	for _, p := range st.out {
		_ = sess.writeData(c, m.deflate, p.typ, p.data, p.binary, false)
	}
	if st.waitPong {
		c.SetMark() // the ping went out with the queue: a pong may answer it now
	}
	s.sessions.add(sess)
	s.stats.websocket.Add(1)
	s.stats.upgrades.Add(1)
	switch {
	case st.eio3:
		s.timers.Reset(&sess.hb, s.opts.PingInterval+s.opts.PingTimeout) // the client pings
	case st.waitPong:
		s.timers.Reset(&sess.hb, s.opts.PingTimeout)
	default:
		s.timers.Reset(&sess.hb, s.opts.PingInterval)
	}
	c.SetOwner(wsOwner{sess})
	m.cl.stats.takenOver.Add(1)
	if s.onConnection != nil {
		s.onConnection(sess)
	}
	for _, msg := range st.msgs {
		if !sess.onPacket(codec.EIOMessage, msg.data, msg.binary) {
			return
		}
	}
	for _, msg := range buf {
		wsOwner{sess}.OnMessage(c, msg.data, msg.binary)
	}
}

// parseAddr turns a remote address sent with a session back into a
// net.Addr.
func parseAddr(a string) net.Addr {
	if a == "" {
		return nil
	}
	if ap, err := netip.ParseAddrPort(a); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	return stringAddr(a)
}

// upgradeTimedOutRemote ends a takeover the edge never completed.
func (s *Session) upgradeTimedOutRemote(u *upgradeState) {
	s.mu.Lock()
	if s.upgrading() != u {
		s.mu.Unlock()
		return
	}
	s.p.upgrade = nil
	s.mu.Unlock()
	s.srv.dropRemoteUpgrade(*u.remote)
	s.endPending()
}
