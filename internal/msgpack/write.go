package msgpack

import (
	"encoding/binary"
	"math"
	"time"
)

// AppendNil appends nil.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends a boolean.
func AppendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends v in the smallest integer form, as notepack does:
// non-negative values as unsigned forms, negative ones as signed.
func AppendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return AppendUint(dst, uint64(v))
	}
	switch {
	case v >= -32:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// AppendUint appends v in the smallest unsigned form.
func AppendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
}

// AppendFloat appends f as JavaScript's notepack does: an integral finite
// value in int64 range as an integer, anything else as float 64.
func AppendFloat(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -9.223372036854775e18 && f <= 9.223372036854775e18 && !math.IsInf(f, 0) {
		if f == 0 && math.Signbit(f) {
			// -0 is not an integer for notepack (Math.floor(-0) === -0,
			// then written as the fixint 0).
			return append(dst, 0)
		}
		return AppendInt(dst, int64(f))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendStringHeader appends the header of a string of n bytes.
func AppendStringHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
}

// AppendString appends s as a string.
func AppendString(dst []byte, s string) []byte {
	return append(AppendStringHeader(dst, len(s)), s...)
}

// AppendStringBytes appends b as a string.
func AppendStringBytes(dst, b []byte) []byte {
	return append(AppendStringHeader(dst, len(b)), b...)
}

// AppendBinary appends b as bin 8/16/32 (what notepack writes for a Buffer).
func AppendBinary(dst, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
}

// AppendMapHeader appends the header of a map of n pairs.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// AppendTime appends t as notepack 3 writes a Date: timestamp 32 when it
// has whole seconds in 32 bits, timestamp 64 up to 34 bits of seconds,
// timestamp 96 otherwise.
func AppendTime(dst []byte, t time.Time) []byte {
	sec, ns := t.Unix(), int64(t.Nanosecond())
	switch {
	case sec >= 0 && sec < 1<<34 && ns == 0 && sec <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd6, 0xff), uint32(sec))
	case sec >= 0 && sec < 1<<34:
		return binary.BigEndian.AppendUint64(append(dst, 0xd7, 0xff), uint64(ns)<<34|uint64(sec))
	}
	dst = binary.BigEndian.AppendUint32(append(dst, 0xc7, 12, 0xff), uint32(ns))
	return binary.BigEndian.AppendUint64(dst, uint64(sec))
}
