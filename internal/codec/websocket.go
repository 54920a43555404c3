package codec

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// ProtocolError is the type of every error a WebSocket peer can cause
// through a frame: a violation of RFC 6455 that requires failing the
// connection. Code is the close code to fail it with: 1002 (protocol error)
// for all of them except ErrInvalidCloseReason, which is 1007 (invalid frame
// payload data).
type ProtocolError struct {
	Code ws.StatusCode
	Msg  string
}

func (e *ProtocolError) Error() string { return "codec: websocket: " + e.Msg }

// Frame and close payload errors. Each is a *ProtocolError.
var (
	ErrUnmaskedFrame       error = &ProtocolError{ws.StatusProtocolError, "client frame is not masked"}
	ErrReservedBits        error = &ProtocolError{ws.StatusProtocolError, "reserved bit set without a negotiated extension"}
	ErrReservedOpcode      error = &ProtocolError{ws.StatusProtocolError, "reserved opcode"}
	ErrControlFrameTooLong error = &ProtocolError{ws.StatusProtocolError, "control frame payload longer than 125 bytes"}
	ErrFragmentedControl   error = &ProtocolError{ws.StatusProtocolError, "fragmented control frame"}
	ErrBadContinuation     error = &ProtocolError{ws.StatusProtocolError, "continuation frame outside a fragmented message, or new data frame inside one"}
	ErrBadLength           error = &ProtocolError{ws.StatusProtocolError, "64-bit payload length has its most significant bit set"}
	ErrBadClosePayload     error = &ProtocolError{ws.StatusProtocolError, "close payload of 1 byte"}
	ErrBadCloseCode        error = &ProtocolError{ws.StatusProtocolError, "invalid close code"}
	ErrInvalidCloseReason  error = &ProtocolError{ws.StatusInvalidFramePayloadData, "close reason is not valid UTF-8"}
)

// CloseCodeFor returns the close code to fail a WebSocket connection with
// for err: the Code of a *ProtocolError in err's chain, or 1002 (protocol
// error) for any other non-nil error, or 1000 (normal closure) for nil.
func CloseCodeFor(err error) ws.StatusCode {
	if err == nil {
		return ws.StatusNormalClosure
	}
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ws.StatusProtocolError
}

// ParseFrameHeader parses the frame header (2 to 14 bytes) at the start of
// buf and returns it and n, its length; the payload starts at buf[n:]. It
// returns ErrIncomplete if buf is shorter than the header. The only error it
// finds itself is ErrBadLength, a 64-bit length with its top bit set (h and
// n are still filled in, h.Length being negative). It does not check
// semantics: see CheckClientFrame. Non-minimal length encodings are
// accepted.
func ParseFrameHeader(buf []byte) (h ws.Header, n int, err error) {
	if len(buf) < 2 {
		return h, 0, ErrIncomplete
	}
	b0, b1 := buf[0], buf[1]
	h.Fin = b0&0x80 != 0
	h.Rsv = (b0 & 0x70) >> 4
	h.OpCode = ws.OpCode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	n = 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(buf) < 4 {
			return ws.Header{}, 0, ErrIncomplete
		}
		h.Length = int64(binary.BigEndian.Uint16(buf[2:4]))
		n = 4
	case 127:
		if len(buf) < 10 {
			return ws.Header{}, 0, ErrIncomplete
		}
		h.Length = int64(binary.BigEndian.Uint64(buf[2:10]))
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(buf) < n+4 {
			return ws.Header{}, 0, ErrIncomplete
		}
		copy(h.Mask[:], buf[n:n+4])
		n += 4
	}
	if h.Length < 0 {
		return h, n, ErrBadLength
	}
	return h, n, nil
}

// CheckClientFrame validates a frame header received by a server (RFC 6455
// section 5): the mask bit must be set (ErrUnmaskedFrame); the length must
// not be negative (ErrBadLength); the opcode must be known
// (ErrReservedOpcode); RSV2 and RSV3 must be clear, and RSV1 too unless
// rsv1Allowed (permessage-deflate was negotiated), and even then only on a
// text or binary frame, the first frame of a message (ErrReservedBits);
// control frames must have FIN (ErrFragmentedControl) and at most 125 bytes
// of payload (ErrControlFrameTooLong); inFragmented tells whether a
// fragmented message is in progress: a continuation frame without one, or a
// text or binary frame during one, is ErrBadContinuation.
//
// Every error is a *ProtocolError; see CloseCodeFor.
func CheckClientFrame(h ws.Header, inFragmented bool, rsv1Allowed bool) error {
	if !h.Masked {
		return ErrUnmaskedFrame
	}
	if h.Length < 0 {
		return ErrBadLength
	}
	if h.OpCode.IsReserved() {
		return ErrReservedOpcode
	}
	if h.Rsv != 0 {
		if h.Rsv != 0x4 || !rsv1Allowed || (h.OpCode != ws.OpText && h.OpCode != ws.OpBinary) {
			return ErrReservedBits
		}
	}
	if h.OpCode.IsControl() {
		if !h.Fin {
			return ErrFragmentedControl
		}
		if h.Length > ws.MaxControlFramePayloadSize {
			return ErrControlFrameTooLong
		}
		return nil
	}
	if (h.OpCode == ws.OpContinuation) != inFragmented {
		return ErrBadContinuation
	}
	return nil
}

// AppendFrameHeader appends an unmasked (server to client) frame header
// with the given FIN bit, opcode, RSV1 bit and payload length, using the
// shortest length encoding. length must not be negative.
func AppendFrameHeader(dst []byte, fin bool, op ws.OpCode, rsv1 bool, length int) []byte {
	if length < 0 {
		panic("codec: AppendFrameHeader: negative length")
	}
	b0 := byte(op) & 0x0f
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	switch {
	case length <= 125:
		return append(dst, b0, byte(length))
	case length <= 0xffff:
		return append(dst, b0, 126, byte(length>>8), byte(length))
	default:
		l := uint64(length)
		return append(dst, b0, 127,
			byte(l>>56), byte(l>>48), byte(l>>40), byte(l>>32),
			byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
	}
}

// AppendFrame appends a whole unmasked frame with FIN set: header and
// payload.
func AppendFrame(dst []byte, op ws.OpCode, payload []byte) []byte {
	dst = AppendFrameHeader(dst, true, op, false, len(payload))
	return append(dst, payload...)
}

// AppendCloseFrame appends an unmasked close frame carrying code and
// reason. The reason is cut to fit the 125-byte control frame limit (123
// bytes after the code) at a character boundary, and invalid UTF-8 in it is
// replaced with U+FFFD, so the payload is always valid. Code 0 and 1005 (no
// status), which must not be sent, give a close frame with an empty payload
// and no reason.
func AppendCloseFrame(dst []byte, code ws.StatusCode, reason string) []byte {
	if code == 0 || code == ws.StatusNoStatusRcvd {
		return append(dst, 0x88, 0)
	}
	const maxReason = ws.MaxControlFramePayloadSize - 2
	// Measure the reason as it will be written.
	size := 0
	for i := 0; i < len(reason); {
		r, w := utf8.DecodeRuneInString(reason[i:])
		rl := w
		if r == utf8.RuneError && w == 1 {
			rl = 3 // U+FFFD
		}
		if size+rl > maxReason {
			break
		}
		size += rl
		i += w
	}
	dst = append(dst, 0x88, byte(2+size), byte(code>>8), byte(code))
	for i := 0; size > 0; {
		r, w := utf8.DecodeRuneInString(reason[i:])
		if r == utf8.RuneError && w == 1 {
			dst = append(dst, "\uFFFD"...)
			size -= 3
		} else {
			dst = append(dst, reason[i:i+w]...)
			size -= w
		}
		i += w
	}
	return dst
}

// ParseClosePayload parses the payload of a close frame (RFC 6455 section
// 5.5.1). An empty payload gives code 1005 (no status received) and no
// reason. One byte is ErrBadClosePayload. A code outside 1000-1003,
// 1007-1014 and 3000-4999 is ErrBadCloseCode; a reason that is not valid
// UTF-8 is ErrInvalidCloseReason. reason aliases p.
func ParseClosePayload(p []byte) (code ws.StatusCode, reason []byte, err error) {
	switch len(p) {
	case 0:
		return ws.StatusNoStatusRcvd, nil, nil
	case 1:
		return 0, nil, ErrBadClosePayload
	}
	code = ws.StatusCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return code, nil, ErrBadCloseCode
	}
	reason = p[2:]
	if !utf8.Valid(reason) {
		return code, nil, ErrInvalidCloseReason
	}
	return code, reason, nil
}

// ValidCloseCode reports whether code may appear in a close frame:
// 1000-1003, 1007-1014 or 3000-4999.
func ValidCloseCode(code ws.StatusCode) bool {
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

// Unmask XORs payload in place with mask, starting at position offset of
// the mask (the number of payload bytes of this frame already unmasked).
// Masking and unmasking are the same operation.
func Unmask(payload []byte, mask [4]byte, offset int) {
	ws.Cipher(payload, mask, offset)
}

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AppendAcceptKey appends the Sec-WebSocket-Accept value for the
// Sec-WebSocket-Key value key: base64(SHA-1(key + GUID)), 28 bytes. It does
// not allocate unless dst lacks capacity or key is longer than 92 bytes (a
// valid key is 24; see ValidWebSocketKey).
func AppendAcceptKey(dst, key []byte) []byte {
	var buf [128]byte
	var in []byte
	if len(key)+len(websocketGUID) <= len(buf) {
		n := copy(buf[:], key)
		n += copy(buf[n:], websocketGUID)
		in = buf[:n]
	} else {
		in = append(append(make([]byte, 0, len(key)+len(websocketGUID)), key...), websocketGUID...)
	}
	sum := sha1.Sum(in)
	var out [28]byte
	base64.StdEncoding.Encode(out[:], sum[:])
	return append(dst, out[:]...)
}

// ValidWebSocketKey reports whether key is a valid Sec-WebSocket-Key value:
// the base64 encoding of 16 bytes (RFC 6455 section 4.1).
func ValidWebSocketKey(key []byte) bool {
	if len(key) != 24 || key[22] != '=' || key[23] != '=' {
		return false
	}
	var out [18]byte
	n, err := base64.StdEncoding.Decode(out[:], key)
	return err == nil && n == 16
}

// ValidUTF8 reports whether b is valid UTF-8, as the payload of a text
// message must be.
func ValidUTF8(b []byte) bool { return utf8.Valid(b) }

// DeflateResponseExtension is the Sec-WebSocket-Extensions value a server
// answers with when NegotiateDeflate accepts an offer.
const DeflateResponseExtension = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// NegotiateDeflate reports whether the Sec-WebSocket-Extensions value
// extensionsHeader holds a permessage-deflate offer (RFC 7692) that the
// server can accept by answering DeflateResponseExtension: compression with
// the full 32 KiB window and no context takeover in either direction.
//
// Offers are considered in order and the first acceptable one wins. An
// offer is acceptable when every parameter in it is known, appears at most
// once and has a valid value:
//
//   - server_no_context_takeover, client_no_context_takeover: no value;
//     accepted (we always use both, RFC 7692 lets the server add them).
//   - client_max_window_bits, with no value or a value 8-15: accepted; the
//     response does not mention it, so the client uses at most 15 bits,
//     which our 32 KiB inflate window handles.
//   - server_max_window_bits, any value: declined. Accepting it requires
//     echoing the parameter in the response (RFC 7692 section 7.1.2.1), which
//     the fixed response does not do, and values below 15 cannot be honoured
//     since the compressor always uses a 32 KiB window.
//
// Anything else (an unknown parameter, a duplicate, a malformed value)
// declines that offer. Values may be quoted. Only one header field value is
// examined: a caller that received several Sec-WebSocket-Extensions fields
// should call it on each, in order.
func NegotiateDeflate(extensionsHeader []byte) (ok bool) {
	for rest := extensionsHeader; rest != nil; {
		var offer []byte
		offer, rest = nextListElement(rest)
		if acceptableDeflateOffer(offer) {
			return true
		}
	}
	return false
}

func acceptableDeflateOffer(offer []byte) bool {
	name, params := nextParam(offer)
	if !equalFold(name, "permessage-deflate") {
		return false
	}
	var seen uint8
	const (
		seenSNCT = 1 << iota
		seenCNCT
		seenCMWB
	)
	for params != nil {
		var p []byte
		p, params = nextParam(params)
		if len(p) == 0 {
			return false
		}
		key, val, hasVal := p, []byte(nil), false
		for i, c := range p {
			if c == '=' {
				key, val, hasVal = trimOWS(p[:i]), trimOWS(p[i+1:]), true
				break
			}
		}
		if hasVal && len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		var bit uint8
		switch {
		case equalFold(key, "server_no_context_takeover"):
			bit = seenSNCT
			if hasVal {
				return false
			}
		case equalFold(key, "client_no_context_takeover"):
			bit = seenCNCT
			if hasVal {
				return false
			}
		case equalFold(key, "client_max_window_bits"):
			bit = seenCMWB
			if hasVal && !validWindowBits(val) {
				return false
			}
		default: // server_max_window_bits included: see NegotiateDeflate
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

// validWindowBits reports whether v is a window size 8-15 written as
// 1*DIGIT with no leading zero (RFC 7692 section 7.1.2).
func validWindowBits(v []byte) bool {
	switch len(v) {
	case 1:
		return v[0] >= '8' && v[0] <= '9'
	case 2:
		return v[0] == '1' && v[1] >= '0' && v[1] <= '5'
	}
	return false
}
