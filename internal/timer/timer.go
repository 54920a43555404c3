package timer

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Timer is an intrusive timing-wheel entry: embed it in the object it times,
// so arming it allocates nothing. The zero Timer is unusable; call
// Wheel.Init once.
//
// It is 32 bytes (one is embedded in every Engine.IO session and kept by
// every connection being set up; 40 put the session in the next size
// class): its deadline is the tick counter's low 32 bits (compared modulo
// 2^32: a timer is never armed more than maxTicks ahead), its shard an
// index, and its generation a uint16 (it only tells whether the timer was
// re-armed or stopped between the tick that collected it and its callback,
// a window of one tick's callbacks).
type Timer struct {
	next, prev *Timer
	expire     uint32 // tick at which it fires, modulo 2^32
	gen        uint16
	shard      uint8 // index+1 in Wheel.shards; 0 before Init
	armed      bool
	fn         func(*Timer)
}

// maxTicks bounds how far ahead a timer is armed, so that deadlines compare
// correctly modulo 2^32: 2^30 ticks, 62 days at engine's 5 ms (Node.js
// caps its timers at 24.8 days). A longer Reset fires then.
const maxTicks = 1 << 30

// Wheel is a timing wheel split in shards advanced by one goroutine. Each
// shard has its own lock, so arming timers from many goroutines does not
// contend on one mutex; each timer stays on the shard Init gave it. Arm,
// reset and stop are O(1); a tick costs O(timers in the slot).
type Wheel struct {
	tick   time.Duration
	shards []*shard
	next   atomic.Uint32
	start  time.Time
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type shard struct {
	mu    sync.Mutex
	now   int64 // ticks processed so far
	slots []Timer
	due   []firing // scratch, used only by the ticking goroutine
}

type firing struct {
	t   *Timer
	gen uint16
}

const wheelSlots = 512 // power of two

// NewWheel starts a wheel of n shards with the given resolution (tick).
// Close releases it.
func NewWheel(n int, tick time.Duration) *Wheel {
	n = min(max(n, 1), math.MaxUint8)
	if tick <= 0 {
		tick = 10 * time.Millisecond
	}
	ts := &Wheel{tick: tick, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	for i := 0; i < n; i++ {
		w := &shard{slots: make([]Timer, wheelSlots)}
		for j := range w.slots {
			s := &w.slots[j]
			s.next, s.prev = s, s
		}
		ts.shards = append(ts.shards, w)
	}
	go ts.run()
	return ts
}

// Init binds t to a shard and sets the function it runs when it fires,
// with t. fn runs on the wheel's goroutine: it must be short and must not
// block; it may re-arm t. Because fn is given its timer, a timer embedded
// in an object can fire a function that is not a closure over the object
// (one allocation less per object: engine's heartbeat).
func (ts *Wheel) Init(t *Timer, fn func(*Timer)) {
	t.shard = uint8(int(ts.next.Add(1))%len(ts.shards)) + 1
	t.fn = fn
}

// Reset (re)arms t to fire once after d. It fires at the last tick boundary
// before the deadline (at most one tick early, never more), so a protocol
// deadline is not overshot by the wheel's resolution.
func (ts *Wheel) Reset(t *Timer, d time.Duration) {
	target := int64((time.Since(ts.start) + min(d, maxTicks*ts.tick)) / ts.tick)
	w := ts.shards[t.shard-1]
	w.mu.Lock()
	if t.armed {
		t.unlink()
	}
	t.gen++
	target = min(max(target, w.now+1), w.now+maxTicks)
	t.expire = uint32(target)
	slot := &w.slots[target&(wheelSlots-1)]
	t.prev = slot.prev
	t.next = slot
	slot.prev.next = t
	slot.prev = t
	t.armed = true
	w.mu.Unlock()
}

// isDue reports whether a timer of deadline expire fires at tick now: now is
// at or past expire, modulo 2^32 (deadlines are at most maxTicks ahead).
func isDue(expire uint32, now int64) bool { return int32(uint32(now)-expire) >= 0 }

// Stop disarms t. A callback already collected for firing is suppressed
// unless it has started.
func (ts *Wheel) Stop(t *Timer) {
	if t.shard == 0 {
		return
	}
	w := ts.shards[t.shard-1]
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
func (ts *Wheel) Close() {
	ts.once.Do(func() {
		close(ts.stop)
		<-ts.done
	})
}

func (ts *Wheel) run() {
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
			for _, w := range ts.shards {
				w.advance(target)
			}
		}
	}
}

func (w *shard) advance(target int64) {
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
			if isDue(t.expire, now) {
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
				f.t.fn(f.t)
			}
			due[i] = firing{}
		}
	}
}
