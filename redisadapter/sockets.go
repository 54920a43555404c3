package redisadapter

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// Sockets described to other nodes (fetchSockets answers): what Node's
// adapters send, {id, handshake, rooms, data}, with the handshake as
// socket.io builds it.

// jsDateLayout is JavaScript's Date.prototype.toString, in UTC: "Tue Nov
// 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)".
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT-0700"

// appendSocketJSON appends d as a fetchSockets answer element.
func appendSocketJSON(dst []byte, d *sio.SocketDetails) []byte {
	dst = append(dst, `{"id":`...)
	dst = codec.AppendJSONString(dst, d.ID)
	dst = append(dst, `,"handshake":`...)
	dst = appendHandshakeJSON(dst, d.Handshake)
	dst = append(dst, `,"rooms":`...)
	dst = rediswire.AppendRoomsJSON(dst, d.Rooms)
	dst = append(dst, `,"data":`...)
	dst = appendDataJSON(dst, d.Data)
	return append(dst, '}')
}

// appendDataJSON writes socket data as JSON; nil is written {} (Node's
// socket.data starts as an empty object, and Node code reads fields of it).
func appendDataJSON(dst []byte, data any) []byte {
	switch v := data.(type) {
	case nil:
		return append(dst, "{}"...)
	case json.RawMessage:
		if codec.ValidJSON(v) {
			return append(dst, v...)
		}
		return append(dst, "null"...)
	case sio.Value:
		return valueJSON(dst, v)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return append(dst, "null"...)
	}
	return append(dst, b...)
}

func appendHandshakeJSON(dst []byte, h *sio.Handshake) []byte {
	if h == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"headers":{`...)
	keys := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		lk := strings.ToLower(k)
		dst = codec.AppendJSONString(dst, lk)
		dst = append(dst, ':')
		vs := h.Headers[k]
		switch {
		case lk == "set-cookie":
			dst = rediswire.AppendRoomsJSON(dst, vs) // Node keeps set-cookie an array
		case lk == "cookie":
			dst = codec.AppendJSONString(dst, strings.Join(vs, "; "))
		default:
			dst = codec.AppendJSONString(dst, strings.Join(vs, ", "))
		}
	}
	dst = append(dst, `},"time":`...)
	t := h.Time.UTC()
	dst = codec.AppendJSONString(dst, t.Format(jsDateLayout)+" (Coordinated Universal Time)")
	dst = append(dst, `,"address":`...)
	dst = codec.AppendJSONString(dst, h.Address)
	dst = append(dst, `,"xdomain":`...)
	dst = strconv.AppendBool(dst, h.XDomain)
	dst = append(dst, `,"secure":`...)
	dst = strconv.AppendBool(dst, h.Secure)
	dst = append(dst, `,"issued":`...)
	dst = strconv.AppendInt(dst, h.Issued, 10)
	dst = append(dst, `,"url":`...)
	dst = codec.AppendJSONString(dst, h.URL)
	dst = append(dst, `,"query":{`...)
	keys = keys[:0]
	for k := range h.Query {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = codec.AppendJSONString(dst, k)
		dst = append(dst, ':')
		if vs := h.Query[k]; len(vs) == 1 {
			dst = codec.AppendJSONString(dst, vs[0])
		} else {
			dst = rediswire.AppendRoomsJSON(dst, vs)
		}
	}
	dst = append(dst, `},"auth":`...)
	if len(h.Auth) > 0 && codec.ValidJSON(h.Auth) {
		dst = append(dst, h.Auth...)
	} else {
		dst = append(dst, "{}"...)
	}
	return append(dst, '}')
}

// wireSocket is a fetchSockets answer element as received.
type wireSocket struct {
	ID        string          `json:"id"`
	Handshake *wireHandshake  `json:"handshake"`
	Rooms     roomList        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
}

type wireHandshake struct {
	Headers map[string]json.RawMessage `json:"headers"`
	Time    string                     `json:"time"`
	Address string                     `json:"address"`
	XDomain bool                       `json:"xdomain"`
	Secure  bool                       `json:"secure"`
	Issued  float64                    `json:"issued"`
	URL     string                     `json:"url"`
	Query   map[string]json.RawMessage `json:"query"`
	Auth    json.RawMessage            `json:"auth"`
}

// details converts a received socket description.
func (w *wireSocket) details() sio.SocketDetails {
	d := sio.SocketDetails{ID: w.ID, Rooms: w.Rooms, Data: w.Data}
	if len(w.Data) == 0 {
		d.Data = json.RawMessage("null")
	}
	if h := w.Handshake; h != nil {
		hs := &sio.Handshake{
			Headers: http.Header{},
			Address: h.Address,
			XDomain: h.XDomain,
			Secure:  h.Secure,
			Issued:  int64(h.Issued),
			URL:     h.URL,
			Query:   url.Values{},
			Auth:    h.Auth,
		}
		for k, v := range h.Headers {
			hs.Headers[http.CanonicalHeaderKey(k)] = stringOrList(v)
		}
		for k, v := range h.Query {
			hs.Query[k] = stringOrList(v)
		}
		hs.Time = time.UnixMilli(hs.Issued)
		if t, err := time.Parse(jsDateLayout, cutZoneName(h.Time)); err == nil && hs.Issued == 0 {
			hs.Time = t
		}
		if len(hs.Auth) == 0 {
			hs.Auth = json.RawMessage("{}")
		}
		d.Handshake = hs
	}
	return d
}

// cutZoneName drops the " (Zone Name)" JavaScript appends to a date.
func cutZoneName(s string) string {
	if i := strings.Index(s, " ("); i >= 0 {
		return s[:i]
	}
	return s
}

// stringOrList reads a JSON string, or an array of strings.
func stringOrList(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var l []string
	if json.Unmarshal(raw, &l) == nil {
		return l
	}
	return []string{string(raw)}
}
