package sio

import (
	"sync"
	"sync/atomic"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/pool"
)

// The reference server's events that are not a client's: the adapter's
// "create-room", "delete-room", "join-room" and "leave-room", the server's
// "new_namespace", and a connection's "upgrade". Listeners are kept in
// copy-on-write slices behind an atomic pointer: the paths that fire them
// pay one atomic load when there are none.

// hookList is a copy-on-write list of listeners of one event.
type hookList[F any] struct {
	mu   sync.Mutex // serializes changes
	list atomic.Pointer[[]hookEntry[F]]
	next uint64
}

type hookEntry[F any] struct {
	id uint64
	fn F
}

// add appends fn and returns what removes it.
func (l *hookList[F]) add(fn F) (remove func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	id := l.next
	var next []hookEntry[F]
	if cur := l.list.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, hookEntry[F]{id, fn})
	l.list.Store(&next)
	var once sync.Once
	return func() { once.Do(func() { l.remove(id) }) }
}

func (l *hookList[F]) remove(id uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.list.Load()
	if cur == nil {
		return
	}
	next := make([]hookEntry[F], 0, len(*cur))
	for _, x := range *cur {
		if x.id != id {
			next = append(next, x)
		}
	}
	if len(next) == 0 {
		l.list.Store(nil)
		return
	}
	l.list.Store(&next)
}

// load returns the listeners now (nil when there are none).
func (l *hookList[F]) load() []hookEntry[F] {
	if cur := l.list.Load(); cur != nil {
		return *cur
	}
	return nil
}

// roomListeners are an InMemoryAdapter's listeners.
type roomListeners struct {
	create hookList[func(Room)]
	del    hookList[func(Room)]
	join   hookList[func(Room, SocketID)]
	leave  hookList[func(Room, SocketID)]
	any    atomic.Bool // some listener was ever added: the fast path checks only this
}

// OnCreateRoom adds fn, called when a room gets its first member on this
// node: the reference adapter's "create-room" event. Every socket's own
// room counts (it is created when the socket connects). It returns what
// removes fn.
//
// Room listeners run on the goroutine that changed the rooms (a handler's,
// usually), after the change and outside the adapter's locks, so they may
// call the adapter, join, leave and broadcast. (A multi-node adapter that
// must see creations and deletions in order, under the lock, uses
// SetRoomListener: the same changes, the same decisions.) They must not block long:
// they hold up that goroutine. For one socket and room, the events come in
// the order of the changes; changes of one room made at the same time by
// different goroutines may be reported in either order.
func (a *InMemoryAdapter) OnCreateRoom(fn func(room Room)) (remove func()) {
	a.events.any.Store(true)
	return a.events.create.add(fn)
}

// OnDeleteRoom adds fn, called when a room loses its last member on this
// node ("delete-room"), after the member's OnLeaveRoom.
func (a *InMemoryAdapter) OnDeleteRoom(fn func(room Room)) (remove func()) {
	a.events.any.Store(true)
	return a.events.del.add(fn)
}

// OnJoinRoom adds fn, called when socket id joins room ("join-room"),
// after the room's OnCreateRoom if it is new. Joining a room the socket is
// in already calls nothing.
func (a *InMemoryAdapter) OnJoinRoom(fn func(room Room, id SocketID)) (remove func()) {
	a.events.any.Store(true)
	return a.events.join.add(fn)
}

// OnLeaveRoom adds fn, called when socket id leaves room ("leave-room"),
// also when it disconnects (for each of its rooms, its own included).
func (a *InMemoryAdapter) OnLeaveRoom(fn func(room Room, id SocketID)) (remove func()) {
	a.events.any.Store(true)
	return a.events.leave.add(fn)
}

func (a *InMemoryAdapter) fireJoin(r Room, id SocketID, created bool) {
	if created {
		for _, l := range a.events.create.load() {
			l.fn(r)
		}
	}
	for _, l := range a.events.join.load() {
		l.fn(r, id)
	}
}

func (a *InMemoryAdapter) fireLeave(r Room, id SocketID, deleted bool) {
	for _, l := range a.events.leave.load() {
		l.fn(r, id)
	}
	if deleted {
		for _, l := range a.events.del.load() {
			l.fn(r)
		}
	}
}

// RoomEventSource is implemented by adapters that report room events:
// InMemoryAdapter, and multi-node adapters through the InMemoryAdapter
// they embed (their local part: the events are this node's).
type RoomEventSource interface {
	OnCreateRoom(fn func(room Room)) (remove func())
	OnDeleteRoom(fn func(room Room)) (remove func())
	OnJoinRoom(fn func(room Room, id SocketID)) (remove func())
	OnLeaveRoom(fn func(room Room, id SocketID)) (remove func())
}

// OnNewNamespace adds fn, called once for each namespace created after it
// was added — by Of, or by a dynamic namespace's first connection — the
// reference's "new_namespace" event. It runs on the goroutine that created
// the namespace, after the namespace was registered and before Of returns
// it (or before the connection goes on). It returns what removes fn.
func (s *Server) OnNewNamespace(fn func(n *Namespace)) (remove func()) {
	return s.newNsp.add(fn)
}

func (s *Server) fireNewNamespace(n *Namespace) {
	for _, l := range s.newNsp.load() {
		l.fn(n)
	}
}

// PrependOnConnection adds a connection handler that runs before those
// added with OnConnection (the reference's
// namespace.prependListener("connection")): instrumentation that must see
// a socket before the application's handlers do.
func (n *Namespace) PrependOnConnection(fn func(*Socket)) *Namespace {
	n.mu.Lock()
	n.onConnection = append([]func(*Socket){fn}, n.onConnection...)
	n.mu.Unlock()
	return n
}

// OnUpgrade adds fn, called when the socket's connection moves to another
// transport (from polling to "websocket": the reference's
// socket.conn.on("upgrade")). It runs on the socket's mailbox, like its
// event handlers.
func (s *Socket) OnUpgrade(fn func(s *Socket, transport string)) *Socket {
	s.mu.Lock()
	x := s.hooksLocked()
	x.onUpgrade = append(x.onUpgrade, fn)
	s.mu.Unlock()
	return s
}

// OnUpgrading implements engine.UpgradeHandler.
func (c *client) OnUpgrading(*engine.Session, string) {}

// OnUpgrade implements engine.UpgradeHandler: the sockets' OnUpgrade
// listeners are queued on the mailbox.
func (c *client) OnUpgrade(_ *engine.Session, transport string) {
	socks := c.socketList()
	for _, s := range socks {
		s.mu.Lock()
		var fns []func(*Socket, string)
		if s.hooks != nil {
			fns = s.hooks.onUpgrade
		}
		s.mu.Unlock()
		if len(fns) == 0 {
			continue
		}
		_ = c.mb.ForceSubmit(pool.TaskFunc(func() {
			for _, fn := range fns {
				fn(s, transport)
			}
		}))
	}
}
