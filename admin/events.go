package admin

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/fanio/fanio/sio"
)

// Development mode's stream (the reference's registerVerboseListeners):
// every namespace's sockets and rooms, as events on the admin namespace.

// eventQueue bounds the events waiting for the emitter.
const eventQueue = 4096

type event struct {
	name string
	args []any
}

// push queues an admin event; it never blocks (a full queue drops it).
func (a *Admin) push(name string, args ...any) {
	if a.closed.Load() {
		return
	}
	select {
	case a.events <- event{name, args}:
	default:
		if a.dropped.Add(1)&1023 == 1 {
			a.log.Warn("admin: event queue full; development-mode events dropped", "dropped", a.dropped.Load())
		}
	}
}

// emitter emits the queued events, in order, on its own goroutine: a slow
// admin namespace (a remote adapter) holds up no handler.
func (a *Admin) emitter() {
	defer a.done.Done()
	for {
		select {
		case <-a.stop:
			return
		case ev := <-a.events:
			if err := a.nsp.Emit(ev.name, ev.args...); err != nil {
				a.log.Debug("admin: cannot emit", "event", ev.name, "err", err)
			}
		}
	}
}

func (a *Admin) addRemove(fn func()) {
	a.removesMu.Lock()
	defer a.removesMu.Unlock()
	if a.closed.Load() {
		fn()
		return
	}
	a.removes = append(a.removes, fn)
}

// watch streams namespace n's sockets and rooms.
func (a *Admin) watch(n *sio.Namespace) {
	a.removesMu.Lock()
	seen := a.watched[n]
	a.watched[n] = true
	a.removesMu.Unlock()
	if seen {
		return
	}
	n.PrependOnConnection(func(s *sio.Socket) { a.onSocket(n, s) })
	if src, ok := n.Adapter().(sio.RoomEventSource); ok {
		name := n.Name()
		a.addRemove(src.OnJoinRoom(func(room sio.Room, id sio.SocketID) {
			a.push("room_joined", name, room, id, timestamp())
		}))
		a.addRemove(src.OnLeaveRoom(func(room sio.Room, id sio.SocketID) {
			a.push("room_left", name, room, id, timestamp())
		}))
	}
}

// onSocket runs first among n's connection handlers.
func (a *Admin) onSocket(n *sio.Namespace, s *sio.Socket) {
	if a.closed.Load() {
		return
	}
	name := n.Name()
	a.push("socket_connected", a.serialize(sio.SocketDetails{
		ID: s.ID(), Handshake: s.Handshake().Full(), Rooms: s.Rooms(), Data: s.Data(), Local: s,
	}, name), timestamp())
	s.OnUpgrade(func(s *sio.Socket, transport string) {
		a.push("socket_updated", map[string]any{"id": s.ID(), "nsp": name, "transport": transport})
	})
	if n != a.nsp {
		s.OnAny(func(s *sio.Socket, ev string, args []any) {
			a.push("event_received", name, s.ID(), eventArgs(ev, args), timestamp())
		})
		s.OnAnyOutgoing(func(s *sio.Socket, ev string, args []any) {
			a.push("event_sent", name, s.ID(), eventArgs(ev, args), timestamp())
		})
	}
	s.OnDisconnect(func(s *sio.Socket, reason sio.DisconnectReason) {
		a.push("socket_disconnected", name, s.ID(), string(reason), timestamp())
	})
}

// eventArgs is [event, args...] without an acknowledgement callback, its
// binary arguments copied (the emitter encodes them later).
func eventArgs(ev string, args []any) []any {
	out := make([]any, 0, len(args)+1)
	out = append(out, ev)
	for _, v := range args {
		switch x := v.(type) {
		case sio.Ack, sio.AckFunc, sio.BroadcastAckFunc:
			continue
		case []byte:
			v = bytes.Clone(x)
		}
		out = append(out, v)
	}
	return out
}

// timestamp is a JavaScript Date as JSON: ISO 8601 in UTC, milliseconds.
func timestamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// ---- sockets as the UI wants them (the reference's serialize)

type serializedSocket struct {
	ID        string              `json:"id"`
	ClientID  string              `json:"clientId"`
	Transport string              `json:"transport"`
	Nsp       string              `json:"nsp"`
	Data      json.RawMessage     `json:"data"`
	Handshake serializedHandshake `json:"handshake"`
	Rooms     []string            `json:"rooms"`
}

type serializedHandshake struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]any    `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// adminData is what the reference keeps in socket.data._admin (a Node
// node's sockets fetched from another node carry it).
type adminData struct {
	ClientID  string `json:"clientId"`
	Transport string `json:"transport"`
}

func (a *Admin) serialize(d sio.SocketDetails, nsp string) serializedSocket {
	out := serializedSocket{ID: d.ID, Nsp: nsp, Rooms: d.Rooms}
	if out.Rooms == nil {
		out.Rooms = []string{}
	}
	var meta adminData
	out.Data, meta = serializeData(d.Data)
	if s := d.Local; s != nil {
		id := s.EngineID()
		out.ClientID = id[:min(12, len(id))] // the whole id is sensitive
		out.Transport = s.Transport()
	} else {
		// A socket of another node: a Node node keeps these in its data;
		// without them, the socket stands for its own client.
		out.ClientID, out.Transport = meta.ClientID, meta.Transport
		if out.ClientID == "" {
			out.ClientID = d.ID[:min(12, len(d.ID))]
		}
	}
	if hs := d.Handshake; hs != nil {
		h := serializedHandshake{
			Address: hs.Address,
			Headers: make(map[string]string, len(hs.Headers)),
			Query:   queryObject(hs.Query),
			Issued:  hs.Issued,
			Secure:  hs.Secure,
			Time:    hs.Time.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)"),
			URL:     hs.URL,
			XDomain: hs.XDomain,
		}
		for k, v := range hs.Headers {
			h.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
		if ip := h.Headers["cf-connecting-ip"]; ip != "" {
			h.Address = ip
		} else if ip := h.Headers["x-forwarded-for"]; ip != "" {
			h.Address = ip
		}
		out.Handshake = h
	}
	return out
}

// serializeData is the socket's data as the UI shows it: a JSON object
// without the reference's "_admin" key (whose clientId and transport are
// returned), {} for none, {"value": data} for data that is not an object.
func serializeData(v any) (json.RawMessage, adminData) {
	var meta adminData
	if v == nil {
		return json.RawMessage("{}"), meta
	}
	raw, err := json.Marshal(v)
	if err != nil || bytes.Equal(raw, []byte("null")) {
		return json.RawMessage("{}"), meta
	}
	if raw[0] != '{' {
		wrapped, _ := json.Marshal(map[string]json.RawMessage{"value": raw})
		return wrapped, meta
	}
	if bytes.Contains(raw, []byte(`"_admin"`)) {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil {
			_ = json.Unmarshal(m["_admin"], &meta)
			delete(m, "_admin")
			raw, _ = json.Marshal(m)
		}
	}
	return raw, meta
}

// queryObject is a query as Node parses it: a string per key, an array
// for a repeated one.
func queryObject(q url.Values) map[string]any {
	out := make(map[string]any, len(q))
	for k, v := range q {
		if len(v) == 1 {
			out[k] = v[0]
		} else {
			out[k] = v
		}
	}
	return out
}

// allSockets lists the sockets of every namespace on every node (through
// each namespace's adapter: FetchSockets).
func (a *Admin) allSockets() []serializedSocket {
	out := []serializedSocket{}
	for _, n := range a.srv.Namespaces() {
		socks, err := n.FetchSockets()
		if err != nil {
			a.log.Warn("admin: cannot fetch the sockets", "nsp", n.Name(), "err", err)
			continue
		}
		for _, rs := range socks {
			out = append(out, a.serialize(rs.SocketDetails, n.Name()))
		}
	}
	return out
}
