package codec

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Engine.IO protocol v3 (socket.io-client 2.x, engine.io-client 3.x), which
// a server speaks to old clients beside v4. The packets are v4's; what
// differs is how they are framed:
//
//   - a polling text payload is a run of "<length>:<packet>", the length
//     counted in UTF-16 code units (JavaScript's String.length), and a
//     binary packet in it is "b<type digit><base64>";
//   - a polling binary payload (XHR2, for clients that did not ask for
//     base64 with b64=1) is a run of
//     <0 text | 1 binary> <length, one decimal digit per byte> 0xff <packet>,
//     the length in bytes, a text packet as "<type digit><data>" in UTF-8 and
//     a binary one as <type byte><data>;
//   - a binary WebSocket message starts with the packet type as a byte.

// ErrBadPayload: an Engine.IO v3 polling payload that cannot be split into
// packets (a length missing, not a number, or past the end). Returned
// wrapped with a description.
var ErrBadPayload = detail(ErrBadPacket, "v3 payload")

var (
	errV3Length      = detail(ErrBadPayload, "length missing or not a number before ':'")
	errV3Short       = detail(ErrBadPayload, "packet shorter than its length")
	errV3Surrogate   = detail(ErrBadPayload, "length ends inside a surrogate pair")
	errXHR2Flag      = detail(ErrBadPayload, "binary payload: packet flag neither 0 nor 1")
	errXHR2Length    = detail(ErrBadPayload, "binary payload: length digits missing, not 0-9 or unterminated")
	errXHR2Short     = detail(ErrBadPayload, "binary payload: packet shorter than its length")
	errV3BinaryEmpty = detail(ErrBadPacket, "binary packet without a type byte")
)

// maxV3LengthDigits bounds a length field: 10 digits exceed any payload a
// server accepts.
const maxV3LengthDigits = 10

// UTF16Len returns what JavaScript's String.length says of b decoded as
// UTF-8: runes from U+10000 up count 2 (a surrogate pair), others 1; each
// byte of an invalid sequence counts 1 (it decodes as one U+FFFD).
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// AppendV3Record appends one packet of a v3 polling text payload:
// "<length>:<type digit><data>", the length in UTF-16 code units.
func AppendV3Record(dst []byte, typ EIOType, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(1+UTF16Len(data)), 10)
	dst = append(dst, ':', '0'+byte(typ))
	return append(dst, data...)
}

// AppendV3BinaryRecord appends a binary packet of a v3 polling text
// payload: "<length>:b<type digit><base64 of data>".
func AppendV3BinaryRecord(dst []byte, typ EIOType, data []byte) []byte {
	dst = strconv.AppendInt(dst, int64(Base64PacketLen(len(data))), 10)
	dst = append(dst, ':')
	return AppendBase64Packet(dst, typ, data)
}

// AppendBase64Packet appends a v3 binary packet in text form, as a v3
// polling payload carries it and as a v3 WebSocket carries it for a client
// that asked for base64 (b64=1): "b<type digit><standard base64 of data>".
func AppendBase64Packet(dst []byte, typ EIOType, data []byte) []byte {
	dst = append(dst, 'b', '0'+byte(typ))
	return base64.StdEncoding.AppendEncode(dst, data)
}

// Base64PacketLen is the length of what AppendBase64Packet appends for n
// bytes of data.
func Base64PacketLen(n int) int { return 2 + base64.StdEncoding.EncodedLen(n) }

// V3RecordLen returns the length of what AppendV3Record or
// AppendV3BinaryRecord append, to size a buffer.
func V3RecordLen(data []byte, binary bool) int {
	if binary {
		n := Base64PacketLen(len(data))
		return n + len(strconv.Itoa(n)) + 1
	}
	return len(data) + 1 + 1 + maxV3LengthDigits
}

// NextV3Record splits the first packet off a v3 polling text payload:
// record is the packet (possibly empty: "0:" is allowed and carries
// nothing) and rest what follows; the payload is done when rest is empty.
// An empty payload is an error, as for the reference.
func NextV3Record(payload []byte) (record, rest []byte, err error) {
	i, n := 0, 0
	for i < len(payload) && payload[i] != ':' {
		c := payload[i]
		if c < '0' || c > '9' || i >= maxV3LengthDigits {
			return nil, nil, errV3Length
		}
		n = n*10 + int(c-'0')
		i++
	}
	if i == 0 || i == len(payload) {
		return nil, nil, errV3Length
	}
	i++ // ':'
	start := i
	for units := 0; units < n; {
		if i >= len(payload) {
			return nil, nil, errV3Short
		}
		c := payload[i]
		if c < utf8.RuneSelf {
			i++
			units++
			continue
		}
		r, size := utf8.DecodeRune(payload[i:])
		i += size
		if r >= 0x10000 {
			units += 2
			if units > n {
				return nil, nil, errV3Surrogate
			}
		} else {
			units++
		}
	}
	return payload[start:i], payload[i:], nil
}

// DecodeV3Record decodes one packet of a v3 polling text payload (see
// NextV3Record). "b<type digit><base64>" is a binary packet: its data is
// decoded by appending to scratch, as DecodeRecord does; anything else is a
// text packet decoded by DecodePacket, data aliasing record.
func DecodeV3Record(record, scratch []byte) (typ EIOType, data []byte, binary bool, newScratch []byte, err error) {
	if len(record) > 0 && record[0] == 'b' {
		if len(record) < 2 || record[1] < '0' || record[1] > '0'+byte(EIONoop) {
			return 0, nil, false, scratch, errPacketType
		}
		typ = EIOType(record[1] - '0')
		n := len(scratch)
		enc := base64.StdEncoding
		if len(record[2:])%4 != 0 {
			enc = base64.RawStdEncoding // padding left out: Node's decoder takes it
		}
		out, err := enc.AppendDecode(scratch, record[2:])
		if err != nil {
			return 0, nil, false, scratch, errPacketBase64
		}
		return typ, out[n:], true, out, nil
	}
	typ, data, err = DecodePacket(record)
	return typ, data, false, scratch, err
}

// DecodeV3Binary decodes a v3 binary packet (a WebSocket binary message, a
// binary packet of an XHR2 payload): its first byte is the packet type.
func DecodeV3Binary(b []byte) (typ EIOType, data []byte, err error) {
	if len(b) == 0 {
		return 0, nil, errV3BinaryEmpty
	}
	if b[0] > byte(EIONoop) {
		return 0, nil, errPacketType
	}
	return EIOType(b[0]), b[1:], nil
}

// appendXHR2Length appends the length of a packet as XHR2 payloads write it:
// one byte per decimal digit, then 0xff.
func appendXHR2Length(dst []byte, n int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	for _, c := range d {
		dst = append(dst, c-'0')
	}
	return append(dst, 0xff)
}

// AppendXHR2Text appends a text packet of a v3 binary (XHR2) payload:
// 0x00, the length of "<type digit><data>" in bytes, 0xff, then that.
func AppendXHR2Text(dst []byte, typ EIOType, data []byte) []byte {
	dst = append(dst, 0)
	dst = appendXHR2Length(dst, 1+len(data))
	dst = append(dst, '0'+byte(typ))
	return append(dst, data...)
}

// AppendXHR2Binary appends a binary packet of a v3 binary (XHR2) payload:
// 0x01, the length of <type byte><data>, 0xff, then that.
func AppendXHR2Binary(dst []byte, typ EIOType, data []byte) []byte {
	dst = append(dst, 1)
	dst = appendXHR2Length(dst, 1+len(data))
	dst = append(dst, byte(typ))
	return append(dst, data...)
}

// XHR2RecordLen bounds the length of what AppendXHR2Text or
// AppendXHR2Binary append, to size a buffer.
func XHR2RecordLen(data []byte) int { return len(data) + 1 + 1 + maxV3LengthDigits + 1 }

// NextXHR2Packet splits the first packet off a v3 binary (XHR2) payload:
// packet is its bytes ("<type digit><data>" when text is true, <type
// byte><data> otherwise), rest what follows. The payload is done when rest
// is empty. Errors wrap ErrBadPacket.
func NextXHR2Packet(payload []byte) (packet []byte, text bool, rest []byte, err error) {
	if len(payload) == 0 {
		return nil, false, nil, errXHR2Flag
	}
	switch payload[0] {
	case 0:
		text = true
	case 1:
	default:
		return nil, false, nil, errXHR2Flag
	}
	i, n := 1, 0
	for ; i < len(payload) && payload[i] != 0xff; i++ {
		if payload[i] > 9 || i > maxV3LengthDigits {
			return nil, false, nil, errXHR2Length
		}
		n = n*10 + int(payload[i])
	}
	if i == 1 || i == len(payload) {
		return nil, false, nil, errXHR2Length
	}
	i++ // 0xff
	if n > len(payload)-i {
		return nil, false, nil, errXHR2Short
	}
	return payload[i : i+n], text, payload[i+n:], nil
}

// AppendJSONP appends a JSONP polling answer: ___eio[<j>]("<payload>");
// where j keeps only the digits of the client's "j" parameter and the
// payload is a JavaScript string literal, as JSON.stringify writes it with
// U+2028 and U+2029 escaped too (they end a line in older JavaScript).
func AppendJSONP(dst, j, payload []byte) []byte {
	dst = append(dst, "___eio["...)
	for _, c := range j {
		if c >= '0' && c <= '9' {
			dst = append(dst, c)
		}
	}
	dst = append(dst, "]("...)
	dst = append(dst, '"')
	// A view of payload, not a copy: appendEscaped only reads it.
	dst = appendEscaped(dst, unsafe.String(unsafe.SliceData(payload), len(payload)), true)
	return append(dst, `");`...)
}

// DecodeJSONPBody extracts the payload a JSONP client POSTs: the form field
// "d" of an application/x-www-form-urlencoded body, URL-decoded ('+' is a
// space; a '%' not followed by two hex digits stays as is), with the
// client's newline escaping undone (see unescapeJSONPNewlines). It appends
// to dst. ok is false when there is no single "d" field (the
// reference then takes no packet from the body).
func DecodeJSONPBody(dst, body []byte) (payload []byte, ok bool) {
	var field []byte
	found := 0
	for rest := body; ; {
		pair, last := rest, true
		if i := indexByte(rest, '&'); i >= 0 {
			pair, rest, last = rest[:i], rest[i+1:], false
		}
		key, val := pair, []byte(nil)
		if i := indexByte(pair, '='); i >= 0 {
			key, val = pair[:i], pair[i+1:]
		}
		if formKeyIs(key, 'd') {
			found++
			field = val
		}
		if last {
			break
		}
	}
	if found != 1 {
		return dst, false
	}
	start := len(dst)
	dst = appendFormUnescape(dst, field)
	n := unescapeJSONPNewlines(dst[start:])
	return dst[:start+n], true
}

// unescapeJSONPNewlines undoes, in place, how a JSONP client escapes
// newlines in what it posts (in a textarea, which would turn them into
// CRLF): a backslash and 'n' becomes a newline, two backslashes and 'n'
// become a backslash and 'n'. It returns the new length, never more than
// the old.
func unescapeJSONPNewlines(b []byte) int {
	w := 0
	for r := 0; r < len(b); {
		switch {
		case b[r] == '\\' && r+2 < len(b) && b[r+1] == '\\' && b[r+2] == 'n':
			b[w], b[w+1] = '\\', 'n'
			w, r = w+2, r+3
		case b[r] == '\\' && r+1 < len(b) && b[r+1] == 'n':
			b[w] = '\n'
			w, r = w+1, r+2
		default:
			b[w] = b[r]
			w, r = w+1, r+1
		}
	}
	return w
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// formKeyIs reports whether the URL-encoded key decodes to the one byte k.
func formKeyIs(key []byte, k byte) bool {
	switch len(key) {
	case 1:
		return key[0] == k
	case 3:
		hi, lo := unhex(key[1]), unhex(key[2])
		return key[0] == '%' && hi != 0xff && lo != 0xff && hi<<4|lo == k
	}
	return false
}

// appendFormUnescape appends s decoded as a form value: '+' is a space,
// "%XX" a byte, any other '%' itself.
func appendFormUnescape(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && unhex(s[i+1]) != 0xff && unhex(s[i+2]) != 0xff:
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
