package redisadapter

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/sio"
)

// A small JSON object walker for the hot path of the sharded protocol
// (broadcasts arrive as JSON): it finds the members it is asked for by
// scanning, without building anything.

// eachMember calls fn for each member of the JSON object obj with its key
// (unquoted; it aliases obj unless the key had escapes) and its value's
// raw bytes. fn returns false to stop.
func eachMember(obj []byte, fn func(key, val []byte) bool) error {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errMalformed
	}
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return errMalformed
		}
		n, err := codec.ScanJSONValue(obj[i:])
		if err != nil {
			return errMalformed
		}
		key := obj[i+1 : i+n-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			if key, err = codec.AppendUnquote(nil, obj[i:i+n]); err != nil {
				return errMalformed
			}
		}
		i = skipWS(obj, i+n)
		if i >= len(obj) || obj[i] != ':' {
			return errMalformed
		}
		i = skipWS(obj, i+1)
		n, err = codec.ScanJSONValue(obj[i:])
		if err != nil {
			return errMalformed
		}
		if !fn(key, obj[i:i+n]) {
			return nil
		}
		i = skipWS(obj, i+n)
		if i >= len(obj) {
			return errMalformed
		}
		if obj[i] == '}' {
			return nil
		}
		if obj[i] != ',' {
			return errMalformed
		}
		i = skipWS(obj, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// jsonInt reads a small non-negative JSON integer (-1 if it is not one).
func jsonInt(v []byte) int {
	if len(v) == 0 || len(v) > 9 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// jsonString unquotes a JSON string (ok false if v is not one); it aliases
// v when there are no escapes.
func jsonString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return body, true
	}
	s, err := codec.AppendUnquote(nil, v)
	return s, err == nil
}

// jsonRooms reads a JSON array of room names (strings, or numbers as
// JavaScript writes them) into dst.
func jsonRooms(dst []sio.Room, v []byte) ([]sio.Room, error) {
	if len(v) == 0 || v[0] == 'n' {
		return dst, nil
	}
	var inl [8][]byte
	elems, err := codec.ArrayElements(inl[:0], v)
	if err != nil {
		return dst, errMalformed
	}
	for _, e := range elems {
		if s, ok := jsonString(e); ok {
			dst = append(dst, stringOf(s))
			continue
		}
		var l roomList
		if l.UnmarshalJSON(append(append([]byte{'['}, e...), ']')) == nil && len(l) == 1 {
			dst = append(dst, l[0])
		}
	}
	return dst, nil
}

// jsonOpts reads {rooms, except, flags}.
func jsonOpts(v []byte, opts *sio.BroadcastOptions) error {
	var err error
	werr := eachMember(v, func(k, val []byte) bool {
		switch string(k) {
		case "rooms":
			opts.Rooms, err = jsonRooms(opts.Rooms, val)
		case "except":
			opts.Except, err = jsonRooms(opts.Except, val)
		case "flags":
			err = jsonFlags(val, &opts.Flags)
		}
		return err == nil
	})
	if werr != nil {
		return werr
	}
	return err
}

func jsonFlags(v []byte, f *sio.BroadcastFlags) error {
	if len(v) > 0 && v[0] == 'n' {
		return nil
	}
	return eachMember(v, func(k, val []byte) bool {
		switch string(k) {
		case "volatile":
			f.Volatile = string(val) == "true"
		case "compress":
			f.NoCompress = string(val) == "false"
		case "expectSingleResponse":
			f.ExpectSingleResponse = string(val) == "true"
		case "timeout":
			if ms, err := strconv.ParseFloat(string(val), 64); err == nil && ms > 0 && ms < math.MaxInt32 {
				f.Timeout = time.Duration(ms * float64(time.Millisecond))
			}
		}
		return true
	})
}
