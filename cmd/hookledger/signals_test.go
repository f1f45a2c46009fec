package main

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookledger/hookledger/internal/testinfra"
)

// proc is a running hookledger binary whose stderr (the log) is collected
// line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   []string
	grew  chan struct{} // closed and replaced on every new line
	done  chan struct{}
	state *os.ProcessState
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, grew: make(chan struct{}), done: make(chan struct{})}
	p.cmd = exec.Command(hookledgerBinary(t), args...)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p.cmd.Dir = t.TempDir()
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			close(p.grew)
			p.grew = make(chan struct{})
			p.mu.Unlock()
		}
		_ = p.cmd.Wait()
		p.mu.Lock()
		p.state = p.cmd.ProcessState
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("hookledger log:\n%s", p.text())
		}
	})
	return p
}

func (p *proc) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

// waitLog waits for a log line matching re and returns its submatches. The
// bound is a liveness limit, not a performance assertion.
func (p *proc) waitLog(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	for seen := 0; ; {
		p.mu.Lock()
		lines, grew := p.log[seen:], p.grew
		seen = len(p.log)
		p.mu.Unlock()
		for _, l := range lines {
			if m := rx.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		select {
		case <-grew:
		case <-p.done:
			p.mu.Lock()
			more := len(p.log) > seen
			p.mu.Unlock()
			if !more {
				p.t.Fatalf("hookledger exited (%v) before logging %q", p.state, re)
			}
		case <-deadline:
			p.t.Fatalf("no log line matching %q", re)
		}
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// exit waits for the process to end and returns its exit code (-1 and the
// signal when a signal killed it).
func (p *proc) exit() (int, string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		p.t.Fatal("hookledger did not exit")
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return p.state.ExitCode(), ""
}

// alive reports whether the process still runs, after giving a signal it
// was sent the time to be delivered (a signal that kills does so at once;
// the next log line or its absence tells).
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Without --config, SIGHUP is logged as nothing to reload and the process
// keeps running; the start warns about the missing file and the empty
// sources by key. Before, SIGHUP's default action killed it (exit 129).
func TestHangUpWithoutConfig(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	raw, verified, dead := testinfra.Topics(t)
	p := start(t, []string{
		"HOOKLEDGER_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"HOOKLEDGER_KAFKA_RAW_TOPIC=" + raw, "HOOKLEDGER_KAFKA_VERIFIED_TOPIC=" + verified,
		"HOOKLEDGER_KAFKA_DEAD_LETTER_TOPIC=" + dead,
		"HOOKLEDGER_INGEST_LISTEN=127.0.0.1:0", "HOOKLEDGER_DATA_DIR=" + t.TempDir(),
	}, "ingest")
	p.waitLog(`msg=listening tier=ingest`)
	p.signal(syscall.SIGHUP)
	p.waitLog(`level=WARN msg="SIGHUP: nothing to reload`)
	if !p.alive() {
		t.Fatal("SIGHUP stopped hookledger")
	}
	p.waitLog(`level=WARN msg="no --config given`)
	p.waitLog(`level=WARN msg="sources is empty.*key=sources`)
	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM", code, sig)
	}
	p.waitLog(`msg=stopped`)
}

// With --config, SIGHUP reloads; a changed key that needs a restart is
// named in a warning, and log.level applies at once.
func TestHangUpReloadsAndNamesRestartKeys(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	raw, verified, dead := testinfra.Topics(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hookledger.yaml")
	write := func(listen, level string) {
		doc := "data_dir: " + filepath.Join(dir, "data") + "\n" +
			"log: {level: " + level + "}\n" +
			"kafka: {brokers: [" + strings.Join(brokers, ",") + "], raw_topic: " + raw + ", verified_topic: " + verified + ", dead_letter_topic: " + dead + "}\n" +
			"ingest: {listen: \"" + listen + "\"}\n" +
			"sources:\n  - {id: sw-main, provider: signalwire, tenant: acme, signalwire: {signing_keys: [PSKtestKey0001]}}\n"
		if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("127.0.0.1:0", "info")
	p := start(t, nil, "ingest", "--config", cfgPath)
	addr := p.waitLog(`msg=listening tier=ingest addr=(\S+)`)[1]
	write("127.0.0.1:1", "debug")
	p.signal(syscall.SIGHUP)
	p.waitLog(`level=WARN msg="ingest.listen changed; restart to apply" key=ingest.listen`)
	p.waitLog(`msg="config reloaded" applied=\[log.level\]`)
	if strings.Contains(p.text(), "log.level changed") {
		t.Error("log.level reported as needing a restart")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.waitLog(`level=DEBUG msg=request tier=ingest`) // request lines are debug

	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`(?m)^hookledger_build_info\{goversion="go1[^"]*",revision="[^"]+",version="[^"]+"\} 1$`).Match(metrics) {
		t.Error("/metrics lacks hookledger_build_info")
	}
	p.signal(syscall.SIGTERM)
	if code, sig := p.exit(); code != 0 {
		t.Fatalf("exit %d %s after SIGTERM", code, sig)
	}
}

// A command that is not a tier stops on SIGHUP as on SIGTERM (a hang-up):
// it ends with an error of its own, not killed by the signal.
func TestHangUpStopsOtherCommands(t *testing.T) {
	entered := make(chan struct{}, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-r.Context().Done() // a provider API that does not answer
	}))
	defer api.Close()
	p := start(t, []string{"MESSAGEMEDIA_API_KEY=k", "MESSAGEMEDIA_API_SECRET=s"},
		"messagemedia", "keys", "enabled", "--api-base", api.URL)
	select {
	case <-entered:
	case <-time.After(60 * time.Second):
		t.Fatal("the command never called the API")
	}
	p.signal(syscall.SIGHUP)
	code, sig := p.exit()
	if sig != "" {
		t.Fatalf("killed by %s", sig)
	}
	if code == 0 {
		t.Fatal("exit 0 after SIGHUP cut the request short")
	}
	p.waitLog(`context canceled`)
}
