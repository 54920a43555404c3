package eventloop

// WakeBatch gathers the loop wake-ups of a series of writes, a
// broadcast's deliveries, so that each event loop is told once per Flush
// instead of once per connection: a wake-up takes the loop's lock, ~4 %
// of a delivery's user CPU at 1,000 members (BENCHMARKS.md, issue 14
// round 6). A connection written through the batch holds what was queued,
// and what is written to it after, until Flush: Flush must follow the
// writes, on every path, and soon (sio's broadcasts flush after each room
// shard; the batch tells a loop on its own every wakeBatchMax of its
// connections).
//
// The zero value is ready. A WakeBatch is used by one goroutine at a time.
type WakeBatch struct {
	last  *loopWakes // the list of the last connection's loop
	loops []loopWakes
}

type loopWakes struct {
	l     *loop
	conns []*Conn
}

// wakeBatchMax bounds how long a loop waits for a batch: it is told when
// this many of its connections have been written.
const wakeBatchMax = 256

// WriteShared is Conn.WriteShared through wb.
func (wb *WakeBatch) WriteShared(c *Conn, b []byte) error {
	_, err := c.enqueueIn(outItem{b: b}, wb)
	return err
}

// WriteSharedVolatile is Conn.WriteSharedVolatile through wb.
func (wb *WakeBatch) WriteSharedVolatile(c *Conn, b []byte) (queued bool, err error) {
	return c.enqueueIn(outItem{b: b, flags: itemVolatile}, wb)
}

// add records that c's loop must flush c.
func (wb *WakeBatch) add(c *Conn) {
	lw := wb.last
	if lw == nil || lw.l != c.loop {
		lw = wb.find(c.loop)
	}
	lw.conns = append(lw.conns, c)
	if len(lw.conns) >= wakeBatchMax {
		wb.flushLoop(lw)
	}
}

func (wb *WakeBatch) find(l *loop) *loopWakes {
	for i := range wb.loops {
		if wb.loops[i].l == l {
			wb.last = &wb.loops[i]
			return wb.last
		}
	}
	wb.loops = append(wb.loops, loopWakes{l: l})
	wb.last = &wb.loops[len(wb.loops)-1]
	return wb.last
}

func (wb *WakeBatch) flushLoop(lw *loopWakes) {
	lw.l.markDirtyAll(lw.conns)
	clear(lw.conns)
	lw.conns = lw.conns[:0]
}

// Flush tells the loops of the connections written since the last Flush.
func (wb *WakeBatch) Flush() {
	for i := range wb.loops {
		if len(wb.loops[i].conns) > 0 {
			wb.flushLoop(&wb.loops[i])
		}
	}
}
