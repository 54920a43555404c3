package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fanio/fanio/engine"
)

// echo sends every message back to its session. Its methods run on an
// event loop: they must not block.
type echo struct{}

func (echo) OnMessage(s *engine.Session, data []byte, binary bool) { _ = s.Send(data, binary) }
func (echo) OnClose(*engine.Session, engine.DisconnectReason)      {}

// An Engine.IO echo server, driven here over HTTP long-polling with
// net/http: the handshake, a POSTed message, and the poll that gets it back.
func Example() {
	srv := engine.NewServer(engine.Options{})
	srv.OnConnection(func(s *engine.Session) { s.SetHandler(echo{}) })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	url := "http://" + srv.Addr().String() + "/engine.io/?EIO=4&transport=polling"
	open := do("GET", url, "")
	var hs struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	_ = json.Unmarshal([]byte(open[1:]), &hs)
	fmt.Println("open packet:", open[:1], hs.Upgrades)
	fmt.Println("post:", do("POST", url+"&sid="+hs.SID, "4hello"))
	fmt.Println("poll:", do("GET", url+"&sid="+hs.SID, ""))
	// Output:
	// open packet: 0 [websocket]
	// post: ok
	// poll: 4hello
}

func do(method, url, body string) string {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
