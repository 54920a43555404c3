package pool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blocker is a set of tasks that block until released (or 60 s pass, so
// that a failing test cannot hang the suite).
type blocker struct {
	release          chan struct{}
	started, running atomic.Int32
	peak             atomic.Int32
	finished         atomic.Int32
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) task() Task {
	return TaskFunc(func() {
		b.started.Add(1)
		n := b.running.Add(1)
		for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
		}
		select {
		case <-b.release:
		case <-time.After(60 * time.Second):
		}
		b.running.Add(-1)
		b.finished.Add(1)
	})
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
}

// 500 connections each stuck in a handler (a slow database call) do not
// hold back an unrelated one: its task runs while all of them are still
// blocked, each on a worker of its own.
func TestBlockedMailboxesDoNotDelayOthers(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 2})
	defer w.Stop()
	const blocked = 500
	b := newBlocker()
	boxes := make([]Mailbox, blocked)
	for i := range boxes {
		boxes[i].Init(w, 4)
		if err := boxes[i].Submit(b.task()); err != nil {
			t.Fatal(err)
		}
	}
	var other Mailbox
	other.Init(w, 4)
	ran := make(chan struct{})
	if err := other.Submit(TaskFunc(func() { close(ran) })); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatalf("the unrelated mailbox did not run within 10 s (%d of %d blocked tasks started, %d workers)", b.started.Load(), blocked, w.Size())
	}
	if f := b.finished.Load(); f != 0 {
		t.Fatalf("%d blocked tasks finished before the unrelated one ran: it waited for them", f)
	}
	waitFor(t, "every blocked task running at once", 10*time.Second, func() bool { return b.running.Load() == blocked })
	if n := w.Size(); n < blocked {
		t.Fatalf("%d workers for %d blocked tasks", n, blocked)
	}
	close(b.release)
	waitFor(t, "blocked tasks finishing", 10*time.Second, func() bool { return b.finished.Load() == blocked })
}

// Workers started for a burst retire once idle, down to the floor, and the
// pool still works afterwards.
func TestWorkersRetireToFloor(t *testing.T) {
	const floor, burst = 3, 40
	w := NewWorkers(WorkersOptions{MinWorkers: floor, IdleTimeout: 40 * time.Millisecond})
	defer w.Stop()
	if n := w.Size(); n != floor {
		t.Fatalf("%d workers at start, want the floor %d", n, floor)
	}
	b := newBlocker()
	boxes := make([]Mailbox, burst)
	for i := range boxes {
		boxes[i].Init(w, 4)
		_ = boxes[i].Submit(b.task())
	}
	waitFor(t, "the burst running at once", 10*time.Second, func() bool { return b.running.Load() == burst })
	if n := w.Size(); n < burst {
		t.Fatalf("%d workers during a burst of %d blocked tasks", n, burst)
	}
	close(b.release)
	waitFor(t, "workers retiring to the floor", 10*time.Second, func() bool { return w.Size() == floor })
	time.Sleep(200 * time.Millisecond) // several idle periods more: never below the floor
	if n := w.Size(); n != floor {
		t.Fatalf("%d workers after idling, want the floor %d", n, floor)
	}
	done := make(chan struct{})
	_ = boxes[0].Submit(TaskFunc(func() { close(done) }))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("no task ran after the workers retired")
	}
}

// At the cap, work waits for a worker instead of starting more; every
// task still runs, in order per mailbox.
func TestWorkersCapHonoured(t *testing.T) {
	const maxW, boxes, perBox = 4, 30, 5
	w := NewWorkers(WorkersOptions{MinWorkers: 1, MaxWorkers: maxW, Batch: 2})
	defer w.Stop()
	b := newBlocker()
	mbs := make([]Mailbox, boxes)
	got := make([][]int, boxes)
	var wg sync.WaitGroup
	wg.Add(boxes * perBox)
	for i := range mbs {
		mbs[i].Init(w, 16)
		if err := mbs[i].Submit(b.task()); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perBox; j++ {
			if err := mbs[i].Submit(TaskFunc(func() { got[i] = append(got[i], j); wg.Done() })); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the cap's worth of blocked tasks running", 10*time.Second, func() bool { return b.running.Load() == maxW })
	time.Sleep(50 * time.Millisecond) // room to overshoot, were the cap not enforced
	if n, r := w.Size(), b.running.Load(); n > maxW || r > maxW {
		t.Fatalf("%d workers, %d tasks running at once; cap %d", n, r, maxW)
	}
	close(b.release)
	waitGroup(t, &wg, 10*time.Second)
	if p := b.peak.Load(); p > maxW {
		t.Fatalf("%d blocked tasks ran at once; cap %d", p, maxW)
	}
	if n := w.Size(); n > maxW {
		t.Fatalf("%d workers; cap %d", n, maxW)
	}
	for i, g := range got {
		if len(g) != perBox {
			t.Fatalf("mailbox %d ran %d of %d tasks", i, len(g), perBox)
		}
		for j, v := range g {
			if v != j {
				t.Fatalf("mailbox %d ran %v: out of order", i, g)
			}
		}
	}
}

// Stop runs everything queued before it, including mailboxes still waiting
// for a worker at the cap, and ends every worker.
func TestWorkersStopDrainsWaitingMailboxes(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 1, MaxWorkers: 2})
	b := newBlocker()
	var ran atomic.Int32
	mbs := make([]Mailbox, 50)
	for i := range mbs {
		mbs[i].Init(w, 16)
		if i < 2 {
			_ = mbs[i].Submit(b.task())
		}
		for j := 0; j < 10; j++ {
			_ = mbs[i].Submit(TaskFunc(func() { ran.Add(1) }))
		}
	}
	waitFor(t, "both workers blocked", 10*time.Second, func() bool { return b.running.Load() == 2 })
	stopped := make(chan struct{})
	go func() { w.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while tasks were still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(b.release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	if n := ran.Load(); n != 500 {
		t.Fatalf("ran %d of 500 tasks before Stop returned", n)
	}
	if n := w.Size(); n != 0 {
		t.Fatalf("%d workers left after Stop", n)
	}
	w.Stop() // again: returns at once
}

// Submitting to an idle mailbox and running the task on a parked worker
// allocates nothing.
func TestSubmitRunDoesNotAllocate(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 4, IdleTimeout: time.Hour})
	defer w.Stop()
	var m Mailbox
	m.Init(w, 16)
	done := make(chan struct{}, 1)
	task := TaskFunc(func() { done <- struct{}{} })
	for i := 0; i < 100; i++ { // warm up: the ring pool, the workers
		_ = m.Submit(task)
		<-done
	}
	if n := testing.AllocsPerRun(1000, func() {
		_ = m.Submit(task)
		<-done
	}); n != 0 {
		t.Fatalf("%.2f allocations per submit and run", n)
	}
}
