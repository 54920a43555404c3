package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"time"

	"github.com/fanio/fanio/sio"
)

// hub is the server's behaviour: rooms clients join, and publishing from
// clients and from the HTTP API.
type hub struct {
	srv   *sio.Server
	opts  hubOptions
	log   *slog.Logger
	debug bool // log connects and disconnects (the logger's level is fixed at start)

	// The event handlers, as func values made once: a closure or method
	// value registered per socket would cost an allocation per socket and
	// handler, kept for the socket's life.
	join, leave, publish sio.EventHandler
	logDisconnect        func(*sio.Socket, sio.DisconnectReason)
}

// hubOptions are the HTTP API's safety settings.
type hubOptions struct {
	// token: the bearer token POST /api/publish requires; without one,
	// only loopback addresses may publish.
	token string
	// apiOrigins: the browser origins that may call the API ("*": any);
	// none by default, so no web page can publish.
	apiOrigins []string
}

// newHub makes the server, with mux (which gets the API's routes) for the
// requests outside the Socket.IO path.
func newHub(opts sio.Options, mux *http.ServeMux, o hubOptions, log *slog.Logger) *hub {
	h := &hub{opts: o, log: log, debug: log.Enabled(context.Background(), slog.LevelDebug)}
	h.join, h.leave, h.publish = h.onJoin, h.onLeave, h.onPublish
	h.logDisconnect = h.onDisconnect
	mux.HandleFunc("/api/publish", h.publishHTTP)
	opts.NotFound = mux
	h.srv = sio.NewServer(opts)
	h.srv.OnConnection(h.onConnection)
	return h
}

// publishPolicy says who may publish, for the startup log.
func (h *hub) publishPolicy() string {
	if h.opts.token != "" {
		return "bearer token"
	}
	return "loopback only (no -token)"
}

func (h *hub) onConnection(s *sio.Socket) {
	if h.debug {
		h.log.Debug("connect", "sid", s.ID(), "addr", s.Handshake().Address(), "transport", s.Transport())
		s.OnDisconnect(h.logDisconnect)
	}
	s.On("join", h.join)
	s.On("leave", h.leave)
	s.On("publish", h.publish)
}

func (h *hub) onDisconnect(s *sio.Socket, reason sio.DisconnectReason) {
	h.log.Debug("disconnect", "sid", s.ID(), "reason", reason)
}

func (h *hub) onJoin(s *sio.Socket, args sio.Args, ack sio.Ack) {
	room, err := sio.Arg[string](args, 0)
	if err != nil || room == "" {
		h.reply(ack, map[string]any{"error": "join needs a room name"})
		return
	}
	s.Join(room)
	h.reply(ack, s.Rooms())
}

func (h *hub) onLeave(s *sio.Socket, args sio.Args, ack sio.Ack) {
	room, err := sio.Arg[string](args, 0)
	if err != nil {
		h.reply(ack, map[string]any{"error": "leave needs a room name"})
		return
	}
	s.Leave(room)
	h.reply(ack, s.Rooms())
}

func (h *hub) onPublish(s *sio.Socket, args sio.Args, ack sio.Ack) {
	room, err1 := sio.Arg[string](args, 0)
	event, err2 := sio.Arg[string](args, 1)
	if err := errors.Join(err1, err2); err != nil || room == "" || event == "" {
		h.reply(ack, map[string]any{"error": "publish needs (room, event, data)"})
		return
	}
	var data any
	if len(args) > 2 {
		data = args[2]
	}
	if err := s.To(room).Emit(event, data); err != nil {
		h.reply(ack, map[string]any{"error": err.Error()})
		return
	}
	ids, _ := s.Namespace().Local().To(room).AllSockets()
	h.reply(ack, len(ids))
}

func (h *hub) reply(ack sio.Ack, v any) {
	if ack != nil {
		_ = ack(v)
	}
}

type publishRequest struct {
	Room  string          `json:"room"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
	// Ack asks every member of the room, on every node, to acknowledge;
	// the answer lists their answers. Timeout bounds the wait in
	// milliseconds (default 5000, at most 60000).
	Ack     bool `json:"ack"`
	Timeout int  `json:"timeout"`
}

// publishAck answers a publish with "ack": the members' answers (each a
// list of arguments; binary ones as base64), and why some are missing.
type publishAck struct {
	Count int                 `json:"count"`
	Acks  [][]json.RawMessage `json:"acks"`
	Error string              `json:"error,omitempty"`
}

// publishHTTP serves POST /api/publish, and its CORS preflight.
//
// What a web page must never do is publish: a cross-origin POST with a
// "simple" content type (text/plain, a form) is sent by browsers without
// asking. So the API takes only application/json (which browsers send
// cross-origin only after a preflight), answers the preflight with CORS
// headers only for -api-cors origins, refuses a request whose Origin is
// not one of them, and without a token accepts only loopback addresses.
func (h *hub) publishHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	originOK := origin == "" || h.apiOrigin(origin)
	if r.Method == http.MethodOptions {
		h.preflight(w, r, origin, originOK)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		httpError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if origin != "" {
		w.Header().Add("Vary", "Origin")
	}
	if !originOK {
		h.log.Warn("publish refused: a browser origin not in -api-cors", "remote", r.RemoteAddr, "origin", origin)
		httpError(w, http.StatusForbidden, "this origin may not publish (see -api-cors)")
		return
	}
	if origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	if h.opts.token != "" {
		want := "Bearer " + h.opts.token
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			h.log.Info("publish refused: missing or wrong bearer token", "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", "Bearer")
			httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
	} else if !loopback(r.RemoteAddr) {
		h.log.Warn("publish refused: not from a loopback address and no -token set", "remote", r.RemoteAddr)
		httpError(w, http.StatusForbidden, "without -token, only loopback addresses may publish")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		w.Header().Set("Accept-Post", "application/json")
		httpError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		httpError(w, http.StatusBadRequest, "body too large or unreadable")
		return
	}
	var req publishRequest
	if err := json.Unmarshal(body, &req); err != nil {
		httpError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	if req.Room == "" || req.Event == "" {
		httpError(w, http.StatusBadRequest, `"room" and "event" are required`)
		return
	}
	var data any
	if len(req.Data) > 0 {
		data = req.Data
	}
	if req.Ack {
		h.publishWithAck(w, r, req, data)
		return
	}
	if err := h.srv.To(req.Room).Emit(req.Event, data); err != nil {
		if errors.Is(err, sio.ErrReservedEvent) {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		// The cluster adapter could not publish (Redis unreachable): the
		// local members got it, the other nodes did not.
		h.log.Warn("publish to the cluster failed", "room", req.Room, "err", err)
		httpError(w, http.StatusServiceUnavailable, "delivered on this node only: "+err.Error())
		return
	}
	// Members on this node: counting the cluster's would cost a request
	// to every node per publish.
	ids, _ := h.srv.Local().To(req.Room).AllSockets()
	h.log.Debug("publish", "room", req.Room, "event", req.Event, "count", len(ids))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"count": len(ids)})
}

// apiOrigin reports whether a browser origin may call the API.
func (h *hub) apiOrigin(origin string) bool {
	for _, o := range h.opts.apiOrigins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight of the API: allowed origins get what
// a POST with a JSON body and a token needs; others a 403, so the browser
// never sends the request.
func (h *hub) preflight(w http.ResponseWriter, r *http.Request, origin string, ok bool) {
	w.Header().Set("Allow", "POST, OPTIONS")
	if origin == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Add("Vary", "Origin")
	if !ok {
		httpError(w, http.StatusForbidden, "this origin may not publish (see -api-cors)")
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// loopback reports whether a remote address (host:port) is a loopback
// one. Proxy headers are not read: behind a proxy on this host, everyone
// is loopback, so set -token there.
func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// publishWithAck broadcasts and collects the members' acknowledgements.
func (h *hub) publishWithAck(w http.ResponseWriter, r *http.Request, req publishRequest, data any) {
	timeout := time.Duration(req.Timeout) * time.Millisecond
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	timeout = min(timeout, time.Minute)
	res, err := h.srv.To(req.Room).Timeout(timeout).EmitWithAck(r.Context(), req.Event, data)
	var ae *sio.AckError
	if err != nil && !errors.As(err, &ae) {
		if errors.Is(err, sio.ErrReservedEvent) {
			httpError(w, http.StatusBadRequest, err.Error())
			return
		}
		h.log.Warn("publish with ack to the cluster failed", "room", req.Room, "err", err)
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	out := publishAck{Count: len(res), Acks: make([][]json.RawMessage, len(res))}
	if err != nil {
		out.Error = err.Error()
	}
	for i, args := range res {
		out.Acks[i] = make([]json.RawMessage, len(args))
		for j, v := range args {
			if v.IsBinary() {
				out.Acks[i][j], _ = json.Marshal(v.Bytes())
			} else {
				out.Acks[i][j] = v.Raw()
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
