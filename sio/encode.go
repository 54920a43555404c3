package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"sync"

	"github.com/fanio/fanio/internal/codec"
)

// encoder builds the JSON array of an emit, turning []byte arguments into
// attachments.
type encoder struct {
	buf         []byte
	attachments [][]byte
	tmp         bytes.Buffer
	je          *json.Encoder
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

func getEncoder() *encoder { return encoders.Get().(*encoder) }

func (e *encoder) release() {
	if cap(e.buf) > 64<<10 {
		e.buf = nil
	}
	e.buf = e.buf[:0]
	clear(e.attachments)
	e.attachments = e.attachments[:0]
	if e.tmp.Cap() > 64<<10 {
		e.tmp = bytes.Buffer{}
		e.je = nil
	}
	encoders.Put(e)
}

// array encodes [event?, args...] into e.buf.
func (e *encoder) array(event string, withEvent bool, args []any) error {
	e.buf = append(e.buf, '[')
	if withEvent {
		e.buf = codec.AppendJSONString(e.buf, event)
	}
	for i, a := range args {
		if withEvent || i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(a, 0); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encoder) placeholder(b []byte) {
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = strconv.AppendInt(e.buf, int64(len(e.attachments)), 10)
	e.buf = append(e.buf, '}')
	e.attachments = append(e.attachments, b)
}

func (e *encoder) value(a any, depth int) error {
	if depth > codec.MaxJSONDepth {
		return errors.New("sio: argument nested too deep")
	}
	switch v := a.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = codec.AppendJSONString(e.buf, v)
	case []byte:
		e.placeholder(v)
	case Value:
		if v.raw == nil {
			if v.bin == nil {
				// the zero Value (no argument): null, as JSON.stringify
				// writes undefined in an array
				e.buf = append(e.buf, "null"...)
			} else {
				e.placeholder(v.bin)
			}
		} else if len(v.attachments) > 0 {
			e.buf = e.reembed(e.buf, v)
		} else {
			e.buf = append(e.buf, v.raw...)
		}
	case json.RawMessage:
		if !codec.ValidJSON(v) {
			return errors.New("sio: invalid json.RawMessage argument")
		}
		e.buf = append(e.buf, bytes.TrimSpace(v)...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case float32:
		e.float(float64(v), 32)
	case float64:
		e.float(v, 64)
	case []any:
		return appendArray(e, v, func(x any) error { return e.value(x, depth+1) })
	case []string:
		return appendArray(e, v, e.str)
	case map[string]any:
		return appendObject(e, v, func(x any) error { return e.value(x, depth+1) }, isZeroValueArg)
	case map[string]string:
		return appendObject(e, v, e.str, nil)
	case Args:
		return appendArray(e, v, func(x Value) error { return e.value(x, depth+1) })
	case AckFunc, func(Args, error), BroadcastAckFunc, func([]Args, error):
		return errAckPlacement
	default:
		t := reflect.TypeOf(a)
		if k := t.Kind(); k == reflect.Func || k == reflect.Chan {
			return fmt.Errorf("sio: cannot emit a %T", a)
		}
		if needsWalk(t) {
			// a []byte (or a Value) may be inside: see marshal.go
			return e.walkValue(a, depth)
		}
		if e.je == nil {
			e.je = json.NewEncoder(&e.tmp)
			e.je.SetEscapeHTML(false)
		}
		e.tmp.Reset()
		if err := e.je.Encode(a); err != nil {
			return fmt.Errorf("sio: encoding a %T argument: %w", a, err)
		}
		e.buf = append(e.buf, bytes.TrimRight(e.tmp.Bytes(), "\n")...)
	}
	return nil
}

// float writes f as JavaScript's JSON.stringify does (NaN and ±Inf: null).
func (e *encoder) float(f float64, bits int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.buf = append(e.buf, "null"...)
		return
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		e.buf = strconv.AppendFloat(e.buf, f, 'f', -1, bits)
		return
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		e.buf = strconv.AppendFloat(e.buf, f, 'f', -1, bits)
		return
	}
	// JavaScript writes exponents without leading zeros: 1e-7, not 1e-07.
	start := len(e.buf)
	e.buf = strconv.AppendFloat(e.buf, f, 'e', -1, bits)
	if i := bytes.IndexByte(e.buf[start:], 'e'); i >= 0 {
		j := start + i + 2 // after "e+" or "e-"
		for j < len(e.buf)-1 && e.buf[j] == '0' {
			e.buf = append(e.buf[:j], e.buf[j+1:]...)
		}
	}
}

// reembed writes a received JSON value whose nested placeholders point at
// the received packet's attachments, renumbering them as attachments of
// the packet being built.
func (e *encoder) reembed(dst []byte, v Value) []byte {
	var spans [][3]int
	walkObjects(v.raw, func(start, end int) {
		if num, ok := codec.ParsePlaceholder(v.raw[start:end]); ok && num < len(v.attachments) {
			for len(spans) > 0 && spans[len(spans)-1][0] >= start {
				spans = spans[:len(spans)-1]
			}
			spans = append(spans, [3]int{start, end, num})
		}
	})
	last := 0
	for _, sp := range spans {
		dst = append(dst, v.raw[last:sp[0]]...)
		e.buf = dst
		e.placeholder(v.attachments[sp[2]])
		dst = e.buf
		last = sp[1]
	}
	return append(dst, v.raw[last:]...)
}

// str appends s as a JSON string (it cannot fail; the error fits the
// element callbacks of appendArray and appendObject).
func (e *encoder) str(s string) error {
	e.buf = codec.AppendJSONString(e.buf, s)
	return nil
}

// isZeroValueArg reports whether x is the zero Value, which an object
// leaves out, as JSON.stringify leaves out an undefined property.
func isZeroValueArg(x any) bool {
	v, ok := x.(Value)
	return ok && v.IsZero()
}

// appendArray appends xs as a JSON array, each element written by elem.
func appendArray[T any](e *encoder, xs []T, elem func(T) error) error {
	e.buf = append(e.buf, '[')
	for i, x := range xs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := elem(x); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// appendObject appends m as a JSON object with sorted keys (deterministic
// bytes, like encoding/json), each value written by val; the keys whose
// value skip reports are left out.
func appendObject[V any](e *encoder, m map[string]V, val func(V) error, skip func(V) bool) error {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if skip == nil || !skip(v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = codec.AppendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		if err := val(m[k]); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}
