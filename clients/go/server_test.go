package eventstore_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serverMain is the repository's build of the server (npm run build).
func serverMain(t *testing.T) string {
	main := os.Getenv("EDUPULSE_SERVER_MAIN")
	if main == "" {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		main = filepath.Join(root, "dist", "cli", "main.js")
	}
	if _, err := os.Stat(main); err != nil {
		t.Fatalf("%s is missing: build the server first (npm run build)", main)
	}
	return main
}

// testServer is a real event store server on 127.0.0.1, restartable on the same port and data directory.
type testServer struct {
	t       *testing.T
	dataDir string
	extra   []string
	port    string
	address string
	cmd     *exec.Cmd
}

func startServer(t *testing.T, extra ...string) *testServer {
	s := &testServer{t: t, dataDir: filepath.Join(t.TempDir(), "data"), extra: extra, port: "0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) start() {
	args := append([]string{serverMain(s.t), "serve", "--port", s.port, "--metrics-port", "off",
		"--data-dir", s.dataDir, "--log-level", "warn"}, s.extra...)
	s.cmd = exec.Command("node", args...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		var seen []string
		for lines.Scan() {
			line := lines.Text()
			if address, ok := strings.CutPrefix(line, "EDUPULSE_LISTENING "); ok {
				listening <- address
			}
			seen = append(seen, line)
		}
		listening <- fmt.Sprintf("exited: %s", strings.Join(seen, "\n"))
	}()
	select {
	case address := <-listening:
		if strings.HasPrefix(address, "exited: ") {
			s.t.Fatalf("the server did not start: %s", address)
		}
		s.address = address
		s.port = address[strings.LastIndex(address, ":")+1:]
	case <-time.After(60 * time.Second):
		s.t.Fatal("the server did not report its address within 60 s")
	}
}

func (s *testServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
	s.cmd = nil
}
