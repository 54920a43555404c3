package sio

import "github.com/fanio/fanio/engine"

// DisconnectReason says why a socket disconnected, with the reference
// server's exact wording; disconnecting and disconnect handlers receive
// one. It is engine's type: the reasons a connection ends come from
// engine unchanged, and sio adds the namespace-level ones.
type DisconnectReason = engine.DisconnectReason

// The reasons a socket disconnects.
const (
	// The client disconnected the socket (socket.disconnect()).
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// The server disconnected the socket (Socket.Disconnect).
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	// The client closed the connection, or it was lost.
	ReasonTransportClose = engine.ReasonTransportClose
	// The connection failed (I/O error, oversized message on WebSocket).
	ReasonTransportError = engine.ReasonTransportError
	// The client did not take what was sent to it: its unwritten output
	// went over Options.MaxOutboundBytes (or over its share of
	// MaxOutboundBytesTotal). The reference has no such close; it is
	// recoverable, as the "transport error" a failed write gives there.
	ReasonSlowReader = engine.ReasonSlowReader
	// The client did not answer a ping in time.
	ReasonPingTimeout = engine.ReasonPingTimeout
	// The client sent an undecodable Engine.IO packet.
	ReasonParseError = engine.ReasonParseError
	// Server.Shutdown.
	ReasonServerShuttingDown = engine.ReasonServerShuttingDown
	// The server closed the connection: the client sent an invalid
	// Socket.IO packet, used a namespace it had not joined (or joined one
	// twice), or flooded the server (see the package doc). The reference
	// means to say "forced server close" in the second case, but its
	// sockets get "forced close" first; so do ours.
	ReasonForcedClose = engine.ReasonForcedClose
)

// recoverable reasons keep the session for connection state recovery
// (the reference's RECOVERABLE_DISCONNECT_REASONS).
var recoverable = map[DisconnectReason]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShuttingDown: true, "forced server close": true,
	ReasonSlowReader: true, // fanio's own: a failed write, for the reference
}
