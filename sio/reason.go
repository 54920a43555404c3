package sio

// Disconnect reasons, with the reference server's wording. A socket's
// disconnect handlers receive one of them.
const (
	// The client disconnected the socket (socket.disconnect()).
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	// The server disconnected the socket (Socket.Disconnect).
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	// The client closed the connection, or it was lost.
	ReasonTransportClose = "transport close"
	// The connection failed (I/O error, oversized message on WebSocket).
	ReasonTransportError = "transport error"
	// The client did not answer a ping in time.
	ReasonPingTimeout = "ping timeout"
	// The client sent an undecodable Engine.IO packet.
	ReasonParseError = "parse error"
	// Server.Shutdown.
	ReasonServerShuttingDown = "server shutting down"
	// The server closed the connection: the client sent an invalid
	// Socket.IO packet, used a namespace it had not joined (or joined one
	// twice), or flooded the server (see the package doc). The reference
	// means to say "forced server close" in the second case, but its
	// sockets get "forced close" first; so do ours.
	ReasonForcedClose = "forced close"
	// The connection's outbound queue overflowed (engine.ReasonSlowReader).
	ReasonSlowReader = "slow reader"
)

// recoverable reasons keep the session for connection state recovery.
var recoverable = map[string]bool{
	ReasonTransportError: true, ReasonTransportClose: true, ReasonForcedClose: true,
	ReasonPingTimeout: true, ReasonServerShuttingDown: true, "forced server close": true,
}
