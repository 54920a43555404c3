package loadgen

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ClusterOptions say how to start the worker processes.
type ClusterOptions struct {
	Workers int
	Targets []string // host:port
	Path    string
	Srcs    []string
	InProc  bool   // run workers as goroutines of this process (tests)
	Pin     string // taskset CPU list for worker processes ("" = no pinning)
	Exe     string // the fanio-bench binary; default os.Executable()
	Stderr  io.Writer
}

// Cluster is the parent's handle on its workers.
type Cluster struct {
	opts  ClusterOptions
	ws    []*handle
	epoch uint64
	// Commands records the exact worker command lines (for the results).
	Commands []string
}

type handle struct {
	id      int
	in      io.WriteCloser
	enc     *json.Encoder
	replies chan Reply
	done    chan struct{}
	cmd     *exec.Cmd
	err     error

	mu   sync.Mutex
	prog Reply
}

// StartCluster starts opts.Workers workers and sends them their config.
func StartCluster(opts ClusterOptions) (*Cluster, error) {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	cl := &Cluster{opts: opts}
	exe := opts.Exe
	if exe == "" && !opts.InProc {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, err
		}
	}
	for i := 0; i < opts.Workers; i++ {
		h := &handle{id: i, replies: make(chan Reply, 4), done: make(chan struct{})}
		var out io.Reader
		if opts.InProc {
			pr, pw := io.Pipe()
			rr, rw := io.Pipe()
			h.in = pw
			out = rr
			cfgW := NewWorker(WorkerConfig{ID: i, Targets: opts.Targets, Path: opts.Path, Srcs: opts.Srcs}, i == 0)
			go func() {
				dec := json.NewDecoder(pr)
				var skip WorkerConfig
				if err := dec.Decode(&skip); err == nil {
					_ = cfgW.Serve(dec, rw)
				}
				rw.Close()
			}()
		} else {
			args := []string{exe, "__worker"}
			if opts.Pin != "" {
				args = append([]string{"taskset", "-c", opts.Pin}, args...)
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Stderr = opts.Stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				cl.Close()
				return nil, err
			}
			o, err := cmd.StdoutPipe()
			if err != nil {
				cl.Close()
				return nil, err
			}
			if err := cmd.Start(); err != nil {
				cl.Close()
				return nil, fmt.Errorf("starting worker: %w", err)
			}
			h.cmd, h.in, out = cmd, in, o
			if i == 0 {
				cl.Commands = append(cl.Commands, strings.Join(args, " "))
			}
		}
		h.enc = json.NewEncoder(h.in)
		cl.ws = append(cl.ws, h)
		go h.readLoop(out)
		if err := h.enc.Encode(WorkerConfig{ID: i, Targets: opts.Targets, Path: opts.Path, Srcs: opts.Srcs}); err != nil {
			cl.Close()
			return nil, fmt.Errorf("configuring worker %d: %w", i, err)
		}
	}
	return cl, nil
}

func (h *handle) readLoop(r io.Reader) {
	defer close(h.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var rep Reply
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			h.err = fmt.Errorf("worker %d: bad reply: %v", h.id, err)
			continue
		}
		if rep.Op == "progress" {
			h.mu.Lock()
			h.prog = rep
			h.mu.Unlock()
			continue
		}
		h.replies <- rep
	}
	if h.err == nil {
		h.err = fmt.Errorf("worker %d exited", h.id)
	}
}

func (h *handle) call(cmd Command, timeout time.Duration) (Reply, error) {
	if err := h.enc.Encode(cmd); err != nil {
		return Reply{}, fmt.Errorf("worker %d: %w", h.id, err)
	}
	return h.wait(cmd.Op, timeout)
}

func (h *handle) wait(op string, timeout time.Duration) (Reply, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-h.replies:
		if r.Err != "" {
			return r, fmt.Errorf("worker %d %s: %s", h.id, op, r.Err)
		}
		return r, nil
	case <-h.done:
		return Reply{}, h.err
	case <-t.C:
		return Reply{}, fmt.Errorf("worker %d: %s timed out after %v", h.id, op, timeout)
	}
}

// Size is the number of workers.
func (cl *Cluster) Size() int { return len(cl.ws) }

// Each sends cmdFor(i) to every worker at once and collects the replies.
// A nil command skips that worker (its reply is the zero Reply).
func (cl *Cluster) Each(cmdFor func(i int) *Command, timeout time.Duration) ([]Reply, error) {
	reps := make([]Reply, len(cl.ws))
	errs := make([]error, len(cl.ws))
	var wg sync.WaitGroup
	for i, h := range cl.ws {
		cmd := cmdFor(i)
		if cmd == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = h.call(*cmd, timeout)
		}()
	}
	wg.Wait()
	return reps, errors.Join(errs...)
}

// All sends the same command to every worker.
func (cl *Cluster) All(cmd Command, timeout time.Duration) ([]Reply, error) {
	return cl.Each(func(int) *Command { return &cmd }, timeout)
}

// One sends a command to worker i.
func (cl *Cluster) One(i int, cmd Command, timeout time.Duration) (Reply, error) {
	return cl.ws[i].call(cmd, timeout)
}

// Snapshot collects and merges every worker's stats.
func (cl *Cluster) Snapshot() (Stats, []Stats, error) {
	reps, err := cl.All(Command{Op: "snapshot"}, 30*time.Second)
	var sum Stats
	per := make([]Stats, 0, len(reps))
	for _, r := range reps {
		if r.Stats == nil {
			continue
		}
		s := *r.Stats
		per = append(per, s)
		sum.Up += s.Up
		sum.Recv += s.Recv
		sum.Sent += s.Sent
		sum.Errors += s.Errors
		sum.Late += s.Late
		sum.Lost += s.Lost
		sum.Stale += s.Stale
		sum.CPUUserUs += s.CPUUserUs
		sum.CPUSysUs += s.CPUSysUs
		sum.MaxRSSKB += s.MaxRSSKB
		sum.LastRecv = max(sum.LastRecv, s.LastRecv)
		sum.WallNs = max(sum.WallNs, s.WallNs)
		sum.Hist.Merge(s.Hist)
		for _, e := range s.ErrSample {
			if len(sum.ErrSample) < 8 {
				sum.ErrSample = append(sum.ErrSample, e)
			}
		}
	}
	return sum, per, err
}

// Reset zeroes every worker's counters, histogram and CPU baseline and
// starts a new measurement epoch.
func (cl *Cluster) Reset() error {
	cl.epoch++
	_, err := cl.All(Command{Op: "reset", Epoch: cl.epoch}, 10*time.Second)
	return err
}

// Progress sums the workers' latest progress reports.
func (cl *Cluster) Progress() (up, recv, sent, errs int64) {
	for _, h := range cl.ws {
		h.mu.Lock()
		up += h.prog.Up
		recv += h.prog.Recv
		sent += h.prog.Sent
		errs += h.prog.Errors
		h.mu.Unlock()
	}
	return
}

// Close tells every worker to close its clients and exit, then reaps them.
func (cl *Cluster) Close() {
	var wg sync.WaitGroup
	for _, h := range cl.ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.enc != nil {
				_, _ = h.call(Command{Op: "exit"}, 15*time.Second)
			}
			h.in.Close()
			select {
			case <-h.done:
			case <-time.After(10 * time.Second):
			}
			if h.cmd != nil {
				done := make(chan struct{})
				go func() { _ = h.cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = h.cmd.Process.Kill()
					<-done
				}
			}
		}()
	}
	wg.Wait()
}
