package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Middleware runs for each socket connecting to a namespace, before its
// connection handlers; an error refuses the connection (the client gets a
// connect_error; use *ConnectError to attach data). It runs on a worker
// and may block.
type Middleware func(s *Socket) error

// connectAttempts bounds how often a connection is tried again because its
// dynamic namespace was removed while the socket went through the
// middleware (see connect).
const connectAttempts = 3

var invalidNamespace = []byte(`{"message":"Invalid namespace"}`)

// connect handles a CONNECT packet on the client's mailbox.
func (c *client) connect(p *inPacket) {
	auth := json.RawMessage(p.data)
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	// With CleanupEmptyChildNamespaces a dynamic namespace may be removed
	// (its last socket left) while this socket is in its middleware: the
	// socket then goes to the namespace created anew, through the
	// middleware again.
	if limit := c.srv.opts.MaxNamespacesPerConnection; limit > 0 && c.socketCount() >= limit {
		// Before a dynamic namespace is created for it: one connection
		// must not fill the server with namespaces.
		c.srv.stats.refused[refusedTooManyNamespaces].Add(1)
		c.srv.rlog.Log(logRefused, slog.LevelInfo, "sio: connection to a namespace refused: MaxNamespacesPerConnection reached",
			"remote", remoteHost(c.sess), "eio", c.sess.ID(), "nsp", p.nsp)
		_ = c.sendRaw(codec.SIOConnectError, p.nsp, []byte(`{"message":"Too many namespaces"}`))
		return
	}
	for range connectAttempts {
		if !c.connectTo(p.nsp, auth) {
			return
		}
	}
	_ = c.sendRaw(codec.SIOConnectError, p.nsp, invalidNamespace)
}

// connectTo connects a socket to namespace name; it reports whether to try
// again (the namespace was removed meanwhile).
func (c *client) connectTo(name string, auth json.RawMessage) (retry bool) {
	srv := c.srv
	n := srv.lookup([]byte(name))
	if n == nil {
		n = srv.dynamic(name, auth)
	}
	if n == nil {
		srv.stats.refused[refusedInvalidNamespace].Add(1)
		srv.rlog.Log(logRefused, slog.LevelInfo, "sio: connection to an unknown namespace refused",
			"remote", remoteHost(c.sess), "eio", c.sess.ID(), "nsp", name)
		_ = c.sendRaw(codec.SIOConnectError, name, invalidNamespace)
		return false
	}
	var restored *RestoredSession
	var offset string
	if srv.opts.ConnectionStateRecovery != nil {
		var a struct {
			PID    *string `json:"pid"`
			Offset *string `json:"offset"`
		}
		if json.Unmarshal(auth, &a) == nil && a.PID != nil && a.Offset != nil {
			rs, err := n.adapter.RestoreSession(*a.PID, *a.Offset)
			if err == nil && rs != nil {
				restored, offset = rs, *a.Offset
			}
		}
	}
	s := newSocket(n, c, auth, restored)
	if restored == nil || !srv.opts.ConnectionStateRecovery.SkipMiddlewares {
		n.mu.RLock()
		fns := n.middlewares
		n.mu.RUnlock()
		for _, fn := range fns {
			err := runMiddleware(fn, s)
			if c.isClosed() {
				n.removeIfEmpty()
				return false
			}
			if err != nil {
				srv.stats.refused[refusedMiddleware].Add(1)
				srv.rlog.Log(logRefused, slog.LevelInfo, "sio: connection refused by a middleware",
					"remote", remoteHost(c.sess), "eio", c.sess.ID(), "nsp", n.name, "err", err.Error())
				// as the reference: a refused socket leaves first, which
				// may leave a dynamic namespace empty; then the client is
				// told
				n.removeIfEmpty()
				if c.eio3 {
					_ = c.sendRaw(codec.SIOConnectError, n.name, connectErrorV3(err))
				} else {
					data, atts := connectErrorPayload(err, srv.parser.controlBinary())
					_ = srv.parser.sendControl(c.sess, codec.SIOConnectError, n.name, data, atts)
				}
				return false
			}
		}
	}
	if c.isClosed() {
		n.removeIfEmpty()
		return false
	}
	if !n.attach(s) {
		return true
	}
	if !c.addSocket(s) {
		n.removeSocket(s)
		return false
	}
	n.connects.Add(1)
	c.stopConnectTimer()
	s.setFlag(socketConnected, true)
	s.joinOwnRoom()
	switch ia, ok := n.adapter.(*InMemoryAdapter); {
	case restored == nil:
		c.ackConnect(s, n.name)
	case ok && ia.rec != nil:
		ia.restoreInto(s, restored.Rooms, offset, func() { c.ackConnect(s, n.name) })
	default:
		// Same order as restoreInto: the answer, then the missed packets.
		s.Join(restored.Rooms...)
		c.ackConnect(s, n.name)
		for _, mp := range restored.MissedPackets {
			_ = c.send(mp, false)
		}
	}
	n.mu.RLock()
	hs := n.onConnection
	n.mu.RUnlock()
	for _, h := range hs {
		if !s.Connected() {
			break
		}
		h(s)
	}
	return false
}

// ackConnect answers a CONNECT that succeeded, in the client's protocol.
func (c *client) ackConnect(s *Socket, nsp string) {
	if c.eio3 {
		c.connectAckV3(nsp)
	} else {
		c.connectAck(s, nsp)
	}
}

// connectAck answers a v4 CONNECT: {"sid":...} (and the pid with recovery).
func (c *client) connectAck(s *Socket, nsp string) {
	// Pooled: an array on the stack escapes through the parser interface
	// (96 B of garbage per connect); the parsers copy data.
	bb := pool.Get()
	defer pool.Put(bb)
	payload := append(bb.B[:0], `{"sid":`...)
	payload = codec.AppendJSONString(payload, s.id)
	if pid := s.privateID(); pid != "" {
		payload = append(payload, `,"pid":`...)
		payload = codec.AppendJSONString(payload, pid)
	}
	payload = append(payload, '}')
	_ = c.sendRaw(codec.SIOConnect, nsp, payload)
	bb.B = payload
}

// runMiddleware calls fn, turning a panic into a refusal.
func runMiddleware(fn Middleware, s *Socket) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.stats.panics.Add(1)
			s.nsp.srv.log.Error("sio: middleware panicked", "panic", fmt.Sprint(v), "nsp", s.nsp.name,
				"remote", remoteHost(s.c.sess), "stack", string(debug.Stack()))
			err = errors.New("middleware error") // wire text: the client's connect_error message
		}
	}()
	return fn(s)
}

// connectErrorPayload is {"message":...,"data":...}. Binary values in
// the data are attachments when the parser can send them (msgpack);
// otherwise data with binary values is left out.
func connectErrorPayload(err error, binary bool) ([]byte, [][]byte) {
	b := []byte(`{"message":`)
	var atts [][]byte
	var ce *ConnectError
	if errors.As(err, &ce) {
		b = codec.AppendJSONString(b, ce.Message)
		if ce.Data != nil {
			e := getEncoder()
			if e.value(ce.Data, 0) == nil && (binary || len(e.attachments) == 0) {
				b = append(b, `,"data":`...)
				b = append(b, e.buf...)
				if len(e.attachments) > 0 {
					atts = append(atts, e.attachments...)
				}
			}
			e.release()
		}
	} else {
		b = codec.AppendJSONString(b, err.Error())
	}
	return append(b, '}'), atts
}
