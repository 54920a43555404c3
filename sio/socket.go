package sio

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// EventHandler handles an event: args are the arguments after the event
// name; ack is non-nil when the client asked for an acknowledgement.
type EventHandler func(s *Socket, args Args, ack Ack)

// AnyHandler receives every incoming (OnAny) or outgoing (OnAnyOutgoing)
// event. For outgoing events args holds the values given to Emit.
type AnyHandler func(s *Socket, event string, args []any)

// Ack answers a client's acknowledgement request. It may be called from
// any goroutine; only the first call sends (later ones do nothing). It
// returns the error of encoding or sending.
type Ack func(args ...any) error

// EventMiddleware runs before the handlers of each incoming event; an error
// stops the event and goes to the error handlers (the reference's
// socket.use).
type EventMiddleware func(s *Socket, event string, args Args) error

// Handshake is what the server knew of the client when the socket
// connected.
type Handshake struct {
	Headers http.Header
	Time    time.Time // when the socket was created
	Address string    // the client's IP address
	XDomain bool      // an Origin header was sent
	Secure  bool      // TLS
	Issued  int64     // Time in milliseconds since the epoch
	URL     string    // the request URI of the Engine.IO handshake
	Query   url.Values
	// Auth is the CONNECT payload as the client sent it (JSON; "{}" if none).
	Auth json.RawMessage
}

// Socket is a client's connection to one namespace.
type Socket struct {
	id  SocketID
	pid string
	nsp *Namespace
	c   *client
	// The handshake is built on first use from the engine session's compact
	// copy of the request: most sockets never ask, and a parsed one costs
	// ~800 B (header and query maps).
	hs        atomic.Pointer[Handshake]
	hsAuth    string // the CONNECT payload (aliases the packet's own copy: a string header is 8 B smaller)
	hsTime    int64  // unix nanoseconds of the socket's creation
	recovered bool
	connected atomic.Bool
	closing   atomic.Bool

	mu           sync.Mutex
	handlers     []eventHandler // in registration order; copy-on-write on Off
	onDisconnect []func(*Socket, string)
	hooks        *socketHooks // rarely used listeners, allocated on first use
	acks         map[int64]ackEntry

	dataMu sync.Mutex
	data   any
}

// eventHandler is one On registration. A socket usually has a handful, so a
// slice scanned by name is smaller (and as fast) as a map of slices, which
// cost ~400 B per socket for three events.
type eventHandler struct {
	event string
	h     EventHandler
}

// socketHooks holds the listeners few sockets have; keeping them out of line
// keeps every Socket small.
type socketHooks struct {
	anyIn         []AnyHandler
	anyOut        []AnyHandler
	mws           []EventMiddleware
	onDisconnecti []func(*Socket, string)
	onError       []func(*Socket, error)
}

// hooksLocked returns s.hooks, allocating it; s.mu must be held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = &socketHooks{}
	}
	return s.hooks
}

type ackEntry struct {
	p   *pendingAck
	bfn func(Args) // a broadcast's collector (Adapter.BroadcastWithAck); must not block
}

// pendingAck is a server-side acknowledgement request to one socket.
type pendingAck struct {
	s     *Socket
	id    int64
	timer timer.Timer
	timed bool
	fn    AckFunc        // called on the mailbox
	ch    chan ackResult // or delivered to a waiting EmitWithAck
	done  atomic.Bool
}

type ackResult struct {
	args Args
	err  error
}

func newSocket(n *Namespace, c *client, auth json.RawMessage, restored *RestoredSession) *Socket {
	s := &Socket{nsp: n, c: c}
	if restored != nil {
		s.id = restored.SID
		s.pid = restored.PID
		s.data = restored.Data
		s.recovered = true
	} else {
		s.id = newID()
		if n.srv.opts.ConnectionStateRecovery != nil {
			s.pid = newID()
		}
	}
	s.hsAuth = unsafe.String(unsafe.SliceData(auth), len(auth))
	s.hsTime = time.Now().UnixNano()
	return s
}

func buildHandshake(c *client, auth json.RawMessage, created int64) *Handshake {
	req := c.sess.Request()
	now := time.Unix(0, created)
	h := &Handshake{
		Headers: req.Header,
		Time:    now,
		Secure:  req.Secure,
		Issued:  now.UnixMilli(),
		Auth:    auth,
	}
	if h.Headers == nil {
		h.Headers = http.Header{}
	}
	h.XDomain = h.Headers.Get("Origin") != ""
	if req.URL != nil {
		h.URL = req.URL.RequestURI()
		h.Query = req.URL.Query()
	}
	if h.Query == nil {
		h.Query = url.Values{}
	}
	if a := c.sess.RemoteAddr(); a != nil {
		if host, _, err := net.SplitHostPort(a.String()); err == nil {
			h.Address = host
		} else {
			h.Address = a.String()
		}
	}
	return h
}

// ID is the socket's id (random; not the Engine.IO id).
func (s *Socket) ID() SocketID { return s.id }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake describes the connection. Do not modify it.
func (s *Socket) Handshake() *Handshake {
	if h := s.hs.Load(); h != nil {
		return h
	}
	auth := json.RawMessage(unsafe.Slice(unsafe.StringData(s.hsAuth), len(s.hsAuth)))
	s.hs.CompareAndSwap(nil, buildHandshake(s.c, auth, s.hsTime))
	return s.hs.Load()
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Recovered reports whether connection state recovery restored this socket.
func (s *Socket) Recovered() bool { return s.recovered }

// Transport is the current Engine.IO transport ("polling", "websocket").
func (s *Socket) Transport() string { return s.c.sess.Transport() }

// EngineID is the Engine.IO session id (sensitive: do not share it).
func (s *Socket) EngineID() string { return s.c.sess.ID() }

// Data returns the user data attached to the socket (restored with it by
// connection state recovery).
func (s *Socket) Data() any {
	s.dataMu.Lock()
	defer s.dataMu.Unlock()
	return s.data
}

// SetData replaces the user data.
func (s *Socket) SetData(v any) {
	s.dataMu.Lock()
	s.data = v
	s.dataMu.Unlock()
}

// UpdateData runs fn on the user data under the socket's data lock and
// stores what it returns.
func (s *Socket) UpdateData(fn func(old any) any) {
	s.dataMu.Lock()
	s.data = fn(s.data)
	s.dataMu.Unlock()
}

// DataAs returns the socket's user data as a T (the zero T if it is not one).
func DataAs[T any](s *Socket) T {
	v, _ := s.Data().(T)
	return v
}

// ---- handlers ----

// On adds a handler for event.
func (s *Socket) On(event string, h EventHandler) *Socket {
	s.mu.Lock()
	s.handlers = append(s.handlers, eventHandler{event: event, h: h})
	s.mu.Unlock()
	return s
}

// Off removes every handler of event.
func (s *Socket) Off(event string) *Socket {
	s.mu.Lock()
	// A new slice: onEvent may be iterating a snapshot of the old one.
	var kept []eventHandler
	for _, e := range s.handlers {
		if e.event != event {
			kept = append(kept, e)
		}
	}
	s.handlers = kept
	s.mu.Unlock()
	return s
}

// OnTyped adds a handler for event whose first argument is decoded as a T
// (see Arg); a decoding error goes to the socket's error handlers.
func OnTyped[T any](s *Socket, event string, h func(s *Socket, v T, ack Ack)) *Socket {
	return s.On(event, func(s *Socket, args Args, ack Ack) {
		v, err := Arg[T](args, 0)
		if err != nil {
			s.fireError(err)
			return
		}
		h(s, v, ack)
	})
}

// OnAny adds a listener for every incoming event (before its handlers).
func (s *Socket) OnAny(h AnyHandler) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.anyIn = append(x.anyIn, h)
	s.mu.Unlock()
	return s
}

// OffAny removes the OnAny listeners.
func (s *Socket) OffAny() *Socket {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.anyIn = nil
	}
	s.mu.Unlock()
	return s
}

// OnAnyOutgoing adds a listener for every event emitted to this socket
// (including broadcasts it receives). It runs on the emitting goroutine.
func (s *Socket) OnAnyOutgoing(h AnyHandler) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	if len(x.anyOut) == 0 {
		s.nsp.outHook.Add(1)
	}
	x.anyOut = append(x.anyOut, h)
	s.mu.Unlock()
	return s
}

// OffAnyOutgoing removes the OnAnyOutgoing listeners.
func (s *Socket) OffAnyOutgoing() *Socket {
	s.mu.Lock()
	if s.hooks != nil && len(s.hooks.anyOut) > 0 {
		s.nsp.outHook.Add(-1)
		s.hooks.anyOut = nil
	}
	s.mu.Unlock()
	return s
}

// Use adds an event middleware.
func (s *Socket) Use(fn EventMiddleware) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.mws = append(x.mws, fn)
	s.mu.Unlock()
	return s
}

// OnDisconnecting adds a handler that runs when the socket is about to
// disconnect, while its rooms are still readable.
func (s *Socket) OnDisconnecting(fn func(s *Socket, reason string)) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.onDisconnecti = append(x.onDisconnecti, fn)
	s.mu.Unlock()
	return s
}

// OnDisconnect adds a handler that runs once the socket disconnected, with
// the reason (the Reason constants).
func (s *Socket) OnDisconnect(fn func(s *Socket, reason string)) *Socket {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
	return s
}

// OnError adds a handler for errors: an invalid packet from the client (the
// connection is then closed), an event middleware's error.
func (s *Socket) OnError(fn func(s *Socket, err error)) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.onError = append(x.onError, fn)
	s.mu.Unlock()
	return s
}

func (s *Socket) fireError(err error) {
	var hs []func(*Socket, error)
	s.mu.Lock()
	if s.hooks != nil {
		hs = s.hooks.onError
	}
	s.mu.Unlock()
	for _, h := range hs {
		h(s, err)
	}
}

// ---- inbound ----

// onPacket handles an EVENT, ACK or DISCONNECT on the mailbox.
func (s *Socket) onPacket(p *inPacket) {
	switch p.typ {
	case codec.SIOEvent, codec.SIOBinaryEvent:
		s.onEvent(p)
	case codec.SIOAck, codec.SIOBinaryAck:
		s.onAck(p)
	case codec.SIODisconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	}
}

func (s *Socket) onEvent(p *inPacket) {
	if p.event == nil {
		return
	}
	event := p.eventName()
	args := p.args()
	var ack Ack
	if p.ackID >= 0 {
		ack = s.ackFunc(p.ackID)
	}
	var anyIn []AnyHandler
	var mws []EventMiddleware
	s.mu.Lock()
	hs := s.handlers
	if s.hooks != nil {
		anyIn, mws = s.hooks.anyIn, s.hooks.mws
	}
	s.mu.Unlock()
	if len(anyIn) > 0 {
		list := args.Any()
		if ack != nil {
			list = append(list, ack)
		}
		for _, h := range anyIn {
			h(s, event, list)
		}
	}
	for _, mw := range mws {
		if err := mw(s, event, args); err != nil {
			s.fireError(err)
			return
		}
	}
	if !s.Connected() {
		return
	}
	for _, e := range hs {
		if e.event == event {
			e.h(s, args, ack)
		}
	}
}

// ackFunc returns the Ack for the client's request id.
func (s *Socket) ackFunc(id int64) Ack {
	var used atomic.Bool
	return func(args ...any) error {
		if !used.CompareAndSwap(false, true) {
			return nil
		}
		p, _, err := buildPacket(codec.SIOAck, s.nsp.name, "", args)
		if err != nil {
			return err
		}
		p.ID = id
		return s.c.send(p, false)
	}
}

// ackDirect delivers an ACK packet on the event loop when what waits for it
// is not user code (a blocking EmitWithAck, a broadcast collector).
func (s *Socket) ackDirect(p *inPacket) bool {
	s.mu.Lock()
	e, ok := s.acks[p.ackID]
	if !ok || (e.p != nil && e.p.fn != nil) {
		s.mu.Unlock()
		return false
	}
	delete(s.acks, p.ackID)
	s.mu.Unlock()
	args := p.args()
	if e.bfn != nil {
		e.bfn(args)
	} else {
		e.p.resolve(args, nil)
	}
	return true
}

// onAck handles an ACK on the mailbox (callback acknowledgements).
func (s *Socket) onAck(p *inPacket) {
	s.mu.Lock()
	e, ok := s.acks[p.ackID]
	if ok {
		delete(s.acks, p.ackID)
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	args := p.args()
	if e.bfn != nil {
		e.bfn(args)
		return
	}
	e.p.resolve(args, nil)
}

// resolve completes an acknowledgement once: it stops the timer and hands
// the result to the waiter or runs the callback (on the mailbox unless
// already there).
func (a *pendingAck) resolve(args Args, err error) {
	if !a.done.CompareAndSwap(false, true) {
		return
	}
	if a.timed {
		a.s.nsp.srv.timers.Stop(&a.timer)
	}
	if a.ch != nil {
		a.ch <- ackResult{args, err}
		return
	}
	if a.fn != nil {
		fn := a.fn
		if err := a.s.c.mb.ForceSubmit(pool.TaskFunc(func() { fn(args, err) })); err != nil {
			// the connection is gone: still tell the callback, here
			fn(args, ErrDisconnected)
		}
	}
}

// onTimeout runs on the timers goroutine.
func (a *pendingAck) onTimeout() {
	a.s.mu.Lock()
	if e, ok := a.s.acks[a.id]; ok && e.p == a {
		delete(a.s.acks, a.id)
	}
	a.s.mu.Unlock()
	a.resolve(nil, ErrAckTimeout)
}

// registerAck registers a pending acknowledgement for id.
func (s *Socket) registerAck(id int64, a *pendingAck, timeout time.Duration) {
	a.s, a.id = s, id
	if timeout > 0 {
		a.timed = true
		timers := s.nsp.srv.timers
		timers.Init(&a.timer, a.onTimeout)
		timers.Reset(&a.timer, timeout)
	}
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[int64]ackEntry)
	}
	s.acks[id] = ackEntry{p: a}
	s.mu.Unlock()
}

// ---- outbound ----

// Emitter emits to one socket with flags (Socket.Timeout, Volatile,
// Compress).
type Emitter struct {
	s     *Socket
	flags BroadcastFlags
}

// Timeout sets the acknowledgement timeout.
func (e Emitter) Timeout(d time.Duration) Emitter { e.flags.Timeout = d; return e }

// Volatile: the packet may be dropped if the client cannot take it now.
func (e Emitter) Volatile() Emitter { e.flags.Volatile = true; return e }

// Compress sets whether the packet may be compressed.
func (e Emitter) Compress(c bool) Emitter { e.flags.NoCompress = !c; return e }

// Emit sends an event (see Socket.Emit).
func (e Emitter) Emit(event string, args ...any) error { return e.s.emit(e.flags, event, args) }

// EmitWithAck sends an event and waits for the client's acknowledgement,
// the timeout (ErrAckTimeout), ctx, or the socket's disconnection.
func (e Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return e.s.emitWithAck(ctx, e.flags, event, args)
}

// Timeout returns an Emitter whose acknowledgements time out after d.
func (s *Socket) Timeout(d time.Duration) Emitter { return Emitter{s: s}.Timeout(d) }

// Volatile returns an Emitter for volatile packets.
func (s *Socket) Volatile() Emitter { return Emitter{s: s}.Volatile() }

// Compress returns an Emitter with compression set.
func (s *Socket) Compress(c bool) Emitter { return Emitter{s: s}.Compress(c) }

// Emit sends an event to the socket. Arguments: []byte is a binary
// attachment; json.RawMessage and Value go as they are; strings, numbers,
// bools, nil, []any, map[string]any are encoded directly; anything else
// with encoding/json (without HTML escaping). A last argument of type
// AckFunc (or func(Args, error)) asks for an acknowledgement. Safe from
// any goroutine; it does not block.
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(BroadcastFlags{}, event, args)
}

// EmitWithAck sends an event and waits for the acknowledgement (or ctx, or
// the disconnection).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.emitWithAck(ctx, BroadcastFlags{}, event, args)
}

// Send emits a "message" event.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

func (s *Socket) emit(flags BroadcastFlags, event string, args []any) error {
	if reservedEvents[event] {
		return ErrReservedEvent
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	p, fn, err := buildPacket(codec.SIOEvent, s.nsp.name, event, args)
	if err != nil {
		return err
	}
	if fn != nil {
		id := s.nsp.ackIDs.Add(1) - 1
		p.ID = id
		s.registerAck(id, &pendingAck{fn: fn}, flags.Timeout)
	} else if s.nsp.srv.opts.ConnectionStateRecovery != nil {
		// As the reference: with recovery, emits to one socket go through
		// the adapter too, so they get an offset and can be replayed.
		return s.nsp.adapter.Broadcast(p, &BroadcastOptions{Rooms: []Room{s.id}, Flags: flags})
	}
	s.notifyOutgoing(p)
	return s.c.send(p, flags.Volatile)
}

func (s *Socket) emitWithAck(ctx context.Context, flags BroadcastFlags, event string, args []any) (Args, error) {
	if reservedEvents[event] {
		return nil, ErrReservedEvent
	}
	if !s.Connected() {
		return nil, ErrDisconnected
	}
	p, _, err := buildPacket(codec.SIOEvent, s.nsp.name, event, args)
	if err != nil {
		return nil, err
	}
	id := s.nsp.ackIDs.Add(1) - 1
	p.ID = id
	a := &pendingAck{ch: make(chan ackResult, 1)}
	s.registerAck(id, a, flags.Timeout)
	s.notifyOutgoing(p)
	if err := s.c.send(p, flags.Volatile); err != nil {
		s.dropAck(id)
		return nil, err
	}
	select {
	case r := <-a.ch:
		return r.args, r.err
	case <-ctx.Done():
		s.dropAck(id)
		a.resolve(nil, ctx.Err())
		return nil, ctx.Err()
	}
}

func (s *Socket) dropAck(id int64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// notifyOutgoing calls the OnAnyOutgoing listeners.
func (s *Socket) notifyOutgoing(p *Packet) {
	var hs []AnyHandler
	s.mu.Lock()
	if s.hooks != nil {
		hs = s.hooks.anyOut
	}
	s.mu.Unlock()
	for _, h := range hs {
		h(s, p.Event, p.Args)
	}
}

// ---- rooms ----

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...Room) {
	if !s.Connected() || len(rooms) == 0 {
		return
	}
	s.nsp.adapter.AddAll(s.id, rooms)
}

// Leave removes the socket from room.
func (s *Socket) Leave(room Room) { s.nsp.adapter.Del(s.id, room) }

// Rooms returns the rooms the socket is in (its own id included).
func (s *Socket) Rooms() []Room { return s.nsp.adapter.SocketRooms(s.id) }

// To selects rooms for a broadcast that excludes this socket.
func (s *Socket) To(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// Except excludes rooms from a broadcast that excludes this socket.
func (s *Socket) Except(rooms ...Room) BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Broadcast is a broadcast to the namespace that excludes this socket.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []Room{s.id}}
}

// Local is Broadcast limited to this node.
func (s *Socket) Local() BroadcastOperator { return s.Broadcast().Local() }

// ---- disconnect ----

// Disconnect disconnects the socket from its namespace (the client gets a
// DISCONNECT; reason "server namespace disconnect"), or with close the
// whole connection (every socket of the client). The disconnect handlers
// run on the socket's mailbox: right away when called from one of its
// handlers, soon after otherwise.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	c := s.c
	if close {
		c.mu.Lock()
		socks := append([]*Socket(nil), c.socks...)
		c.mu.Unlock()
		for _, x := range socks {
			x.serverDisconnect()
		}
		_ = c.mb.ForceSubmit(pool.TaskFunc(func() {
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			_ = c.sess.Close()
		}))
		return
	}
	s.serverDisconnect()
}

func (s *Socket) serverDisconnect() {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	_ = s.c.sendRaw(codec.SIODisconnect, s.nsp.name, nil)
	s.connected.Store(false)
	if err := s.c.mb.ForceSubmit(pool.TaskFunc(func() { s.finish(ReasonServerNamespaceDisconnect) })); err != nil {
		s.finish(ReasonServerNamespaceDisconnect)
	}
}

// onClose disconnects the socket for reason; on the mailbox.
func (s *Socket) onClose(reason string) {
	if !s.closing.CompareAndSwap(false, true) {
		return
	}
	s.connected.Store(false)
	s.finish(reason)
}

// finish runs the disconnecting handlers (rooms still readable), keeps the
// session for recovery, leaves the rooms, and runs the disconnect
// handlers.
func (s *Socket) finish(reason string) {
	var ing []func(*Socket, string)
	s.mu.Lock()
	ed := s.onDisconnect
	if s.hooks != nil {
		ing = s.hooks.onDisconnecti
	}
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	for _, h := range ing {
		h(s, reason)
	}
	n := s.nsp
	if n.srv.opts.ConnectionStateRecovery != nil && recoverable[reason] {
		n.adapter.PersistSession(&PersistedSession{
			SID: s.id, PID: s.pid, Rooms: s.Rooms(), Data: s.Data(), DisconnectedAt: time.Now(),
		})
	}
	n.adapter.DelAll(s.id)
	n.removeSocket(s)
	s.c.removeSocket(s)
	s.OffAnyOutgoing()
	// Acknowledgements that can no longer come.
	for _, e := range acks {
		if e.p != nil {
			if e.p.fn != nil {
				if e.p.done.CompareAndSwap(false, true) {
					if e.p.timed {
						n.srv.timers.Stop(&e.p.timer)
					}
					e.p.fn(nil, ErrDisconnected)
				}
			} else {
				e.p.resolve(nil, ErrDisconnected)
			}
		}
	}
	for _, h := range ed {
		h(s, reason)
	}
}

// registerBroadcastAck routes the acknowledgement id of a broadcast to fn
// (for adapters: InMemoryAdapter.BroadcastWithAck).
func (s *Socket) registerBroadcastAck(id int64, fn func(Args)) {
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[int64]ackEntry)
	}
	s.acks[id] = ackEntry{bfn: fn}
	s.mu.Unlock()
}

// forgetAck drops the pending acknowledgement id, if any.
func (s *Socket) forgetAck(id int64) {
	s.mu.Lock()
	if e, ok := s.acks[id]; ok && e.bfn != nil {
		delete(s.acks, id)
	}
	s.mu.Unlock()
}
