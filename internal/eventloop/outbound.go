package eventloop

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fanio/fanio/internal/pool"
)

// A connection's outbound side: its write queue, the budget that bounds
// it, and the writes that drain it.
//
// The budget (Options.MaxOutboundBytes) counts everything the connection
// holds unwritten: the queue (each item's bytes and bookkeeping) and what
// the link (the reactor's buffer, or a netLink's) still holds of earlier writes.
// It is checked before anything is queued, never after a copy. To keep the
// link's share small, the loop hands the link at most writeChunk bytes
// beyond what the kernel takes at once, and nothing more while the link
// still holds bytes: a link copies what the kernel refuses into a buffer of
// its own, one per connection, so the rest of a backlog stays in the queue
// as references (a broadcast frame shared by every member is not copied per
// member). A link that reports its drain on the loop (the epoll link) gets
// the connection written to again then; for the others (gnet reports no
// drain; a netLink reports it from its writer goroutine, which may come
// before the loop stalls the connection) it is looked at again every
// stallRecheck.

const (
	itemEndsResponse = 1 << iota
	itemCloseAfter
	itemVolatile // dropped rather than overflow; evicted first with dropVolatile
	itemNoBudget // a close frame: queued even past the budget
	itemStarted  // partly handed to the link: it can no longer be dropped
)

// outItem is one queued write. bb, when set, owns b and goes back to the
// pool once b has been handed to the kernel or to the link's buffer;
// otherwise b is shared and must stay unchanged until written.
type outItem struct {
	b     []byte
	bb    *pool.Buffer
	flags uint8
}

// itemOverhead is what a queued item costs beside its bytes: charged to
// the budget, so that a backlog of tiny packets is bounded in memory too.
const itemOverhead = int(unsafe.Sizeof(outItem{}))

const (
	// writeChunk bounds what the link may hold copied: the loop writes
	// more only while the link holds less than writeChunk-writeMin.
	writeChunk = 64 << 10
	writeMin   = writeChunk / 4
	// stallRecheck is how often a connection whose link still holds bytes
	// is written to again.
	stallRecheck = 10 * time.Millisecond
)

// Account is a running total of outbound backlog shared by many
// connections (SetAccount), to which its owner may add backlog of its own
// (polling queues): what a process-wide budget is checked against.
type Account struct{ n atomic.Int64 }

// Add adds n bytes (negative: removes).
func (a *Account) Add(n int) { a.n.Add(int64(n)) }

// Load returns the total.
func (a *Account) Load() int64 { return a.n.Load() }

// outQueue is a connection's pending writes, a FIFO from head. Queues are
// pooled and handed back once emptied, so that thousands of idle
// connections do not each pin an array.
type outQueue struct {
	items []outItem
	head  int
	// first is items' array while the backlog is short (nearly always):
	// the items are stored beside the header, one cache miss where an
	// array of their own was a second. (A write alone needs no queue:
	// Conn.one.)
	first [2]outItem
}

var outQueues = sync.Pool{New: func() any {
	q := &outQueue{}
	q.items = q.first[:0]
	return q
}}

func (q *outQueue) len() int { return len(q.items) - q.head }

func (q *outQueue) push(it outItem) {
	if q.head > 0 && len(q.items) == cap(q.items) && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
	q.items = append(q.items, it)
}

// drop releases the buffers of the items left.
func (q *outQueue) drop() {
	for i := q.head; i < len(q.items); i++ {
		pool.Put(q.items[i].bb)
		q.items[i] = outItem{}
	}
}

// release empties q, whose items must have been taken (takeLocked clears
// them) or dropped, and pools it.
func (q *outQueue) release() {
	q.head = 0
	if cap(q.items) > 64 {
		q.items = q.first[:0] // don't let one burst pin a big array in the pool
	} else {
		q.items = q.items[:0]
	}
	outQueues.Put(q)
}

// Queued is the number of bytes the connection holds unwritten: queued
// (with each item's overhead) and held by the link.
func (c *Conn) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued + c.held
}

// SetMark marks the connection's output position: everything queued so
// far. MarkSent reports when all of it has left the queue. There is one
// mark per connection (engine marks the last ping, so that a pong counts
// only once its ping has left).
func (c *Conn) SetMark() {
	c.mu.Lock()
	items := 0
	if c.one != nil {
		items = 1
	} else if c.queue != nil {
		items = c.queue.len()
	}
	c.markLeft = c.queued - items*itemOverhead
	c.mu.Unlock()
}

// MarkSent reports whether everything queued before SetMark has left the
// queue: handed to the kernel or to the link's buffer (at most writeChunk
// bytes, which the kernel takes as the peer reads), or dropped.
func (c *Conn) MarkSent() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.markLeft <= 0
}

// CloseSlowReader closes the connection at once, dropping what it holds,
// as a slow reader (the owner is told ErrSlowReader): for a budget shared
// by many connections, over which the largest backlogs go first. Safe from
// any goroutine.
func (c *Conn) CloseSlowReader() {
	c.mu.Lock()
	if c.closed || c.overflow {
		c.mu.Unlock()
		return
	}
	c.overflow = true
	c.closeErr = ErrSlowReader
	wake := c.setDirtyLocked()
	c.mu.Unlock()
	if wake {
		c.loop.markDirty(c)
	}
}

// SetDropVolatile chooses what happens when a message does not fit in the
// budget: with on, queued volatile messages are dropped first to make room;
// the connection closes as a slow reader only if that is not enough. Off
// (the default) closes it at once.
func (c *Conn) SetDropVolatile(on bool) {
	c.mu.Lock()
	c.dropVolatile = on
	c.mu.Unlock()
}

// SetAccount makes the connection's backlog count in a (nil: in none).
func (c *Conn) SetAccount(a *Account) {
	c.mu.Lock()
	c.chargeLocked(-c.queued - c.held)
	c.account = a
	c.chargeLocked(c.queued + c.held)
	c.mu.Unlock()
}

func (c *Conn) chargeLocked(n int) {
	if c.account != nil && n != 0 {
		c.account.Add(n)
	}
}

// setHeldLocked records what the link holds now.
func (c *Conn) setHeldLocked(h int) {
	c.chargeLocked(h - c.held)
	c.held = h
}

// kick makes the loop flush c. Safe from any goroutine.
func (c *Conn) kick() {
	c.mu.Lock()
	wake := c.setDirtyLocked()
	c.mu.Unlock()
	if wake {
		c.loop.markDirty(c)
	}
}

// setDirtyLocked marks c as having work for its loop and reports whether
// it must be queued there (it was not already). c.mu held.
func (c *Conn) setDirtyLocked() (wake bool) {
	wake = !c.dirty
	c.dirty = true
	return wake
}

// enqueue queues it within the budget. A volatile item that does not fit
// is dropped (false, nil); any other closes the connection as a slow
// reader (ErrSlowReader), unless dropping queued volatile items makes room
// and the connection asked for that.
func (c *Conn) enqueue(it outItem) (bool, error) {
	return c.enqueueIn(it, nil)
}

// enqueueIn is enqueue, with the wake-up of c's loop, if one is needed,
// left to wb (nil: done now).
func (c *Conn) enqueueIn(it outItem, wb *WakeBatch) (bool, error) {
	srv := c.loop.srv
	n := len(it.b) + itemOverhead
	c.mu.Lock()
	if c.closed || c.closing || c.overflow {
		c.mu.Unlock()
		pool.Put(it.bb)
		return false, ErrConnClosed
	}
	if it.flags&itemNoBudget == 0 && c.queued+c.held+n > c.outCap() {
		if it.flags&itemVolatile != 0 {
			c.mu.Unlock()
			pool.Put(it.bb)
			srv.volatileDropped.Add(1)
			return false, nil
		}
		if c.dropVolatile {
			c.evictVolatileLocked()
		}
		if c.queued+c.held+n > c.outCap() {
			// Drop instead of growing: the flush closes the connection.
			c.overflow = true
			c.closeErr = ErrSlowReader
			srv.slowReaders.Add(1)
			wake := c.setDirtyLocked()
			c.mu.Unlock()
			pool.Put(it.bb)
			if wake {
				c.loop.markDirty(c)
			}
			return false, ErrSlowReader
		}
	}
	if c.canWriteNowLocked(it) {
		w := c.writeNow(it.b)
		if w == len(it.b) {
			c.mu.Unlock()
			pool.Put(it.bb)
			return true, nil
		}
		if w > 0 {
			// The peer has the frame's head: the rest goes out next, whatever
			// the budget, and can no longer be dropped.
			it.b = it.b[w:]
			it.flags |= itemStarted | itemNoBudget
			n = len(it.b) + itemOverhead
		}
	}
	switch {
	case c.queue == nil && c.one == nil && it.bb == nil && len(it.b) > 0 && len(it.b) <= math.MaxInt32:
		c.one = unsafe.Pointer(unsafe.SliceData(it.b))
		c.oneLen = int32(len(it.b))
		c.oneFlags = it.flags
	default:
		c.spillLocked()
		if c.queue == nil {
			c.queue = outQueues.Get().(*outQueue)
		}
		c.queue.push(it)
	}
	c.queued += n
	c.chargeLocked(n)
	wake := c.setDirtyLocked()
	c.mu.Unlock()
	if wake {
		if wb != nil {
			wb.add(c)
		} else {
			c.loop.markDirty(c)
		}
	}
	return true, nil
}

// canWriteNowLocked reports whether it may be written to the socket by
// the calling goroutine instead of queued for the loop: a frame of the
// connection's own on a WebSocket (an owned buffer: an acknowledgement,
// an emit to one socket — not a broadcast's shared frame, whose members'
// backlogs the loop writes with one system call each however many
// broadcasts they hold), with nothing ahead of it (nothing queued,
// nothing the link holds, no flush of the loop's in progress: dirty stays
// set while the loop writes what it took, and while it runs the
// connection's reading code, holdWrites), and small enough that the
// system call under c.mu is short. An answer then costs no wake-up of the
// loop and no pass over the queue there (BENCHMARKS.md, issue 14 round
// 5). c.mu held.
func (c *Conn) canWriteNowLocked(it outItem) bool {
	return it.bb != nil && c.mode == modeWebSocket && it.flags&^itemVolatile == 0 &&
		c.queue == nil && c.one == nil && c.held == 0 && !c.dirty && len(it.b) <= writeChunk
}

// holdWrites marks c dirty while the loop runs its reading code, so that
// what is written to c meanwhile, here or on other goroutines, is queued
// and goes out after that code, in one pass, rather than at once: an
// answer written by a request's handler leaves after the handler returns
// (the session it opens is registered by then), and several answers to
// one read share one system call. It reports whether it set the mark
// (c was not dirty already: then releaseWrites must clear it). Loop only.
func (c *Conn) holdWrites() bool {
	c.mu.Lock()
	set := !c.dirty
	c.dirty = true
	c.mu.Unlock()
	return set
}

// releaseWrites ends holdWrites: it writes what was queued meanwhile, or
// clears the mark. Loop only.
func (c *Conn) releaseWrites() {
	c.mu.Lock()
	pending := c.queue != nil || c.one != nil || c.closing || c.overflow
	if !pending {
		c.dirty = false
		if !c.closed {
			c.setHeldLocked(c.ln.OutboundBuffered())
		}
	}
	c.mu.Unlock()
	if pending {
		c.flush()
	}
}

// evictVolatileLocked drops the queued volatile items not yet started.
func (c *Conn) evictVolatileLocked() {
	c.spillLocked()
	q := c.queue
	if q == nil {
		return
	}
	j, dropped := q.head, 0
	for i := q.head; i < len(q.items); i++ {
		it := q.items[i]
		if it.flags&itemVolatile != 0 && it.flags&itemStarted == 0 {
			n := len(it.b) + itemOverhead
			c.queued -= n
			c.markLeft -= len(it.b)
			c.chargeLocked(-n)
			pool.Put(it.bb)
			dropped++
			continue
		}
		q.items[j] = it
		j++
	}
	clear(q.items[j:])
	q.items = q.items[:j]
	c.loop.srv.volatileDropped.Add(uint64(dropped))
}

// takeLocked moves up to room bytes from the head of the queue to dst; an
// item larger than what is left of room is split (its tail stays queued,
// owning the buffer).
func (c *Conn) takeLocked(dst []outItem, room int) []outItem {
	q := c.queue
	for q.len() > 0 && room > 0 {
		it := &q.items[q.head]
		if len(it.b) <= room {
			n := len(it.b) + itemOverhead
			c.queued -= n
			c.markLeft -= len(it.b)
			c.chargeLocked(-n)
			room -= len(it.b)
			dst = append(dst, *it)
			*it = outItem{}
			q.head++
			continue
		}
		if len(dst) > 0 && room < writeMin {
			break
		}
		dst = append(dst, outItem{b: it.b[:room]})
		it.b = it.b[room:]
		it.flags |= itemStarted
		c.queued -= room
		c.markLeft -= room
		c.chargeLocked(-room)
		room = 0
	}
	if q.len() == 0 {
		q.release()
		c.queue = nil
	}
	return dst
}

const maxIov = 1024

// flush writes what the budget of the link allows, then makes the poller's
// read interest match PauseReads. Loop only.
func (c *Conn) flush() {
	c.writeOut()
	if c.readPaused.Load() || c.pollPaused {
		c.syncReads()
	}
}

// writeOut hands queued bytes to the link while it holds less than
// writeChunk, then closes a closing connection once everything is out, or
// stalls it until the link drains. Loop only.
func (c *Conn) writeOut() {
	l := c.loop
	for {
		c.mu.Lock()
		if c.closed || c.lingering {
			c.dirty = false
			c.mu.Unlock()
			return
		}
		if c.overflow {
			c.dirty = false
			c.mu.Unlock()
			c.ln.Close()
			return
		}
		held := c.ln.OutboundBuffered()
		c.setHeldLocked(held)
		if held == 0 && !c.closing && c.writeOneLocked() {
			c.mu.Unlock()
			return
		}
		c.spillLocked()
		q := c.queue
		room := writeChunk - held
		if q == nil || room < writeMin {
			// dirty stays set until here, while what was taken is being
			// written: a writer that sees it clear writes at once
			// (canWriteNowLocked), which must not pass those bytes.
			c.dirty = false
			pending, closing := q != nil, c.closing
			c.mu.Unlock()
			c.afterWrites(pending, held, closing)
			return
		}
		items := c.takeLocked(l.items[:0], room)
		forceClose := c.closeAfterResponse
		c.mu.Unlock()
		err := c.writeItems(items, forceClose)
		l.items = items[:0]
		if err != nil {
			return // the link closed the connection
		}
	}
}

// oneItem is the write held in c.one. c.mu held.
func (c *Conn) oneItem() outItem {
	return outItem{b: unsafe.Slice((*byte)(c.one), c.oneLen), flags: c.oneFlags}
}

func (c *Conn) clearOneLocked() {
	c.one, c.oneLen, c.oneFlags = nil, 0, 0
}

// spillLocked moves the write held in c.one, if any, into the queue, which
// is empty then (one is set only while queue is nil): what follows it, or a
// pass that needs a queue, finds every pending write there, in order. c.mu
// held.
func (c *Conn) spillLocked() {
	if c.one == nil {
		return
	}
	q := outQueues.Get().(*outQueue)
	q.push(c.oneItem())
	c.queue = q
	c.clearOneLocked()
}

// writeOneLocked writes the pending write when it is the only one and a
// plain message (a broadcast's delivery, nearly always) to the socket
// under c.mu, and reports whether all of it went out: c is then clean, for
// one lock and no pass over a list where writeOut's general path takes two
// and several (BENCHMARKS.md, issue 14 round 6). Otherwise what the socket
// took is off the write, and the general path writes the rest. The write
// under c.mu is as short as writeNow's for an answer. Loop only, c.mu
// held, nothing held by the link.
func (c *Conn) writeOneLocked() bool {
	var it *outItem
	var one outItem
	switch {
	case c.one != nil:
		one = c.oneItem()
		it = &one
	case c.queue != nil && c.queue.len() == 1:
		it = &c.queue.items[c.queue.head]
	default:
		return false
	}
	if it.flags&^itemVolatile != 0 {
		return false // it ends a response, closes, or was started
	}
	n := c.writeNow(it.b)
	if n == 0 {
		return false
	}
	c.queued -= n
	c.markLeft -= n
	c.chargeLocked(-n)
	if n < len(it.b) {
		if it == &one {
			c.one = unsafe.Add(c.one, n)
			c.oneLen -= int32(n)
			c.oneFlags |= itemStarted
		} else {
			it.b = it.b[n:]
			it.flags |= itemStarted
		}
		return false
	}
	c.queued -= itemOverhead
	c.chargeLocked(-itemOverhead)
	if it == &one {
		c.clearOneLocked()
	} else {
		pool.Put(it.bb)
		*it = outItem{}
		c.queue.release()
		c.queue = nil
	}
	c.dirty = false
	return true
}

// writeItems writes items to the link and applies their flags. Loop only.
func (c *Conn) writeItems(items []outItem, forceClose bool) (err error) {
	l := c.loop
	var endsResponse, closeAfter bool
	for start := 0; start < len(items) && err == nil; start += maxIov {
		end := min(start+maxIov, len(items))
		iov := l.iov[:0]
		for _, it := range items[start:end] {
			iov = append(iov, it.b)
			if it.flags&itemEndsResponse != 0 {
				endsResponse = true
			}
			if it.flags&itemCloseAfter != 0 || (forceClose && it.flags&itemEndsResponse != 0) {
				closeAfter = true
			}
		}
		if len(iov) == 1 {
			// One buffer (the common broadcast case): write(2) needs no iovec
			// array, which writev allocates on every call.
			_, err = c.ln.Write(iov[0])
		} else {
			_, err = c.ln.Writev(iov) // copies what the kernel refuses; may close c on error
		}
		clear(iov)
		l.iov = iov[:0]
	}
	// The buffers go back now, written or not (no defer: this runs once
	// per delivery).
	for i := range items {
		pool.Put(items[i].bb)
		items[i] = outItem{}
	}
	if err != nil {
		return err
	}
	if closeAfter {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		return nil
	}
	if endsResponse && c.mode == modeHTTP && !c.Closed() {
		c.awaiting = false
		c.armTimer(l.srv.cfg.IdleTimeout)
		if c.buffered() > 0 {
			c.need = 0
			_ = c.ln.Wake() // serve the next pipelined request
		}
	}
	return nil
}

// afterWrites decides what follows a pass of writes: a closing connection
// with everything out closes (gracefully); one with a backlog waits for its
// link to drain (a closing one at most LingerTimeout). Loop only.
func (c *Conn) afterWrites(pending bool, held int, closing bool) {
	_, portable := c.ln.(*netLink)
	drained := held == 0 || portable // a netLink shuts down after its own queue
	if closing && !pending && drained {
		c.closeGracefully()
		return
	}
	if !pending && held == 0 {
		return
	}
	if closing && !c.lingerArmed {
		// A peer that stops reading must not hold a closing connection.
		c.lingerArmed = true
		c.armTimer(c.loop.srv.cfg.LingerTimeout)
	}
	c.loop.stall(c)
}

// drainReporter is a link that calls its Conn's onLinkDrained on the loop
// once it has written everything it held (the epoll link): a connection
// stalled on it needs no recheck.
type drainReporter interface{ reportsDrainOnLoop() }

// onLinkDrained is told by a link (a netLink, or a drainReporter) that it
// wrote everything it held: a stalled connection is written to at once
// rather than at the next recheck.
func (c *Conn) onLinkDrained() {
	c.mu.Lock()
	stalled := c.stalled
	if _, onLoop := c.ln.(drainReporter); onLoop {
		c.stalled = false // it is on no recheck list
	}
	c.mu.Unlock()
	if stalled {
		c.kick()
	}
}

// stall marks c as waiting for its link to drain and, unless the link
// reports its drain on the loop, puts it on its loop's list of connections
// to write to again after stallRecheck. Loop only.
func (l *loop) stall(c *Conn) {
	c.mu.Lock()
	if c.stalled {
		c.mu.Unlock()
		return
	}
	c.stalled = true
	c.mu.Unlock()
	if _, ok := c.ln.(drainReporter); ok {
		return
	}
	l.mu.Lock()
	l.stalled = append(l.stalled, c)
	arm := !l.stallArmed
	l.stallArmed = true
	l.mu.Unlock()
	if arm {
		l.srv.cfg.Timers.Reset(&l.stallTimer, stallRecheck)
	}
}

// onStallTimer runs on the timers' goroutine.
func (l *loop) onStallTimer() {
	if err := l.exec.Execute(l.stallTask); err != nil {
		// Shutting down: the connections are closing anyway.
		l.mu.Lock()
		l.stallArmed = false
		l.mu.Unlock()
	}
}

// recheckStalled writes to the stalled connections again. Loop only.
func (l *loop) recheckStalled() {
	l.mu.Lock()
	list := l.stalled
	l.stalled = l.stalledSpare[:0]
	l.stallArmed = false
	l.mu.Unlock()
	for i, c := range list {
		c.mu.Lock()
		c.stalled = false
		c.mu.Unlock()
		c.flush()
		list[i] = nil
	}
	l.stalledSpare = list[:0]
}
