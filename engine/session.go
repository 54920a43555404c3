package engine

import (
	"errors"
	"sync"
	"time"
	"unsafe"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/prefetch"
	"github.com/fanio/fanio/internal/timer"
)

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // closed for the user; a last GET will get the close packet
	stateClosed
)

type transportKind uint8

const (
	kindPolling transportKind = iota
	kindWebSocket
)

// outMsg is one packet waiting for a poll. At most one of bb and prep
// holds its bytes (neither: a control packet).
type outMsg struct {
	typ      codec.EIOType
	binary   bool
	volatile bool
	bb       *pool.Buffer // owned copy of the data
	prep     *Prepared
}

// outMsgOverhead is what a queued message costs beside its bytes, charged
// to the outbound budget as the event loops charge their queue items.
const outMsgOverhead = int(unsafe.Sizeof(outMsg{}))

// size is what m counts against the outbound budget.
func (m *outMsg) size() int {
	n := outMsgOverhead + 1
	switch {
	case m.prep != nil:
		n += len(m.prep.records)
	case m.bb != nil:
		n += len(m.bb.B)
	}
	return n
}

// Session.flow bits.
const (
	flowPaused       = 1 << iota // PauseReads in effect
	flowDropVolatile             // SlowReaderPolicy DropVolatile
)

// Session is one Engine.IO connection, across its transports. Its methods are
// safe for concurrent use.
type Session struct {
	// What a send reads comes first: the first 40 bytes, in the Session's
	// first cache line (128-byte objects are aligned), up to p.
	srv      *Server
	mu       sync.Mutex
	state    sessionState
	kind     transportKind
	waitPong bool
	deflate  bool            // permessage-deflate negotiated on ws
	secure   bool            // the handshake came over TLS (set once, before the session is shared)
	eio3     bool            // Engine.IO protocol v3 (eio3.go); set at the handshake
	b64      bool            // v3: binary packets as base64 text on the current transport (b64=1)
	flow     uint8           // flowPaused, flowDropVolatile (one byte: Session stays in its size class)
	ws       *eventloop.Conn // the WebSocket, once it is the transport
	p        *pollState      // nil once the session is on a WebSocket

	id      string
	raw     string // compact copy of the handshake request and the client's address (request.go)
	created int64  // unix nanoseconds
	handler Handler
	hb      timer.Timer
}

// Prefetch and PrefetchConn ask the CPU to bring into its cache what
// SendPrepared and SendVolatile read, of the session and of its
// connection, without waiting for it: code that sends one packet to many
// sessions calls Prefetch a few sessions ahead of the send, PrefetchConn
// (which reads the pointer Prefetch brought) in between, so that the
// sessions' cache misses overlap instead of following one another (sio's
// broadcasts do). They change nothing else, cost a call each (a no-op
// where there is no prefetch instruction), and are safe from any
// goroutine.
func (s *Session) Prefetch() { prefetch.Object(unsafe.Pointer(s), unsafe.Offsetof(s.id)) }

// PrefetchConn hints the session's connection; see Prefetch.
func (s *Session) PrefetchConn() {
	prefetch.Deref(unsafe.Pointer(s), unsafe.Offsetof(s.ws), eventloop.ConnWriteState)
}

// upgrading is the upgrade in progress, if any (s.mu). Only a polling
// session upgrades, so its state is in pollState: a session on a
// WebSocket, nearly all of them, does not carry the field.
func (s *Session) upgrading() *upgradeState {
	if s.p == nil {
		return nil
	}
	return s.p.upgrade
}

// pollState is what only a polling session needs.
type pollState struct {
	conn  exchange // the GET being held
	opts  pollResponseOpts
	queue []outMsg // packets waiting for a poll, from head
	head  int
	bytes int    // what the queue counts against the outbound budget
	jsonp []byte // JSONP polling (the handshake had "j"): the digits of j; nil for XHR polling
	// pingQueued: the last ping is still in the queue, so a pong cannot
	// answer it (see onPong).
	pingQueued bool
	post       *heldPost     // a POST whose answer waits for ResumeReads
	pend       *pendingConn  // in a cluster, until handed to OnConnection (takeover.go)
	upgrade    *upgradeState // the upgrade in progress (Session.upgrading)
}

// heldPost is a POST read up to a PauseReads: the records not yet
// decoded, and what its answer needs.
type heldPost struct {
	x         exchange
	keepAlive bool
	headers   []byte       // the answer's extra header lines (CORS, hooks)
	rest      *pool.Buffer // nil when every record was decoded
}

// upgradeState exists only while a WebSocket probes to replace polling:
// here (conn), or on another server of a cluster that is taking the
// session over (remote; takeover.go).
type upgradeState struct {
	conn    *eventloop.Conn
	remote  *remoteUpgrade
	deflate bool
	b64     bool // v3: the WebSocket request asked for base64 binary
	probed  bool // "2probe" answered: polls now get noop
	timer   timer.Timer
}

// ID is the Engine.IO session id.
func (s *Session) ID() string { return s.id }

// Protocol is the Engine.IO protocol version of the session: 4, or 3 for
// an old client accepted with Options.AllowEIO3 (the reference's
// socket.conn.protocol). It does not change during the session.
func (s *Session) Protocol() int {
	if s.eio3 {
		return 3
	}
	return 4
}

// Transport returns "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kind == kindWebSocket {
		return TransportWebSocket
	}
	return TransportPolling
}

// Writable reports whether a packet sent now would go out at once: a
// WebSocket with nothing unwritten (queued, or refused by the kernel), or
// a polling session holding a GET. Volatile packets are dropped when it is
// false, as in the reference (SendVolatile).
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writableLocked()
}

func (s *Session) writableLocked() bool {
	switch {
	case s.state != stateOpen:
		return false
	case s.kind == kindWebSocket:
		return s.ws.Queued() == 0
	default:
		return s.p.conn != nil && (s.p.upgrade == nil || !s.p.upgrade.probed)
	}
}

// SetSlowReaderPolicy sets what happens to this session when a packet does
// not fit in its outbound budget (Options.MaxOutboundBytes); the default
// is Options.SlowReaderPolicy.
func (s *Session) SetSlowReaderPolicy(p SlowReaderPolicy) {
	s.mu.Lock()
	s.setPolicyLocked(p)
	s.mu.Unlock()
}

func (s *Session) setPolicyLocked(p SlowReaderPolicy) {
	if p == DropVolatile {
		s.flow |= flowDropVolatile
	} else {
		s.flow &^= flowDropVolatile
	}
	if s.ws != nil {
		s.ws.SetDropVolatile(p == DropVolatile)
	}
}

func (s *Session) dropsVolatile() bool { return s.flow&flowDropVolatile != 0 }

// Backlog is how many bytes the session holds unwritten: its WebSocket's
// queue and kernel-refused bytes, or its polling queue.
func (s *Session) Backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == stateClosed:
		return 0
	case s.kind == kindWebSocket:
		return s.ws.Queued()
	case s.p != nil:
		return s.p.bytes
	}
	return 0
}

// PerMessageDeflate reports whether the session's WebSocket negotiated
// permessage-deflate (false on polling).
func (s *Session) PerMessageDeflate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kind == kindWebSocket && s.deflate
}

// Created is when the handshake happened.
func (s *Session) Created() time.Time { return time.Unix(0, s.created) }

// SetHandler sets who receives messages and the close. Call it from the
// server's connection callback, before any message can arrive.
func (s *Session) SetHandler(h Handler) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// Send queues one message; data is copied. Safe from any goroutine. On a
// WebSocket with nothing queued ahead of it, the message is written to the
// socket by the calling goroutine before Send returns. A message that does
// not fit in the outbound budget closes the session as a slow reader
// (ErrSlowReader), unless the DropVolatile policy makes room.
func (s *Session) Send(data []byte, binary bool) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	s.cell().packetsOut.Add(1)
	s.cell().bytesOut.Add(uint64(len(data)))
	if s.kind == kindWebSocket {
		err := s.writeData(s.ws, s.deflate, codec.EIOMessage, data, binary, false)
		s.mu.Unlock()
		s.srv.checkTotal()
		return wsErr(err)
	}
	bb := pool.Get()
	bb.B = append(bb.B, data...)
	_, overflow := s.queueLocked(outMsg{typ: codec.EIOMessage, binary: binary, bb: bb})
	s.mu.Unlock()
	return s.afterQueue(overflow)
}

// SendVolatile queues p as a volatile message: only if the transport can
// take it now (Writable), and it may be dropped later to make room under
// the DropVolatile policy; it never closes the session. It reports
// whether p was queued. Safe from any goroutine.
func (s *Session) SendVolatile(p *Prepared) bool {
	return s.sendVolatile(p, nil)
}

func (s *Session) sendVolatile(p *Prepared, f *Fanout) bool {
	s.mu.Lock()
	if !s.writableLocked() {
		open := s.state == stateOpen
		s.mu.Unlock()
		if open {
			s.srv.stats.volatileDropped.Add(1)
		}
		return false
	}
	var queued bool
	switch {
	case s.kind != kindWebSocket:
		queued, _ = s.queueLocked(outMsg{typ: codec.EIOMessage, prep: p, volatile: true})
	case f != nil:
		queued, _ = f.wb.WriteSharedVolatile(s.ws, s.framesOf(p, s.deflate))
	default:
		queued, _ = s.ws.WriteSharedVolatile(s.framesOf(p, s.deflate))
	}
	if queued {
		if f != nil {
			f.count(s.srv, p)
		} else {
			s.cell().packetsOut.Add(uint64(p.count))
			s.cell().bytesOut.Add(uint64(p.size))
		}
	}
	s.mu.Unlock()
	if f == nil {
		s.srv.checkTotal()
	}
	return queued
}

// ErrSlowReader is returned by the Send methods when the message did not
// fit in the session's outbound budget: the session is closed (reason
// "transport error").
var ErrSlowReader = errors.New("engine: outbound budget exceeded (slow reader)")

func wsErr(err error) error {
	if errors.Is(err, eventloop.ErrSlowReader) {
		return ErrSlowReader
	}
	if err != nil {
		return ErrClosed
	}
	return nil
}

// afterQueue closes a polling session whose queue overflowed, outside
// s.mu, and checks the server-wide budget.
func (s *Session) afterQueue(overflow bool) error {
	if overflow {
		s.srv.rlog.Log(logSlowReader, warnLevel, "engine: slow reader closed: its polling queue went over MaxOutboundBytes",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "limit", s.srv.opts.MaxOutboundBytes)
		s.close(ReasonSlowReader)
		return ErrSlowReader
	}
	s.srv.checkTotal()
	return nil
}

// SendBatch queues msgs back to back: nothing another goroutine sends comes
// between them (a Socket.IO packet with attachments needs that).
func (s *Session) SendBatch(msgs []Message) error {
	if len(msgs) == 1 {
		return s.Send(msgs[0].Data, msgs[0].Binary)
	}
	return s.SendPrepared(NewPrepared(msgs, false))
}

// SendPrepared queues p, sharing its bytes.
func (s *Session) SendPrepared(p *Prepared) error {
	return s.push(outMsg{typ: codec.EIOMessage, prep: p})
}

// countOut counts m as sent by this session.
func (s *Session) countOut(m *outMsg) {
	switch {
	case m.prep != nil:
		s.cell().packetsOut.Add(uint64(m.prep.count))
		s.cell().bytesOut.Add(uint64(m.prep.size))
	case m.typ == codec.EIOMessage:
		s.cell().packetsOut.Add(1)
		if m.bb != nil {
			s.cell().bytesOut.Add(uint64(len(m.bb.B)))
		}
	}
}

// Close closes the session from the server side (reason "forced close").
func (s *Session) Close() error {
	s.close(ReasonForcedClose)
	return nil
}

func (m *outMsg) release() {
	pool.Put(m.bb)
	m.bb = nil
	m.prep = nil
}

// push sends m now on a WebSocket, or queues it for the next poll.
func (s *Session) push(m outMsg) error { return s.pushVia(m, nil) }

// pushVia is push through f (nil: none), for a message m.prep: the
// counters, the server-wide budget and the loop's wake-up are left to
// f.Flush.
func (s *Session) pushVia(m outMsg, f *Fanout) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		m.release()
		return ErrClosed
	}
	if f != nil {
		f.count(s.srv, m.prep)
	} else {
		s.countOut(&m)
	}
	if s.kind == kindWebSocket {
		err := s.writeWS(s.ws, s.deflate, m, f)
		s.mu.Unlock()
		if f == nil {
			s.srv.checkTotal()
		}
		return wsErr(err)
	}
	_, overflow := s.queueLocked(m)
	s.mu.Unlock()
	return s.afterQueue(overflow)
}

// queueLocked queues m for polling within the outbound budget and answers
// the held GET if it may be. A volatile message that does not fit is
// dropped; any other reports overflow (the caller closes the session,
// outside s.mu), unless the DropVolatile policy makes room.
func (s *Session) queueLocked(m outMsg) (queued, overflow bool) {
	p := s.p
	n := m.size()
	if limit := s.srv.opts.MaxOutboundBytes; p.bytes+n > limit {
		if m.volatile {
			m.release()
			s.srv.stats.volatileDropped.Add(1)
			return false, false
		}
		if s.dropsVolatile() {
			s.evictVolatileLocked()
		}
		if p.bytes+n > limit {
			m.release()
			s.srv.stats.slowReaders.Add(1)
			return false, true
		}
	}
	if p.head > 0 && len(p.queue) == cap(p.queue) && p.head >= len(p.queue)/2 {
		k := copy(p.queue, p.queue[p.head:])
		clear(p.queue[k:])
		p.queue = p.queue[:k]
		p.head = 0
	}
	p.queue = append(p.queue, m)
	s.chargePollLocked(n)
	if p.conn != nil && (p.upgrade == nil || !p.upgrade.probed) {
		s.flushPollLocked()
	}
	return true, false
}

// chargePollLocked adds n bytes to the polling queue's count (and to the
// server-wide total).
func (s *Session) chargePollLocked(n int) {
	s.p.bytes += n
	if a := s.srv.total; a != nil {
		a.Add(n)
	}
}

// evictVolatileLocked drops the volatile messages of the polling queue.
func (s *Session) evictVolatileLocked() {
	p := s.p
	j := p.head
	for i := p.head; i < len(p.queue); i++ {
		m := p.queue[i]
		if m.volatile {
			s.chargePollLocked(-m.size())
			m.release()
			s.srv.stats.volatileDropped.Add(1)
			continue
		}
		p.queue[j] = m
		j++
	}
	clear(p.queue[j:])
	p.queue = p.queue[:j]
}

// dropQueueLocked releases the polling queue.
func (s *Session) dropQueueLocked() {
	p := s.p
	for i := p.head; i < len(p.queue); i++ {
		p.queue[i].release()
	}
	s.chargePollLocked(-p.bytes)
	p.queue, p.head, p.pingQueued = nil, 0, false
}

// framesOf returns p's WebSocket frames in the session's form.
func (s *Session) framesOf(p *Prepared, deflate bool) []byte {
	switch {
	case s.eio3:
		return p.v3Frames(s.b64, deflate, s.srv.opts.DeflateThreshold)
	case deflate:
		return p.deflated(s.srv.opts.DeflateThreshold)
	}
	return p.frames
}

// writeWS writes m as WebSocket frames on c, a prepared message through
// f if it is not nil, and releases m.
func (s *Session) writeWS(c *eventloop.Conn, deflate bool, m outMsg, f *Fanout) error {
	defer m.release()
	if m.prep != nil {
		frames := s.framesOf(m.prep, deflate)
		switch {
		case m.volatile:
			_, err := c.WriteSharedVolatile(frames)
			return err
		case f != nil:
			return f.wb.WriteShared(c, frames)
		}
		return c.WriteShared(frames)
	}
	var data []byte
	if m.bb != nil {
		data = m.bb.B
	}
	return s.writeData(c, deflate, m.typ, data, m.binary, m.volatile)
}

// writeData writes one packet as a WebSocket frame on c: binary messages
// raw (v3: after their type byte, or as base64 text), everything else as
// "<type digit><data>" text. s.mu held.
func (s *Session) writeData(c *eventloop.Conn, deflate bool, typ codec.EIOType, data []byte, binary, volatile bool) error {
	bb := pool.Get()
	threshold := s.srv.opts.DeflateThreshold
	switch {
	case s.eio3 && binary:
		bb.B = appendV3Frame(bb.B, typ, data, true, s.b64, deflate, threshold)
	case binary && deflate && len(data) >= threshold:
		bb.B = appendMaybeDeflatedFrame(bb.B, ws.OpBinary, data, threshold)
	case binary:
		bb.B = codec.AppendFrameHeader(bb.B, true, ws.OpBinary, false, len(data))
		bb.B = append(bb.B, data...)
	case deflate && len(data)+1 >= threshold:
		tmp := pool.Get()
		tmp.B = codec.AppendPacket(tmp.B, typ, data)
		bb.B = appendMaybeDeflatedFrame(bb.B, ws.OpText, tmp.B, threshold)
		pool.Put(tmp)
	default:
		bb.B = codec.AppendFrameHeader(bb.B, true, ws.OpText, false, len(data)+1)
		bb.B = codec.AppendPacket(bb.B, typ, data)
	}
	if volatile {
		_, err := c.WriteOwnedVolatile(bb)
		return err
	}
	return c.WriteOwned(bb)
}

// sendPacketLocked sends a control packet (ping, noop, close...). s.mu
// held. It reports an overflow of the polling queue (the caller closes).
func (s *Session) sendPacketLocked(typ codec.EIOType) (overflow bool) {
	if s.kind == kindWebSocket {
		_ = s.writeData(s.ws, false, typ, nil, false, false)
		if typ == codec.EIOPing {
			s.ws.SetMark() // see onPong
		}
		return false
	}
	if typ == codec.EIOPing {
		s.p.pingQueued = true // until a poll takes it (takePollLocked)
	}
	_, overflow = s.queueLocked(outMsg{typ: typ})
	return overflow
}

// ---- heartbeat ----

// heartbeatFired is the function of every session's hb: it finds the
// session around the timer instead of being a closure over it (16 B per
// session; the timer is always Session.hb).
func heartbeatFired(t *timer.Timer) {
	(*Session)(unsafe.Add(unsafe.Pointer(t), -int(unsafe.Offsetof(Session{}.hb)))).onTimer()
}

// onTimer runs when s.hb fires: a ping is due, a pong is overdue, or a
// closing session's last poll never came.
func (s *Session) onTimer() {
	s.mu.Lock()
	if s.state == stateClosing {
		s.mu.Unlock()
		s.expireClosing()
		return
	}
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.waitPong || s.eio3 {
		if s.flow&flowPaused != 0 {
			// Not reading: the pong (v3: the ping) may be waiting behind
			// what the handlers have not caught up with yet.
			s.srv.timers.Reset(&s.hb, s.srv.opts.PingTimeout)
			s.mu.Unlock()
			return
		}
		// v3: the client pings, and none came within pingInterval +
		// pingTimeout.
		s.mu.Unlock()
		s.close(ReasonPingTimeout)
		return
	}
	s.waitPong = true
	overflow := s.sendPacketLocked(codec.EIOPing)
	s.srv.timers.Reset(&s.hb, s.srv.opts.PingTimeout)
	s.mu.Unlock()
	if overflow {
		s.close(ReasonSlowReader) // the ping did not fit in the budget
	}
}

// onPong takes a pong as the answer to the last ping only once that ping
// has left the server: on polling, in the answer to a GET; on a WebSocket,
// handed to the kernel. A client that never polls cannot keep its session
// alive with pongs to pings it never received, while its queue grows: the
// session ends with "ping timeout" within pingInterval + pingTimeout, so
// nothing waits undelivered longer than that. (The reference takes any
// pong, and its queue has no bound.)
func (s *Session) onPong() {
	s.mu.Lock()
	if s.state == stateOpen && s.waitPong && s.pingLeftLocked() {
		s.waitPong = false
		s.srv.timers.Reset(&s.hb, s.srv.opts.PingInterval)
	}
	s.mu.Unlock()
}

func (s *Session) pingLeftLocked() bool {
	if s.kind == kindWebSocket {
		return s.ws.MarkSent()
	}
	return !s.p.pingQueued
}

// ---- inbound ----

// onPacket handles one decoded packet from the active transport. It runs on
// an event loop, without s.mu held. It returns false if the session closed.
func (s *Session) onPacket(typ codec.EIOType, data []byte, binary bool) bool {
	switch typ {
	case codec.EIOMessage:
		s.mu.Lock()
		if pc := s.pendingLocked(); pc != nil {
			// Not handed to OnConnection yet (a cluster's takeover window):
			// kept, delivered in order once it is.
			full := s.holdPendingLocked(pc, data, binary)
			s.mu.Unlock()
			if full {
				s.pendingFull()
			}
			return true
		}
		h, open := s.handler, s.state == stateOpen
		s.mu.Unlock()
		if !open {
			return false
		}
		s.cell().packetsIn.Add(1)
		s.cell().bytesIn.Add(uint64(len(data)))
		if h != nil {
			h.OnMessage(s, data, binary)
		}
	case codec.EIOPong:
		if s.eio3 {
			// v3 clients ping; a pong is the wrong direction ("invalid
			// heartbeat direction" for the reference).
			s.close(ReasonTransportError)
			return false
		}
		s.onPong()
	case codec.EIOPing:
		if !s.eio3 {
			// v4 servers ping; the reference closes on a client's ping
			// ("invalid heartbeat direction").
			s.close(ReasonTransportError)
			return false
		}
		s.onClientPing()
	case codec.EIOClose:
		s.closeFromClient()
		return false
	case codec.EIONoop:
	default:
		// open or upgrade on an established transport: closed as a
		// protocol error.
		s.srv.stats.protocolErrors.Add(1)
		s.srv.rlog.Log(logProtocol, warnLevel, "engine: unexpected packet type on an open transport; session closed",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "type", int(typ))
		s.close(ReasonParseError)
		return false
	}
	return true
}

// ---- close ----

// closeFromClient handles a close packet: the session ends at once, a
// pending poll is released with a noop.
func (s *Session) closeFromClient() {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	if s.p != nil && s.p.conn != nil {
		s.respondControlLocked(codec.EIONoop)
	}
	h := s.finishLocked(false, ReasonTransportClose)
	ws := s.ws
	s.mu.Unlock()
	if ws != nil {
		ws.Close(nil)
	}
	s.srv.sessions.remove(s)
	if h != nil {
		h.OnClose(s, ReasonTransportClose)
	}
}

// close ends the session for reason. For server-side closes the client is
// told with a close packet (WebSocket: a close frame).
func (s *Session) close(reason DisconnectReason) { s.closeAnswering(reason, codec.EIOClose) }

// closeOversize ends the session after a POST over MaxPayload was answered
// 413: a held poll gets a noop, not the close packet, so the client goes by
// the 413 and reports a transport error (the reference does not end the
// session itself: the client, failing on the 413, does).
func (s *Session) closeOversize() { s.closeAnswering(ReasonTransportError, codec.EIONoop) }

// closeAnswering is close, answering a held poll with the packet held.
func (s *Session) closeAnswering(reason DisconnectReason, held codec.EIOType) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	tellClient := reason == ReasonForcedClose || reason == ReasonServerShuttingDown
	keep := false
	var wsConn *eventloop.Conn
	if s.kind == kindWebSocket {
		wsConn = s.ws
	} else if s.p.conn != nil {
		// As the reference: its transport's close answers a held poll
		// with the close packet, whatever the reason (a close from the
		// client gets a noop: closeFromClient).
		s.respondControlLocked(held)
	} else if tellClient {
		keep = true // the next GET gets the close packet
	}
	h := s.finishLocked(keep, reason)
	s.mu.Unlock()
	if wsConn != nil {
		switch reason {
		case ReasonForcedClose:
			wsConn.CloseWebSocket(ws.StatusNormalClosure, "", nil)
		case ReasonServerShuttingDown:
			wsConn.CloseWebSocket(ws.StatusGoingAway, "", nil)
		case ReasonParseError:
			// A close frame, not a bare FIN, as the reference (ws's close()
			// with no code: an empty payload, which the client reads as
			// 1005).
			wsConn.CloseWebSocket(ws.StatusNoStatusRcvd, "", nil)
		default: // timeouts, errors: nothing useful to tell the peer
			wsConn.Close(nil)
		}
	}
	if !keep {
		s.srv.sessions.remove(s)
	}
	if h != nil {
		h.OnClose(s, reason)
	}
}

// finishLocked moves the session out of the open state, stops its timers and
// drops what it queued. With keep, it waits (closing) for a last poll. It
// counts the close for reason.
func (s *Session) finishLocked(keep bool, reason DisconnectReason) Handler {
	st := &s.srv.stats
	if s.kind == kindWebSocket {
		st.websocket.Add(-1)
	} else {
		st.polling.Add(-1)
	}
	if i := closeIndex(reason); i >= 0 {
		st.closes[i].Add(1)
	}
	s.srv.timers.Stop(&s.hb)
	// With keep, the queue stays for the last poll, which delivers it
	// before the close packet: the reference flushes its write buffer before
	// closing (a DISCONNECT sent just before a server-side close must reach
	// a polling client).
	if s.p != nil && !keep {
		s.dropQueueLocked()
	}
	if s.p != nil && s.p.post != nil {
		s.answerHeldPostLocked()
	}
	if u := s.upgrading(); u != nil {
		s.srv.timers.Stop(&u.timer)
		if u.remote != nil {
			s.srv.dropRemoteUpgrade(*u.remote)
		} else {
			u.conn.Close(nil)
		}
		s.p.upgrade = nil
	}
	s.stopPendingLocked()
	if keep {
		s.state = stateClosing
		// Don't wait for that poll forever.
		s.srv.timers.Reset(&s.hb, s.srv.opts.PingInterval+s.srv.opts.PingTimeout)
	} else {
		s.state = stateClosed
	}
	h := s.handler
	return h
}

// expireClosing drops a closing session whose last poll never came.
func (s *Session) expireClosing() {
	s.mu.Lock()
	if s.state != stateClosing {
		s.mu.Unlock()
		return
	}
	s.state = stateClosed
	if s.p != nil { // the queue kept for the last poll
		s.dropQueueLocked()
	}
	s.mu.Unlock()
	s.srv.sessions.remove(s)
}
