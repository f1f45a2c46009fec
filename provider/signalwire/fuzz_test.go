package signalwire

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"gopkg.in/yaml.v3"

	"github.com/hookledger/hookledger/provider"
	"github.com/hookledger/hookledger/schema"
)

// FuzzVerify feeds mutated requests (seeded with the genuine and forged
// rows of the verify table) to the verifier. It must never panic, only
// reject with a SignalWire reason, never leak a key in a diagnosis, and
// accept only requests whose signature an independent reference
// implementation of docs/signatures.md#signalwire recomputes with a configured key.
func FuzzVerify(f *testing.F) {
	for _, tc := range verifyCases() {
		r := tc.req()
		f.Add(r.Method, r.URL, r.Header.Get("Content-Type"), r.Body,
			r.Header.Get(HeaderSignature), r.Header.Get(HeaderTwilioSignature),
			r.Header.Get(HeaderSHA256Signature), strings.Join(r.Alternatives(), " "))
	}
	keys := []string{keyCurrent, keyPrevious}
	v := newTestVerifier(f, keys...)
	allowed := []schema.Reason{schema.ReasonMissingSignature, schema.ReasonMalformed,
		schema.ReasonBadSignature, schema.ReasonPayloadHashMismatch}

	f.Fuzz(func(t *testing.T, method, rawURL, contentType string, body []byte, swSig, twSig, sha256Sig, alts string) {
		req := &provider.Request{Method: method, Proto: "HTTP/1.1", URL: rawURL, Header: http.Header{}, Body: body, ReceivedAt: receivedAt}
		setIf := func(name, value string) {
			if value != "" {
				req.Header.Set(name, value)
			}
		}
		setIf("Content-Type", contentType)
		setIf(HeaderSignature, swSig)
		setIf(HeaderTwilioSignature, twSig)
		setIf(HeaderSHA256Signature, sha256Sig)
		if alts != "" {
			req.AltURLs = provider.URLs(strings.Split(alts, " ")...)
		}

		got, err := v.Verify(context.Background(), req)
		if err == nil {
			if !referenceVerifies(keys, req) {
				t.Fatalf("accepted a request the reference does not verify: %+v", req)
			}
			if got.KeyID != provider.SecretFingerprint(keyCurrent) && got.KeyID != provider.SecretFingerprint(keyPrevious) {
				t.Fatalf("KeyID %q names no configured key", got.KeyID)
			}
			return
		}
		var rej *provider.Rejection
		if !errors.As(err, &rej) {
			t.Fatalf("non-rejection error: %v", err)
		}
		if !slices.Contains(allowed, rej.Reason) {
			t.Fatalf("reason %s", rej.Reason)
		}
		for _, k := range keys {
			if strings.Contains(rej.Detail, k) {
				t.Fatalf("diagnosis leaks a key: %s", rej.Detail)
			}
		}
	})
}

// referenceVerifies is a deliberately separate, straightforward reading of
// docs/signatures.md#signalwire, used as the fuzz oracle: it shares no signing code with the
// package.
func referenceVerifies(keys []string, req *provider.Request) bool {
	sw := strings.TrimSpace(req.Header.Get(HeaderSignature))
	tw := strings.TrimSpace(req.Header.Get(HeaderTwilioSignature))
	sha256Header := strings.TrimSpace(req.Header.Get(HeaderSHA256Signature))
	schemeA := false
	if _, err := hex.DecodeString(sw); err == nil && len(sw) == 40 {
		schemeA = true
	}
	sig := sw
	if sig == "" {
		sig = tw
	}

	hmacOf := func(h func() hash.Hash, key, msg string) []byte {
		m := hmac.New(h, []byte(key))
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	for _, key := range keys {
		for _, u := range referencePortVariants(req.URL) {
			if schemeA {
				ok := strings.EqualFold(sw, hex.EncodeToString(hmacOf(sha1.New, key, u+string(req.Body))))
				if sha256Header != "" {
					ok = ok && strings.EqualFold(sha256Header, hex.EncodeToString(hmacOf(sha256.New, key, u+string(req.Body))))
				}
				if ok {
					return true
				}
				continue
			}
			for _, tail := range referenceTails(req) {
				if sig == base64.StdEncoding.EncodeToString(hmacOf(sha1.New, key, u+tail)) {
					return true
				}
			}
		}
	}
	return false
}

// referenceTails lists what may follow the URL in a scheme B string to
// sign; an empty list means nothing can verify.
func referenceTails(req *provider.Request) []string {
	// ParseQuery keeps the pairs that decode even when others do not.
	if q, _ := url.ParseQuery(req.RawQuery()); q.Has("bodySHA256") {
		sum := sha256.Sum256(req.Body)
		if !strings.EqualFold(q.Get("bodySHA256"), hex.EncodeToString(sum[:])) {
			return nil
		}
		return []string{""}
	}
	if req.Method == http.MethodGet {
		return []string{""}
	}
	if !req.IsForm() {
		if len(req.Body) == 0 {
			return []string{""}
		}
		return nil
	}
	params, err := provider.ParseParams(string(req.Body))
	if err != nil {
		return nil
	}
	byName := map[string][]string{}
	var names []string
	for _, p := range params {
		if _, seen := byName[p.Name]; !seen {
			names = append(names, p.Name)
		}
		byName[p.Name] = append(byName[p.Name], p.Value)
	}
	// Names sorted by bytes (Go) or by UTF-16 code units (JavaScript);
	// repeated values as received, sorted, or sorted without duplicates
	// (twilio-node 6.x), sorted the way the names are.
	utf16Less := func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	}
	var tails []string
	for _, order := range []func(a, b string) int{strings.Compare, utf16Less} {
		sortedNames := slices.Clone(names)
		slices.SortStableFunc(sortedNames, order)
		var received, sorted, unique strings.Builder
		for _, n := range sortedNames {
			vs := byName[n]
			sortedVs := slices.Clone(vs)
			slices.SortStableFunc(sortedVs, order)
			seen := map[string]bool{}
			for i := range vs {
				received.WriteString(n + vs[i])
				sorted.WriteString(n + sortedVs[i])
				if !seen[sortedVs[i]] {
					seen[sortedVs[i]] = true
					unique.WriteString(n + sortedVs[i])
				}
			}
		}
		tails = append(tails, received.String(), sorted.String(), unique.String())
	}
	return tails
}

// referencePortVariants computes the port variants with net/url.
func referencePortVariants(s string) []string {
	out := []string{s}
	pu, err := url.Parse(s)
	if err != nil || pu.Host == "" {
		return out
	}
	i := strings.Index(s, "://")
	if i < 0 {
		return out
	}
	j := strings.Index(s[i+3:], pu.Host)
	if j < 0 {
		return out
	}
	start := i + 3 + j
	end := start + len(pu.Host)
	switch {
	case pu.Port() != "":
		out = append(out, s[:start]+strings.TrimSuffix(pu.Host, ":"+pu.Port())+s[end:])
	case strings.EqualFold(pu.Scheme, "https"):
		out = append(out, s[:end]+":443"+s[end:])
	case strings.EqualFold(pu.Scheme, "http"):
		out = append(out, s[:end]+":80"+s[end:])
	}
	return out
}

// FuzzNormalise checks the payload parsers and the mapping: no panics,
// only ErrUnusable errors, and rows that respect the vocabularies.
func FuzzNormalise(f *testing.F) {
	seeds := []*schema.Record{
		formRecord(messageStatusForm("delivered")),
		formRecord(messageStatusForm("received")),
		formRecord(callStatusForm("completed")),
		formRecord(url.Values{"CallSid": {"CA1"}, "RecordingSid": {"RE1"}, "RecordingUrl": {"https://r"}}),
		record(http.MethodPost, publicURL, "application/json", jsonMessageBody),
		record(http.MethodGet, publicURL+"?"+callStatusForm("ringing").Encode(), "", ""),
		record(http.MethodPost, publicURL, "", "MessageSid=SM1&Body=hi"),
	}
	for _, r := range seeds {
		f.Add(r.Method, r.URL, r.Headers.Get("Content-Type"), r.Body)
	}
	f.Fuzz(func(t *testing.T, method, rawURL, contentType string, body []byte) {
		rec := record(method, rawURL, contentType, string(body))
		n, err := New().Normalise(rec)
		if err != nil {
			if !errors.Is(err, provider.ErrUnusable) {
				t.Fatalf("error not ErrUnusable: %v", err)
			}
			return
		}
		for _, m := range n.Messages {
			rank, ok := schema.MessageStatusRank(m.Status)
			if !ok || rank != m.StatusRank || !strings.HasPrefix(m.DedupKey, "signalwire:message:") || m.MessageID == "" {
				t.Fatalf("bad message row %+v", m)
			}
			checkTimes(t, m.OccurredAt, m.ReceivedAt)
		}
		for _, r := range n.Replies {
			if !strings.HasPrefix(r.DedupKey, "signalwire:reply:") || r.ReplyID == "" {
				t.Fatalf("bad reply row %+v", r)
			}
			checkTimes(t, r.OccurredAt, r.ReceivedAt)
		}
		for _, c := range n.Calls {
			rank, ok := schema.CallStatusRank(c.Status)
			if !ok || rank != c.StatusRank || !strings.HasPrefix(c.DedupKey, "signalwire:call:") || c.CallID == "" {
				t.Fatalf("bad call row %+v", c)
			}
			checkTimes(t, c.OccurredAt, c.ReceivedAt)
		}
		// Deterministic: normalising the same record again gives the same rows.
		again, _ := New().Normalise(rec)
		if len(again.Messages) != len(n.Messages) || len(again.Calls) != len(n.Calls) || len(again.Replies) != len(n.Replies) {
			t.Fatal("not deterministic")
		}
	})
}

func checkTimes(t *testing.T, occurred, received time.Time) {
	t.Helper()
	if occurred.Location() != time.UTC || received.Location() != time.UTC {
		t.Fatalf("times not UTC: %v %v", occurred, received)
	}
}

// FuzzPortVariants checks the URL rewriter: the input comes first, at most
// one variant, and the path and raw query are never touched.
func FuzzPortVariants(f *testing.F) {
	for _, s := range []string{publicURL, internalURL, "https://h:443/x?a=1:2", "https://[::1]:8080/x", "http://u:p@h/x#f", "https://h?q", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs := portVariants(s)
		if len(vs) < 1 || len(vs) > 2 || vs[0] != s {
			t.Fatalf("portVariants(%q) = %q", s, vs)
		}
		if len(vs) == 1 {
			return
		}
		v := vs[1]
		if v == s {
			t.Fatalf("variant equals input %q", s)
		}
		// Everything from the first '/', '?' or '#' after the authority is
		// kept byte for byte, and so is the scheme.
		start := strings.Index(s, "://") + 3
		tail := ""
		if i := strings.IndexAny(s[start:], "/?#"); i >= 0 {
			tail = s[start+i:]
		}
		if !strings.HasSuffix(v, tail) || !strings.HasPrefix(v, s[:start]) {
			t.Fatalf("variant %q of %q changed more than the port", v, s)
		}
		if d := len(v) - len(s); d == 0 {
			t.Fatalf("variant %q of %q has the same length", v, s)
		}
	})
}

// FuzzSettings decodes arbitrary provider blocks: no panics, and a block
// that is accepted yields only clean, distinct keys.
func FuzzSettings(f *testing.F) {
	for _, s := range []string{
		"signing_keys: [" + keyCurrent + "]", "signing_keys: " + keyCurrent, "signing_keys: {a: b}",
		"signing_keys: [a, a]", "signing_keys: [[x]]", "signing_keys: [\"\"]", "{}", "signing_keys: [~]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, block string) {
		_, err := New().NewVerifier(yamlSource(block), provider.Deps{})
		if err != nil {
			return
		}
		var s Settings
		if err := yaml.Unmarshal([]byte(block), &s); err != nil {
			t.Fatalf("accepted but does not decode: %v", err)
		}
		if len(s.SigningKeys) == 0 {
			t.Fatal("accepted without keys")
		}
		seen := map[string]bool{}
		for _, k := range s.SigningKeys {
			if k == "" || strings.TrimSpace(k) != k || seen[k] {
				t.Fatalf("accepted bad key list %q", s.SigningKeys)
			}
			seen[k] = true
		}
	})
}

// FuzzProviderTime checks the Timestamp parser never panics and always
// answers in UTC.
func FuzzProviderTime(f *testing.F) {
	for _, s := range []string{"Thu, 04 Apr 2024 18:32:15 +0000", "Thu, 4 Apr 2024 20:32:15 +0200", "2024-04-04T18:32:15Z", "", "garbage"} {
		f.Add(s)
	}
	f.Add("Thu, 04 Apr 2999 18:32:15 +0000")
	f.Fuzz(func(t *testing.T, s string) {
		got := providerTime(s, receivedAt)
		if got.Location() != time.UTC {
			t.Fatalf("providerTime(%q) = %v not UTC", s, got)
		}
		if !got.Equal(receivedAt) && !provider.PlausibleTime(got) {
			t.Fatalf("providerTime(%q) = %v: an implausible time was believed", s, got)
		}
	})
}
