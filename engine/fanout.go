package engine

import (
	"unsafe"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/eventloop"
)

// A Fanout sends prepared packets to many sessions, a broadcast's
// members, for less than SendPrepared per session: the event loops of the
// sessions' WebSockets are woken, and the server's counters and
// outbound budget updated, once per Flush rather than once per session.
// What a Fanout sent to a WebSocket, and what is sent to that session
// after it, may wait in the connection's queue until Flush: call Flush
// once the sends are done, on every path, and between sends that are not
// one burst.
//
// The zero value is ready. A Fanout is used by one goroutine at a time; it
// may be reused after Flush.
type Fanout struct {
	wb      eventloop.WakeBatch
	srv     *Server // whose counters packets and bytes are for
	packets uint64
	bytes   uint64
}

// Send is s.SendPrepared(p) through f.
func (f *Fanout) Send(s *Session, p *Prepared) error {
	return s.pushVia(outMsg{typ: codec.EIOMessage, prep: p}, f)
}

// SendVolatile is s.SendVolatile(p) through f.
func (f *Fanout) SendVolatile(s *Session, p *Prepared) bool { return s.sendVolatile(p, f) }

// Flush wakes the loops of the connections written since the last Flush
// and counts what was sent.
func (f *Fanout) Flush() {
	f.wb.Flush()
	f.flushCounts()
}

// count counts p as sent by a session of srv.
func (f *Fanout) count(srv *Server, p *Prepared) {
	if f.srv != srv {
		f.flushCounts()
		f.srv = srv
	}
	f.packets += uint64(p.count)
	f.bytes += uint64(p.size)
}

func (f *Fanout) flushCounts() {
	if f.srv == nil {
		return
	}
	cell := f.srv.stats.cellOf(unsafe.Pointer(f)) // pooled per P by sio: concurrent broadcasts rarely share one
	cell.packetsOut.Add(f.packets)
	cell.bytesOut.Add(f.bytes)
	f.packets, f.bytes = 0, 0
	f.srv.checkTotal()
	f.srv = nil
}
