package eventloop

import (
	"sync"
	"unsafe"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/prefetch"
	"github.com/fanio/fanio/internal/timer"
)

// executor runs tasks on a loop: a reactor's loop, or a netLink (which is
// its own loop). Execute is safe from any goroutine; fn runs after what the
// loop is doing now. It fails, and fn never runs, once the loop is stopping.
type executor interface {
	Execute(fn func()) error
}

// loop is the per-event-loop state: the list of connections with queued
// writes, drained in one task per wake-up, and scratch space for the code
// that runs on the loop. A reactor has one per loop; a netLink has its
// own.
type loop struct {
	srv  *Server
	exec executor
	rx   reactorLoop // the reactor's own state of the loop (reactor_epoll.go: its poller)

	mu        sync.Mutex
	dirty     []*Conn
	scheduled bool // a flush task is queued on the loop
	inTraffic bool // the loop is in OnTraffic, which flushes when it ends
	// Connections whose link holds bytes, written to again after
	// stallRecheck (outbound.go).
	stalled    []*Conn
	stallArmed bool
	stallTimer timer.Timer

	// Owned by the loop goroutine.
	spare []*Conn
	iov   [][]byte
	items []outItem
	req   codec.Request
	body  []byte   // scratch for chunked bodies
	infl  inflater // permessage-deflate reader
	task  func()

	stalledSpare []*Conn
	stallTask    func()
	epfd         int // gnet only: the poller's descriptor for PauseReads, 0 unknown, -1 none (reactor_gnet.go)
}

func newLoop(s *Server, exec executor) *loop {
	l := &loop{srv: s, exec: exec}
	l.task = l.flushDirty
	l.stallTask = l.recheckStalled
	s.cfg.Timers.Init(&l.stallTimer, func(*timer.Timer) { l.onStallTimer() })
	return l
}

// markDirty queues c for the next flush on its loop, waking the loop if no
// flush is pending. Safe from any goroutine.
func (l *loop) markDirty(c *Conn) { l.markDirtyAll([]*Conn{c}) }

// markDirtyAll is markDirty for many connections of l: one lock and at
// most one wake-up for all of them.
func (l *loop) markDirtyAll(cs []*Conn) {
	l.mu.Lock()
	l.dirty = append(l.dirty, cs...)
	wake := !l.scheduled && !l.inTraffic
	if wake {
		l.scheduled = true
	}
	l.mu.Unlock()
	if wake {
		if err := l.exec.Execute(l.task); err != nil {
			// The engine is shutting down: connections are being closed anyway.
			l.mu.Lock()
			l.scheduled = false
			l.mu.Unlock()
		}
	}
}

// setInTraffic marks the loop as inside OnTraffic (or no longer): writes
// queued meanwhile need no wake-up task, since OnTraffic flushes after
// clearing the mark. Loop only.
func (l *loop) setInTraffic(on bool) {
	l.mu.Lock()
	l.inTraffic = on
	l.mu.Unlock()
}

// traffic runs fn (reading code) as OnTraffic does, then writes what it and
// other goroutines queued meanwhile, in one pass. Loop only.
func (l *loop) traffic(c *Conn, fn func(*Conn)) {
	held := c.holdWrites()
	l.setInTraffic(true)
	fn(c)
	l.setInTraffic(false)
	if held {
		c.releaseWrites()
	}
	l.flushDirty()
	if c.readPaused.Load() || c.pollPaused {
		// gnet turns reads back on whenever its write buffer drains (the
		// epoll loop does not; this is then a no-op).
		c.syncReads()
	}
}

// flushDirty writes the queues of every dirty connection. Loop only.
func (l *loop) flushDirty() {
	for {
		l.mu.Lock()
		if len(l.dirty) == 0 {
			l.scheduled = false
			l.mu.Unlock()
			return
		}
		batch := l.dirty
		l.dirty = l.spare[:0]
		l.mu.Unlock()
		for i, c := range batch {
			// Ask for a connection's state, and then its queue's, ahead of
			// its flush: each is a cache miss after the kernel's work on the
			// others (package prefetch; sio's sender does the same on the
			// sending side). A flush is a system call: two ahead is enough.
			if j := i + 2; j < len(batch) {
				prefetch.Object(unsafe.Pointer(batch[j]), unsafe.Sizeof(Conn{}))
			}
			if j := i + 1; j < len(batch) {
				prefetch.Deref(unsafe.Pointer(batch[j]), unsafe.Offsetof(Conn{}.queue), unsafe.Sizeof(outQueue{}))
			}
			c.flush()
			batch[i] = nil
		}
		l.spare = batch[:0]
	}
}
