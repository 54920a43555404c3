package timer

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// Order is guaranteed within one shard (timers on different shards may fire
// out of order when the ticker catches up after a stall).
func TestTimersFireOnceInOrder(t *testing.T) {
	ts := NewWheel(1, time.Millisecond)
	defer ts.Close()
	var mu sync.Mutex
	var order []int
	done := make(chan struct{})
	timers := make([]Timer, 5)
	for i := range timers {
		i := i
		ts.Init(&timers[i], func(*Timer) {
			mu.Lock()
			order = append(order, i)
			if len(order) == len(timers) {
				close(done)
			}
			mu.Unlock()
		})
		ts.Reset(&timers[i], time.Duration(5+i*15)*time.Millisecond)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timers did not all fire")
	}
	time.Sleep(30 * time.Millisecond) // a second firing would show up here
	mu.Lock()
	defer mu.Unlock()
	if len(order) != len(timers) {
		t.Fatalf("fired %d times, want %d", len(order), len(timers))
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v, want ascending", order)
		}
	}
}

func TestTimerStopAndReset(t *testing.T) {
	ts := NewWheel(1, time.Millisecond)
	defer ts.Close()
	var fired atomic.Int32
	var a, b Timer
	ts.Init(&a, func(*Timer) { fired.Add(1) })
	ts.Init(&b, func(*Timer) { fired.Add(10) })
	ts.Reset(&a, 20*time.Millisecond)
	ts.Stop(&a)
	ts.Reset(&b, 10*time.Millisecond)
	ts.Reset(&b, 400*time.Millisecond) // re-arming replaces the first deadline
	time.Sleep(25 * time.Millisecond)
	if got := fired.Load(); got != 0 {
		t.Fatalf("after 25ms fired=%d, want 0 (a stopped, b pushed back to 400ms)", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fired.Load() != 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := fired.Load(); got != 10 {
		t.Fatalf("fired=%d, want 10 (only b, once)", got)
	}
}

func TestTimerLongerThanWheel(t *testing.T) {
	ts := NewWheel(1, time.Millisecond)
	defer ts.Close()
	var fired atomic.Int64
	var tm Timer
	start := time.Now()
	ts.Init(&tm, func(*Timer) { fired.Store(int64(time.Since(start))) })
	d := time.Duration(wheelSlots+100) * time.Millisecond // more than one lap
	ts.Reset(&tm, d)
	deadline := time.Now().Add(10 * time.Second)
	for fired.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := time.Duration(fired.Load()); got < d-2*time.Millisecond {
		t.Fatalf("fired after %v, want >= %v less one tick", got, d)
	}
}

func TestTimerRearmFromCallback(t *testing.T) {
	ts := NewWheel(1, time.Millisecond)
	defer ts.Close()
	var n atomic.Int32
	var tm Timer
	ts.Init(&tm, func(*Timer) {
		if n.Add(1) < 3 {
			ts.Reset(&tm, 2*time.Millisecond)
		}
	})
	ts.Reset(&tm, 2*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	if got := n.Load(); got != 3 {
		t.Fatalf("fired %d times, want 3", got)
	}
}

func BenchmarkTimerReset(b *testing.B) {
	ts := NewWheel(4, 10*time.Millisecond)
	defer ts.Close()
	tms := make([]Timer, 1024)
	for i := range tms {
		ts.Init(&tms[i], func(*Timer) {})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts.Reset(&tms[i&1023], time.Minute)
	}
}

// A Timer is embedded in every Engine.IO session and allocated for every
// connection being set up.
func TestTimerSize(t *testing.T) {
	if got := unsafe.Sizeof(Timer{}); got > 32 {
		t.Errorf("Timer is %d bytes, want at most 32", got)
	}
}

// Deadlines are kept modulo 2^32 ticks: they compare right across the
// wrap, and a Reset further ahead than maxTicks is brought back to it.
func TestDeadlineModulo(t *testing.T) {
	const wrap = int64(1) << 32
	for _, tc := range []struct {
		expire uint32
		now    int64
		want   bool
	}{
		{5, 5, true},
		{5, 4, false},
		{5, wrap + 5, true},
		{5, wrap + 4, false},
		{math.MaxUint32, wrap, true},                  // armed before the wrap, due after it
		{3, wrap - 2, false},                          // armed across the wrap, not due yet
		{uint32(maxTicks), 0, false},                  // the furthest deadline
		{uint32(wrap - 1), wrap + maxTicks - 2, true}, // a deadline kept waiting long
	} {
		if got := isDue(tc.expire, tc.now); got != tc.want {
			t.Errorf("isDue(expire %d, now %d) = %v, want %v", tc.expire, tc.now, got, tc.want)
		}
	}
	ts := NewWheel(1, time.Millisecond)
	defer ts.Close()
	var tm Timer
	ts.Init(&tm, func(*Timer) {})
	ts.Reset(&tm, 100*24*time.Hour) // 8.64e9 ticks
	w := ts.shards[0]
	w.mu.Lock()
	ahead := int64(tm.expire) - w.now%wrap
	w.mu.Unlock()
	ts.Stop(&tm)
	if ahead <= maxTicks-1000 || ahead > maxTicks {
		t.Errorf("a 100-day timer is armed %d ticks ahead, want about maxTicks (%d)", ahead, maxTicks)
	}
}
