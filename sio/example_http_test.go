package sio_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/fanio/fanio/sio"
)

// Mounting the server on a net/http ServeMux beside other routes: no other
// call is needed. (A program would call http.ListenAndServe(":3000", mux);
// the example serves mux on a test server to show an answer.) Polling is
// served on net/http's goroutines; WebSocket connections are moved to
// fanio's event loops and hold no goroutine.
func ExampleServer_ServeHTTP() {
	srv := sio.NewServer(sio.Options{})
	srv.OnConnection(func(s *sio.Socket) {
		s.On("hello", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			_ = s.Emit("hello", "world")
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })

	ts := httptest.NewServer(mux) // http.ListenAndServe(":3000", mux)
	defer ts.Close()
	defer srv.Shutdown(context.Background()) // before the net/http server's: answers held polls

	for _, path := range []string{"/health", "/socket.io/?EIO=4&transport=polling"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%s: %d %.1s\n", path, resp.StatusCode, body) // an Engine.IO open packet starts with 0
	}
	// Output:
	// /health: 200 o
	// /socket.io/?EIO=4&transport=polling: 200 0
}

// Serving TLS (wss:// and https polling) on the server's own listener:
// ListenAndServeTLS with certificate files, or Serve with a TLS listener.
// TLS connections are served on a goroutine each (the event loops have no
// TLS).
func ExampleServer_Serve_tls() {
	cert := selfSignedCert() // in a program: tls.LoadX509KeyPair("cert.pem", "key.pem")

	srv := sio.NewServer(sio.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	go srv.Serve(tls.NewListener(ln, cfg)) // or srv.ListenAndServeTLS(":443", "cert.pem", "key.pem")
	defer srv.Shutdown(context.Background())

	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get("https://" + ln.Addr().String() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%d %.1s\n", resp.StatusCode, body)
	// Output: 200 0
}

// Shutdown disconnects every socket ("server shutting down"), stops the
// listeners and makes ListenAndServe and Serve return http.ErrServerClosed.
// Any other return means the server could not go on: a program should exit
// with an error then.
func ExampleServer_Shutdown() {
	srv := sio.NewServer(sio.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // or srv.ListenAndServe(":3000")

	// ... on SIGTERM (signal.NotifyContext):
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
	}
	err = <-served
	fmt.Println(errors.Is(err, http.ErrServerClosed))
	// Output: true
}

// selfSignedCert makes a throwaway certificate for 127.0.0.1.
func selfSignedCert() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}
