package codec

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrInvalidJSON is the error all JSON functions' errors wrap: the input is
// not valid JSON (RFC 8259), or not the JSON the function wants.
var ErrInvalidJSON = errors.New("codec: json: invalid JSON")

// ErrJSONTooDeep: arrays and objects nested deeper than MaxJSONDepth. It
// wraps ErrInvalidJSON.
var ErrJSONTooDeep = detail(ErrInvalidJSON, "nesting too deep")

// ErrTooManyElements: an array with more elements than ArrayElementsMax
// takes. It wraps ErrInvalidJSON.
var ErrTooManyElements = detail(ErrInvalidJSON, "too many array elements")

// MaxJSONDepth is the deepest nesting of arrays and objects the scanner
// accepts: "[[1]]" has depth 2.
const MaxJSONDepth = 64

// SyntaxError describes invalid JSON: what (Msg) and where (Offset, the
// byte offset in the input where the fault was found). Err is
// ErrInvalidJSON or ErrJSONTooDeep. Unlike the other errors of this
// package, a SyntaxError is allocated when returned.
type SyntaxError struct {
	Msg    string
	Offset int
	Err    error
}

func (e *SyntaxError) Error() string {
	return "codec: json: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// syntaxError is kept out of line so that the scanners' fast paths do not
// pay for building it.
//
//go:noinline
func syntaxError(off int, msg string) error {
	return &SyntaxError{Msg: msg, Offset: off, Err: ErrInvalidJSON}
}

//go:noinline
func tooDeep(off int) error {
	return &SyntaxError{Msg: "arrays and objects nested deeper than 64", Offset: off, Err: ErrJSONTooDeep}
}

// jsonPlain marks the ASCII bytes that stand for themselves inside a JSON
// string, both when scanning and when writing one.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// ScanJSONValue validates the JSON value at the start of b, after optional
// leading whitespace, and returns n, the offset just past its end: b[:n] is
// the leading whitespace and the value, and b[n:] whatever follows (which is
// not looked at). It checks strings (escapes, control characters, UTF-8),
// numbers, literals, arrays and objects, nested at most MaxJSONDepth deep.
// Errors are *SyntaxError values wrapping ErrInvalidJSON.
func ScanJSONValue(b []byte) (n int, err error) {
	return scanValue(b, skipWS(b, 0), 0)
}

// ValidJSON reports whether b is exactly one valid JSON value, with
// optional whitespace around it.
func ValidJSON(b []byte) bool {
	n, err := ScanJSONValue(b)
	return err == nil && skipWS(b, n) == len(b)
}

// scanValue scans the value starting exactly at b[i], inside depth levels
// of arrays and objects, and returns the offset past it.
func scanValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, syntaxError(i, "unexpected end of input, expecting a value")
	}
	switch c := b[i]; c {
	case '"':
		return scanString(b, i)
	case '[':
		return scanArray(b, i, depth+1)
	case '{':
		return scanObject(b, i, depth+1)
	case 't':
		return scanLiteral(b, i, "true")
	case 'f':
		return scanLiteral(b, i, "false")
	case 'n':
		return scanLiteral(b, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return scanNumber(b, i)
		}
		return i, syntaxError(i, "invalid character, expecting a value")
	}
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, syntaxError(i, "invalid literal")
	}
	return i + len(lit), nil
}

func scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return i, syntaxError(i, "invalid number: expecting a digit")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, syntaxError(i, "invalid number: expecting a digit after '.'")
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, syntaxError(i, "invalid number: expecting an exponent digit")
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	return i, nil
}

// scanString scans the string whose opening quote is b[i].
func scanString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		c := b[i]
		if jsonPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, syntaxError(i, "unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || hex4(b[i+2:i+6]) < 0 {
					return i, syntaxError(i, `invalid \u escape`)
				}
				i += 6
			default:
				return i, syntaxError(i, "invalid escape")
			}
		case c < 0x20:
			return i, syntaxError(i, "control character in string")
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, syntaxError(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return i, syntaxError(i, "unterminated string")
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		h := unhex(c)
		if h > 15 {
			return -1
		}
		r = r<<4 | rune(h)
	}
	return r
}

// scanArray scans the array whose '[' is b[i], at nesting depth depth.
func scanArray(b []byte, i, depth int) (int, error) {
	if depth > MaxJSONDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = scanValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, syntaxError(i, "unexpected end of input in array")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, syntaxError(i, "expecting ',' or ']' in array")
		}
	}
}

// scanObject scans the object whose '{' is b[i], at nesting depth depth.
func scanObject(b []byte, i, depth int) (int, error) {
	if depth > MaxJSONDepth {
		return i, tooDeep(i)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, syntaxError(i, "expecting a string key in object")
		}
		var err error
		if i, err = scanString(b, i); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, syntaxError(i, "expecting ':' after object key")
		}
		if i, err = scanValue(b, skipWS(b, i+1), depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, syntaxError(i, "unexpected end of input in object")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, syntaxError(i, "expecting ',' or '}' in object")
		}
	}
}

// ArrayElements appends to dst the raw bytes of each element of the JSON
// array b, trimmed of whitespace, and returns the extended slice. b must be
// exactly one valid JSON array, optionally surrounded by whitespace; the
// elements are validated as ScanJSONValue does. On error dst is returned
// with its original length. The element slices alias b and have their
// capacity cut to their length, so appending to one cannot overwrite b.
func ArrayElements(dst [][]byte, b []byte) ([][]byte, error) {
	return ArrayElementsMax(dst, b, 0)
}

// ArrayElementsMax is ArrayElements with at most max elements (max <= 0:
// no limit): past it, it stops with ErrTooManyElements, having scanned
// only that far, so what a client's array costs is bounded by max, not by
// its size.
func ArrayElementsMax(dst [][]byte, b []byte, max int) ([][]byte, error) {
	orig := len(dst)
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return dst, syntaxError(i, "expecting '['")
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			start := i
			end, err := scanValue(b, i, 1)
			if err != nil {
				return dst[:orig], err
			}
			if max > 0 && len(dst)-orig == max {
				return dst[:orig], ErrTooManyElements
			}
			dst = append(dst, b[start:end:end])
			i = skipWS(b, end)
			if i >= len(b) {
				return dst[:orig], syntaxError(i, "unexpected end of input in array")
			}
			if b[i] == ']' {
				i++
				break
			}
			if b[i] != ',' {
				return dst[:orig], syntaxError(i, "expecting ',' or ']' in array")
			}
			i = skipWS(b, i+1)
		}
	}
	if i = skipWS(b, i); i != len(b) {
		return dst[:orig], syntaxError(i, "data after the array")
	}
	return dst, nil
}

// ParsePlaceholder reports whether the raw JSON value v (optionally
// surrounded by whitespace) is a binary attachment placeholder of the
// Socket.IO protocol, {"_placeholder":true,"num":N}, and returns N. Keys may
// come in any order, other keys are ignored (as the reference
// implementation does), the last of duplicate keys wins, and N must be a
// non-negative integer written without fraction or exponent, below 10^9.
func ParsePlaceholder(v []byte) (num int, ok bool) {
	i := skipWS(v, 0)
	if i >= len(v) || v[i] != '{' {
		return 0, false
	}
	i = skipWS(v, i+1)
	placeholder, haveNum := false, false
	if i < len(v) && v[i] == '}' {
		return 0, false
	}
	for {
		if i >= len(v) || v[i] != '"' {
			return 0, false
		}
		kend, err := scanString(v, i)
		if err != nil {
			return 0, false
		}
		key := v[i+1 : kend-1]
		var kbuf [16]byte
		for _, c := range key {
			if c == '\\' {
				// An escaped key: decode it if it is short enough to
				// be one of ours.
				key = nil
				if kend-i <= 6*len(kbuf) {
					if k, err := AppendUnquote(kbuf[:0], v[i:kend]); err == nil {
						key = k
					}
				}
				break
			}
		}
		i = skipWS(v, kend)
		if i >= len(v) || v[i] != ':' {
			return 0, false
		}
		i = skipWS(v, i+1)
		vend, err := scanValue(v, i, 1)
		if err != nil {
			return 0, false
		}
		val := v[i:vend]
		switch string(key) {
		case "_placeholder":
			placeholder = string(val) == "true"
		case "num":
			num, haveNum = parseSmallUint(val)
		}
		i = skipWS(v, vend)
		if i >= len(v) {
			return 0, false
		}
		if v[i] == '}' {
			break
		}
		if v[i] != ',' {
			return 0, false
		}
		i = skipWS(v, i+1)
	}
	if skipWS(v, i+1) != len(v) || !placeholder || !haveNum {
		return 0, false
	}
	return num, true
}

// parseSmallUint parses a JSON integer 0 <= n < 10^9 with no sign, fraction
// or exponent.
func parseSmallUint(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 9 || (v[0] == '0' && len(v) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. Unlike encoding/json it does
// no HTML escaping ('<', '>' and '&' stay as they are) and leaves U+2028 and
// U+2029 alone; it escapes only what JSON requires: '"', '\\' and control
// characters (as \b \f \n \r \t or \u00XX). Invalid UTF-8 bytes are replaced
// with U+FFFD, each byte with one.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s, false)
	return append(dst, '"')
}

// appendEscaped appends the inside of a JSON string literal holding s (see
// AppendJSONString); with lineSeps, U+2028 and U+2029 are escaped too, as
// JSON.stringify does and JavaScript string literals need (AppendJSONP).
func appendEscaped(dst []byte, s string, lineSeps bool) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
		case lineSeps && (r == '\u2028' || r == '\u2029'):
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendUnquote decodes the raw JSON string token raw (with its quotes,
// nothing around them) and appends the result to dst. It handles all
// escapes, \uXXXX included, combining surrogate pairs; like encoding/json it
// turns a lone surrogate escape and each invalid UTF-8 byte into U+FFFD. On
// error (not a single string token, a bad escape, a control character) dst
// is returned with its original length and the error wraps ErrInvalidJSON.
func AppendUnquote(dst, raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return dst, syntaxError(0, "not a quoted string")
	}
	orig := len(dst)
	s := raw[1 : len(raw)-1]
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return dst[:orig], syntaxError(1+i, "unterminated string")
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				dst = append(dst, e)
				i += 2
			case 'b':
				dst = append(dst, '\b')
				i += 2
			case 'f':
				dst = append(dst, '\f')
				i += 2
			case 'n':
				dst = append(dst, '\n')
				i += 2
			case 'r':
				dst = append(dst, '\r')
				i += 2
			case 't':
				dst = append(dst, '\t')
				i += 2
			case 'u':
				r := rune(-1)
				if len(s)-i >= 6 {
					r = hex4(s[i+2 : i+6])
				}
				if r < 0 {
					return dst[:orig], syntaxError(1+i, `invalid \u escape`)
				}
				i += 6
				if r >= 0xd800 && r < 0xe000 {
					// A surrogate: valid only as a high one followed
					// by an escaped low one.
					lo := rune(-1)
					if r < 0xdc00 && len(s)-i >= 6 && s[i] == '\\' && s[i+1] == 'u' {
						lo = hex4(s[i+2 : i+6])
					}
					if lo >= 0xdc00 && lo < 0xe000 {
						r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default:
				return dst[:orig], syntaxError(1+i, "invalid escape")
			}
		case c == '"':
			return dst[:orig], syntaxError(1+i, "unescaped quote in string")
		case c < 0x20:
			return dst[:orig], syntaxError(1+i, "control character in string")
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
		start = i
	}
	return append(dst, s[start:]...), nil
}
