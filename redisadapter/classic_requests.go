package redisadapter

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// classicRequest is a request as received (JSON, or MessagePack turned
// into JSON for BROADCAST).
type classicRequest struct {
	UID       string          `json:"uid"`
	RequestID *string         `json:"requestId"`
	Type      int             `json:"type"`
	Rooms     roomList        `json:"rooms"`
	Opts      *wireOpts       `json:"opts"`
	Close     bool            `json:"close"`
	Data      json.RawMessage `json:"data"`
	Packet    *wirePacket     `json:"packet"`
	SID       string          `json:"sid"`  // legacy single-socket form
	Room      json.RawMessage `json:"room"` // legacy single-socket form
}

type wirePacket struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (r *classicRequest) id() string {
	if r.RequestID == nil {
		return ""
	}
	return *r.RequestID
}

// onRequest handles a message of the request channel, on the subscription
// connection's goroutine: what changes sockets is done here, in order
// with broadcasts; answers are queued (responder); server-side emit
// handlers run on a goroutine of their own.
func (a *classicAdapter) onRequest(_ string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	var req classicRequest
	var atts [][]byte
	if msg[0] == '{' {
		if err := json.Unmarshal(msg, &req); err != nil {
			a.badMessage(err)
			return
		}
	} else {
		// MessagePack (BROADCAST): turned into JSON with placeholders.
		r := msgpack.NewReader(msg)
		var sink placeholderSink
		js, err := r.AppendJSON(nil, sink.bin)
		if err != nil {
			a.badMessage(err)
			return
		}
		if err := json.Unmarshal(js, &req); err != nil {
			a.badMessage(err)
			return
		}
		atts = sink.atts
	}
	local := a.InMemoryAdapter
	switch req.Type {
	case rediswire.ReqSockets:
		if a.requests.has(req.id()) {
			return
		}
		ids, _ := local.Sockets(req.Rooms)
		out := append([]byte(`{"requestId":`), codec.AppendJSONString(nil, req.id())...)
		out = append(out, `,"sockets":`...)
		out = rediswire.AppendRoomsJSON(out, ids)
		a.respond(&req, append(out, '}'))
	case rediswire.ReqAllRooms:
		if a.requests.has(req.id()) {
			return
		}
		out := append([]byte(`{"requestId":`), codec.AppendJSONString(nil, req.id())...)
		out = append(out, `,"rooms":`...)
		out = rediswire.AppendRoomsJSON(out, local.Rooms())
		a.respond(&req, append(out, '}'))
	case rediswire.ReqRemoteJoin, rediswire.ReqRemoteLeave, rediswire.ReqRemoteDisconnect:
		a.onSocketsRequest(&req)
	case rediswire.ReqRemoteFetch:
		if a.requests.has(req.id()) || req.Opts == nil {
			return
		}
		socks, _ := local.FetchSockets(req.Opts.options())
		out := append([]byte(`{"requestId":`), codec.AppendJSONString(nil, req.id())...)
		out = append(out, `,"sockets":[`...)
		for i := range socks {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendSocketJSON(out, &socks[i])
		}
		a.respond(&req, append(out, "]}"...))
	case rediswire.ReqServerSideEmit:
		if req.UID == a.uid {
			return
		}
		a.onServerSideEmit(&req)
	case rediswire.ReqBroadcast:
		if req.UID == a.uid || a.acks.get(req.id()) != nil || req.Packet == nil {
			return // our own
		}
		a.onBroadcastWithAck(&req, atts)
	}
}

func (a *classicAdapter) badMessage(err error) {
	a.c.stats.receiveErrors.Add(1)
	a.c.logs.warn("decode", "redisadapter: undecodable request dropped", "nsp", a.nsp.Name(), "err", err)
}

// respond queues an answer to req on the common response channel, or on
// the requester's own with PublishOnSpecificResponseChannel.
func (a *classicAdapter) respond(req *classicRequest, payload []byte) {
	channel := a.responseChannel
	if a.c.opts.PublishOnSpecificResponseChannel {
		channel += req.UID + "#"
	}
	_ = a.c.publishAsync(channel, payload, nil)
}

// onSocketsRequest applies REMOTE_JOIN, REMOTE_LEAVE and
// REMOTE_DISCONNECT. Our own were applied when sent (Node's node applies
// its own when they come back; the result is the same).
func (a *classicAdapter) onSocketsRequest(req *classicRequest) {
	local := a.InMemoryAdapter
	if req.Opts != nil {
		if req.UID == a.uid {
			return
		}
		opts := req.Opts.options()
		switch req.Type {
		case rediswire.ReqRemoteJoin:
			local.AddSockets(opts, req.Rooms)
		case rediswire.ReqRemoteLeave:
			local.DelSockets(opts, req.Rooms)
		default:
			local.DisconnectSockets(opts, req.Close)
		}
		return
	}
	// The single-socket form of older adapters, answered.
	s := a.nsp.Socket(req.SID)
	if s == nil {
		return
	}
	switch req.Type {
	case rediswire.ReqRemoteJoin:
		s.Join(roomOf(req.Room))
	case rediswire.ReqRemoteLeave:
		s.Leave(roomOf(req.Room))
	default:
		s.Disconnect(req.Close)
	}
	out := append([]byte(`{"requestId":`), codec.AppendJSONString(nil, req.id())...)
	a.respond(req, append(out, '}'))
}

// roomOf reads a room name sent as a JSON string or number.
func roomOf(raw json.RawMessage) sio.Room {
	var l roomList
	if len(raw) > 0 && l.UnmarshalJSON(append(append([]byte{'['}, raw...), ']')) == nil && len(l) == 1 {
		return l[0]
	}
	return ""
}

func (a *classicAdapter) onServerSideEmit(req *classicRequest) {
	event, args, err := eventOf(req.Data, nil)
	if err != nil {
		a.badMessage(err)
		return
	}
	var ack sio.Ack
	if req.RequestID != nil {
		id := *req.RequestID
		var used onceFlag
		ack = func(args ...any) error {
			if !used.first() {
				return nil
			}
			data, err := firstArgJSON(args)
			if err != nil {
				return err
			}
			out := append([]byte(`{"type":6,"requestId":`), codec.AppendJSONString(nil, id)...)
			if data != nil {
				out = append(append(out, `,"data":`...), data...)
			}
			// Node answers these on the common channel, whatever its
			// publishOnSpecificResponseChannel.
			_ = a.c.publishAsync(a.responseChannel, append(out, '}'), nil)
			return nil
		}
	}
	runHandler(a.c, func() { a.nsp.DeliverServerSideEmit(event, args, ack) })
}

// onBroadcastWithAck delivers another node's broadcast with
// acknowledgements and sends back the client count, then each client's
// answer.
func (a *classicAdapter) onBroadcastWithAck(req *classicRequest, atts [][]byte) {
	if req.Packet.Type != 2 && req.Packet.Type != 5 {
		return
	}
	p, err := a.nsp.RemotePacket(req.Packet.Data, atts, true)
	if err != nil {
		a.badMessage(err)
		return
	}
	opts := &sio.BroadcastOptions{}
	if req.Opts != nil {
		// Node applies rooms and except only here.
		opts.Rooms, opts.Except = req.Opts.Rooms, req.Opts.Except
	}
	id := req.id()
	idJSON := codec.AppendJSONString(nil, id)
	_ = a.InMemoryAdapter.BroadcastWithAck(p, opts, func(n int) {
		out := append([]byte(`{"type":8,"requestId":`), idJSON...)
		out = strconv.AppendInt(append(out, `,"clientCount":`...), int64(n), 10)
		a.respond(req, append(out, '}'))
	}, func(args sio.Args, err error) {
		if err != nil {
			// The client left before answering: the protocol has no
			// message for it; the requester's timeout covers it, as
			// with Node's adapter.
			return
		}
		out := msgpack.AppendMapHeader(nil, 2+min(len(args), 1))
		out = msgpack.AppendInt(msgpack.AppendString(out, "type"), rediswire.ReqBroadcastAck)
		out = msgpack.AppendString(msgpack.AppendString(out, "requestId"), id)
		if len(args) > 0 {
			var err error
			if out, err = appendValue(msgpack.AppendString(out, "packet"), args[0]); err != nil {
				return
			}
		}
		a.respond(req, out)
	})
}

// classicResponse is an answer as received.
type classicResponse struct {
	RequestID   string          `json:"requestId"`
	Type        int             `json:"type"`
	ClientCount int             `json:"clientCount"`
	Data        json.RawMessage `json:"data"`
	Sockets     json.RawMessage `json:"sockets"`
	Rooms       roomList        `json:"rooms"`
}

// onResponse handles a message of the response channels.
func (a *classicAdapter) onResponse(_ string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	if msg[0] != '{' {
		a.onAckResponse(msg)
		return
	}
	var res classicResponse
	if err := json.Unmarshal(msg, &res); err != nil {
		a.badMessage(err)
		return
	}
	if r := a.acks.get(res.RequestID); r != nil {
		if res.Type == rediswire.ReqBroadcastClientCount {
			r.clientCount(res.ClientCount)
		}
		return
	}
	a.requests.answer(res.RequestID, func(p *pending) {
		switch p.kind {
		case reqSockets:
			var ids []string
			if json.Unmarshal(res.Sockets, &ids) == nil {
				p.ids = append(p.ids, ids...)
			}
		case reqFetch:
			var socks []wireSocket
			if json.Unmarshal(res.Sockets, &socks) == nil {
				for i := range socks {
					p.sockets = append(p.sockets, socks[i].details())
				}
			}
		case reqAllRooms:
			p.rooms = append(p.rooms, res.Rooms...)
		case reqServerSideEmit:
			var args sio.Args
			if len(res.Data) > 0 {
				args = sio.Args{sio.MakeValue(res.Data, nil)}
			}
			p.acks = append(p.acks, args)
		}
	})
}

// onAckResponse handles a BROADCAST_ACK (MessagePack {type, requestId,
// packet}).
func (a *classicAdapter) onAckResponse(msg []byte) {
	r := msgpack.NewReader(msg)
	n, err := r.MapHeader()
	if err != nil {
		a.badMessage(err)
		return
	}
	var id []byte
	var typ int64 = -1
	var args sio.Args
	for i := 0; i < n; i++ {
		k, err := r.StringBytes()
		if err != nil {
			a.badMessage(err)
			return
		}
		switch string(k) {
		case "requestId":
			id, err = r.StringBytes()
		case "type":
			typ, err = r.Int()
		case "packet":
			if r.Undefined() {
				continue
			}
			var v sio.Value
			v, err = readValue(&r)
			args = sio.Args{v}
		default:
			err = r.Skip()
		}
		if err != nil {
			a.badMessage(err)
			return
		}
	}
	if typ != rediswire.ReqBroadcastAck {
		return
	}
	if req := a.acks.get(string(id)); req != nil {
		req.ack(args, nil)
	}
}

// ---- requests this node makes ----

// request publishes a request and waits for expected answers.
func (a *classicAdapter) request(ctx context.Context, kind requestKind, expected int, encode func(id string) []byte) (*pending, error) {
	id := uid2(6)
	p := &pending{kind: kind, expected: expected}
	a.requests.add(id, p)
	if err := a.c.publish(a.requestChannel, encode(id)); err != nil {
		a.requests.remove(id)
		return p, err
	}
	return p, a.requests.wait(ctx, a.c, id, p, a.c.opts.RequestsTimeout)
}

// others returns the number of other nodes (0 when alone).
func (a *classicAdapter) others() (int, error) {
	n, err := a.ServerCount()
	if err != nil {
		return 0, err
	}
	return max(n-1, 0), nil
}

func (a *classicAdapter) requestHead(typ int, id string) []byte {
	out := append([]byte(`{"uid":`), codec.AppendJSONString(nil, a.uid)...)
	if id != "" {
		out = append(out, `,"requestId":`...)
		out = codec.AppendJSONString(out, id)
	}
	out = append(out, `,"type":`...)
	return strconv.AppendInt(out, int64(typ), 10)
}

// FetchSockets describes the selected sockets of every node. On a
// timeout it returns what came, with a *TimeoutError.
func (a *classicAdapter) FetchSockets(opts *sio.BroadcastOptions) ([]sio.SocketDetails, error) {
	local, _ := a.InMemoryAdapter.FetchSockets(opts)
	if opts.Flags.Local {
		return local, nil
	}
	others, err := a.others()
	if err != nil || others == 0 {
		return local, err
	}
	p, err := a.request(context.Background(), reqFetch, others, func(id string) []byte {
		out := a.requestHead(rediswire.ReqRemoteFetch, id)
		out = append(out, `,"opts":`...)
		return append(rediswire.AppendOptsJSON(out, opts, false), '}')
	})
	return append(local, p.sockets...), err
}

// Sockets returns the ids of the sockets in any of rooms on every node
// (SOCKETS request, still answered by Node's adapter).
func (a *classicAdapter) Sockets(rooms []sio.Room) ([]sio.SocketID, error) {
	local, _ := a.InMemoryAdapter.Sockets(rooms)
	others, err := a.others()
	if err != nil || others == 0 {
		return local, err
	}
	p, err := a.request(context.Background(), reqSockets, others, func(id string) []byte {
		out := a.requestHead(rediswire.ReqSockets, id)
		out = append(out, `,"rooms":`...)
		return append(rediswire.AppendRoomsJSON(out, rooms), '}')
	})
	return dedupe(append(local, p.ids...)), err
}

// AllRooms returns the rooms of every node (ALL_ROOMS request).
func (a *classicAdapter) AllRooms() ([]sio.Room, error) {
	local := a.InMemoryAdapter.Rooms()
	others, err := a.others()
	if err != nil || others == 0 {
		return local, err
	}
	p, err := a.request(context.Background(), reqAllRooms, others, func(id string) []byte {
		return append(a.requestHead(rediswire.ReqAllRooms, id), '}')
	})
	return dedupe(append(local, p.rooms...)), err
}

func dedupe(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// AddSockets makes the selected sockets of every node join rooms.
func (a *classicAdapter) AddSockets(opts *sio.BroadcastOptions, rooms []sio.Room) {
	a.InMemoryAdapter.AddSockets(opts, rooms)
	if !opts.Flags.Local {
		a.publishSockets(rediswire.ReqRemoteJoin, opts, rooms, false)
	}
}

// DelSockets makes the selected sockets of every node leave rooms.
func (a *classicAdapter) DelSockets(opts *sio.BroadcastOptions, rooms []sio.Room) {
	a.InMemoryAdapter.DelSockets(opts, rooms)
	if !opts.Flags.Local {
		a.publishSockets(rediswire.ReqRemoteLeave, opts, rooms, false)
	}
}

// DisconnectSockets disconnects the selected sockets of every node.
func (a *classicAdapter) DisconnectSockets(opts *sio.BroadcastOptions, close bool) {
	a.InMemoryAdapter.DisconnectSockets(opts, close)
	if !opts.Flags.Local {
		a.publishSockets(rediswire.ReqRemoteDisconnect, opts, nil, close)
	}
}

// publishSockets publishes REMOTE_JOIN/LEAVE/DISCONNECT. The sio API has
// no error to return here: a failure is counted and logged.
func (a *classicAdapter) publishSockets(typ int, opts *sio.BroadcastOptions, rooms []sio.Room, close bool) {
	out := a.requestHead(typ, "")
	out = append(out, `,"opts":`...)
	out = rediswire.AppendOptsJSON(out, opts, false)
	if typ == rediswire.ReqRemoteDisconnect {
		out = strconv.AppendBool(append(out, `,"close":`...), close)
	} else {
		out = rediswire.AppendRoomsJSON(append(out, `,"rooms":`...), rooms)
	}
	_ = a.c.publishAsync(a.requestChannel, append(out, '}'), nil)
}

// ServerSideEmit sends an event to the other nodes.
func (a *classicAdapter) ServerSideEmit(event string, args []any) error {
	out := a.requestHead(rediswire.ReqServerSideEmit, "")
	out = append(out, `,"data":`...)
	out, err := argsJSON(out, event, args)
	if err != nil {
		return err
	}
	return a.c.publishAsync(a.requestChannel, append(out, '}'), nil)
}

// ServerSideEmitWithAck implements sio.ServerSideAcker.
func (a *classicAdapter) ServerSideEmitWithAck(ctx context.Context, event string, args []any) ([]sio.Args, error) {
	data, err := argsJSON(nil, event, args)
	if err != nil {
		return nil, err
	}
	others, err := a.others()
	if err != nil || others == 0 {
		return nil, err
	}
	p, err := a.request(ctx, reqServerSideEmit, others, func(id string) []byte {
		out := a.requestHead(rediswire.ReqServerSideEmit, id)
		out = append(append(out, `,"data":`...), data...)
		return append(out, '}')
	})
	return p.acks, err
}

// BroadcastWithAck delivers p to the local sockets and publishes it as a
// BROADCAST request; the other nodes answer with their client count and
// each client's acknowledgement.
func (a *classicAdapter) BroadcastWithAck(p *sio.Packet, opts *sio.BroadcastOptions, clientCount func(int), ack func(sio.Args, error)) error {
	if opts.Flags.Local {
		return a.InMemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
	}
	id := uid2(6)
	out := msgpack.AppendMapHeader(nil, 5)
	out = msgpack.AppendString(msgpack.AppendString(out, "uid"), a.uid)
	out = msgpack.AppendString(msgpack.AppendString(out, "requestId"), id)
	out = msgpack.AppendInt(msgpack.AppendString(out, "type"), rediswire.ReqBroadcast)
	out, err := rediswire.AppendClassicPacket(msgpack.AppendString(out, "packet"), p, a.nsp.Name())
	if err != nil {
		return err
	}
	out = rediswire.AppendOpts(msgpack.AppendString(out, "opts"), opts, true)
	a.acks.add(id, &ackRequest{clientCount: clientCount, ack: ack}, ackRetention(opts, a.c))
	_ = a.InMemoryAdapter.BroadcastWithAck(p, opts, clientCount, ack)
	if err := a.c.publishAsync(a.requestChannel, out, nil); err != nil {
		a.acks.remove(id)
		return err
	}
	return nil
}
