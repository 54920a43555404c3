package pool

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Each mailbox's tasks run in submission order, never two at once, while
// many mailboxes submit concurrently from many goroutines.
func TestWorkersPerMailboxOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  WorkersOptions
	}{
		{"elastic", WorkersOptions{MinWorkers: 1, Batch: 3}},
		{"capped", WorkersOptions{MinWorkers: 1, MaxWorkers: 3, Batch: 3}}, // mailboxes wait and take turns
	} {
		t.Run(tc.name, func(t *testing.T) { testPerMailboxOrder(t, tc.cfg) })
	}
}

func testPerMailboxOrder(t *testing.T, cfg WorkersOptions) {
	w := NewWorkers(cfg)
	defer w.Stop()
	const boxes, perBox = 50, 400
	type box struct {
		mb      Mailbox
		got     []int
		running atomic.Int32
		overlap atomic.Bool
	}
	bs := make([]*box, boxes)
	var done sync.WaitGroup
	done.Add(boxes * perBox)
	for i := range bs {
		b := &box{}
		b.mb.Init(w, perBox)
		bs[i] = b
	}
	var submitters sync.WaitGroup
	for i := range bs {
		b := bs[i]
		submitters.Add(1)
		go func() {
			defer submitters.Done()
			for j := 0; j < perBox; j++ {
				if j%50 == 0 {
					runtime.Gosched() // let workers catch up: mailboxes go idle and are scheduled again
				}
				if err := b.mb.Submit(TaskFunc(func() {
					if b.running.Add(1) != 1 {
						b.overlap.Store(true)
					}
					b.got = append(b.got, j)
					b.running.Add(-1)
					done.Done()
				})); err != nil {
					t.Errorf("Submit: %v", err)
					done.Done()
				}
			}
		}()
	}
	submitters.Wait()
	waitGroup(t, &done, 10*time.Second)
	for i, b := range bs {
		if b.overlap.Load() {
			t.Errorf("mailbox %d ran two tasks at once", i)
		}
		if len(b.got) != perBox {
			t.Fatalf("mailbox %d ran %d tasks, want %d", i, len(b.got), perBox)
		}
		for j, v := range b.got {
			if v != j {
				t.Fatalf("mailbox %d: task #%d was %d (out of order)", i, j, v)
			}
		}
	}
}

// A blocked mailbox does not hold back the others, even with one worker
// to start with.
func TestWorkersMailboxesRunInParallel(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 1})
	defer w.Stop()
	var a, b Mailbox
	a.Init(w, 10)
	b.Init(w, 10)
	release := make(chan struct{})
	started := make(chan struct{})
	_ = a.Submit(TaskFunc(func() { close(started); <-release }))
	<-started
	ran := make(chan struct{})
	_ = b.Submit(TaskFunc(func() { close(ran) }))
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("mailbox b did not run while a was blocked")
	}
	close(release)
}

func TestMailboxLimitForceAndClose(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 1, MaxWorkers: 1})
	defer w.Stop()
	var blocker, m Mailbox
	blocker.Init(w, 1)
	m.Init(w, 3)
	release := make(chan struct{})
	started := make(chan struct{})
	_ = blocker.Submit(TaskFunc(func() { close(started); <-release }))
	<-started // the only worker is busy: m's tasks stay queued
	var ran atomic.Int32
	inc := TaskFunc(func() { ran.Add(1) })
	for i := 0; i < 3; i++ {
		if err := m.Submit(inc); err != nil {
			t.Fatalf("Submit #%d: %v", i, err)
		}
	}
	if err := m.Submit(inc); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("Submit over the limit = %v, want ErrMailboxFull", err)
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	if err := m.ForceSubmit(inc); err != nil {
		t.Fatalf("ForceSubmit: %v", err)
	}
	m.Close()
	if err := m.ForceSubmit(inc); !errors.Is(err, ErrMailboxClosed) {
		t.Fatalf("ForceSubmit after Close = %v, want ErrMailboxClosed", err)
	}
	var done sync.WaitGroup
	done.Add(1)
	close(release)
	// queued tasks still run after Close
	deadline := time.Now().Add(5 * time.Second)
	for ran.Load() != 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := ran.Load(); got != 4 {
		t.Fatalf("ran %d tasks, want 4", got)
	}
	done.Done()
}

func TestWorkersSurvivePanics(t *testing.T) {
	var panics atomic.Int32
	w := NewWorkers(WorkersOptions{MaxWorkers: 1, OnPanic: func(v any, _ Task) {
		if v == "boom" {
			panics.Add(1)
		}
	}})
	defer w.Stop()
	var m Mailbox
	m.Init(w, 10)
	done := make(chan struct{})
	_ = m.Submit(TaskFunc(func() { panic("boom") }))
	_ = m.Submit(TaskFunc(func() { close(done) }))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the task after a panic did not run")
	}
	if panics.Load() != 1 {
		t.Fatalf("OnPanic called %d times, want 1", panics.Load())
	}
}

// Stop runs what was queued before it, then returns.
func TestWorkersStopDrains(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 2, MaxWorkers: 2})
	var m Mailbox
	m.Init(w, 1000)
	var ran atomic.Int32
	for i := 0; i < 500; i++ {
		_ = m.Submit(TaskFunc(func() { ran.Add(1) }))
	}
	w.Stop()
	if ran.Load() != 500 {
		t.Fatalf("ran %d of 500 tasks before Stop returned", ran.Load())
	}
}

// A mailbox's ring is given back once a burst is over: an idle mailbox
// holds no array.
func TestMailboxShrinksWhenIdle(t *testing.T) {
	w := NewWorkers(WorkersOptions{MaxWorkers: 1})
	defer w.Stop()
	var m Mailbox
	m.Init(w, 1000)
	var wg sync.WaitGroup
	wg.Add(200)
	for i := 0; i < 200; i++ {
		_ = m.Submit(TaskFunc(wg.Done))
	}
	waitGroup(t, &wg, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.mu.Lock()
		ring, sched := m.ring, m.scheduled
		m.mu.Unlock()
		if !sched {
			if ring != nil {
				t.Fatalf("idle mailbox kept a ring of %d", len(ring.t))
			}
			// And it still works, in order, after a burst.
			var got []int
			wg.Add(3)
			for i := 0; i < 3; i++ {
				_ = m.Submit(TaskFunc(func() { got = append(got, i); wg.Done() }))
			}
			waitGroup(t, &wg, 5*time.Second)
			if len(got) != 3 || got[0] != 0 || got[2] != 2 {
				t.Fatalf("after going idle, ran %v; want [0 1 2]", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("mailbox never went idle")
		}
		time.Sleep(time.Millisecond)
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("tasks did not finish within %v", d)
	}
}

func BenchmarkMailboxSubmitRun(b *testing.B) {
	w := NewWorkers(WorkersOptions{MinWorkers: 4})
	defer w.Stop()
	var m Mailbox
	m.Init(w, 1<<20)
	var wg sync.WaitGroup
	task := TaskFunc(wg.Done)
	b.ReportAllocs()
	wg.Add(b.N)
	for i := 0; i < b.N; i++ {
		for m.Submit(task) != nil {
		}
	}
	wg.Wait()
}

// counter is a Task that counts its runs (no closure, no allocation).
type counter struct{ n atomic.Int64 }

func (c *counter) Run() { c.n.Add(1) }

// Many connections, a few tasks in flight each: most submits find their
// mailbox idle, so they go through the run queue and wake a worker.
// Submitters run in parallel, as event loops do.
func BenchmarkScheduleManyMailboxes(b *testing.B) {
	w := NewWorkers(WorkersOptions{MinWorkers: 16})
	defer w.Stop()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		const boxes = 256
		mbs := make([]Mailbox, boxes)
		for i := range mbs {
			mbs[i].Init(w, 1<<20)
		}
		var c counter
		var sent int64
		for i := 0; pb.Next(); i++ {
			for sent-c.n.Load() >= boxes { // about one in flight per mailbox
				runtime.Gosched()
			}
			for mbs[i%boxes].Submit(&c) != nil {
			}
			sent++
		}
		for c.n.Load() != sent {
			time.Sleep(10 * time.Microsecond)
		}
	})
}

// One task at a time: submit, then wait until it ran. The cost of handing
// work to a parked worker and hearing back.
func BenchmarkSubmitRoundTrip(b *testing.B) {
	w := NewWorkers(WorkersOptions{MinWorkers: 16})
	defer w.Stop()
	var m Mailbox
	m.Init(w, 16)
	done := make(chan struct{}, 1)
	task := TaskFunc(func() { done <- struct{}{} })
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = m.Submit(task)
		<-done
	}
}

// Stats reports busy and idle workers and the mailboxes waiting for one.
func TestWorkersStats(t *testing.T) {
	w := NewWorkers(WorkersOptions{MinWorkers: 2, MaxWorkers: 2})
	defer w.Stop()
	waitFor := func(what string, cond func(Stats) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond(w.Stats()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stats %+v", what, w.Stats())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("idle at start", func(s Stats) bool { return s.Workers == 2 && s.Idle == 2 && s.Waiting == 0 })
	release := make(chan struct{})
	boxes := make([]Mailbox, 3)
	for i := range boxes {
		boxes[i].Init(w, 4)
		_ = boxes[i].Submit(TaskFunc(func() { <-release }))
	}
	waitFor("both busy, one waiting", func(s Stats) bool { return s.Workers == 2 && s.Idle == 0 && s.Waiting == 1 })
	close(release)
	waitFor("idle again", func(s Stats) bool { return s.Idle == 2 && s.Waiting == 0 })
}
