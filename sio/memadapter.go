package sio

import (
	"hash/maphash"
	"sync"
	"time"
	"unsafe"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/prefetch"
)

const roomShards = 64

// InMemoryAdapter is the single-node Adapter: a room registry sharded by
// room hash (one RWMutex per shard, no global lock). A broadcast takes
// each target room's shard lock in read mode and writes the packet's
// prepared bytes to each member without allocating per member.
//
// Its members are the namespace's sockets themselves: each Socket carries
// the adapter's state of it (whether it joined, its rooms), and sockets
// are found by id through the namespace's registry, so the adapter keeps
// no registry of its own (~110 B per socket). One InMemoryAdapter serves
// one namespace (its Options.Adapter; a multi-node adapter embeds it):
// two over the same namespace would share that state.
//
// With connection state recovery enabled it also keeps the recent
// broadcasts and the sessions of disconnected sockets (see recovery.go).
type InMemoryAdapter struct {
	nsp   *Namespace
	seed  maphash.Seed
	rooms [roomShards]roomShard
	rec   *recoveryStore // nil unless recovery is enabled
	// listener hears of rooms created and deleted under the registry's
	// locks (cluster.go: what a multi-node adapter needs, in order);
	// events are the public listeners of the same changes, told after
	// them, outside the locks (events.go).
	listener RoomListener
	events   roomListeners
}

type roomShard struct {
	mu    sync.RWMutex
	rooms map[Room]*memberSet
}

// inRoomLocked reports whether s is in room r; s.mu must be held. The room
// named after the socket's id, which every socket joins, is not stored in
// the room registry: s.self says whether the socket is in it, and a
// broadcast to a room finds that socket through the namespace's registry.
// Keeping it out saves a map entry and a memberSet per socket.
func (s *Socket) inRoomLocked(r Room) bool {
	if r == s.id {
		return s.self
	}
	return s.rooms.has(r)
}

// appendRoomsLocked appends s's rooms to dst, its own first; s.mu must be
// held.
func (s *Socket) appendRoomsLocked(dst []Room) []Room {
	if s.self {
		dst = append(dst, s.id)
	}
	return s.rooms.appendTo(dst)
}

func (s *Socket) roomCountLocked() int {
	n := s.rooms.len()
	if s.self {
		n++
	}
	return n
}

// NewInMemoryAdapter returns the adapter of nsp.
func NewInMemoryAdapter(nsp *Namespace) *InMemoryAdapter {
	a := &InMemoryAdapter{nsp: nsp, seed: maphash.MakeSeed()}
	for i := range a.rooms {
		a.rooms[i].rooms = make(map[Room]*memberSet)
	}
	if r := nsp.srv.opts.ConnectionStateRecovery; r != nil {
		a.rec = newRecoveryStore(r.MaxDisconnectionDuration, &nsp.srv.offsets)
	}
	return a
}

// Init implements Adapter.
func (a *InMemoryAdapter) Init() error { return nil }

// Close implements Adapter.
func (a *InMemoryAdapter) Close() error { return nil }

// ServerCount implements Adapter: one node.
func (a *InMemoryAdapter) ServerCount() (int, error) { return 1, nil }

func (a *InMemoryAdapter) roomShard(r Room) *roomShard {
	return &a.rooms[maphash.String(a.seed, r)%roomShards]
}

// member returns the socket id if it is one of the adapter's members.
func (a *InMemoryAdapter) member(id SocketID) *Socket {
	s := a.nsp.Socket(id)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	joined := s.joined
	s.mu.Unlock()
	if !joined {
		return nil
	}
	return s
}

// AddAll implements Adapter. The socket must be connected to the namespace.
func (a *InMemoryAdapter) AddAll(id SocketID, rooms []Room) {
	m := a.nsp.Socket(id)
	if m == nil {
		return
	}
	m.mu.Lock()
	m.joined = true
	m.mu.Unlock()
	for _, r := range rooms {
		m.mu.Lock()
		if r == id {
			joined := !m.self
			m.self = true
			if joined {
				a.roomCreated(r)
			}
			m.mu.Unlock()
			if joined && a.events.any.Load() {
				a.fireJoin(r, id, !a.inRegistry(r))
			}
			continue
		}
		added := m.rooms.add(r)
		m.mu.Unlock()
		if !added {
			continue
		}
		rs := a.roomShard(r)
		rs.mu.Lock()
		set := rs.rooms[r]
		created := set == nil
		if created {
			set = &memberSet{}
			rs.rooms[r] = set
			a.roomCreated(r)
		}
		set.add(m)
		rs.mu.Unlock()
		if a.events.any.Load() {
			a.fireJoin(r, id, created && !a.isOwnRoom(r))
		}
	}
}

// inRegistry reports whether room r has members in the room registry
// (any room but the sockets' own).
func (a *InMemoryAdapter) inRegistry(r Room) bool {
	rs := a.roomShard(r)
	rs.mu.RLock()
	_, ok := rs.rooms[r]
	rs.mu.RUnlock()
	return ok
}

// isOwnRoom reports whether r is a connected socket's own room, with that
// socket in it.
func (a *InMemoryAdapter) isOwnRoom(r Room) bool {
	m := a.member(r)
	if m == nil {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self
}

// Del implements Adapter.
func (a *InMemoryAdapter) Del(id SocketID, room Room) {
	m := a.member(id)
	if m == nil {
		return
	}
	m.mu.Lock()
	if room == id {
		left := m.self
		if left {
			a.roomDeleted(room)
		}
		m.self = false
		m.mu.Unlock()
		if left && a.events.any.Load() {
			a.fireLeave(room, id, !a.inRegistry(room))
		}
		return
	}
	had := m.rooms.remove(room)
	m.mu.Unlock()
	if had {
		a.delFromRoom(m, room)
	}
}

// delFromRoom removes m from the registry's room r, and reports the event.
func (a *InMemoryAdapter) delFromRoom(m *Socket, r Room) {
	rs := a.roomShard(r)
	rs.mu.Lock()
	deleted := false
	if set := rs.rooms[r]; set != nil && set.remove(m) {
		delete(rs.rooms, r)
		deleted = true
		a.roomDeleted(r)
	}
	rs.mu.Unlock()
	if a.events.any.Load() {
		a.fireLeave(r, m.id, deleted && !a.isOwnRoom(r))
	}
}

// DelAll implements Adapter.
func (a *InMemoryAdapter) DelAll(id SocketID) {
	m := a.nsp.Socket(id)
	if m == nil {
		return
	}
	m.mu.Lock()
	if !m.joined {
		m.mu.Unlock()
		return
	}
	rooms := m.rooms.appendTo(make([]Room, 0, m.rooms.len()))
	m.rooms.reset()
	self := m.self
	if self {
		a.roomDeleted(id)
	}
	m.self = false
	m.joined = false
	m.mu.Unlock()
	if self && a.events.any.Load() {
		a.fireLeave(id, id, !a.inRegistry(id))
	}
	for _, r := range rooms {
		a.delFromRoom(m, r)
	}
}

// SocketRooms implements Adapter.
func (a *InMemoryAdapter) SocketRooms(id SocketID) []Room {
	m := a.member(id)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appendRoomsLocked(make([]Room, 0, m.roomCountLocked()))
}

// inAny reports whether s is in one of rooms.
func (s *Socket) inAny(rooms []Room) bool {
	if len(rooms) == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rooms {
		if s.inRoomLocked(r) {
			return true
		}
	}
	return false
}

// visitor is called for each selected member, under a shard's read lock:
// it must not call back into the adapter.
type visitor interface {
	visit(m *Socket)
	// flush ends a run of visits made under one lock: a visitor that
	// batches its work (sender) finishes it before the lock is released.
	flush()
}

// apply calls v for each member selected by opts, once each: members of
// any of opts.Rooms (all members when empty) not in opts.Except. A member
// in several target rooms is visited for the first of them only (checked
// against its own room set, so concurrent broadcasts don't interfere).
func (a *InMemoryAdapter) apply(opts *BroadcastOptions, v visitor) {
	if len(opts.Rooms) == 0 {
		a.nsp.eachSocketLocked(func(m *Socket) {
			m.mu.Lock()
			joined := m.joined
			m.mu.Unlock()
			if joined && !m.inAny(opts.Except) {
				v.visit(m)
			}
		}, v.flush)
		return
	}
	for i, r := range opts.Rooms {
		consider := func(m *Socket) {
			if i > 0 && m.inAny(opts.Rooms[:i]) {
				return
			}
			if !m.inAny(opts.Except) {
				v.visit(m)
			}
		}
		rs := a.roomShard(r)
		rs.mu.RLock()
		if set := rs.rooms[r]; set != nil {
			if set.many == nil {
				if set.one != nil {
					consider(set.one)
				}
			} else {
				for m := range set.many {
					consider(m)
				}
			}
		}
		v.flush()
		rs.mu.RUnlock()
		// The socket whose own room r is (see inRoomLocked).
		if m := a.nsp.Socket(r); m != nil {
			m.mu.Lock()
			self := m.self && m.joined
			m.mu.Unlock()
			if self {
				consider(m)
				v.flush()
			}
		}
	}
}

// collect returns the selected sockets (for the operations that call user
// code or the adapter again, which must not run under a shard lock).
func (a *InMemoryAdapter) collect(opts *BroadcastOptions) []*Socket {
	c := &collector{}
	a.apply(opts, c)
	return c.out
}

type collector struct{ out []*Socket }

func (c *collector) visit(m *Socket) {
	if m.Connected() {
		c.out = append(c.out, m)
	}
}

func (c *collector) flush() {}

// sender writes one prepared packet to each member it visits.
type sender struct {
	p        *Packet
	volatile bool
	compress bool
	ack      func(Args, error)
	count    int // members the broadcast expects an answer from (with ack)
	sent     int // members it was queued for

	// Members are sent to in the order visited, a few visits behind, and
	// each visit asks the CPU for the memory the next steps of the members
	// in between will read (package prefetch): a member's socket at its
	// visit, its client hintStep visits later, then its engine session,
	// then its connection, and hintStep visits after that it is sent to.
	// At 1,000 subscribers a delivery read five or six cache lines that
	// the kernel's writes to the other members had evicted, one after the
	// other, each miss ~100 ns: most of a delivery's user CPU. Hints all
	// issued at once for a batch stalled on the CPU's few outstanding-miss
	// slots (BENCHMARKS.md, issue 14 round 5).
	ring [senderRing]*Socket
	n    int // members visited
	done int // of those, the first done have been sent to

	// fan wakes the members' event loops once per flush, not once per
	// member (engine.Fanout).
	fan engine.Fanout
}

// Senders are pooled for their Fanout's lists.
var senders = sync.Pool{New: func() any { return new(sender) }}

// release pools x; its members have been sent to (flush).
func (x *sender) release() {
	x.p, x.ack = nil, nil
	x.count, x.sent = 0, 0
	senders.Put(x)
}

const (
	// hintStep is the visits between two steps of one member.
	hintStep = 3
	// senderRing holds the members between their visit and their send.
	senderRing = 16
	// A member stays in the ring for 4*hintStep visits: it must fit.
	_ = uint(senderRing - 4*hintStep - 1)
)

func (x *sender) visit(m *Socket) {
	x.ring[x.n%senderRing] = m
	x.n++
	x.advance(x.n - 1)
}

// flush sends to the members visited and not yet sent to.
func (x *sender) flush() {
	for k := x.n; x.done < x.n; k++ {
		x.advance(k)
	}
	x.n, x.done = 0, 0
	x.fan.Flush()
}

// advance takes the steps due at the k-th visit (past the visited members
// while flushing): the hints for members k, k-hintStep... and the send of
// member k-4*hintStep.
func (x *sender) advance(k int) {
	if k < x.n {
		m := x.ring[k%senderRing]
		prefetch.Object(unsafe.Pointer(m), unsafe.Offsetof(m.id))
	}
	if j := k - hintStep; j >= x.done && j < x.n {
		m := x.ring[j%senderRing]
		prefetch.Object(unsafe.Pointer(m.c), unsafe.Offsetof(m.c.mb))
	}
	if j := k - 2*hintStep; j >= x.done && j < x.n {
		if es, ok := x.ring[j%senderRing].c.sess.(engineSession); ok {
			es.Prefetch()
		}
	}
	if j := k - 3*hintStep; j >= x.done && j < x.n {
		if es, ok := x.ring[j%senderRing].c.sess.(engineSession); ok {
			es.PrefetchConn()
		}
	}
	if j := k - 4*hintStep; j >= x.done && j < x.n {
		m := x.ring[j%senderRing]
		x.ring[j%senderRing] = nil
		x.done = j + 1
		x.send(m)
	}
}

func (x *sender) send(s *Socket) {
	if !s.Connected() {
		return
	}
	if x.volatile {
		if x.ack == nil {
			if s.c.sess.SendVolatile(x.p, s.c.srv.parser, x.compress, &x.fan) {
				x.sent++
			}
			return
		}
		if !s.c.sess.Writable() {
			return // with an acknowledgement, only the clients that can take it now are asked
		}
	}
	if x.ack != nil {
		// A member is counted once its entry is registered: from then on
		// it answers, or its disconnection fails the entry (also when the
		// send below fails: that closes the session).
		if !s.registerBroadcastAck(x.p.ID, x.ack) {
			return
		}
		x.count++
	}
	if s.c.sendShared(x.p, x.compress, &x.fan) == nil {
		x.sent++
	}
}

// Broadcast implements Adapter: the packet is encoded once
// (engine.NewPrepared) and the same bytes are queued on every member.
//
// With connection state recovery, a recorded broadcast is recorded and
// delivered as one step against a socket being restored (restoreInto):
// the socket gets each broadcast once, among its missed packets or live,
// never neither and never both.
func (a *InMemoryAdapter) Broadcast(p *Packet, opts *BroadcastOptions) error {
	if a.rec != nil && p.Type == PacketEvent && p.ID < 0 && !opts.Flags.Volatile {
		a.rec.gate.RLock()
		p = a.rec.record(p, opts)
		_, notify := a.send(p, opts, nil)
		a.rec.gate.RUnlock()
		notifyOutgoing(notify, p)
		return nil
	}
	a.deliver(p, opts, nil)
	return nil
}

func (a *InMemoryAdapter) deliver(p *Packet, opts *BroadcastOptions, ack func(Args, error)) int {
	n, notify := a.send(p, opts, ack)
	notifyOutgoing(notify, p)
	return n
}

// send writes p to the members opts selects; it returns how many are
// expected to answer (with ack) and, when the namespace has outgoing
// listeners, the sockets to tell (they are user code: the caller calls
// them outside any lock).
func (a *InMemoryAdapter) send(p *Packet, opts *BroadcastOptions, ack func(Args, error)) (int, []*Socket) {
	x := senders.Get().(*sender)
	x.p, x.volatile, x.compress, x.ack = p, opts.Flags.Volatile, !opts.Flags.NoCompress, ack
	defer x.release()
	var socks []*Socket
	if a.nsp.outHook.Load() > 0 {
		socks = a.collect(opts)
		for _, s := range socks {
			x.visit(s)
		}
		x.flush()
	} else {
		a.apply(opts, x)
	}
	cell := a.nsp.srv.stats.randomCell()
	cell.broadcasts.Add(1)
	cell.deliveries.Add(uint64(x.sent))
	return x.count, socks
}

func notifyOutgoing(socks []*Socket, p *Packet) {
	for _, s := range socks {
		s.notifyOutgoing(p)
	}
}

// restoreInto makes a recovered socket a member of its rooms, answers its
// CONNECT (ack), then sends the broadcasts it missed after offset, as one
// step against Broadcast: nothing recorded meanwhile is lost or doubled.
// (The missed packets RestoreSession returned are computed again here:
// middleware ran in between.)
//
// The missed packets follow the CONNECT answer; the reference sends them
// before it. socket.io-client keeps packets that come before the answer
// in a buffer that survives a failed attempt: cut between the two, a
// client got the replay of the next attempt on top of the first one's
// (measured: 1 duplicate among 1,000 clients cut ~10 times each).
func (a *InMemoryAdapter) restoreInto(s *Socket, rooms []Room, offset string, ack func()) {
	a.rec.gate.Lock()
	defer a.rec.gate.Unlock()
	s.Join(rooms...)
	ack()
	for _, mp := range a.rec.missedSince(rooms, offset) {
		_ = s.c.send(mp, false)
	}
}

// BroadcastWithAck implements Adapter.
func (a *InMemoryAdapter) BroadcastWithAck(p *Packet, opts *BroadcastOptions, clientCount func(int), ack func(Args, error)) error {
	n := a.deliver(p, opts, ack)
	clientCount(n)
	return nil
}

// Sockets implements Adapter.
func (a *InMemoryAdapter) Sockets(rooms []Room) ([]SocketID, error) {
	socks := a.collect(&BroadcastOptions{Rooms: rooms})
	out := make([]SocketID, len(socks))
	for i, s := range socks {
		out[i] = s.id
	}
	return out, nil
}

// FetchSockets implements Adapter.
func (a *InMemoryAdapter) FetchSockets(opts *BroadcastOptions) ([]SocketDetails, error) {
	socks := a.collect(opts)
	out := make([]SocketDetails, len(socks))
	for i, s := range socks {
		out[i] = SocketDetails{ID: s.id, Handshake: s.Handshake().Full(), Rooms: s.Rooms(), Data: s.Data(), Local: s}
	}
	return out, nil
}

// AddSockets implements Adapter.
func (a *InMemoryAdapter) AddSockets(opts *BroadcastOptions, rooms []Room) {
	for _, s := range a.collect(opts) {
		s.Join(rooms...)
	}
}

// DelSockets implements Adapter.
func (a *InMemoryAdapter) DelSockets(opts *BroadcastOptions, rooms []Room) {
	for _, s := range a.collect(opts) {
		s.Leave(rooms...)
	}
}

// DisconnectSockets implements Adapter.
func (a *InMemoryAdapter) DisconnectSockets(opts *BroadcastOptions, close bool) {
	for _, s := range a.collect(opts) {
		s.Disconnect(close)
	}
}

// ServerSideEmit implements Adapter: there is no other node.
func (a *InMemoryAdapter) ServerSideEmit(event string, args []any) error { return nil }

// PersistSession implements Adapter.
func (a *InMemoryAdapter) PersistSession(s *PersistedSession) {
	if a.rec != nil {
		a.rec.persist(s)
	}
}

// RestoreSession implements Adapter.
func (a *InMemoryAdapter) RestoreSession(pid, offset string) (*RestoredSession, error) {
	if a.rec == nil {
		return nil, nil
	}
	return a.rec.restore(pid, offset, time.Now()), nil
}
