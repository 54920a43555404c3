package sio

import (
	"bytes"
	"context"
	"errors"
	"unsafe"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
)

// What a multi-node Adapter (package redisadapter) needs of sio beyond the
// Adapter interface: building packets and values from what another node
// sent, assigning ack ids, the rooms of the local registry and their
// creation and deletion, and the optional abilities a multi-node adapter
// adds (ServerSideEmitWithAck, AllRooms, a local part).

// ServerSideHandler handles an event another node sent with
// ServerSideEmit (Namespace.OnServerSideEmit). ack is nil unless that node
// waits for an answer (ServerSideEmitWithAck); then call it once, with one
// value (further arguments are not sent: the reference passes on only the
// first). It runs on a goroutine of the adapter's, not an event loop, and
// may block.
type ServerSideHandler func(args Args, ack Ack)

// ServerSideAcker is the optional Adapter ability behind
// Namespace.ServerSideEmitWithAck: send an event to the other nodes and
// collect one answer per node.
type ServerSideAcker interface {
	ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]Args, error)
}

// ServerSideEmitWithAck sends an event to this namespace on the other
// nodes and waits for each node's answer (its handler's ack), the
// adapter's request timeout, or ctx. Each response is one node's Args (of
// one value). On a single node (an adapter without this ability) it
// returns no responses and no error, as the reference does. On a timeout
// the error matches ErrAckTimeout (errors.Is), and the answers that came are
// returned with it.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if serverSideReserved[event] {
		return nil, ErrReservedEvent
	}
	if a, ok := n.adapter.(ServerSideAcker); ok {
		return a.ServerSideEmitWithAck(ctx, event, args)
	}
	return nil, nil
}

// ServerSideEmitWithAck is the main namespace's ServerSideEmitWithAck.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	return s.main.ServerSideEmitWithAck(ctx, event, args...)
}

// RoomLister is the optional Adapter ability behind Namespace.AllRooms.
type RoomLister interface {
	AllRooms() ([]Room, error)
}

// AllRooms returns the rooms of the namespace on every node the adapter
// reaches (each socket's own room included, as in the reference).
func (n *Namespace) AllRooms() ([]Room, error) {
	if a, ok := n.adapter.(RoomLister); ok {
		return a.AllRooms()
	}
	return nil, errors.New("sio: the adapter cannot list rooms")
}

// EngineClusterer is an optional ability of a multi-node Adapter: the
// engine.Cluster that lets the servers of the cluster serve each other's
// Engine.IO sessions, so that a load balancer in front needs no sticky
// sessions (a polling request for a session another server holds is
// forwarded to it; a WebSocket upgrade moves the session: see
// engine.Cluster). NewServer sets the main namespace's on its engine; nil
// means none (redisadapter's with its NoForwarding option).
type EngineClusterer interface {
	EngineCluster() engine.Cluster
}

// joinEngineCluster puts the engine in the main adapter's cluster, if it
// offers one.
func (s *Server) joinEngineCluster() {
	ec, ok := s.main.adapter.(EngineClusterer)
	if !ok {
		return
	}
	c := ec.EngineCluster()
	if c == nil {
		return
	}
	if err := s.eng.SetCluster(c); err != nil {
		s.log.Error("sio: cannot serve the other nodes' sessions: the load balancer must pin each client to one node", "err", err)
	}
}

// LocalPart is implemented by multi-node adapters: the in-memory adapter
// that holds this node's sockets. Operators flagged Local use it.
type LocalPart interface {
	LocalPart() *InMemoryAdapter
}

// localPart returns the adapter that answers for this node only.
func localPart(a Adapter) Adapter {
	if l, ok := a.(LocalPart); ok {
		return l.LocalPart()
	}
	return a
}

// NewEventPacket encodes an EVENT packet for namespace nsp from the
// arguments of an Emit (the same rules as Socket.Emit; no AckFunc). A
// multi-node adapter or an emitter uses it to encode arguments without a
// socket.
func NewEventPacket(nsp, event string, args []any) (*Packet, error) {
	if reservedEvents[event] {
		return nil, ErrReservedEvent
	}
	if _, fn, bfn := splitAck(args); fn != nil || bfn != nil {
		return nil, errors.New("sio: an acknowledgement callback cannot be sent to another node")
	}
	return buildPacket(codec.SIOEvent, nsp, event, args)
}

// RemotePacket builds the EVENT packet of a broadcast that another node
// sent: data is the JSON array [event, ...args] with binary placeholders
// {"_placeholder":true,"num":i} for attachments[i]. data and attachments
// are kept (not copied) and must not change. withAck gives the packet a
// fresh ack id of this namespace, for BroadcastWithAck. The packet is
// encoded once (Prepared) for all the local sockets it goes to.
func (n *Namespace) RemotePacket(data []byte, attachments [][]byte, withAck bool) (*Packet, error) {
	var inl [8][]byte
	elems, err := codec.ArrayElements(inl[:0], data)
	if err != nil || len(elems) == 0 || len(elems[0]) == 0 {
		return nil, errors.New("sio: a remote packet's data is not an array starting with the event name")
	}
	if len(attachments) > 0 {
		// Every placeholder must name an attachment that is there.
		for _, e := range elems {
			bad := false
			walkObjects(e, func(start, end int) {
				if num, ok := codec.ParsePlaceholder(e[start:end]); ok && num >= len(attachments) {
					bad = true
				}
			})
			if bad {
				return nil, ErrIllegalAttachments
			}
		}
	}
	p := &Packet{Type: PacketEvent, Nsp: n.name, ID: -1, Data: data, Attachments: attachments}
	if name := elems[0]; name[0] == '"' {
		if body := name[1 : len(name)-1]; bytes.IndexByte(body, '\\') < 0 {
			// The name as it is in data, which the packet keeps unchanged.
			p.Event = unsafe.String(unsafe.SliceData(body), len(body))
		} else {
			unq, err := codec.AppendUnquote(nil, name)
			if err != nil {
				return nil, errors.New("sio: a remote packet's event name is not a valid string")
			}
			p.Event = string(unq)
		}
	} else {
		p.Event = string(name)
	}
	if reservedEvents[p.Event] {
		return nil, ErrReservedEvent
	}
	if n.outHook.Load() > 0 {
		// The arguments as OnAnyOutgoing listeners see them.
		args := make([]any, 0, len(elems)-1)
		for _, v := range valuesOf(elems[1:], attachments) {
			args = append(args, v)
		}
		p.Args = args
	}
	if withAck {
		p.ID = n.ackIDs.Add(1) - 1
	}
	return p, nil
}

// MakeValue returns the Value of the JSON text raw, whose binary
// placeholders refer to attachments, as an argument received in a packet
// with those attachments: a raw that is itself a placeholder is a binary
// Value. raw and attachments are kept, not copied. raw must be valid JSON.
func MakeValue(raw []byte, attachments [][]byte) Value {
	if len(attachments) > 0 {
		if num, ok := codec.ParsePlaceholder(raw); ok && num < len(attachments) {
			b := attachments[num]
			if b == nil {
				b = []byte{} // an empty attachment; a nil one would be no value (the zero Value)
			}
			return Value{bin: b}
		}
		return Value{raw: raw, attachments: attachments}
	}
	return Value{raw: raw}
}

// Attachments returns the binary attachments a JSON Value's placeholders
// refer to (nil when it has none): with Raw, what is needed to send the
// value on as it came.
func (v Value) Attachments() [][]byte {
	if v.raw == nil {
		return nil
	}
	return v.attachments
}

func valuesOf(elems [][]byte, attachments [][]byte) Args {
	out := make(Args, len(elems))
	for i, e := range elems {
		out[i] = MakeValue(e, attachments)
	}
	return out
}

// RoomListener is told when a room of an InMemoryAdapter gets its first
// member (created) or loses its last (deleted), as the reference's
// adapter emits "create-room" and "delete-room" — for every room, the
// sockets' own rooms included. It is called with the registry's lock of
// that room held: it must be quick and must not call back into the
// adapter. Calls for one room are ordered. It is the hook of a multi-node
// adapter (which must subscribe and unsubscribe in order); applications
// use the public events of the same changes, OnCreateRoom, OnDeleteRoom,
// OnJoinRoom and OnLeaveRoom (events.go), told right after, outside the
// locks.
type RoomListener interface {
	RoomCreated(r Room)
	RoomDeleted(r Room)
}

// SetRoomListener sets l (nil for none). Set it before sockets join rooms
// (in the Adapter factory or Init).
func (a *InMemoryAdapter) SetRoomListener(l RoomListener) { a.listener = l }

func (a *InMemoryAdapter) roomCreated(r Room) {
	if a.listener != nil {
		a.listener.RoomCreated(r)
	}
}

func (a *InMemoryAdapter) roomDeleted(r Room) {
	if a.listener != nil {
		a.listener.RoomDeleted(r)
	}
}

// HasRoom reports whether room r has a member on this node.
func (a *InMemoryAdapter) HasRoom(r Room) bool {
	rs := a.roomShard(r)
	rs.mu.RLock()
	_, ok := rs.rooms[r]
	rs.mu.RUnlock()
	if ok {
		return true
	}
	if m := a.member(r); m != nil {
		m.mu.Lock()
		self := m.self
		m.mu.Unlock()
		return self
	}
	return false
}

// Rooms returns the rooms with members on this node, the sockets' own
// rooms included.
func (a *InMemoryAdapter) Rooms() []Room {
	var out []Room
	for i := range a.rooms {
		sh := &a.rooms[i]
		sh.mu.RLock()
		for r := range sh.rooms {
			out = append(out, r)
		}
		sh.mu.RUnlock()
	}
	a.nsp.EachSocket(func(s *Socket) bool {
		s.mu.Lock()
		if s.joined && s.self {
			out = append(out, s.id)
		}
		s.mu.Unlock()
		return true
	})
	return out
}

// AllRooms implements RoomLister: on one node, Rooms.
func (a *InMemoryAdapter) AllRooms() ([]Room, error) { return a.Rooms(), nil }

// Namespace is the adapter's namespace.
func (a *InMemoryAdapter) Namespace() *Namespace { return a.nsp }
