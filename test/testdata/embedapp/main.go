// Command embedapp is what test/embed_test.go builds in a fresh module that
// requires github.com/fanio/fanio: a net/http application with fanio
// mounted on its ServeMux beside its own routes, as a user would write it.
//
//	embedapp [-tls-cert cert.pem -tls-key key.pem]
//
// It prints "listening <host:port>" once it serves, and shuts down (fanio
// first, then the HTTP server) on SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/fanio/fanio/sio"
)

func main() {
	certFile := flag.String("tls-cert", "", "certificate (PEM)")
	keyFile := flag.String("tls-key", "", "key (PEM)")
	flag.Parse()

	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("echo", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
		s.On("transport", func(s *sio.Socket, _ sio.Args, ack sio.Ack) {
			if ack != nil {
				_ = ack(s.Transport())
			}
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello from the app")
	})
	mux.HandleFunc("/debug/goroutines", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, runtime.NumGoroutine())
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() {
		if *certFile != "" {
			served <- hs.ServeTLS(ln, *certFile, *keyFile)
		} else {
			served <- hs.Serve(ln)
		}
	}()
	fmt.Println("listening", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case err := <-served:
		log.Fatal(err)
	case <-sig:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	if err := hs.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
}
