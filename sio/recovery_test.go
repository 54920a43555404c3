package sio

import (
	"bytes"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

func TestRecoveryStore(t *testing.T) {
	var gen offsetGen
	gen.init()
	r := newRecoveryStore(time.Minute, &gen)
	pkt := func(n string) *Packet {
		p, _ := buildPacket(codec.SIOEvent, "/", "m", []any{n})
		return p
	}
	first := r.record(pkt("1"), &BroadcastOptions{})
	offset := string(first.Data[len(`["m","1","`) : len(first.Data)-2])
	r.record(pkt("2"), &BroadcastOptions{Rooms: []Room{"a"}})
	r.record(pkt("3"), &BroadcastOptions{Rooms: []Room{"b"}})
	r.record(pkt("4"), &BroadcastOptions{Except: []Room{"a"}})
	r.record(pkt("5"), &BroadcastOptions{})
	now := time.Now()
	r.persist(&PersistedSession{SID: "s", PID: "p", Rooms: []Room{"s", "a"}, DisconnectedAt: now})
	if got := r.restore("nope", offset, now); got != nil {
		t.Fatal("unknown pid restored")
	}
	got := r.restore("p", offset, now)
	if got == nil {
		t.Fatal("not restored")
	}
	var names []string
	for _, p := range got.MissedPackets {
		names = append(names, string(p.Data[len(`["m","`):len(`["m","`)+1]))
	}
	if want := "2,5"; join(names) != want {
		t.Fatalf("missed %v, want %s", names, want)
	}
	if r.restore("p", offset, now) != nil {
		t.Fatal("a session restored twice")
	}
	// expired session, unknown offset
	r.persist(&PersistedSession{SID: "s", PID: "old", DisconnectedAt: now.Add(-2 * time.Minute)})
	if r.restore("old", offset, now) != nil {
		t.Fatal("expired session restored")
	}
	r.persist(&PersistedSession{SID: "s", PID: "q", DisconnectedAt: now})
	if r.restore("q", gen.prefix+"zzzz", now) != nil {
		t.Fatal("unknown offset restored")
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}
