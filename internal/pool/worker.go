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

// Defaults of WorkersOptions.
const (
	DefaultMaxWorkers  = 10_000
	DefaultIdleTimeout = 10 * time.Second
	DefaultBatch       = 16
)

// DefaultMinWorkers is the floor of workers: 8 per GOMAXPROCS, at least 16
// (the size of the fixed pool this one replaced, which covers handlers
// that block briefly, such as sub-millisecond cache calls).
func DefaultMinWorkers() int { return max(16, 8*runtime.GOMAXPROCS(0)) }

// stuckTick is how often, while work waits for a worker, the pool looks
// for workers stuck in one task. A task running across two looks (1–2 ms)
// counts as blocked, and a worker is added for it: a blocked handler
// delays unrelated work by about that much, not by its own duration.
const stuckTick = time.Millisecond

// WorkersOptions configures NewWorkers. The zero value of a field means its
// default.
type WorkersOptions struct {
	// MinWorkers is the floor: this many workers start with the pool and
	// never retire, and while work waits at least half this many are kept
	// free of blocked tasks (default DefaultMinWorkers).
	MinWorkers int
	// MaxWorkers is the cap (default 10,000). Below it, when work waits
	// while fewer than MinWorkers/2 workers are free of blocked tasks (a
	// task running for 1–2 ms or more counts as blocked), a worker is
	// added per waiting mailbox, so that a blocked task holds back only
	// its own mailbox. At the cap, waiting
	// mailboxes take turns on the workers there are; nothing is dropped.
	MaxWorkers int
	// IdleTimeout is how long a worker above the floor stays parked
	// without work before it retires (default 10 s). It retires between
	// IdleTimeout and 2×IdleTimeout after its last task: parking reads a
	// clock that advances every IdleTimeout/2 (no clock read per task).
	IdleTimeout time.Duration
	// Batch is how many tasks a worker runs from one mailbox before it
	// lets another mailbox that waits for a worker go first (default 16).
	Batch int
	// OnPanic is called (on the worker, in the deferred recover: the
	// panicking goroutine's stack is still there for runtime/debug.Stack)
	// with the value of a panicking task and the task; the worker
	// survives. nil: the panic is swallowed.
	OnPanic func(v any, t Task)
}

// Workers runs tasks from mailboxes on an elastic set of goroutines. Each
// Mailbox is a serial queue: its tasks run in submission order, one at a
// time, while different mailboxes run in parallel. There is no goroutine
// per mailbox: a mailbox that gets work while idle is handed to a parked
// worker, or, when none is parked, put on a run queue that busy workers
// take from when they finish (an intrusive list: scheduling allocates
// nothing). A worker runs a mailbox until it is empty, then parks.
//
// No lock is shared by every submitter: workers and run queues are split
// into GOMAXPROCS shards, each with its own lock; a mailbox belongs to one
// shard (round robin at Init), and a shard without a parked worker or
// without work borrows from the others.
//
// Elasticity: a monitor goroutine wakes every millisecond while work
// waits on a run queue (and sleeps otherwise); when fewer than half of
// MinWorkers workers are free of blocked tasks, it starts one per waiting
// mailbox, up to MaxWorkers.
// Workers idle for IdleTimeout retire, down to MinWorkers. Adding workers
// only for blocked tasks (not whenever all are momentarily busy) keeps a
// CPU-bound pool small: a worker finishing a task takes the next waiting
// mailbox without parking, where one goroutine per busy mailbox would pay
// a wake-up per task (measured: 3× the cost per task with 512 busy
// mailboxes on 2 cores).
type Workers struct {
	shards  []shard
	nextBox atomic.Uint32 // round-robin shard of new mailboxes

	min, max int32
	idle     time.Duration
	batch    int
	onPanic  func(v any, t Task)

	live    atomic.Int32 // worker goroutines alive
	clock   atomic.Int64 // coarse time (ns since start), advanced by the monitor
	started time.Time

	regMu sync.Mutex
	all   []*worker // every live worker, for the monitor's look at blocked ones

	armed    atomic.Bool   // the monitor watches for blocked workers
	kick     chan struct{} // wakes the monitor when armed
	stopping atomic.Bool
	done     chan struct{} // closed when the last worker exits after Stop
	doneOnce sync.Once
	monStop  chan struct{}
	monDone  chan struct{}
}

// shard is a run queue of mailboxes waiting for a worker and a list of
// parked workers: most recently parked at the head (woken first: its stack
// is warm), longest idle at the tail (retired first).
type shard struct {
	w            *Workers
	mu           sync.Mutex
	qhead, qtail *Mailbox
	queued       atomic.Int32 // length of the run queue (written under mu, read as a hint)
	head, tail   *worker
	parked       atomic.Int32 // length of the parked list (same)
	_            [16]byte     // shards on separate cache lines
}

type worker struct {
	wake       chan *Mailbox // a mailbox to run, nil: look at the run queues, retire: exit
	prev, next *worker       // links while parked (shard mu)
	on         *shard        // the shard whose list holds it, nil while not parked (shard mu)
	home       *shard        // where it looks for work and parks: the shard of its last mailbox
	since      int64         // clock when parked
	runs       atomic.Uint64 // odd while a task runs: +1 before, +1 after
	seen       uint64        // runs at the monitor's previous look (monitor only)
	idx        int           // index in Workers.all (regMu)
}

// retire, sent on a worker's wake channel, ends it.
var retire = new(Mailbox)

// NewWorkers starts MinWorkers workers and the monitor; Stop ends them.
func NewWorkers(cfg WorkersOptions) *Workers {
	if cfg.MaxWorkers <= 0 {
		cfg.MaxWorkers = DefaultMaxWorkers
	}
	if cfg.MinWorkers <= 0 {
		cfg.MinWorkers = DefaultMinWorkers()
	}
	cfg.MinWorkers = min(cfg.MinWorkers, cfg.MaxWorkers)
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	w := &Workers{
		shards:  make([]shard, runtime.GOMAXPROCS(0)),
		min:     int32(min(cfg.MinWorkers, 1<<30)),
		max:     int32(min(cfg.MaxWorkers, 1<<30)),
		idle:    cfg.IdleTimeout,
		batch:   cfg.Batch,
		onPanic: cfg.OnPanic,
		started: time.Now(),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		monStop: make(chan struct{}),
		monDone: make(chan struct{}),
	}
	for i := range w.shards {
		w.shards[i].w = w
	}
	for i := 0; i < int(w.min); i++ {
		w.live.Add(1)
		w.start(&w.shards[i%len(w.shards)], nil)
	}
	go w.monitor()
	return w
}

// Size is the number of worker goroutines alive now.
func (w *Workers) Size() int { return int(w.live.Load()) }

// Stats are what the pool is doing now, for metrics: read from counters
// the pool keeps anyway, without a lock.
type Stats struct {
	Workers int // goroutines alive
	Idle    int // of which parked, waiting for work
	// Waiting is the number of mailboxes with work waiting on a run queue
	// for a worker to take them.
	Waiting int
}

// Stats returns the pool's state now.
func (w *Workers) Stats() Stats {
	st := Stats{Workers: int(w.live.Load())}
	for i := range w.shards {
		st.Idle += int(w.shards[i].parked.Load())
		st.Waiting += int(w.shards[i].queued.Load())
	}
	st.Idle = min(st.Idle, st.Workers)
	return st
}

// Stop lets the workers finish every task queued before it, then ends them
// and waits. Tasks submitted after Stop are still accepted by open
// mailboxes but may never run. Stop may be called more than once.
func (w *Workers) Stop() {
	if w.stopping.CompareAndSwap(false, true) {
		close(w.monStop)
		<-w.monDone
		// Parked workers look at the run queues once more, then see
		// stopping when they try to park again, and exit.
		for i := range w.shards {
			sh := &w.shards[i]
			sh.mu.Lock()
			var list []*worker
			for wk := sh.head; wk != nil; wk = sh.head {
				sh.unlinkLocked(wk)
				list = append(list, wk)
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

// schedule finds a worker for m, which just got work while idle: a parked
// worker of its shard gets it directly; otherwise m waits on the shard's
// run queue and a parked worker of another shard, if any, is woken to take
// it. With none parked, a busy worker takes it when it finishes, or the
// monitor adds a worker if they are blocked.
func (w *Workers) schedule(m *Mailbox) {
	sh := m.sh
	sh.mu.Lock()
	if wk := sh.head; wk != nil {
		sh.unlinkLocked(wk)
		sh.mu.Unlock()
		wk.wake <- m
		return
	}
	m.next = nil
	if sh.qtail == nil {
		sh.qhead = m
	} else {
		sh.qtail.next = m
	}
	sh.qtail = m
	sh.queued.Add(1)
	sh.mu.Unlock()
	// A worker parking elsewhere at the same moment is not missed: it
	// counts itself parked before it looks at the run queues, and m was
	// counted queued before we look at the parked lists.
	if wk := w.takeParked(sh); wk != nil {
		wk.wake <- nil
		return
	}
	if !w.armed.Load() && w.armed.CompareAndSwap(false, true) {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// takeParked unparks a worker of a shard other than sh, if one is parked.
func (w *Workers) takeParked(sh *shard) *worker {
	for i := range w.shards {
		o := &w.shards[i]
		if o == sh || o.parked.Load() == 0 {
			continue
		}
		o.mu.Lock()
		wk := o.head
		if wk != nil {
			o.unlinkLocked(wk)
		}
		o.mu.Unlock()
		if wk != nil {
			return wk
		}
	}
	return nil
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

// dequeueLocked takes the mailbox that has waited longest on sh.
func (sh *shard) dequeueLocked() *Mailbox {
	m := sh.qhead
	if m != nil {
		sh.qhead = m.next
		if sh.qhead == nil {
			sh.qtail = nil
		}
		m.next = nil
		sh.queued.Add(-1)
	}
	return m
}

// dequeue takes a waiting mailbox, from home first, then from the others.
func (w *Workers) dequeue(home *shard) *Mailbox {
	if home.queued.Load() > 0 {
		home.mu.Lock()
		m := home.dequeueLocked()
		home.mu.Unlock()
		if m != nil {
			return m
		}
	}
	for i := range w.shards {
		sh := &w.shards[i]
		if sh == home || sh.queued.Load() == 0 {
			continue
		}
		sh.mu.Lock()
		m := sh.dequeueLocked()
		sh.mu.Unlock()
		if m != nil {
			return m
		}
	}
	return nil
}

// requeue puts m, which still has work, at the tail of its run queue and
// returns the head (m itself if it was alone).
func (w *Workers) requeue(m *Mailbox) *Mailbox {
	sh := m.sh
	sh.mu.Lock()
	head := sh.dequeueLocked()
	if head == nil {
		sh.mu.Unlock()
		return m
	}
	m.next = nil
	if sh.qtail == nil {
		sh.qhead = m
	} else {
		sh.qtail.next = m
	}
	sh.qtail = m
	sh.queued.Add(1)
	sh.mu.Unlock()
	return head
}

func (w *Workers) queuedTotal() int {
	n := 0
	for i := range w.shards {
		n += int(w.shards[i].queued.Load())
	}
	return n
}

// start runs a new worker (live already counts it) on m, or on whatever
// waits if m is nil.
func (w *Workers) start(home *shard, m *Mailbox) {
	wk := &worker{wake: make(chan *Mailbox, 1), home: home}
	w.regMu.Lock()
	wk.idx = len(w.all)
	w.all = append(w.all, wk)
	w.regMu.Unlock()
	go w.work(wk, m)
}

func (w *Workers) exited(wk *worker) {
	w.regMu.Lock()
	last := w.all[len(w.all)-1]
	w.all[wk.idx], last.idx = last, wk.idx
	w.all[len(w.all)-1] = nil
	w.all = w.all[:len(w.all)-1]
	w.regMu.Unlock()
	if w.live.Add(-1) == 0 && w.stopping.Load() {
		w.doneOnce.Do(func() { close(w.done) })
	}
}

// work is a worker's goroutine: it runs mailboxes until told to retire.
func (w *Workers) work(wk *worker, m *Mailbox) {
	for {
		for m != nil {
			wk.home = m.sh
			m = w.drain(wk, m)
		}
		if m = w.dequeue(wk.home); m != nil {
			continue
		}
		var ok bool
		if m, ok = w.park(wk); !ok {
			w.exited(wk)
			return
		}
	}
}

// park waits for work. It returns a mailbox to run, or nil to look at the
// run queues; ok is false when the worker must exit.
func (w *Workers) park(wk *worker) (m *Mailbox, ok bool) {
	sh := wk.home
	sh.mu.Lock()
	if m = sh.dequeueLocked(); m != nil {
		sh.mu.Unlock()
		return m, true
	}
	if w.stopping.Load() {
		sh.mu.Unlock()
		return nil, w.queuedTotal() > 0 // run what was queued before Stop
	}
	wk.since = w.clock.Load()
	sh.pushLocked(wk)
	sh.mu.Unlock()
	if w.queuedTotal() > 0 {
		// A mailbox waits on another shard: take ourselves back unless
		// someone already unparked us (then a wake-up is on its way).
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
// next: m if it still has work (or a mailbox that waited on m's run queue,
// m going to its tail), nil once m is empty.
func (w *Workers) drain(wk *worker, m *Mailbox) *Mailbox {
	for i := 0; i < w.batch; i++ {
		t := m.take()
		if t == nil {
			return nil
		}
		w.run(wk, t)
	}
	if m.sh.queued.Load() > 0 {
		return w.requeue(m)
	}
	return m
}

func (w *Workers) run(wk *worker, t Task) {
	wk.runs.Add(1)
	defer func() {
		wk.runs.Add(1)
		if v := recover(); v != nil && w.onPanic != nil {
			w.onPanic(v, t)
		}
	}()
	t.Run()
}

// monitor adds workers when work waits while workers are blocked, and
// retires idle ones. It ticks every stuckTick while armed (work was
// queued with no worker parked), and otherwise only every IdleTimeout/2.
func (w *Workers) monitor() {
	defer close(w.monDone)
	retireEvery := w.idle / 2
	nextRetire := time.Now().Add(retireEvery)
	t := time.NewTimer(retireEvery)
	defer t.Stop()
	for {
		d := time.Until(nextRetire)
		if w.armed.Load() {
			d = min(d, stuckTick)
		}
		t.Reset(max(d, 0))
		select {
		case <-w.monStop:
			return
		case <-w.kick:
		case <-t.C:
		}
		now := time.Now()
		w.clock.Store(int64(now.Sub(w.started)))
		if w.armed.Load() {
			w.unblock()
		}
		if !now.Before(nextRetire) {
			w.retireIdle(int64(now.Sub(w.started)))
			nextRetire = now.Add(retireEvery)
		}
	}
}

// unblock starts one worker per waiting mailbox when fewer than half of
// MinWorkers workers are free of blocked tasks (a task seen running at two looks in
// a row counts as blocked); it disarms the monitor once nothing waits.
func (w *Workers) unblock() {
	queued := w.queuedTotal()
	if queued == 0 {
		w.armed.Store(false)
		// schedule counts a mailbox queued before it reads armed; we
		// cleared armed before reading queued: one of us sees the other.
		if w.queuedTotal() > 0 {
			w.armed.Store(true)
		}
		return
	}
	stuck := 0
	w.regMu.Lock()
	for _, wk := range w.all {
		r := wk.runs.Load()
		if r&1 == 1 && r == wk.seen {
			stuck++
		}
		wk.seen = r
	}
	free := len(w.all) - stuck
	w.regMu.Unlock()
	if 2*free >= int(w.min) {
		// They will get to the waiting mailboxes. Half, not all: a worker
		// the OS or the Go scheduler leaves waiting for a CPU in the middle
		// of a task looks blocked too, and on a busy machine a few of them
		// at a time are common; a pool grown for them would trade taking
		// work without parking for a wake-up per task.
		return
	}
	for i := 0; i < queued; i++ {
		if !w.spawn() {
			return
		}
	}
}

// spawn starts a worker for the run queues unless MaxWorkers are alive or
// the pool is stopping.
func (w *Workers) spawn() bool {
	for {
		n := w.live.Load()
		if n >= w.max {
			return false
		}
		if w.live.CompareAndSwap(n, n+1) {
			break
		}
	}
	home := &w.shards[0]
	for i := range w.shards {
		if w.shards[i].queued.Load() > home.queued.Load() {
			home = &w.shards[i]
		}
	}
	w.start(home, nil)
	return true
}

// retireIdle retires workers parked for longer than IdleTimeout, oldest
// first, keeping MinWorkers.
func (w *Workers) retireIdle(now int64) {
	limit := int64(w.idle + w.idle/2) // since is up to IdleTimeout/2 early
	budget := w.live.Load() - w.min
	var old []*worker
	for i := range w.shards {
		if budget <= 0 {
			break
		}
		sh := &w.shards[i]
		sh.mu.Lock()
		for wk := sh.tail; wk != nil && budget > 0 && now-wk.since >= limit; wk = sh.tail {
			sh.unlinkLocked(wk)
			old = append(old, wk)
			budget--
		}
		sh.mu.Unlock()
	}
	for _, wk := range old {
		wk.wake <- retire
	}
}
