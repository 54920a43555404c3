package codec

// Character classes and small ASCII helpers shared by the parsers.

const (
	classToken  = 1 << iota // RFC 9110 tchar
	classHex                // 0-9 a-f A-F
	classVChar              // field-vchar, SP, HTAB, obs-text: allowed in a header value
	classTarget             // allowed in a request-target: VCHAR and obs-text
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] |= classToken
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			t[c] |= classToken
		}
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
			t[c] |= classHex
		}
		if c == '\t' || (c >= 0x20 && c != 0x7f) {
			t[c] |= classVChar
		}
		if c > 0x20 && c != 0x7f {
			t[c] |= classTarget
		}
	}
	return t
}()

func isToken(c byte) bool { return charClass[c]&classToken != 0 }

// unhex returns the value of the hex digit c, or 0xff if c is not one.
func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0xff
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// equalFold reports whether b equals s under ASCII case folding.
func equalFold[T ~string | ~[]byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

// trimOWS trims optional whitespace (SP and HTAB) from both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// nextListElement splits the first element off a comma-separated header
// list (RFC 9110 section 5.6.1). Commas inside quoted strings do not split.
// elem is trimmed of OWS and may be empty (lists may hold empty elements);
// rest is nil when v is used up.
func nextListElement(v []byte) (elem, rest []byte) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			return trimOWS(v[:i]), v[i+1:]
		}
	}
	return trimOWS(v), nil
}

// nextParam splits the first ';'-separated piece off v, like nextListElement.
func nextParam(v []byte) (elem, rest []byte) {
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ';':
			return trimOWS(v[:i]), v[i+1:]
		}
	}
	return trimOWS(v), nil
}
