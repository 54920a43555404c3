package sio

import (
	"hash/maphash"
	"sync"
	"time"
)

const roomShards = 64

// InMemoryAdapter is the single-node Adapter: a room registry sharded by
// room hash (one RWMutex per shard, no global lock), and a member registry
// sharded by socket id. A broadcast takes each target room's shard lock in
// read mode and writes the packet's prepared bytes to each member without
// allocating per member.
//
// With connection state recovery enabled it also keeps the recent
// broadcasts and the sessions of disconnected sockets (see recovery.go).
//
// Multi-node adapters embed it for the local part.
type InMemoryAdapter struct {
	nsp     *Namespace
	seed    maphash.Seed
	rooms   [roomShards]roomShard
	members [socketShards]memberShard
	rec     *recoveryStore // nil unless recovery is enabled
}

type roomShard struct {
	mu    sync.RWMutex
	rooms map[Room]*memberSet
}

type memberShard struct {
	mu sync.RWMutex
	m  map[SocketID]*member
}

// member is a socket as the adapter knows it, with its rooms. The room
// named after the socket's id, which every socket joins, is not stored in
// the room registry: self says whether the socket is in it, and a broadcast
// to a room finds that member through the member registry. Keeping it out
// saves a map entry and a memberSet per socket.
type member struct {
	s     *Socket
	mu    sync.Mutex
	self  bool // in its own room (mu)
	rooms roomSet
}

// hasLocked reports whether m is in room r; m.mu must be held.
func (m *member) hasLocked(r Room) bool {
	if r == m.s.id {
		return m.self
	}
	return m.rooms.has(r)
}

// appendRoomsLocked appends m's rooms to dst, its own first; m.mu must be
// held.
func (m *member) appendRoomsLocked(dst []Room) []Room {
	if m.self {
		dst = append(dst, m.s.id)
	}
	return m.rooms.appendTo(dst)
}

func (m *member) roomCountLocked() int {
	n := m.rooms.len()
	if m.self {
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
	for i := range a.members {
		a.members[i].m = make(map[SocketID]*member)
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

func (a *InMemoryAdapter) memberShard(id SocketID) *memberShard {
	return &a.members[maphash.String(a.seed, id)%socketShards]
}

func (a *InMemoryAdapter) member(id SocketID) *member {
	sh := a.memberShard(id)
	sh.mu.RLock()
	m := sh.m[id]
	sh.mu.RUnlock()
	return m
}

// AddAll implements Adapter. The socket must be connected to the namespace.
func (a *InMemoryAdapter) AddAll(id SocketID, rooms []Room) {
	sh := a.memberShard(id)
	sh.mu.Lock()
	m := sh.m[id]
	if m == nil {
		s := a.nsp.Socket(id)
		if s == nil {
			sh.mu.Unlock()
			return
		}
		m = &member{s: s}
		sh.m[id] = m
	}
	sh.mu.Unlock()
	for _, r := range rooms {
		m.mu.Lock()
		if r == id {
			m.self = true
			m.mu.Unlock()
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
		if set == nil {
			set = &memberSet{}
			rs.rooms[r] = set
		}
		set.add(m)
		rs.mu.Unlock()
	}
}

// Del implements Adapter.
func (a *InMemoryAdapter) Del(id SocketID, room Room) {
	m := a.member(id)
	if m == nil {
		return
	}
	m.mu.Lock()
	if room == id {
		m.self = false
		m.mu.Unlock()
		return
	}
	had := m.rooms.remove(room)
	m.mu.Unlock()
	if had {
		a.delFromRoom(m, room)
	}
}

func (a *InMemoryAdapter) delFromRoom(m *member, r Room) {
	rs := a.roomShard(r)
	rs.mu.Lock()
	if set := rs.rooms[r]; set != nil && set.remove(m) {
		delete(rs.rooms, r)
	}
	rs.mu.Unlock()
}

// DelAll implements Adapter.
func (a *InMemoryAdapter) DelAll(id SocketID) {
	sh := a.memberShard(id)
	sh.mu.Lock()
	m := sh.m[id]
	delete(sh.m, id)
	sh.mu.Unlock()
	if m == nil {
		return
	}
	m.mu.Lock()
	rooms := m.rooms.appendTo(make([]Room, 0, m.rooms.len()))
	m.rooms.reset()
	m.self = false
	m.mu.Unlock()
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

// inAny reports whether m is in one of rooms.
func (m *member) inAny(rooms []Room) bool {
	if len(rooms) == 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rooms {
		if m.hasLocked(r) {
			return true
		}
	}
	return false
}

// visitor is called for each selected member, under a shard's read lock:
// it must not call back into the adapter.
type visitor interface{ visit(m *member) }

// apply calls v for each member selected by opts, once each: members of
// any of opts.Rooms (all members when empty) not in opts.Except. A member
// in several target rooms is visited for the first of them only (checked
// against its own room set, so concurrent broadcasts don't interfere).
func (a *InMemoryAdapter) apply(opts *BroadcastOptions, v visitor) {
	if len(opts.Rooms) == 0 {
		for i := range a.members {
			sh := &a.members[i]
			sh.mu.RLock()
			for _, m := range sh.m {
				if !m.inAny(opts.Except) {
					v.visit(m)
				}
			}
			sh.mu.RUnlock()
		}
		return
	}
	for i, r := range opts.Rooms {
		rs := a.roomShard(r)
		consider := func(m *member) {
			if i > 0 && m.inAny(opts.Rooms[:i]) {
				return
			}
			if !m.inAny(opts.Except) {
				v.visit(m)
			}
		}
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
		rs.mu.RUnlock()
		// The socket whose own room r is (see member).
		sh := a.memberShard(r)
		sh.mu.RLock()
		if m := sh.m[r]; m != nil {
			m.mu.Lock()
			self := m.self
			m.mu.Unlock()
			if self {
				consider(m)
			}
		}
		sh.mu.RUnlock()
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

func (c *collector) visit(m *member) {
	if m.s.Connected() {
		c.out = append(c.out, m.s)
	}
}

// sender writes one prepared packet to each member it visits.
type sender struct {
	p        *Packet
	volatile bool
	compress bool
	ack      func(Args, error)
	count    int // members the broadcast expects an answer from (with ack)
}

func (x *sender) visit(m *member) { x.send(m.s) }

func (x *sender) send(s *Socket) {
	if !s.Connected() {
		return
	}
	if x.volatile && !s.c.sess.Writable() {
		return
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
	_ = s.c.sess.SendShared(x.p, x.compress)
}

// Broadcast implements Adapter: the packet is encoded once
// (engine.NewPrepared) and the same bytes are queued on every member.
func (a *InMemoryAdapter) Broadcast(p *Packet, opts *BroadcastOptions) error {
	if a.rec != nil && p.Type == PacketEvent && p.ID < 0 && !opts.Flags.Volatile {
		p = a.rec.record(p, opts)
	}
	a.deliver(p, opts, nil)
	return nil
}

func (a *InMemoryAdapter) deliver(p *Packet, opts *BroadcastOptions, ack func(Args, error)) int {
	x := &sender{p: p, volatile: opts.Flags.Volatile, compress: !opts.Flags.NoCompress, ack: ack}
	if a.nsp.outHook.Load() > 0 {
		// Outgoing listeners are user code: call them outside the locks.
		socks := a.collect(opts)
		for _, s := range socks {
			x.send(s)
			s.notifyOutgoing(p)
		}
		return x.count
	}
	a.apply(opts, x)
	return x.count
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
