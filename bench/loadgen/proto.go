package loadgen

import "bytes"

// Engine.IO v4 packet types (first byte of a text packet).
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = '3'
	eioMessage = '4'
	eioUpgrade = '5'
	eioNoop    = '6'
)

// Socket.IO v5 packet types (first byte after the Engine.IO '4').
const (
	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioAck          = '3'
	sioConnectError = '4'
)

// recordSep separates Engine.IO packets in an HTTP long-polling payload.
const recordSep = 0x1e

var (
	msgPrefix  = []byte(`["msg","`) // a broadcast delivery: 42["msg","<ts> pad"]
	sidKey     = []byte(`"sid":"`)
	probePing  = []byte("2probe")
	probePong  = []byte("3probe")
	padPattern = bytes.Repeat([]byte("abcdefghijklmnopqrstuvwxyz012345"), 2048) // 64 KiB of JSON-safe filler
)

// parseUint reads a decimal number at the start of b; n is the count of
// digits consumed (0 if none).
func parseUint(b []byte) (v uint64, n int) {
	for n < len(b) {
		c := b[n]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
		n++
	}
	return v, n
}

// deliveryTimestamp extracts the publisher's send time and measurement
// epoch from the Socket.IO part of a broadcast, s = `2["msg","<ts> <epoch> ...`.
// ok is false for any other packet.
func deliveryTimestamp(s []byte) (ts int64, epoch uint64, ok bool) {
	if len(s) < 1+len(msgPrefix)+1 || s[0] != sioEvent || !bytes.HasPrefix(s[1:], msgPrefix) {
		return 0, 0, false
	}
	rest := s[1+len(msgPrefix):]
	v, n := parseUint(rest)
	if n == 0 {
		return 0, 0, false
	}
	if n+1 < len(rest) && rest[n] == ' ' {
		epoch, _ = parseUint(rest[n+1:])
	}
	return int64(v), epoch, true
}

// ackID extracts the id of an acknowledgement, s = `3<id>[...]`.
func ackID(s []byte) (id uint64, ok bool) {
	if len(s) < 2 || s[0] != sioAck {
		return 0, false
	}
	id, n := parseUint(s[1:])
	return id, n > 0
}

// extractSID returns the value of "sid" in an Engine.IO open packet or a
// Socket.IO CONNECT reply.
func extractSID(p []byte) string {
	return string(sidValue(p))
}

// sidValue is extractSID without the copy: the value aliases p (nil if
// there is none).
func sidValue(p []byte) []byte {
	i := bytes.Index(p, sidKey)
	if i < 0 {
		return nil
	}
	rest := p[i+len(sidKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// appendPad appends n bytes of JSON-string-safe filler.
func appendPad(b []byte, n int) []byte {
	for n > 0 {
		k := n
		if k > len(padPattern) {
			k = len(padPattern)
		}
		b = append(b, padPattern[:k]...)
		n -= k
	}
	return b
}

// appendPub appends the Engine.IO+Socket.IO text of a `pub` emit whose
// payload is a JSON string "<ts> <epoch> <pad>" of about size bytes. The
// epoch identifies the measurement window, so deliveries that straggle into
// a later window are not counted there.
func appendPub(b []byte, ts int64, epoch uint64, size int) []byte {
	b = append(b, `42["pub","`...)
	n := len(b)
	b = appendInt(b, ts)
	b = append(b, ' ')
	b = appendUint(b, epoch)
	b = append(b, ' ')
	b = appendPad(b, size-(len(b)-n)-2)
	return append(b, `"]`...)
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	return appendUint(b, uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// nextPacket splits the first Engine.IO packet off an HTTP long-polling
// body (packets are separated by 0x1e).
func nextPacket(body []byte) (pkt, rest []byte) {
	if i := bytes.IndexByte(body, recordSep); i >= 0 {
		return body[:i], body[i+1:]
	}
	return body, nil
}
