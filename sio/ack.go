package sio

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/internal/pool"
	"github.com/fanio/fanio/internal/timer"
)

// Ack answers a client's acknowledgement request. It may be called from
// any goroutine; only the first call sends (later ones do nothing). It
// returns the error of encoding or sending.
type Ack func(args ...any) error

// AckFunc, passed as the last argument of an Emit to one socket, asks the
// client for an acknowledgement. It is called exactly once, with the
// client's arguments or an error (ErrAckTimeout after a Timeout,
// ErrDisconnected when the socket disconnected first), unless Emit
// returned an error, in which case it is never called. It runs on the
// socket's mailbox, like an event handler.
type AckFunc func(args Args, err error)

// BroadcastAckFunc, passed as the last argument of a broadcast's Emit,
// collects the acknowledgements of every selected client, as
// BroadcastOperator.EmitWithAck does: it is called once, on a goroutine of
// its own, with one Args per client that answered and nil or the error
// EmitWithAck would return.
type BroadcastAckFunc func(res []Args, err error)

// ackEntry is one acknowledgement the server waits for from a socket:
// a request of its own (pending), or its share of a broadcast's (collect).
// Every entry ends through complete, exactly once: with the client's
// answer, or with an error when the answer can no longer come.
type ackEntry struct {
	pending *pendingAck
	// collect is the broadcast's collector (Adapter.BroadcastWithAck's
	// ack): it gets the answer, or the error of a socket that left first.
	// It must not block.
	collect func(Args, error)
}

// complete ends the entry with the client's answer or err. onMailbox: the
// caller runs on the socket's mailbox, so an AckFunc may run right there.
func (e ackEntry) complete(args Args, err error, onMailbox bool) {
	if e.collect != nil {
		e.collect(args, err)
		return
	}
	e.pending.resolve(args, err, onMailbox)
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

// resolve completes the request once: it stops the timer and hands the
// result to the waiter, or runs the callback on the mailbox (right here if
// onMailbox).
func (a *pendingAck) resolve(args Args, err error, onMailbox bool) {
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
	fn := a.fn
	if onMailbox {
		fn(args, err)
		return
	}
	if a.s.c.mb.ForceSubmit(pool.TaskFunc(func() { fn(args, err) })) != nil {
		// The mailbox is closed (the connection is gone, its disconnect
		// queued): still never on the caller's goroutine, which may be
		// the timer's.
		go fn(args, err)
	}
}

// onTimeout runs on the timer goroutine.
func (a *pendingAck) onTimeout() {
	if _, ok := a.s.takeAck(a.id, a); ok {
		a.s.nsp.srv.stats.ackTimeouts.Add(1)
	}
	a.resolve(nil, ErrAckTimeout, false)
}

// ackFunc returns the Ack for the client's request id.
func (s *Socket) ackFunc(id int64) Ack {
	var used atomic.Bool
	return func(args ...any) error {
		if !used.CompareAndSwap(false, true) {
			return nil
		}
		return s.c.srv.parser.sendAck(s.c.sess, s.nsp.name, id, args)
	}
}

// addAckLocked registers e for id unless the socket is disconnecting (its
// entries have been or are about to be failed: a late one would never
// end). s.mu must be held.
func (s *Socket) addAckLocked(id int64, e ackEntry) bool {
	if s.flags.Load()&(socketEnded|socketClosing) != 0 {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[int64]ackEntry)
	}
	s.acks[id] = e
	s.acksPending(1)
	return true
}

// acksPending counts n acknowledgements registered (n > 0) or ended.
func (s *Socket) acksPending(n int) {
	s.nsp.srv.stats.cells[s.c.cellIndex()].acksPending.Add(int64(n))
}

// registerAck registers the request a for id, with its timeout (none if
// 0). It reports false if the socket is disconnecting.
func (s *Socket) registerAck(id int64, a *pendingAck, timeout time.Duration) bool {
	a.s, a.id = s, id
	s.mu.Lock()
	ok := s.addAckLocked(id, ackEntry{pending: a})
	s.mu.Unlock()
	if ok && timeout > 0 {
		a.timed = true
		timers := s.nsp.srv.timers
		timers.Init(&a.timer, func(*timer.Timer) { a.onTimeout() })
		timers.Reset(&a.timer, timeout)
	}
	return ok
}

// registerBroadcastAck routes the answer to a broadcast's ack id to
// collect (InMemoryAdapter.BroadcastWithAck). It reports false if the
// socket is disconnecting: it is then not one of the broadcast's members.
func (s *Socket) registerBroadcastAck(id int64, collect func(Args, error)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addAckLocked(id, ackEntry{collect: collect})
}

// takeAck removes and returns the entry of id (only if it is a's, when a
// is not nil).
func (s *Socket) takeAck(id int64, a *pendingAck) (ackEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.acks[id]
	if !ok || (a != nil && e.pending != a) {
		return ackEntry{}, false
	}
	delete(s.acks, id)
	s.acksPending(-1)
	return e, true
}

// forgetBroadcastAck drops the entry of a broadcast whose collector ended
// (timeout, ctx), as the reference does; a late answer is then ignored.
func (s *Socket) forgetBroadcastAck(id int64) {
	s.mu.Lock()
	if e, ok := s.acks[id]; ok && e.collect != nil {
		delete(s.acks, id)
		s.acksPending(-1)
	}
	s.mu.Unlock()
}

// failAcks ends every entry still waiting with err (AckFuncs on the
// mailbox: right here if onMailbox).
func (s *Socket) failAcks(err error, onMailbox bool) {
	s.mu.Lock()
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	if len(acks) > 0 {
		s.acksPending(-len(acks))
	}
	for _, e := range acks {
		e.complete(nil, err, onMailbox)
	}
}

// ackDirect delivers an ACK packet on the event loop when what waits for
// it is not user code (a blocking EmitWithAck, a broadcast collector); it
// reports false for an AckFunc, whose ACK goes through the mailbox.
func (s *Socket) ackDirect(p *inPacket) bool {
	s.mu.Lock()
	e, ok := s.acks[p.ackID]
	if !ok || (e.pending != nil && e.pending.fn != nil) {
		s.mu.Unlock()
		return false
	}
	delete(s.acks, p.ackID)
	s.mu.Unlock()
	s.acksPending(-1)
	e.complete(p.args(), nil, false)
	return true
}

// onAck handles an ACK on the mailbox.
func (s *Socket) onAck(p *inPacket) {
	if e, ok := s.takeAck(p.ackID, nil); ok {
		e.complete(p.args(), nil, true)
	}
}

// ackCollector gathers the acknowledgements of one broadcast. It ends once,
// when every selected client answered or left, when the Timeout fires, or
// when the EmitWithAck's ctx ends.
type ackCollector struct {
	nsp      *Namespace
	id       int64
	callback BroadcastAckFunc // Emit's: run on its own goroutine at the end
	done     chan struct{}    // EmitWithAck's: closed at the end
	timer    timer.Timer
	timed    bool

	mu        sync.Mutex
	servers   int // nodes expected to report their client count
	reported  int
	expected  int
	responses []Args
	gone      int  // members that left without answering
	timedOut  bool // ended by the Timeout
	ended     bool
	complete  bool // ended with every member accounted for
}

func (c *ackCollector) clientCount(n int) {
	c.mu.Lock()
	c.reported++
	c.expected += n
	end := c.checkLocked()
	c.mu.Unlock()
	if end {
		c.finish()
	}
}

// add is the adapter's ack: one member's answer, or err when it left
// without answering.
func (c *ackCollector) add(args Args, err error) {
	c.mu.Lock()
	end := false
	if !c.ended {
		if err != nil {
			c.gone++
		} else {
			c.responses = append(c.responses, args)
		}
		end = c.checkLocked()
	}
	c.mu.Unlock()
	if end {
		c.finish()
	}
}

// checkLocked ends the collector if every member is accounted for.
func (c *ackCollector) checkLocked() bool {
	if c.ended || c.reported < c.servers || len(c.responses)+c.gone < c.expected {
		return false
	}
	c.ended, c.complete = true, true
	return true
}

// onTimeout runs on the timer goroutine.
func (c *ackCollector) onTimeout() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.timedOut = true, true
	c.mu.Unlock()
	c.nsp.srv.stats.ackTimeouts.Add(1)
	c.finish()
}

// cancel ends the collector early (ctx, a failed broadcast). It reports
// whether it did (false: it had ended already).
func (c *ackCollector) cancel() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.ended = true
	return true
}

// finish runs once, after the collector ended: it stops the timer and
// wakes the waiter or starts the callback. It never runs user code on the
// caller's goroutine, which may be an event loop or the timer's.
func (c *ackCollector) finish() {
	if c.timed {
		c.nsp.srv.timers.Stop(&c.timer)
	}
	if c.callback != nil {
		go func() {
			res, err := c.result()
			c.forgetUnlessComplete()
			c.callback(res, err)
		}()
		return
	}
	close(c.done)
}

// result is what EmitWithAck returns once the collector ended.
func (c *ackCollector) result() ([]Args, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := c.responses
	if !c.timedOut && c.gone == 0 {
		return res, nil
	}
	return res, &AckError{
		Expected: c.expected, Answered: len(res), Disconnected: c.gone,
		TimedOut: c.timedOut, Responses: res,
	}
}

// forgetUnlessComplete drops the broadcast's entries on every socket of
// the namespace when some never answered.
func (c *ackCollector) forgetUnlessComplete() {
	c.mu.Lock()
	complete := c.complete
	c.mu.Unlock()
	if complete {
		return
	}
	c.nsp.EachSocket(func(s *Socket) bool {
		s.forgetBroadcastAck(c.id)
		return true
	})
}

// collect broadcasts p and waits for the acknowledgements (callback nil),
// or returns at once and calls callback at the end.
func (o BroadcastOperator) collect(ctx context.Context, p *Packet, callback BroadcastAckFunc) ([]Args, error) {
	p.ID = o.nsp.ackIDs.Add(1) - 1
	servers, err := o.nsp.adapter.ServerCount()
	if err != nil {
		return nil, err
	}
	c := &ackCollector{nsp: o.nsp, id: p.ID, servers: servers, callback: callback}
	if callback == nil {
		c.done = make(chan struct{})
	}
	if d := o.flags.Timeout; d > 0 {
		c.timed = true
		timers := o.nsp.srv.timers
		timers.Init(&c.timer, func(*timer.Timer) { c.onTimeout() })
		timers.Reset(&c.timer, d)
	}
	if err := o.nsp.adapter.BroadcastWithAck(p, o.options(), c.clientCount, c.add); err != nil {
		if c.cancel() {
			if c.timed {
				o.nsp.srv.timers.Stop(&c.timer)
			}
			c.forgetUnlessComplete()
		}
		return nil, err
	}
	if callback != nil {
		return nil, nil
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if c.cancel() {
			c.finish()
			c.forgetUnlessComplete()
			res, _ := c.result()
			return res, ctx.Err()
		}
		<-c.done
	}
	res, err := c.result()
	c.forgetUnlessComplete()
	return res, err
}
