package sio

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...Room) {
	if !s.Connected() || len(rooms) == 0 {
		return
	}
	s.nsp.adapter.AddAll(s.id, rooms)
}

// joinOwnRoom is Join(s.id) without its garbage: the one-room slice
// escapes through the Adapter interface (16 B per connect), but not into
// the in-memory adapter.
func (s *Socket) joinOwnRoom() {
	if a, ok := s.nsp.adapter.(*InMemoryAdapter); ok {
		own := [1]Room{s.id}
		a.AddAll(s.id, own[:])
		return
	}
	s.Join(s.id)
}

// Leave removes the socket from rooms.
func (s *Socket) Leave(rooms ...Room) {
	for _, r := range rooms {
		s.nsp.adapter.Del(s.id, r)
	}
}

// Rooms returns the rooms the socket is in (its own id included).
func (s *Socket) Rooms() []Room { return s.nsp.adapter.SocketRooms(s.id) }

// To selects rooms for a broadcast that excludes this socket.
func (s *Socket) To(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...Room) BroadcastOperator { return s.Broadcast().To(rooms...) }

// Except excludes rooms from a broadcast that excludes this socket.
func (s *Socket) Except(rooms ...Room) BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Broadcast is a broadcast to the namespace that excludes this socket.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []Room{s.id}}
}

// Local is Broadcast limited to this node.
func (s *Socket) Local() BroadcastOperator { return s.Broadcast().Local() }
