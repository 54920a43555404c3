package engine

// DisconnectReason says why a session (engine) or a socket (sio) ended,
// with the reference server's exact wording: it is what a Node.js
// application sees as the "close" or "disconnect" reason. engine reports
// the reasons below; sio adds its own (namespace disconnects) and passes
// engine's through unchanged, so both layers use this one type.
type DisconnectReason string

// The reasons a session ends, as Handler.OnClose receives them.
const (
	// The client closed: a close packet, a WebSocket close, the TCP
	// connection ended.
	ReasonTransportClose DisconnectReason = "transport close"
	// An I/O or protocol error on the transport (a dropped long poll, an
	// oversize message, a wrong-direction heartbeat).
	ReasonTransportError DisconnectReason = "transport error"
	// No pong within PingTimeout.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// Session.Close was called.
	ReasonForcedClose DisconnectReason = "forced close"
	// The client sent an undecodable Engine.IO packet.
	ReasonParseError DisconnectReason = "parse error"
	// Server.Shutdown.
	ReasonServerShuttingDown DisconnectReason = "server shutting down"
	// The client did not take what was sent to it: its unwritten output
	// went over Options.MaxOutboundBytes, or it held the largest backlog
	// when all sessions together went over MaxOutboundBytesTotal. The
	// reference server has no such close (it buffers without bound); a
	// Node.js application would see "transport error" for a write that
	// failed. The client sees its transport close.
	ReasonSlowReader DisconnectReason = "slow reader"
)
