package sio

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
)

// Every Engine.IO setting is a field of sio.Options, with the same name
// and type, and reaches the engine; the effective options come back.
func TestOptionsMirrorEngineOptions(t *testing.T) {
	et, st := reflect.TypeOf(engine.Options{}), reflect.TypeOf(Options{})
	for i := 0; i < et.NumField(); i++ {
		ef := et.Field(i)
		sf, ok := st.FieldByName(ef.Name)
		if !ok || sf.Type != ef.Type {
			t.Errorf("sio.Options lacks engine.Options.%s (%s)", ef.Name, ef.Type)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(Options{PingInterval: 7 * time.Second, CORS: &CORS{Origins: []string{"*"}}, MaxPayload: 123, Logger: log})
	defer srv.Shutdown(context.Background())
	eo := srv.Engine().Options()
	if eo.PingInterval != 7*time.Second || eo.MaxPayload != 123 || eo.CORS == nil || eo.Logger != log {
		t.Fatalf("engine options %+v do not carry sio's", eo)
	}
	if eo.Path != "/socket.io/" || eo.PingTimeout != 20*time.Second {
		t.Fatalf("engine defaults: path %q, ping timeout %v", eo.Path, eo.PingTimeout)
	}
	so := srv.Options()
	if so.Path != "/socket.io/" || so.PingTimeout != 20*time.Second || so.ConnectTimeout != 45*time.Second || so.Logger != log {
		t.Fatalf("effective sio options %+v", so)
	}
}
