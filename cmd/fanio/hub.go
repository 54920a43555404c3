package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/fanio/fanio/sio"
)

// hub is the server's behaviour: rooms clients join, and publishing from
// clients and from the HTTP API.
type hub struct {
	srv   *sio.Server
	token string
	log   *slog.Logger
	debug bool // log connects and disconnects (the logger's level is fixed at start)

	// The event handlers, as func values made once: a closure or method
	// value registered per socket would cost an allocation per socket and
	// handler, kept for the socket's life.
	join, leave, publish sio.EventHandler
	logDisconnect        func(*sio.Socket, sio.DisconnectReason)
}

func newHub(opts sio.Options, token string, log *slog.Logger) *hub {
	h := &hub{token: token, log: log, debug: log.Enabled(context.Background(), slog.LevelDebug)}
	h.join, h.leave, h.publish = h.onJoin, h.onLeave, h.onPublish
	h.logDisconnect = h.onDisconnect
	mux := http.NewServeMux()
	mux.HandleFunc("/api/publish", h.publishHTTP)
	opts.NotFound = mux
	h.srv = sio.NewServer(opts)
	h.srv.OnConnection(h.onConnection)
	return h
}

func (h *hub) onConnection(s *sio.Socket) {
	if h.debug {
		h.log.Debug("connect", "sid", s.ID(), "addr", s.Handshake().Address(), "transport", s.Transport())
		s.OnDisconnect(h.logDisconnect)
	}
	s.On("join", h.join).On("leave", h.leave).On("publish", h.publish)
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
}

// publishHTTP serves POST /api/publish.
func (h *hub) publishHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if h.token != "" {
		want := "Bearer " + h.token
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			httpError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
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

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
