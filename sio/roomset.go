package sio

// memberSet is a room's members. Many rooms have one member: it is kept
// without a map.
type memberSet struct {
	one  *Socket
	many map[*Socket]struct{}
}

func (ms *memberSet) add(m *Socket) {
	switch {
	case ms.many != nil:
		ms.many[m] = struct{}{}
	case ms.one == nil || ms.one == m:
		ms.one = m
	default:
		ms.many = map[*Socket]struct{}{ms.one: {}, m: {}}
		ms.one = nil
	}
}

// remove reports whether the set is empty afterwards.
func (ms *memberSet) remove(m *Socket) bool {
	if ms.many != nil {
		delete(ms.many, m)
		return len(ms.many) == 0
	}
	if ms.one == m {
		ms.one = nil
	}
	return ms.one == nil
}

// roomSet is a socket's rooms: a short slice for the usual handful (an idle
// socket is in one, its own), a map past smallRoomSet. A map per socket
// would cost ~200 B even for that one room.
type roomSet struct {
	list []Room
	m    map[Room]struct{}
}

const smallRoomSet = 8

func (rs *roomSet) has(r Room) bool {
	if rs.m != nil {
		_, ok := rs.m[r]
		return ok
	}
	for _, x := range rs.list {
		if x == r {
			return true
		}
	}
	return false
}

// add reports whether r was not there yet.
func (rs *roomSet) add(r Room) bool {
	if rs.has(r) {
		return false
	}
	if rs.m != nil {
		rs.m[r] = struct{}{}
		return true
	}
	if len(rs.list) < smallRoomSet {
		rs.list = append(rs.list, r)
		return true
	}
	rs.m = make(map[Room]struct{}, 2*smallRoomSet)
	for _, x := range rs.list {
		rs.m[x] = struct{}{}
	}
	rs.m[r] = struct{}{}
	rs.list = nil
	return true
}

// remove reports whether r was there.
func (rs *roomSet) remove(r Room) bool {
	if rs.m != nil {
		_, ok := rs.m[r]
		delete(rs.m, r)
		return ok
	}
	for i, x := range rs.list {
		if x == r {
			rs.list = append(rs.list[:i], rs.list[i+1:]...)
			return true
		}
	}
	return false
}

func (rs *roomSet) len() int {
	if rs.m != nil {
		return len(rs.m)
	}
	return len(rs.list)
}

// appendTo appends the rooms to dst.
func (rs *roomSet) appendTo(dst []Room) []Room {
	if rs.m != nil {
		for r := range rs.m {
			dst = append(dst, r)
		}
		return dst
	}
	return append(dst, rs.list...)
}

func (rs *roomSet) reset() { *rs = roomSet{} }
