package sio

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Ack answers a client's acknowledgement request. It may be called from
// any goroutine; only the first call sends (later ones do nothing). It
// returns the error of encoding or sending.
type Ack func(args ...any) error

// AckFunc, passed as the last argument of an Emit, asks the client for an
// acknowledgement; it is called once with the client's arguments, or with
// an error (ErrAckTimeout after a Timeout, ErrDisconnected). It runs on the
// socket's mailbox, like an event handler.
type AckFunc func(args Args, err error)

// BroadcastAckFunc, passed as the last argument of a broadcast's Emit,
// collects the acknowledgements of every selected client, as
// BroadcastOperator.EmitWithAck does: it is called once with one Args per
// client that answered, and nil or the error EmitWithAck would return.
type BroadcastAckFunc func(res []Args, err error)

type ackEntry struct {
	p       *pendingAck
	collect func(Args) // a broadcast's collector (Adapter.BroadcastWithAck); must not block
}

// pendingAck is a server-side acknowledgement request to one socket.
type pendingAck struct {
	s     *Socket
	id    int64
	timer timer.Timer
	timed bool
	fn    AckFunc        // called on the mailbox
	ch    chan ackResult // or delivered to a waiting EmitWithAck
	done  atomic.Bool
}

type ackResult struct {
	args Args
	err  error
}

// ackFunc returns the Ack for the client's request id.
func (s *Socket) ackFunc(id int64) Ack {
	var used atomic.Bool
	return func(args ...any) error {
		if !used.CompareAndSwap(false, true) {
			return nil
		}
		p, err := buildPacket(codec.SIOAck, s.nsp.name, "", args)
		if err != nil {
			return err
		}
		p.ID = id
		return s.c.send(p, false)
	}
}

// ackDirect delivers an ACK packet on the event loop when what waits for it
// is not user code (a blocking EmitWithAck, a broadcast collector).
func (s *Socket) ackDirect(p *inPacket) bool {
	s.mu.Lock()
	e, ok := s.acks[p.ackID]
	if !ok || (e.p != nil && e.p.fn != nil) {
		s.mu.Unlock()
		return false
	}
	delete(s.acks, p.ackID)
	s.mu.Unlock()
	args := p.args()
	if e.collect != nil {
		e.collect(args)
	} else {
		e.p.resolve(args, nil)
	}
	return true
}

// onAck handles an ACK on the mailbox (callback acknowledgements).
func (s *Socket) onAck(p *inPacket) {
	s.mu.Lock()
	e, ok := s.acks[p.ackID]
	if ok {
		delete(s.acks, p.ackID)
	}
	s.mu.Unlock()
	if !ok {
		return
	}
	args := p.args()
	if e.collect != nil {
		e.collect(args)
		return
	}
	e.p.resolve(args, nil)
}

// resolve completes an acknowledgement once: it stops the timer and hands
// the result to the waiter or runs the callback (on the mailbox unless
// already there).
func (a *pendingAck) resolve(args Args, err error) {
	if !a.done.CompareAndSwap(false, true) {
		return
	}
	if a.timed {
		a.s.nsp.srv.timers.Stop(&a.timer)
	}
	if a.ch != nil {
		a.ch <- ackResult{args, err}
		return
	}
	if a.fn != nil {
		fn := a.fn
		if err := a.s.c.mb.ForceSubmit(pool.TaskFunc(func() { fn(args, err) })); err != nil {
			// the connection is gone: still tell the callback, here
			fn(args, ErrDisconnected)
		}
	}
}

// onTimeout runs on the timers goroutine.
func (a *pendingAck) onTimeout() {
	a.s.mu.Lock()
	if e, ok := a.s.acks[a.id]; ok && e.p == a {
		delete(a.s.acks, a.id)
	}
	a.s.mu.Unlock()
	a.resolve(nil, ErrAckTimeout)
}

// registerAck registers a pending acknowledgement for id.
func (s *Socket) registerAck(id int64, a *pendingAck, timeout time.Duration) {
	a.s, a.id = s, id
	if timeout > 0 {
		a.timed = true
		timers := s.nsp.srv.timers
		timers.Init(&a.timer, a.onTimeout)
		timers.Reset(&a.timer, timeout)
	}
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[int64]ackEntry)
	}
	s.acks[id] = ackEntry{p: a}
	s.mu.Unlock()
}

func (s *Socket) dropAck(id int64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// registerBroadcastAck routes the acknowledgement id of a broadcast to fn
// (for adapters: InMemoryAdapter.BroadcastWithAck).
func (s *Socket) registerBroadcastAck(id int64, fn func(Args)) {
	s.mu.Lock()
	if s.acks == nil {
		s.acks = make(map[int64]ackEntry)
	}
	s.acks[id] = ackEntry{collect: fn}
	s.mu.Unlock()
}

// forgetAck drops the pending acknowledgement id, if any.
func (s *Socket) forgetAck(id int64) {
	s.mu.Lock()
	if e, ok := s.acks[id]; ok && e.collect != nil {
		delete(s.acks, id)
	}
	s.mu.Unlock()
}

// ackCollector gathers the acknowledgements of one broadcast.
type ackCollector struct {
	mu        sync.Mutex
	servers   int // nodes expected to report their client count
	reported  int
	expected  int
	responses []Args
	timedOut  bool
	finished  bool
	done      chan struct{}
	timer     timer.Timer
	nsp       *Namespace
	id        int64
}

func (c *ackCollector) clientCount(n int) {
	c.mu.Lock()
	c.reported++
	c.expected += n
	c.checkLocked()
	c.mu.Unlock()
}

func (c *ackCollector) add(args Args) {
	c.mu.Lock()
	if !c.finished {
		c.responses = append(c.responses, args)
		c.checkLocked()
	}
	c.mu.Unlock()
}

func (c *ackCollector) checkLocked() {
	if !c.finished && c.reported >= c.servers && len(c.responses) >= c.expected {
		c.finished = true
		close(c.done)
	}
}

func (c *ackCollector) timeout() { c.finish(true) }

func (c *ackCollector) finish(timedOut bool) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished = true
	c.timedOut = timedOut
	close(c.done)
	c.mu.Unlock()
}

// forget drops the id on every socket of the namespace, as the reference
// does when a broadcast's acknowledgements time out.
func (c *ackCollector) forget() {
	c.nsp.EachSocket(func(s *Socket) bool {
		s.forgetAck(c.id)
		return true
	})
}

func (c *ackCollector) snapshot() []Args {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.responses
}
