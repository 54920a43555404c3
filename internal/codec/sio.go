package codec

import (
	"errors"
	"strconv"
)

// SIOType is a Socket.IO v5 packet type.
type SIOType byte

// Socket.IO packet types; on the wire each is the digit '0'+type.
const (
	SIOConnect SIOType = iota
	SIODisconnect
	SIOEvent
	SIOAck
	SIOConnectError
	SIOBinaryEvent
	SIOBinaryAck
)

// String returns the packet type's name ("CONNECT", "EVENT", ...).
func (t SIOType) String() string {
	switch t {
	case SIOConnect:
		return "CONNECT"
	case SIODisconnect:
		return "DISCONNECT"
	case SIOEvent:
		return "EVENT"
	case SIOAck:
		return "ACK"
	case SIOConnectError:
		return "CONNECT_ERROR"
	case SIOBinaryEvent:
		return "BINARY_EVENT"
	case SIOBinaryAck:
		return "BINARY_ACK"
	}
	return "SIOType(" + strconv.Itoa(int(t)) + ")"
}

// IsBinary reports whether t is BINARY_EVENT or BINARY_ACK, the types that
// carry an attachment count.
func (t SIOType) IsBinary() bool { return t == SIOBinaryEvent || t == SIOBinaryAck }

// SIOPacket is a decoded Socket.IO packet header. Its slices alias the
// decoded bytes, except the default Namespace.
type SIOPacket struct {
	Type        SIOType
	Attachments int    // binary types only; 0 otherwise
	Namespace   []byte // "/" when absent (shared: do not modify)
	AckID       int64  // -1 when absent
	Data        []byte // the rest: JSON text, possibly empty; not validated
}

// ErrBadSIOPacket: a Socket.IO packet header that cannot be decoded.
// Returned wrapped with a description.
var ErrBadSIOPacket = errors.New("codec: socket.io: bad packet")

var (
	errSIOEmpty         = detail(ErrBadSIOPacket, "empty packet")
	errSIOType          = detail(ErrBadSIOPacket, "unknown packet type")
	errSIOAttachments   = detail(ErrBadSIOPacket, "attachment count missing, not a number or not followed by '-'")
	errSIOTooManyAttach = detail(ErrBadSIOPacket, "too many attachments")
	errSIOAckIDOverflow = detail(ErrBadSIOPacket, "ack id longer than 15 digits")
)

var rootNamespace = []byte("/")

// maxAckIDDigits keeps ack ids below 10^15, inside the integers a
// JavaScript number holds exactly (and far inside int64).
const maxAckIDDigits = 15

// DecodeSIOPacket decodes the header of a Socket.IO packet, the payload of
// an Engine.IO text MESSAGE:
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//
// The type is a digit '0'-'6'. For the binary types (5 and 6) it must be
// followed by a decimal attachment count (at most maxAttachments, 0
// allowed) and '-'. A namespace is present only if the next byte is '/'; it
// runs to the next ',' (which is skipped) or to the end of b ("1/custom").
// Digits right after that are the ack id, at most 15 of them. Everything
// after is Data, which is not validated here. Errors wrap ErrBadSIOPacket.
func DecodeSIOPacket(b []byte, maxAttachments int) (SIOPacket, error) {
	p := SIOPacket{Namespace: rootNamespace, AckID: -1}
	if len(b) == 0 {
		return p, errSIOEmpty
	}
	t := b[0] - '0'
	if t > byte(SIOBinaryAck) {
		return p, errSIOType
	}
	p.Type = SIOType(t)
	i := 1
	if p.Type.IsBinary() {
		start := i
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= 9 {
				return p, errSIOTooManyAttach
			}
			n = n*10 + int(b[i]-'0')
			i++
		}
		if i == start || i == len(b) || b[i] != '-' {
			return p, errSIOAttachments
		}
		if n > maxAttachments {
			return p, errSIOTooManyAttach
		}
		p.Attachments = n
		i++
	}
	if i < len(b) && b[i] == '/' {
		start := i
		for i < len(b) && b[i] != ',' {
			i++
		}
		p.Namespace = b[start:i]
		if i < len(b) {
			i++ // ','
		}
	}
	if i < len(b) && b[i] >= '0' && b[i] <= '9' {
		start := i
		var id int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= maxAckIDDigits {
				return p, errSIOAckIDOverflow
			}
			id = id*10 + int64(b[i]-'0')
			i++
		}
		p.AckID = id
	}
	p.Data = b[i:]
	return p, nil
}

// AppendSIOHeader appends a Socket.IO packet header; the caller appends the
// data after it. It writes the type digit; for the binary types the
// attachment count and '-'; the namespace and ',' unless nsp is "" or "/";
// and the ack id if ackID >= 0. nsp must start with '/' and hold no ','
// (DecodeSIOPacket could not tell where it ends).
func AppendSIOHeader(dst []byte, typ SIOType, attachments int, nsp string, ackID int64) []byte {
	dst = append(dst, '0'+byte(typ))
	if typ.IsBinary() {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "" && nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if ackID >= 0 {
		dst = strconv.AppendInt(dst, ackID, 10)
	}
	return dst
}
