package schema

import (
	"encoding/json"
	"net/http"
	"reflect"
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

// TestParseMetaIsJSONUnmarshal: whenever the hand-written decoder takes a
// metadata header, it decodes it exactly as json.Unmarshal does; documents
// it does not take (other spellings, odd values, broken JSON) are left to
// json.Unmarshal. Rows are what appendMeta and older builds write, and
// edits of them.
func TestParseMetaIsJSONUnmarshal(t *testing.T) {
	written := `{"v":2,"id":"019ad8a2-5c1e-7b3a-9f10-3c2d4e5f6a7b","received_at":"2026-11-22T10:00:00.123456789Z","source":"sw-main","provider":"signalwire","tenant":"acme","method":"POST","url":"https://h/hooks/sw-main?a=1\u0026b=%2B\u003cx\u003e","remote_addr":"127.0.0.1:50312","headers":{"Content-Type":["application/json"],"Host":["h"],"X-Two":["1",""],"X-Empty":[],"X-Nil":null},"verdict":"accepted","key_id":"sha256:6f1ac3b2d9e0","body_bytes":612}`
	for _, doc := range []string{
		written,
		`{"v":2,"id":"019ad8a2-5c1e-7b3a-9f10-3c2d4e5f6a7b","received_at":"2026-01-02T03:04:05-05:30","source":"","provider":"","tenant":"","method":"GET","url":"","remote_addr":"","headers":null,"verdict":"rejected","reason":"unknown_source","detail":"tried:\n\t\"x\" \\ \/ \b\f\r \u0000 \u001f é \u00e9 \u2028 \ufffd 😀","body_bytes":0,"body_truncated":true}`,
		`{}`,
		`{"v":2,"headers":{}}`,
		`{"headers":{"A":["1"]},"headers":{"B":["2"]}}`,
		`{"headers":{"A":["1"]},"headers":null}`,
		`{"v":2,"v":3}`,
		`{"body_truncated":false,"body_bytes":123456789012}`,
		// Left to json.Unmarshal:
		`{"V":2}`, `{ "v":2}`, `{"v":2} `, `{"v":-1}`, `{"v":1.0}`, `{"v":01}`, `{"v":"2"}`, `{"v":null}`,
		`{"id":"nope"}`, `{"id":null}`, `{"received_at":"yesterday"}`, `{"received_at":null}`,
		`{"url":"\ud83d\ude00"}`, `{"url":"\ud800"}`, `{"url":"bad \xff utf8"}`, `{"url":"\x01"}`, `{"url":"\q"}`, `{"url":"\u12"}`,
		`{"headers":{"A":"1"}}`, `{"headers":{"A":[1]}}`, `{"headers":[]}`, `{"body_truncated":1}`, `{"body":"AAE="}`,
		`{"unknown":1}`, `{"v":2`, `{"v":2,}`, `{"url":"x}`, ``, `[]`, `null`, `{"v":2}x`,
	} {
		var want Record
		wantErr := json.Unmarshal([]byte(doc), &want)
		var got Record
		if !parseMeta(doc, &got) {
			continue
		}
		if wantErr != nil {
			t.Errorf("%s: parseMeta took what json.Unmarshal refuses (%v)", doc, wantErr)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nparseMeta     %+v\njson.Unmarshal %+v", doc, got, want)
		}
	}
	var r Record
	if !parseMeta(written, &r) {
		t.Fatal("parseMeta left a header appendMeta writes to json.Unmarshal")
	}
	// Every header this build writes takes the fast path.
	rec := Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Detail: "a\x00<&>\u2028\xff", Headers: http.Header{"X": {"\"\\"}}}
	b, err := marshalMeta(&rec)
	if err != nil {
		t.Fatal(err)
	}
	if !parseMeta(string(b), &Record{}) {
		t.Fatalf("parseMeta does not take %s", b)
	}
}

// BenchmarkDecodeMeta: a v2 record's metadata header through
// json.Unmarshal (as before) and through DecodeRecord (parseMeta).
func BenchmarkDecodeMeta(b *testing.B) {
	r := &Record{ID: uuid.Must(uuid.NewV7()), ReceivedAt: time.Now().UTC(), Source: "sw-main", Provider: "signalwire",
		Tenant: "acme", Method: "POST", URL: "https://hooks.example.com/hooks/sw-main?a=1&b=2", RemoteAddr: "127.0.0.1:50312",
		Headers: http.Header{"Content-Type": {"application/json"}, "X-Signalwire-Signature": {"b7Yl0p3pY5x2QO7hqWxrgBm3jTk="},
			"Host": {"hooks.example.com"}, "User-Agent": {"Go-http-client/1.1"}, "Content-Length": {"600"}, "Accept-Encoding": {"gzip"}},
		Verdict: VerdictAccepted, KeyID: "sha256:6f1ac3b2d9e0", Body: make([]byte, 600), BodyBytes: 600}
	value, headers, err := EncodeRecord(r)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out Record
			if err := json.Unmarshal([]byte(headers[HeaderRecord]), &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeRecord", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeRecord(value, headers); err != nil {
				b.Fatal(err)
			}
		}
	})
}
