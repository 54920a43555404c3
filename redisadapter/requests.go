package redisadapter

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/sio"
)

// ErrTimeout is what a request's *TimeoutError matches (errors.Is): not
// every node answered within the request timeout.
var ErrTimeout = errors.New("redisadapter: timeout reached")

// TimeoutError: a request (fetchSockets, allRooms, serverSideEmit, ...)
// got Answered of the Expected answers before its timeout. What came is
// returned beside it. For ServerSideEmitWithAck it also matches
// sio.ErrAckTimeout.
type TimeoutError struct {
	Request            string
	Answered, Expected int
}

func (e *TimeoutError) Error() string {
	return "redisadapter: timeout reached while waiting for " + e.Request + " responses: only " +
		strconv.Itoa(e.Answered) + " responses received out of " + strconv.Itoa(e.Expected)
}

// Is makes errors.Is(err, ErrTimeout) true, and errors.Is(err,
// sio.ErrAckTimeout) for acknowledgements.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || (target == sio.ErrAckTimeout && e.Request == "serverSideEmit")
}

type requestKind uint8

const (
	reqSockets requestKind = iota
	reqAllRooms
	reqFetch
	reqServerSideEmit
)

var requestNames = [...]string{"sockets", "allRooms", "fetchSockets", "serverSideEmit"}

// pending is a request waiting for the other nodes' answers.
type pending struct {
	kind     requestKind
	expected int // answers expected
	answered int
	ids      []sio.SocketID
	rooms    []sio.Room
	sockets  []sio.SocketDetails
	acks     []sio.Args
	done     chan struct{}
	closed   bool
	err      error
}

// pendingSet holds a node's requests by id.
type pendingSet struct {
	mu sync.Mutex
	m  map[string]*pending
}

func (ps *pendingSet) add(id string, p *pending) {
	p.done = make(chan struct{})
	ps.mu.Lock()
	if ps.m == nil {
		ps.m = make(map[string]*pending)
	}
	ps.m[id] = p
	ps.mu.Unlock()
}

func (ps *pendingSet) has(id string) bool {
	ps.mu.Lock()
	_, ok := ps.m[id]
	ps.mu.Unlock()
	return ok
}

func (ps *pendingSet) remove(id string) {
	ps.mu.Lock()
	delete(ps.m, id)
	ps.mu.Unlock()
}

// answer records one answer to request id with fn (under the set's lock)
// and completes the request when every answer is in. It reports whether
// the request was there.
func (ps *pendingSet) answer(id string, fn func(p *pending)) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.m[id]
	if p == nil {
		return false
	}
	p.answered++
	fn(p)
	if p.answered >= p.expected {
		p.closed = true
		close(p.done)
		delete(ps.m, id)
	}
	return true
}

// wait waits for request id to complete, its timeout, ctx, or the
// adapter's closing (failAll). On a timeout the error is a *TimeoutError
// and what came is left in p.
func (ps *pendingSet) wait(ctx context.Context, c *Client, id string, p *pending, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
		return p.err
	case <-t.C:
	case <-ctx.Done():
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if p.closed {
		return p.err
	}
	delete(ps.m, id)
	p.closed = true
	close(p.done)
	if err := ctx.Err(); err != nil {
		return err
	}
	c.stats.requestTimeouts.Add(1)
	return &TimeoutError{Request: requestNames[p.kind], Answered: p.answered, Expected: p.expected}
}

// failAll ends every request with err.
func (ps *pendingSet) failAll(err error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for id, p := range ps.m {
		p.err = err
		p.closed = true
		close(p.done)
		delete(ps.m, id)
	}
}

// ackRequest routes the answers to a broadcast with acknowledgements that
// this node sent: each node's client count, and each client's ack.
type ackRequest struct {
	clientCount func(int)
	ack         func(sio.Args, error)
	timer       *time.Timer
}

type ackSet struct {
	mu sync.Mutex
	m  map[string]*ackRequest
}

// add registers id for d (then it is forgotten, as Node's adapter does
// after the broadcast's timeout).
func (as *ackSet) add(id string, r *ackRequest, d time.Duration) {
	as.mu.Lock()
	if as.m == nil {
		as.m = make(map[string]*ackRequest)
	}
	as.m[id] = r
	as.mu.Unlock()
	r.timer = time.AfterFunc(d, func() { as.remove(id) })
}

func (as *ackSet) get(id string) *ackRequest {
	as.mu.Lock()
	r := as.m[id]
	as.mu.Unlock()
	return r
}

func (as *ackSet) remove(id string) {
	as.mu.Lock()
	r := as.m[id]
	delete(as.m, id)
	as.mu.Unlock()
	if r != nil {
		r.timer.Stop()
	}
}

func (as *ackSet) clear() {
	as.mu.Lock()
	m := as.m
	as.m = nil
	as.mu.Unlock()
	for _, r := range m {
		r.timer.Stop()
	}
}

// ackRetention is how long the answers to a broadcast with
// acknowledgements are awaited: its timeout, or the request timeout when
// it has none.
func ackRetention(opts *sio.BroadcastOptions, c *Client) time.Duration {
	if opts.Flags.Timeout > 0 {
		return opts.Flags.Timeout
	}
	return c.opts.RequestsTimeout
}

// bufPool holds the buffers messages are encoded into before a
// synchronous publish.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// runHandler runs a server-side emit handler on its own goroutine (user
// code may block), turning a panic into a log line.
func runHandler(c *Client, fn func()) {
	go func() {
		defer func() {
			if v := recover(); v != nil {
				c.opts.Logger.Error("redisadapter: server-side emit handler panicked", "panic", v)
			}
		}()
		fn()
	}()
}

// onceFlag is a once-only flag (an Ack answers once).
type onceFlag struct{ v atomic.Bool }

// first reports true the first time only.
func (f *onceFlag) first() bool { return f.v.CompareAndSwap(false, true) }
