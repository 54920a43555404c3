package eventloop

import (
	"sync"
	"sync/atomic"
	"time"
)

// Timer is an intrusive timing-wheel entry: embed it in the object it times,
// so arming it allocates nothing. The zero Timer is unusable; call
// Timers.Init once.
type Timer struct {
	next, prev *Timer
	wheel      *wheel
	expire     int64 // tick at which it fires
	gen        uint64
	armed      bool
	fn         func()
}

// Timers is a set of timing wheels advanced by one goroutine. Each wheel has
// its own lock, so arming timers from many loops does not contend on one
// mutex; each timer stays on the wheel Init gave it. Arm, reset and stop are
// O(1); a tick costs O(timers in the slot).
type Timers struct {
	tick   time.Duration
	wheels []*wheel
	next   atomic.Uint32
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type wheel struct {
	mu    sync.Mutex
	now   int64 // ticks processed so far
	slots []Timer
	due   []firing // scratch, used only by the ticking goroutine
}

type firing struct {
	t   *Timer
	gen uint64
}

const wheelSlots = 512 // power of two

// NewTimers starts n wheels with the given resolution. Stop releases them.
func NewTimers(n int, tick time.Duration) *Timers {
	if n < 1 {
		n = 1
	}
	if tick <= 0 {
		tick = 10 * time.Millisecond
	}
	ts := &Timers{tick: tick, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	for i := 0; i < n; i++ {
		w := &wheel{slots: make([]Timer, wheelSlots)}
		for j := range w.slots {
			s := &w.slots[j]
			s.next, s.prev = s, s
		}
		ts.wheels = append(ts.wheels, w)
	}
	go ts.run()
	return ts
}

// Init binds t to a wheel and sets the function it runs when it fires. fn
// runs on the Timers goroutine: it must be short and must not block; it may
// re-arm t.
func (ts *Timers) Init(t *Timer, fn func()) {
	t.wheel = ts.wheels[int(ts.next.Add(1))%len(ts.wheels)]
	t.fn = fn
}

// Reset (re)arms t to fire once after d. It fires at the last tick boundary
// before the deadline (at most one tick early, never more), so a protocol
// deadline is not overshot by the wheel's resolution.
func (ts *Timers) Reset(t *Timer, d time.Duration) {
	target := int64((time.Since(ts.start) + d) / ts.tick)
	w := t.wheel
	w.mu.Lock()
	if t.armed {
		t.unlink()
	}
	t.gen++
	if target <= w.now {
		target = w.now + 1
	}
	t.expire = target
	slot := &w.slots[t.expire&(wheelSlots-1)]
	t.prev = slot.prev
	t.next = slot
	slot.prev.next = t
	slot.prev = t
	t.armed = true
	w.mu.Unlock()
}

// Stop disarms t. A callback already collected for firing is suppressed
// unless it has started.
func (ts *Timers) Stop(t *Timer) {
	w := t.wheel
	if w == nil {
		return
	}
	w.mu.Lock()
	if t.armed {
		t.unlink()
	}
	t.gen++
	w.mu.Unlock()
}

func (t *Timer) unlink() {
	t.prev.next = t.next
	t.next.prev = t.prev
	t.next, t.prev = nil, nil
	t.armed = false
}

// Close stops the ticking goroutine. Armed timers never fire afterwards.
func (ts *Timers) Close() {
	ts.once.Do(func() {
		close(ts.stop)
		<-ts.done
	})
}

func (ts *Timers) run() {
	defer close(ts.done)
	tk := time.NewTicker(ts.tick)
	defer tk.Stop()
	for {
		select {
		case <-ts.stop:
			return
		case now := <-tk.C:
			// Catch up on ticks missed under load, so timeouts keep their meaning.
			target := int64(now.Sub(ts.start) / ts.tick)
			for _, w := range ts.wheels {
				w.advance(target)
			}
		}
	}
}

func (w *wheel) advance(target int64) {
	for {
		w.mu.Lock()
		if w.now >= target {
			w.mu.Unlock()
			return
		}
		w.now++
		now := w.now
		slot := &w.slots[now&(wheelSlots-1)]
		due := w.due[:0]
		for t := slot.next; t != slot; {
			next := t.next
			if t.expire <= now {
				t.unlink()
				due = append(due, firing{t, t.gen})
			}
			t = next
		}
		w.due = due
		w.mu.Unlock()
		for i := range due {
			f := due[i]
			w.mu.Lock()
			live := f.t.gen == f.gen && !f.t.armed
			w.mu.Unlock()
			if live {
				f.t.fn()
			}
			due[i] = firing{}
		}
	}
}
