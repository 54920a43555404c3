package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	integration "github.com/fanio/fanio/test"
)

// The scenarios driven by the official npm clients (test/node).

func findNode() (*integration.Node, error) {
	n, err := integration.FindNode()
	if err != nil {
		return nil, err
	}
	return n, n.EnsureDeps(&logWriter{})
}

type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) {
	logf("%s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// buffered: the official client's offline buffer flushed in one polling
// POST. The issue: 2,000 buffered emits got 417 acknowledgements, then
// "transport close" (cut at 1,024 queued packets); the reference
// acknowledges them all.
func buffered(c *config, name string) ([]result, error) {
	n, err := findNode()
	if err != nil {
		return nil, err
	}
	var out []result
	for _, count := range []int{2000, 10000} {
		srv, addr, err := c.startServer(name, false)
		if err != nil {
			return out, err
		}
		res := n.RunScript(context.Background(), 2*time.Minute, "sio/buffered.mjs", "--url", "http://"+addr,
			"--path", "/socket.io/", "--transport", "polling", "--count", strconv.Itoa(count), "--event", "echo", "--timeout", "90000")
		srv.Stop()
		v := map[string]any{"emits": count, "acked": int(max(0, res.Num("acked"))), "ok": res.OK()}
		if ms := res.Num("ms"); ms >= 0 {
			v["ms"] = ms
		}
		r := result{Scenario: "buffered", Server: name, Values: v, Params: map[string]any{"transport": "polling"}}
		if !res.OK() {
			r.Notes = append(r.Notes, strings.TrimSpace(res.Str("error")))
		}
		out = append(out, r)
	}
	return out, nil
}

// jitter: 1,000 official clients over 4 Node processes behind a proxy that
// resets each connection after 2-8 s, a publisher sending 20 numbered
// events per second to their room for 60 s: with connection state
// recovery, with every event once and in order; without, the delivery
// rate.
func jitter(c *config, name string) ([]result, error) {
	n, err := findNode()
	if err != nil {
		return nil, err
	}
	clients, procs, d := 1000, 4, c.dur(60*time.Second)
	if c.quick {
		clients, procs, d = 300, 2, c.dur(20*time.Second)
	}
	var out []result
	for _, recovery := range []bool{true, false} {
		srv, addr, err := c.startServer(name, recovery)
		if err != nil {
			return out, err
		}
		cpu0 := cpuSeconds(srv.PID)
		drain := 60 * time.Second
		if !recovery {
			drain = 10 * time.Second // waits only for the reconnections
		}
		res, err := n.RunJitter(context.Background(), integration.JitterConfig{
			Server: addr, Clients: clients, Procs: procs, Rate: 20, Duration: d,
			CutMin: 2 * time.Second, CutMax: 8 * time.Second, CutAfter: 2 * time.Second,
			Publish: "pub", Event: "msg", Room: "r", Drain: drain, Log: logWriter{}, Transports: c.transports,
		})
		cpu := cpuSeconds(srv.PID) - cpu0
		srv.Stop()
		if err != nil {
			return out, err
		}
		mode := map[bool]string{true: "recovery", false: "no recovery"}[recovery]
		out = append(out, result{Scenario: "jitter", Server: name,
			Params: map[string]any{"mode": mode, "clients": clients, "node_processes": procs, "seconds": d.Seconds(), "rate": 20, "cut_every_s": "2-8",
				"transports": map[bool]string{true: "websocket", false: "polling, then upgrade"}[c.transports == "websocket"]},
			Values: map[string]any{
				"mode": mode, "events": res.Events, "cuts": res.Cuts, "delivery_rate": round(res.DeliveryRate(), 5),
				"perfect_clients": res.Perfect, "duplicates": res.Duplicates, "out_of_order": res.OutOfOrder,
				"recovered": res.Recovered, "not_recovered": res.Unrecovered, "drained": res.Drained,
				"server_cpu_s": round(cpu, 1), "client_ping_timeouts": res.Reasons["ping timeout"],
			},
			Notes: []string{fmt.Sprintf("client disconnect reasons: %v", res.Reasons)},
		})
	}
	return out, nil
}
