package msgpack

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Errors returned by the Reader. They are values: returning one does not
// allocate.
var (
	// ErrShort: the input ends inside a value.
	ErrShort = errors.New("msgpack: unexpected end of input")
	// ErrType: the next value is not of the kind asked for.
	ErrType = errors.New("msgpack: unexpected type")
	// ErrInvalid: a byte that starts no MessagePack value (0xc1).
	ErrInvalid = errors.New("msgpack: invalid format byte")
	// ErrTooDeep: arrays and maps nested deeper than MaxDepth.
	ErrTooDeep = errors.New("msgpack: nested too deep")
	// ErrRange: an integer that does not fit the type asked for.
	ErrRange = errors.New("msgpack: integer out of range")
)

// MaxDepth is the deepest nesting of arrays and maps the Reader follows.
const MaxDepth = 64

// Kind is the kind of a MessagePack value.
type Kind uint8

// The kinds of values.
const (
	KindInvalid   Kind = iota
	KindNil            // nil
	KindBool           // true, false
	KindInt            // any integer form
	KindFloat          // float 32 or 64
	KindString         // str
	KindBinary         // bin, or ext type 0 (notepack's ArrayBuffer)
	KindArray          // array
	KindMap            // map
	KindUndefined      // fixext 1 type 0 (notepack's undefined)
	KindTime           // timestamp extension, or notepack 2's Date
	KindExt            // any other extension
)

// Reader walks MessagePack bytes. The zero value reads nothing; Reset or
// NewReader gives it input. It never allocates, and the slices it returns
// alias the input.
type Reader struct {
	b   []byte
	off int
}

// NewReader returns a Reader of b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Reset makes r read b from its start.
func (r *Reader) Reset(b []byte) { r.b, r.off = b, 0 }

// Len is the number of bytes not read yet.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Offset is the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

// Peek returns the kind of the next value without reading it
// (KindInvalid at the end of input or before an invalid byte).
func (r *Reader) Peek() Kind {
	if r.off >= len(r.b) {
		return KindInvalid
	}
	c := r.b[r.off]
	switch {
	case c <= 0x7f || c >= 0xe0:
		return KindInt
	case c <= 0x8f:
		return KindMap
	case c <= 0x9f:
		return KindArray
	case c <= 0xbf:
		return KindString
	}
	switch c {
	case 0xc0:
		return KindNil
	case 0xc2, 0xc3:
		return KindBool
	case 0xc4, 0xc5, 0xc6:
		return KindBinary
	case 0xca, 0xcb:
		return KindFloat
	case 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
		return KindInt
	case 0xd9, 0xda, 0xdb:
		return KindString
	case 0xdc, 0xdd:
		return KindArray
	case 0xde, 0xdf:
		return KindMap
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		typ, n, _, err := r.extHeader()
		if err != nil {
			return KindInvalid
		}
		switch {
		case typ == 0 && c == 0xd4:
			return KindUndefined
		case typ == 0 && c == 0xd7:
			return KindTime
		case typ == 0:
			return KindBinary
		case typ == -1 && (n == 4 || n == 8 || n == 12):
			return KindTime
		}
		return KindExt
	}
	return KindInvalid
}

// need reports whether n more bytes follow offset off.
func (r *Reader) need(off, n int) bool { return n >= 0 && n <= len(r.b)-off }

func (r *Reader) u8(off int) int  { return int(r.b[off]) }
func (r *Reader) u16(off int) int { return int(binary.BigEndian.Uint16(r.b[off:])) }
func (r *Reader) u32(off int) int {
	v := binary.BigEndian.Uint32(r.b[off:])
	if uint64(v) > uint64(math.MaxInt32) {
		return -1 // longer than any input we accept
	}
	return int(v)
}

// lenAfter reads a big-endian length of size bytes at off.
func (r *Reader) lenAfter(off, size int) (int, bool) {
	if !r.need(off, size) {
		return 0, false
	}
	switch size {
	case 1:
		return r.u8(off), true
	case 2:
		return r.u16(off), true
	}
	n := r.u32(off)
	return n, n >= 0
}

// extHeader decodes an extension header at the cursor: its type, its data
// length, and where the data starts.
func (r *Reader) extHeader() (typ int8, n, start int, err error) {
	c := r.b[r.off]
	o := r.off + 1
	switch c {
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		n = 1 << (c - 0xd4)
	case 0xc7, 0xc8, 0xc9:
		size := 1 << (c - 0xc7) // 1, 2, 4
		var ok bool
		if n, ok = r.lenAfter(o, size); !ok {
			return 0, 0, 0, ErrShort
		}
		o += size
	default:
		return 0, 0, 0, ErrType
	}
	if !r.need(o, 1) {
		return 0, 0, 0, ErrShort
	}
	typ = int8(r.b[o])
	o++
	if !r.need(o, n) {
		return 0, 0, 0, ErrShort
	}
	return typ, n, o, nil
}

// Nil reads a nil, reporting whether there was one (and nothing is read
// otherwise).
func (r *Reader) Nil() bool {
	if r.off < len(r.b) && r.b[r.off] == 0xc0 {
		r.off++
		return true
	}
	return false
}

// Bool reads a boolean.
func (r *Reader) Bool() (bool, error) {
	if r.off >= len(r.b) {
		return false, ErrShort
	}
	switch r.b[r.off] {
	case 0xc2:
		r.off++
		return false, nil
	case 0xc3:
		r.off++
		return true, nil
	}
	return false, ErrType
}

// ArrayHeader reads an array header and returns the number of elements,
// which is at most the number of bytes left.
func (r *Reader) ArrayHeader() (int, error) {
	return r.collection(0x90, 0xdc)
}

// MapHeader reads a map header and returns the number of key/value pairs,
// which is at most half the number of bytes left.
func (r *Reader) MapHeader() (int, error) {
	return r.collection(0x80, 0xde)
}

func (r *Reader) collection(fix, c16 byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	c := r.b[r.off]
	var n, hdr int
	switch {
	case c&0xf0 == fix:
		n, hdr = int(c&0x0f), 1
	case c == c16:
		if !r.need(r.off+1, 2) {
			return 0, ErrShort
		}
		n, hdr = r.u16(r.off+1), 3
	case c == c16+1:
		if !r.need(r.off+1, 4) {
			return 0, ErrShort
		}
		n, hdr = r.u32(r.off+1), 5
	default:
		return 0, ErrType
	}
	per := 1
	if fix == 0x80 {
		per = 2
	}
	if n < 0 || n > (len(r.b)-r.off-hdr)/per {
		return 0, ErrShort
	}
	r.off += hdr
	return n, nil
}

// StringBytes reads a string and returns its bytes (not checked for
// UTF-8).
func (r *Reader) StringBytes() ([]byte, error) {
	if r.off >= len(r.b) {
		return nil, ErrShort
	}
	c := r.b[r.off]
	var n, hdr int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n, hdr = int(c&0x1f), 1
	case c >= 0xd9 && c <= 0xdb:
		size := 1 << (c - 0xd9)
		var ok bool
		if n, ok = r.lenAfter(r.off+1, size); !ok {
			return nil, ErrShort
		}
		hdr = 1 + size
	default:
		return nil, ErrType
	}
	start := r.off + hdr
	if !r.need(start, n) {
		return nil, ErrShort
	}
	r.off = start + n
	return r.b[start:r.off:r.off], nil
}

// Binary reads bin 8/16/32, or an ext type 0 other than fixext 1 and 8
// (notepack 2 wrote ArrayBuffers so), and returns the bytes.
func (r *Reader) Binary() ([]byte, error) {
	if r.off >= len(r.b) {
		return nil, ErrShort
	}
	c := r.b[r.off]
	if c >= 0xc4 && c <= 0xc6 {
		size := 1 << (c - 0xc4)
		n, ok := r.lenAfter(r.off+1, size)
		start := r.off + 1 + size
		if !ok || !r.need(start, n) {
			return nil, ErrShort
		}
		r.off = start + n
		return r.b[start:r.off:r.off], nil
	}
	if r.Peek() != KindBinary {
		return nil, ErrType
	}
	_, n, start, err := r.extHeader()
	if err != nil {
		return nil, err
	}
	r.off = start + n
	return r.b[start:r.off:r.off], nil
}

// Int reads an integer of any form. A uint 64 above math.MaxInt64 is
// ErrRange.
func (r *Reader) Int() (int64, error) {
	v, neg, err := r.integer()
	if err != nil {
		return 0, err
	}
	if neg {
		return int64(v), nil
	}
	if v > math.MaxInt64 {
		return 0, ErrRange
	}
	return int64(v), nil
}

// integer reads any integer form: v is the two's complement bits when neg.
func (r *Reader) integer() (v uint64, neg bool, err error) {
	if r.off >= len(r.b) {
		return 0, false, ErrShort
	}
	c := r.b[r.off]
	if c <= 0x7f {
		r.off++
		return uint64(c), false, nil
	}
	if c >= 0xe0 {
		r.off++
		return uint64(int64(int8(c))), true, nil
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2:
		size = 4
	case 0xcf, 0xd3:
		size = 8
	default:
		return 0, false, ErrType
	}
	o := r.off + 1
	if !r.need(o, size) {
		return 0, false, ErrShort
	}
	r.off = o + size
	if c <= 0xcf { // unsigned
		switch size {
		case 1:
			return uint64(r.b[o]), false, nil
		case 2:
			return uint64(binary.BigEndian.Uint16(r.b[o:])), false, nil
		case 4:
			return uint64(binary.BigEndian.Uint32(r.b[o:])), false, nil
		}
		return binary.BigEndian.Uint64(r.b[o:]), false, nil
	}
	var s int64
	switch size {
	case 1:
		s = int64(int8(r.b[o]))
	case 2:
		s = int64(int16(binary.BigEndian.Uint16(r.b[o:])))
	case 4:
		s = int64(int32(binary.BigEndian.Uint32(r.b[o:])))
	default:
		s = int64(binary.BigEndian.Uint64(r.b[o:]))
	}
	return uint64(s), s < 0, nil
}

// Float reads any number (integer or float) as a float64.
func (r *Reader) Float() (float64, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	switch c := r.b[r.off]; c {
	case 0xca:
		if !r.need(r.off+1, 4) {
			return 0, ErrShort
		}
		f := math.Float32frombits(binary.BigEndian.Uint32(r.b[r.off+1:]))
		r.off += 5
		return float64(f), nil
	case 0xcb:
		if !r.need(r.off+1, 8) {
			return 0, ErrShort
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(r.b[r.off+1:]))
		r.off += 9
		return f, nil
	}
	v, neg, err := r.integer()
	if err != nil {
		return 0, err
	}
	if neg {
		return float64(int64(v)), nil
	}
	return float64(v), nil
}

// Time reads a timestamp extension (32, 64 or 96 bits) or notepack 2's
// Date (fixext 8 type 0, milliseconds).
func (r *Reader) Time() (time.Time, error) {
	if r.Peek() != KindTime {
		if r.off >= len(r.b) {
			return time.Time{}, ErrShort
		}
		return time.Time{}, ErrType
	}
	typ, n, o, err := r.extHeader()
	if err != nil {
		return time.Time{}, err
	}
	d := r.b[o : o+n]
	r.off = o + n
	if typ == 0 { // notepack 2: int64 milliseconds
		return time.UnixMilli(int64(binary.BigEndian.Uint64(d))).UTC(), nil
	}
	switch n {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(d)), 0).UTC(), nil
	case 8:
		v := binary.BigEndian.Uint64(d)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)).UTC(), nil
	}
	ns := binary.BigEndian.Uint32(d)
	sec := int64(binary.BigEndian.Uint64(d[4:]))
	return time.Unix(sec, int64(ns)).UTC(), nil
}

// Ext reads any extension and returns its type and data.
func (r *Reader) Ext() (typ int8, data []byte, err error) {
	if r.off >= len(r.b) {
		return 0, nil, ErrShort
	}
	typ, n, o, err := r.extHeader()
	if err != nil {
		return 0, nil, err
	}
	r.off = o + n
	return typ, r.b[o : o+n : o+n], nil
}

// Skip reads past the next value, whatever it is.
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	if r.off >= len(r.b) {
		return ErrShort
	}
	switch r.Peek() {
	case KindNil:
		r.off++
		return nil
	case KindBool:
		r.off++
		return nil
	case KindInt:
		_, _, err := r.integer()
		return err
	case KindFloat:
		_, err := r.Float()
		return err
	case KindString:
		_, err := r.StringBytes()
		return err
	case KindBinary:
		_, err := r.Binary()
		return err
	case KindUndefined, KindTime, KindExt:
		_, _, err := r.Ext()
		return err
	case KindArray, KindMap:
		if depth >= MaxDepth {
			return ErrTooDeep
		}
		var n int
		var err error
		if r.Peek() == KindArray {
			n, err = r.ArrayHeader()
		} else {
			n, err = r.MapHeader()
			n *= 2
		}
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if c := r.b[r.off]; c == 0xc1 {
		return ErrInvalid
	}
	return ErrShort // an extension header cut short
}

// Raw reads the next value and returns its encoded bytes.
func (r *Reader) Raw() ([]byte, error) {
	start := r.off
	if err := r.Skip(); err != nil {
		r.off = start
		return nil, err
	}
	return r.b[start:r.off:r.off], nil
}

// Undefined reads notepack's undefined (fixext 1 type 0), reporting
// whether it was there.
func (r *Reader) Undefined() bool {
	if r.Peek() == KindUndefined {
		r.off += 3
		return true
	}
	return false
}
