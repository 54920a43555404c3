package main

// The chat in headless Chromium: two pages, over the default transports
// (polling, then the upgrade to WebSocket) and over polling only. Every
// assertion is on what the pages show. Screenshots go to
// integration.ArtifactsDir (see test/README.md). With
// FANIO_IT_SERVER=reference the same test runs against the npm socket.io
// server.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	integration "github.com/fanio/fanio/test"
)

var node *integration.Node

// TestMain makes sure node, npm, test/node's packages (playwright-core,
// socket.io-client) are there: missing, the tests fail, never skip.
func TestMain(m *testing.M) {
	n, err := integration.FindNode()
	if err == nil {
		err = n.EnsureDeps(os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat: FAIL:", err)
		os.Exit(1)
	}
	node = n
	os.Exit(m.Run())
}

// startChat runs the example's main loop (as `go run ./examples/chat`
// would, with the flags given) until the test ends. With
// FANIO_IT_SERVER=reference it runs the npm socket.io version of the chat
// (test/node/chat/reference-chat.mjs) on the same page instead.
func startChat(t *testing.T, args ...string) string {
	t.Helper()
	switch s := os.Getenv("FANIO_IT_SERVER"); s {
	case "", "fanio":
	case "reference":
		public, err := filepath.Abs("public")
		if err != nil {
			t.Fatal(err)
		}
		ref, err := node.StartFixture("chat/reference-chat.mjs", "--public", public)
		if err != nil {
			t.Fatalf("reference chat: %v", err)
		}
		t.Cleanup(ref.Stop)
		return "http://" + ref.HostPort()
	default:
		t.Fatalf("FANIO_IT_SERVER=%q: want fanio or reference", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, testLog{t}, func(a string) { addrc <- a }) }()
	select {
	case a := <-addrc:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("chat server: %v", err)
			}
		})
		return "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("chat server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("chat server did not start within 30s")
	}
	return ""
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestChatInBrowser(t *testing.T) {
	dist := filepath.Join(node.Dir, "node_modules", "socket.io-client", "dist")
	for _, tc := range []struct {
		name, query, transport string
	}{
		{"default", "", "websocket"}, // polling first, then the upgrade
		{"polling", "?transports=polling", "polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := startChat(t, "-addr", "127.0.0.1:0", "-client-dir", dist)
			b := node.BrowserT(t, integration.BrowserOptions{})
			chatScenario(t, b, base+"/"+tc.query, tc.transport)
			for _, l := range b.Logs() {
				if strings.Contains(l, "pageerror") {
					t.Errorf("page error: %s", l)
				}
			}
		})
	}
}

func chatScenario(t *testing.T, b *integration.Browser, url, transport string) {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alice, err := b.NewPage(url)
	must(err)
	bob, err := b.NewPage(url)
	must(err)
	// Both connect before logging in (the socket opens with the page).
	must(alice.WaitText("#status", "connected ("))
	must(bob.WaitText("#status", "connected ("))

	// Log in, one after the other: each sees the other's join notice (bob's
	// page gets alice's while it still shows the login form) and the count.
	must(alice.Fill("#name", "alice"))
	must(alice.Press("#name", "Enter"))
	must(alice.WaitText("#log .notice", "Welcome to fanio chat, alice"))
	must(alice.WaitText("#count", "1 user online"))
	must(bob.Fill("#name", "bob"))
	must(bob.Click("#join"))
	must(bob.WaitText("#log .notice", "Welcome to fanio chat, bob"))
	must(bob.WaitText("#log .notice", "alice joined"))
	must(bob.WaitText("#count", "2 users online"))
	must(alice.WaitText("#log .notice", "bob joined"))
	must(alice.WaitText("#count", "2 users online"))
	must(alice.WaitText("#transport", transport))
	must(bob.WaitText("#transport", transport))

	// Messages both ways; text stays text.
	must(alice.Type("#message", "hello bob"))
	must(alice.Press("#message", "Enter"))
	must(bob.WaitText("#log .message", "hello bob"))
	must(bob.WaitText("#log .message .user", "alice"))
	must(alice.WaitText("#log .message.own", "hello bob"))
	must(bob.Type("#message", "hi alice <b>é✓</b>"))
	must(bob.Click("#send"))
	must(alice.WaitText("#log .message .body", "hi alice <b>é✓</b>"))

	// Typing: everything #typing shows on alice's page is recorded, so the
	// indicator is seen however briefly it lasts; it goes when bob sends.
	must(alice.Eval(`(() => {
		const el = document.getElementById("typing");
		window.typingSeen = [];
		new MutationObserver(() => window.typingSeen.push(el.textContent))
			.observe(el, { childList: true, characterData: true, subtree: true });
		return true;
	})()`, nil))
	must(bob.Type("#message", "typing this"))
	must(alice.WaitFor(`window.typingSeen.some((t) => t.startsWith("bob is typing"))`))
	must(bob.Press("#message", "Enter"))
	must(alice.WaitText("#log .message .body", "typing this"))
	must(alice.WaitNoText("#typing", "bob is typing"))

	dir := integration.ArtifactsDir(t)
	must(alice.Screenshot(filepath.Join(dir, "alice.png")))
	must(bob.Screenshot(filepath.Join(dir, "bob.png")))

	// Bob leaves: alice sees it and the count drops.
	must(bob.Click("#leave"))
	must(alice.WaitText("#log .notice", "bob left"))
	must(alice.WaitText("#count", "1 user online"))
	must(bob.WaitText("#status", "disconnected"))
	must(bob.WaitText("#login-form h1", "What's your name?"))
	// Carol closes her tab instead: the connection's end is her leaving.
	carol, err := b.NewPage(url)
	must(err)
	must(carol.WaitText("#status", "connected ("))
	must(carol.Fill("#name", "carol"))
	must(carol.Press("#name", "Enter"))
	must(alice.WaitText("#log .notice", "carol joined"))
	must(alice.WaitText("#count", "2 users online"))
	must(carol.Close())
	must(alice.WaitText("#log .notice", "carol left"))
	must(alice.WaitText("#count", "1 user online"))
	must(alice.Screenshot(filepath.Join(dir, "alice-after-bob-left.png")))
	t.Logf("screenshots in %s", dir)
}
