package idtable

import "hash/maphash"

// Table is a set of *T, each found by the key keyOf gives it. The zero
// Table is not usable: call New. A Table is not safe for concurrent use.
type Table[T any] struct {
	keyOf func(*T) string
	seed  maphash.Seed
	slots []*T // nil, or a power-of-two number of slots
	n     int
}

const minSlots = 8

// New returns an empty table whose elements' keys keyOf gives; keyOf must
// return the same key for an element for as long as it is in the table.
func New[T any](keyOf func(*T) string) *Table[T] {
	return &Table[T]{keyOf: keyOf, seed: maphash.MakeSeed()}
}

// Len is the number of elements.
func (t *Table[T]) Len() int { return t.n }

func (t *Table[T]) home(key string) int {
	return int(maphash.String(t.seed, key) & uint64(len(t.slots)-1))
}

func (t *Table[T]) homeBytes(key []byte) int {
	return int(maphash.Bytes(t.seed, key) & uint64(len(t.slots)-1))
}

// Get returns the element of key, or nil.
func (t *Table[T]) Get(key string) *T {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		x := t.slots[i]
		if x == nil || t.keyOf(x) == key {
			return x
		}
	}
}

// GetBytes is Get with the key as bytes (not retained, no allocation).
func (t *Table[T]) GetBytes(key []byte) *T {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.homeBytes(key); ; i = (i + 1) & mask {
		x := t.slots[i]
		if x == nil || t.keyOf(x) == string(key) {
			return x
		}
	}
}

// Put adds x, replacing the element with the same key; it returns the
// element replaced, or nil.
func (t *Table[T]) Put(x *T) (old *T) {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	key := t.keyOf(x)
	mask := len(t.slots) - 1
	for i := t.home(key); ; i = (i + 1) & mask {
		y := t.slots[i]
		if y == nil {
			t.slots[i] = x
			t.n++
			return nil
		}
		if t.keyOf(y) == key {
			t.slots[i] = x
			return y
		}
	}
}

// Delete removes x (the element itself, not another with its key) and
// reports whether it was there.
func (t *Table[T]) Delete(x *T) bool {
	if t.n == 0 {
		return false
	}
	mask := len(t.slots) - 1
	i := t.home(t.keyOf(x))
	for {
		y := t.slots[i]
		if y == nil {
			return false
		}
		if y == x {
			break
		}
		i = (i + 1) & mask
	}
	// Backward-shift deletion: move up each following element of the run
	// whose home is not between the hole and itself (cyclically), so that
	// every element stays reachable from its home without tombstones.
	hole := i
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		h := t.home(t.keyOf(t.slots[j]))
		if (j-h)&mask >= (j-hole)&mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = nil
	t.n--
	if len(t.slots) > minSlots && t.n*8 < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
	return true
}

// All calls fn for each element until it returns false. The table must
// not change meanwhile.
func (t *Table[T]) All(fn func(*T) bool) {
	for _, x := range t.slots {
		if x != nil && !fn(x) {
			return
		}
	}
}

func (t *Table[T]) resize(n int) {
	old := t.slots
	t.slots = make([]*T, n)
	mask := n - 1
	for _, x := range old {
		if x == nil {
			continue
		}
		i := t.home(t.keyOf(x))
		for t.slots[i] != nil {
			i = (i + 1) & mask
		}
		t.slots[i] = x
	}
}
