package sio

import (
	"context"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

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

// EmitWithAck sends an event and waits for the client's acknowledgement.
// It returns the client's arguments, or an error: ErrAckTimeout after a
// Timeout (see Socket.Timeout), ErrDisconnected as soon as the socket
// disconnects, or ctx's error; whichever comes first. It does not need
// the socket's mailbox, so a handler may call it on its own socket.
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
	args, fn, bfn := splitAck(args)
	if bfn != nil {
		return errAckPlacement
	}
	p, err := buildPacket(codec.SIOEvent, s.nsp.name, event, args)
	if err != nil {
		return err
	}
	if fn != nil {
		id := s.nsp.ackIDs.Add(1) - 1
		p.ID = id
		a := &pendingAck{fn: fn}
		if !s.registerAck(id, a, flags.Timeout) {
			return ErrDisconnected
		}
		s.notifyOutgoing(p)
		if err := s.c.send(p, flags.Volatile); err != nil {
			// Emit fails: the callback must not be called, unless its end
			// (the disconnection) got to it first.
			if _, ok := s.takeAck(id, a); ok && a.done.CompareAndSwap(false, true) {
				if a.timed {
					s.nsp.srv.timers.Stop(&a.timer)
				}
				return err
			}
		}
		return nil
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
	p, err := buildPacket(codec.SIOEvent, s.nsp.name, event, args)
	if err != nil {
		return nil, err
	}
	id := s.nsp.ackIDs.Add(1) - 1
	p.ID = id
	a := &pendingAck{ch: make(chan ackResult, 1)}
	if !s.registerAck(id, a, flags.Timeout) {
		return nil, ErrDisconnected
	}
	s.notifyOutgoing(p)
	if err := s.c.send(p, flags.Volatile); err != nil {
		s.takeAck(id, a)
		a.resolve(nil, err, false)
		return nil, err
	}
	select {
	case r := <-a.ch:
		return r.args, r.err
	case <-ctx.Done():
		s.takeAck(id, a)
		a.resolve(nil, ctx.Err(), false)
		return nil, ctx.Err()
	}
}

// notifyOutgoing calls the OnAnyOutgoing listeners.
func (s *Socket) notifyOutgoing(p *Packet) {
	var hs []listener[AnyHandler]
	s.mu.Lock()
	if s.hooks != nil {
		hs = s.hooks.anyOut
	}
	s.mu.Unlock()
	for _, h := range hs {
		h.fn(s, p.Event, p.Args)
	}
}
