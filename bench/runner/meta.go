package runner

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes the box the numbers come from.
type Machine struct {
	CPUModel   string `json:"cpu_model"`
	Cores      int    `json:"cores"`
	Kernel     string `json:"kernel"`
	MemTotalKB int64  `json:"mem_total_kb"`
	FDLimit    int    `json:"fd_limit"`
	PortRange  string `json:"ephemeral_port_range"`
}

// Versions of everything involved.
type Versions struct {
	Go        string `json:"go"`
	Node      string `json:"node,omitempty"`
	SocketIO  string `json:"socket_io,omitempty"`
	EngineIO  string `json:"engine_io,omitempty"`
	Gnet      string `json:"gnet,omitempty"`
	GitCommit string `json:"git_commit,omitempty"`
}

func output(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// CollectMachine reads lscpu, nproc, uname and /proc.
func CollectMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	for _, line := range strings.Split(output("lscpu"), "\n") {
		if strings.HasPrefix(line, "Model name:") {
			m.CPUModel = strings.TrimSpace(strings.TrimPrefix(line, "Model name:"))
		}
	}
	if n, err := strconv.Atoi(output("nproc")); err == nil {
		m.Cores = n
	}
	m.Kernel = output("uname", "-r")
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "MemTotal:" {
				m.MemTotalKB, _ = strconv.ParseInt(fs[1], 10, 64)
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		m.PortRange = strings.Join(strings.Fields(string(b)), "-")
	}
	if b, err := os.ReadFile("/proc/self/limits"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "Max open files") {
				if fs := strings.Fields(line[len("Max open files"):]); len(fs) > 0 {
					m.FDLimit, _ = strconv.Atoi(fs[0])
				}
			}
		}
	}
	return m
}

// CollectVersions reads the toolchain and package versions under root.
func CollectVersions(root string) Versions {
	v := Versions{Go: runtime.Version()}
	if gv := output("go", "env", "GOVERSION"); gv != "" {
		v.Go = gv
	}
	v.Node = output("node", "--version")
	v.SocketIO = pkgVersion(filepath.Join(root, "bench/node/node_modules/socket.io/package.json"))
	v.EngineIO = pkgVersion(filepath.Join(root, "bench/node/node_modules/engine.io/package.json"))
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if fs := strings.Fields(line); len(fs) >= 2 && fs[0] == "github.com/panjf2000/gnet/v2" {
				v.Gnet = fs[1]
			}
		}
	}
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		v.GitCommit = strings.TrimSpace(string(out))
	}
	return v
}

func pkgVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(b, &p)
	return p.Version
}

// FindRoot walks up from dir to the repository root: the directory holding
// the go.mod of module github.com/fanio/fanio.
func FindRoot(dir string) string {
	d, _ := filepath.Abs(dir)
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/fanio/fanio\n") {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			return dir
		}
		d = p
	}
}
