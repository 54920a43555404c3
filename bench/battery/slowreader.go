package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

// publisher sends pub(payload) at rate per second until stopped: the
// fixtures broadcast "msg" to room "r" for each.
type publisher struct {
	w    *wsClient
	sent atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startPublisher(addr string, rate, size int) (*publisher, error) {
	w, err := dialWS(addr, 0)
	if err != nil {
		return nil, err
	}
	p := &publisher{w: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() { // read (pings) and drop
		for {
			if _, err := w.next(); err != nil {
				return
			}
		}
	}()
	pkt := []byte(`42["pub","` + strings.Repeat("x", size) + `"]`)
	go func() {
		defer close(p.done)
		start := time.Now()
		for n := 0; ; {
			select {
			case <-p.stop:
				return
			default:
			}
			due := int(time.Since(start).Seconds() * float64(rate))
			for ; n < due; n++ {
				if err := w.sendBytes(pkt); err != nil {
					return
				}
				p.sent.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return p, nil
}

func (p *publisher) Stop() int64 {
	close(p.stop)
	<-p.done
	p.w.close()
	return p.sent.Load()
}

// sockets asks the fixture how many sockets it holds.
func sockets(addr string) int64 {
	if s := loadgen.FetchStats("http://" + addr + "/stats"); s != nil {
		return s.Sockets
	}
	return -1
}

// slowReader: WebSocket members of a busy room that never read. The issue:
// each cost 10-11 MiB at peak against a documented 4 MiB cap (300 reached
// 3.2 GB).
func slowReader(c *config, name string) ([]result, error) {
	const readers, size = 100, 1000
	rate := 4000
	d := c.dur(20 * time.Second)
	srv, addr, err := c.startServer(name, false)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	var slow []*wsClient
	defer func() {
		for _, w := range slow {
			w.close()
		}
	}()
	for i := 0; i < readers; i++ {
		w, err := dialWS(addr, 4096)
		if err != nil {
			return nil, err
		}
		if err := w.join("r"); err != nil {
			return nil, err
		}
		slow = append(slow, w) // and never read again
	}
	healthy, err := dialWS(addr, 0)
	if err != nil {
		return nil, err
	}
	defer healthy.close()
	if err := healthy.join("r"); err != nil {
		return nil, err
	}
	var got atomic.Int64
	go func() {
		for {
			p, err := healthy.next()
			if err != nil {
				return
			}
			if strings.HasPrefix(string(p), `42["msg"`) {
				got.Add(1)
			}
		}
	}()
	time.Sleep(time.Second)
	base := loadgen.ProcRSS(srv.PID)
	rss := sampleRSS(srv.PID, 50*time.Millisecond)
	pub, err := startPublisher(addr, rate, size)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var cutAt time.Duration
	for time.Since(start) < d {
		time.Sleep(200 * time.Millisecond)
		if n := sockets(addr); cutAt == 0 && n >= 0 && n <= 2 { // the healthy member and the publisher
			cutAt = time.Since(start)
		}
	}
	sent := pub.Stop()
	peak := rss.Stop()
	time.Sleep(500 * time.Millisecond)
	left := sockets(addr) - 1 // the healthy member
	perReader := float64(peak-base) / readers
	v := map[string]any{
		"slow_readers":          readers,
		"published":             sent,
		"healthy_received":      got.Load(),
		"rss_base_mib":          round(mib(base), 1),
		"rss_peak_mib":          round(mib(peak), 1),
		"peak_per_reader_kib":   round(perReader/1024, 1),
		"slow_readers_left":     left,
		"all_cut_after_seconds": round(cutAt.Seconds(), 1),
	}
	r := result{Scenario: "slowreader", Server: name, Values: v,
		Params: map[string]any{"payload": size, "rate": rate, "duration_s": d.Seconds(), "rcvbuf": 4096}}
	r.Notes = append(r.Notes, fmt.Sprintf("peak RSS per slow reader %.0f KiB (budget 4096 KiB + 64 KiB)", perReader/1024))
	return []result{r}, nil
}

// pollBacklog: polling members of a busy room that never poll but post a
// pong every 5 s. The issue: 10 of them grew the server to 3.5 GB in 15 s
// and kept their sessions forever; the last poll then copied the backlog
// on the loop under the session lock (canaries' acks stalled 0.65-1.1 s).
func pollBacklog(c *config, name string) ([]result, error) {
	const members, size = 10, 1000
	rate := 2000
	d := c.dur(60 * time.Second)
	srv, addr, err := c.startServer(name, false)
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	var pcs []*pollClient
	for i := 0; i < members; i++ {
		p, err := newPollClient(addr)
		if err != nil {
			return nil, err
		}
		if err := p.join("r"); err != nil {
			return nil, err
		}
		pcs = append(pcs, p)
	}
	can, err := startCanary(addr, 10*time.Millisecond)
	if err != nil {
		return nil, err
	}
	time.Sleep(time.Second)
	base := loadgen.ProcRSS(srv.PID)
	rss := sampleRSS(srv.PID, 50*time.Millisecond)
	pub, err := startPublisher(addr, rate, size)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var mu sync.Mutex
	ended := map[int]time.Duration{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, p := range pcs {
		wg.Add(1)
		go func(i int, p *pollClient) { // the attack: pongs, never a poll
			defer wg.Done()
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				if err := p.post("3"); err != nil {
					mu.Lock()
					ended[i] = time.Since(start)
					mu.Unlock()
					return
				}
			}
		}(i, p)
	}
	for time.Since(start) < d {
		time.Sleep(250 * time.Millisecond)
		mu.Lock()
		n := len(ended)
		mu.Unlock()
		if n == members {
			break
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	// The members still there poll once: their backlog leaves in bounded
	// answers (fanio) or in one (the reference) while the canary runs.
	var answer atomic.Int64
	for i, p := range pcs {
		if _, gone := ended[i]; gone {
			continue
		}
		wg.Add(1)
		go func(p *pollClient) {
			defer wg.Done()
			if b, err := p.get(p.url()); err == nil && int64(len(b)) > answer.Load() {
				answer.Store(int64(len(b)))
			}
		}(p)
	}
	wg.Wait()
	sent := pub.Stop()
	peak := rss.Stop()
	cv, cerr := can.finish()
	var last time.Duration
	for _, t := range ended {
		last = max(last, t)
	}
	v := map[string]any{
		"members":              members,
		"published":            sent,
		"rss_base_mib":         round(mib(base), 1),
		"rss_peak_mib":         round(mib(peak), 1),
		"peak_per_member_mib":  round(mib(peak-base)/members, 1),
		"sessions_ended":       len(ended),
		"last_ended_seconds":   round(last.Seconds(), 1),
		"ran_seconds":          round(elapsed.Seconds(), 1),
		"largest_answer_bytes": answer.Load(),
	}
	for k, x := range cv {
		v[k] = x
	}
	r := result{Scenario: "pollbacklog", Server: name, Values: v,
		Params: map[string]any{"payload": size, "rate": rate, "pong_every_s": 5}}
	if cerr != nil {
		r.Notes = append(r.Notes, "canary: "+cerr.Error())
	}
	return []result{r}, nil
}
