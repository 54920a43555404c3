package sio

import (
	"fmt"

	"github.com/fanio/fanio/internal/codec"
)

// EventHandler handles an event: args are the arguments after the event
// name; ack is non-nil when the client asked for an acknowledgement.
type EventHandler func(s *Socket, args Args, ack Ack)

// AnyHandler receives every incoming (OnAny) or outgoing (OnAnyOutgoing)
// event. For outgoing events args holds the values given to Emit.
type AnyHandler func(s *Socket, event string, args []any)

// EventMiddleware runs before the handlers of each incoming event; an error
// stops the event and goes to the error handlers (the reference's
// socket.use).
type EventMiddleware func(s *Socket, event string, args Args) error

// eventHandler is one On registration. A socket usually has a handful, so a
// slice scanned by name is smaller (and as fast) as a map of slices, which
// cost ~400 B per socket for three events.
type eventHandler struct {
	event string
	h     EventHandler
	id    uint32 // the registration's number (listeners.next)
}

// listener is one registration of the rarely used kinds (OnAny,
// OnAnyOutgoing, OnError), numbered for its remover.
type listener[F any] struct {
	fn F
	id uint32
}

// The socket's own events: On accepts these two names for handlers of the
// socket's disconnection, with the reason as their argument, as the
// reference does. The client cannot send them (nor any reserved name: such
// a packet closes its connection).
const (
	eventDisconnecting = "disconnecting"
	eventDisconnect    = "disconnect"
)

// onRefused says why On refuses an event name: the reference's reserved
// names other than disconnect and disconnecting, whose listeners never run
// there; here registering one is a programming error.
var onRefused = map[string]string{
	"connect":        "a socket is connected when its namespace's OnConnection handlers run",
	"connect_error":  "a client gets a connect error when a namespace middleware (Use) returns an error",
	"newListener":    "sio has no listener events",
	"removeListener": "sio has no listener events",
}

// On adds a handler for event and returns a function that removes this
// registration (and only it; calling it again does nothing). Handlers of
// one event run in the order they were added.
//
// As in the reference, two names are the socket's own events rather than
// the client's: "disconnecting" and "disconnect" handlers run when the
// socket disconnects (with OnDisconnecting and OnDisconnect handlers, in
// one registration order), with one argument, the reason (a string; ack is
// nil). The reference's other reserved names ("connect", "connect_error",
// "newListener", "removeListener") would never run: On panics for them, as
// for a nil handler, so that the mistake shows at the first connection
// instead of as a handler that silently never fires.
//
// Sockets that register the same handlers in the same order share one
// list of them: a connection handler that registers package-level
// functions, or func values made once (h.onChat assigned to a variable at
// start), costs an idle socket nothing for its handlers. A closure or a
// method value created per socket is a new func value each time: those
// sockets keep their own lists (about 32 bytes per handler). A removal
// gives the socket a list of its own.
func (s *Socket) On(event string, h EventHandler) (off func()) {
	return registration{s, s.on(event, h)}.remove
}

// registration is one On, OnDisconnecting or OnDisconnect registration.
type registration struct {
	s  *Socket
	id uint32
}

func (r registration) remove() { r.s.removeRegistration(r.id) }

// on registers h and returns the registration's number. On is only this
// and the remover, so that it inlines: a caller that drops the remover
// (most do) then allocates none (it would be 32 B of garbage per call).
func (s *Socket) on(event string, h EventHandler) uint32 {
	if why, bad := onRefused[event]; bad {
		panic(fmt.Sprintf("sio: Socket.On(%q): a reserved event name: %s", event, why))
	}
	if h == nil {
		panic(fmt.Sprintf("sio: Socket.On(%q): nil handler", event))
	}
	key := listenerKey{event: event, fn: funcAddr(h)}
	s.mu.Lock()
	id := s.lst.nextID()
	s.lst = s.nsp.extend(s.lst, key, func(l *listeners) {
		l.events = append(l.events, eventHandler{event: event, h: h, id: l.next})
	})
	s.mu.Unlock()
	return id
}

// nextID is the number the next registration on l gets (l nil: none yet).
// The list extend returns may be a shared one made before, by another
// socket: its entry has this number too (it was made from the same list).
func (l *listeners) nextID() uint32 {
	if l == nil {
		return 0
	}
	return l.next
}

// removeRegistration removes the On, OnDisconnecting or OnDisconnect
// registration id, if the socket still has it.
func (s *Socket) removeRegistration(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.lst
	if cur == nil {
		return
	}
	found := false
	for _, e := range cur.events {
		found = found || e.id == id
	}
	for _, r := range cur.disconnecting {
		found = found || r.id == id
	}
	for _, r := range cur.disconnect {
		found = found || r.id == id
	}
	if found {
		// A new list: onEvent may be iterating a snapshot of the old one,
		// which other sockets may share.
		s.lst = cur.without(func(e eventHandler) bool { return e.id == id }, func(r reasonHandler) bool { return r.id == id })
	}
}

// Off removes every handler of event (the reference's
// removeAllListeners(event); to remove one, call the function On
// returned). Off("disconnect") and Off("disconnecting") remove the
// OnDisconnect and OnDisconnecting handlers too.
func (s *Socket) Off(event string) *Socket {
	s.mu.Lock()
	if old := s.lst; old != nil {
		s.lst = old.without(func(e eventHandler) bool { return e.event == event }, func(r reasonHandler) bool {
			return false
		})
		switch event {
		case eventDisconnecting:
			s.lst.disconnecting = nil
		case eventDisconnect:
			s.lst.disconnect = nil
		}
	}
	s.mu.Unlock()
	return s
}

// OnTyped adds a handler for event whose first argument is decoded as a T
// (see Arg); a decoding error goes to the socket's error handlers. It
// returns the registration's remover, as On.
func OnTyped[T any](s *Socket, event string, h func(s *Socket, v T, ack Ack)) (off func()) {
	return s.On(event, func(s *Socket, args Args, ack Ack) {
		v, err := Arg[T](args, 0)
		if err != nil {
			s.fireError(err)
			return
		}
		h(s, v, ack)
	})
}

// addListener adds fn to *list (at the front with prepend), copy-on-write,
// numbered from x; s.mu must be held. It returns the registration's
// number.
func addListener[F any](x *socketHooks, list *[]listener[F], fn F, prepend bool) uint32 {
	id := x.next
	x.next++
	l := listener[F]{fn: fn, id: id}
	out := make([]listener[F], 0, len(*list)+1)
	if prepend {
		out = append(out, l)
		out = append(out, *list...)
	} else {
		out = append(out, *list...)
		out = append(out, l)
	}
	*list = out
	return id
}

// removeListener removes registration id from *list, copy-on-write,
// reporting whether it was there; s.mu must be held.
func removeListener[F any](list *[]listener[F], id uint32) bool {
	for i, l := range *list {
		if l.id == id {
			out := make([]listener[F], 0, len(*list)-1)
			out = append(out, (*list)[:i]...)
			*list = append(out, (*list)[i+1:]...)
			return true
		}
	}
	return false
}

// funcs returns the functions of list, in order.
func funcs[F any](list []listener[F]) []F {
	out := make([]F, len(list))
	for i, l := range list {
		out[i] = l.fn
	}
	return out
}

// OnAny adds a listener for every incoming event; listeners run before the
// event's middleware and handlers, in order. args holds the event's Values
// and, last, its Ack when the client asked for one. It returns a function
// that removes this listener (the reference's offAny(listener)).
func (s *Socket) OnAny(h AnyHandler) (off func()) { return s.addAny(h, false) }

// PrependAny adds a listener for every incoming event that runs before the
// ones already added (the reference's prependAny). It returns the
// listener's remover.
func (s *Socket) PrependAny(h AnyHandler) (off func()) { return s.addAny(h, true) }

func (s *Socket) addAny(h AnyHandler, prepend bool) func() {
	if h == nil {
		panic("sio: nil OnAny listener")
	}
	s.mu.Lock()
	x := s.hooksLocked()
	id := addListener(x, &x.anyIn, h, prepend)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		removeListener(&s.hooks.anyIn, id)
		s.mu.Unlock()
	}
}

// OffAny removes every OnAny listener.
func (s *Socket) OffAny() *Socket {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.anyIn = nil
	}
	s.mu.Unlock()
	return s
}

// ListenersAny returns the OnAny listeners in the order they run (a copy:
// changing it changes nothing).
func (s *Socket) ListenersAny() []AnyHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	return funcs(s.hooks.anyIn)
}

// OnAnyOutgoing adds a listener for every event emitted to this socket
// (including broadcasts it receives; not acknowledgements). It runs on the
// emitting goroutine. It returns the listener's remover.
func (s *Socket) OnAnyOutgoing(h AnyHandler) (off func()) { return s.addAnyOutgoing(h, false) }

// PrependAnyOutgoing adds an outgoing listener that runs before the ones
// already added (the reference's prependAnyOutgoing). It returns the
// listener's remover.
func (s *Socket) PrependAnyOutgoing(h AnyHandler) (off func()) { return s.addAnyOutgoing(h, true) }

func (s *Socket) addAnyOutgoing(h AnyHandler, prepend bool) func() {
	if h == nil {
		panic("sio: nil OnAnyOutgoing listener")
	}
	s.mu.Lock()
	x := s.hooksLocked()
	if len(x.anyOut) == 0 {
		s.nsp.outHook.Add(1)
	}
	id := addListener(x, &x.anyOut, h, prepend)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if removeListener(&s.hooks.anyOut, id) && len(s.hooks.anyOut) == 0 {
			s.nsp.outHook.Add(-1)
		}
		s.mu.Unlock()
	}
}

// OffAnyOutgoing removes every OnAnyOutgoing listener.
func (s *Socket) OffAnyOutgoing() *Socket {
	s.mu.Lock()
	if s.hooks != nil && len(s.hooks.anyOut) > 0 {
		s.nsp.outHook.Add(-1)
		s.hooks.anyOut = nil
	}
	s.mu.Unlock()
	return s
}

// ListenersAnyOutgoing returns the OnAnyOutgoing listeners in the order
// they run (a copy).
func (s *Socket) ListenersAnyOutgoing() []AnyHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	return funcs(s.hooks.anyOut)
}

// Use adds an event middleware.
func (s *Socket) Use(fn EventMiddleware) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.middlewares = append(x.middlewares, fn)
	s.mu.Unlock()
	return s
}

// OnDisconnecting adds a handler that runs when the socket is about to
// disconnect, while its rooms are still readable (as On("disconnecting"),
// with the reason typed). It returns the handler's remover. Shared between
// sockets as On's handlers are.
func (s *Socket) OnDisconnecting(fn func(s *Socket, reason DisconnectReason)) (off func()) {
	return registration{s, s.onReason(fn, kindDisconnecting)}.remove // inlined as On
}

// OnDisconnect adds a handler that runs once the socket disconnected, with
// the reason (the Reason constants): On("disconnect") with the reason
// typed. It returns the handler's remover. Shared between sockets as On's
// handlers are.
func (s *Socket) OnDisconnect(fn func(s *Socket, reason DisconnectReason)) (off func()) {
	return registration{s, s.onReason(fn, kindDisconnect)}.remove // inlined as On
}

func (s *Socket) onReason(fn func(*Socket, DisconnectReason), kind uint8) uint32 {
	if fn == nil {
		panic("sio: nil disconnect handler")
	}
	key := listenerKey{fn: funcAddr(fn), kind: kind}
	s.mu.Lock()
	id := s.lst.nextID()
	s.lst = s.nsp.extend(s.lst, key, func(l *listeners) {
		r := reasonHandler{fn: fn, id: l.next}
		if kind == kindDisconnecting {
			l.disconnecting = append(l.disconnecting, r)
		} else {
			l.disconnect = append(l.disconnect, r)
		}
	})
	s.mu.Unlock()
	return id
}

// runOwnEvent runs the handlers of the socket's disconnecting or disconnect
// event: its On(event) handlers and its OnDisconnecting or OnDisconnect
// ones, merged in registration order.
func (s *Socket) runOwnEvent(event string, reason DisconnectReason) {
	var events []eventHandler
	var typed []reasonHandler
	s.mu.Lock()
	if l := s.lst; l != nil {
		events = l.events
		if event == eventDisconnecting {
			typed = l.disconnecting
		} else {
			typed = l.disconnect
		}
	}
	s.mu.Unlock()
	var args Args // the reason, made when a handler wants it
	i := 0
	for _, e := range events {
		if e.event != event {
			continue
		}
		for ; i < len(typed) && typed[i].id < e.id; i++ {
			typed[i].fn(s, reason)
		}
		if args == nil {
			args = Args{Value{raw: codec.AppendJSONString(nil, string(reason))}}
		}
		e.h(s, args, nil)
	}
	for ; i < len(typed); i++ {
		typed[i].fn(s, reason)
	}
}

// OnError adds a handler for errors: an invalid packet from the client (the
// connection is then closed), an event middleware's error. It returns the
// handler's remover.
func (s *Socket) OnError(fn func(s *Socket, err error)) (off func()) {
	if fn == nil {
		panic("sio: nil OnError handler")
	}
	s.mu.Lock()
	x := s.hooksLocked()
	id := addListener(x, &x.onError, fn, false)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		removeListener(&s.hooks.onError, id)
		s.mu.Unlock()
	}
}

func (s *Socket) fireError(err error) {
	var hs []listener[func(*Socket, error)]
	s.mu.Lock()
	if s.hooks != nil {
		hs = s.hooks.onError
	}
	s.mu.Unlock()
	for _, h := range hs {
		h.fn(s, err)
	}
}

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
	var anyIn []listener[AnyHandler]
	var middlewares []EventMiddleware
	var hs []eventHandler
	s.mu.Lock()
	if s.lst != nil {
		hs = s.lst.events
	}
	if s.hooks != nil {
		anyIn, middlewares = s.hooks.anyIn, s.hooks.middlewares
	}
	s.mu.Unlock()
	if len(anyIn) > 0 {
		list := args.Any()
		if ack != nil {
			list = append(list, ack)
		}
		for _, h := range anyIn {
			h.fn(s, event, list)
		}
	}
	for _, mw := range middlewares {
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
