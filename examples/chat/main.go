// Command chat is the well-known Socket.IO chat demo on fanio: log in with
// a name, talk, see who is typing, who joins and leaves, and how many are
// here. The page (public/, written for this example) and the
// socket.io-client bundle are served from the same port as Socket.IO.
//
//	go run ./examples/chat                      # then open http://127.0.0.1:3000
//	go run ./examples/chat -addr :8080 -client-dir path/to/socket.io-client/dist
//
// Flags:
//
//	-addr        listen address (default 127.0.0.1:3000; ":3000" for every interface)
//	-client-dir  socket.io-client's dist directory, served at /socket.io/socket.io.js
//	             (default: the first of node_modules/socket.io-client/dist and
//	             test/node/node_modules/socket.io-client/dist that exists, from
//	             the working directory or the repository)
//
// The page takes ?transports=polling (or websocket, or polling,websocket)
// to choose the client's transports.
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/fanio/fanio/sio"
)

//go:embed public
var public embed.FS

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// run serves the chat until ctx ends; ready, if set, gets the bound address.
func run(ctx context.Context, args []string, logw io.Writer, ready func(addr string)) error {
	flags := flag.NewFlagSet("chat", flag.ContinueOnError)
	flags.SetOutput(logw)
	addr := flags.String("addr", "127.0.0.1:3000", "listen address (host:port)")
	clientDir := flags.String("client-dir", "", "socket.io-client's dist directory (default: node_modules/socket.io-client/dist or test/node/node_modules/socket.io-client/dist, whichever exists)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	dir, err := findClientDir(*clientDir)
	if err != nil {
		return err
	}
	page, _ := fs.Sub(public, "public")

	c := &chat{}
	srv := sio.NewServer(sio.Options{
		NotFound:    http.FileServerFS(page), // everything outside /socket.io/ is the page
		ServeClient: os.DirFS(dir),
		Logger:      log,
	})
	srv.OnConnection(c.onConnection)
	if err := srv.Start(*addr); err != nil {
		return err
	}
	log.Info("chat: listening", "url", "http://"+srv.Addr().String()+"/", "client", dir)
	if ready != nil {
		ready(srv.Addr().String())
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// findClientDir returns dir if it holds the client bundle or, with dir
// empty, the first candidate that does.
func findClientDir(dir string) (string, error) {
	holds := func(d string) bool {
		_, err := os.Stat(filepath.Join(d, "socket.io.min.js"))
		return err == nil
	}
	if dir != "" {
		if !holds(dir) {
			return "", fmt.Errorf("-client-dir %s: no socket.io.min.js there (want socket.io-client's dist directory)", dir)
		}
		return dir, nil
	}
	candidates := []string{
		filepath.Join("node_modules", "socket.io-client", "dist"),
		filepath.Join("test", "node", "node_modules", "socket.io-client", "dist"),
	}
	if _, file, _, ok := runtime.Caller(0); ok { // run from elsewhere in the repository
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "test", "node", "node_modules", "socket.io-client", "dist"))
	}
	for _, d := range candidates {
		if holds(d) {
			return filepath.Clean(d), nil
		}
	}
	return "", errors.New("no socket.io-client bundle found: run `npm ci` in test/node (or `npm install socket.io-client` here), " +
		"or pass -client-dir with socket.io-client's dist directory")
}
