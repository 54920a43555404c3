package pool

import (
	"errors"
	"math"
	"sync"
)

// Task is one unit of work run by Workers. Implementing it on an object
// that exists anyway (a decoded packet) avoids a closure allocation per task.
type Task interface{ Run() }

// TaskFunc adapts a function to Task.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// Errors returned by Mailbox.Submit.
var (
	ErrMailboxFull   = errors.New("pool: mailbox full")
	ErrMailboxClosed = errors.New("pool: mailbox closed")
)

// Workers is a fixed set of goroutines that run tasks from mailboxes. Each
// Mailbox is a serial queue: its tasks run in submission order, one at a
// time, while different mailboxes run in parallel. There is no goroutine per
// mailbox: a mailbox with work is put on a run queue (an intrusive list, so
// scheduling allocates nothing) and a worker drains up to Batch tasks from
// it before putting it back at the tail, so one busy mailbox cannot starve
// the others.
type Workers struct {
	mu         sync.Mutex
	cond       sync.Cond
	head, tail *Mailbox
	stopping   bool
	wg         sync.WaitGroup
	batch      int
	onPanic    func(v any)
	n          int
}

// WorkersConfig configures NewWorkers.
type WorkersConfig struct {
	Workers int // number of goroutines (>= 1)
	Batch   int // tasks run from one mailbox before yielding to the next; default 16
	// OnPanic is called (on the worker) with the value of a panicking task;
	// the worker survives. nil: the panic is swallowed.
	OnPanic func(v any)
}

// NewWorkers starts the worker goroutines.
func NewWorkers(cfg WorkersConfig) *Workers {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.Batch < 1 {
		cfg.Batch = 16
	}
	w := &Workers{batch: cfg.Batch, onPanic: cfg.OnPanic, n: cfg.Workers}
	w.cond.L = &w.mu
	w.wg.Add(cfg.Workers)
	for i := 0; i < cfg.Workers; i++ {
		go w.loop()
	}
	return w
}

// Size is the number of worker goroutines.
func (w *Workers) Size() int { return w.n }

// Stop lets the workers finish every task already queued, then ends them
// and waits. Tasks submitted after Stop are still accepted by open
// mailboxes but never run.
func (w *Workers) Stop() {
	w.mu.Lock()
	w.stopping = true
	w.cond.Broadcast()
	w.mu.Unlock()
	w.wg.Wait()
}

// schedule puts m at the tail of the run queue.
func (w *Workers) schedule(m *Mailbox) {
	w.mu.Lock()
	m.next = nil
	if w.tail == nil {
		w.head = m
	} else {
		w.tail.next = m
	}
	w.tail = m
	w.cond.Signal()
	w.mu.Unlock()
}

func (w *Workers) loop() {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		for w.head == nil && !w.stopping {
			w.cond.Wait()
		}
		m := w.head
		if m == nil { // stopping and nothing left
			w.mu.Unlock()
			return
		}
		w.head = m.next
		if w.head == nil {
			w.tail = nil
		}
		m.next = nil
		w.mu.Unlock()
		w.drain(m)
	}
}

// drain runs up to w.batch tasks of m, then reschedules m if it has more.
func (w *Workers) drain(m *Mailbox) {
	for i := 0; i < w.batch; i++ {
		m.mu.Lock()
		if m.n == 0 {
			m.idleLocked()
			m.mu.Unlock()
			return
		}
		q := m.ring.t
		t := q[m.head]
		q[m.head] = nil
		m.head = (m.head + 1) & int32(len(q)-1)
		m.n--
		m.mu.Unlock()
		w.run(t)
	}
	m.mu.Lock()
	if m.n == 0 {
		m.idleLocked()
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	w.schedule(m) // still scheduled: nobody else may run it meanwhile
}

func (w *Workers) run(t Task) {
	defer func() {
		if v := recover(); v != nil && w.onPanic != nil {
			w.onPanic(v)
		}
	}()
	t.Run()
}

// Mailbox is a bounded serial queue of tasks run by Workers. The zero value
// is unusable; call Init. It is meant to be embedded in the object whose
// work it serializes (one per connection), so it costs no allocation of its
// own; its ring grows on demand, up to the limit, and shrinks back when idle.
type Mailbox struct {
	w         *Workers
	mu        sync.Mutex
	ring      *taskRing // nil while idle: idle mailboxes hold no array
	next      *Mailbox  // run-queue link, guarded by w.mu
	head, n   int32     // int32: one Mailbox per connection, packed with the flags
	limit     int32
	scheduled bool // on the run queue or being drained
	closed    bool
}

// Init binds m to w with a limit on queued tasks (<= 0: 1024).
func (m *Mailbox) Init(w *Workers, limit int) {
	if limit <= 0 {
		limit = 1024
	}
	m.w = w
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
		m.w.schedule(m)
	}
	return nil
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
