package redisadapter

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// The pieces both protocols share: broadcast options and flags, packet
// data and single values, in MessagePack and in JSON.

// errMalformed: a message that does not have the shape of its type.
var errMalformed = errors.New("redisadapter: malformed message")

// uid2 returns n random characters from [A-Za-z0-9], as Node's uid2 (the
// classic adapter's node and request ids).
func uid2(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(b)
}

// randomID returns 16 lowercase hex digits, as ClusterAdapter's randomId
// (the sharded adapter's node and request ids).
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ---- MessagePack ----

// readOpts reads {rooms, except, flags} (keys in any order, any missing).
// The room names alias the message.
func readOpts(r *msgpack.Reader, opts *sio.BroadcastOptions) error {
	n, err := r.MapHeader()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.StringBytes()
		if err != nil {
			return err
		}
		switch string(k) {
		case "rooms":
			opts.Rooms, err = readRooms(r, opts.Rooms[:0])
		case "except":
			opts.Except, err = readRooms(r, opts.Except[:0])
		case "flags":
			err = readFlags(r, &opts.Flags)
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readRooms reads an array of room names: strings, or numbers (a
// JavaScript peer's numeric rooms), written as JavaScript writes them.
func readRooms(r *msgpack.Reader, dst []sio.Room) ([]sio.Room, error) {
	if r.Nil() || r.Undefined() {
		return dst, nil
	}
	n, err := r.ArrayHeader()
	if err != nil {
		return dst, err
	}
	dst = slices.Grow(dst, n)
	for i := 0; i < n; i++ {
		switch r.Peek() {
		case msgpack.KindString:
			s, err := r.StringBytes()
			if err != nil {
				return dst, err
			}
			dst = append(dst, stringOf(s))
		case msgpack.KindInt, msgpack.KindFloat:
			f, err := r.Float()
			if err != nil {
				return dst, err
			}
			dst = append(dst, string(msgpack.AppendJSNumber(nil, f)))
		default:
			if err := r.Skip(); err != nil {
				return dst, err
			}
		}
	}
	return dst, nil
}

func readFlags(r *msgpack.Reader, f *sio.BroadcastFlags) error {
	if r.Nil() || r.Undefined() {
		return nil
	}
	n, err := r.MapHeader()
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		k, err := r.StringBytes()
		if err != nil {
			return err
		}
		kind := r.Peek()
		switch {
		case string(k) == "volatile" && kind == msgpack.KindBool:
			f.Volatile, err = r.Bool()
		case string(k) == "compress" && kind == msgpack.KindBool:
			var c bool
			c, err = r.Bool()
			f.NoCompress = !c
		case string(k) == "expectSingleResponse" && kind == msgpack.KindBool:
			f.ExpectSingleResponse, err = r.Bool()
		case string(k) == "timeout" && (kind == msgpack.KindInt || kind == msgpack.KindFloat):
			var ms float64
			if ms, err = r.Float(); err == nil && ms > 0 && ms < math.MaxInt32 {
				f.Timeout = time.Duration(ms * float64(time.Millisecond))
			}
		default:
			err = r.Skip()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// placeholderSink turns binary values into Socket.IO attachment
// placeholders, collecting the attachments (aliasing the message).
type placeholderSink struct{ atts [][]byte }

func (s *placeholderSink) bin(dst, b []byte) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(len(s.atts)), 10)
	s.atts = append(s.atts, b)
	return append(dst, '}')
}

// readValue reads one MessagePack value as a sio.Value (JSON, binary
// values as attachments).
func readValue(r *msgpack.Reader) (sio.Value, error) {
	var sink placeholderSink
	raw, err := r.AppendJSON(nil, sink.bin)
	if err != nil {
		return sio.Value{}, err
	}
	return sio.MakeValue(raw, sink.atts), nil
}

// readData reads a packet's data array as the JSON text and attachments
// sio sends.
func readData(r *msgpack.Reader) ([]byte, [][]byte, error) {
	if r.Peek() != msgpack.KindArray {
		return nil, nil, errMalformed
	}
	var sink placeholderSink
	raw, err := r.AppendJSON(make([]byte, 0, r.Len()+16), sink.bin)
	return raw, sink.atts, err
}

// appendValue appends v as MessagePack (binary as bin).
func appendValue(dst []byte, v sio.Value) ([]byte, error) {
	if v.IsBinary() {
		return msgpack.AppendBinary(dst, v.Bytes()), nil
	}
	atts := v.Attachments()
	return msgpack.AppendFromJSON(dst, v.Raw(), func(num int) ([]byte, bool) {
		if num < len(atts) {
			return atts[num], true
		}
		return nil, false
	})
}

// ---- JSON ----

// valueJSON returns v as the JSON a Node peer's JSON.stringify would have
// written: binary as {"type":"Buffer","data":[...]} (the classic
// adapter's JSON messages lose binary so too).
func valueJSON(dst []byte, v sio.Value) []byte {
	if v.IsBinary() {
		r := msgpack.NewReader(msgpack.AppendBinary(nil, v.Bytes()))
		out, _ := r.AppendJSON(dst, nil)
		return out
	}
	if len(v.Attachments()) == 0 {
		return append(dst, v.Raw()...)
	}
	mp, err := appendValue(nil, v)
	if err != nil {
		return append(dst, "null"...)
	}
	r := msgpack.NewReader(mp)
	out, err := r.AppendJSON(dst, nil)
	if err != nil {
		return append(dst, "null"...)
	}
	return out
}

// argsJSON encodes args as a JSON array (binary as Buffer JSON).
func argsJSON(dst []byte, event string, args []any) ([]byte, error) {
	p, err := sio.NewEventPacket("/", event, args)
	if err != nil {
		return dst, err
	}
	if len(p.Attachments) == 0 {
		return append(dst, p.Data...), nil
	}
	mp, err := rediswire.AppendPacketData(nil, p)
	if err != nil {
		return dst, err
	}
	r := msgpack.NewReader(mp)
	return r.AppendJSON(dst, nil)
}

// roomList decodes a JSON array of room names: strings, or numbers written
// as JavaScript writes them.
type roomList []sio.Room

func (l *roomList) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(roomList, 0, len(raw))
	for _, e := range raw {
		if len(e) == 0 {
			continue
		}
		switch e[0] {
		case '"':
			var s string
			if err := json.Unmarshal(e, &s); err != nil {
				return err
			}
			out = append(out, s)
		case 'n', 't', 'f', '{', '[':
			// not a room name
		default:
			f, err := strconv.ParseFloat(string(e), 64)
			if err != nil {
				return err
			}
			out = append(out, string(msgpack.AppendJSNumber(nil, f)))
		}
	}
	*l = out
	return nil
}

// wireOpts are broadcast options as JSON messages carry them.
type wireOpts struct {
	Rooms  roomList  `json:"rooms"`
	Except roomList  `json:"except"`
	Flags  wireFlags `json:"flags"`
}

type wireFlags struct {
	Volatile             bool     `json:"volatile"`
	Compress             *bool    `json:"compress"`
	Timeout              *float64 `json:"timeout"`
	ExpectSingleResponse bool     `json:"expectSingleResponse"`
}

func (o *wireOpts) options() *sio.BroadcastOptions {
	opts := &sio.BroadcastOptions{Rooms: o.Rooms, Except: o.Except}
	opts.Flags.Volatile = o.Flags.Volatile
	opts.Flags.NoCompress = o.Flags.Compress != nil && !*o.Flags.Compress
	if t := o.Flags.Timeout; t != nil && *t > 0 && *t < math.MaxInt32 {
		opts.Flags.Timeout = time.Duration(*t * float64(time.Millisecond))
	}
	opts.Flags.ExpectSingleResponse = o.Flags.ExpectSingleResponse
	return opts
}

// eventOf splits the JSON array [event, ...args] into the event name and
// the arguments as Values (their placeholders referring to atts).
func eventOf(data []byte, atts [][]byte) (string, sio.Args, error) {
	elems, err := codec.ArrayElements(nil, data)
	if err != nil || len(elems) == 0 {
		return "", nil, errMalformed
	}
	var event string
	if elems[0][0] == '"' {
		name, err := codec.AppendUnquote(nil, elems[0])
		if err != nil {
			return "", nil, errMalformed
		}
		event = string(name)
	} else {
		event = string(elems[0])
	}
	args := make(sio.Args, len(elems)-1)
	for i, e := range elems[1:] {
		args[i] = sio.MakeValue(e, atts)
	}
	return event, args, nil
}

// firstArgJSON returns the first of an acknowledgement's arguments (Go
// values or sio.Values) as JSON, as a Node peer forwards only the first;
// nil when there is none (undefined).
func firstArgJSON(args []any) ([]byte, error) {
	if len(args) == 0 {
		return nil, nil
	}
	if v, ok := args[0].(sio.Value); ok {
		return valueJSON(nil, v), nil
	}
	arr, err := argsJSON(nil, "x", args[:1])
	if err != nil {
		return nil, err
	}
	elems, err := codec.ArrayElements(nil, arr)
	if err != nil || len(elems) != 2 {
		return nil, errMalformed
	}
	return elems[1], nil
}

// firstArgValue returns the first argument as a sio.Value (binary kept),
// ok false when there is none.
func firstArgValue(args []any) (sio.Value, bool, error) {
	if len(args) == 0 {
		return sio.Value{}, false, nil
	}
	if v, ok := args[0].(sio.Value); ok {
		return v, true, nil
	}
	p, err := sio.NewEventPacket("/", "x", args[:1])
	if err != nil {
		return sio.Value{}, false, err
	}
	elems, err := codec.ArrayElements(nil, p.Data)
	if err != nil || len(elems) != 2 {
		return sio.Value{}, false, errMalformed
	}
	return sio.MakeValue(elems[1], p.Attachments), true, nil
}
