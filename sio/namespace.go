package sio

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/idtable"
)

// Namespace is a communication channel: sockets connect to it, and it has
// its own middleware, handlers, rooms and adapter.
type Namespace struct {
	srv     *Server
	name    string
	adapter Adapter
	parent  *ParentNamespace
	ackIDs  atomic.Int64

	mu                 sync.RWMutex
	middlewares        []Middleware
	onConnection       []func(*Socket)
	serverSideHandlers map[string][]ServerSideHandler

	lists listTree // the sockets' shared handler lists

	seed     maphash.Seed
	shards   [socketShards]socketShard
	count    atomic.Int64
	connects atomic.Uint64 // sockets connected since the start
	outHook  atomic.Int32  // sockets with OnAnyOutgoing listeners

	// removed: a dynamic namespace removed once empty
	// (CleanupEmptyChildNamespaces); guarded by srv.nspMu.
	removed bool
}

// socketShards is the number of shards of a namespace's socket registry.
const socketShards = 32

type socketShard struct {
	mu sync.RWMutex
	t  *idtable.Table[Socket] // ~14 B per socket (a Go map: ~44)
}

func socketID(s *Socket) string { return s.id }

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{srv: srv, name: name, parent: parent, seed: maphash.MakeSeed()}
	n.lists.root.node = &listNode{}
	for i := range n.shards {
		n.shards[i].t = idtable.New(socketID)
	}
	if parent != nil {
		parent.mu.RLock()
		n.middlewares = append(n.middlewares, parent.middlewares...)
		n.onConnection = append(n.onConnection, parent.onConnection...)
		parent.mu.RUnlock()
	}
	n.adapter = srv.opts.Adapter(n)
	if err := n.adapter.Init(); err != nil {
		srv.log.Error("sio: adapter init failed", "nsp", name, "err", err)
	}
	return n
}

// Name is the namespace's name ("/", "/chat").
func (n *Namespace) Name() string { return n.name }

// Server is the namespace's server.
func (n *Namespace) Server() *Server { return n.srv }

// Adapter is the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware.
func (n *Namespace) Use(fn Middleware) *Namespace {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, fn)
	n.mu.Unlock()
	return n
}

// OnConnection adds a handler called for each socket that connected (after
// the middleware), on the socket's mailbox: register the socket's event
// handlers there.
func (n *Namespace) OnConnection(fn func(*Socket)) *Namespace {
	n.mu.Lock()
	n.onConnection = append(n.onConnection, fn)
	n.mu.Unlock()
	return n
}

// OnServerSideEmit adds a handler for events other nodes send with
// ServerSideEmit or ServerSideEmitWithAck (the reference's
// namespace.on(event) for those).
func (n *Namespace) OnServerSideEmit(event string, fn ServerSideHandler) *Namespace {
	n.mu.Lock()
	if n.serverSideHandlers == nil {
		n.serverSideHandlers = make(map[string][]ServerSideHandler)
	}
	n.serverSideHandlers[event] = append(n.serverSideHandlers[event], fn)
	n.mu.Unlock()
	return n
}

// DeliverServerSideEmit runs the OnServerSideEmit handlers of event: an
// adapter calls it with what another node sent (ack nil unless that node
// waits for an answer). It runs them on the calling goroutine.
func (n *Namespace) DeliverServerSideEmit(event string, args Args, ack Ack) {
	n.mu.RLock()
	hs := n.serverSideHandlers[event]
	n.mu.RUnlock()
	for _, h := range hs {
		h(args, ack)
	}
}

// serverSideReserved are the names ServerSideEmit refuses.
var serverSideReserved = map[string]bool{"connect": true, "connection": true, "new_namespace": true}

// ServerSideEmit sends an event to this namespace on the other nodes
// through the adapter (a no-op with the in-memory adapter).
func (n *Namespace) ServerSideEmit(event string, args ...any) error {
	if serverSideReserved[event] {
		return ErrReservedEvent
	}
	return n.adapter.ServerSideEmit(event, args)
}

// Socket returns the connected socket id of this namespace, or nil.
func (n *Namespace) Socket(id SocketID) *Socket {
	sh := &n.shards[maphash.String(n.seed, id)%socketShards]
	sh.mu.RLock()
	s := sh.t.Get(id)
	sh.mu.RUnlock()
	return s
}

// SocketCount is the number of connected sockets.
func (n *Namespace) SocketCount() int { return int(n.count.Load()) }

// EachSocket calls fn for every connected socket (a snapshot per shard;
// fn may do anything but must not block for long).
func (n *Namespace) EachSocket(fn func(*Socket) bool) {
	var buf []*Socket
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		buf = buf[:0]
		sh.t.All(func(s *Socket) bool {
			buf = append(buf, s)
			return true
		})
		sh.mu.RUnlock()
		for _, s := range buf {
			if !fn(s) {
				return
			}
		}
	}
}

// eachSocketLocked calls fn for every socket of the registry under its
// shards' read locks, one shard at a time, and endShard before each
// shard's lock is released (fn and endShard must not touch the registry).
func (n *Namespace) eachSocketLocked(fn func(*Socket), endShard func()) {
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.RLock()
		sh.t.All(func(s *Socket) bool {
			fn(s)
			return true
		})
		endShard()
		sh.mu.RUnlock()
	}
}

// cleanedUp reports whether n is a dynamic namespace removed once empty.
func (n *Namespace) cleanedUp() bool {
	return n.parent != nil && n.srv.opts.CleanupEmptyChildNamespaces
}

// attach adds a connecting socket, unless n is a dynamic namespace that was
// removed (it reports false: the caller connects to a new one). The check
// and the addition are one step against removeIfEmpty.
func (n *Namespace) attach(s *Socket) bool {
	if !n.cleanedUp() {
		n.addSocket(s)
		return true
	}
	n.srv.nspMu.RLock()
	defer n.srv.nspMu.RUnlock()
	if n.removed {
		return false
	}
	n.addSocket(s)
	return true
}

// removeIfEmpty removes n, a dynamic namespace of a server with
// CleanupEmptyChildNamespaces, if it has no socket: as the reference, its
// adapter is closed and the name is free for the next client (who gets a
// new namespace, through the parent).
func (n *Namespace) removeIfEmpty() {
	if !n.cleanedUp() {
		return
	}
	srv := n.srv
	srv.nspMu.Lock()
	if n.removed || n.count.Load() != 0 {
		srv.nspMu.Unlock()
		return
	}
	n.removed = true
	if srv.nsps[n.name] == n {
		delete(srv.nsps, n.name)
	}
	srv.nspMu.Unlock()
	n.parent.removeChild(n)
	if err := n.adapter.Close(); err != nil {
		srv.log.Error("sio: closing the adapter of an empty namespace", "nsp", n.name, "err", err)
	}
}

func (n *Namespace) addSocket(s *Socket) {
	sh := &n.shards[maphash.String(n.seed, s.id)%socketShards]
	sh.mu.Lock()
	sh.t.Put(s)
	sh.mu.Unlock()
	n.count.Add(1)
}

func (n *Namespace) removeSocket(s *Socket) {
	sh := &n.shards[maphash.String(n.seed, s.id)%socketShards]
	sh.mu.Lock()
	removed := sh.t.Delete(s)
	sh.mu.Unlock()
	if removed && n.count.Add(-1) == 0 {
		n.removeIfEmpty()
	}
}

func (n *Namespace) op() BroadcastOperator { return BroadcastOperator{nsp: n} }

// Emit broadcasts to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// To selects the sockets in rooms.
func (n *Namespace) To(rooms ...Room) BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...Room) BroadcastOperator { return n.op().To(rooms...) }

// Except excludes the sockets in rooms.
func (n *Namespace) Except(rooms ...Room) BroadcastOperator { return n.op().Except(rooms...) }

// Volatile marks the broadcast volatile.
func (n *Namespace) Volatile() BroadcastOperator { return n.op().Volatile() }

// Compress sets whether the broadcast may be compressed.
func (n *Namespace) Compress(c bool) BroadcastOperator { return n.op().Compress(c) }

// Local limits the broadcast to this node.
func (n *Namespace) Local() BroadcastOperator { return n.op().Local() }

// Timeout sets the acknowledgement timeout.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.op().Timeout(d) }

// FetchSockets describes every socket of the namespace.
func (n *Namespace) FetchSockets() ([]*RemoteSocket, error) { return n.op().FetchSockets() }

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(rooms ...Room) { n.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(rooms ...Room) { n.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket.
func (n *Namespace) DisconnectSockets(close bool) { n.op().DisconnectSockets(close) }

// AllSockets returns the ids of every socket (of the nodes the adapter
// knows).
func (n *Namespace) AllSockets() ([]SocketID, error) { return n.adapter.Sockets(nil) }
