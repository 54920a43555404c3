package redisadapter

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// shardedAdapter speaks createShardedAdapter's protocol
// (@socket.io/redis-adapter 8.3 ShardedRedisAdapter, a ClusterAdapter):
// ClusterMessages {type, data, uid, nsp} as JSON (MessagePack when they
// carry binary), SPUBLISHed on <prefix>#<nsp># (and, in the dynamic modes,
// <prefix>#<nsp>#<room># for a broadcast to one room), answers on
// <prefix>#<nsp>#<requester uid>#.
type shardedAdapter struct {
	*sio.InMemoryAdapter
	c               *Client
	nsp             *sio.Namespace
	uid             string // 16 hex digits
	channel         string // <prefix>#<nsp>#
	responseChannel string
	mode            SubscriptionMode

	requests pendingSet
	acks     ackSet
	closed   atomic.Bool
}

func newShardedAdapter(c *Client, nsp *sio.Namespace) *shardedAdapter {
	a := &shardedAdapter{
		InMemoryAdapter: sio.NewInMemoryAdapter(nsp),
		c:               c,
		nsp:             nsp,
		uid:             randomID(),
		channel:         c.opts.Key + "#" + nsp.Name() + "#",
		mode:            c.opts.SubscriptionMode,
	}
	a.responseChannel = a.channel + a.uid + "#"
	if a.mode != Static {
		a.SetRoomListener(a)
	}
	return a
}

// UID is the node's id on the wire.
func (a *shardedAdapter) UID() string { return a.uid }

// LocalPart implements sio.LocalPart.
func (a *shardedAdapter) LocalPart() *sio.InMemoryAdapter { return a.InMemoryAdapter }

// EngineCluster implements sio.EngineClusterer.
func (a *shardedAdapter) EngineCluster() engine.Cluster { return a.c.EngineCluster() }

// Init subscribes to the main and response channels (see classicAdapter.Init).
func (a *shardedAdapter) Init() error {
	a.c.sub.add(kindShard, a.channel, a.onRaw)
	a.c.sub.add(kindShard, a.responseChannel, a.onRaw)
	return a.c.sub.sync(context.Background(), a.c.opts.DialTimeout)
}

// Close unsubscribes (the room channels too) and ends waiting requests.
func (a *shardedAdapter) Close() error {
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	a.c.sub.remove(kindShard, a.channel)
	a.c.sub.remove(kindShard, a.responseChannel)
	if a.mode != Static {
		for _, r := range a.Rooms() {
			if a.separate(r) {
				a.c.sub.remove(kindShard, a.roomChannel(r))
			}
		}
	}
	a.requests.failAll(ErrClosed)
	a.acks.clear()
	return nil
}

// RoomCreated implements sio.RoomListener: in the dynamic modes a node
// listens on the channel of each room it has members in.
func (a *shardedAdapter) RoomCreated(r sio.Room) {
	if a.separate(r) && !a.closed.Load() {
		a.c.sub.add(kindShard, a.roomChannel(r), a.onRaw)
	}
}

// RoomDeleted implements sio.RoomListener.
func (a *shardedAdapter) RoomDeleted(r sio.Room) {
	if a.separate(r) {
		a.c.sub.remove(kindShard, a.roomChannel(r))
	}
}

// separate reports whether room r has a channel of its own on this node:
// in dynamic mode a room that is not a local socket's own room, in
// dynamic-private mode every room.
func (a *shardedAdapter) separate(r sio.Room) bool {
	switch a.mode {
	case DynamicPrivate:
		return true
	case Dynamic:
		return a.nsp.Socket(r) == nil
	}
	return false
}

func (a *shardedAdapter) roomChannel(r sio.Room) string { return a.channel + r + "#" }

// ServerCount is PUBSUB SHARDNUMSUB of the main channel.
func (a *shardedAdapter) ServerCount() (int, error) {
	if a.closed.Load() {
		return 0, ErrClosed
	}
	return a.c.numSub(a.channel)
}

// ---- publishing ----

// message builds a ClusterMessage of this node (see
// rediswire.AppendClusterMessage).
func (a *shardedAdapter) message(dst []byte, typ int, atts [][]byte, data func([]byte) []byte) ([]byte, error) {
	return rediswire.AppendClusterMessage(dst, typ, a.uid, a.nsp.Name(), atts, data)
}

// Broadcast delivers p locally and publishes it: on the room's own
// channel when it goes to one room and the mode allows, else on the main
// channel. It returns the publish's error.
func (a *shardedAdapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) error {
	if opts.Flags.Local {
		return a.InMemoryAdapter.Broadcast(p, opts)
	}
	buf := getBuf()
	msg, err := a.message(*buf, rediswire.MsgBroadcast, p.Attachments, func(d []byte) []byte {
		d = rediswire.AppendPacketJSON(append(d, `{"packet":`...), p)
		d = rediswire.AppendOptsJSON(append(d, `,"opts":`...), opts, true)
		return append(d, '}')
	})
	if err != nil {
		putBuf(buf)
		return err
	}
	*buf = msg
	channel := a.channel
	if len(opts.Rooms) == 1 && (a.mode == DynamicPrivate || (a.mode == Dynamic && !rediswire.LooksLikeSocketID(opts.Rooms[0]))) {
		channel = a.roomChannel(opts.Rooms[0])
	}
	_ = a.InMemoryAdapter.Broadcast(p, opts)
	if a.closed.Load() {
		putBuf(buf)
		return ErrClosed
	}
	return a.c.publishAsync(channel, msg, buf)
}

// BroadcastWithAck publishes p with a request id on the main channel and
// delivers it locally; the other nodes answer on this node's channel.
func (a *shardedAdapter) BroadcastWithAck(p *sio.Packet, opts *sio.BroadcastOptions, clientCount func(int), ack func(sio.Args, error)) error {
	if opts.Flags.Local {
		return a.InMemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
	}
	id := randomID()
	msg, err := a.message(nil, rediswire.MsgBroadcast, p.Attachments, func(d []byte) []byte {
		d = rediswire.AppendPacketJSON(append(d, `{"packet":`...), p)
		d = codec.AppendJSONString(append(d, `,"requestId":`...), id)
		d = rediswire.AppendOptsJSON(append(d, `,"opts":`...), opts, true)
		return append(d, '}')
	})
	if err != nil {
		return err
	}
	a.acks.add(id, &ackRequest{clientCount: clientCount, ack: ack}, ackRetention(opts, a.c))
	_ = a.InMemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
	if err := a.c.publishAsync(a.channel, msg, nil); err != nil {
		a.acks.remove(id)
		return err
	}
	return nil
}

// AddSockets publishes SOCKETS_JOIN, then applies it here (as ClusterAdapter).
func (a *shardedAdapter) AddSockets(opts *sio.BroadcastOptions, rooms []sio.Room) {
	if !opts.Flags.Local {
		a.publishSockets(rediswire.MsgSocketsJoin, opts, rooms, false)
	}
	a.InMemoryAdapter.AddSockets(opts, rooms)
}

// DelSockets publishes SOCKETS_LEAVE, then applies it here.
func (a *shardedAdapter) DelSockets(opts *sio.BroadcastOptions, rooms []sio.Room) {
	if !opts.Flags.Local {
		a.publishSockets(rediswire.MsgSocketsLeave, opts, rooms, false)
	}
	a.InMemoryAdapter.DelSockets(opts, rooms)
}

// DisconnectSockets publishes DISCONNECT_SOCKETS, then applies it here.
func (a *shardedAdapter) DisconnectSockets(opts *sio.BroadcastOptions, close bool) {
	if !opts.Flags.Local {
		a.publishSockets(rediswire.MsgDisconnectSockets, opts, nil, close)
	}
	a.InMemoryAdapter.DisconnectSockets(opts, close)
}

func (a *shardedAdapter) publishSockets(typ int, opts *sio.BroadcastOptions, rooms []sio.Room, close bool) {
	msg, _ := a.message(nil, typ, nil, func(d []byte) []byte {
		d = rediswire.AppendOptsJSON(append(d, `{"opts":`...), opts, true)
		if typ == rediswire.MsgDisconnectSockets {
			d = strconv.AppendBool(append(d, `,"close":`...), close)
		} else {
			d = rediswire.AppendRoomsJSON(append(d, `,"rooms":`...), rooms)
		}
		return append(d, '}')
	})
	_ = a.c.publishAsync(a.channel, msg, nil)
}

// ServerSideEmit publishes SERVER_SIDE_EMIT.
func (a *shardedAdapter) ServerSideEmit(event string, args []any) error {
	p, err := sio.NewEventPacket("/", event, args)
	if err != nil {
		return err
	}
	msg, err := a.message(nil, rediswire.MsgServerSideEmit, p.Attachments, func(d []byte) []byte {
		return append(append(append(d, `{"packet":`...), p.Data...), '}')
	})
	if err != nil {
		return err
	}
	return a.c.publishAsync(a.channel, msg, nil)
}

// ServerSideEmitWithAck implements sio.ServerSideAcker.
func (a *shardedAdapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]sio.Args, error) {
	p, err := sio.NewEventPacket("/", event, args)
	if err != nil {
		return nil, err
	}
	others, err := a.others()
	if err != nil || others == 0 {
		return nil, err
	}
	req, err := a.request(ctx, reqServerSideEmit, others, a.c.opts.RequestsTimeout, func(id string) ([]byte, error) {
		return a.message(nil, rediswire.MsgServerSideEmit, p.Attachments, func(d []byte) []byte {
			d = codec.AppendJSONString(append(d, `{"requestId":`...), id)
			return append(append(append(d, `,"packet":`...), p.Data...), '}')
		})
	})
	return req.acks, err
}

func (a *shardedAdapter) others() (int, error) {
	n, err := a.ServerCount()
	if err != nil {
		return 0, err
	}
	return max(n-1, 0), nil
}

func (a *shardedAdapter) request(ctx context.Context, kind requestKind, expected int, timeout time.Duration, encode func(id string) ([]byte, error)) (*pending, error) {
	id := randomID()
	p := &pending{kind: kind, expected: expected}
	msg, err := encode(id)
	if err != nil {
		return p, err
	}
	a.requests.add(id, p)
	if err := a.c.publish(a.channel, msg); err != nil {
		a.requests.remove(id)
		return p, err
	}
	return p, a.requests.wait(ctx, a.c, id, p, timeout)
}

// fetch sends FETCH_SOCKETS and waits for the other nodes' sockets.
func (a *shardedAdapter) fetch(kind requestKind, opts *sio.BroadcastOptions) (*pending, error) {
	others, err := a.others()
	if err != nil || others == 0 {
		return &pending{}, err
	}
	timeout := a.c.opts.RequestsTimeout
	if opts.Flags.Timeout > 0 {
		timeout = opts.Flags.Timeout
	}
	return a.request(context.Background(), kind, others, timeout, func(id string) ([]byte, error) {
		return a.message(nil, rediswire.MsgFetchSockets, nil, func(d []byte) []byte {
			d = rediswire.AppendOptsJSON(append(d, `{"opts":`...), opts, true)
			d = codec.AppendJSONString(append(d, `,"requestId":`...), id)
			return append(d, '}')
		})
	})
}

// FetchSockets describes the selected sockets of every node (what came,
// with a *TimeoutError, when some node did not answer in time).
func (a *shardedAdapter) FetchSockets(opts *sio.BroadcastOptions) ([]sio.SocketDetails, error) {
	local, _ := a.InMemoryAdapter.FetchSockets(opts)
	if opts.Flags.Local {
		return local, nil
	}
	p, err := a.fetch(reqFetch, opts)
	return append(local, p.sockets...), err
}

// Sockets returns the ids of the sockets in any of rooms on every node
// (through FETCH_SOCKETS: the sharded protocol has no lighter request).
func (a *shardedAdapter) Sockets(rooms []sio.Room) ([]sio.SocketID, error) {
	local, _ := a.InMemoryAdapter.Sockets(rooms)
	p, err := a.fetch(reqFetch, &sio.BroadcastOptions{Rooms: rooms})
	for _, s := range p.sockets {
		local = append(local, s.ID)
	}
	return dedupe(local), err
}

// AllRooms returns the rooms of every node: the sharded protocol has no
// ALL_ROOMS request, so it is the union of every socket's rooms
// (FETCH_SOCKETS), which is the same set.
func (a *shardedAdapter) AllRooms() ([]sio.Room, error) {
	rooms := a.InMemoryAdapter.Rooms()
	p, err := a.fetch(reqFetch, &sio.BroadcastOptions{})
	for _, s := range p.sockets {
		rooms = append(rooms, s.Rooms...)
	}
	return dedupe(rooms), err
}

// ---- receiving ----

// onRaw handles a message of any of the adapter's channels, on the
// subscription connection's goroutine.
func (a *shardedAdapter) onRaw(channel string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	var atts [][]byte
	if msg[0] != '{' {
		var sink placeholderSink
		r := msgpack.NewReader(msg)
		js, err := r.AppendJSON(make([]byte, 0, len(msg)+32), sink.bin)
		if err != nil {
			a.badMessage(err)
			return
		}
		msg, atts = js, sink.atts
	}
	var typ int
	var uid, nsp, data []byte
	hasNsp := false
	err := eachMember(msg, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			typ = jsonInt(v)
		case "uid":
			uid, _ = jsonString(v)
		case "nsp":
			nsp, hasNsp = jsonString(v)
		case "data":
			data = v
		}
		return true
	})
	if err != nil {
		a.badMessage(err)
		return
	}
	if channel == a.responseChannel {
		a.onResponse(typ, data, atts)
		return
	}
	if string(uid) == a.uid {
		return
	}
	// socket-io-adapter 2.5.6 and later check the namespace; earlier ones
	// (and the 8.2 adapter's own copy) sent none.
	if hasNsp && string(nsp) != a.nsp.Name() {
		return
	}
	if err := a.onMessage(typ, uid, data, atts); err != nil {
		a.badMessage(err)
	}
}

func (a *shardedAdapter) badMessage(err error) {
	a.c.stats.receiveErrors.Add(1)
	a.c.logs.warn("decode", "redisadapter: undecodable message dropped", "nsp", a.nsp.Name(), "err", err)
}

// clusterData is a message's data, for the less frequent types.
type clusterData struct {
	Opts        *wireOpts       `json:"opts"`
	RequestID   *string         `json:"requestId"`
	Rooms       roomList        `json:"rooms"`
	Close       bool            `json:"close"`
	Packet      json.RawMessage `json:"packet"`
	Sockets     []wireSocket    `json:"sockets"`
	ClientCount int             `json:"clientCount"`
}

func (a *shardedAdapter) onMessage(typ int, uid, data []byte, atts [][]byte) error {
	if typ == rediswire.MsgBroadcast {
		return a.onBroadcast(uid, data, atts)
	}
	var d clusterData
	if len(data) > 0 {
		if err := json.Unmarshal(data, &d); err != nil {
			return err
		}
	}
	local := a.InMemoryAdapter
	switch typ {
	case rediswire.MsgSocketsJoin, rediswire.MsgSocketsLeave, rediswire.MsgDisconnectSockets:
		if d.Opts == nil {
			return errMalformed
		}
		opts := d.Opts.options()
		switch typ {
		case rediswire.MsgSocketsJoin:
			local.AddSockets(opts, d.Rooms)
		case rediswire.MsgSocketsLeave:
			local.DelSockets(opts, d.Rooms)
		default:
			local.DisconnectSockets(opts, d.Close)
		}
	case rediswire.MsgFetchSockets:
		if d.Opts == nil || d.RequestID == nil {
			return errMalformed
		}
		socks, _ := local.FetchSockets(d.Opts.options())
		a.respond(string(uid), rediswire.MsgFetchSocketsResponse, nil, func(out []byte) []byte {
			out = codec.AppendJSONString(append(out, `{"requestId":`...), *d.RequestID)
			out = append(out, `,"sockets":[`...)
			for i := range socks {
				if i > 0 {
					out = append(out, ',')
				}
				out = appendSocketJSON(out, &socks[i])
			}
			return append(out, "]}"...)
		})
	case rediswire.MsgServerSideEmit:
		event, args, err := eventOf(d.Packet, atts)
		if err != nil {
			return err
		}
		var ack sio.Ack
		if d.RequestID != nil {
			id, requester := *d.RequestID, string(uid)
			var used onceFlag
			ack = func(args ...any) error {
				if !used.first() {
					return nil
				}
				v, ok, err := firstArgValue(args)
				if err != nil {
					return err
				}
				a.respondValue(requester, rediswire.MsgServerSideEmitResponse, id, v, ok)
				return nil
			}
		}
		runHandler(a.c, func() { a.nsp.DeliverServerSideEmit(event, args, ack) })
	case rediswire.MsgFetchSocketsResponse, rediswire.MsgServerSideEmitResponse, rediswire.MsgBroadcastClientCount, rediswire.MsgBroadcastAck:
		a.onResponse(typ, data, atts)
	}
	return nil
}

// onBroadcast handles BROADCAST, the hot path: the data is walked, not
// decoded into a tree; the packet's JSON is sent to the local sockets as
// it came (encoded once for all of them).
func (a *shardedAdapter) onBroadcast(uid, data []byte, atts [][]byte) error {
	var packet, optsRaw, requestID []byte
	hasID := false
	if err := eachMember(data, func(k, v []byte) bool {
		switch string(k) {
		case "packet":
			packet = v
		case "opts":
			optsRaw = v
		case "requestId":
			requestID, hasID = jsonString(v)
		}
		return true
	}); err != nil {
		return err
	}
	var pdata []byte
	ptype := -1
	if err := eachMember(packet, func(k, v []byte) bool {
		switch string(k) {
		case "type":
			ptype = jsonInt(v)
		case "data":
			pdata = v
		}
		return true
	}); err != nil {
		return err
	}
	if ptype != 2 && ptype != 5 {
		return nil
	}
	var opts sio.BroadcastOptions
	if optsRaw != nil {
		if err := jsonOpts(optsRaw, &opts); err != nil {
			return err
		}
	}
	p, err := a.nsp.RemotePacket(pdata, atts, hasID)
	if err != nil {
		return err
	}
	if !hasID {
		return a.InMemoryAdapter.Broadcast(p, &opts)
	}
	id, requester := string(requestID), string(uid)
	return a.InMemoryAdapter.BroadcastWithAck(p, &opts, func(n int) {
		a.respond(requester, rediswire.MsgBroadcastClientCount, nil, func(out []byte) []byte {
			out = codec.AppendJSONString(append(out, `{"requestId":`...), id)
			return append(strconv.AppendInt(append(out, `,"clientCount":`...), int64(n), 10), '}')
		})
	}, func(args sio.Args, err error) {
		if err != nil {
			return // the client left before answering (see classicAdapter)
		}
		var v sio.Value
		if len(args) > 0 {
			v = args[0]
		}
		a.respondValue(requester, rediswire.MsgBroadcastAck, id, v, len(args) > 0)
	})
}

// respond queues an answer {type, data, uid, nsp} for the requester.
func (a *shardedAdapter) respond(requester string, typ int, atts [][]byte, data func([]byte) []byte) {
	msg, err := a.message(nil, typ, atts, data)
	if err != nil {
		a.c.stats.publishErrors.Add(1)
		return
	}
	_ = a.c.publishAsync(a.channel+requester+"#", msg, nil)
}

// respondValue answers with {requestId, packet: v} (no packet when !ok).
func (a *shardedAdapter) respondValue(requester string, typ int, id string, v sio.Value, ok bool) {
	var atts [][]byte
	var raw []byte
	if ok {
		if v.IsBinary() {
			raw, atts = []byte(`{"_placeholder":true,"num":0}`), [][]byte{v.Bytes()}
		} else {
			raw, atts = v.Raw(), v.Attachments()
		}
	}
	a.respond(requester, typ, atts, func(out []byte) []byte {
		out = codec.AppendJSONString(append(out, `{"requestId":`...), id)
		if ok {
			out = append(append(out, `,"packet":`...), raw...)
		}
		return append(out, '}')
	})
}

// onResponse handles an answer to one of this node's requests.
func (a *shardedAdapter) onResponse(typ int, data []byte, atts [][]byte) {
	var d clusterData
	if err := json.Unmarshal(data, &d); err != nil || d.RequestID == nil {
		a.badMessage(errMalformed)
		return
	}
	id := *d.RequestID
	switch typ {
	case rediswire.MsgBroadcastClientCount:
		if r := a.acks.get(id); r != nil {
			r.clientCount(d.ClientCount)
		}
	case rediswire.MsgBroadcastAck:
		if r := a.acks.get(id); r != nil {
			var args sio.Args
			if len(d.Packet) > 0 {
				args = sio.Args{sio.MakeValue(d.Packet, atts)}
			}
			r.ack(args, nil)
		}
	case rediswire.MsgFetchSocketsResponse:
		a.requests.answer(id, func(p *pending) {
			for i := range d.Sockets {
				p.sockets = append(p.sockets, d.Sockets[i].details())
			}
		})
	case rediswire.MsgServerSideEmitResponse:
		a.requests.answer(id, func(p *pending) {
			var args sio.Args
			if len(d.Packet) > 0 {
				args = sio.Args{sio.MakeValue(d.Packet, atts)}
			}
			p.acks = append(p.acks, args)
		})
	}
}
