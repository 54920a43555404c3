package sio

import (
	"net"
	"net/http"
)

// ServeHTTP makes the server an http.Handler, to mount on any net/http
// server, mux or framework, on its path (Options.Path, default
// "/socket.io/"):
//
//	srv := sio.NewServer(sio.Options{})
//	mux := http.NewServeMux()
//	mux.Handle("/socket.io/", srv)
//	http.ListenAndServe(":3000", mux)
//
// No other call is needed. Polling is served on the net/http server's
// goroutines; WebSocket connections are taken over and served on fanio's
// event loops, with no goroutine each (TLS ones on a goroutine each). See
// engine.Server.ServeHTTP for the details, and call Shutdown before the
// net/http server's own Shutdown.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.eng.ServeHTTP(w, r) }

// ListenAndServe listens on addr and serves until Shutdown (it then returns
// http.ErrServerClosed) or until the server cannot go on (it returns why).
// Requests outside the Socket.IO path go to Options.NotFound.
func (s *Server) ListenAndServe(addr string) error { return s.eng.ListenAndServe(addr) }

// ListenAndServeTLS is ListenAndServe over TLS, with the certificate and
// key in certFile and keyFile (PEM) and Options.TLSConfig. TLS
// connections are served on a goroutine each (see engine.Server).
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	return s.eng.ListenAndServeTLS(addr, certFile, keyFile)
}

// Serve serves on ln until Shutdown (http.ErrServerClosed) or until the
// server cannot go on; see ListenAndServe.
func (s *Server) Serve(ln net.Listener) error { return s.eng.Serve(ln) }
