package pool

import (
	"errors"
	"math"
	"sync"
)

// Errors returned by Mailbox.Submit.
var (
	ErrMailboxFull   = errors.New("pool: mailbox full")
	ErrMailboxClosed = errors.New("pool: mailbox closed")
)

// Mailbox is a bounded serial queue of tasks run by Workers. The zero value
// is unusable; call Init. It is meant to be embedded in the object whose
// work it serializes (one per connection), so it costs no allocation of its
// own; its ring grows on demand, up to the limit, and shrinks back when idle.
type Mailbox struct {
	sh        *shard // its workers' shard (parked workers are taken from there first)
	mu        sync.Mutex
	ring      *taskRing // nil while idle: idle mailboxes hold no array
	next      *Mailbox  // pending-queue link, guarded by Workers.pendMu
	head, n   int32     // int32: one Mailbox per connection, packed with the flags
	limit     int32
	scheduled bool // a worker owns it, or it waits for one
	closed    bool
}

// Init binds m to w with a limit on queued tasks (<= 0: 1024).
func (m *Mailbox) Init(w *Workers, limit int) {
	if limit <= 0 {
		limit = 1024
	}
	m.sh = &w.shards[int(w.nextBox.Add(1))%len(w.shards)]
	m.limit = int32(min(limit, math.MaxInt32))
}

// Submit queues t. It never blocks: it fails with ErrMailboxFull when the
// limit of queued (not yet started) tasks is reached, and ErrMailboxClosed
// after Close. Safe from any goroutine.
func (m *Mailbox) Submit(t Task) error { return m.submit(t, false) }

// ForceSubmit queues t even past the limit (it still fails once closed):
// for the few bookkeeping tasks that must run, such as a disconnect.
func (m *Mailbox) ForceSubmit(t Task) error { return m.submit(t, true) }

func (m *Mailbox) submit(t Task, force bool) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrMailboxClosed
	}
	if m.n >= m.limit && !force {
		m.mu.Unlock()
		return ErrMailboxFull
	}
	if m.ring == nil {
		m.ring = taskRings.Get().(*taskRing)
		m.head = 0
	}
	if int(m.n) == len(m.ring.t) {
		m.grow()
	}
	q := m.ring.t
	q[(m.head+m.n)&int32(len(q)-1)] = t
	m.n++
	sched := !m.scheduled
	m.scheduled = true
	m.mu.Unlock()
	if sched {
		m.sh.w.schedule(m)
	}
	return nil
}

// take removes the next task, or returns nil and marks m idle (no worker
// owns it any more) when it is empty. Only the worker that owns m calls it.
func (m *Mailbox) take() Task {
	m.mu.Lock()
	if m.n == 0 {
		m.idleLocked()
		m.mu.Unlock()
		return nil
	}
	q := m.ring.t
	t := q[m.head]
	q[m.head] = nil
	m.head = (m.head + 1) & int32(len(q)-1)
	m.n--
	m.mu.Unlock()
	return t
}

// idleLocked marks an empty mailbox idle and gives its ring back: most
// connections are idle most of the time. A ring a burst grew is dropped.
func (m *Mailbox) idleLocked() {
	m.scheduled = false
	if r := m.ring; r != nil {
		m.ring, m.head = nil, 0
		if len(r.t) == initialRing {
			taskRings.Put(r) // empty: drain cleared each slot it took
		}
	}
}

// taskRing is a mailbox's queue: a ring of power-of-two length.
type taskRing struct{ t []Task }

const initialRing = 4

var taskRings = sync.Pool{New: func() any { return &taskRing{t: make([]Task, initialRing)} }}

// grow doubles the full ring (a new one: the pooled size stays small).
func (m *Mailbox) grow() {
	old := m.ring.t
	q := make([]Task, len(old)*2)
	for i := int32(0); i < m.n; i++ {
		q[i] = old[(m.head+i)&int32(len(old)-1)]
	}
	if len(old) == initialRing {
		clear(old)
		taskRings.Put(m.ring)
	}
	m.ring = &taskRing{t: q}
	m.head = 0
}

// Len is the number of queued tasks not yet started.
func (m *Mailbox) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int(m.n)
}

// Close refuses further tasks. Tasks already queued still run, in order.
func (m *Mailbox) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}
