package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The MessagePack vectors internal/msgpack is tested against are what the
// pinned notepack.io (the codec of @socket.io/redis-adapter) produces
// today: regenerate them and compare with the committed file.
func TestMsgpackVectorsMatchNotepack(t *testing.T) {
	res := node.RunScript(context.Background(), 30*time.Second, "msgpack-vectors.mjs")
	if res.Err != nil && res.ExitCode != 0 {
		t.Fatalf("generator failed:\n%s", res)
	}
	want, err := os.ReadFile(filepath.Join(node.Dir, "..", "..", "internal", "msgpack", "testdata", "notepack.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != string(want) {
		t.Fatalf("internal/msgpack/testdata/notepack.json is stale: run\n  (cd test/node && node msgpack-vectors.mjs > ../../internal/msgpack/testdata/notepack.json)")
	}
}
