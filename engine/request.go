package engine

import (
	"encoding/binary"
	"iter"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// A session keeps what Socket.IO's handshake shows of the request that
// opened it (the client's address, the request-target and the header
// fields) for its whole life, so the copy is compact: one string, with no
// maps and no net.Addr (a *net.TCPAddr is 56 B). Its layout:
//
//	address target '\n' { field '\n' }
//
// where address is one of (ports big-endian)
//
//	0x00                        none
//	0x04 ip[4] port[2]          TCP over IPv4
//	0x06 ip[16] port[2]         TCP over IPv6, no zone
//	0x01 len network len string anything else (lengths one byte each)
//
// where target is the request-target, or a byte below 0x20 standing for
// one of commonTargets (a client opening a WebSocket with no query of its
// own sends exactly that), and
// a field is one of
//
//	name ':' value      a name (lower-cased) not in the tables below
//	nameCode value      a byte 0x01..0x1f naming a well-known field
//	pairCode            a byte 0x80.. standing for a whole well-known field
//
// Header values cannot hold '\n' (the parser refuses control characters)
// and names are tokens (ASCII letters, digits and a few marks), so a line
// starting with a byte below 0x20 or from 0x80 up is a code. The tables
// hold what clients send on nearly every handshake: the fields of a
// WebSocket upgrade and of a browser's request. The bench client's upgrade
// request takes 50 bytes instead of the 180 of the request head; with its
// IPv4 address (7) and, in front, the session id (20), the session keeps
// one 80-byte allocation.

// commonTargets are the request-targets with a code: commonTargets[c].
var commonTargets = [...]string{
	1: "/socket.io/?EIO=4&transport=websocket",
	2: "/engine.io/?EIO=4&transport=websocket",
}

// commonNames are the field names with a code: commonNames[c] for code c.
// 0x09 and 0x0a (tab, newline) are not codes.
var commonNames = [0x20]string{
	0x01: "host",
	0x02: "connection",
	0x03: "upgrade",
	0x04: "sec-websocket-key",
	0x05: "sec-websocket-version",
	0x06: "sec-websocket-extensions",
	0x07: "sec-websocket-protocol",
	0x08: "user-agent",
	0x0b: "accept",
	0x0c: "accept-encoding",
	0x0d: "accept-language",
	0x0e: "origin",
	0x0f: "cookie",
	0x10: "cache-control",
	0x11: "pragma",
	0x12: "referer",
	0x13: "authorization",
	0x14: "x-forwarded-for",
	0x15: "x-forwarded-proto",
	0x16: "x-real-ip",
	0x17: "sec-fetch-mode",
	0x18: "sec-fetch-site",
	0x19: "sec-fetch-dest",
	0x1a: "sec-ch-ua",
	0x1b: "sec-ch-ua-mobile",
	0x1c: "sec-ch-ua-platform",
	0x1d: "content-type",
	0x1e: "content-length",
	0x1f: "priority",
}

// commonFields are whole fields with a code: commonFields[c-pairBase].
var commonFields = [...][2]string{
	{"upgrade", "websocket"},
	{"connection", "Upgrade"},
	{"connection", "upgrade"},
	{"connection", "keep-alive"},
	{"connection", "Keep-Alive"},
	{"connection", "close"},
	{"sec-websocket-version", "13"},
	{"sec-websocket-extensions", "permessage-deflate; client_max_window_bits"},
	{"accept", "*/*"},
	{"cache-control", "no-cache"},
	{"pragma", "no-cache"},
	{"accept-encoding", "gzip, deflate"},
	{"accept-encoding", "gzip, deflate, br"},
	{"accept-encoding", "gzip, deflate, br, zstd"},
	{"accept-language", "*"},
	{"accept-language", "en-US,en;q=0.9"},
	{"sec-fetch-mode", "websocket"},
	{"sec-fetch-mode", "cors"},
	{"sec-fetch-site", "same-origin"},
	{"sec-fetch-site", "same-site"},
	{"sec-fetch-site", "cross-site"},
	{"sec-fetch-dest", "websocket"},
	{"sec-fetch-dest", "empty"},
	{"sec-ch-ua-mobile", "?0"},
	{"sec-ch-ua-mobile", "?1"},
	{"x-forwarded-proto", "http"},
	{"x-forwarded-proto", "https"},
	{"priority", "u=1, i"},
	{"priority", "u=4, i"},
}

const pairBase = 0x80

// nameCodes is the reverse of commonNames.
var nameCodes = map[string]byte{}

func init() {
	for c, n := range commonNames {
		if n != "" {
			nameCodes[n] = byte(c)
		}
	}
}

// fieldCode returns the code of the field name: value, or 0.
func fieldCode(name string, value []byte) byte {
	for i, f := range commonFields {
		if f[0] == name && f[1] == string(value) {
			return byte(pairBase + i)
		}
	}
	return 0
}

// compactRequest encodes what a session keeps of req after prefix (the
// address record, appendAddr or appendRemote, and before it, at the
// handshake, the session id; see above), in one allocation of its exact
// size.
func compactRequest(req *codec.Request, prefix []byte) string {
	bb := pool.Get()
	defer pool.Put(bb)
	b := append(bb.B[:0], prefix...)
	if c := targetCode(req.URI); c != 0 {
		b = append(b, c)
	} else {
		b = append(b, req.URI...)
	}
	b = append(b, '\n')
	var lname [64]byte
	for _, h := range req.Headers {
		name := lname[:0]
		if len(h.Name) <= len(lname) {
			name = appendLower(name, h.Name)
		} else {
			name = appendLower(make([]byte, 0, len(h.Name)), h.Name)
		}
		if c, ok := nameCodes[string(name)]; ok {
			if f := fieldCode(commonNames[c], h.Value); f != 0 {
				b = append(b, f, '\n')
				continue
			}
			b = append(b, c)
		} else {
			b = append(b, name...)
			b = append(b, ':')
		}
		b = append(b, h.Value...)
		b = append(b, '\n')
	}
	bb.B = b
	return string(b)
}

const (
	addrNone  = 0x00
	addrOther = 0x01
	addrIPv4  = 0x04
	addrIPv6  = 0x06
)

// appendRemote appends the address record of x's client; on a reactor
// connection it allocates nothing.
func appendRemote(b []byte, x exchange) []byte {
	if lx, ok := x.(loopExchange); ok {
		if ap := lx.c.RemoteAddrPort(); ap.IsValid() {
			return appendAddrPort(b, ap)
		}
	}
	return appendAddr(b, x.remoteAddr())
}

// appendAddr appends the address record of a (see above).
func appendAddr(b []byte, a net.Addr) []byte {
	if a == nil {
		return append(b, addrNone)
	}
	if t, ok := a.(*net.TCPAddr); ok && t.Zone == "" && uint(t.Port) <= math.MaxUint16 {
		if ip, ok := netip.AddrFromSlice(t.IP); ok {
			return appendAddrPort(b, netip.AddrPortFrom(ip, uint16(t.Port)))
		}
	}
	network, str := a.Network(), a.String()
	network, str = network[:min(len(network), math.MaxUint8)], str[:min(len(str), math.MaxUint8)]
	b = append(b, addrOther, byte(len(network)))
	b = append(b, network...)
	b = append(b, byte(len(str)))
	return append(b, str...)
}

// appendAddrPort appends the address record of ap, which is valid and has
// no zone.
func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	if ip := ap.Addr().Unmap(); ip.Is4() {
		a := ip.As4()
		b = append(append(b, addrIPv4), a[:]...)
	} else {
		a := ip.As16()
		b = append(append(b, addrIPv6), a[:]...)
	}
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// addrLen is the length of the address record at the start of raw.
func addrLen(raw string) int {
	if raw == "" {
		return 0
	}
	n := 1
	switch raw[0] {
	case addrIPv4:
		n += net.IPv4len + 2
	case addrIPv6:
		n += net.IPv6len + 2
	case addrOther:
		if len(raw) > n {
			n += 1 + int(raw[n])
		}
		if len(raw) > n {
			n += 1 + int(raw[n])
		}
	}
	return min(n, len(raw))
}

// decodeAddr returns the address the record at the start of raw stands
// for: a new *net.TCPAddr for TCP.
func decodeAddr(raw string) net.Addr {
	rec := raw[:addrLen(raw)]
	switch {
	case rec == "":
		return nil
	case rec[0] == addrIPv4 && len(rec) == 1+net.IPv4len+2:
		return &net.TCPAddr{IP: net.IP(rec[1 : 1+net.IPv4len]), Port: int(binary.BigEndian.Uint16([]byte(rec[1+net.IPv4len:])))}
	case rec[0] == addrIPv6 && len(rec) == 1+net.IPv6len+2:
		return &net.TCPAddr{IP: net.IP(rec[1 : 1+net.IPv6len]), Port: int(binary.BigEndian.Uint16([]byte(rec[1+net.IPv6len:])))}
	case rec[0] == addrOther && len(rec) >= 2:
		n := 2 + int(rec[1])
		if len(rec) < n+1 {
			return nil
		}
		network, str := rec[2:n], rec[n+1:]
		if strings.HasPrefix(network, "tcp") {
			if ap, err := netip.ParseAddrPort(str); err == nil {
				return net.TCPAddrFromAddrPort(ap)
			}
		}
		return otherAddr{network, str}
	}
	return nil
}

// otherAddr is an address that is not TCP over IP, as recorded.
type otherAddr struct{ network, str string }

func (a otherAddr) Network() string { return a.network }
func (a otherAddr) String() string  { return a.str }

// targetCode returns the code of a common request-target, or 0.
func targetCode(uri []byte) byte {
	for c, t := range commonTargets {
		if t != "" && t == string(uri) {
			return byte(c)
		}
	}
	return 0
}

func appendLower(dst, s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// RequestHead is the request that opened a session, as the session keeps
// it: the request-target and the header fields, in one compact string (no
// maps), for the session's life. Its methods parse that copy on each call
// and allocate only what they return: Header, Query and URI return
// substrings of it (Header allocates when it joins several fields, Query
// when it decodes escapes), HeaderValues and QueryValues a slice. The zero
// value is an empty request. Values are safe for concurrent use.
//
// Header and Query give what the reference server's request.headers[name]
// and request._query[name] give (Node.js's http and querystring modules).
type RequestHead struct{ raw string }

// RequestHead returns the handshake request of the session.
func (s *Session) RequestHead() RequestHead { return RequestHead{s.raw[addrLen(s.raw):]} }

// RemoteAddr is the address of the client that opened the session: a new
// *net.TCPAddr on each call for a client over TCP, nil if it is not known
// (the connection was gone before the handshake was answered).
func (s *Session) RemoteAddr() net.Addr { return decodeAddr(s.raw) }

// URI is the request-target as the client sent it:
// "/socket.io/?EIO=4&transport=websocket".
func (h RequestHead) URI() string {
	if h.raw != "" && h.raw[0] < 0x20 && int(h.raw[0]) < len(commonTargets) {
		return commonTargets[h.raw[0]]
	}
	if i := strings.IndexByte(h.raw, '\n'); i >= 0 {
		return h.raw[:i]
	}
	return h.raw
}

// Fields yields the header fields in the order they came, one (name,
// value) pair per field line: names in lower case (as Node.js reports
// them), values without surrounding whitespace.
func (h RequestHead) Fields() iter.Seq2[string, string] {
	return func(yield func(name, value string) bool) {
		for i := h.fieldsStart(); i < len(h.raw); {
			var name, value string
			name, value, i = h.field(i)
			if name != "" && !yield(name, value) {
				return
			}
		}
	}
}

// fieldsStart is the offset of the first field line.
func (h RequestHead) fieldsStart() int {
	if i := strings.IndexByte(h.raw, '\n'); i >= 0 {
		return i + 1
	}
	return len(h.raw)
}

// field decodes the field line at offset i and returns the offset of the
// next one. name is "" for a line that holds no field (none is written).
func (h RequestHead) field(i int) (name, value string, next int) {
	line := h.raw[i:]
	next = len(h.raw)
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line, next = line[:j], i+j+1
	}
	if line == "" {
		return "", "", next
	}
	switch c := line[0]; {
	case c >= pairBase:
		if int(c-pairBase) < len(commonFields) {
			f := commonFields[c-pairBase]
			name, value = f[0], f[1]
		}
	case c < 0x20:
		name, value = commonNames[c], line[1:]
	default:
		if k := strings.IndexByte(line, ':'); k > 0 {
			name, value = line[:k], line[k+1:]
		}
	}
	return name, value, next
}

// Header returns the value of the header field name (any case) as
// Node.js's request.headers[name] gives it: "" when absent; when the field
// came several times, the values joined with ", " (with "; " for Cookie),
// except for the fields Node.js keeps only the first of (Authorization,
// Content-Type, Host, User-Agent, Referer and the others of its list).
func (h RequestHead) Header(name string) string {
	discard, sep := duplicateRule(name)
	var (
		first  string
		n      int
		joined []byte
	)
	for i := h.fieldsStart(); i < len(h.raw); {
		var field, value string
		field, value, i = h.field(i)
		if !equalFoldASCII(field, name) {
			continue
		}
		n++
		switch {
		case n == 1:
			if discard {
				return value
			}
			first = value
		case n == 2:
			joined = append(append(append(joined, first...), sep...), value...)
		default:
			joined = append(append(joined, sep...), value...)
		}
	}
	if n > 1 {
		return string(joined)
	}
	return first
}

// HeaderValues returns the value of each field name (any case), in order;
// nil when there is none.
func (h RequestHead) HeaderValues(name string) []string {
	var out []string
	for i := h.fieldsStart(); i < len(h.raw); {
		var field, value string
		field, value, i = h.field(i)
		if equalFoldASCII(field, name) {
			out = append(out, value)
		}
	}
	return out
}

// duplicateRule says how Node.js reports a header field sent several
// times: only the first (discard), or the values joined with sep.
func duplicateRule(name string) (discard bool, sep string) {
	for _, n := range keepFirstFields {
		if equalFoldASCII(n, name) {
			return true, ""
		}
	}
	if equalFoldASCII("cookie", name) {
		return false, "; "
	}
	return false, ", "
}

// keepFirstFields are the fields Node.js's IncomingMessage.headers keeps
// only the first value of (checked against Node 20: the others are
// joined).
var keepFirstFields = [...]string{
	"content-type", "content-length", "user-agent", "referer", "host",
	"authorization", "proxy-authorization", "if-modified-since",
	"if-unmodified-since", "from", "location", "max-forwards", "retry-after",
	"etag", "last-modified", "server", "age", "expires",
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Query returns the first value of the query parameter name, "" when
// absent. Parameters are decoded as Node.js's querystring.parse decodes
// them (the reference's handshake query): '+' is a space, %XX escapes are
// decoded and malformed ones kept as they are, invalid UTF-8 becomes
// U+FFFD, and only the first 1000 '&'-separated parts count. Node.js gives
// an array for a parameter sent several times: see QueryValues.
func (h RequestHead) Query(name string) string {
	for q := h.query(); q != ""; {
		var k, v string
		k, v, q = nextQueryParam(q)
		if k == name {
			return v
		}
	}
	return ""
}

// QueryValues returns every value of the query parameter name, in order;
// nil when absent.
func (h RequestHead) QueryValues(name string) []string {
	var out []string
	for q := h.query(); q != ""; {
		var k, v string
		k, v, q = nextQueryParam(q)
		if k == name {
			out = append(out, v)
		}
	}
	return out
}

// QueryParams yields every query parameter, decoded, in order.
func (h RequestHead) QueryParams() iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		for q := h.query(); q != ""; {
			var k, v string
			k, v, q = nextQueryParam(q)
			if !yield(k, v) {
				return
			}
		}
	}
}

// maxQueryParts is Node.js querystring's default maxKeys: it reads the
// first 1000 '&'-separated parts (empty ones included) and ignores the
// rest.
const maxQueryParts = 1000

// query returns the query of the target, cut after maxQueryParts parts.
func (h RequestHead) query() string {
	uri := h.URI()
	i := strings.IndexByte(uri, '?')
	if i < 0 {
		return ""
	}
	q := uri[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	parts := 0
	for j := 0; j < len(q); j++ {
		if q[j] == '&' {
			if parts++; parts == maxQueryParts {
				return q[:j]
			}
		}
	}
	return q
}

// nextQueryParam decodes the first non-empty part of q and returns the
// rest after it; k and v are "" and rest is "" when none is left (a part
// "=" gives the key "" with the value "", as in Node.js).
func nextQueryParam(q string) (k, v, rest string) {
	for q != "" {
		part := q
		if j := strings.IndexByte(q, '&'); j >= 0 {
			part, q = q[:j], q[j+1:]
		} else {
			q = ""
		}
		if part == "" {
			continue
		}
		k, v, _ = strings.Cut(part, "=")
		return decodeQueryComponent(k), decodeQueryComponent(v), q
	}
	return "", "", ""
}

// decodeQueryComponent decodes s as Node.js's querystring.unescape: '+'
// is a space, %XX escapes are decoded, malformed ones are kept, and the
// bytes are read as UTF-8 with each invalid sequence (its maximal subpart,
// as a WHATWG decoder does) replaced by U+FFFD. It returns s itself when
// there is nothing to decode.
func decodeQueryComponent(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 && utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return string(replaceInvalidUTF8(b))
}

// replaceInvalidUTF8 replaces each maximal subpart of an invalid UTF-8
// sequence in b by U+FFFD (WHATWG "decode", as Node.js's Buffer.toString).
func replaceInvalidUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		c := b[i]
		need, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case 0xC2 <= c && c <= 0xDF:
			need = 1
		case c == 0xE0:
			need, lo = 2, 0xA0
		case c == 0xED:
			need, hi = 2, 0x9F
		case 0xE1 <= c && c <= 0xEF:
			need = 2
		case c == 0xF0:
			need, lo = 3, 0x90
		case c == 0xF4:
			need, hi = 3, 0x8F
		case 0xF1 <= c && c <= 0xF3:
			need = 3
		}
		n := 1
		for k := 1; k <= need && i+k < len(b) && lo <= b[i+k] && b[i+k] <= hi; k++ {
			n++
			lo, hi = 0x80, 0xBF
		}
		out = utf8.AppendRune(out, utf8.RuneError)
		i += n
	}
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// Secure reports whether the handshake came over TLS (see
// HandshakeRequest.Secure).
func (s *Session) Secure() bool { return s.secure }

// Request rebuilds the handshake request: a new HandshakeRequest, its URL
// and Header map parsed on each call from the session's compact copy (idle
// sessions keep no maps). Header has canonical keys (Host included). Read
// single values with RequestHead instead: it allocates nothing.
func (s *Session) Request() *HandshakeRequest {
	r := &HandshakeRequest{
		Method:     http.MethodGet, // the only handshake method
		RemoteAddr: s.RemoteAddr(),
		Secure:     s.Secure(),
		Time:       s.Created(),
		Header:     http.Header{},
	}
	head := s.RequestHead()
	u, err := url.ParseRequestURI(head.URI())
	if err != nil {
		u = &url.URL{}
	}
	r.URL = u
	for name, value := range head.Fields() {
		k := http.CanonicalHeaderKey(name)
		r.Header[k] = append(r.Header[k], value)
	}
	return r
}
