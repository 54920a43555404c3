package redisemitter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// Options configure an Emitter; the zero value of each field is its default.
type Options struct {
	// URL of the Redis server (rueidis.ParseURL's forms). Ignored when
	// Redis is set. Default redis://127.0.0.1:6379.
	URL string
	// Redis is a rueidis client to publish with; Close does not close it.
	Redis rueidis.Client
	// Key prefixes the channels (the adapters' key / channelPrefix).
	// Default "socket.io".
	Key string
	// Sharded speaks createShardedAdapter's protocol.
	Sharded bool
	// SubscriptionMode of the cluster's sharded adapters (default
	// "dynamic"): with "dynamic" or "dynamic-private" a broadcast to one
	// room goes to that room's channel, as the adapters publish it.
	SubscriptionMode string
	// PublishTimeout bounds each publish (default 3 s).
	PublishTimeout time.Duration
}

// Emitter publishes to one namespace of a cluster. It is safe for
// concurrent use; its operators (To, Except, ...) are values.
type Emitter struct {
	rc   rueidis.Client
	owns bool
	opts Options
	nsp  string
}

// New connects to Redis (failing with a clear error if it cannot within
// ctx) and returns an emitter for the main namespace "/".
func New(ctx context.Context, opts Options) (*Emitter, error) {
	if opts.URL == "" {
		opts.URL = "redis://127.0.0.1:6379"
	}
	if opts.Key == "" {
		opts.Key = "socket.io"
	}
	if opts.SubscriptionMode == "" {
		opts.SubscriptionMode = "dynamic"
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 3 * time.Second
	}
	e := &Emitter{rc: opts.Redis, opts: opts, nsp: "/"}
	if e.rc == nil {
		ro, err := rueidis.ParseURL(opts.URL)
		if err != nil {
			return nil, fmt.Errorf("redisemitter: bad Redis URL: %w", err)
		}
		ro.DisableCache = true
		if e.rc, err = rueidis.NewClient(ro); err != nil {
			return nil, fmt.Errorf("redisemitter: cannot connect to Redis: %w", err)
		}
		e.owns = true
	}
	if err := e.rc.Do(ctx, e.rc.B().Ping().Build()).Error(); err != nil {
		e.Close()
		return nil, fmt.Errorf("redisemitter: Redis does not answer: %w", err)
	}
	return e, nil
}

// Close closes the Redis client if New dialed it (the emitters of Of
// share it: close the first one only).
func (e *Emitter) Close() {
	if e.owns {
		e.rc.Close()
	}
}

// Of returns an emitter for namespace nsp ("chat" means "/chat"), sharing
// the connection.
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{rc: e.rc, opts: e.opts, nsp: nsp}
}

func (e *Emitter) op() Operator { return Operator{e: e} }

// To selects the sockets in rooms.
func (e *Emitter) To(rooms ...string) Operator { return e.op().To(rooms...) }

// In is To.
func (e *Emitter) In(rooms ...string) Operator { return e.op().To(rooms...) }

// Except excludes the sockets in rooms.
func (e *Emitter) Except(rooms ...string) Operator { return e.op().Except(rooms...) }

// Volatile marks the broadcast volatile.
func (e *Emitter) Volatile() Operator { return e.op().Volatile() }

// Compress sets whether the broadcast may be compressed.
func (e *Emitter) Compress(c bool) Operator { return e.op().Compress(c) }

// Emit broadcasts to every socket of the namespace.
func (e *Emitter) Emit(event string, args ...any) error { return e.op().Emit(event, args...) }

// SocketsJoin makes every socket of the namespace join rooms.
func (e *Emitter) SocketsJoin(rooms ...string) error { return e.op().SocketsJoin(rooms...) }

// SocketsLeave makes every socket of the namespace leave rooms.
func (e *Emitter) SocketsLeave(rooms ...string) error { return e.op().SocketsLeave(rooms...) }

// DisconnectSockets disconnects every socket of the namespace.
func (e *Emitter) DisconnectSockets(close bool) error { return e.op().DisconnectSockets(close) }

// ServerSideEmit sends an event to the namespace's server-side handlers on
// every node (sio.Namespace.OnServerSideEmit; no acknowledgement).
func (e *Emitter) ServerSideEmit(event string, args ...any) error {
	if reserved(event) {
		return sio.ErrReservedEvent
	}
	p, err := sio.NewEventPacket(e.nsp, event, args)
	if err != nil {
		return err
	}
	if e.opts.Sharded {
		msg, err := rediswire.AppendClusterMessage(nil, rediswire.MsgServerSideEmit, rediswire.EmitterUID, e.nsp, p.Attachments,
			func(d []byte) []byte { return append(append(append(d, `{"packet":`...), p.Data...), '}') })
		if err != nil {
			return err
		}
		return e.publish(e.mainChannel(), msg)
	}
	data, err := jsonArgs(p)
	if err != nil {
		return err
	}
	msg := append([]byte(`{"uid":"emitter","type":6,"data":`), data...)
	return e.publish(e.requestChannel(), append(msg, '}'))
}

func reserved(event string) bool {
	switch event {
	case "connect", "connection", "new_namespace":
		return true
	}
	return false
}

// jsonArgs is p's data as JSON, binary written as a Node Buffer's JSON
// (the classic requests are JSON, as with the Node emitter).
func jsonArgs(p *sio.Packet) ([]byte, error) {
	if len(p.Attachments) == 0 {
		return p.Data, nil
	}
	mp, err := rediswire.AppendPacketData(nil, p)
	if err != nil {
		return nil, err
	}
	r := msgpack.NewReader(mp)
	return r.AppendJSON(nil, nil)
}

func (e *Emitter) mainChannel() string    { return e.opts.Key + "#" + e.nsp + "#" }
func (e *Emitter) requestChannel() string { return e.opts.Key + "-request#" + e.nsp + "#" }

func (e *Emitter) publish(channel string, msg []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.PublishTimeout)
	defer cancel()
	b := e.rc.B()
	var cmd rueidis.Completed
	if e.opts.Sharded {
		cmd = b.Spublish().Channel(channel).Message(rueidis.BinaryString(msg)).Build()
	} else {
		cmd = b.Publish().Channel(channel).Message(rueidis.BinaryString(msg)).Build()
	}
	if err := e.rc.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redisemitter: publish on %s: %w", channel, err)
	}
	return nil
}

// Operator selects sockets (rooms, exceptions, flags) and emits to them or
// acts on them. It is an immutable value: each method returns a new one.
type Operator struct {
	e    *Emitter
	opts sio.BroadcastOptions
}

func add(list []string, more []string) []string {
	out := append([]string(nil), list...)
	for _, r := range more {
		if !contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// To adds rooms: the sockets in any of them are selected.
func (o Operator) To(rooms ...string) Operator { o.opts.Rooms = add(o.opts.Rooms, rooms); return o }

// In is To.
func (o Operator) In(rooms ...string) Operator { return o.To(rooms...) }

// Except excludes the sockets in rooms.
func (o Operator) Except(rooms ...string) Operator {
	o.opts.Except = add(o.opts.Except, rooms)
	return o
}

// Volatile: nodes may drop the packet for clients that cannot take it now.
func (o Operator) Volatile() Operator { o.opts.Flags.Volatile = true; return o }

// Compress sets whether the packet may be compressed.
func (o Operator) Compress(c bool) Operator { o.opts.Flags.NoCompress = !c; return o }

// Emit broadcasts an event to the selected sockets of every node.
func (o Operator) Emit(event string, args ...any) error {
	e := o.e
	p, err := sio.NewEventPacket(e.nsp, event, args)
	if err != nil {
		return err
	}
	if e.opts.Sharded {
		msg, err := rediswire.AppendClusterMessage(nil, rediswire.MsgBroadcast, rediswire.EmitterUID, e.nsp, p.Attachments, func(d []byte) []byte {
			d = rediswire.AppendPacketJSON(append(d, `{"packet":`...), p)
			d = rediswire.AppendOptsJSON(append(d, `,"opts":`...), &o.opts, true)
			return append(d, '}')
		})
		if err != nil {
			return err
		}
		channel := e.mainChannel()
		if len(o.opts.Rooms) == 1 {
			r := o.opts.Rooms[0]
			if e.opts.SubscriptionMode == "dynamic-private" || (e.opts.SubscriptionMode == "dynamic" && !rediswire.LooksLikeSocketID(r)) {
				channel += r + "#"
			}
		}
		return e.publish(channel, msg)
	}
	msg := msgpack.AppendArrayHeader(nil, 3)
	msg = msgpack.AppendString(msg, rediswire.EmitterUID)
	if msg, err = rediswire.AppendClassicPacket(msg, p, e.nsp); err != nil {
		return err
	}
	msg = rediswire.AppendOpts(msg, &o.opts, true)
	channel := e.mainChannel()
	if len(o.opts.Rooms) == 1 {
		channel += o.opts.Rooms[0] + "#"
	}
	return e.publish(channel, msg)
}

// SocketsJoin makes the selected sockets of every node join rooms.
func (o Operator) SocketsJoin(rooms ...string) error {
	return o.socketsRequest(rediswire.ReqRemoteJoin, rediswire.MsgSocketsJoin, rooms, false)
}

// SocketsLeave makes the selected sockets of every node leave rooms.
func (o Operator) SocketsLeave(rooms ...string) error {
	return o.socketsRequest(rediswire.ReqRemoteLeave, rediswire.MsgSocketsLeave, rooms, false)
}

// DisconnectSockets disconnects the selected sockets of every node (close:
// their whole connection).
func (o Operator) DisconnectSockets(close bool) error {
	return o.socketsRequest(rediswire.ReqRemoteDisconnect, rediswire.MsgDisconnectSockets, nil, close)
}

func (o Operator) socketsRequest(classic, sharded int, rooms []string, close bool) error {
	e := o.e
	disconnect := classic == rediswire.ReqRemoteDisconnect
	tail := func(d []byte) []byte {
		if disconnect {
			return strconv.AppendBool(append(d, `,"close":`...), close)
		}
		return rediswire.AppendRoomsJSON(append(d, `,"rooms":`...), rooms)
	}
	if e.opts.Sharded {
		msg, err := rediswire.AppendClusterMessage(nil, sharded, rediswire.EmitterUID, e.nsp, nil, func(d []byte) []byte {
			d = rediswire.AppendOptsJSON(append(d, `{"opts":`...), &o.opts, true)
			return append(tail(d), '}')
		})
		if err != nil {
			return err
		}
		return e.publish(e.mainChannel(), msg)
	}
	// As the Node emitter: no uid, so every node applies it.
	msg := strconv.AppendInt(append([]byte(nil), `{"type":`...), int64(classic), 10)
	msg = rediswire.AppendOptsJSON(append(msg, `,"opts":`...), &o.opts, false)
	return e.publish(e.requestChannel(), append(tail(msg), '}'))
}
