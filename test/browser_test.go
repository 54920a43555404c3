package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// harnessPage echoes what is typed, counts key events and clicks, and
// shows a "busy" notice for as long as the button is held pressed.
const harnessPage = `<!doctype html><title>harness</title>
<input id="in"><button id="go">go</button>
<p id="echo"></p><p id="keys">0</p><p id="clicks">0</p>
<p id="hidden" style="display:none">secret</p>
<script>
const keys = document.getElementById("keys");
let n = 0, c = 0;
document.getElementById("in").addEventListener("keydown", (e) => {
  keys.textContent = ++n;
  if (e.key === "Enter") document.getElementById("echo").textContent = "sent: " + e.target.value;
});
document.getElementById("in").addEventListener("input", (e) => {
  document.getElementById("echo").textContent = "value: " + e.target.value;
});
document.getElementById("go").addEventListener("click", () => {
  document.getElementById("clicks").textContent = "clicks: " + ++c;
  console.log("clicked", c);
});
</script>`

func TestBrowserHarness(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, harnessPage)
	}))
	defer srv.Close()

	b := node.BrowserT(t, BrowserOptions{StepTimeout: 10 * time.Second})
	p, err := b.NewPage(srv.URL)
	check(t, err)
	check(t, p.Type("#in", "hello"))
	check(t, p.WaitText("#echo", "value: hello"))
	check(t, p.WaitText("#keys", "5"))
	check(t, p.Press("#in", "Enter"))
	check(t, p.WaitText("#echo", "sent: hello"))
	check(t, p.Fill("#in", "pasted"))
	check(t, p.WaitText("#echo", "value: pasted"))
	check(t, p.Click("#go"))
	check(t, p.Click("#go"))
	check(t, p.WaitText("#clicks", "clicks: 2"))
	txt, err := p.Text("#clicks")
	check(t, err)
	if txt != "clicks: 2" {
		t.Errorf("Text = %q", txt)
	}
	var sum int
	check(t, p.Eval("Promise.resolve(40 + 2)", &sum))
	if sum != 42 {
		t.Errorf("Eval = %d", sum)
	}
	check(t, p.WaitNoText("#echo", "hello"))
	check(t, p.WaitFor(`document.getElementById("clicks").textContent.endsWith("2")`))

	// Failures say what was there instead, within the step timeout.
	short := p.Timeout(time.Second)
	err = short.WaitText("#echo", "never")
	if err == nil || !strings.Contains(err.Error(), `value: pasted`) {
		t.Errorf("WaitText on missing text: %v", err)
	}
	if err := short.WaitText("#hidden", "secret"); err == nil {
		t.Error("WaitText matched an invisible element")
	}
	if err := short.WaitFor("false"); err == nil || !strings.Contains(err.Error(), "stayed false") {
		t.Errorf("WaitFor(false): %v", err)
	}
	if err := short.Click("#no-such-button"); err == nil {
		t.Error("Click on a missing element succeeded")
	}
	if _, err := b.NewPage("http://example.com/"); err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Errorf("a non-loopback page: %v", err)
	}

	// Two pages, one profile, independent documents.
	q, err := b.NewPage(srv.URL)
	check(t, err)
	check(t, q.Type("#in", "second"))
	check(t, q.WaitText("#echo", "value: second"))
	check(t, p.WaitText("#echo", "value: pasted"))

	shot := filepath.Join(ArtifactsDir(t), "harness.png")
	check(t, q.Screenshot(shot))
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 1000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	check(t, q.Close())
	if err := q.WaitText("#echo", "second"); err == nil {
		t.Error("a closed page still answers")
	}

	logs := strings.Join(b.Logs(), "\n")
	if !strings.Contains(logs, "page 1 console.log: clicked 2") {
		t.Errorf("console messages not logged:\n%s", logs)
	}
}

// A missing browser is an error (the test fails), never a skip.
func TestBrowserMissingChromium(t *testing.T) {
	_, err := node.StartBrowser(BrowserOptions{Chromium: filepath.Join(t.TempDir(), "chromium")})
	if err == nil || !strings.Contains(err.Error(), "chromium not found") {
		t.Fatalf("StartBrowser with no chromium: %v", err)
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
