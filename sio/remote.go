package sio

import (
	"context"
	"time"
)

// RemoteSocket is a socket as FetchSockets returns it: local or on another
// node, acted on through the adapter.
type RemoteSocket struct {
	SocketDetails
	nsp *Namespace
}

func (r *RemoteSocket) op() BroadcastOperator {
	return BroadcastOperator{nsp: r.nsp, rooms: []Room{r.ID}, flags: BroadcastFlags{ExpectSingleResponse: true}}
}

// Emit emits to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.op().Emit(event, args...) }

// EmitWithAck emits and waits for the acknowledgement (with timeout d if > 0).
func (r *RemoteSocket) EmitWithAck(ctx context.Context, d time.Duration, event string, args ...any) (Args, error) {
	res, err := r.op().Timeout(d).EmitWithAck(ctx, event, args...)
	if len(res) > 0 {
		return res[0], err
	}
	return nil, err
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...Room) { r.op().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...Room) { r.op().SocketsLeave(rooms...) }

// Disconnect disconnects the socket.
func (r *RemoteSocket) Disconnect(close bool) { r.op().DisconnectSockets(close) }
