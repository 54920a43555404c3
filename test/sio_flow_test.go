package integration

import (
	"strconv"
	"testing"
	"time"
)

// The official client's offline buffer, flushed at connect: 2,000 and
// 10,000 emits (over polling, one POST) are all acknowledged, in order.
// Before the server paused reads while its handlers were behind, it cut
// the connection at 1,024 queued packets (417 of 2,000 acknowledged); the
// reference acknowledges them all.
func TestSIOBufferedEmits(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		for _, n := range []int{2000, 10000} {
			t.Run(transport+"/"+strconv.Itoa(n), func(t *testing.T) {
				s := startSIOWith(t, sioFixtureOptions{pingInterval: 25 * time.Second, pingTimeout: 20 * time.Second})
				res := runSIO(t, s, "sio/buffered.mjs", "--transport", transport, "--count", strconv.Itoa(n))
				if got := int(res.Num("acked")); got != n {
					t.Errorf("%d of %d emits acknowledged", got, n)
				}
			})
		}
	}
}
