package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
)

// tryItBlock is the first sh block under the README's "## Try it".
func tryItBlock(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Try it\n")
	if !ok {
		t.Fatal(`README has no "## Try it" section`)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatal("Try it has no sh block")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// The README's "Try it" block, run as pasted (one sh script) against
// `hookledger run` on the example config, as scripts/run.sh starts it,
// shows the accepted message and the forged callback's rejection.
func TestReadmeTryIt(t *testing.T) {
	lib := os.Getenv("CHDB_LIB_PATH")
	if lib == "" {
		t.Skip("`hookledger run` needs the embedded engine: set CHDB_LIB_PATH (scripts/test.sh does)")
	}
	for _, tool := range []string{"sh", "curl", "openssl", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the Try it block needs %s", tool)
		}
	}
	example, err := os.ReadFile("../../deploy/hookledger.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example's ports, moved to free ones in the config and the block
	// alike, so the test runs beside anything else.
	ingestAddr, queryAddr := testinfra.FreeAddr(t), testinfra.FreeAddr(t)
	ports := strings.NewReplacer("127.0.0.1:8080", ingestAddr, "127.0.0.1:8081", queryAddr)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hookledger.yaml")
	if err := os.WriteFile(cfg, []byte(ports.Replace(string(example))), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, []string{"CHDB_LIB_PATH=" + lib}, "run", "--config", cfg)
	testinfra.Eventually(t, 120*time.Second, "hookledger run ready", func() bool {
		resp, err := http.Get("http://" + ingestAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	script := ports.Replace(tryItBlock(t))
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("Try it block: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{
		"</Response> 200\n",                 // the genuine callback, acknowledged
		`"error":"bad_signature"`, " 401\n", // the forged one
		`"message_id":"SM0123"`, `"status":"delivered"`, // stored
		`"items":[{`, `"reason":"bad_signature"`, // the rejection, queryable
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Try it output lacks %q:\n%s\nstderr:\n%s", want, out.String(), errOut.String())
		}
	}
	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM", code, sig)
	}
}
