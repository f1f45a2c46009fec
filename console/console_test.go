package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

func serve(t *testing.T, method, path string) *http.Response {
	t.Helper()
	e := echo.New()
	Register(e)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

// Every console response, page, asset, redirect and 404 alike, carries the
// strict CSP, nosniff and no framing.
func TestSecurityHeaders(t *testing.T) {
	for _, tc := range []struct {
		path, wantType string
		wantStatus     int
	}{
		{"/console/", "text/html", http.StatusOK},
		{"/console/js/main.js", "text/javascript", http.StatusOK},
		{"/console/style.css", "text/css", http.StatusOK},
		{"/console", "", http.StatusMovedPermanently},
		{"/console/nope.js", "", http.StatusNotFound},
		{"/console/js/", "", http.StatusNotFound},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp := serve(t, http.MethodGet, tc.path)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers %v", resp.Header)
			}
			if tc.wantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.wantType) {
				t.Errorf("Content-Type %q, want %s", resp.Header.Get("Content-Type"), tc.wantType)
			}
		})
	}
}

func TestCSPIsTheRequiredPolicy(t *testing.T) {
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
		"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(ContentSecurityPolicy, d) {
			t.Errorf("CSP lacks %q", d)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", ContentSecurityPolicy)
	}
}

// The assets never put data into markup and load nothing from elsewhere:
// no innerHTML and friends, no eval, no inline script or style, no
// absolute URLs to another origin.
func TestAssetsAreSafe(t *testing.T) {
	banned := []*regexp.Regexp{
		regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(['"]style|\.style\.|createContextualFragment|DOMParser`),
		regexp.MustCompile(`https?://[a-z]`),
		regexp.MustCompile(`<script>|<script(?:\s+type="module")?>|\sstyle=|\son[a-z]+=|<style`),
	}
	allowed := regexp.MustCompile(`http://www\.w3\.org/2000/svg`)
	n := 0
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		text := allowed.ReplaceAllString(string(b), "")
		for _, re := range banned {
			if m := re.FindString(text); m != "" {
				t.Errorf("%s contains %q", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d embedded assets", n)
	}
	resp := serve(t, http.MethodGet, "/console/")
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `<script type="module" src="js/main.js">`) {
		t.Errorf("index.html does not load js/main.js:\n%s", b)
	}
}
