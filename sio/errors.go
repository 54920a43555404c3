package sio

import (
	"errors"
	"strconv"
)

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

var (
	// ErrAckTimeout: no acknowledgement within the Timeout. Broadcasts
	// return an *AckTimeoutError, which matches it with errors.Is.
	ErrAckTimeout = errors.New("operation has timed out")
	// ErrDisconnected: the socket is (or got) disconnected.
	ErrDisconnected = errors.New("sio: socket disconnected")
	// ErrReservedEvent: the event name is reserved.
	ErrReservedEvent = errors.New("sio: reserved event name")
	// ErrInboundOverflow: the client sent more than its handlers could
	// keep up with (Options.MaxQueuedPackets, MaxQueuedBytes).
	ErrInboundOverflow = errors.New("sio: too many packets queued for the handlers")
	// ErrServerClosed: the server is shut down.
	ErrServerClosed = errors.New("sio: server closed")
)

// AckTimeoutError is returned by a broadcast EmitWithAck whose timeout
// expired before every client answered; Responses holds the answers that
// came.
type AckTimeoutError struct {
	Answered, Expected int
	Responses          []Args
}

func (e *AckTimeoutError) Error() string {
	return "operation has timed out: " + strconv.Itoa(e.Answered) + " of " + strconv.Itoa(e.Expected) + " clients answered"
}

// Is makes errors.Is(err, ErrAckTimeout) true.
func (e *AckTimeoutError) Is(target error) bool { return target == ErrAckTimeout }

// ConnectError is an error a middleware returns to refuse a connection
// with extra data: the client's connect_error gets an Error whose message
// is Message and whose data is Data (encoded as an emit argument). Any
// other error is sent with its Error() as the message and no data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }
