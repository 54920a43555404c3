package redisadapter

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// classicAdapter speaks createAdapter's protocol (@socket.io/redis-adapter
// 8.x RedisAdapter): broadcasts as MessagePack [uid, packet, opts] on
// <key>#<nsp># (and <key>#<nsp>#<room># for one room), requests as JSON on
// <key>-request#<nsp>#, answers on <key>-response#<nsp>#[<uid>#].
type classicAdapter struct {
	*sio.InMemoryAdapter
	c   *Client
	nsp *sio.Namespace
	uid string // 6 characters, as uid2(6)

	channel                 string // <key>#<nsp>#
	requestChannel          string
	responseChannel         string
	specificResponseChannel string

	requests pendingSet
	acks     ackSet
	closed   atomic.Bool
}

func newClassicAdapter(c *Client, nsp *sio.Namespace) *classicAdapter {
	key, name := c.opts.Key, nsp.Name()
	a := &classicAdapter{
		InMemoryAdapter: sio.NewInMemoryAdapter(nsp),
		c:               c,
		nsp:             nsp,
		uid:             uid2(6),
		channel:         key + "#" + name + "#",
		requestChannel:  key + "-request#" + name + "#",
		responseChannel: key + "-response#" + name + "#",
	}
	a.specificResponseChannel = a.responseChannel + a.uid + "#"
	return a
}

// UID is the node's id on the wire (for tests and logs).
func (a *classicAdapter) UID() string { return a.uid }

// LocalPart implements sio.LocalPart.
func (a *classicAdapter) LocalPart() *sio.InMemoryAdapter { return a.InMemoryAdapter }

// EngineCluster implements sio.EngineClusterer.
func (a *classicAdapter) EngineCluster() engine.Cluster { return a.c.EngineCluster() }

// Init subscribes; it waits (at most DialTimeout) until the subscriptions
// are in place, so that the node counts in PUBSUB NUMSUB when the
// namespace is ready. If Redis is unreachable it returns an error, and
// the subscriptions are made once it is back.
func (a *classicAdapter) Init() error {
	sub := a.c.sub
	sub.add(kindPattern, globEscape(a.channel)+"*", a.onBroadcast)
	sub.add(kindChannel, a.requestChannel, a.onRequest)
	sub.add(kindChannel, a.responseChannel, a.onResponse)
	sub.add(kindChannel, a.specificResponseChannel, a.onResponse)
	return sub.sync(context.Background(), a.c.opts.DialTimeout)
}

// Close unsubscribes and ends the requests still waiting.
func (a *classicAdapter) Close() error {
	if !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	sub := a.c.sub
	sub.remove(kindPattern, globEscape(a.channel)+"*")
	sub.remove(kindChannel, a.requestChannel)
	sub.remove(kindChannel, a.responseChannel)
	sub.remove(kindChannel, a.specificResponseChannel)
	a.requests.failAll(ErrClosed)
	a.acks.clear()
	return nil
}

// globEscape escapes the glob characters of a PSUBSCRIBE pattern.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, c := range []byte(s) {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ServerCount is PUBSUB NUMSUB of the request channel: the nodes
// subscribed to it, this one included.
func (a *classicAdapter) ServerCount() (int, error) {
	if a.closed.Load() {
		return 0, ErrClosed
	}
	return a.c.numSub(a.requestChannel)
}

// Broadcast delivers p to the local sockets, then publishes it (unless
// Local); it returns the publish's error.
func (a *classicAdapter) Broadcast(p *sio.Packet, opts *sio.BroadcastOptions) error {
	if opts.Flags.Local {
		return a.InMemoryAdapter.Broadcast(p, opts)
	}
	buf := getBuf()
	msg, err := a.appendBroadcast(*buf, p, opts)
	*buf = msg
	if err != nil {
		putBuf(buf)
		return err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	_ = a.InMemoryAdapter.Broadcast(p, opts)
	if a.closed.Load() {
		putBuf(buf)
		return ErrClosed
	}
	return a.c.publishAsync(channel, msg, buf)
}

// appendBroadcast encodes [uid, {type, data, nsp}, {rooms, except, flags}]
// as Node's adapter does.
func (a *classicAdapter) appendBroadcast(dst []byte, p *sio.Packet, opts *sio.BroadcastOptions) ([]byte, error) {
	dst = msgpack.AppendArrayHeader(dst, 3)
	dst = msgpack.AppendString(dst, a.uid)
	dst, err := rediswire.AppendClassicPacket(dst, p, a.nsp.Name())
	if err != nil {
		return dst, err
	}
	return rediswire.AppendOpts(dst, opts, true), nil
}

// onBroadcast handles a message of the broadcast pattern, on the
// subscription connection's goroutine: it decodes only what routing needs
// (walking the bytes), then hands the packet, encoded once, to the local
// sockets.
func (a *classicAdapter) onBroadcast(channel string, msg []byte) {
	if !strings.HasPrefix(channel, a.channel) {
		return
	}
	if len(channel) > len(a.channel) {
		if room := channel[len(a.channel) : len(channel)-1]; !a.HasRoom(room) {
			return // no member here: not even decoded
		}
	}
	if err := a.handleBroadcast(msg); err != nil {
		a.c.stats.receiveErrors.Add(1)
		a.c.logs.warn("decode", "redisadapter: undecodable broadcast dropped", "nsp", a.nsp.Name(), "err", err)
	}
}

func (a *classicAdapter) handleBroadcast(msg []byte) error {
	r := msgpack.NewReader(msg)
	n, err := r.ArrayHeader()
	if err != nil || n < 3 {
		return errMalformed
	}
	uid, err := r.StringBytes()
	if err != nil {
		return err
	}
	if string(uid) == a.uid {
		return nil // our own
	}
	data, nsp, ok, err := readClassicPacket(&r)
	if err != nil || !ok {
		return err
	}
	if nsp == nil {
		nsp = []byte("/") // emitters before nsp was sent
	}
	if string(nsp) != a.nsp.Name() {
		return nil
	}
	var opts sio.BroadcastOptions
	if err := readOpts(&r, &opts); err != nil {
		return err
	}
	raw, atts, err := readData(&data)
	if err != nil {
		return err
	}
	p, err := a.nsp.RemotePacket(raw, atts, false)
	if err != nil {
		return err
	}
	return a.InMemoryAdapter.Broadcast(p, &opts)
}

// readClassicPacket reads the packet map {type, data, nsp}: a reader on
// its data, its nsp (nil when absent). ok is false for a packet that is
// not an event (nothing else is broadcast).
func readClassicPacket(r *msgpack.Reader) (data msgpack.Reader, nsp []byte, ok bool, err error) {
	n, err := r.MapHeader()
	if err != nil {
		return data, nil, false, err
	}
	typ := int64(-1)
	for i := 0; i < n; i++ {
		k, err := r.StringBytes()
		if err != nil {
			return data, nil, false, err
		}
		switch string(k) {
		case "type":
			if typ, err = r.Int(); err != nil {
				return data, nil, false, err
			}
		case "data":
			raw, err := r.Raw()
			if err != nil {
				return data, nil, false, err
			}
			data = msgpack.NewReader(raw)
		case "nsp":
			if r.Peek() == msgpack.KindString {
				if nsp, err = r.StringBytes(); err != nil {
					return data, nil, false, err
				}
				continue
			}
			fallthrough
		default:
			if err := r.Skip(); err != nil {
				return data, nil, false, err
			}
		}
	}
	// EVENT (2), or BINARY_EVENT (5) from an encoder that sets it.
	return data, nsp, (typ == 2 || typ == 5) && data.Len() > 0, nil
}
