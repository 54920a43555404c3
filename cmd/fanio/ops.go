package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/sio"
)

// health answers /healthz and /readyz.
//
// /healthz: the process is alive and serving HTTP (200 "ok"); a server
// whose loops died exits instead (see run).
//
// /readyz: it should be sent clients — 200 when the server listens, is not
// draining for a shutdown, and its cluster adapter (if any) reaches the
// other nodes; 503 otherwise. The answer's JSON says which check failed.
type health struct {
	srv       *sio.Server
	listening atomic.Bool
	draining  atomic.Bool
}

type readiness struct {
	Ready     bool   `json:"ready"`
	Listening bool   `json:"listening"`
	Draining  bool   `json:"draining"`
	Adapter   string `json:"adapter"` // "local", "connected" or "disconnected"
}

func (h *health) ready() readiness {
	r := readiness{Listening: h.listening.Load(), Draining: h.draining.Load(), Adapter: "local"}
	adapterOK := true
	if h.srv != nil {
		if a, ok := h.srv.Sockets().Adapter().(sio.AdapterStatser); ok {
			if a.AdapterStats().Connected {
				r.Adapter = "connected"
			} else {
				r.Adapter, adapterOK = "disconnected", false
			}
		}
	}
	r.Ready = r.Listening && !r.Draining && adapterOK
	return r
}

func (h *health) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (h *health) readyz(w http.ResponseWriter, r *http.Request) {
	rd := h.ready()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rd.Ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rd)
}

func (h *health) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /readyz", h.readyz)
}

// serveAside serves h on its own listener at addr until ctx ends (for
// -metrics-addr and -pprof); it returns once listening.
func serveAside(ctx context.Context, addr string, h http.Handler, log *slog.Logger, what string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error(what+" stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Info(what+" listening", "addr", ln.Addr().String())
	return ln.Addr(), nil
}

// pprofHandler serves net/http/pprof (on its own mux: nothing else sees it).
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// loopbackAddr refuses an address that is not on a loopback interface:
// profiles and traces tell much about a process, and cost it CPU.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address (use 127.0.0.1:PORT or [::1]:PORT)", addr)
	}
	return nil
}

// adminUI serves the Admin UI's built files (ui/dist) at /admin/.
func adminUI(dir string) (http.Handler, error) {
	fsys := os.DirFS(dir)
	if _, err := iofs.Stat(fsys, "index.html"); err != nil {
		return nil, fmt.Errorf("%s has no index.html (want @socket.io/admin-ui's ui/dist directory)", dir)
	}
	files := http.FileServerFS(fsys)
	return http.StripPrefix("/admin", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The UI is a static single page; it may load nothing from
		// elsewhere but the fonts and icons it names.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		files.ServeHTTP(w, r)
	})), nil
}
