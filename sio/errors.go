package sio

import (
	"errors"
	"strconv"
)

// Errors for invalid inbound packets (wrapped in a *ProtocolError).
var (
	ErrInvalidPayload     = errors.New("invalid payload")
	ErrIllegalAttachments = errors.New("illegal attachments")
	ErrUnexpectedBinary   = errors.New("got binary data when not reconstructing a packet")
	ErrUnexpectedText     = errors.New("got plaintext data when reconstructing a packet")
)

// ProtocolError is what an error handler receives when the client sent a
// packet the server cannot accept; the connection is then closed.
type ProtocolError struct {
	Err    error
	Packet string // the start of the offending message
}

func (e *ProtocolError) Error() string {
	return "sio: invalid packet (" + e.Err.Error() + "): " + e.Packet
}

func (e *ProtocolError) Unwrap() error { return e.Err }

func protocolError(err error, data []byte) *ProtocolError {
	n := min(len(data), 64)
	return &ProtocolError{Err: err, Packet: strconv.Quote(string(data[:n]))}
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
