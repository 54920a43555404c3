package redisadapter

import (
	"testing"

	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/rediswire"
	"github.com/fanio/fanio/sio"
)

// classicMessage encodes a broadcast as another node would.
func classicMessage(tb testing.TB, rooms []string) []byte {
	p, err := sio.NewEventPacket("/", "tick", []any{"payload", 42, map[string]any{"k": []byte{1, 2}}})
	if err != nil {
		tb.Fatal(err)
	}
	b := msgpack.AppendArrayHeader(nil, 3)
	b = msgpack.AppendString(b, "other1")
	if b, err = rediswire.AppendClassicPacket(b, p, "/"); err != nil {
		tb.Fatal(err)
	}
	return rediswire.AppendOpts(b, &sio.BroadcastOptions{Rooms: rooms}, true)
}

// The receive path allocates what the packet is made of (its JSON text,
// attachment list, the Packet, the options) and nothing that grows with
// the message's contents or rooms.
func TestReceiveAllocs(t *testing.T) {
	ca, sa := offlineAdapters(t)
	var prev float64
	for _, rooms := range [][]string{{"a"}, {"a", "b", "c", "d", "e", "f"}} {
		msg := classicMessage(t, rooms)
		allocs := testing.AllocsPerRun(200, func() {
			if err := ca.handleBroadcast(msg); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("classic, %d rooms: %.0f allocations per message", len(rooms), allocs)
		// (the race detector's instrumentation may add one)
		if allocs > 8 || (prev > 0 && (allocs > prev+1 || allocs < prev-1)) {
			t.Errorf("classic, %d rooms: %.0f allocations per message", len(rooms), allocs)
		}
		prev = allocs
	}
	js := []byte(`{"type":3,"data":{"packet":{"type":2,"data":["tick","payload",42]},"opts":{"rooms":["a","b","c"],"except":[],"flags":{}}},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`)
	allocs := testing.AllocsPerRun(200, func() { sa.onRaw(sa.channel, js) })
	t.Logf("sharded JSON: %.0f allocations per message", allocs)
	if allocs > 7 {
		t.Errorf("sharded: %.0f allocations per message", allocs)
	}
}

// BenchmarkReceive measures the decoding of one received broadcast (no
// local member: the cost before delivery).
func BenchmarkReceive(b *testing.B) {
	ca, sa := offlineAdapters(b)
	msg := classicMessage(b, []string{"r"})
	js := []byte(`{"type":3,"data":{"packet":{"type":2,"data":["tick","payload",42]},"opts":{"rooms":["r"],"except":[],"flags":{}}},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`)
	b.Run("classic-msgpack", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = ca.handleBroadcast(msg)
		}
	})
	b.Run("sharded-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sa.onRaw(sa.channel, js)
		}
	})
}
