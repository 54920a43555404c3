package pool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Task is one unit of work run by Workers. Implementing it on an object
// that exists anyway (a decoded packet) avoids a closure allocation per task.
type Task interface{ Run() }

// TaskFunc adapts a function to Task.
type TaskFunc func()

// Run calls f.
func (f TaskFunc) Run() { f() }

// Defaults of WorkersConfig.
const (
	DefaultMaxWorkers  = 10_000
	DefaultIdleTimeout = 10 * time.Second
	DefaultBatch       = 16
)

// WorkersConfig configures NewWorkers. The zero value of a field means its
// default.
type WorkersConfig struct {
	// MinWorkers is the floor: this many workers start with the pool and
	// never retire (default GOMAXPROCS).
	MinWorkers int
	// MaxWorkers is the cap (default 10,000). While fewer are alive, a
	// mailbox that gets work when every worker is busy gets a new worker,
	// so a blocked task holds back only its own mailbox. At the cap,
	// mailboxes with work wait in a queue for the next worker to finish;
	// nothing is dropped.
	MaxWorkers int
	// IdleTimeout is how long a worker above the floor stays parked
	// without work before it retires (default 10 s). It retires between
	// IdleTimeout and 1.5×IdleTimeout after its last task: the idle clock
	// ticks every IdleTimeout/2.
	IdleTimeout time.Duration
	// Batch is how many tasks a worker runs from one mailbox before it
	// gives a mailbox that waits for a worker its turn (only at the cap:
	// below it, waiting mailboxes get workers of their own). Default 16.
	Batch int
	// OnPanic is called (on the worker) with the value of a panicking task;
	// the worker survives. nil: the panic is swallowed.
	OnPanic func(v any)
}

// Workers runs tasks from mailboxes on an elastic set of goroutines. Each
// Mailbox is a serial queue: its tasks run in submission order, one at a
// time, while different mailboxes run in parallel. There is no goroutine
// per mailbox: when a mailbox gets work while idle, it is handed to a
// parked worker, which runs its tasks until it is empty, then parks again.
// When no worker is parked, a new one starts (up to MaxWorkers); workers
// idle for IdleTimeout retire, down to MinWorkers.
//
// No lock is shared by every submitter: parked workers are kept in one
// stack per shard (GOMAXPROCS shards, a mailbox bound to one at Init), and
// a shard without a parked worker borrows one from another before a new
// worker starts. Scheduling allocates nothing once the workers exist.
// Measured on 2 cores, hand-off to a parked worker costs about what the
// previous single mutex+condition-variable run queue did; the point is
// that it does not serialize every event loop on one lock on bigger
// machines, and that a busy pool grows instead of queueing.
type Workers struct {
	shards  []shard
	nextBox atomic.Uint32 // round-robin shard of new mailboxes

	min, max int32
	idle     time.Duration
	batch    int
	onPanic  func(v any)

	live    atomic.Int32 // worker goroutines alive
	clock   atomic.Int64 // coarse time (ns since start), advanced by the janitor
	started time.Time

	// Mailboxes waiting for a worker because MaxWorkers are busy. Touched
	// only at the cap (pending is read on the hot path, and is then 0).
	pendMu           sync.Mutex
	pendHead, pendTl *Mailbox
	pending          atomic.Int32

	stopping    atomic.Bool
	done        chan struct{} // closed when the last worker exits after Stop
	doneOnce    sync.Once
	janitorStop chan struct{}
	janitorDone chan struct{}
}

// shard holds parked workers: a doubly linked list, most recently parked
// at the head (woken first: its stack is warm), longest idle at the tail
// (retired first).
type shard struct {
	w          *Workers
	mu         sync.Mutex
	head, tail *worker
	parked     atomic.Int32 // length of the list, read without mu as a hint
	_          [32]byte     // keep shards on separate cache lines
}

type worker struct {
	wake       chan *Mailbox // a mailbox to run, nil: look at the pending queue, retire: exit
	prev, next *worker       // links while parked (shard mu)
	on         *shard        // the shard whose list holds it, nil while running (shard mu)
	home       *shard        // where it parks next: the shard of its last mailbox
	since      int64         // clock when parked
}

// retire, sent on a worker's wake channel, ends it.
var retire = new(Mailbox)

// NewWorkers starts MinWorkers workers and the janitor that retires idle
// ones; Stop ends them.
func NewWorkers(cfg WorkersConfig) *Workers {
	procs := runtime.GOMAXPROCS(0)
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = DefaultMaxWorkers
	}
	if cfg.MinWorkers <= 0 {
		cfg.MinWorkers = procs
	}
	cfg.MinWorkers = min(cfg.MinWorkers, cfg.MaxWorkers)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	w := &Workers{
		shards:      make([]shard, procs),
		min:         int32(min(cfg.MinWorkers, 1<<30)),
		max:         int32(min(cfg.MaxWorkers, 1<<30)),
		idle:        cfg.IdleTimeout,
		batch:       cfg.Batch,
		onPanic:     cfg.OnPanic,
		started:     time.Now(),
		done:        make(chan struct{}),
		janitorStop: make(chan struct{}),
		janitorDone: make(chan struct{}),
	}
	for i := range w.shards {
		w.shards[i].w = w
	}
	for i := 0; i < int(w.min); i++ {
		w.live.Add(1)
		wk := &worker{wake: make(chan *Mailbox, 1), home: &w.shards[i%len(w.shards)]}
		go w.work(wk, nil)
	}
	go w.janitor()
	return w
}

// Size is the number of worker goroutines alive now.
func (w *Workers) Size() int { return int(w.live.Load()) }

// Stop lets the workers finish every task queued before it, then ends them
// and waits. Tasks submitted after Stop are still accepted by open
// mailboxes but never run. Stop may be called more than once.
func (w *Workers) Stop() {
	if w.stopping.CompareAndSwap(false, true) {
		close(w.janitorStop)
		<-w.janitorDone
		// Parked workers look at the pending queue once more, then see
		// stopping when they try to park again, and exit.
		for i := range w.shards {
			sh := &w.shards[i]
			sh.mu.Lock()
			var list []*worker
			for wk := sh.head; wk != nil; wk = wk.next {
				list = append(list, wk)
			}
			sh.head, sh.tail = nil, nil
			sh.parked.Store(0)
			for _, wk := range list {
				wk.on, wk.prev, wk.next = nil, nil, nil
			}
			sh.mu.Unlock()
			for _, wk := range list {
				wk.wake <- nil
			}
		}
		if w.live.Load() == 0 {
			w.doneOnce.Do(func() { close(w.done) })
		}
	}
	<-w.done
}

// schedule finds a worker for m, which just got work while idle.
func (w *Workers) schedule(m *Mailbox) {
	if wk := w.takeParked(m.sh); wk != nil {
		wk.wake <- m
		return
	}
	if w.spawn(m) {
		return
	}
	w.enqueue(m)
}

// takeParked unparks a worker, from home if it has one, else from any
// other shard; nil if every worker is busy.
func (w *Workers) takeParked(home *shard) *worker {
	if wk := home.pop(); wk != nil {
		return wk
	}
	n := len(w.shards)
	start := 0
	for i := range w.shards {
		if &w.shards[i] == home {
			start = i
			break
		}
	}
	for i := 1; i < n; i++ {
		if wk := w.shards[(start+i)%n].pop(); wk != nil {
			return wk
		}
	}
	return nil
}

// pop unparks the most recently parked worker of sh, if any.
func (sh *shard) pop() *worker {
	if sh.parked.Load() == 0 {
		return nil
	}
	sh.mu.Lock()
	wk := sh.head
	if wk != nil {
		sh.unlinkLocked(wk)
	}
	sh.mu.Unlock()
	return wk
}

func (sh *shard) pushLocked(wk *worker) {
	wk.on, wk.prev, wk.next = sh, nil, sh.head
	if sh.head != nil {
		sh.head.prev = wk
	} else {
		sh.tail = wk
	}
	sh.head = wk
	sh.parked.Add(1)
}

func (sh *shard) unlinkLocked(wk *worker) {
	if wk.prev != nil {
		wk.prev.next = wk.next
	} else {
		sh.head = wk.next
	}
	if wk.next != nil {
		wk.next.prev = wk.prev
	} else {
		sh.tail = wk.prev
	}
	wk.on, wk.prev, wk.next = nil, nil, nil
	sh.parked.Add(-1)
}

// spawn starts a worker for m unless MaxWorkers are alive or the pool is
// stopping.
func (w *Workers) spawn(m *Mailbox) bool {
	for {
		n := w.live.Load()
		if n >= w.max {
			return false
		}
		if w.live.CompareAndSwap(n, n+1) {
			break
		}
	}
	if w.stopping.Load() {
		w.exited()
		return false
	}
	go w.work(&worker{wake: make(chan *Mailbox, 1), home: m.sh}, m)
	return true
}

func (w *Workers) exited() {
	if w.live.Add(-1) == 0 && w.stopping.Load() {
		w.doneOnce.Do(func() { close(w.done) })
	}
}

// enqueue makes m wait for a worker (every worker is busy and the cap is
// reached). A worker that parks at the same moment is not missed: it
// counts itself parked before it reads pending, and enqueue counts m
// pending before it looks for parked workers, so one of the two sees the
// other.
func (w *Workers) enqueue(m *Mailbox) {
	w.pendMu.Lock()
	m.next = nil
	if w.pendTl == nil {
		w.pendHead = m
	} else {
		w.pendTl.next = m
	}
	w.pendTl = m
	w.pending.Add(1)
	w.pendMu.Unlock()
	if wk := w.takeParked(m.sh); wk != nil {
		wk.wake <- nil
	}
}

// dequeue takes the mailbox that has waited longest for a worker.
func (w *Workers) dequeue() *Mailbox {
	if w.pending.Load() == 0 {
		return nil
	}
	w.pendMu.Lock()
	m := w.pendHead
	if m != nil {
		w.pendHead = m.next
		if w.pendHead == nil {
			w.pendTl = nil
		}
		m.next = nil
		w.pending.Add(-1)
	}
	w.pendMu.Unlock()
	return m
}

// requeue puts m, which still has work, at the tail of the pending queue
// and returns the head (m itself if it was alone).
func (w *Workers) requeue(m *Mailbox) *Mailbox {
	w.pendMu.Lock()
	head := w.pendHead
	if head == nil {
		w.pendMu.Unlock()
		return m
	}
	w.pendHead = head.next
	head.next = nil
	m.next = nil
	if w.pendHead == nil {
		w.pendHead = m
	} else {
		w.pendTl.next = m
	}
	w.pendTl = m
	w.pendMu.Unlock()
	return head
}

// work is a worker's goroutine: it runs mailboxes until told to retire.
func (w *Workers) work(wk *worker, m *Mailbox) {
	for {
		for m != nil {
			wk.home = m.sh
			m = w.drain(m)
		}
		if m = w.dequeue(); m != nil {
			continue
		}
		var ok bool
		if m, ok = w.park(wk); !ok {
			w.exited()
			return
		}
	}
}

// park waits for work. It returns a mailbox to run, or nil to look at the
// pending queue; ok is false when the worker must exit.
func (w *Workers) park(wk *worker) (m *Mailbox, ok bool) {
	sh := wk.home
	sh.mu.Lock()
	if w.stopping.Load() {
		sh.mu.Unlock()
		return nil, w.pending.Load() > 0 // drain what was queued before Stop
	}
	wk.since = w.clock.Load()
	sh.pushLocked(wk)
	sh.mu.Unlock()
	if w.pending.Load() > 0 {
		// A mailbox waits: take ourselves back unless someone already
		// unparked us (then a wake-up is on its way).
		sh.mu.Lock()
		mine := wk.on == sh
		if mine {
			sh.unlinkLocked(wk)
		}
		sh.mu.Unlock()
		if mine {
			return nil, true
		}
	}
	m = <-wk.wake
	if m == retire {
		return nil, false
	}
	return m, true
}

// drain runs up to w.batch tasks of m and returns what the worker runs
// next: m if it still has work (or another mailbox that waited longer,
// at the cap), nil once m is empty.
func (w *Workers) drain(m *Mailbox) *Mailbox {
	for i := 0; i < w.batch; i++ {
		t := m.take()
		if t == nil {
			return nil
		}
		w.run(t)
	}
	if w.pending.Load() > 0 {
		return w.requeue(m)
	}
	return m
}

func (w *Workers) run(t Task) {
	defer func() {
		if v := recover(); v != nil && w.onPanic != nil {
			w.onPanic(v)
		}
	}()
	t.Run()
}

// janitor advances the idle clock and retires workers parked for longer
// than IdleTimeout, oldest first, keeping MinWorkers.
func (w *Workers) janitor() {
	defer close(w.janitorDone)
	t := time.NewTicker(w.idle / 2)
	defer t.Stop()
	var old []*worker
	for {
		select {
		case <-w.janitorStop:
			return
		case <-t.C:
		}
		now := int64(time.Since(w.started))
		w.clock.Store(now)
		budget := w.live.Load() - w.min
		for i := range w.shards {
			if budget <= 0 {
				break
			}
			sh := &w.shards[i]
			sh.mu.Lock()
			for wk := sh.tail; wk != nil && budget > 0 && now-wk.since > int64(w.idle); wk = sh.tail {
				sh.unlinkLocked(wk)
				old = append(old, wk)
				budget--
			}
			sh.mu.Unlock()
		}
		for i, wk := range old {
			wk.wake <- retire
			old[i] = nil
		}
		old = old[:0]
	}
}
