package loadgen_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/loadgen"
	"github.com/hookledger/hookledger/internal/testinfra"
)

// benchConfig is a `hookledger run` config with one source per provider,
// every signing scheme enabled, and the given MessageMedia public key.
func benchConfig(ingest, query, mmPublic string) string {
	return fmt.Sprintf(`data_dir: ./data
ingest: {listen: %q}
processor: {flush_interval: 50ms}
query:
  listen: %q
  tokens: [{name: bench, token: bench-query-token, tenants: ["*"]}]
sources:
  - id: mm-main
    provider: messagemedia
    tenant: acme
    messagemedia:
      keys: [{key_id: fd0d23bd-36ea-40ab-8d27-55fc3947604d, public_key: %s, digest: SHA256}]
  - id: vonage-main
    provider: vonage
    tenant: acme
    vonage: {signature_secrets: [bench-vonage-secret], api_key: abcd1234, sms_signature_method: md5hash}
  - id: sw-main
    provider: signalwire
    tenant: acme
    signalwire: {signing_keys: [PSKbenchSigningKey0001]}
`, ingest, query, mmPublic)
}

// writeKey writes a fresh MessageMedia key pair's private half as PEM and
// returns the public half as base64 DER, as the key API gives it.
func writeKey(t *testing.T, path string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, block, 0o600); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

var allScenarios = []string{
	"signalwire-a-form", "signalwire-a-json", "signalwire-b-form", "signalwire-b-json", "signalwire-call-a",
	"vonage-jwt", "vonage-voice-jwt", "vonage-sms-sig", "messagemedia-rsa",
}

// TestBenchSmoke is what CI runs of the benchmark: the real binary runs
// `hookledger run` on the embedded engines, `hookledger bench --smoke`
// drives it with every provider and scheme, and every acknowledged
// callback must be queryable exactly once, with no request refused.
// Nothing about speed is asserted.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hookledger")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/hookledger/hookledger/cmd/hookledger").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ingest, query := testinfra.FreeAddr(t), testinfra.FreeAddr(t)
	keyPath := filepath.Join(dir, "mm.pem")
	configPath := filepath.Join(dir, "hookledger.yaml")
	if err := os.WriteFile(configPath, []byte(benchConfig(ingest, query, writeKey(t, keyPath))), 0o600); err != nil {
		t.Fatal(err)
	}
	var runLog bytes.Buffer
	run := exec.Command(bin, "run", "--config", configPath)
	run.Dir, run.Stdout, run.Stderr = dir, &runLog, &runLog
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	t.Cleanup(func() {
		_ = run.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("hookledger run log:\n%s", runLog.String())
		}
	})
	testinfra.Eventually(t, 90*time.Second, "hookledger ready", func() bool {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("hookledger run exited before it was ready: %v", err)
		default:
		}
		return ready("http://"+ingest) && ready("http://"+query)
	})

	var out, errOut bytes.Buffer
	bench := exec.Command(bin, "bench", "--config", configPath, "--smoke", "--json",
		"--messagemedia-key", keyPath, "--pid", strconv.Itoa(run.Process.Pid))
	bench.Dir, bench.Stdout, bench.Stderr = dir, &out, &errOut
	if err := bench.Run(); err != nil {
		t.Fatalf("hookledger bench: %v\n%s\n%s", err, errOut.String(), out.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	c := rep.Check
	if c == nil || !c.OK || c.Acknowledged == 0 || c.GetChecked != c.Acknowledged {
		t.Fatalf("check: %+v", c)
	}
	// A fresh instance: the stats count exactly this run's messages.
	if c.GetMissing+c.GetDuplicated+c.ListMissing+c.ListDuplicated+c.ListUnacknowledged != 0 ||
		c.ListsSkipped || c.AckedMessages == 0 || c.StatsMessages != c.AckedMessages {
		t.Fatalf("check: %+v", c)
	}
	seen := map[string]bool{}
	acked := 0
	for _, p := range rep.Phases {
		if p.Server != "hookledger" {
			continue
		}
		seen[p.Name] = true
		acked += p.OK
		if p.Errors != 0 || p.OK == 0 {
			t.Errorf("%s (%s): %d ok, %d errors %v: %s", p.Name, p.Mode, p.OK, p.Errors, p.ErrorsBy, p.FirstError)
		}
	}
	if acked != c.Acknowledged {
		t.Errorf("phases acknowledged %d, the check saw %d", acked, c.Acknowledged)
	}
	for _, name := range append(allScenarios, "mix") {
		if !seen[name] {
			t.Errorf("no %s phase in the report (notes: %v)", name, rep.Notes)
		}
	}
}

func ready(base string) bool {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
