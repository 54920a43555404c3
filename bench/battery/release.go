package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

// release: sockets that held memory (connections, and a backlog each while
// they did not read) disconnect; how much of it the server returns to the
// OS, and when, while it stays idle. The issue: freed memory stayed in RSS
// for minutes on an idle server.
func release(c *config, name string) ([]result, error) {
	const clients, pubs, size = 8000, 300, 1000
	srv, addr, err := c.startServer(name, false)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	base := loadgen.ProcRSS(srv.PID)
	ws := make([]*wsClient, 0, clients)
	defer func() {
		for _, w := range ws {
			w.close()
		}
	}()
	for i := 0; i < clients; i++ {
		w, err := dialWS(addr, 0)
		if err != nil {
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
		if err := w.join("r"); err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	// A backlog each: the clients read nothing while the publisher sends.
	pub, err := startPublisher(addr, pubs*10, size)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Duration(float64(time.Second) * float64(pubs) / float64(pubs*10)))
	pub.Stop()
	time.Sleep(2 * time.Second)
	peak := loadgen.ProcRSS(srv.PID)
	// Read it all, then disconnect every client.
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func(w *wsClient) {
			defer wg.Done()
			_ = w.c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for n := 0; n < pubs; {
				p, err := w.next()
				if err != nil {
					return
				}
				if len(p) > 8 && string(p[:8]) == `42["msg"` {
					n++
				}
			}
		}(w)
	}
	wg.Wait()
	loaded := loadgen.ProcRSS(srv.PID)
	for _, w := range ws {
		w.close()
	}
	ws = nil
	for sockets(addr) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	v := map[string]any{"clients": clients, "rss_before_mib": round(mib(base), 1), "rss_peak_mib": round(mib(peak), 1),
		"rss_loaded_mib": round(mib(loaded), 1)}
	for _, at := range []time.Duration{time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second, 60 * time.Second, 120 * time.Second} {
		time.Sleep(time.Until(start.Add(at)))
		v[fmt.Sprintf("rss_idle_%ds_mib", int(at.Seconds()))] = round(mib(loadgen.ProcRSS(srv.PID)), 1)
	}
	return []result{{Scenario: "release", Server: name, Values: v,
		Params: map[string]any{"pubs_while_not_reading": pubs, "payload": size}}}, nil
}
