package sio

import (
	"time"
)

// Room is a room name. Every socket is in the room named by its own id.
type Room = string

// SocketID is a socket's id (not the Engine.IO session id).
type SocketID = string

// BroadcastFlags modify a broadcast.
type BroadcastFlags struct {
	// Volatile packets may be dropped when a client cannot take them right
	// away (see Socket.Volatile).
	Volatile bool
	// NoCompress asks not to compress (Compress(false)); by default packets
	// are compressed where permessage-deflate was negotiated and the
	// packet is over the engine's threshold, as in the reference.
	NoCompress bool
	// Local: only this node's sockets (multi-node adapters).
	Local bool
	// Timeout for acknowledgements (EmitWithAck); 0 means none.
	Timeout time.Duration
	// ExpectSingleResponse: the broadcast targets one socket (RemoteSocket).
	ExpectSingleResponse bool
}

// BroadcastOptions select the sockets of a broadcast: those in any of Rooms
// (every socket of the namespace when Rooms is empty) and in none of
// Except.
type BroadcastOptions struct {
	Rooms  []Room
	Except []Room
	Flags  BroadcastFlags
}

// SocketDetails describe a socket, local or on another node.
type SocketDetails struct {
	ID        SocketID
	Handshake *Handshake
	Rooms     []Room
	Data      any
	// Local is the socket when it lives on this node, nil otherwise.
	Local *Socket
}

// PersistedSession is what connection state recovery keeps of a socket
// that disconnected (for a reason it can recover from).
type PersistedSession struct {
	SID            SocketID
	PID            string // private session id, sent to the client in CONNECT
	Rooms          []Room
	Data           any
	DisconnectedAt time.Time
}

// RestoredSession is a PersistedSession and the packets it missed.
type RestoredSession struct {
	PersistedSession
	// MissedPackets are the broadcasts the socket would have received,
	// oldest first, each with its offset as its last argument.
	MissedPackets []*Packet
}

// Adapter is the room registry and broadcast mechanism of one namespace,
// mirroring the reference's Adapter class, so that a multi-node adapter
// (with the wire format of @socket.io/redis-adapter) can be written against
// it without changing sio. One Adapter instance serves one Namespace
// (Options.Adapter creates it); its methods are called from any goroutine
// and must not block for long: they run on the caller's goroutine (a
// handler, or the goroutine that emitted).
//
// A multi-node adapter embeds *InMemoryAdapter for the local part (it
// holds the sockets of this node and writes packets to them), publishes
// to the other nodes, and calls the InMemoryAdapter's methods with what
// it receives from them.
type Adapter interface {
	// Init is called once, when the namespace is created.
	Init() error
	// Close is called on Server.Shutdown.
	Close() error
	// ServerCount is the number of nodes (1 for a single node).
	ServerCount() (int, error)

	// AddAll adds socket id to rooms.
	AddAll(id SocketID, rooms []Room)
	// Del removes socket id from room.
	Del(id SocketID, room Room)
	// DelAll removes socket id from all its rooms.
	DelAll(id SocketID)

	// Broadcast writes p to the selected sockets.
	Broadcast(p *Packet, opts *BroadcastOptions) error
	// BroadcastWithAck writes p (which carries an ack id) to the selected
	// sockets, and registers ack on each so that their answers reach it:
	// ack(args, nil) for an answer, ack(nil, err) for a socket that
	// disconnected before answering (the local part, InMemoryAdapter, does
	// both). clientCount is called once per node with the number of
	// sockets that node expects answers from. ack and clientCount must not
	// block; they may be called from any goroutine.
	BroadcastWithAck(p *Packet, opts *BroadcastOptions, clientCount func(int), ack func(Args, error)) error

	// Sockets returns the ids of the sockets in any of rooms (all when
	// empty).
	Sockets(rooms []Room) ([]SocketID, error)
	// SocketRooms returns the rooms of a local socket (nil if unknown).
	SocketRooms(id SocketID) []Room
	// FetchSockets describes the selected sockets.
	FetchSockets(opts *BroadcastOptions) ([]SocketDetails, error)
	// AddSockets makes the selected sockets join rooms.
	AddSockets(opts *BroadcastOptions, rooms []Room)
	// DelSockets makes the selected sockets leave rooms.
	DelSockets(opts *BroadcastOptions, rooms []Room)
	// DisconnectSockets disconnects the selected sockets.
	DisconnectSockets(opts *BroadcastOptions, close bool)

	// ServerSideEmit sends an event to the other nodes' namespace of the
	// same name (Namespace.OnServerSideEmit there). A no-op on one node.
	ServerSideEmit(event string, args []any) error

	// PersistSession keeps a disconnected socket's session for recovery.
	PersistSession(s *PersistedSession)
	// RestoreSession returns the session pid with the packets broadcast
	// after offset, or nil if it cannot be recovered.
	RestoreSession(pid, offset string) (*RestoredSession, error)
}
