package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ, the unit of utime/stime in /proc/<pid>/stat (100 on
// every Linux this runs on).
const clkTck = 100

// ProcCPU returns the user+system CPU seconds consumed so far by pid (all
// its threads), from /proc/<pid>/stat.
func ProcCPU(pid int) (user, sys float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return u / clkTck, s / clkTck, nil
}

// ProcCPUTotal is user+system seconds (NaN-free: 0 on error).
func ProcCPUTotal(pid int) float64 { return ProcCPUTimes(pid).Total() }

// CPU is CPU time in seconds, split into user and system (kernel) time. On
// loopback the system part includes the TCP work of the receiving client
// (a write(2) runs the receiver's protocol processing on the sender's CPU),
// so the user part is the better measure of a server's own work.
type CPU struct {
	User float64 `json:"user"`
	Sys  float64 `json:"sys"`
}

// Total is user + system.
func (c CPU) Total() float64 { return c.User + c.Sys }

// Sub is c − o, field by field.
func (c CPU) Sub(o CPU) CPU { return CPU{User: c.User - o.User, Sys: c.Sys - o.Sys} }

// ProcCPUTimes is pid's CPU time so far (zero on error).
func ProcCPUTimes(pid int) CPU {
	u, s, err := ProcCPU(pid)
	if err != nil {
		return CPU{}
	}
	return CPU{User: u, Sys: s}
}

// ProcStatusKB reads one "Key:   N kB" field of /proc/<pid>/status.
func ProcStatusKB(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, key+":") {
			fs := strings.Fields(line[len(key)+1:])
			if len(fs) > 0 {
				return strconv.ParseInt(fs[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

// ProcRSS is VmRSS in bytes.
func ProcRSS(pid int) int64 {
	kb, err := ProcStatusKB(pid, "VmRSS")
	if err != nil {
		return 0
	}
	return kb * 1024
}

// ProcThreads is the thread count of pid.
func ProcThreads(pid int) int64 {
	n, _ := ProcStatusKB(pid, "Threads")
	return n
}

// ProcFDLimit is the soft RLIMIT_NOFILE of pid.
func ProcFDLimit(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			fs := strings.Fields(line[len("Max open files"):])
			if len(fs) > 0 {
				n, _ := strconv.Atoi(fs[0])
				return n
			}
		}
	}
	return 0
}

// ProcFDCount is the number of open descriptors of pid.
func ProcFDCount(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(ents)
}

// FindListenerPID finds the process listening on TCP port (via
// /proc/net/tcp{,6} and the socket inodes in /proc/*/fd).
func FindListenerPID(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" {
				continue
			}
			j := strings.LastIndexByte(fs[1], ':')
			p, err := strconv.ParseInt(fs[1][j+1:], 16, 32)
			if err == nil && int(p) == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("nothing listens on port %d", port)
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			l, err := os.Readlink(filepath.Join(d, e.Name()))
			if err == nil && inodes[l] {
				pid, _ := strconv.Atoi(strings.Split(d, "/")[2])
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process found for the listener on port %d", port)
}

// ServerStats is the fixture's GET /stats answer.
type ServerStats struct {
	Server    string  `json:"server,omitempty"`
	RSS       int64   `json:"rss"`
	HeapUsed  int64   `json:"heapUsed"`
	Sockets   int64   `json:"sockets"`
	CPUUser   float64 `json:"cpuUser"`
	CPUSystem float64 `json:"cpuSystem"`
}

// FetchStats GETs the fixture's /stats (nil if unavailable).
func FetchStats(url string) *ServerStats {
	if url == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil
	}
	resp, err := statsClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil
	}
	var s ServerStats
	if json.Unmarshal(b, &s) != nil {
		return nil
	}
	return &s
}

var statsClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// MachineBusy is the CPU-seconds all CPUs of the machine have spent busy
// (user, nice, system, irq, softirq, steal) since boot, from /proc/stat.
func MachineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var sum float64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseFloat(f[i], 64)
		sum += v
	}
	return sum / clkTck
}

// ForeignLoad samples the machine for d and returns how many cores were
// busy on average (before a run: everything busy is someone else's load).
func ForeignLoad(d time.Duration) float64 {
	b0 := MachineBusy()
	t0 := time.Now()
	time.Sleep(d)
	return (MachineBusy() - b0) / time.Since(t0).Seconds()
}

// selfCPU is this process's user+system seconds.
func selfCPU() float64 {
	u, s := cpuTimes()
	return float64(u+s) / 1e6
}

// window samples server, machine and own CPU at the start of a measured
// window; other() then tells how busy the machine was with processes that
// are neither the server nor the generator.
type window struct {
	e            *Env
	srv          CPU
	machine, own float64
	t0           time.Time
}

func (e *Env) startWindow() window {
	return window{e: e, srv: e.serverCPU(), machine: MachineBusy(), own: selfCPU(), t0: time.Now()}
}

// end returns the server CPU time of the window and the average number of
// cores used by other processes (genCPU: the workers' CPU-seconds).
func (w window) end(genCPU float64) (srv CPU, otherCores float64) {
	srv = w.e.serverCPU().Sub(w.srv)
	busy := MachineBusy() - w.machine
	own := selfCPU() - w.own
	if w.e.InProc {
		genCPU = 0 // already in own
	}
	other := busy - srv.Total() - genCPU - own
	if other < 0 {
		other = 0
	}
	if dt := time.Since(w.t0).Seconds(); dt > 0 {
		otherCores = other / dt
	}
	return srv, otherCores
}
