package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hookledger/hookledger/internal/testinfra"
)

// The binary as `go build ./cmd/hookledger` makes it, built once per test
// binary: the test is about what the real program does before main and
// without the engine library, which an in-process call cannot show.
var built struct {
	once sync.Once
	path string
	err  error
}

func hookledgerBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "hookledger-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "hookledger")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	testinfra.Main(m, func() {
		if built.path != "" {
			_ = os.RemoveAll(filepath.Dir(built.path))
		}
	})
}

// run runs the binary with env as its whole environment (plus PATH and
// HOME), so no CHDB_LIB_PATH leaks in from the caller.
func run(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(hookledgerBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Dir = t.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// Commands that never open the embedded engine run without libchdb.
func TestRunsWithoutEngineLibrary(t *testing.T) {
	version := regexp.MustCompile(`^hookledger \S+ \(revision \S+, go\d[^)]*\)\n$`)
	for _, tc := range []struct {
		args []string
		want *regexp.Regexp
	}{
		{[]string{"--help"}, regexp.MustCompile(`(?s)Usage:.*hookledger \[command\].*run .*version `)},
		{[]string{"version"}, version},
		{[]string{"--version"}, version},
		{[]string{"messagemedia", "keys", "--help"}, regexp.MustCompile(`create`)},
		{[]string{"completion", "bash"}, regexp.MustCompile(`bash completion`)},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			stdout, stderr, code := run(t, nil, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			if !tc.want.MatchString(stdout) {
				t.Errorf("stdout does not match %s:\n%s", tc.want, stdout)
			}
		})
	}
}

// `run` with a library path that does not exist fails at start with what
// to set, before any engine is started.
func TestRunWithMissingEngineLibrary(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hookledger.yaml")
	if err := os.WriteFile(cfg, []byte(
		"data_dir: "+filepath.Join(dir, "data")+"\n"+
			"ingest: {listen: 127.0.0.1:0}\nquery: {listen: 127.0.0.1:0}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(dir, "nowhere", "libchdb.so")
	_, stderr, code := run(t, []string{"CHDB_LIB_PATH=" + bogus}, "run", "--config", cfg)
	if code == 0 {
		t.Fatalf("run exited 0 without the engine library; stderr:\n%s", stderr)
	}
	for _, want := range []string{bogus, "CHDB_LIB_PATH", "scripts/libchdb.sh", "clickhouse.dsn"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "embedded kafka broker started") {
		t.Errorf("want a plain error before any engine starts:\n%s", stderr)
	}
}
