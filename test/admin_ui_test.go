package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// bcrypt("changeit"), the reference's own test vector.
const adminHash = "$2b$10$nu1FHRkuxkZkqID.31gz4uQsyERZAn.m4IIruysTsHDODBtrqS5Me"

var listeningRE = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)

// The official Admin UI (@socket.io/admin-ui 0.5.1's ui/dist, served by
// cmd/fanio at /admin/) against cmd/fanio in headless Chromium: log in,
// see the connected sockets and a room, disconnect a socket from the UI;
// screenshots of each step go to the artifacts directory.
func TestAdminUIInBrowser(t *testing.T) {
	if backend() == backendReference {
		t.Skip("the UI's server here is cmd/fanio (TestAdminProtocolShapes compares with the reference)")
	}
	dist := filepath.Join(repoRoot(), "test", "node", "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	p := startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0", "-log-level", "debug",
		"-admin-user", "admin", "-admin-password-hash", adminHash, "-admin-ui-dir", dist, "-admin-mode", "development")

	// Three clients; the first joins "vip".
	users := make([]*siotest.Client, 3)
	sids := make([]string, 3)
	for i := range users {
		users[i] = siotest.Dial(t, p.addr)
		users[i].Wait = 20 * time.Second
		sids[i] = users[i].Connect("/", "")
	}
	users[0].Send(`21["join","vip"]`)
	users[0].ExpectPrefix(`31[[`)

	dir := ArtifactsDir(t)
	for _, old := range []string{"dashboard.png", "sockets.png", "rooms.png", "disconnected-socket.png", "after-disconnect.png", "failure-page1.png"} {
		_ = os.Remove(filepath.Join(dir, old))
	}
	b := node.BrowserT(t, BrowserOptions{StepTimeout: 30 * time.Second})
	page, err := b.NewPage("http://" + p.addr + "/admin/")
	check(t, err)
	// shot waits for the UI's transitions to end, then saves the page.
	shot := func(name string) {
		t.Helper()
		check(t, page.WaitFor(`document.getAnimations().every((a) => a.playState !== "running")`))
		check(t, page.Screenshot(filepath.Join(dir, name)))
	}
	field := func(label string) string {
		return fmt.Sprintf(`.v-dialog .v-text-field:has(label:text-is(%q)) input`, label)
	}
	check(t, page.WaitText(".v-dialog .v-card__title", "Connection"))
	// A wrong password is refused with the reference's message.
	check(t, page.Fill(field("Server URL"), "http://"+p.addr))
	check(t, page.Fill(field("Username"), "admin"))
	check(t, page.Fill(field("Password"), "wrong"))
	check(t, page.Click(`.v-dialog button[type=submit]`))
	check(t, page.WaitText(".v-dialog", "nvalid credentials"))
	check(t, page.Fill(field("Password"), "changeit"))
	check(t, page.Click(`.v-dialog button[type=submit]`))
	check(t, page.WaitFor(`![...document.querySelectorAll(".v-dialog")].some((d) => d.checkVisibility())`))
	// The dashboard shows the namespaces of this server's server_stats.
	check(t, page.WaitText("table", "/admin"))
	shot("dashboard.png")

	// (The navigation drawer is folded at this width: go by the hash
	// router.)
	nav := func(hash string) { check(t, page.Eval(`location.hash = "`+hash+`"`, nil)) }
	nav("#/sockets/")
	for _, sid := range sids {
		check(t, page.WaitText("table", sid))
	}
	shot("sockets.png")

	nav("#/rooms/")
	check(t, page.WaitText("table", "vip"))
	shot("rooms.png")

	// Disconnect the second socket from its row's button.
	nav("#/sockets/")
	check(t, page.WaitText("table", sids[1]))
	check(t, page.Click(fmt.Sprintf(`tr:has-text(%q) button`, sids[1])))
	users[1].Expect(`1`)
	// (The click also reaches the row, which opens the socket's page: it
	// shows the socket disconnected; the list no longer has it.)
	check(t, page.WaitText("body", "disconnected"))
	shot("disconnected-socket.png")
	nav("#/sockets/")
	check(t, page.WaitNoText("table", sids[1]))
	check(t, page.WaitText("table", sids[0]))
	shot("after-disconnect.png")
	t.Logf("screenshots in %s", dir)

	// The UI kept its session id: a reload logs in without the password.
	check(t, page.Goto("http://"+p.addr+"/admin/#/sockets/"))
	check(t, page.WaitText("table", sids[2]))
	if out := p.out.String(); strings.Count(out, "admin: login ") != 1 {
		t.Errorf("want exactly one password login in the log:\n%s", out)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("fanio exited with %v", err)
	}
}

// A web page of another origin cannot publish through the hub's API: its
// text/plain POST (sent without a preflight) is refused for its content
// type and origin, its JSON POST never leaves the browser (the preflight
// is refused); a backend on loopback still publishes.
func TestPublishAPIFromAWebPage(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	p := startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0")
	u := siotest.Dial(t, p.addr)
	u.Connect("/", "")
	u.Send(`21["join","news"]`)
	u.ExpectPrefix(`31[[`)

	api := "http://" + p.addr + "/api/publish"
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><p id="out">running</p><script>
const api = %q;
const body = JSON.stringify({room: "news", event: "pwned", data: 1});
const results = [];
(async () => {
  try { const r = await fetch(api, {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body}); results.push("text:" + r.type); } catch (e) { results.push("text:error"); }
  try { const r = await fetch(api, {method: "POST", headers: {"Content-Type": "application/json"}, body}); results.push("json:" + r.status); } catch (e) { results.push("json:blocked"); }
  try { const f = document.createElement("form"); } catch (e) {}
  document.getElementById("out").textContent = "done " + results.join(" ");
})();
</script>`, api)
	}))
	defer page.Close()
	b := node.BrowserT(t, BrowserOptions{})
	pg, err := b.NewPage(page.URL)
	check(t, err)
	check(t, pg.WaitText("#out", "done"))
	txt, _ := pg.Text("#out")
	if !strings.Contains(txt, "json:blocked") {
		t.Errorf("the page's JSON POST was not blocked by the preflight: %s", txt)
	}
	u.ExpectNothing(500 * time.Millisecond)

	// A backend on loopback publishes (JSON, no token needed there).
	resp, err := http.Post(api, "application/json", strings.NewReader(`{"room":"news","event":"headline","data":2}`))
	check(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("loopback publish: %d", resp.StatusCode)
	}
	u.Expect(`2["headline",2]`)
	if out := p.out.String(); !strings.Contains(out, "publish refused: a browser origin") {
		t.Errorf("the refused page request is not in the log:\n%s", out)
	}
}
