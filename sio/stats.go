package sio

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// A server's counters, for metrics (the metrics package publishes them).
// Those on the message path live in cells of one cache line each: a
// connection writes the cell it was given when it opened, a broadcast a
// cell picked at random (per-M random state: no lock, no allocation), so
// goroutines rarely write the same line and nothing there takes a lock or
// allocates. Stats sums the cells.

const statCells = 32

type statCell struct {
	broadcasts  atomic.Uint64
	deliveries  atomic.Uint64
	acksPending atomic.Int64 // registered minus ended: one cell may go negative, the sum not
	_           [40]byte
}

// HandlerDurationBounds are the upper bounds of the buckets of
// Stats.HandlerDurations.
var HandlerDurationBounds = [...]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// What a handler duration is recorded for.
const (
	handlerConnect = iota // middleware and connection handlers of a CONNECT
	handlerEvent          // an event's listeners, middleware and handlers
	handlerAck            // an AckFunc called with the client's answer
	numHandlerKinds
)

var handlerKindNames = [numHandlerKinds]string{"connect", "event", "ack"}

type histCell struct {
	counts [len(HandlerDurationBounds) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
	_      [24]byte
}

// Why a connection to a namespace was refused (sio's part of the refused
// handshakes; engine counts its own).
const (
	refusedInvalidNamespace = iota
	refusedMiddleware
	refusedTooManyNamespaces
	numRefusals
)

var refusalNames = [numRefusals]string{"invalid_namespace", "middleware", "too_many_namespaces"}

type counters struct {
	cells [statCells]statCell
	hist  [numHandlerKinds][statCells]histCell

	timing atomic.Bool // TimeHandlers

	disconnects      [len(disconnectReasons)]atomic.Uint64
	refused          [numRefusals]atomic.Uint64
	ackTimeouts      atomic.Uint64
	inboundOverflows atomic.Uint64
	readPauses       atomic.Uint64
	protocolErrors   atomic.Uint64
	panics           atomic.Uint64
}

// The reasons a socket disconnects, indexed for the counters.
var disconnectReasons = [...]DisconnectReason{
	ReasonClientNamespaceDisconnect, ReasonServerNamespaceDisconnect,
	ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonParseError,
	ReasonServerShuttingDown, ReasonForcedClose, engine.ReasonSlowReader,
}

// cellIndex is the connection's counter cell: the one its address falls
// in (no field: a client stays in its size class; clients are 128 B apart
// within a span, so consecutive ones take consecutive cells).
func (c *client) cellIndex() uint8 {
	return uint8((uintptr(unsafe.Pointer(c)) / 128) % statCells)
}

// randomCell is the cell of an operation that belongs to no connection (a
// broadcast from any goroutine).
func (c *counters) randomCell() *statCell { return &c.cells[rand.Uint32()%statCells] }

func (c *counters) disconnected(r DisconnectReason) {
	for i, x := range disconnectReasons {
		if x == r {
			c.disconnects[i].Add(1)
			return
		}
	}
}

// observe records a handler duration of kind in cell.
func (c *counters) observe(kind int, cell uint8, d time.Duration) {
	h := &c.hist[kind][cell]
	i := 0
	for i < len(HandlerDurationBounds) && d > HandlerDurationBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// TimeHandlers turns on (or off) the recording of how long handlers run,
// in Stats().HandlerDurations: two clock reads per packet handled. Off by
// default; the metrics package turns it on.
func (s *Server) TimeHandlers(on bool) { s.stats.timing.Store(on) }

// Histogram is a distribution of durations: Counts[i] observations of at
// most Bounds[i] (and more than Bounds[i-1]), the last one those above
// every bound; Sum of all of them.
type Histogram struct {
	Bounds []time.Duration
	Counts []uint64
	Sum    time.Duration
}

// Count is the number of observations.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// NamespaceStats are one namespace's figures.
type NamespaceStats struct {
	Name string
	// Sockets connected now; Rooms with members now on this node, the
	// sockets' own rooms not counted (an adapter without a RoomCount
	// method reports -1).
	Sockets int
	Rooms   int
	// Connects counts the sockets that connected since the start.
	Connects uint64
}

// Stats are a server's counters, for metrics. Counts grow from the
// server's start; the others are its state now.
type Stats struct {
	// Engine is the Engine.IO server's (sessions, packets, bytes...).
	Engine engine.Stats
	// Namespaces, each with its sockets, rooms and connects.
	Namespaces []NamespaceStats
	// Disconnects counts the sockets that disconnected, by reason.
	Disconnects map[DisconnectReason]uint64
	// Refused counts the connections to a namespace refused: "middleware"
	// (a middleware's error), "invalid_namespace" and
	// "too_many_namespaces" (MaxNamespacesPerConnection).
	Refused map[string]uint64
	// Broadcasts counts the broadcasts this node sent to its own sockets
	// (one per Emit of a BroadcastOperator, and per broadcast received
	// from another node); Deliveries the packets they queued, one per
	// socket reached.
	Broadcasts uint64
	Deliveries uint64
	// AcksPending is the number of acknowledgements the server waits for
	// now (a request's, or a broadcast's share per socket); AckTimeouts
	// counts the requests and broadcasts that timed out.
	AcksPending int64
	AckTimeouts uint64
	// ReadPauses counts the times a connection's reads were paused because
	// its handlers were behind (MaxQueuedPackets or MaxQueuedBytes
	// waiting); InboundOverflows the connections closed because their
	// transport went on delivering past twice those limits;
	// ProtocolErrors those closed for an invalid Socket.IO packet.
	ReadPauses       uint64
	InboundOverflows uint64
	ProtocolErrors   uint64
	// HandlerPanics counts the handlers that panicked (logged with the
	// stack).
	HandlerPanics uint64
	// Workers are the goroutines that run handlers, Busy those running one
	// now, Waiting the connections with work waiting for a worker.
	Workers, BusyWorkers, Waiting int
	// HandlerDurations, by what ran ("connect": middleware and connection
	// handlers; "event": an event's handlers; "ack": an AckFunc), when
	// TimeHandlers is on (nil otherwise).
	HandlerDurations map[string]Histogram
	// Adapter is the multi-node adapter's (an AdapterStatser's) figures,
	// nil on a single node.
	Adapter *AdapterStats
}

// AdapterStats are a multi-node adapter's counters since it started.
type AdapterStats struct {
	// Published counts the messages published to the other nodes,
	// PublishErrors those that failed; Received those received from them,
	// ReceiveErrors those dropped as undecodable.
	Published, PublishErrors uint64
	Received, ReceiveErrors  uint64
	// Reconnects counts the times the connection to the other nodes (a
	// broker's) was established again after it was lost; RequestTimeouts
	// the requests to other nodes that ended at their timeout.
	Reconnects, RequestTimeouts uint64
	// Connected reports whether the adapter reaches the other nodes now.
	Connected bool
}

// AdapterStatser is implemented by multi-node adapters that report their
// counters (in Stats().Adapter, read from the main namespace's adapter:
// the adapters of one server share their connection).
type AdapterStatser interface {
	AdapterStats() AdapterStats
}

// RoomCounter is implemented by adapters that can count this node's rooms
// cheaply (InMemoryAdapter, and adapters embedding it).
type RoomCounter interface {
	RoomCount() int
}

// Stats returns the server's counters. It takes none of the locks of the
// message path for long (a namespace's room count reads each room shard
// under its read lock) and allocates only the result.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Engine:           s.eng.Stats(),
		Disconnects:      make(map[DisconnectReason]uint64, len(disconnectReasons)),
		Refused:          make(map[string]uint64, numRefusals),
		AckTimeouts:      c.ackTimeouts.Load(),
		ReadPauses:       c.readPauses.Load(),
		InboundOverflows: c.inboundOverflows.Load(),
		ProtocolErrors:   c.protocolErrors.Load(),
		HandlerPanics:    c.panics.Load(),
	}
	for i := range c.cells {
		cell := &c.cells[i]
		st.Broadcasts += cell.broadcasts.Load()
		st.Deliveries += cell.deliveries.Load()
		st.AcksPending += cell.acksPending.Load()
	}
	st.AcksPending = max(st.AcksPending, 0)
	for i, r := range disconnectReasons {
		st.Disconnects[r] = c.disconnects[i].Load()
	}
	for i, name := range refusalNames {
		st.Refused[name] = c.refused[i].Load()
	}
	ws := s.workers.Stats()
	st.Workers, st.BusyWorkers, st.Waiting = ws.Workers, ws.Workers-ws.Idle, ws.Waiting
	if c.timing.Load() {
		st.HandlerDurations = make(map[string]Histogram, numHandlerKinds)
		for k := range c.hist {
			h := Histogram{Bounds: HandlerDurationBounds[:], Counts: make([]uint64, len(HandlerDurationBounds)+1)}
			for i := range c.hist[k] {
				cell := &c.hist[k][i]
				for j := range cell.counts {
					h.Counts[j] += cell.counts[j].Load()
				}
				h.Sum += time.Duration(cell.sum.Load())
			}
			st.HandlerDurations[handlerKindNames[k]] = h
		}
	}
	if a, ok := s.main.adapter.(AdapterStatser); ok {
		as := a.AdapterStats()
		st.Adapter = &as
	}
	s.nspMu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.nspMu.RUnlock()
	for _, n := range nsps {
		ns := NamespaceStats{Name: n.name, Sockets: n.SocketCount(), Rooms: -1, Connects: n.connects.Load()}
		if rc, ok := n.adapter.(RoomCounter); ok {
			ns.Rooms = rc.RoomCount()
		}
		st.Namespaces = append(st.Namespaces, ns)
	}
	return st
}

// RoomCount returns the number of rooms with members on this node, the
// sockets' own rooms not counted.
func (a *InMemoryAdapter) RoomCount() int {
	n := 0
	for i := range a.rooms {
		sh := &a.rooms[i]
		sh.mu.RLock()
		n += len(sh.rooms)
		sh.mu.RUnlock()
	}
	return n
}

// Log kinds of the server's rate-limited logger.
const (
	logProtocol = iota
	logOverflow
	logRefused
	numLogKinds
)

// onPanic logs the panic of a task of the workers (an acknowledgement
// callback, a disconnect handler) with its stack.
func (s *Server) onPanic(v any, _ pool.Task) {
	s.stats.panics.Add(1)
	s.log.Error("sio: handler panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
}

// handlerPanicked logs the panic of a packet's handlers with its stack,
// socket and event. It runs in the deferred recover of the packet's Run.
func (s *Server) handlerPanicked(v any, p *inPacket) {
	s.stats.panics.Add(1)
	args := []any{"panic", fmt.Sprint(v), "nsp", p.nsp, "packet", packetKindName(p.typ)}
	if sock := p.c.socket(p.nsp); sock != nil {
		args = append(args, "sid", sock.id)
	}
	if p.event != nil {
		args = append(args, "event", p.eventName())
	}
	args = append(args, "remote", remoteHost(p.c.sess), "stack", string(debug.Stack()))
	s.log.Error("sio: handler panicked", args...)
}

func packetKindName(t codec.SIOType) string {
	switch t {
	case codec.SIOConnect:
		return "connect"
	case codec.SIOEvent, codec.SIOBinaryEvent:
		return "event"
	case codec.SIOAck, codec.SIOBinaryAck:
		return "ack"
	case codec.SIODisconnect:
		return "disconnect"
	}
	return "other"
}
