package engine

import (
	"log/slog"
	"sync/atomic"
	"unsafe"

	"github.com/fanio/fanio/internal/eventloop"
)

// A server's counters. Those on the message path (packets and bytes in and
// out) live in cells, one cache line each; a session, or a Fanout, writes
// the cell its address falls in (cellOf; no field: a Session stays in its
// size class), so writers on different loops or goroutines rarely share
// one, and nothing on that path takes a lock or allocates. Stats sums the cells. The rest change once per session or per
// refused request.

const statCells = 32

type statCell struct {
	packetsIn  atomic.Uint64
	packetsOut atomic.Uint64
	bytesIn    atomic.Uint64
	bytesOut   atomic.Uint64
	_          [32]byte // a cache line each
}

// Why a request was refused before it reached a session, as the
// refused-requests counters and the logs name it.
type refusal uint8

const (
	refusedUnknownTransport refusal = iota
	refusedUnknownSID
	refusedBadHandshakeMethod
	refusedBadRequest
	refusedTransportMismatch
	refusedForbidden
	refusedUnsupportedVersion
	refusedWebSocketHandshake
	refusedServerClosing
	numRefusals
)

var refusalNames = [numRefusals]string{
	refusedUnknownTransport:   "unknown_transport",
	refusedUnknownSID:         "unknown_sid",
	refusedBadHandshakeMethod: "bad_handshake_method",
	refusedBadRequest:         "bad_request",
	refusedTransportMismatch:  "transport_mismatch",
	refusedForbidden:          "forbidden",
	refusedUnsupportedVersion: "unsupported_protocol_version",
	refusedWebSocketHandshake: "bad_websocket_handshake",
	refusedServerClosing:      "server_closing",
}

// The reasons a session ends, indexed for the counters.
var closeReasons = [...]DisconnectReason{
	ReasonTransportClose, ReasonTransportError, ReasonPingTimeout,
	ReasonForcedClose, ReasonParseError, ReasonServerShuttingDown, ReasonSlowReader,
}

func closeIndex(r DisconnectReason) int {
	for i, x := range closeReasons {
		if x == r {
			return i
		}
	}
	return -1
}

type counters struct {
	cells [statCells]statCell

	polling   atomic.Int64 // live sessions on polling
	websocket atomic.Int64 // live sessions on a WebSocket
	upgrades  atomic.Uint64
	closes    [len(closeReasons)]atomic.Uint64
	refused   [numRefusals]atomic.Uint64

	slowReaders    atomic.Uint64 // polling queues over budget here; WebSockets in noteConnError
	oversize       atomic.Uint64
	protocolErrors atomic.Uint64

	// Flow control (budget.go, flow.go).
	volatileDropped  atomic.Uint64 // SendVolatile on a transport not writable, polling drops
	pollPauses       atomic.Uint64 // PauseReads on polling sessions
	budgetCuts       atomic.Uint64
	inboundOverflows atomic.Uint64 // paused WebSockets that piled up input
	memReleases      atomic.Uint64 // release.go
}

// cell returns the session's counter cell: the one its address falls in
// (Sessions are 160 B apart within a span: consecutive sessions take
// consecutive cells).
func (s *Session) cell() *statCell { return s.srv.stats.cellOf(unsafe.Pointer(s)) }

// cellOf is the cell of the object at p. The divisor spreads objects of a
// Session's size class over the cells.
func (c *counters) cellOf(p unsafe.Pointer) *statCell {
	return &c.cells[(uintptr(p)/160)%statCells]
}

// Stats are a server's counters, for metrics. Counts ("total") grow from
// the server's start; the others are its state now.
type Stats struct {
	// Sessions is the number of live Engine.IO sessions (with those that
	// closed on the server's side and wait for a last poll).
	Sessions int
	// PollingSessions and WebSocketSessions are the open sessions by
	// transport: polling counts the sessions that have not upgraded (the
	// admin UI's pollingClientsCount).
	PollingSessions   int
	WebSocketSessions int
	// SessionsOpened counts the sessions opened, Upgrades those that moved
	// from polling to a WebSocket.
	SessionsOpened uint64
	Upgrades       uint64
	// Closes counts the sessions that ended, by the reason reported to
	// their Handler.
	Closes map[DisconnectReason]uint64
	// Refused counts the requests refused before they reached a session,
	// by reason: those reported to OnConnectionError ("unknown_transport",
	// "unknown_sid", "bad_handshake_method", "bad_request",
	// "transport_mismatch", "forbidden", "unsupported_protocol_version"),
	// WebSocket handshakes refused ("bad_websocket_handshake"), handshakes
	// during Shutdown ("server_closing"), and connections closed at accept
	// over MaxConnections ("max_connections").
	Refused map[string]uint64
	// PacketsReceived and PacketsSent count Engine.IO MESSAGE packets (a
	// Socket.IO packet with binary attachments is one per part);
	// BytesReceived and BytesSent their data, before framing and
	// compression, as the reference's admin UI counts them. A broadcast
	// counts once per session it is queued on.
	PacketsReceived uint64
	PacketsSent     uint64
	BytesReceived   uint64
	BytesSent       uint64
	// SlowReaders counts the sessions closed because a packet did not fit
	// in their outbound budget, MaxOutboundBytes (reported to the Handler
	// as "transport error"), on either transport.
	SlowReaders uint64
	// VolatileDropped counts the volatile packets dropped: sent when the
	// transport could not take them (SendVolatile), over the budget, or
	// dropped from a queue to make room (DropVolatile).
	VolatileDropped uint64
	// ReadPauses counts the times a session's reads were paused
	// (PauseReads: its handler was behind).
	ReadPauses uint64
	// InboundOverflows counts the WebSockets closed because they piled up
	// input while their reads were paused (more than the largest message
	// plus 1 MiB: the client ignored TCP's push back).
	InboundOverflows uint64
	// BudgetCuts counts the sessions closed to bring the sum of all
	// backlogs under MaxOutboundBytesTotal.
	BudgetCuts uint64
	// OutboundBytes is the sum of the sessions' backlogs, kept only with
	// MaxOutboundBytesTotal (0 otherwise).
	OutboundBytes int64
	// MemoryReleases counts the times freed memory was returned to the OS
	// after sessions left (see Options.NoMemoryRelease).
	MemoryReleases uint64
	// Oversize counts the messages and polling bodies over MaxPayload (a
	// 413, or a WebSocket closed with 1009).
	Oversize uint64
	// ProtocolErrors counts the sessions closed for an undecodable
	// Engine.IO packet or WebSocket frame.
	ProtocolErrors uint64
	// Connections is the number of connections the server holds: those its
	// own listeners accepted (with those it handed to its net/http server
	// for other routes and TLS) and the WebSockets taken over from a
	// net/http server it is mounted in.
	Connections int
	// RefusedConnections counts the connections closed at accept because
	// the server held Options.MaxConnections.
	RefusedConnections uint64
	// AcceptErrors counts the accept failures the server backed off from
	// (out of file descriptors or memory, aborted connections).
	AcceptErrors uint64
	// Cluster holds the cluster counters of a server in a cluster
	// (SetCluster; see ClusterStats); nil otherwise.
	Cluster *ClusterStats
}

// Stats returns the server's counters. It takes no lock the message path
// takes and is cheap enough for every scrape.
func (s *Server) Stats() Stats {
	c := &s.stats
	lc := s.loop.Counters()
	st := Stats{
		Sessions:           s.sessions.count(),
		PollingSessions:    int(max(0, c.polling.Load())),
		WebSocketSessions:  int(max(0, c.websocket.Load())),
		SessionsOpened:     uint64(s.openedTotal.Load()),
		Upgrades:           c.upgrades.Load(),
		Closes:             make(map[DisconnectReason]uint64, len(closeReasons)),
		Refused:            make(map[string]uint64, numRefusals+1),
		SlowReaders:        c.slowReaders.Load(),
		VolatileDropped:    c.volatileDropped.Load() + lc.VolatileDropped,
		ReadPauses:         c.pollPauses.Load() + lc.ReadPauses,
		InboundOverflows:   c.inboundOverflows.Load(),
		BudgetCuts:         c.budgetCuts.Load(),
		MemoryReleases:     c.memReleases.Load(),
		Oversize:           c.oversize.Load(),
		ProtocolErrors:     c.protocolErrors.Load(),
		Connections:        s.loop.CountConnections(),
		RefusedConnections: s.loop.Refused(),
		AcceptErrors:       s.loop.AcceptErrors(),
	}
	for i := range c.cells {
		cell := &c.cells[i]
		st.PacketsReceived += cell.packetsIn.Load()
		st.PacketsSent += cell.packetsOut.Load()
		st.BytesReceived += cell.bytesIn.Load()
		st.BytesSent += cell.bytesOut.Load()
	}
	for i, r := range closeReasons {
		st.Closes[r] = c.closes[i].Load()
	}
	for i, name := range refusalNames {
		st.Refused[name] = c.refused[i].Load()
	}
	st.Refused["max_connections"] = st.RefusedConnections
	if s.total != nil {
		st.OutboundBytes = s.total.Load()
	}
	if s.cluster.Load() != nil {
		cs := s.ClusterStats()
		st.Cluster = &cs
	}
	return st
}

const warnLevel = slog.LevelWarn

// Log kinds of the server's rate-limited logger (ratelog).
const (
	logRefused = iota
	logProtocol
	logOversize
	logSlowReader
	numLogKinds
)

// noteConnError counts and logs the error a session's WebSocket ended
// with, when it is one of the client's doing or a slow reader.
func (s *Session) noteConnError(err error) {
	switch err {
	case eventloop.ErrSlowReader:
		s.srv.stats.slowReaders.Add(1)
		s.srv.rlog.Log(logSlowReader, warnLevel, "engine: slow reader closed: its unwritten output went over MaxOutboundBytes",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "limit", s.srv.opts.MaxOutboundBytes)
	case eventloop.ErrInboundOverflow:
		s.srv.stats.inboundOverflows.Add(1)
		s.srv.rlog.Log(logSlowReader, warnLevel, "engine: paused WebSocket closed: it piled up input past the limit while its reads were paused",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id)
	case eventloop.ErrMessageTooBig:
		s.srv.stats.oversize.Add(1)
		s.srv.rlog.Log(logOversize, warnLevel, "engine: WebSocket message over MaxPayload; closed with 1009",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "limit", s.srv.opts.MaxPayload)
	case eventloop.ErrProtocol, eventloop.ErrInvalidPayload:
		s.srv.stats.protocolErrors.Add(1)
		s.srv.rlog.Log(logProtocol, warnLevel, "engine: WebSocket protocol error",
			"remote", remoteHost(s.RemoteAddr()), "sid", s.id, "err", err.Error())
	}
}
