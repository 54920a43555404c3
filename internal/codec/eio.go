package codec

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// EIOType is an Engine.IO v4 packet type.
type EIOType byte

// Engine.IO packet types; on the wire each is the digit '0'+type.
const (
	EIOOpen EIOType = iota
	EIOClose
	EIOPing
	EIOPong
	EIOMessage
	EIOUpgrade
	EIONoop
)

// String returns the packet type's name ("open", "message", ...).
func (t EIOType) String() string {
	switch t {
	case EIOOpen:
		return "open"
	case EIOClose:
		return "close"
	case EIOPing:
		return "ping"
	case EIOPong:
		return "pong"
	case EIOMessage:
		return "message"
	case EIOUpgrade:
		return "upgrade"
	case EIONoop:
		return "noop"
	}
	return "EIOType(" + strconv.Itoa(int(t)) + ")"
}

// ErrBadPacket: an Engine.IO packet or polling record that cannot be
// decoded (empty, unknown type digit, bad base64). Returned wrapped with a
// description.
var ErrBadPacket = errors.New("codec: engine.io: bad packet")

var (
	errEmptyPacket  = detail(ErrBadPacket, "empty packet")
	errPacketType   = detail(ErrBadPacket, "unknown packet type")
	errPacketBase64 = detail(ErrBadPacket, "invalid base64 in binary record")
)

// RecordSeparator separates the packets of an HTTP long-polling payload.
const RecordSeparator = 0x1e

// DecodePacket decodes one Engine.IO packet in text form: a type digit
// '0'-'6' followed by the data ("4hello", "2probe", "6"). data aliases b and
// is empty (not nil) when there is none. The data is not checked.
func DecodePacket(b []byte) (typ EIOType, data []byte, err error) {
	if len(b) == 0 {
		return 0, nil, errEmptyPacket
	}
	t := b[0] - '0'
	if t > byte(EIONoop) {
		return 0, nil, errPacketType
	}
	return EIOType(t), b[1:], nil
}

// AppendPacket appends the text form of a packet: its type digit and data.
func AppendPacket(dst []byte, typ EIOType, data []byte) []byte {
	dst = append(dst, '0'+byte(typ))
	return append(dst, data...)
}

// AppendPollingBinary appends the polling-payload form of a binary MESSAGE:
// 'b' followed by the standard (padded) base64 encoding of data.
func AppendPollingBinary(dst []byte, data []byte) []byte {
	dst = append(dst, 'b')
	return base64.StdEncoding.AppendEncode(dst, data)
}

// NextRecord splits the first record off a polling payload: record is the
// payload up to the first RecordSeparator, or all of it, and rest is what
// follows the separator, or nil when there is none. Loop while rest != nil:
//
//	for rest := payload; rest != nil; {
//		var rec []byte
//		rec, rest = codec.NextRecord(rest)
//		...
//	}
//
// A separator at the end, two in a row or an empty payload yield an empty
// record, which DecodeRecord rejects.
func NextRecord(payload []byte) (record, rest []byte) {
	for i, c := range payload {
		if c == RecordSeparator {
			return payload[:i], payload[i+1:]
		}
	}
	return payload, nil
}

// DecodeRecord decodes one record of a polling payload. A record "b<base64>"
// is a binary MESSAGE: its data is base64-decoded by appending to scratch,
// and data is the appended part of newScratch (pass scratch[:0] to reuse the
// buffer; pass the previous newScratch to keep earlier binary data valid).
// Any other record is a text packet decoded by DecodePacket, data aliasing
// record and newScratch being scratch. Errors wrap ErrBadPacket.
func DecodeRecord(record, scratch []byte) (typ EIOType, data []byte, binary bool, newScratch []byte, err error) {
	if len(record) > 0 && record[0] == 'b' {
		n := len(scratch)
		out, err := base64.StdEncoding.AppendDecode(scratch, record[1:])
		if err != nil {
			return 0, nil, false, scratch, errPacketBase64
		}
		return EIOMessage, out[n:], true, out, nil
	}
	typ, data, err = DecodePacket(record)
	return typ, data, false, scratch, err
}

// AppendOpenPacket appends the OPEN packet of an Engine.IO v4 handshake:
//
//	0{"sid":"…","upgrades":[…],"pingInterval":N,"pingTimeout":N,"maxPayload":N}
//
// with exactly these keys in this order; the strings are JSON-escaped.
func AppendOpenPacket(dst []byte, sid string, upgrades []string, pingIntervalMs, pingTimeoutMs, maxPayload int64) []byte {
	dst = append(dst, `0{"sid":`...)
	dst = AppendJSONString(dst, sid)
	dst = append(dst, `,"upgrades":[`...)
	for i, u := range upgrades {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, u)
	}
	dst = append(dst, `],"pingInterval":`...)
	dst = strconv.AppendInt(dst, pingIntervalMs, 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, pingTimeoutMs, 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, maxPayload, 10)
	return append(dst, '}')
}
