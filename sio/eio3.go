package sio

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/fanio/fanio/internal/codec"
)

// Socket.IO protocol v4, spoken on Engine.IO v3 connections
// (socket.io-client 2.x; Options.AllowEIO3), as the reference speaks it:
//
//   - the connection joins "/" at once, through its middleware, without
//     the client asking (it never sends a CONNECT for "/");
//   - CONNECT answers carry no payload ("40", "40/admin,");
//   - the client puts its query in the CONNECT namespace
//     ("40/admin?token=abc,"): the namespace is the path, the query
//     parameters are the socket's auth ({"token":"abc"});
//   - a socket's id is "<nsp>#<engine id>" ("/" itself: the engine id);
//   - a refusal by middleware is sent as a plain JSON value, the
//     ConnectError's data or else its message ("Invalid namespace" stays
//     an object, as the reference sends it).
//
// Events, acknowledgements, binary attachments and DISCONNECT are written
// the same in both versions: a broadcast's packet is encoded once, and only
// its Engine.IO framing differs (engine.Prepared).

// EngineProtocol is the Engine.IO protocol version of the socket's
// connection: 4, or 3 for a socket.io-client 2.x client accepted with
// Options.AllowEIO3 (the reference's socket.conn.protocol).
func (s *Socket) EngineProtocol() int { return s.c.sess.Protocol() }

// v3SocketID is the id a socket of namespace nsp gets on an Engine.IO v3
// connection: the v2 client computes the same one.
func v3SocketID(nsp, engineID string) SocketID {
	if nsp == "/" {
		return engineID
	}
	return nsp + "#" + engineID
}

// connectAckV3 is the CONNECT answer to a v3 client: no payload.
func (c *client) connectAckV3(nsp string) { _ = c.sendRaw(codec.SIOConnect, nsp, nil) }

// connectErrorV3 is a middleware's refusal as a v3 client gets it: the
// reference sends err.data || err.message, so data that JavaScript finds
// falsy (null, false, 0, "") gives way to the message.
func connectErrorV3(err error) []byte {
	var ce *ConnectError
	if !errors.As(err, &ce) {
		return codec.AppendJSONString(nil, err.Error())
	}
	if ce.Data != nil {
		e := getEncoder()
		defer e.release()
		if e.value(ce.Data, 0) == nil && len(e.attachments) == 0 && !jsFalsy(e.buf) {
			return append([]byte(nil), e.buf...)
		}
	}
	return codec.AppendJSONString(nil, ce.Message)
}

func jsFalsy(v []byte) bool {
	switch string(v) {
	case "null", "false", `""`:
		return true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err == nil && f == 0
}

// v3Namespace reads the namespace of a packet from a v3 client as the
// reference does (new URL(nsp, "https://socket.io")): the namespace is the
// URL's path — percent-encoded where URLs encode, dot segments resolved, a
// backslash taken for a slash — and the query's parameters, decoded as a
// form, are the auth object (its JSON, "{}" when there are none; the last
// value of a repeated key wins). The common case, a plain path without a
// query, is returned as is with a nil auth.
func v3Namespace(raw []byte) (nsp, auth []byte) {
	if plainPath(raw) {
		return raw, nil
	}
	s := strings.Trim(string(raw), "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	path, query, hasQuery := strings.Cut(s, "?")
	isSlash := func(c byte) bool { return c == '/' || c == '\\' }
	if len(path) >= 2 && isSlash(path[0]) && isSlash(path[1]) {
		// "//host/path": a host (not checked here), then the path.
		path = path[2:]
		i := strings.IndexAny(path, "/\\")
		if i < 0 {
			path = ""
		} else {
			path = path[i:]
		}
	}
	nsp = resolvePath(path)
	if hasQuery {
		auth = formToJSON(query)
	} else {
		auth = []byte("{}")
	}
	return nsp, auth
}

// plainPath reports whether p needs none of v3Namespace's work.
func plainPath(p []byte) bool {
	if len(p) > 1 && p[1] == '/' {
		return false // "//host..."
	}
	for i, c := range p {
		switch {
		case c <= ' ' || c >= 0x7f, c == '?', c == '#', c == '\\', c == '"', c == '<', c == '>', c == '`', c == '{', c == '}':
			return false
		case c == '.' && i > 0 && p[i-1] == '/':
			return false
		case c == '%' && i > 0 && p[i-1] == '/':
			return false // maybe "%2e"
		}
	}
	return true
}

// resolvePath is the path of a URL parsed from p (after its leading slash),
// as WHATWG's path state writes it.
func resolvePath(p string) []byte {
	if len(p) > 0 && (p[0] == '/' || p[0] == '\\') {
		p = p[1:]
	}
	var segs []string
	for {
		i := strings.IndexAny(p, "/\\")
		seg, last := p, i < 0
		if !last {
			seg, p = p[:i], p[i+1:]
		}
		switch lower := strings.ToLower(seg); {
		case lower == ".." || lower == ".%2e" || lower == "%2e." || lower == "%2e%2e":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			if last {
				segs = append(segs, "")
			}
		case lower == "." || lower == "%2e":
			if last {
				segs = append(segs, "")
			}
		default:
			segs = append(segs, percentEncodePath(seg))
		}
		if last {
			break
		}
	}
	out := make([]byte, 0, len(p)+8)
	for _, s := range segs {
		out = append(out, '/')
		out = append(out, s...)
	}
	if len(out) == 0 {
		out = append(out, '/')
	}
	return out
}

// percentEncodePath encodes seg with WHATWG's path percent-encode set.
func percentEncodePath(seg string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>?`{}", c) >= 0 {
			if b == nil {
				b = append(make([]byte, 0, len(seg)+8), seg[:i]...)
			}
			b = append(b, '%', hex[c>>4], hex[c&0xf])
		} else if b != nil {
			b = append(b, c)
		}
	}
	if b == nil {
		return seg
	}
	return string(b)
}

// formToJSON returns the parameters of an URL query, decoded as a form,
// as a JSON object of strings, with JavaScript's key order: keys that are
// array indices first, in increasing order, then the others in the order
// they first appear.
func formToJSON(q string) []byte {
	type kv struct{ k, v string }
	var kvs []kv
	index := map[string]int{}
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = formUnescape(k), formUnescape(v)
		if i, ok := index[k]; ok {
			kvs[i].v = v
			continue
		}
		index[k] = len(kvs)
		kvs = append(kvs, kv{k, v})
	}
	sort.SliceStable(kvs, func(i, j int) bool {
		a, aIdx := arrayIndex(kvs[i].k)
		b, bIdx := arrayIndex(kvs[j].k)
		switch {
		case aIdx && bIdx:
			return a < b
		default:
			return aIdx && !bIdx
		}
	})
	out := []byte{'{'}
	for i, e := range kvs {
		if i > 0 {
			out = append(out, ',')
		}
		out = codec.AppendJSONString(out, e.k)
		out = append(out, ':')
		out = codec.AppendJSONString(out, e.v)
	}
	return append(out, '}')
}

func formUnescape(s string) string {
	if strings.IndexAny(s, "+%") < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(v))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// arrayIndex reports whether JavaScript treats k as an array index (such
// keys come first in an object, in increasing order).
func arrayIndex(k string) (uint64, bool) {
	if k == "" || len(k) > 10 || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	v, err := strconv.ParseUint(k, 10, 64)
	return v, err == nil && v < 1<<32-1
}
