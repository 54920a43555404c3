package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// node is the Node.js toolchain and test/node, ready (npm ci done).
var node *Node

// TestMain makes sure node, npm and test/node/node_modules are there before
// any test runs. A missing toolchain is a failure, not a skip: these tests
// are how compatibility with the official clients is judged.
func TestMain(m *testing.M) {
	execWithNofileLimit() // when re-executed as a wrapper (fdlimit_test.go)
	n, err := FindNode()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: FAIL:", err)
		os.Exit(1)
	}
	v, err := n.Version()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: FAIL: %s --version: %v\n", n.Node, err)
		os.Exit(1)
	}
	if major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v, "v"), ".", 2)[0]); major < 18 {
		fmt.Fprintf(os.Stderr, "integration: FAIL: node %s is too old (need 18+)\n", v)
		os.Exit(1)
	}
	if err := n.EnsureDeps(os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "integration: FAIL:", err)
		os.Exit(1)
	}
	node = n
	os.Exit(m.Run())
}
