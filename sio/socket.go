package sio

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Socket is a client's connection to one namespace.
//
// Every connected socket costs its size, so it is kept at 160 bytes (a Go
// size class; TestSocketSize): what few sockets use lives out of line
// (socketHooks), the handlers are shared between sockets that register the
// same ones (listeners), and the in-memory adapter's per-socket state is
// kept here rather than in a registry of its own.
type Socket struct {
	// What a broadcast reads of each member comes first, within one cache
	// line wherever the Socket lies (see sender.advance).
	c         *client
	flags     atomic.Uint32 // socketConnected, socketClosing, socketEnded
	recovered bool
	// InMemoryAdapter's state of the socket (mu): joined is set from its
	// first AddAll to its DelAll (the adapter's members are the joined
	// sockets of the namespace); self says whether it is in its own room,
	// which is not stored in the room registry (a broadcast to a room also
	// looks for the socket of that id); its other rooms are rooms.
	joined bool
	self   bool

	id  SocketID
	nsp *Namespace
	// The handshake is read on demand (HandshakeView) from the engine
	// session's compact copy of the request and these two fields: a
	// parsed one would cost ~1-2.5 KB (header and query maps) per socket.
	hsAuth string // the CONNECT payload (aliases the packet's own copy: a string header is 8 B smaller)
	hsTime int64  // unix nanoseconds of the socket's creation

	mu    sync.Mutex
	lst   *listeners   // On, OnDisconnect(ing) handlers (immutable, often shared)
	hooks *socketHooks // rarely used listeners, allocated on first use
	acks  map[int64]ackEntry
	rooms roomSet // InMemoryAdapter's (mu)

	dataMu sync.Mutex
	// A pointer to the user's value (nil: none): 8 bytes in every Socket
	// where the interface took 16; SetData, rare, allocates.
	data *any
}

// Socket.flags: one word for the three states other goroutines read
// (three atomic.Bools would push Socket into the next size class).
const (
	socketConnected uint32 = 1 << iota
	socketClosing          // the disconnect has started (serverDisconnect, onClose)
	socketEnded            // the disconnect is known: Context is cancelled
)

// setFlag sets (on) or clears the flag f and reports whether it was set.
func (s *Socket) setFlag(f uint32, on bool) (was bool) {
	if on {
		return s.flags.Or(f)&f != 0
	}
	return s.flags.And(^f)&f != 0
}

// socketHooks holds what few sockets have; keeping it out of line keeps
// every Socket small.
type socketHooks struct {
	pid string // private session id (connection state recovery)

	anyIn       []listener[AnyHandler] // copy-on-write
	anyOut      []listener[AnyHandler] // copy-on-write
	middlewares []EventMiddleware
	onError     []listener[func(*Socket, error)] // copy-on-write
	next        uint32                           // the next registration number of these lists
	onUpgrade   []func(*Socket, string)

	// Context's, created on first use: most sockets never ask.
	ctx    context.Context
	cancel context.CancelFunc
}

// hooksLocked returns s.hooks, allocating it; s.mu must be held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = &socketHooks{}
	}
	return s.hooks
}

func newSocket(n *Namespace, c *client, auth json.RawMessage, restored *RestoredSession) *Socket {
	s := &Socket{nsp: n, c: c}
	if restored != nil {
		s.id = restored.SID
		s.hooks = &socketHooks{pid: restored.PID}
		if v := restored.Data; v != nil {
			s.data = &v
		}
		s.recovered = true
	} else {
		if c.eio3 {
			s.id = v3SocketID(n.name, c.sess.ID())
		} else {
			s.id = newID()
		}
		if n.srv.opts.ConnectionStateRecovery != nil {
			s.hooks = &socketHooks{pid: newID()}
		}
	}
	s.hsAuth = unsafe.String(unsafe.SliceData(auth), len(auth))
	s.hsTime = time.Now().UnixNano()
	return s
}

// privateID is the socket's private session id ("" without connection
// state recovery).
func (s *Socket) privateID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return ""
	}
	return s.hooks.pid
}

// ID is the socket's id (random; not the Engine.IO id).
func (s *Socket) ID() SocketID { return s.id }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.flags.Load()&socketConnected != 0 }

// Recovered reports whether connection state recovery restored this socket.
func (s *Socket) Recovered() bool { return s.recovered }

// SetSlowReaderPolicy sets what happens when a packet to this socket's
// connection does not fit in its outbound budget (Options.MaxOutboundBytes):
// CloseSlowReader or DropVolatile. It applies to the connection, so to
// every socket it carries; the default is Options.SlowReaderPolicy.
func (s *Socket) SetSlowReaderPolicy(p SlowReaderPolicy) { s.c.sess.SetSlowReaderPolicy(p) }

// Transport is the current Engine.IO transport ("polling", "websocket").
func (s *Socket) Transport() string { return s.c.sess.Transport() }

// EngineID is the Engine.IO session id (sensitive: do not share it).
func (s *Socket) EngineID() string { return s.c.sess.ID() }

// Data returns the user data attached to the socket (restored with it by
// connection state recovery).
func (s *Socket) Data() any {
	s.dataMu.Lock()
	p := s.data
	s.dataMu.Unlock()
	if p == nil {
		return nil
	}
	return *p
}

// SetData replaces the user data.
func (s *Socket) SetData(v any) {
	s.dataMu.Lock()
	s.data = &v
	s.dataMu.Unlock()
}

// UpdateData runs fn on the user data under the socket's data lock and
// stores what it returns.
func (s *Socket) UpdateData(fn func(old any) any) {
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	var old any
	if s.data != nil {
		old = *s.data
	}
	v := fn(old)
	s.data = &v
}

// DataAs returns the socket's user data as a T (the zero T if it is not one).
func DataAs[T any](s *Socket) T {
	v, _ := s.Data().(T)
	return v
}

// Context returns a context that is cancelled when the socket disconnects
// (as soon as the disconnection is known: the connection closed, the
// client or the server disconnected the socket), so that a blocking
// handler can stop. It is created on first use; idle sockets pay nothing
// for it.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooksLocked()
	if h.ctx == nil {
		h.ctx, h.cancel = context.WithCancel(context.Background())
		if s.flags.Load()&socketEnded != 0 {
			h.cancel()
		}
	}
	return h.ctx
}

// markEnded records that the socket is disconnecting: it cancels its
// Context and ends the acknowledgements it waits for (ErrDisconnected).
// Safe from any goroutine (onMailbox: the caller runs on the socket's
// mailbox); it does not wait for the mailbox, where a handler may be
// blocked on exactly this (a blocking EmitWithAck, the Context).
func (s *Socket) markEnded(onMailbox bool) {
	if s.setFlag(socketEnded, true) {
		return
	}
	s.mu.Lock()
	var cancel context.CancelFunc
	if s.hooks != nil {
		cancel = s.hooks.cancel
	}
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.failAcks(ErrDisconnected, onMailbox)
}
