package sio

import (
	"errors"
	"strconv"
	"strings"
)

// Errors for invalid inbound packets, always wrapped in a *ProtocolError.
// Their texts are the reference parser's (socket.io-parser), prefixed.
var (
	ErrInvalidPayload     = errors.New("sio: invalid payload")
	ErrIllegalAttachments = errors.New("sio: illegal attachments")
	ErrUnexpectedBinary   = errors.New("sio: got binary data when not reconstructing a packet")
	ErrUnexpectedText     = errors.New("sio: got plaintext data when reconstructing a packet")
)

// errAckPlacement: an acknowledgement callback that is not the last
// argument of an Emit, or one of the wrong kind (an AckFunc on a
// broadcast, a BroadcastAckFunc to one socket, any callback to
// EmitWithAck).
var errAckPlacement = errors.New("sio: an acknowledgement callback must be the last argument of Emit: an AckFunc to one socket, a BroadcastAckFunc to a broadcast")

// ProtocolError is what an error handler receives when the client sent a
// packet the server cannot accept; the connection is then closed.
type ProtocolError struct {
	Err    error
	Packet string // the start of the offending message
}

func (e *ProtocolError) Error() string {
	return "sio: invalid packet: " + strings.TrimPrefix(e.Err.Error(), "sio: ") + ": " + e.Packet
}

func (e *ProtocolError) Unwrap() error { return e.Err }

func protocolError(err error, data []byte) *ProtocolError {
	n := min(len(data), 64)
	return &ProtocolError{Err: err, Packet: strconv.Quote(string(data[:n]))}
}

var (
	// ErrAckTimeout: no acknowledgement within the Timeout. Broadcasts
	// return an *AckError, which matches it with errors.Is. Its
	// text is the reference's own (the message of the Error its
	// acknowledgement callbacks get), without a prefix, so that code
	// comparing messages ports as is.
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

// AckError is the error of a broadcast EmitWithAck (or BroadcastAckFunc)
// that did not get every selected client's answer: the Timeout expired,
// or clients disconnected before answering. Responses holds the answers
// that came.
type AckError struct {
	Expected     int  // clients the broadcast reached
	Answered     int  // clients that answered
	Disconnected int  // clients that disconnected without answering
	TimedOut     bool // the Timeout expired first
	Responses    []Args
}

func (e *AckError) Error() string {
	s := strconv.Itoa(e.Answered) + " of " + strconv.Itoa(e.Expected) + " clients answered"
	if e.Disconnected > 0 {
		s += ", " + strconv.Itoa(e.Disconnected) + " disconnected"
	}
	if e.TimedOut {
		return ErrAckTimeout.Error() + ": " + s
	}
	return "sio: " + s
}

// Is makes errors.Is(err, ErrAckTimeout) true after the Timeout, and
// errors.Is(err, ErrDisconnected) when clients disconnected.
func (e *AckError) Is(target error) bool {
	return (target == ErrAckTimeout && e.TimedOut) || (target == ErrDisconnected && e.Disconnected > 0)
}

// ConnectError is an error a middleware returns to refuse a connection
// with extra data: the client's connect_error gets an Error whose message
// is Message and whose data is Data (encoded as an emit argument). Any
// other error is sent with its Error() as the message and no data.
type ConnectError struct {
	Message string
	Data    any
}

func (e *ConnectError) Error() string { return e.Message }
