package ingest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookledger/hookledger/internal/testinfra"
	"github.com/hookledger/hookledger/provider/signalwire"
	"github.com/hookledger/hookledger/schema"
)

const swStatusForm = "MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123&From=%2B15550001111&To=%2B15550002222&MessageStatus=delivered"

// TestEveryAnswerCarriesTheEventID: accepted or rejected, the answer names
// the event id in Hookledger-Event-Id, JSON answers repeat it in the body,
// and it is the id of the record in the raw topic.
func TestEveryAnswerCarriesTheEventID(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1000, AuditBodyPrefix: 100}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	signed := func(method, path, body string, sign bool) func() *http.Request {
		return func() *http.Request {
			req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			sig := strings.Repeat("ab", 20)
			if sign {
				sig = signalwire.SignSchemeA(testSWKey, s.url+path, []byte(body))
			}
			req.Header.Set(signalwire.HeaderSignature, sig)
			return req
		}
	}
	cases := []struct {
		name     string
		req      func() *http.Request
		status   int
		jsonBody bool // the body is ours: {"error":..., "id":...}
	}{
		{"accepted signalwire (cXML body)", signed(http.MethodPost, "/hooks/sw", swStatusForm, true), http.StatusOK, false},
		{"bad signature", signed(http.MethodPost, "/hooks/sw", swStatusForm, false), http.StatusUnauthorized, true},
		{"unknown source", signed(http.MethodPost, "/hooks/nope", swStatusForm, false), http.StatusNotFound, true},
		{"method not allowed", signed(http.MethodPut, "/hooks/sw", swStatusForm, false), http.StatusMethodNotAllowed, true},
		{"body too large", signed(http.MethodPost, "/hooks/sw", strings.Repeat("x", 5000), false), http.StatusRequestEntityTooLarge, true},
	}
	ids := map[uuid.UUID]string{}
	for _, tc := range cases {
		resp, err := http.DefaultClient.Do(tc.req())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
		id, err := uuid.Parse(resp.Header.Get(HeaderEventID))
		if err != nil {
			t.Fatalf("%s: %s = %q: %v", tc.name, HeaderEventID, resp.Header.Get(HeaderEventID), err)
		}
		ids[id] = tc.name
		if tc.jsonBody {
			var answer map[string]string
			if err := json.Unmarshal(body, &answer); err != nil || answer["id"] != id.String() || answer["error"] == "" {
				t.Errorf("%s: body %s, want error and id %s", tc.name, body, id)
			}
		}
	}
	s.Stop()
	for _, rec := range records(t, brokers, s.raw) {
		delete(ids, rec.ID)
	}
	if len(ids) > 0 {
		t.Errorf("answered ids with no raw record: %v", ids)
	}
}

// TestExpectContinueIsAnsweredWithTheFinalStatus speaks HTTP/1.1 over a
// real TCP connection: a request refused before its body is needed gets
// its final status, not 100 Continue, and the client never has to send the
// body. A request that will be verified does get 100 Continue.
func TestExpectContinueIsAnsweredWithTheFinalStatus(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{MaxBodyBytes: 1 << 20}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	host := strings.TrimPrefix(s.url, "http://")
	cases := []struct {
		name, method, path string
		contentLength      int
		want               int
	}{
		{"unknown source", "POST", "/hooks/nope", len(swStatusForm), http.StatusNotFound},
		{"method not allowed", "PUT", "/hooks/sw", len(swStatusForm), http.StatusMethodNotAllowed},
		{"10 MiB Content-Length", "POST", "/hooks/sw", 10 << 20, http.StatusRequestEntityTooLarge},
		{"known source, size within the limit", "POST", "/hooks/sw", len(swStatusForm), http.StatusContinue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"X-SignalWire-Signature: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
				tc.method, tc.path, host, strings.Repeat("ab", 20), tc.contentLength)
			answers := bufio.NewReader(conn)
			line, err := answers.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("HTTP/1.1 %d ", tc.want); !strings.HasPrefix(line, want) {
				t.Fatalf("first answer line %q, want %q...", line, want)
			}
			if tc.want != http.StatusContinue {
				return
			}
			// Invited: send the (forged) body and get the verdict.
			if blank, _ := answers.ReadString('\n'); blank != "\r\n" {
				t.Fatalf("100 Continue followed by %q", blank)
			}
			io.WriteString(conn, swStatusForm)
			resp, err := http.ReadResponse(answers, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("after 100 Continue: %d, want 401", resp.StatusCode)
			}
		})
	}
	s.Stop()
	for _, rec := range records(t, brokers, s.raw) {
		if rec.Reason == schema.ReasonBodyTooLarge && (rec.BodyBytes != 10<<20 || !rec.BodyTruncated || len(rec.Body) != 0) {
			t.Errorf("413 audit record: body %d bytes of %d, truncated %v", len(rec.Body), rec.BodyBytes, rec.BodyTruncated)
		}
	}
}

// TestAuditBudgetIsSharedFairlyAmongAddresses: two addresses flood a
// source with forged callbacks, then a third, quiet one sends a few; each
// of the quiet address's rejections is audited although the flood used
// the source's budget first.
func TestAuditBudgetIsSharedFairlyAmongAddresses(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	s := startServer(t, brokers, Options{
		AuditRate: 0.001, AuditBurst: 20, URLs: URLPolicy{TrustForwardedHeaders: true},
	}, openGuard(t))
	ensureTopics(t, brokers, s.raw, s.verified)
	forge := func(from string, i int) {
		body := url.Values{"MessageSid": {fmt.Sprintf("SM%d", i)}, "MessageStatus": {"sent"}}.Encode()
		req, _ := http.NewRequest(http.MethodPost, s.url+"/hooks/sw", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(signalwire.HeaderSignature, strings.Repeat("ab", 20))
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged request from %s: %d", from, resp.StatusCode)
		}
	}
	for i := 0; i < 30; i++ {
		forge("198.51.100.1", i)
		forge("198.51.100.2", i)
	}
	const quiet = 6
	for i := 0; i < quiet; i++ {
		forge("203.0.113.9", i)
	}
	s.Stop()
	byAddr := map[string]int{}
	for _, rec := range records(t, brokers, s.raw) {
		byAddr[rec.RemoteAddr]++
	}
	if byAddr["203.0.113.9"] != quiet {
		t.Errorf("audited per address %v: want all %d of the quiet address", byAddr, quiet)
	}
	if total := byAddr["198.51.100.1"] + byAddr["198.51.100.2"] + byAddr["203.0.113.9"]; total > 20 {
		t.Errorf("audited %d records, over the source burst of 20", total)
	}
}
