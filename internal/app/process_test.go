package app

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/storage"
)

// hookledgerProcess is the real binary running `hookledger run` on embedded
// engines, as the README starts it.
type hookledgerProcess struct {
	t                  *testing.T
	bin, config, dir   string
	ingestAddr, qryAdr string
	cmd                *exec.Cmd
}

func buildBinary(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "hookledger")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/hookledger/hookledger/cmd/hookledger").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func (p *hookledgerProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "run", "--config", p.config)
	p.cmd.Dir = p.dir
	log, err := os.OpenFile(filepath.Join(p.dir, "hookledger.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	defer log.Close()
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	testinfra.Eventually(p.t, 90*time.Second, "hookledger ready", func() bool {
		return readyz("http://"+p.ingestAddr) && readyz("http://"+p.qryAdr)
	})
}

func readyz(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (p *hookledgerProcess) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "hookledger.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// TestProcessSurvivesKillAndStopsGracefully is the walking skeleton's
// acceptance test: a genuine SignalWire callback is answered 200 and
// queryable, a forged one is answered 401 and audited, and both are still
// there, exactly once, after kill -9 and a restart; SIGTERM exits cleanly
// and keeps what was acknowledged.
func TestProcessSurvivesKillAndStopsGracefully(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	p := &hookledgerProcess{t: t, bin: buildBinary(t), dir: dir, ingestAddr: testinfra.FreeAddr(t), qryAdr: testinfra.FreeAddr(t)}
	p.config = filepath.Join(dir, "hookledger.yaml")
	cfg := fmt.Sprintf(`data_dir: ./data
ingest: {listen: %q}
query:
  listen: %q
  tokens: [{name: ops, token: %s, tenants: [acme]}]
sources:
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [%s]}
`, p.ingestAddr, p.qryAdr, queryToken, swKey)
	if err := os.WriteFile(p.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("hookledger log:\n%s", p.logTail())
		}
	})
	h := &harness{t: t, query: "http://" + p.qryAdr}
	hookURL := "http://" + p.ingestAddr + "/hooks/sw-main"

	send := func(sid, key string) int {
		body := swStatusForm(sid, "delivered")
		req := formRequest(http.MethodPost, hookURL, body)
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(key, hookURL, []byte(body)))
		status, _ := do(t, req)
		return status
	}
	const sid = "SM00000000000000000000000000000001"
	sent := time.Now()
	if status := send(sid, swKey); status != http.StatusOK {
		t.Fatalf("genuine callback: %d", status)
	}
	var m storage.Message
	testinfra.Eventually(t, 30*time.Second, "message visible", func() bool { return h.get("/v1/messages/"+sid, &m) == http.StatusOK })
	t.Logf("callback to queryable message: %v (target: under 1 s)", time.Since(sent).Round(time.Millisecond))
	if status := send("SMforged", "PSKwrong"); status != http.StatusUnauthorized {
		t.Fatalf("forged callback: %d", status)
	}
	rejections := func() []storage.Rejection {
		var page struct{ Items []storage.Rejection }
		h.get("/v1/rejections?reason=bad_signature", &page)
		return page.Items
	}
	testinfra.Eventually(t, 30*time.Second, "rejection audited", func() bool { return len(rejections()) == 1 })

	// kill -9, restart: everything visible before is visible again, once.
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	p.start()
	if h.get("/v1/messages/"+sid, &m) != http.StatusOK || m.Status != "delivered" || len(m.Events) != 1 {
		t.Fatalf("after kill -9: message %+v", m)
	}
	if got := rejections(); len(got) != 1 {
		t.Fatalf("after kill -9: %d rejections, want 1", len(got))
	}

	// SIGHUP reloads keys: rotate to a new signing key without a restart.
	const newKey = "PSKrotatedKey0002"
	rotated := strings.Replace(cfg, "signing_keys: ["+swKey+"]", "signing_keys: ["+newKey+"]", 1)
	if err := os.WriteFile(p.config, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testinfra.Eventually(t, 30*time.Second, "new key accepted after SIGHUP", func() bool {
		return send("SM00000000000000000000000000000003", newKey) == http.StatusOK
	})
	if status := send("SM00000000000000000000000000000004", swKey); status != http.StatusUnauthorized {
		t.Fatalf("retired key after reload: %d, want 401", status)
	}
	cfg = rotated

	// An acknowledged callback right before SIGTERM survives the stop.
	const sid2 = "SM00000000000000000000000000000002"
	if status := send(sid2, newKey); status != http.StatusOK {
		t.Fatalf("second callback: %d", status)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SIGTERM exit: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no exit 60 s after SIGTERM")
	}
	if !strings.Contains(p.logTail(), "stopped") {
		t.Errorf("no orderly stop in the log")
	}
	p.start()
	testinfra.Eventually(t, 30*time.Second, "second message after restart", func() bool {
		return h.get("/v1/messages/"+sid2, &m) == http.StatusOK
	})
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}
