package clusterbench

import (
	"os"
	"os/exec"
)

func tempDir() (string, error) { return os.MkdirTemp("", "fanio-cluster-bench-") }

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}
