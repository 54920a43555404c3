package sio

import (
	"sync"
	"unsafe"
)

// listeners is a socket's On and OnDisconnect handlers: an immutable list,
// replaced by a longer one at each registration. Sockets that register the
// same func values in the same order share their lists, so that handlers
// registered in a connection handler (which nearly every application does,
// for every socket) cost an idle socket 8 bytes instead of ~24 per handler.
//
// The shared lists of a namespace form a tree rooted at Namespace.lists:
// a list's children are the lists one registration away. A registration is
// shared the second time it is seen from the same list (the first time
// only its key is noted, which keeps nothing alive: one-off closures are
// never retained by the tree), and the tree is bounded (maxChildren per
// list, maxSharedLists per namespace); past the bounds, and for closures
// made per socket, a socket grows a list of its own.
type listeners struct {
	events        []eventHandler
	disconnecting []reasonHandler
	disconnect    []reasonHandler
	// next is the number the next registration gets: registrations are
	// numbered in the order a socket made them (removed ones included),
	// so that a remover finds its own, and the three lists run in one
	// registration order. Sockets that share a list made the same
	// registrations, so the numbers are the same for all of them.
	next uint32
	// node is set on shared lists only (whose slices are full: len == cap,
	// so an append to one always copies).
	node *listNode
}

// reasonHandler is one OnDisconnecting or OnDisconnect registration.
type reasonHandler struct {
	fn func(*Socket, DisconnectReason)
	id uint32
}

// The kinds of registration a listenerKey tells apart.
const (
	kindEvent uint8 = iota
	kindDisconnecting
	kindDisconnect
)

// listNode is a shared list's place in the tree (listTree.mu).
type listNode struct {
	children []sharedChild
	seen     *[seenKeys]listenerKey // registrations seen once from here, a ring
	seenNext uint8
}

// sharedChild is a shared list and the registration that leads to it.
type sharedChild struct {
	key listenerKey
	l   *listeners
}

// listenerKey identifies a registration: its kind (an event handler, a
// disconnecting or a disconnect handler), the event and the func value, by its address (a func value is a pointer
// to its closure, or to a static one for a function without captures).
// A key kept in a seen ring holds only that address: it keeps nothing
// alive, and a later func value at a reused address is only ever shared
// from the second time it is registered, with itself.
type listenerKey struct {
	event string
	fn    uintptr
	kind  uint8
}

const (
	seenKeys       = 8
	maxChildren    = 8
	maxSharedLists = 1024
)

// funcAddr is the identity of a func value: the address of its closure.
func funcAddr[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }

// listTree is the namespace's part: the root list and the lock of the tree.
type listTree struct {
	mu    sync.Mutex
	root  listeners // empty, shared (its node is set by newNamespace)
	count int       // shared lists
}

// extend returns cur (nil: no handlers yet) with one more registration,
// made by add on a copy (add appends one entry numbered l.next; extend
// then counts it): a shared list when one exists or can be made for key,
// otherwise a list of the socket's own.
func (n *Namespace) extend(cur *listeners, key listenerKey, add func(*listeners)) *listeners {
	t := &n.lists
	if cur == nil {
		cur = &t.root
	}
	if cur.node != nil {
		t.mu.Lock()
		l := t.shareLocked(cur, key, add)
		t.mu.Unlock()
		if l != nil {
			return l
		}
	}
	// A list of the socket's own: a new struct (readers hold the old one)
	// whose slices may grow in place (the old one's length bounds what its
	// readers see; a shared list's slices are full, so they are copied).
	return withAdded(cur.copy(), add)
}

// copy is a new list of cur's own with cur's registrations.
func (cur *listeners) copy() *listeners {
	return &listeners{events: cur.events, disconnecting: cur.disconnecting, disconnect: cur.disconnect, next: cur.next}
}

// without returns a list of the socket's own holding cur's registrations
// but those keep drops (cur stays as it is: other sockets may share it,
// and readers may hold it).
func (cur *listeners) without(dropEvent func(eventHandler) bool, dropReason func(reasonHandler) bool) *listeners {
	l := &listeners{next: cur.next}
	for _, e := range cur.events {
		if !dropEvent(e) {
			l.events = append(l.events, e)
		}
	}
	for _, r := range cur.disconnecting {
		if !dropReason(r) {
			l.disconnecting = append(l.disconnecting, r)
		}
	}
	for _, r := range cur.disconnect {
		if !dropReason(r) {
			l.disconnect = append(l.disconnect, r)
		}
	}
	return l
}

// shareLocked returns the shared child of cur for key, making it if key
// was seen from cur before and the tree has room; nil otherwise.
func (t *listTree) shareLocked(cur *listeners, key listenerKey, add func(*listeners)) *listeners {
	node := cur.node
	for _, c := range node.children {
		if c.key == key {
			return c.l
		}
	}
	if node.seen != nil {
		for i, k := range node.seen {
			if k != key {
				continue
			}
			node.seen[i] = listenerKey{}
			if len(node.children) >= maxChildren || t.count >= maxSharedLists {
				return nil
			}
			l := withAdded(cur.copy(), add)
			l.events = l.events[:len(l.events):len(l.events)]
			l.disconnecting = l.disconnecting[:len(l.disconnecting):len(l.disconnecting)]
			l.disconnect = l.disconnect[:len(l.disconnect):len(l.disconnect)]
			l.node = &listNode{}
			node.children = append(node.children, sharedChild{key, l})
			t.count++
			return l
		}
	} else {
		node.seen = new([seenKeys]listenerKey)
	}
	node.seen[node.seenNext%seenKeys] = key
	node.seenNext++
	return nil
}

func withAdded(l *listeners, add func(*listeners)) *listeners {
	add(l)
	l.next++
	return l
}
