package schema

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAppendMetaIsJSONMarshal: the hand-written metadata encoder writes
// exactly what json.Marshal of the Record without its body writes, so
// records and their readers cannot tell which one wrote them.
func TestAppendMetaIsJSONMarshal(t *testing.T) {
	id := uuid.MustParse("019ad8a2-5c1e-7b3a-9f10-3c2d4e5f6a7b")
	at := time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)
	accepted := Record{ID: id, ReceivedAt: at, Source: "sw-main", Provider: "signalwire", Tenant: "acme", Method: "POST",
		URL: "https://hooks.example.com/hooks/sw-main?a=1&b=%2B<x>", RemoteAddr: "127.0.0.1:50312",
		Headers: http.Header{
			"Content-Type":           {"application/x-www-form-urlencoded"},
			"X-Signalwire-Signature": {"b7Yl0p3pY5x2QO7hqWxrgBm3jTk="},
			"Host":                   {"hooks.example.com"},
			"User-Agent":             {"TwilioProxy/1.1"},
			"Authorization":          {"redacted:hmac-sha256:6f1ac3b2d9e0"},
		},
		Verdict: VerdictAccepted, KeyID: "sha256:6f1ac3b2d9e0", BodyBytes: 612}
	for _, c := range []struct {
		name string
		edit func(r *Record)
	}{
		{"accepted SignalWire callback", func(*Record) {}},
		{"rejection with a diagnosis", func(r *Record) {
			r.Verdict, r.Reason, r.KeyID = VerdictRejected, ReasonBadSignature, ""
			r.Detail = "tried 3 URLs:\n\t\"https://h/x\" near miss (port 443)\r\x00\x1f\x7f & <script>"
			r.BodyTruncated = true
		}},
		{"unknown source, no headers", func(r *Record) {
			r.Headers, r.Provider, r.Tenant, r.Verdict, r.Reason = nil, "", "", VerdictRejected, ReasonUnknownSource
		}},
		{"empty and nil header values", func(r *Record) {
			r.Headers = http.Header{"X-Empty": {}, "X-Nil": nil, "X-Two": {"1", ""}}
		}},
		{"invalid UTF-8 and separators", func(r *Record) {
			r.Headers = http.Header{"X-Bin\xff": {"\xff\xfe ok é \u2028 \u2029 \U0001F600 \xc3"}}
			r.URL = "https://h/\xe2\x80"
		}},
		{"many headers", func(r *Record) {
			r.Headers = http.Header{}
			for i := range 40 {
				r.Headers.Set("X-H"+strings.Repeat("a", i), strings.Repeat("v", i))
			}
		}},
		{"received at in a zone, zero nanoseconds", func(r *Record) {
			r.ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", -5*3600-30*60))
		}},
		{"zero record", func(r *Record) { *r = Record{} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := accepted
			c.edit(&r)
			meta := r
			meta.Version, meta.Body = RecordVersion, nil
			want, err := json.Marshal(&meta)
			if err != nil {
				t.Fatal(err)
			}
			r.Body = []byte("MessageSid=SM1") // never in the metadata
			got, err := marshalMeta(&r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("appendMeta wrote\n%s\njson.Marshal writes\n%s", got, want)
			}
		})
	}
}

// TestMarshalMetaRefusesWhatJSONRefuses: a timestamp json.Marshal cannot
// write is an error, not a record.
func TestMarshalMetaRefusesWhatJSONRefuses(t *testing.T) {
	r := &Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, _, err := EncodeRecord(r); err == nil {
		t.Fatal("a year-10000 timestamp was encoded")
	}
}

func BenchmarkEncodeRecord(b *testing.B) {
	r := &Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: "POST", URL: "https://hooks.example.com/hooks/sw-main", RemoteAddr: "127.0.0.1:50312",
		Headers: http.Header{"Content-Type": {"application/json"}, "X-Signalwire-Signature": {"b7Yl0p3pY5x2QO7hqWxrgBm3jTk="},
			"Host": {"hooks.example.com"}, "User-Agent": {"Go-http-client/1.1"}, "Content-Length": {"600"}, "Accept-Encoding": {"gzip"}},
		Verdict: VerdictAccepted, KeyID: "sha256:6f1ac3b2d9e0", Body: make([]byte, 600), BodyBytes: 600}
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			meta := *r
			meta.Version, meta.Body = RecordVersion, nil
			if _, err := json.Marshal(&meta); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EncodeRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := EncodeRecord(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
