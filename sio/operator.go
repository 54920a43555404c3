package sio

import (
	"context"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

// BroadcastOperator selects sockets of a namespace (rooms, exceptions,
// flags) and emits to them or acts on them. It is an immutable value: each
// method returns a new one.
type BroadcastOperator struct {
	nsp    *Namespace
	rooms  []Room
	except []Room
	flags  BroadcastFlags
}

func appendRooms(list []Room, rooms []Room) []Room {
	out := make([]Room, 0, len(list)+len(rooms))
	out = append(out, list...)
	for _, r := range rooms {
		dup := false
		for _, x := range out {
			if x == r {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

// To adds rooms: the broadcast reaches sockets in any of them.
func (o BroadcastOperator) To(rooms ...Room) BroadcastOperator {
	o.rooms = appendRooms(o.rooms, rooms)
	return o
}

// In is To.
func (o BroadcastOperator) In(rooms ...Room) BroadcastOperator { return o.To(rooms...) }

// Except excludes the sockets in rooms.
func (o BroadcastOperator) Except(rooms ...Room) BroadcastOperator {
	o.except = appendRooms(o.except, rooms)
	return o
}

// Volatile: the packet may be dropped for clients that cannot take it now.
func (o BroadcastOperator) Volatile() BroadcastOperator { o.flags.Volatile = true; return o }

// Compress sets whether the packet may be compressed.
func (o BroadcastOperator) Compress(c bool) BroadcastOperator { o.flags.NoCompress = !c; return o }

// Local limits the broadcast to this node.
func (o BroadcastOperator) Local() BroadcastOperator { o.flags.Local = true; return o }

// Timeout sets the acknowledgement timeout of EmitWithAck.
func (o BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	o.flags.Timeout = d
	return o
}

func (o BroadcastOperator) options() *BroadcastOptions {
	return &BroadcastOptions{Rooms: o.rooms, Except: o.except, Flags: o.flags}
}

// Emit broadcasts an event to the selected sockets. It encodes the packet
// once; the same bytes are written to every socket. A last argument of
// type BroadcastAckFunc collects the acknowledgements as EmitWithAck does
// (without a ctx: set a Timeout) and is called once at the end, on a
// goroutine of its own; nothing waits meanwhile.
func (o BroadcastOperator) Emit(event string, args ...any) error {
	if reservedEvents[event] {
		return ErrReservedEvent
	}
	args, fn, bfn := splitAck(args)
	if fn != nil {
		return errAckPlacement
	}
	p, err := buildPacket(codec.SIOEvent, o.nsp.name, event, args)
	if err != nil {
		return err
	}
	if bfn != nil {
		_, err := o.collect(context.Background(), p, bfn)
		return err
	}
	return o.nsp.adapter.Broadcast(p, o.options())
}

// EmitWithAck broadcasts an event and waits for the acknowledgements of
// the selected clients. It returns when every one of them answered or
// left, when the Timeout expires, or when ctx ends, whichever comes first;
// each response is one client's arguments. When some client did not
// answer, the error is an *AckError saying how many answered (with their
// answers) and why the others did not: errors.Is(err, ErrAckTimeout) after
// the Timeout, errors.Is(err, ErrDisconnected) when clients disconnected
// first; or ctx's error. Without a Timeout, a connected client that never
// answers holds the call until ctx ends: set one, as the reference
// requires.
func (o BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if reservedEvents[event] {
		return nil, ErrReservedEvent
	}
	p, err := buildPacket(codec.SIOEvent, o.nsp.name, event, args)
	if err != nil {
		return nil, err
	}
	return o.collect(ctx, p, nil)
}

// FetchSockets describes the selected sockets; each can be acted on.
func (o BroadcastOperator) FetchSockets() ([]*RemoteSocket, error) {
	ds, err := o.nsp.adapter.FetchSockets(o.options())
	if err != nil {
		return nil, err
	}
	out := make([]*RemoteSocket, len(ds))
	for i, d := range ds {
		out[i] = &RemoteSocket{SocketDetails: d, nsp: o.nsp}
	}
	return out, nil
}

// SocketsJoin makes the selected sockets join rooms.
func (o BroadcastOperator) SocketsJoin(rooms ...Room) { o.nsp.adapter.AddSockets(o.options(), rooms) }

// SocketsLeave makes the selected sockets leave rooms.
func (o BroadcastOperator) SocketsLeave(rooms ...Room) {
	o.nsp.adapter.DelSockets(o.options(), rooms)
}

// DisconnectSockets disconnects the selected sockets (see Socket.Disconnect).
func (o BroadcastOperator) DisconnectSockets(close bool) {
	o.nsp.adapter.DisconnectSockets(o.options(), close)
}

// AllSockets returns the ids of the selected sockets (rooms only; Except
// does not apply, as in the reference): on every node, or with Local on
// this one.
func (o BroadcastOperator) AllSockets() ([]SocketID, error) {
	a := o.nsp.adapter
	if o.flags.Local {
		a = localPart(a)
	}
	return a.Sockets(o.rooms)
}
