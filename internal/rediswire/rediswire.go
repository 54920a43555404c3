// Package rediswire encodes what the Redis adapter (redisadapter) and the
// emitter (redisemitter) both publish in @socket.io/redis-adapter's
// formats: a packet's data and the broadcast options, in MessagePack
// (notepack) and in JSON, and the channel names.
//
// It owns those byte layouts only; it does no I/O and keeps no state. It
// imports sio (for Packet and BroadcastOptions), internal/msgpack and
// internal/codec.
package rediswire

import (
	"strconv"
	"unicode/utf16"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/sio"
)

// EmitterUID is the node id @socket.io/redis-emitter sends: receivers
// never take it for one of theirs.
const EmitterUID = "emitter"

// Request types of the classic protocol (RequestType in Node's adapter).
const (
	ReqSockets              = 0
	ReqAllRooms             = 1
	ReqRemoteJoin           = 2
	ReqRemoteLeave          = 3
	ReqRemoteDisconnect     = 4
	ReqRemoteFetch          = 5
	ReqServerSideEmit       = 6
	ReqBroadcast            = 7
	ReqBroadcastClientCount = 8
	ReqBroadcastAck         = 9
)

// Message types of ClusterAdapter (the sharded protocol).
const (
	MsgBroadcast              = 3
	MsgSocketsJoin            = 4
	MsgSocketsLeave           = 5
	MsgDisconnectSockets      = 6
	MsgFetchSockets           = 7
	MsgFetchSocketsResponse   = 8
	MsgServerSideEmit         = 9
	MsgServerSideEmitResponse = 10
	MsgBroadcastClientCount   = 11
	MsgBroadcastAck           = 12
)

// LooksLikeSocketID is Node's test in the sharded adapter: a string of 20
// UTF-16 code units.
func LooksLikeSocketID(r sio.Room) bool {
	n := 0
	for _, c := range r {
		n += len(utf16.AppendRune(nil, c))
		if n > 20 {
			return false
		}
	}
	return n == 20
}

// AppendPacketData appends p's [event, ...args] as MessagePack, its
// attachments inline as bin.
func AppendPacketData(dst []byte, p *sio.Packet) ([]byte, error) {
	return msgpack.AppendFromJSON(dst, p.Data, func(num int) ([]byte, bool) {
		if num < len(p.Attachments) {
			return p.Attachments[num], true
		}
		return nil, false
	})
}

// AppendClassicPacket appends the packet map {type: 2, data, nsp} of the
// classic protocol.
func AppendClassicPacket(dst []byte, p *sio.Packet, nsp string) ([]byte, error) {
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = msgpack.AppendInt(msgpack.AppendString(dst, "type"), 2)
	dst, err := AppendPacketData(msgpack.AppendString(dst, "data"), p)
	if err != nil {
		return dst, err
	}
	return msgpack.AppendString(msgpack.AppendString(dst, "nsp"), nsp), nil
}

// AppendOpts appends {rooms, except, flags} (flags only withFlags) as
// MessagePack.
func AppendOpts(dst []byte, opts *sio.BroadcastOptions, withFlags bool) []byte {
	n := 2
	if withFlags {
		n = 3
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = AppendRooms(msgpack.AppendString(dst, "rooms"), opts.Rooms)
	dst = AppendRooms(msgpack.AppendString(dst, "except"), opts.Except)
	if withFlags {
		dst = AppendFlags(msgpack.AppendString(dst, "flags"), &opts.Flags)
	}
	return dst
}

// AppendRooms appends rooms as a MessagePack array of strings.
func AppendRooms(dst []byte, rooms []sio.Room) []byte {
	dst = msgpack.AppendArrayHeader(dst, len(rooms))
	for _, r := range rooms {
		dst = msgpack.AppendString(dst, r)
	}
	return dst
}

// AppendFlags appends the flags a Node peer would have set, only those
// that differ from the default (Local is never published), as MessagePack.
func AppendFlags(dst []byte, f *sio.BroadcastFlags) []byte {
	n := 0
	for _, set := range []bool{f.Volatile, f.NoCompress, f.Timeout > 0, f.ExpectSingleResponse} {
		if set {
			n++
		}
	}
	dst = msgpack.AppendMapHeader(dst, n)
	if f.Volatile {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "volatile"), true)
	}
	if f.NoCompress {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "compress"), false)
	}
	if f.Timeout > 0 {
		dst = msgpack.AppendInt(msgpack.AppendString(dst, "timeout"), f.Timeout.Milliseconds())
	}
	if f.ExpectSingleResponse {
		dst = msgpack.AppendBool(msgpack.AppendString(dst, "expectSingleResponse"), true)
	}
	return dst
}

// AppendRoomsJSON appends rooms as a JSON array of strings.
func AppendRoomsJSON(dst []byte, rooms []sio.Room) []byte {
	dst = append(dst, '[')
	for i, r := range rooms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = codec.AppendJSONString(dst, r)
	}
	return append(dst, ']')
}

// AppendOptsJSON appends {"rooms":[...],"except":[...]} and, withFlags,
// "flags":{...}.
func AppendOptsJSON(dst []byte, opts *sio.BroadcastOptions, withFlags bool) []byte {
	dst = AppendRoomsJSON(append(dst, `{"rooms":`...), opts.Rooms)
	dst = AppendRoomsJSON(append(dst, `,"except":`...), opts.Except)
	if withFlags {
		dst = AppendFlagsJSON(append(dst, `,"flags":`...), &opts.Flags)
	}
	return append(dst, '}')
}

// AppendFlagsJSON is AppendFlags in JSON.
func AppendFlagsJSON(dst []byte, f *sio.BroadcastFlags) []byte {
	dst = append(dst, '{')
	sep := func() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	if f.Volatile {
		sep()
		dst = append(dst, `"volatile":true`...)
	}
	if f.NoCompress {
		sep()
		dst = append(dst, `"compress":false`...)
	}
	if f.Timeout > 0 {
		sep()
		dst = strconv.AppendInt(append(dst, `"timeout":`...), f.Timeout.Milliseconds(), 10)
	}
	if f.ExpectSingleResponse {
		sep()
		dst = append(dst, `"expectSingleResponse":true`...)
	}
	return append(dst, '}')
}

// AppendClusterMessage appends the ClusterMessage {type, data, uid, nsp}
// as JSON around what data writes (the data object; nil for none); with
// atts (the placeholders of the data refer to them) it is MessagePack
// instead, as Node sends messages that carry binary.
func AppendClusterMessage(dst []byte, typ int, uid, nsp string, atts [][]byte, data func([]byte) []byte) ([]byte, error) {
	start := len(dst)
	dst = strconv.AppendInt(append(dst, `{"type":`...), int64(typ), 10)
	if data != nil {
		dst = data(append(dst, `,"data":`...))
	}
	dst = codec.AppendJSONString(append(dst, `,"uid":`...), uid)
	dst = codec.AppendJSONString(append(dst, `,"nsp":`...), nsp)
	dst = append(dst, '}')
	if len(atts) == 0 {
		return dst, nil
	}
	js := append([]byte(nil), dst[start:]...)
	return msgpack.AppendFromJSON(dst[:start], js, func(num int) ([]byte, bool) {
		if num < len(atts) {
			return atts[num], true
		}
		return nil, false
	})
}

// AppendPacketJSON appends {"type":2,"data":[...]} (no nsp, as
// ClusterAdapter publishes it).
func AppendPacketJSON(dst []byte, p *sio.Packet) []byte {
	dst = append(dst, `{"type":2,"data":`...)
	dst = append(dst, p.Data...)
	return append(dst, '}')
}
