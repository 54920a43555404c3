package sio

import "github.com/fanio/fanio/internal/codec"

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
}

// On adds a handler for event.
//
// Sockets that register the same handlers in the same order share one
// list of them: a connection handler that registers package-level
// functions, or func values made once (h.onChat assigned to a variable at
// start), costs an idle socket nothing for its handlers. A closure or a
// method value created per socket is a new func value each time: those
// sockets keep their own lists (about 24 bytes per handler).
func (s *Socket) On(event string, h EventHandler) *Socket {
	key := listenerKey{event: event, fn: funcAddr(h)}
	s.mu.Lock()
	s.lst = s.nsp.extend(s.lst, key, func(l *listeners) {
		l.events = append(l.events, eventHandler{event: event, h: h})
	})
	s.mu.Unlock()
	return s
}

// Off removes every handler of event.
func (s *Socket) Off(event string) *Socket {
	s.mu.Lock()
	if old := s.lst; old != nil {
		// A new list: onEvent may be iterating a snapshot of the old one,
		// which other sockets may share.
		l := &listeners{disconnect: old.disconnect}
		for _, e := range old.events {
			if e.event != event {
				l.events = append(l.events, e)
			}
		}
		s.lst = l
	}
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
	x.middlewares = append(x.middlewares, fn)
	s.mu.Unlock()
	return s
}

// OnDisconnecting adds a handler that runs when the socket is about to
// disconnect, while its rooms are still readable.
func (s *Socket) OnDisconnecting(fn func(s *Socket, reason DisconnectReason)) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.onDisconnecting = append(x.onDisconnecting, fn)
	s.mu.Unlock()
	return s
}

// OnDisconnect adds a handler that runs once the socket disconnected, with
// the reason (the Reason constants).
func (s *Socket) OnDisconnect(fn func(s *Socket, reason DisconnectReason)) *Socket {
	key := listenerKey{fn: funcAddr(fn), disconnect: true}
	s.mu.Lock()
	s.lst = s.nsp.extend(s.lst, key, func(l *listeners) {
		l.disconnect = append(l.disconnect, fn)
	})
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
			h(s, event, list)
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
