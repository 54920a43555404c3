package main

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

// flood: 4 clients send 1 MB packets as fast as they can, each reconnecting
// when the server closes it, while a canary measures its round trips. The
// issue: 4 clients sending 500,000-element packets pushed the canary's acks
// to 681 ms (the event loop split and indexed every element).
func flood(c *config, name string) ([]result, error) {
	var out []result
	for _, kind := range []string{"elements", "string"} {
		r, err := floodKind(c, name, kind)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func floodPacket(kind string) []byte {
	const size = 1_000_000 - 64
	if kind == "elements" {
		// 42["flood",1,1,1,...]: 500,000 top-level arguments.
		return []byte(`42["flood"` + strings.Repeat(",1", size/2) + "]")
	}
	return []byte(`42["flood","` + strings.Repeat("x", size) + `"]`)
}

func floodKind(c *config, name, kind string) (result, error) {
	const flooders = 4
	d := c.dur(20 * time.Second)
	srv, addr, err := c.startServer(name, false)
	if err != nil {
		return result{}, err
	}
	defer srv.Stop()
	can, err := startCanary(addr, 10*time.Millisecond)
	if err != nil {
		return result{}, err
	}
	time.Sleep(time.Second)
	pkt := floodPacket(kind)
	var packets, closes, dials atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < flooders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				w, err := dialWS(addr, 0)
				dials.Add(1)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				closed := make(chan struct{})
				go func() { // drain, and notice the close
					defer close(closed)
					for {
						if _, err := w.next(); err != nil {
							return
						}
					}
				}()
			sendLoop:
				for {
					select {
					case <-stop:
						w.close()
						return
					case <-closed:
						break sendLoop
					default:
					}
					_ = w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
					if err := w.sendBytes(pkt); err != nil {
						break sendLoop
					}
					packets.Add(1)
				}
				closes.Add(1)
				w.close()
			}
		}()
	}
	cpu0 := cpuSeconds(srv.PID)
	time.Sleep(d)
	close(stop)
	wg.Wait()
	cpu := cpuSeconds(srv.PID) - cpu0
	cv, cerr := can.finish()
	v := map[string]any{"flooders": flooders, "packets_sent": packets.Load(), "closed_by_server": closes.Load(),
		"server_cpu_s": round(cpu, 1)}
	for k, x := range cv {
		v[k] = x
	}
	r := result{Scenario: "flood-" + kind, Server: name, Values: v,
		Params: map[string]any{"packet_bytes": len(pkt), "duration_s": d.Seconds()}}
	if cerr != nil {
		r.Notes = append(r.Notes, "canary: "+cerr.Error())
	}
	if !srv.Alive() {
		v["server_died"] = true
		log := srv.Log()
		if i := strings.LastIndex(log, "\n"); len(log) > 600 && i > 0 {
			log = log[max(0, len(log)-600):]
		}
		r.Notes = append(r.Notes, "the server died: "+strings.ReplaceAll(log, "\n", " | "))
	}
	return r, nil
}

func cpuSeconds(pid int) float64 { return loadgen.ProcCPUTotal(pid) }
