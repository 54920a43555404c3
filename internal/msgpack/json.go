package msgpack

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/fanio/fanio/internal/codec"
)

// ErrJSON: AppendFromJSON's input is not one valid JSON value, or a value
// cannot be written as JSON (a map key that is not a string, a number or a
// boolean).
var ErrJSON = errors.New("msgpack: invalid JSON, or a value JSON cannot hold")

// BinaryFunc appends the JSON text that stands for the binary value b (a
// Socket.IO attachment placeholder, say) to dst. b aliases the Reader's
// input.
type BinaryFunc func(dst, b []byte) []byte

// AppendJSON reads one value and appends it to dst as the JSON text that
// JSON.stringify writes for what notepack decodes: nil and undefined are
// null (undefined map values are left out, as JSON.stringify does), dates
// are ISO 8601 strings with milliseconds, numbers are written as
// JavaScript writes them (NaN and ±Infinity as null), integer and boolean
// map keys become strings. Binary values (bin, ext type 0) go through bin;
// with bin nil they are written as JSON.stringify writes a Node Buffer,
// {"type":"Buffer","data":[...]} (and an ext type 0, an ArrayBuffer for
// notepack, as {}). Another extension is written as
// notepack returns it, [type, data]. On error dst is returned cut back to
// its original length.
func (r *Reader) AppendJSON(dst []byte, bin BinaryFunc) ([]byte, error) {
	orig, start := len(dst), r.off
	dst, err := r.appendJSON(dst, bin, 0)
	if err != nil {
		r.off = start
		return dst[:orig], err
	}
	return dst, nil
}

func (r *Reader) appendJSON(dst []byte, bin BinaryFunc, depth int) ([]byte, error) {
	switch r.Peek() {
	case KindNil:
		r.off++
		return append(dst, "null"...), nil
	case KindUndefined:
		r.off += 3
		return append(dst, "null"...), nil
	case KindBool:
		v, _ := r.Bool()
		return strconv.AppendBool(dst, v), nil
	case KindInt:
		v, neg, err := r.integer()
		if err != nil {
			return dst, err
		}
		// Past 2^53 JavaScript holds a rounded double, and writes that.
		const exact = 1 << 53
		switch {
		case neg && int64(v) < -exact:
			return AppendJSNumber(dst, float64(int64(v))), nil
		case neg:
			return strconv.AppendInt(dst, int64(v), 10), nil
		case v > exact:
			return AppendJSNumber(dst, float64(v)), nil
		}
		return strconv.AppendUint(dst, v, 10), nil
	case KindFloat:
		f, err := r.Float()
		if err != nil {
			return dst, err
		}
		return AppendJSNumber(dst, f), nil
	case KindString:
		s, err := r.StringBytes()
		if err != nil {
			return dst, err
		}
		return codec.AppendJSONString(dst, unsafeString(s)), nil
	case KindBinary:
		isExt := r.b[r.off] > 0xc6
		b, err := r.Binary()
		if err != nil {
			return dst, err
		}
		switch {
		case bin != nil:
			return bin(dst, b), nil
		case isExt:
			// notepack decodes ext type 0 as an ArrayBuffer, which
			// JSON.stringify writes as {}.
			return append(dst, "{}"...), nil
		}
		return appendBufferJSON(dst, b), nil
	case KindTime:
		t, err := r.Time()
		if err != nil {
			return dst, err
		}
		return appendJSDate(dst, t), nil
	case KindExt:
		typ, data, err := r.Ext()
		if err != nil {
			return dst, err
		}
		dst = strconv.AppendInt(append(dst, '['), int64(typ), 10)
		dst = append(dst, ',')
		if bin != nil {
			dst = bin(dst, data)
		} else {
			dst = appendBufferJSON(dst, data)
		}
		return append(dst, ']'), nil
	case KindArray:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		n, err := r.ArrayHeader()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = r.appendJSON(dst, bin, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case KindMap:
		if depth >= MaxDepth {
			return dst, ErrTooDeep
		}
		n, err := r.MapHeader()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		first := true
		for i := 0; i < n; i++ {
			keyStart := len(dst)
			if !first {
				dst = append(dst, ',')
			}
			keyPos := len(dst)
			if dst, err = r.appendKey(dst); err != nil {
				return dst, err
			}
			// JSON.stringify leaves out undefined values, and a
			// "__proto__" key sets the prototype of what notepack
			// builds instead of adding a property.
			if r.Peek() == KindUndefined || string(dst[keyPos:]) == `"__proto__"` {
				dst = dst[:keyStart]
				if err := r.Skip(); err != nil {
					return dst, err
				}
				continue
			}
			dst = append(dst, ':')
			if dst, err = r.appendJSON(dst, bin, depth+1); err != nil {
				return dst, err
			}
			first = false
		}
		return append(dst, '}'), nil
	}
	if r.off >= len(r.b) {
		return dst, ErrShort
	}
	if r.b[r.off] == 0xc1 {
		return dst, ErrInvalid
	}
	return dst, ErrShort
}

// appendKey reads a map key and appends it as a JSON string, as
// JavaScript turns a key into a property name.
func (r *Reader) appendKey(dst []byte) ([]byte, error) {
	switch r.Peek() {
	case KindString:
		s, err := r.StringBytes()
		if err != nil {
			return dst, err
		}
		return codec.AppendJSONString(dst, unsafeString(s)), nil
	case KindInt, KindFloat, KindBool, KindNil:
		dst = append(dst, '"')
		dst, err := r.appendJSON(dst, nil, MaxDepth)
		if err != nil {
			return dst, err
		}
		return append(dst, '"'), nil
	}
	if r.off >= len(r.b) {
		return dst, ErrShort
	}
	return dst, ErrJSON
}

// appendBufferJSON writes what JSON.stringify writes for a Node Buffer.
func appendBufferJSON(dst, b []byte) []byte {
	dst = append(dst, `{"type":"Buffer","data":[`...)
	for i, c := range b {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return append(dst, "]}"...)
}

// appendJSDate writes Date.prototype.toJSON's text: ISO 8601 in UTC with
// milliseconds, years past 9999 or before 0 as ±YYYYYY; null for a date
// outside JavaScript's range (±8.64e15 ms).
func appendJSDate(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms > 8.64e15 || ms < -8.64e15 {
		return append(dst, "null"...)
	}
	t = time.UnixMilli(ms).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y >= 0 && y <= 9999:
		dst = t.AppendFormat(dst, "2006")
	case y < 0:
		dst = append(dst, '-')
		dst = appendPadded(dst, -y, 6)
	default:
		dst = append(dst, '+')
		dst = appendPadded(dst, y, 6)
	}
	dst = t.AppendFormat(dst, "-01-02T15:04:05.000Z")
	return append(dst, '"')
}

func appendPadded(dst []byte, v, width int) []byte {
	s := strconv.Itoa(v)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// AppendJSNumber appends f as JavaScript's JSON.stringify writes a number:
// NaN and ±Infinity as null, -0 as 0, integers below 1e21 without an
// exponent, exponents without leading zeros (1e-7, 1e+21).
func AppendJSNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	if abs := math.Abs(f); abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	if i := bytes.IndexByte(dst[start:], 'e'); i >= 0 {
		j := start + i + 2 // after "e+" or "e-"
		k := j
		for k < len(dst)-1 && dst[k] == '0' {
			k++
		}
		dst = append(dst[:j], dst[k:]...)
	}
	return dst
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// PlaceholderFunc returns the attachment a Socket.IO binary placeholder
// {"_placeholder":true,"num":num} stands for; ok false leaves the object as
// it is.
type PlaceholderFunc func(num int) (b []byte, ok bool)

// AppendFromJSON appends the JSON value src (one value, optionally
// surrounded by whitespace) as MessagePack, as notepack encodes what
// JSON.parse returns: integral numbers as integers, other numbers as float
// 64, objects as maps in their key order. With placeholder non-nil, an
// object that is a binary placeholder becomes bin with the bytes
// placeholder returns. On error dst is returned cut back to its original
// length and the error wraps ErrJSON.
func AppendFromJSON(dst, src []byte, placeholder PlaceholderFunc) ([]byte, error) {
	t := fromJSON{src: src, ph: placeholder}
	orig := len(dst)
	i := skipSpace(src, 0)
	out, i, err := t.value(dst, i, 0)
	if err == nil && skipSpace(src, i) != len(src) {
		err = ErrJSON
	}
	if err != nil {
		return dst[:orig], err
	}
	return out, nil
}

type fromJSON struct {
	src []byte
	ph  PlaceholderFunc
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func (t *fromJSON) value(dst []byte, i, depth int) ([]byte, int, error) {
	src := t.src
	if i >= len(src) {
		return dst, i, ErrJSON
	}
	switch c := src[i]; {
	case c == '"':
		return t.str(dst, i)
	case c == '{':
		if depth >= MaxDepth {
			return dst, i, ErrTooDeep
		}
		if t.ph != nil {
			if n, err := codec.ScanJSONValue(src[i:]); err == nil {
				if num, ok := codec.ParsePlaceholder(src[i : i+n]); ok {
					if b, ok := t.ph(num); ok {
						return AppendBinary(dst, b), i + n, nil
					}
				}
			}
		}
		return t.collection(dst, i, depth, '}')
	case c == '[':
		if depth >= MaxDepth {
			return dst, i, ErrTooDeep
		}
		return t.collection(dst, i, depth, ']')
	case c == 't' && bytes.HasPrefix(src[i:], []byte("true")):
		return append(dst, 0xc3), i + 4, nil
	case c == 'f' && bytes.HasPrefix(src[i:], []byte("false")):
		return append(dst, 0xc2), i + 5, nil
	case c == 'n' && bytes.HasPrefix(src[i:], []byte("null")):
		return append(dst, 0xc0), i + 4, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return t.number(dst, i)
	}
	return dst, i, ErrJSON
}

// collection writes an array or an object: its header is written for the
// largest form, then narrowed once the count is known.
func (t *fromJSON) collection(dst []byte, i, depth int, end byte) ([]byte, int, error) {
	src := t.src
	hdr := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0)
	n := 0
	i = skipSpace(src, i+1)
	if i < len(src) && src[i] == end {
		i++
	} else {
		for {
			var err error
			if end == '}' {
				if i >= len(src) || src[i] != '"' {
					return dst, i, ErrJSON
				}
				if dst, i, err = t.str(dst, i); err != nil {
					return dst, i, err
				}
				i = skipSpace(src, i)
				if i >= len(src) || src[i] != ':' {
					return dst, i, ErrJSON
				}
				i = skipSpace(src, i+1)
			}
			if dst, i, err = t.value(dst, i, depth+1); err != nil {
				return dst, i, err
			}
			n++
			i = skipSpace(src, i)
			if i >= len(src) {
				return dst, i, ErrJSON
			}
			if src[i] == end {
				i++
				break
			}
			if src[i] != ',' {
				return dst, i, ErrJSON
			}
			i = skipSpace(src, i+1)
		}
	}
	var h []byte
	var scratch [5]byte
	if end == '}' {
		h = AppendMapHeader(scratch[:0], n)
	} else {
		h = AppendArrayHeader(scratch[:0], n)
	}
	return narrow(dst, hdr, 5, h), i, nil
}

// narrow replaces the reserved header of width bytes at dst[at:] by h and
// moves what follows it.
func narrow(dst []byte, at, width int, h []byte) []byte {
	copy(dst[at:], h)
	if len(h) < width {
		n := copy(dst[at+len(h):], dst[at+width:])
		dst = dst[:at+len(h)+n]
	}
	return dst
}

func (t *fromJSON) str(dst []byte, i int) ([]byte, int, error) {
	n, err := codec.ScanJSONValue(t.src[i:])
	if err != nil || t.src[i] != '"' {
		return dst, i, ErrJSON
	}
	tok := t.src[i : i+n]
	body := tok[1 : len(tok)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return AppendStringBytes(dst, body), i + n, nil
	}
	hdr := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0)
	if dst, err = codec.AppendUnquote(dst, tok); err != nil {
		return dst, i, ErrJSON
	}
	var scratch [5]byte
	h := AppendStringHeader(scratch[:0], len(dst)-hdr-5)
	return narrow(dst, hdr, 5, h), i + n, nil
}

func (t *fromJSON) number(dst []byte, i int) ([]byte, int, error) {
	src := t.src
	start := i
	if src[i] == '-' {
		i++
	}
	digits := i
	if i < len(src) && src[i] == '0' {
		i++
	} else {
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if i == digits {
		return dst, i, ErrJSON
	}
	integral := true
	if i < len(src) && src[i] == '.' {
		integral = false
		i++
		d := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == d {
			return dst, i, ErrJSON
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		integral = false
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		d := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == d {
			return dst, i, ErrJSON
		}
	}
	tok := src[start:i]
	if integral && len(tok) <= 18 {
		var v int64
		for _, c := range tok[digits-start:] {
			v = v*10 + int64(c-'0')
		}
		if tok[0] == '-' {
			v = -v
			if v == 0 {
				return append(dst, 0), i, nil // -0
			}
		}
		return AppendInt(dst, v), i, nil
	}
	f, err := strconv.ParseFloat(unsafeString(tok), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return dst, i, ErrJSON
	}
	return AppendFloat(dst, f), i, nil
}
