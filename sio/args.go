package sio

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/fanio/fanio/internal/codec"
)

// Value is one argument of an event or acknowledgement, as received: the
// raw JSON text of the element (kept byte for byte as the client sent it),
// or, for a binary attachment, its bytes. Nothing is decoded until asked.
//
// A Value (and the Args holding it) stays valid after the handler returns;
// its bytes must not be modified.
//
// The zero Value is no value at all, JavaScript's undefined (what Arg
// returns for a missing argument): it is sent as null in an argument list
// or an array, and left out of a map, as JSON.stringify does with
// undefined; IsZero reports it.
//
// A Value implements json.Marshaler (its JSON as received; a binary Value
// as a base64 string, as encoding/json writes a []byte) and
// json.Unmarshaler, so it can sit in a struct that is decoded (Decode,
// Arg) or emitted; when emitted, a binary Value (or one with binary parts)
// goes as binary attachments, wherever it is in the arguments.
type Value struct {
	raw         []byte   // JSON text; nil for a binary argument
	bin         []byte   // the attachment, when binary
	attachments [][]byte // the packet's attachments, for nested placeholders
}

// Args are the arguments of an event (after its name) or of an
// acknowledgement. Emitting a Value sends it back unchanged (same JSON
// bytes, or the same binary attachment), so echoing is
// s.Emit("echo", args.Any()...).
type Args []Value

// ErrArgIndex is returned when an argument index is out of range.
var ErrArgIndex = errors.New("sio: no argument at that index")

// IsBinary reports whether v is a binary attachment.
func (v Value) IsBinary() bool { return v.raw == nil && v.bin != nil }

// IsZero reports whether v is the zero Value (no value: see Value).
func (v Value) IsZero() bool { return v.raw == nil && v.bin == nil }

// Bytes returns the attachment of a binary argument, nil otherwise.
func (v Value) Bytes() []byte {
	if v.raw == nil {
		return v.bin
	}
	return nil
}

// Raw returns the JSON text of a JSON argument, nil for a binary one.
func (v Value) Raw() json.RawMessage { return v.raw }

// IsNull reports whether v is the JSON null.
func (v Value) IsNull() bool { return string(v.raw) == "null" }

// String returns the JSON text, "<binary N bytes>", or "<undefined>" for
// the zero Value.
func (v Value) String() string {
	switch {
	case v.raw != nil:
		return string(v.raw)
	case v.bin != nil:
		return "<binary " + strconv.Itoa(len(v.bin)) + " bytes>"
	}
	return "<undefined>"
}

// MarshalJSON implements json.Marshaler: the JSON text as received, binary
// attachments (nested ones too) as base64 strings, null for the zero
// Value. (Emitted, a Value keeps its binary parts as attachments.)
func (v Value) MarshalJSON() ([]byte, error) {
	switch {
	case v.raw == nil && v.bin == nil:
		return []byte("null"), nil
	case v.raw == nil:
		return json.Marshal(v.bin)
	case len(v.attachments) > 0:
		return inlineAttachments(nil, v.raw, v.attachments), nil
	}
	return v.raw, nil
}

// UnmarshalJSON implements json.Unmarshaler: v becomes a JSON Value of a
// copy of data (null included, as json.RawMessage keeps it).
func (v *Value) UnmarshalJSON(data []byte) error {
	*v = Value{raw: append(make([]byte, 0, len(data)), data...)}
	return nil
}

// Decode decodes v into dst with encoding/json. A binary argument decodes
// into *[]byte (copied), *json.RawMessage is not allowed for it. Binary
// attachments nested in a JSON argument (placeholders inside objects or
// arrays) decode as if they were base64 strings, so []byte fields receive
// them.
func (v Value) Decode(dst any) error {
	if v.IsZero() {
		return json.Unmarshal([]byte("null"), dst) // as undefined would: nothing set
	}
	if v.raw == nil {
		switch d := dst.(type) {
		case *[]byte:
			*d = append([]byte(nil), v.bin...)
			return nil
		case *any:
			*d = append([]byte(nil), v.bin...)
			return nil
		}
		return fmt.Errorf("sio: cannot decode a binary argument into %T", dst)
	}
	raw := v.raw
	if len(v.attachments) > 0 {
		raw = inlineAttachments(nil, raw, v.attachments)
	}
	return json.Unmarshal(raw, dst)
}

// Any returns the arguments as []any of Values, to emit or ack them
// unchanged: ack(args.Any()...).
func (a Args) Any() []any {
	out := make([]any, len(a))
	for i, v := range a {
		out[i] = v
	}
	return out
}

// Decode decodes argument i into dst (see Value.Decode).
func (a Args) Decode(i int, dst any) error {
	if i < 0 || i >= len(a) {
		return ErrArgIndex
	}
	return a[i].Decode(dst)
}

// Arg decodes argument i as a T. Common types are decoded without
// reflection: string, bool, int, int64, float64, []byte (a binary argument
// or a base64 string), json.RawMessage, Value; anything else goes through
// encoding/json.
func Arg[T any](a Args, i int) (T, error) {
	var out T
	if i < 0 || i >= len(a) {
		return out, ErrArgIndex
	}
	v := a[i]
	var err error
	switch p := any(&out).(type) {
	case *string:
		if v.raw == nil || len(v.raw) == 0 || v.raw[0] != '"' {
			return out, typeError(v, "string")
		}
		var b []byte
		if b, err = codec.AppendUnquote(make([]byte, 0, len(v.raw)-2), v.raw); err == nil {
			*p = string(b)
		}
	case *bool:
		switch string(v.raw) {
		case "true":
			*p = true
		case "false":
		default:
			return out, typeError(v, "bool")
		}
	case *int:
		var n int64
		n, err = parseInt(v)
		*p = int(n)
	case *int64:
		*p, err = parseInt(v)
	case *float64:
		if v.raw == nil || len(v.raw) == 0 || !(v.raw[0] == '-' || v.raw[0] >= '0' && v.raw[0] <= '9') {
			return out, typeError(v, "number")
		}
		*p, err = strconv.ParseFloat(string(v.raw), 64)
	case *[]byte:
		if v.raw == nil {
			*p = v.bin
			return out, nil
		}
		err = json.Unmarshal(v.raw, p)
	case *json.RawMessage:
		if v.raw == nil {
			return out, typeError(v, "JSON")
		}
		*p = v.raw
	case *Value:
		*p = v
	default:
		err = v.Decode(&out)
	}
	return out, err
}

func parseInt(v Value) (int64, error) {
	if v.raw == nil {
		return 0, typeError(v, "integer")
	}
	n, err := strconv.ParseInt(string(v.raw), 10, 64)
	if err != nil {
		// 1e3 or 5.0 are integers too, for JavaScript.
		f, ferr := strconv.ParseFloat(string(v.raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, typeError(v, "integer")
		}
		return int64(f), nil
	}
	return n, nil
}

func typeError(v Value, want string) error {
	s := v.String()
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Errorf("sio: argument %s is not a %s", s, want)
}

// inlineAttachments rewrites every binary placeholder in raw into a base64
// JSON string of its attachment.
func inlineAttachments(dst, raw []byte, att [][]byte) []byte {
	var spans [][2]int
	walkObjects(raw, func(start, end int) {
		if num, ok := codec.ParsePlaceholder(raw[start:end]); ok && num < len(att) {
			// Post-order: drop placeholders nested in this one.
			for len(spans) > 0 && spans[len(spans)-1][0] >= start {
				spans = spans[:len(spans)-1]
			}
			spans = append(spans, [2]int{start, end})
		}
	})
	last := 0
	for _, sp := range spans {
		num, _ := codec.ParsePlaceholder(raw[sp[0]:sp[1]])
		dst = append(dst, raw[last:sp[0]]...)
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, att[num])
		dst = append(dst, '"')
		last = sp[1]
	}
	return append(dst, raw[last:]...)
}

// walkObjects calls fn with the span of every JSON object in raw, innermost
// first, in one pass. raw must be valid JSON (it has been validated).
func walkObjects(raw []byte, fn func(start, end int)) {
	var walk func(i int) int
	walk = func(i int) int {
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return i
		}
		switch raw[i] {
		case '{', '[':
			open, close := raw[i], byte('}')
			if open == '[' {
				close = ']'
			}
			start := i
			i = skipSpace(raw, i+1)
			for i < len(raw) && raw[i] != close {
				i = skipSpace(raw, walk(i))
				if i < len(raw) && (raw[i] == ',' || raw[i] == ':') {
					i = skipSpace(raw, i+1)
				}
			}
			end := min(i+1, len(raw))
			if open == '{' {
				fn(start, end)
			}
			return end
		case '"':
			i++
			for i < len(raw) {
				switch raw[i] {
				case '\\':
					i += 2
					continue
				case '"':
					return i + 1
				}
				i++
			}
			return len(raw)
		default: // number or literal
			for i < len(raw) {
				switch raw[i] {
				case ',', ']', '}', ':', ' ', '\t', '\n', '\r':
					return i
				}
				i++
			}
			return i
		}
	}
	walk(0)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
