package sio

import (
	"context"
	"time"
)

// RemoteSocket is a socket as FetchSockets returns it: local or on another
// node, acted on through the adapter (the reference's RemoteSocket).
type RemoteSocket struct {
	SocketDetails
	nsp     *Namespace
	timeout time.Duration
}

func (r *RemoteSocket) op() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []Room{r.ID}, flags: BroadcastFlags{ExpectSingleResponse: true, Timeout: r.timeout}}
}

// Timeout returns a copy of r whose acknowledgements time out after d
// (ErrAckTimeout), as Socket.Timeout.
func (r *RemoteSocket) Timeout(d time.Duration) *RemoteSocket {
	c := *r
	c.timeout = d
	return &c
}

// Emit emits to the socket. A last argument of type AckFunc asks for its
// acknowledgement (set a Timeout: the answer may have to cross nodes); it
// runs on a goroutine of its own.
func (r *RemoteSocket) Emit(event string, args ...any) error {
	if args, fn, _ := splitAck(args); fn != nil {
		return r.op().Emit(event, append(args, BroadcastAckFunc(func(res []Args, err error) {
			var first Args
			if len(res) > 0 {
				first = res[0]
			}
			fn(first, err)
		}))...)
	}
	return r.op().Emit(event, args...)
}

// EmitWithAck emits and waits for the acknowledgement, the Timeout
// (ErrAckTimeout) or ctx.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	res, err := r.op().EmitWithAck(ctx, event, args...)
	if len(res) > 0 {
		return res[0], err
	}
	return nil, err
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...Room) { r.op().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...Room) { r.op().SocketsLeave(rooms...) }

// Disconnect disconnects the socket (see Socket.Disconnect).
func (r *RemoteSocket) Disconnect(close bool) { r.op().DisconnectSockets(close) }
