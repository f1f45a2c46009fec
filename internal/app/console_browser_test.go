package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hookledger/hookledger/internal/config"
	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/internal/testinfra/chdbtest"
	"github.com/hookledger/hookledger/provider/signalwire"
)

// Console test tokens: one per tenant, and the all-tenant ops token.
const (
	acmeToken   = "console-acme-token"
	globexToken = "console-globex-token"
)

// consoleHarness is a running App with a second tenant (globex, source
// sw-globex) and per-tenant tokens, for the browser tests.
func startConsoleHarness(t *testing.T) *harness {
	t.Helper()
	brokers := testinfra.KafkaBrokers(t)
	cfg := testConfig(t, brokers)
	extra, err := config.Parse([]byte(fmt.Sprintf(`
kafka: {brokers: [%s]}
query:
  tokens:
    - {name: acme-only, token: %s, tenants: [acme]}
    - {name: globex-console, token: %s, tenants: [globex]}
sources:
  - {id: sw-globex, provider: signalwire, tenant: globex, signalwire: {signing_keys: [%s]}}
`, strings.Join(brokers, ", "), acmeToken, globexToken, swKey)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Query.Tokens = append(cfg.Query.Tokens, extra.Query.Tokens...)
	cfg.Sources = append(cfg.Sources, extra.Sources...)
	h := &harness{t: t, cfg: cfg, store: chdbtest.Store(t), brokers: brokers}
	h.app = New(h.cfg, Tiers{Ingest: true, Process: true, Query: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), WithStore(h.store))
	if err := h.app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.app.Stop)
	h.ingest, h.query = "http://"+h.app.Addr("ingest"), "http://"+h.app.Addr("query")
	testinfra.Eventually(t, 60*time.Second, "app ready", func() bool { return len(h.app.Ready()) == 0 })
	return h
}

// sendSW posts a SignalWire form callback to source, signed over signedURL
// ("" for the URL it is sent to; "-" for no signature), with extra
// headers, and returns the status and the event id ingest answered.
func (h *harness) sendSW(source, signedURL string, body string, headers map[string]string) (int, string) {
	h.t.Helper()
	u := h.ingest + "/hooks/" + source
	req := formRequest(http.MethodPost, u, body)
	switch signedURL {
	case "":
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, u, []byte(body)))
	case "-":
	default:
		req.Header.Set(signalwire.HeaderSignature, signalwire.SignSchemeA(swKey, signedURL, []byte(body)))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Hookledger-Event-Id")
}

// browser starts headless Chromium, or skips the test when there is none.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("HOOKLEDGER_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		t.Skip("console browser tests need Chromium: install Debian's chromium (scripts/test.sh does as root) or set HOOKLEDGER_CHROMIUM")
	}
	// A fresh profile, removed after the browser is gone. Not t.TempDir:
	// Chromium's helper processes may still write to it as the browser
	// exits, which fails TempDir's strict cleanup.
	profile, err := os.MkdirTemp("", "hookledger-console-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 10 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(profile),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// pageProblems collects what the console's own code got wrong in the
// browser: uncaught exceptions, console.error calls and CSP violations
// (the Log domain's "security" entries). Failed requests (the 401 of a
// wrong token, 404s) are the API's answers and not counted.
type pageProblems struct {
	mu   sync.Mutex
	list []string
}

func (pp *pageProblems) listen(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		var problem string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			problem = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				problem += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				problem = "console.error"
				for _, a := range ev.Args {
					problem += " " + string(a.Value) + a.Description
				}
			}
		case *log.EventEntryAdded:
			if ev.Entry.Source == log.SourceSecurity || ev.Entry.Source == log.SourceJavascript {
				problem = string(ev.Entry.Source) + ": " + ev.Entry.Text
			}
		}
		if problem != "" {
			pp.mu.Lock()
			pp.list = append(pp.list, problem)
			pp.mu.Unlock()
		}
	})
}

func (pp *pageProblems) take() []string {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	out := pp.list
	pp.list = nil
	return out
}

// page drives one browser tab over the console, failing the test on
// errors and writing screenshots into shots.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string // http://query/console/
	shots string
}

// run runs actions with a deadline, failing the test with what was tried.
func (p *page) run(what string, actions ...chromedp.Action) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var body string
		_ = chromedp.Run(p.ctx, chromedp.Text("body", &body, chromedp.ByQuery))
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
	}
}

// text returns the text of the first element matching sel.
func (p *page) text(sel string) string {
	p.t.Helper()
	var s string
	p.run("read "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// waitText waits until the page body contains want.
func (p *page) waitText(want string) {
	p.t.Helper()
	p.run("wait for text "+want, chromedp.Poll(fmt.Sprintf(`document.body.innerText.includes(%q)`, want), nil,
		chromedp.WithPollingTimeout(20*time.Second)))
}

// waitIn waits until an element matching sel contains all of want and
// nothing in it is still loading.
func (p *page) waitIn(sel string, want ...string) {
	p.t.Helper()
	js := fmt.Sprintf(`(() => { const want = %s; return [...document.querySelectorAll(%q)].some(e =>
		!e.querySelector('.loading') && want.every(w => e.innerText.includes(w))); })()`, jsStrings(want), sel)
	p.run(fmt.Sprintf("wait for %q in %s", want, sel), chromedp.Poll(js, nil, chromedp.WithPollingTimeout(20*time.Second)))
}

func jsStrings(ss []string) string {
	b, _ := json.Marshal(ss)
	return string(b)
}

// waitSel waits until an element matches the CSS selector sel.
func (p *page) waitSel(sel string) {
	p.t.Helper()
	p.run("wait for "+sel, chromedp.Poll(fmt.Sprintf(`!!document.querySelector(%q)`, sel), nil, chromedp.WithPollingTimeout(20*time.Second)))
}

// open navigates to a console hash route.
func (p *page) open(hash string) {
	p.t.Helper()
	p.run("open "+hash, chromedp.Navigate(p.base+hash))
}

// signIn signs in with token from the sign-in form.
func (p *page) signIn(token string) {
	p.t.Helper()
	p.run("sign in", chromedp.Navigate(p.base),
		chromedp.Evaluate(`sessionStorage.clear()`, nil), chromedp.Reload(),
		chromedp.WaitVisible(`input[name=token]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=token]`, token, chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#nav`, chromedp.ByQuery))
}

// screenshot writes the page at laptop and phone widths.
func (p *page) screenshot(name string) {
	p.t.Helper()
	for _, size := range []struct {
		label string
		w, h  int64
	}{{"laptop", 1366, 768}, {"phone", 390, 844}} {
		var png []byte
		var overflow string
		p.run("screenshot "+name, chromedp.EmulateViewport(size.w, size.h), chromedp.Sleep(150*time.Millisecond),
			chromedp.Evaluate(`(() => { const d = document.documentElement; if (d.scrollWidth <= d.clientWidth) return '';
				const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > d.clientWidth + 1 && !e.closest('.table-wrap, pre'));
				return d.scrollWidth + ' > ' + d.clientWidth + ': ' + wide.slice(0, 5).map(e => e.tagName + '.' + e.className).join(', '); })()`, &overflow),
			chromedp.FullScreenshot(&png, 100))
		if overflow != "" {
			p.t.Errorf("%s at %s width scrolls sideways: %s", name, size.label, overflow)
		}
		if err := os.WriteFile(filepath.Join(p.shots, name+"-"+size.label+".png"), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.run("restore viewport", chromedp.EmulateViewport(1366, 768))
}

// TestConsoleInBrowser drives the console in headless Chromium against a
// running App with seeded callbacks: sign-in, search by id and by number,
// timelines, a rejected callback's diagnosis with its NEAR MISS, a forged
// callback full of injection attempts shown as inert text, and tenant
// scoping. Screenshots of each page are written to a temp dir (logged).
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	h := startConsoleHarness(t)

	// The payloads' only way to be noticed from outside the page.
	var pwned atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { pwned.Add(1) }))
	defer trap.Close()

	// Provider times lie within one UTC hour (the previous one), so the
	// hourly statistics have one bucket whatever the time of day the test
	// runs at; offsets below are at most 10 minutes back from its middle.
	mid := time.Now().UTC().Truncate(time.Hour).Add(-30 * time.Minute)
	stamp := func(d time.Duration) string { return mid.Add(d).Format(time.RFC1123Z) }
	msg := func(sid, status, to string, at time.Duration, extra ...string) string {
		v := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "From": {"+15550001111"}, "To": {to}, "Timestamp": {stamp(at)}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v.Encode()
	}
	for _, b := range []string{
		msg("SMc1", "queued", "+15550002222", -10*time.Minute),
		msg("SMc1", "sent", "+15550002222", -10*time.Minute+2*time.Second),
		msg("SMc1", "delivered", "+15550002222", -10*time.Minute+9*time.Second),
		msg("SMc2", "failed", "+15550002222", -5*time.Minute, "ErrorCode", "30003"),
		url.Values{"CallSid": {"CAc1"}, "CallStatus": {"ringing"}, "From": {"+15550003333"}, "To": {"+15550004444"},
			"Direction": {"outbound-api"}, "Timestamp": {stamp(-3 * time.Minute)}}.Encode(),
		url.Values{"CallSid": {"CAc1"}, "CallStatus": {"completed"}, "CallDuration": {"42"}, "From": {"+15550003333"},
			"To": {"+15550004444"}, "Direction": {"outbound-api"}, "Timestamp": {stamp(-2 * time.Minute)}}.Encode(),
	} {
		if status, _ := h.sendSW("sw-main", "", b, nil); status != http.StatusOK {
			t.Fatalf("seed %s: %d", b, status)
		}
	}
	if status, _ := h.sendSW("sw-globex", "", msg("SMg1", "delivered", "+15550009999", -time.Minute), nil); status != http.StatusOK {
		t.Fatalf("seed globex: %d", status)
	}
	// Signed over https while received over http: a NEAR MISS.
	u := h.ingest + "/hooks/sw-main"
	status, nearMiss := h.sendSW("sw-main", strings.Replace(u, "http://", "https://", 1), msg("SMnm", "delivered", "+15550002222", 0), nil)
	if status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Fatalf("near-miss callback answered %d", status)
	}
	_, globexRejected := h.sendSW("sw-globex", "-", msg("SMg2", "sent", "+15550009999", 0), nil)
	// A forged callback whose body and headers try every way to run.
	payload := `<script>window.__pwned=1;fetch('` + trap.URL + `/script')</script>` +
		`<img src=x onerror="window.__pwned=2;fetch('` + trap.URL + `/img')">` +
		`</textarea></pre></code><svg onload="window.__pwned=3"></svg>` +
		`<a href="javascript:window.__pwned=4">click</a><iframe src="` + trap.URL + `/frame"></iframe>`
	forgedBody := url.Values{"MessageSid": {"SMevil"}, "MessageStatus": {"delivered"}, "Body": {payload},
		"Link": {"javascript:window.__pwned=5"}}.Encode()
	_, forged := h.sendSW("sw-main", "-", forgedBody, map[string]string{
		"X-Evil":     `<img src=x onerror="window.__pwned=6;fetch('` + trap.URL + `/header')">`,
		"User-Agent": `</td></tr></table><script>window.__pwned=7</script>`,
	})
	if nearMiss == "" || forged == "" || globexRejected == "" {
		t.Fatalf("missing event ids: near miss %q, forged %q, globex %q", nearMiss, forged, globexRejected)
	}
	testinfra.Eventually(t, 30*time.Second, "seeded history queryable", func() bool {
		var c struct{ Events []any }
		var g struct{ Status string }
		var r struct{ Items []any }
		return h.get("/v1/calls/CAc1", &c) == http.StatusOK && len(c.Events) == 2 &&
			h.get("/v1/messages/SMg1", &g) == http.StatusOK &&
			h.get("/v1/rejections", &r) == http.StatusOK && len(r.Items) == 3
	})

	// Screenshots go to HOOKLEDGER_CONSOLE_SCREENSHOTS when set, else to a
	// new temporary directory; either way they are kept and not committed.
	shots := os.Getenv("HOOKLEDGER_CONSOLE_SCREENSHOTS")
	var err error
	if shots != "" {
		err = os.MkdirAll(shots, 0o755)
	} else {
		shots, err = os.MkdirTemp("", "hookledger-console-shots-")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots in %s", shots)
	p := &page{t: t, ctx: ctx, base: h.query + "/console/", shots: shots}
	var problems pageProblems
	problems.listen(ctx)
	t.Cleanup(func() {
		for _, pr := range problems.take() {
			t.Errorf("in the browser: %s", pr)
		}
	})

	// A wrong token is refused with a message a person can act on.
	p.run("wrong token", chromedp.Navigate(p.base), chromedp.WaitVisible(`input[name=token]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=token]`, "not-a-token", chromedp.ByQuery),
		chromedp.Click(`form.signin button[type=submit]`, chromedp.ByQuery))
	p.waitText("Token not accepted")
	var navShown bool
	p.run("nav hidden before sign-in", chromedp.Evaluate(`document.getElementById('nav').getBoundingClientRect().height > 0`, &navShown))
	if navShown {
		t.Error("the page navigation shows before sign-in")
	}
	p.screenshot("signin-refused")

	p.signIn(queryToken)
	var stored, href string
	p.run("token only in sessionStorage", chromedp.Evaluate(`sessionStorage.getItem('hookledger.console.token')`, &stored),
		chromedp.Evaluate(`location.href`, &href))
	if stored != queryToken || strings.Contains(href, queryToken) {
		t.Errorf("token stored %q, location %q", stored, href)
	}

	t.Run("search by id and open the timeline", func(t *testing.T) {
		p.t = t
		p.run("search SMc1", chromedp.WaitVisible(`input[name=q]`, chromedp.ByQuery),
			chromedp.SendKeys(`input[name=q]`, "SMc1", chromedp.ByQuery),
			chromedp.Click(`form.search button[type=submit]`, chromedp.ByQuery))
		p.waitText("+15550002222")
		p.screenshot("find-by-id")
		p.run("open timeline", chromedp.Click(`.results a[href^="#/messages/SMc1"]`, chromedp.ByQuery))
		p.waitText("Time to delivered")
		body := p.text("main")
		for _, want := range []string{"delivered", "queued", "sent", "9 s", "sw-main", "view callback"} {
			if !strings.Contains(body, want) {
				t.Errorf("timeline lacks %q:\n%s", want, body)
			}
		}
		p.screenshot("message-timeline")
		p.run("open an event's callback", chromedp.Click(`main table a[href^="#/callbacks/"]`, chromedp.ByQuery))
		p.waitText("MessageSid")
		if body := p.text("main"); !strings.Contains(body, "accepted") || !strings.Contains(body, "SMc1") {
			t.Errorf("accepted callback view:\n%s", body)
		}
		p.screenshot("callback-accepted")
	})

	t.Run("search by number in any spelling", func(t *testing.T) {
		p.t = t
		for _, spelling := range []string{"(555) 000-2222", "+1 555 000 2222", "15550002222"} {
			p.open("#/find")
			p.run("search "+spelling, chromedp.WaitVisible(`input[name=q]`, chromedp.ByQuery),
				chromedp.SendKeys(`input[name=q]`, spelling, chromedp.ByQuery),
				chromedp.Click(`form.search button[type=submit]`, chromedp.ByQuery))
			p.waitIn(".results", "Results for “"+spelling+"”", "Messages to or from +15550002222", "SMc1", "SMc2", "30003")
		}
		p.screenshot("find-by-number")
		// A number's calls too, either direction.
		p.open("#/find?q=" + url.QueryEscape("(555) 000-3333"))
		p.waitIn(".results", "Calls to or from +15550003333", "CAc1", "No messages to or from")
	})

	t.Run("phone number spellings", func(t *testing.T) {
		p.t = t
		for _, tc := range []struct {
			typed string
			want  []string // spellings looked up; nil: not a number
		}{
			{"+1 555 000 1111", []string{"+15550001111", "15550001111"}},
			{"(555) 000-1111", []string{"+15550001111", "15550001111"}},
			{"15550001111", []string{"+15550001111", "15550001111"}},
			{"555.000.1111", []string{"+15550001111", "15550001111"}},
			{"0044 20 7946 0000", []string{"+442079460000", "442079460000"}},
			{"+44 20 7946 0000", []string{"+442079460000", "442079460000"}},
			{"447700900123", []string{"+447700900123", "447700900123"}},
			{"SM0123", nil},
			{"12345", nil},
			{"01a232de-04a9-7098-92fc-ce9ac7473a44", nil},
		} {
			var got []string
			p.run("spell "+tc.typed, chromedp.Evaluate(fmt.Sprintf(`import('./js/phone.js').then(m => m.looksLikePhone(%[1]q) ? m.phoneSpellings(%[1]q) : [])`, tc.typed), &got,
				func(ep *runtime.EvaluateParams) *runtime.EvaluateParams { return ep.WithAwaitPromise(true) }))
			if len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[1] != tc.want[1])) {
				t.Errorf("%q: spellings %v, want %v", tc.typed, got, tc.want)
			}
		}
	})

	t.Run("call timeline", func(t *testing.T) {
		p.t = t
		p.open("#/calls/CAc1")
		p.waitText("completed")
		if body := p.text("main"); !strings.Contains(body, "42 s") || !strings.Contains(body, "ringing") {
			t.Errorf("call timeline:\n%s", body)
		}
		p.screenshot("call-timeline")
	})

	t.Run("rejected callback shows its diagnosis and NEAR MISS", func(t *testing.T) {
		p.t = t
		// Found by its event id from the one search box.
		p.open("#/find?q=" + nearMiss)
		p.waitIn(".results", "Callback "+nearMiss, "rejected", "bad_signature")
		p.run("open it", chromedp.Click(`.results a[href="#/callbacks/`+nearMiss+`"]`, chromedp.ByQuery))
		p.waitText("Diagnosis")
		if nm := p.text(".nearmiss"); !strings.Contains(nm, "NEAR MISS") {
			t.Errorf("near miss box: %q", nm)
		}
		if d := p.text(".diagnosis"); !strings.Contains(d, "NEAR MISS") {
			t.Errorf("diagnosis: %q", d)
		}
		p.screenshot("callback-near-miss")
	})

	t.Run("forged callback is shown as inert text", func(t *testing.T) {
		p.t = t
		p.open("#/callbacks/" + forged)
		p.waitText("X-Evil")
		var raw, headers string
		var pwnedFlag bool
		var injected int
		p.run("inspect", chromedp.Text(`pre.raw`, &raw, chromedp.ByQuery),
			chromedp.Text(`main`, &headers, chromedp.ByQuery),
			chromedp.Sleep(500*time.Millisecond),
			chromedp.Evaluate(`window.__pwned !== undefined`, &pwnedFlag),
			chromedp.Evaluate(`document.querySelectorAll('main script, main img, main iframe, main svg a, main [onerror], main [onload]').length`, &injected))
		if pwnedFlag || pwned.Load() != 0 || injected != 0 {
			t.Fatalf("payload ran: window.__pwned set %v, trap hits %d, injected elements %d", pwnedFlag, pwned.Load(), injected)
		}
		for _, want := range []string{"<script>window.__pwned=1", "</textarea>", "javascript:window.__pwned=4"} {
			if !strings.Contains(raw, url.QueryEscape(want)) && !strings.Contains(raw, want) {
				t.Errorf("raw body lacks %q as text: %s", want, raw)
			}
		}
		for _, want := range []string{`<img src=x onerror="window.__pwned=6`, "<script>window.__pwned=7</script>", "javascript:window.__pwned=5", "<script>window.__pwned=1"} {
			if !strings.Contains(headers, want) {
				t.Errorf("page lacks %q as visible text", want)
			}
		}
		var links []string
		p.run("links", chromedp.Evaluate(`[...document.querySelectorAll('a')].map(a => a.getAttribute('href'))`, &links))
		for _, l := range links {
			if !strings.HasPrefix(l, "#") {
				t.Errorf("a link leaves the console: %q", l)
			}
		}
		p.screenshot("callback-forged")
	})

	t.Run("rejection audit: chart, list and viewer", func(t *testing.T) {
		p.t = t
		p.open("#/rejections")
		p.waitIn("main", "Rejections per hour by reason", "bad_signature", "missing_signature", "3 rejections")
		var bars int
		p.run("count bars", chromedp.Evaluate(`document.querySelectorAll('figure.chart svg rect').length`, &bars))
		if bars == 0 {
			t.Error("the rejection chart has no bars")
		}
		p.screenshot("rejections")
		p.open("#/rejections?reason=bad_signature&by=source")
		p.waitIn("main", "Rejections per hour by source", "1 rejections")
		p.run("open the rejection", chromedp.Click(`.results a[href="#/callbacks/`+nearMiss+`"]`, chromedp.ByQuery))
		p.waitIn("main", "NEAR MISS", "Diagnosis")
	})

	t.Run("delivery analytics charts", func(t *testing.T) {
		p.t = t
		p.open("#/analytics")
		p.waitIn("main", "Messages by status", "Delivery rate by provider", "p50 time to delivered", "p95 time to delivered", "signalwire")
		var charts int
		p.run("count charts", chromedp.Evaluate(`document.querySelectorAll('figure.chart svg').length`, &charts))
		if charts != 4 {
			t.Errorf("%d charts, want 4", charts)
		}
		p.run("show numbers", chromedp.Evaluate(`document.querySelectorAll('figure.chart details').forEach(d => d.open = true)`, nil))
		// ops sees SMc1 (delivered after 9 s), SMc2 (failed) and globex's
		// SMg1 (delivered, one event): 2 of 3 delivered, p50 0 s, p95 9 s.
		p.waitIn("figure.chart details td", "66.7 %")
		p.waitIn("figure.chart details td", "9 s")
		p.screenshot("analytics")
		p.open("#/analytics?group_by=source&interval=day")
		p.waitIn("main", "Delivery rate by source", "sw-main")
		// One tenant: acme's SMc1 delivered and SMc2 failed.
		p.open("#/analytics?tenant=acme")
		p.waitIn("figure.chart", "Delivery rate by provider")
		p.run("show numbers", chromedp.Evaluate(`document.querySelectorAll('figure.chart details').forEach(d => d.open = true)`, nil))
		p.waitIn("figure.chart details td", "50 %")
		p.waitIn("figure.chart details td", "9 s")
	})

	t.Run("live view shows a new callback without reload", func(t *testing.T) {
		p.t = t
		p.open("#/live")
		p.waitIn("main", "Updated")
		p.waitSel(`tr[data-event-id="` + nearMiss + `"]`)
		p.run("mark the page", chromedp.Evaluate(`window.__notReloaded = true`, nil))
		status, fresh := h.sendSW("sw-main", "", msg("SMlive", "sent", "+15550002222", 0), nil)
		_, freshRejected := h.sendSW("sw-main", "-", msg("SMlive2", "sent", "+15550002222", 0), nil)
		if status != http.StatusOK || fresh == "" || freshRejected == "" {
			t.Fatalf("live callbacks: %d %q %q", status, fresh, freshRejected)
		}
		p.run("wait for the new rows", chromedp.Poll(fmt.Sprintf(`!!document.querySelector('tr[data-event-id=%q]') && !!document.querySelector('tr[data-event-id=%q]')`, fresh, freshRejected), nil,
			chromedp.WithPollingTimeout(20*time.Second)))
		var announced string
		p.run("announced", chromedp.Evaluate(`document.querySelector('main [role=status]').textContent`, &announced))
		if !strings.Contains(announced, "new callback") {
			t.Errorf("the live region says %q, want the new callbacks announced", announced)
		}
		var same bool
		p.run("no reload", chromedp.Evaluate(`window.__notReloaded === true`, &same))
		if !same {
			t.Error("the live view reloaded the page")
		}
		p.screenshot("live")
	})

	t.Run("errors a person can act on", func(t *testing.T) {
		p.t = t
		// The API's 400 text is shown as it is.
		p.open("#/find?source=sw-typo")
		p.waitIn(".results", "The API refused the request", `source "sw-typo" is not a configured source`)
		p.screenshot("find-bad-source")
		// A token that stops being accepted mid-session sends the user back
		// to sign in, saying why.
		p.run("spoil the token", chromedp.Evaluate(`sessionStorage.setItem('hookledger.console.token', 'revoked')`, nil))
		p.open("#/analytics")
		p.waitIn("main", "Token not accepted: sign in again.", "Sign in")
		var left string
		p.run("token dropped", chromedp.Evaluate(`sessionStorage.getItem('hookledger.console.token') || ''`, &left))
		if left != "" {
			t.Errorf("the refused token stays in sessionStorage: %q", left)
		}
		p.signIn(queryToken)
	})

	t.Run("usable by keyboard", func(t *testing.T) {
		p.t = t
		p.open("#/find")
		p.waitIn(".results", "SMc1")
		// Focus the search box, type and press Enter: the form submits.
		p.run("type and submit with Enter", chromedp.Focus(`input[name=q]`, chromedp.ByQuery),
			chromedp.SendKeys(`input[name=q]`, "CAc1\r", chromedp.ByQuery))
		p.waitIn(".results", "Results for “CAc1”", "completed")
		// Every control has a label, and links and buttons are real ones.
		var unlabelled []string
		for _, route := range []string{"#/find", "#/rejections", "#/analytics", "#/live"} {
			p.open(route)
			p.waitIn("main", "")
			var missing []string
			p.run("labels on "+route, chromedp.Evaluate(`[...document.querySelectorAll('input, select')].filter(e =>
				!(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)`, &missing))
			unlabelled = append(unlabelled, missing...)
		}
		if len(unlabelled) != 0 {
			t.Errorf("controls without a label: %v", unlabelled)
		}
	})

	t.Run("a tenant's token never shows another tenant", func(t *testing.T) {
		p.t = t
		p.signIn(acmeToken)
		p.open("#/find?q=SMg1")
		p.waitIn(".results", "Results for “SMg1”", "Nothing found")
		p.open("#/find?q=%2B15550009999")
		p.waitIn(".results", "Results for “+15550009999”", "No messages to or from")
		p.open("#/callbacks/" + globexRejected)
		p.waitIn("main", globexRejected, "Not found")
		p.open("#/find")
		p.waitIn(".results", "Messages", "SMc1")
		if body := p.text("main"); strings.Contains(body, "SMg1") || strings.Contains(body, "globex") {
			t.Errorf("acme token sees globex:\n%s", body)
		}
		p.open("#/live")
		p.waitIn("main", "Updated")
		p.waitSel(`tr[data-event-id="` + nearMiss + `"]`)
		var globexRows int
		p.run("globex rows in live", chromedp.Evaluate(`document.querySelectorAll('tr[data-event-id="`+globexRejected+`"]').length`, &globexRows))
		if body := p.text("main"); globexRows != 0 || strings.Contains(body, "globex") {
			t.Errorf("acme token's live view shows globex:\n%s", body)
		}
		p.open("#/rejections")
		p.waitIn("main", "Rejections per hour", "bad_signature")
		if body := p.text("main"); strings.Contains(body, "globex") || strings.Contains(body, globexRejected[:8]) {
			t.Errorf("acme token's rejections show globex:\n%s", body)
		}
		p.signIn(globexToken)
		p.open("#/find")
		p.waitIn(".results", "Messages", "SMg1")
		if body := p.text("main"); strings.Contains(body, "SMc1") || strings.Contains(body, "acme") {
			t.Errorf("globex token sees acme:\n%s", body)
		}
		p.screenshot("find-globex")
	})
	if pwned.Load() != 0 {
		t.Errorf("the trap server was called %d times", pwned.Load())
	}
}
